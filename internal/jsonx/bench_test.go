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

// benchOp runs op as one sub-benchmark with allocations and CPU time
// reported; op's error fails it.
func benchOp(b *testing.B, name string, op func() error) {
	b.Run(name, func(b *testing.B) {
		b.ReportAllocs()
		report := benchfix.MeasureCPU(b)
		for b.Loop() {
			if err := op(); err != nil {
				b.Fatal(err)
			}
		}
		report()
	})
}

// BenchmarkMarshalStruct encodes a struct-slice cart with the writer,
// encoding/json, and encoding/json/v2 (go-json-experiment), each followed
// by what Seal needs to know the result is within the limits: nothing for
// the writer (it counts as it writes), a Valid pass for the others.
func BenchmarkMarshalStruct(b *testing.B) {
	for name, cart := range benchValues(b) {
		var w jsonx.Writer
		var buf []byte
		benchOp(b, "p="+name+"/impl=jsonx", func() (err error) {
			w.Reset(jsonx.DefaultLimits)
			buf, err = w.Append(buf[:0], cart, 2)
			return err
		})
		for _, impl := range []struct {
			name    string
			marshal func(any) ([]byte, error)
		}{
			{"encoding-json", json.Marshal},
			{"json-v2", func(v any) ([]byte, error) { return jsonv2.Marshal(v) }},
		} {
			benchOp(b, "p="+name+"/impl="+impl.name, func() error {
				out, err := impl.marshal(cart)
				if err != nil {
					return err
				}
				return jsonx.Valid(string(out), jsonx.DefaultLimits)
			})
		}
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
		for _, impl := range []struct {
			name      string
			unmarshal func([]byte, any) error
		}{
			{"jsonx", jsonx.Unmarshal},
			{"encoding-json", json.Unmarshal},
			{"json-v2", func(data []byte, v any) error { return jsonv2.Unmarshal(data, v) }},
		} {
			benchOp(b, "p="+name+"/impl="+impl.name, func() error {
				var out []benchfix.Item
				return impl.unmarshal(data, &out)
			})
		}
	}
}
