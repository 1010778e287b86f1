package jsonx_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"satchel.dev/internal/jsonx"
)

type fuzzTarget struct {
	Role  string            `json:"Role"`
	Email string            `json:"email,omitempty"`
	N     int64             `json:"n"`
	F     float64           `json:"f"`
	Tags  map[string]string `json:"tags"`
	List  []item            `json:"list"`
	When  *time.Time        `json:"when"`
	Any   any               `json:"any"`
	Bytes []byte            `json:"bytes"`
}

// FuzzUnmarshal: on any input, Unmarshal refuses whatever Valid refuses
// (with the same error), agrees with Decode when the target is an any,
// never panics, and whatever it decodes into a struct the writer writes
// again, and reading that back gives the same value.
func FuzzUnmarshal(f *testing.F) {
	for _, s := range []string{
		`{"Role":"user","role":"admin"}`, `{"n":9007199254740993,"f":1e308,"any":[1,"x",null,{"a":{}}]}`,
		`{"tags":{"a":"b"},"list":[{"sku":"s","qty":1,"price_cents":2}],"when":"2026-01-02T03:04:05.5+01:00"}`,
		`{"bytes":"AAEC","email":"a@x","Role":"\u00e9"}`, `{"n":1.5}`, `{"Role":"a","Role":"b"}`, `[1,2]`, `"\ud800"`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		validErr := jsonx.Valid(string(data), jsonx.DefaultLimits)

		var v any
		err := jsonx.Unmarshal(data, &v)
		if validErr != nil {
			if !errors.Is(err, validErr) {
				t.Fatalf("Valid: %v, Unmarshal into any: %v", validErr, err)
			}
		} else {
			want, derr := jsonx.Decode(string(data), jsonx.DefaultLimits)
			if (err == nil) != (derr == nil) {
				t.Fatalf("Unmarshal into any: %v, Decode: %v", err, derr)
			}
			if err == nil {
				if diff := cmp.Diff(want, v); diff != "" {
					t.Fatalf("Unmarshal and Decode differ (-Decode +Unmarshal):\n%s", diff)
				}
			}
		}

		var s fuzzTarget
		err = jsonx.Unmarshal(data, &s)
		if validErr != nil {
			if !errors.Is(err, validErr) {
				t.Fatalf("Valid: %v, Unmarshal into a struct: %v", validErr, err)
			}
			return
		}
		if err != nil {
			return // well-formed JSON that does not fit the type
		}
		b, err := jsonx.Marshal(s)
		if err != nil {
			t.Fatalf("Marshal of a decoded value: %v (%+v)", err, s)
		}
		var again fuzzTarget
		if err := jsonx.Unmarshal(b, &again); err != nil {
			t.Fatalf("Unmarshal(Marshal(%+v)) = %v\n%s", s, err, b)
		}
		eq := cmp.Comparer(func(a, b time.Time) bool { return a.Equal(b) })
		if diff := cmp.Diff(s, again, eq); diff != "" {
			t.Fatalf("round trip changed the value (-first +second):\n%s", diff)
		}
	})
}

// FuzzWriterMatchesEncodingJSON: whatever encoding/json decodes from the
// input, as generic values or into a struct of typed fields, the writer
// encodes byte for byte as encoding/json does (without its HTML
// escaping), or both refuse it; and the strict reader accepts the result
// whenever it is within the limits.
func FuzzWriterMatchesEncodingJSON(f *testing.F) {
	for _, s := range []string{
		`{"Role":"user","n":-0,"f":1e-7,"tags":{"b":"<&>","a":"\u2028"},"list":[{"sku":"x","qty":3}]}`,
		`{"any":{"z":[1.5,true,null,"x"],"a":{}},"when":"2026-01-02T03:04:05.123+23:59","bytes":"/+8="}`,
		`[0.1,1e21,123456789012345678901234567890,-1e-320]`, `"\ud83d\ude00 \u0000"`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var generic any
		var typed fuzzTarget
		var values []any
		if json.Unmarshal(data, &generic) == nil {
			values = append(values, generic)
		}
		if json.Unmarshal(data, &typed) == nil {
			values = append(values, typed)
		}
		for _, v := range values {
			var buf bytes.Buffer
			enc := json.NewEncoder(&buf)
			enc.SetEscapeHTML(false)
			stdErr := enc.Encode(v)
			got, err := jsonx.Marshal(v)
			if stdErr != nil {
				if err == nil {
					t.Fatalf("encoding/json refuses %#v (%v), the writer wrote %s", v, stdErr, got)
				}
				continue
			}
			if err != nil {
				if errors.Is(err, jsonx.ErrTooDeep) || errors.Is(err, jsonx.ErrTooManyKeys) || errors.Is(err, jsonx.ErrInvalidKey) {
					continue // the limits, and keys encoding/json repairs
				}
				t.Fatalf("the writer refuses %#v: %v", v, err)
			}
			want := bytes.TrimSuffix(buf.Bytes(), []byte("\n"))
			if !bytes.Equal(got, want) {
				t.Fatalf("writer and encoding/json differ:\n got %s\nwant %s", got, want)
			}
			if err := jsonx.Valid(string(got), jsonx.DefaultLimits); err != nil {
				t.Fatalf("the strict reader refuses the writer's %s: %v", got, err)
			}
		}
	})
}
