package jsonx_test

import (
	"encoding/json"
	"testing"

	jsonv2 "github.com/go-json-experiment/json"

	"satchel.dev/internal/benchfix"
	"satchel.dev/internal/jsonx"
)

// benchValues are the typed session values the writer and Unmarshal are
// measured on: the typical and large carts as struct slices, as the
// benchfix typed payloads hold them.
func benchValues(tb testing.TB) map[string][]benchfix.Item {
	out := map[string][]benchfix.Item{}
	for _, p := range benchfix.Typed {
		if cart, ok := p.Values()["cart"].([]benchfix.Item); ok {
			out[p.Name] = cart
		}
	}
	if len(out) != 2 {
		tb.Fatalf("benchfix has %d struct carts, want 2", len(out))
	}
	return out
}

// BenchmarkMarshalStruct encodes a struct-slice cart with the writer,
// encoding/json, and encoding/json/v2 (go-json-experiment), each followed
// by what Seal needs to know the result is within the limits: nothing for
// the writer (it counts as it writes), a Valid pass for the others.
func BenchmarkMarshalStruct(b *testing.B) {
	for name, cart := range benchValues(b) {
		b.Run("p="+name+"/impl=jsonx", func(b *testing.B) {
			b.ReportAllocs()
			var w jsonx.Writer
			var buf []byte
			report := benchfix.MeasureCPU(b)
			for b.Loop() {
				w.Reset(jsonx.DefaultLimits)
				var err error
				if buf, err = w.Append(buf[:0], cart, 2); err != nil {
					b.Fatal(err)
				}
			}
			report()
		})
		b.Run("p="+name+"/impl=encoding-json", func(b *testing.B) {
			b.ReportAllocs()
			report := benchfix.MeasureCPU(b)
			for b.Loop() {
				out, err := json.Marshal(cart)
				if err != nil || jsonx.Valid(string(out), jsonx.DefaultLimits) != nil {
					b.Fatal(err)
				}
			}
			report()
		})
		b.Run("p="+name+"/impl=json-v2", func(b *testing.B) {
			b.ReportAllocs()
			report := benchfix.MeasureCPU(b)
			for b.Loop() {
				out, err := jsonv2.Marshal(cart)
				if err != nil || jsonx.Valid(string(out), jsonx.DefaultLimits) != nil {
					b.Fatal(err)
				}
			}
			report()
		})
	}
}

// BenchmarkUnmarshalStruct decodes the same carts into []benchfix.Item
// with jsonx.Unmarshal (Valid, then encoding/json/v2 with exact-case
// names), encoding/json (case-insensitive: not an option for satchel, the
// baseline), and encoding/json/v2 alone with its defaults.
func BenchmarkUnmarshalStruct(b *testing.B) {
	for name, cart := range benchValues(b) {
		data, err := jsonx.Marshal(cart)
		if err != nil {
			b.Fatal(err)
		}
		b.Run("p="+name+"/impl=jsonx", func(b *testing.B) {
			b.ReportAllocs()
			report := benchfix.MeasureCPU(b)
			for b.Loop() {
				var out []benchfix.Item
				if err := jsonx.Unmarshal(data, &out); err != nil {
					b.Fatal(err)
				}
			}
			report()
		})
		b.Run("p="+name+"/impl=encoding-json", func(b *testing.B) {
			b.ReportAllocs()
			report := benchfix.MeasureCPU(b)
			for b.Loop() {
				var out []benchfix.Item
				if err := json.Unmarshal(data, &out); err != nil {
					b.Fatal(err)
				}
			}
			report()
		})
		b.Run("p="+name+"/impl=json-v2", func(b *testing.B) {
			b.ReportAllocs()
			report := benchfix.MeasureCPU(b)
			for b.Loop() {
				var out []benchfix.Item
				if err := jsonv2.Unmarshal(data, &out); err != nil {
					b.Fatal(err)
				}
			}
			report()
		})
	}
}
