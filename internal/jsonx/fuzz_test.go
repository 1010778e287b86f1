package jsonx_test

import (
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
