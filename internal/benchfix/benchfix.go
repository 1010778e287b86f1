// Package benchfix holds the session payloads that every satchel benchmark
// uses, so that figures compare across packages and runs, and the "floor":
// the v4.local primitives alone.
//
// # Payloads
//
// [Payloads] are the three base fixtures, small, typical and large, with
// the cart as the generic values a JSON decoder produces ([]any of
// map[string]any). [Typed] are typical and large again with the cart as
// the Go types a handler would store: a struct slice ([]Item, "-struct")
// and a slice of maps ([]map[string]any, "-maps"). Small has no cart, so
// it has no typed variants. [Payload.Raw] gives any of them with every
// value already encoded as json.RawMessage, the form an unchanged session
// value has after Open. Sub-benchmarks are named "p=" + Name.
package benchfix

import (
	"encoding/json"
	"fmt"
)

// Payload is one named fixture.
type Payload struct {
	// Name is "small", "typical" or "large", or a typed variant such as
	// "typical-struct": sub-benchmarks are "p=" + Name.
	Name string
	// Values returns a fresh copy of the session values, as a handler
	// would Set them.
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

// Raw returns a fresh copy of the session values with each value encoded
// by encoding/json as a json.RawMessage: the same session as Values, as
// the middleware holds values it has not decoded.
func (p Payload) Raw() map[string]any {
	v := p.Values()
	raw := make(map[string]any, len(v))
	for k, x := range v {
		b, err := json.Marshal(x)
		if err != nil {
			panic("benchfix: " + err.Error())
		}
		raw[k] = json.RawMessage(b)
	}
	return raw
}

// Payloads lists the base fixtures in size order.
var Payloads = []Payload{
	{Name: "small", Values: Small},
	{Name: "typical", Values: Typical},
	{Name: "large", Values: Large},
}

// Typed lists typical and large with the cart as typed Go values: a struct
// slice and a slice of maps. Each encodes to the same JSON values as its
// base fixture (a struct's fields in declaration order, a map's keys
// sorted).
var Typed = []Payload{
	{Name: "typical-struct", Values: func() map[string]any { return withCart(Typical(), structCart(3)) }},
	{Name: "typical-maps", Values: func() map[string]any { return withCart(Typical(), mapsCart(3)) }},
	{Name: "large-struct", Values: func() map[string]any { return withCart(Large(), structCart(25)) }},
	{Name: "large-maps", Values: func() map[string]any { return withCart(Large(), mapsCart(25)) }},
}

// Item is one cart line as an application would model it.
type Item struct {
	SKU        string `json:"sku"`
	Qty        int    `json:"qty"`
	PriceCents int    `json:"price_cents"`
}

// Small is {"sid":"k3J9xQ","uid":12345} (28 bytes as JSON).
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
		"cart":     genericCart(3),
		"theme":    "dark",
	}
}

// Large is Typical with 25 cart items and 22 recently viewed URLs (about
// 2.9 KB).
func Large() map[string]any {
	m := Typical()
	m["cart"] = genericCart(25)
	recent := make([]string, 22)
	for i := range recent {
		recent[i] = fmt.Sprintf("/catalog/category-%02d/product/%06d?ref=recently-viewed&pos=%02d", i%12+1, 100000+i*7919, i+1)
	}
	m["recent"] = recent
	return m
}

func withCart(m map[string]any, cart any) map[string]any {
	m["cart"] = cart
	return m
}

// structCart is the n-item cart; the other two forms are built from it.
func structCart(n int) []Item {
	items := make([]Item, n)
	for i := range items {
		items[i] = Item{SKU: fmt.Sprintf("SKU-1000%d", i+1), Qty: i%3 + 1, PriceCents: 999 + 250*i}
	}
	return items
}

func itemMap(it Item) map[string]any {
	return map[string]any{"sku": it.SKU, "qty": it.Qty, "price_cents": it.PriceCents}
}

func mapsCart(n int) []map[string]any {
	var out []map[string]any
	for _, it := range structCart(n) {
		out = append(out, itemMap(it))
	}
	return out
}

func genericCart(n int) []any {
	var out []any
	for _, it := range structCart(n) {
		out = append(out, itemMap(it))
	}
	return out
}
