package token_test

import (
	"encoding/json"
	"testing"

	"satchel.dev/internal/benchfix"
	"satchel.dev/internal/jsonx"
	"satchel.dev/token"
)

// cartItem is the benchfix cart line as an application would declare it
// (fields in the order of the map's sorted keys, so both encode alike).
type cartItem struct {
	PriceCents int    `json:"price_cents"`
	Qty        int    `json:"qty"`
	SKU        string `json:"sku"`
}

// typedValues returns p's values with the cart in the given form:
// "raw" (every value as json.RawMessage, as after Open), "struct"
// ([]cartItem) or "maps" ([]map[string]any). A payload without a cart is
// given raw.
func typedValues(tb testing.TB, p benchfix.Payload, form string) map[string]any {
	v := p.Values()
	cart, ok := v["cart"].([]any)
	if !ok {
		form = "raw"
	}
	switch form {
	case "struct":
		items := make([]cartItem, len(cart))
		for i, c := range cart {
			m := c.(map[string]any)
			items[i] = cartItem{m["price_cents"].(int), m["qty"].(int), m["sku"].(string)}
		}
		v["cart"] = items
	case "maps":
		items := make([]map[string]any, len(cart))
		for i, c := range cart {
			items[i] = c.(map[string]any)
		}
		v["cart"] = items
	case "raw":
		for k, x := range v {
			b, err := jsonx.Marshal(x)
			if err != nil {
				tb.Fatal(err)
			}
			v[k] = json.RawMessage(b)
		}
	}
	return v
}

// BenchmarkSealTyped seals the typical and large payloads with the cart
// held as raw JSON, as a struct slice and as a slice of maps. The target
// is struct and maps within 1.3x of raw.
func BenchmarkSealTyped(b *testing.B) {
	k, _ := newRing(b)
	implicit := []byte(benchImplicit)
	for _, p := range benchfix.Payloads[1:] {
		for _, form := range []string{"raw", "struct", "maps"} {
			b.Run("p="+p.Name+"/v="+form, func(b *testing.B) {
				c := benchClaims(p)
				c.Data = typedValues(b, p, form)
				b.ReportAllocs()
				for b.Loop() {
					if _, err := token.Seal(k, c, implicit, nil); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}

// TestTypedFormsSealAlike: the three forms of a payload seal to the same
// plaintext, so BenchmarkSealTyped compares equal work.
func TestTypedFormsSealAlike(t *testing.T) {
	t.Parallel()
	for _, p := range benchfix.Payloads {
		var want string
		for _, form := range []string{"raw", "struct", "maps"} {
			c := benchClaims(p)
			c.Data = typedValues(t, p, form)
			pt, err := token.AppendClaims(nil, c)
			if err != nil {
				t.Fatal(err)
			}
			if form == "raw" {
				want = string(pt)
				if err := jsonx.Valid(want, jsonx.DefaultLimits); err != nil {
					t.Fatal(err)
				}
			} else if string(pt) != want {
				t.Errorf("%s/%s plaintext differs from raw:\n%s\n%s", p.Name, form, pt, want)
			}
		}
	}
}
