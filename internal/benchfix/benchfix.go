// Package benchfix holds the three session payloads that every satchel
// benchmark uses (DESIGN.md, "Benchmark fixtures"), so that figures compare
// across packages and runs, and the "floor": the v4.local primitives alone.
package benchfix

import (
	"encoding/json"
	"fmt"
)

// Payload is one named fixture.
type Payload struct {
	Name string // "small", "typical" or "large": sub-benchmarks are "p=" + Name
	// Values returns a fresh copy of the session values, as a handler
	// would Set them: strings, ints, []string, and []any of map[string]any
	// for the cart.
	Values func() map[string]any
}

// JSON returns the payload encoded by encoding/json (sorted keys).
func (p Payload) JSON() []byte {
	b, err := json.Marshal(p.Values())
	if err != nil {
		panic("benchfix: " + err.Error())
	}
	return b
}

// Payloads lists the fixtures in size order.
var Payloads = []Payload{
	{Name: "small", Values: Small},
	{Name: "typical", Values: Typical},
	{Name: "large", Values: Large},
}

// Small is {"sid":"k3J9xQ","uid":12345} (29 bytes as JSON).
func Small() map[string]any {
	return map[string]any{"sid": "k3J9xQ", "uid": 12345}
}

// Typical is a logged-in shopper with a three-item cart (about 270 bytes).
func Typical() map[string]any {
	return map[string]any{
		"user_id":  12345,
		"username": "alice",
		"roles":    []string{"admin", "editor"},
		"csrf":     "9f86d081884c7d659a2feaa0c55ad015",
		"cart":     cart(3),
		"theme":    "dark",
	}
}

// Large is Typical with 25 cart items and 22 recently viewed URLs (about
// 2.9 KB).
func Large() map[string]any {
	m := Typical()
	m["cart"] = cart(25)
	recent := make([]string, 22)
	for i := range recent {
		recent[i] = fmt.Sprintf("/catalog/category-%02d/product/%06d?ref=recently-viewed&pos=%02d", i%12+1, 100000+i*7919, i+1)
	}
	m["recent"] = recent
	return m
}

func cart(n int) []any {
	items := make([]any, n)
	for i := range items {
		items[i] = map[string]any{
			"sku":         fmt.Sprintf("SKU-1000%d", i+1),
			"qty":         i%3 + 1,
			"price_cents": 999 + 250*i,
		}
	}
	return items
}
