package benchfix_test

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"satchel.dev/internal/benchfix"
)

// generic decodes JSON into the values encoding/json produces.
func generic(t *testing.T, b []byte) any {
	t.Helper()
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatal(err)
	}
	return v
}

// TestSizes pins the base fixtures' sizes as JSON, which the benchmark
// figures are quoted against.
func TestSizes(t *testing.T) {
	t.Parallel()
	want := map[string][2]int{"small": {28, 28}, "typical": {250, 290}, "large": {2800, 3000}}
	for _, p := range benchfix.Payloads {
		n, r := len(p.JSON()), want[p.Name]
		if n < r[0] || n > r[1] {
			t.Errorf("%s is %d bytes as JSON, want %d..%d", p.Name, n, r[0], r[1])
		}
	}
	if got := string(benchfix.Payloads[0].JSON()); got != `{"sid":"k3J9xQ","uid":12345}` {
		t.Errorf("small = %s", got)
	}
}

// TestTypedMatchBase checks that each typed variant holds the same JSON
// values as its base fixture, with the cart in the named Go type, and that
// Raw holds the same values again.
func TestTypedMatchBase(t *testing.T) {
	t.Parallel()
	base := map[string]benchfix.Payload{}
	for _, p := range benchfix.Payloads {
		base[p.Name] = p
	}
	if len(benchfix.Typed) != 4 {
		t.Fatalf("%d typed fixtures, want 4", len(benchfix.Typed))
	}
	for _, p := range benchfix.Typed {
		name, form, _ := strings.Cut(p.Name, "-")
		b, ok := base[name]
		if !ok {
			t.Fatalf("%s: no base fixture %q", p.Name, name)
		}
		if got, want := generic(t, p.JSON()), generic(t, b.JSON()); !reflect.DeepEqual(got, want) {
			t.Errorf("%s differs from %s as JSON:\n got %v\nwant %v", p.Name, name, got, want)
		}
		cart := p.Values()["cart"]
		switch form {
		case "struct":
			if _, ok := cart.([]benchfix.Item); !ok {
				t.Errorf("%s: cart is %T, want []benchfix.Item", p.Name, cart)
			}
		case "maps":
			if _, ok := cart.([]map[string]any); !ok {
				t.Errorf("%s: cart is %T, want []map[string]any", p.Name, cart)
			}
		default:
			t.Errorf("%s: unknown form %q", p.Name, form)
		}
	}
	if _, ok := benchfix.Payloads[1].Values()["cart"].([]any); !ok {
		t.Error("typical's cart is not []any")
	}
}

// TestRaw checks that Raw holds every value as json.RawMessage encoding
// the same value.
func TestRaw(t *testing.T) {
	t.Parallel()
	for _, p := range append(append([]benchfix.Payload(nil), benchfix.Payloads...), benchfix.Typed...) {
		raw := p.Raw()
		for k, v := range raw {
			if _, ok := v.(json.RawMessage); !ok {
				t.Fatalf("%s: %s is %T", p.Name, k, v)
			}
		}
		b, err := json.Marshal(raw)
		if err != nil {
			t.Fatal(err)
		}
		if got, want := generic(t, b), generic(t, p.JSON()); !reflect.DeepEqual(got, want) {
			t.Errorf("%s: Raw differs from Values", p.Name)
		}
	}
}

// TestFresh checks that Values returns a new copy each time, so a
// benchmark that changes its session cannot change the next one's.
func TestFresh(t *testing.T) {
	t.Parallel()
	for _, p := range append(append([]benchfix.Payload(nil), benchfix.Payloads...), benchfix.Typed...) {
		a := p.Values()
		a["theme"] = "changed"
		if p.Values()["theme"] == "changed" {
			t.Errorf("%s: Values shares its map", p.Name)
		}
	}
}
