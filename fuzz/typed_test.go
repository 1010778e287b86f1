package fuzz

import (
	"bytes"
	"encoding/json"
	"math"
	"reflect"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"satchel.dev/internal/benchfix"
	"satchel.dev/internal/jsonx"
	"satchel.dev/internal/v4ref"
	"satchel.dev/token"
)

// item and profile are the typed session values FuzzSealOpenTyped seals:
// the shapes applications store, with the encoding/json rules they rely
// on (tags, omitempty, "-", an untagged field, an embedded struct,
// pointers, arrays, typed slices and maps, times, raw JSON, unexported
// fields).
type item struct {
	SKU    string          `json:"sku"`
	Qty    int             `json:"qty"`
	Price  int64           `json:"price_cents,omitempty"`
	Ratio  float64         `json:"ratio"`
	Small  float32         `json:"small"`
	Count  uint16          `json:"count"`
	Note   *string         `json:"note,omitempty"`
	Tags   []string        `json:"tags"`
	Attrs  map[string]int  `json:"attrs,omitempty"`
	Added  time.Time       `json:"added"`
	Extra  json.RawMessage `json:"extra,omitempty"`
	Secret string          `json:"-"`
	hidden int
}

type audit struct {
	By string    `json:"by"`
	At time.Time `json:"at"`
}

type profile struct {
	audit                    // embedded: By and At are promoted
	UserID int64             `json:"user_id"`
	Name   string            // no tag: the key is "Name"
	Admin  bool              `json:"admin"`
	Cart   []item            `json:"cart"`
	Last   *item             `json:"last"`
	Prefs  map[string]string `json:"prefs"`
	Scores [3]int8           `json:"scores"`
}

// typedGen builds typed values from fuzz bytes on top of gen's reader.
type typedGen struct {
	gen
	repaired bool // some string had invalid UTF-8 (the writer repairs it)
	badKey   bool // some map key is not valid UTF-8
}

func (g *typedGen) text() string {
	s := g.str()
	if !utf8.ValidString(s) {
		g.repaired = true
	}
	return s
}

func (g *typedGen) key() string {
	s := g.str()
	if !utf8.ValidString(s) {
		g.badKey = true
	}
	return s
}

func (g *typedGen) int64() int64 {
	var n int64
	for _, c := range g.bytes(int(g.byte() % 9)) {
		n = n<<8 | int64(c)
	}
	if g.byte()&1 != 0 {
		n = -n
	}
	return n
}

// float returns a float64 from 8 input bytes: any bit pattern, NaN and the
// infinities included (which no JSON writer can encode).
func (g *typedGen) float() float64 {
	var u uint64
	for _, c := range g.bytes(8) {
		u = u<<8 | uint64(c)
	}
	return math.Float64frombits(u)
}

// time returns an instant from the input, sometimes outside the years
// 0..9999 that RFC 3339 (and so JSON) can hold, in one of a few zones.
func (g *typedGen) time() time.Time {
	t := time.Unix(g.int64()%(400000*365*86400), int64(g.byte())*3906250).UTC()
	switch g.byte() % 3 {
	case 1:
		t = t.In(time.FixedZone("", int(int8(g.byte()))*15*60))
	case 2:
		t = t.In(time.FixedZone("X", 5*3600+30*60))
	}
	return t
}

func (g *typedGen) item() item {
	it := item{
		SKU:    g.text(),
		Qty:    int(g.int64()),
		Price:  g.int64() % 1_000_000,
		Ratio:  g.float(),
		Small:  float32(g.float()),
		Count:  uint16(g.int64()),
		Added:  g.time(),
		Secret: g.str(),
		hidden: int(g.byte()),
	}
	flags := g.byte()
	if flags&1 != 0 {
		n := g.text()
		it.Note = &n
	}
	if flags&2 != 0 {
		it.Tags = []string{}
		for range g.byte() % 4 {
			it.Tags = append(it.Tags, g.text())
		}
	}
	if flags&4 != 0 {
		it.Attrs = map[string]int{}
		for range g.byte() % 4 {
			it.Attrs[g.key()] = int(g.int64())
		}
	}
	if flags&8 != 0 {
		// Raw JSON from the input: valid or not, duplicates or not.
		it.Extra = json.RawMessage(g.str())
	}
	return it
}

func (g *typedGen) cart() []item {
	n := int(g.byte() % 5)
	if n == 4 {
		return nil
	}
	c := make([]item, n)
	for i := range c {
		c[i] = g.item()
	}
	return c
}

func (g *typedGen) profile() profile {
	p := profile{
		audit:  audit{By: g.text(), At: g.time()},
		UserID: g.int64(),
		Name:   g.text(),
		Admin:  g.byte()&1 != 0,
		Cart:   g.cart(),
	}
	for i := range p.Scores {
		p.Scores[i] = int8(g.byte())
	}
	if g.byte()&1 != 0 {
		it := g.item()
		p.Last = &it
	}
	if g.byte()&1 != 0 {
		p.Prefs = map[string]string{}
		for range g.byte() % 4 {
			p.Prefs[g.key()] = g.text()
		}
	}
	return p
}

// session returns the session values: each key present or not by the
// input, each holding a typed value.
func (g *typedGen) session() map[string]any {
	s := map[string]any{}
	present := uint16(g.byte()) | uint16(g.byte())<<8
	add := func(bit int, k string, v func() any) {
		if present&(1<<bit) != 0 {
			s[k] = v()
		}
	}
	add(0, "profile", func() any { return g.profile() })
	add(1, "profile_ptr", func() any { p := g.profile(); return &p })
	add(2, "cart", func() any { return g.cart() })
	add(3, "item", func() any { return g.item() })
	add(4, "counts", func() any {
		m := map[string]int64{}
		for range g.byte() % 5 {
			m[g.key()] = g.int64()
		}
		return m
	})
	add(5, "carts", func() any {
		m := map[string][]item{}
		for range g.byte() % 3 {
			m[g.key()] = g.cart()
		}
		return m
	})
	add(6, "when", func() any { return g.time() })
	add(7, "ids", func() any {
		ids := make([]uint64, g.byte()%5)
		for i := range ids {
			ids[i] = uint64(g.int64())
		}
		return ids
	})
	add(8, "ratios", func() any { return []float32{float32(g.float()), float32(g.float())} })
	add(9, "bench_struct", func() any { return benchCart("typical-struct") })
	add(10, "bench_maps", func() any { return benchCart("typical-maps") })
	add(11, "nil_ptr", func() any { return (*item)(nil) })
	return s
}

// carried compares typed values by what JSON carries: fields tagged "-"
// and unexported fields other than the embedded audit are ignored, times
// compare with Equal (cmp's rule for types with an Equal method) and raw
// JSON by meaning (encoding/json compacts and escapes it, a strict writer
// may keep it as given).
var carried = cmp.Options{
	cmp.AllowUnexported(profile{}),
	cmpopts.IgnoreUnexported(item{}),
	cmpopts.IgnoreFields(item{}, "Secret"),
	cmp.Comparer(func(a, b json.RawMessage) bool {
		if len(a) == 0 || len(b) == 0 {
			return len(a) == len(b)
		}
		return json.Valid(a) && json.Valid(b) && reflect.DeepEqual(stdValue(string(a)), stdValue(string(b)))
	}),
}

// asSealed adds, for a comparison with the value before sealing, that
// omitempty drops an empty map or slice, which then decodes as nil.
var asSealed = cmp.Options{carried, cmp.FilterPath(func(p cmp.Path) bool {
	return p.Last().Type() != reflect.TypeFor[json.RawMessage]()
}, cmpopts.EquateEmpty())}

// hasInterface reports whether t holds an interface type anywhere, whose
// numbers each decoder may represent its own way (float64, int64).
func hasInterface(t reflect.Type) bool {
	switch t.Kind() {
	case reflect.Interface:
		return true
	case reflect.Pointer, reflect.Slice, reflect.Array:
		return hasInterface(t.Elem())
	case reflect.Map:
		return hasInterface(t.Key()) || hasInterface(t.Elem())
	case reflect.Struct:
		for i := range t.NumField() {
			if hasInterface(t.Field(i).Type) {
				return true
			}
		}
	}
	return false
}

// benchCart returns the cart of the named benchfix fixture.
func benchCart(name string) any {
	for _, p := range benchfix.Typed {
		if p.Name == name {
			return p.Values()["cart"]
		}
	}
	panic("fuzz: no benchfix fixture " + name)
}

// FuzzSealOpenTyped seals sessions of typed values built from the fuzz
// input (structs with json tags, an embedded struct, pointers, typed
// slices and maps, arrays, times, raw JSON) and opens them.
//
// Properties:
//   - Seal fails exactly when encoding/json cannot encode a value (NaN or
//     an infinity, a time outside years 0..9999, invalid raw JSON) or when
//     its encoding breaks the strict reader's rules (a repeated name, a
//     lone surrogate or an out-of-range number in raw JSON); a map key
//     that is not valid UTF-8 may be refused;
//   - every value Seal writes means what encoding/json writes for it;
//   - Open accepts exactly what Seal produced: the plaintext (decrypted
//     with internal/v4ref) is strict JSON, and Open hands back each data
//     value byte for byte as sealed;
//   - each value decodes back into its own type to a value equal to the
//     one sealed (strings with invalid UTF-8 repaired, as encoding/json
//     does), and equal to encoding/json's own round trip.
func FuzzSealOpenTyped(f *testing.F) {
	for _, s := range typedSeeds() {
		f.Add(s.data, s.implicit)
	}
	f.Fuzz(func(t *testing.T, data, implicit []byte) { sealTyped(t, data, implicit) })
}

// typedSeed is one seed of FuzzSealOpenTyped and what Seal must do with
// it: seal (1), refuse (-1), or either (0: a map key that is not UTF-8).
type typedSeed struct {
	data, implicit []byte
	seal           int
}

// typedSeeds start FuzzSealOpenTyped from every kind of value, zero and
// not, and from each kind of refusal. The byte layout is typedGen's.
func typedSeeds() []typedSeed {
	zeroItem := func(ratio ...byte) []byte { // SKU "", Qty 0, Price 0, then ratio
		return append([]byte{0, 0, 0, 0, 0}, ratio...)
	}
	return []typedSeed{
		// Every key, every value zero: empty strings, 1970, no cart.
		{[]byte{0xff, 0x0f}, []byte("cookie=__Host-session"), 1},
		// profile and profile_ptr: By "alice", At 2020-09-13 at +01:00.
		{[]byte{0x03, 0x00, 5, 'a', 'l', 'i', 'c', 'e', 4, 0x5f, 0x5e, 0x10, 0x00, 0, 128, 1, 4}, nil, 1},
		// item with every field set from repeated bytes.
		{append([]byte{0x08, 0x00}, bytes.Repeat([]byte{7, 'S', 'K', 'U', '-', '1', '0', '0'}, 12)...), []byte("x"), 1},
		// benchfix's struct and maps carts.
		{[]byte{0x00, 0x06}, nil, 1},
		// counts with the key "\xff": repaired or refused.
		{[]byte{0x10, 0x00, 1, 1, 0xff, 0, 0}, nil, 0},
		// counts with "\xff" and "\xfe": one name once repaired.
		{[]byte{0x10, 0x00, 2, 1, 0xff, 0, 0, 1, 0xfe, 0, 0}, nil, -1},
		// item with an infinite ratio.
		{append([]byte{0x08, 0x00}, zeroItem(0x7f, 0xf0, 0, 0, 0, 0, 0, 0)...), nil, -1},
		// item added in the year 10680.
		{append(append([]byte{0x08, 0x00}, zeroItem(make([]byte, 8+8+2)...)...), 8, 0, 0, 0, 0x40, 0, 0, 0, 0), nil, -1},
	}
}

// sealTyped checks FuzzSealOpenTyped's properties for one input and
// reports whether Seal accepted it.
func sealTyped(t *testing.T, data, implicit []byte) bool {
	t.Helper()
	g := &typedGen{gen: gen{b: data}}
	values := g.session()

	// What encoding/json makes of each value decides whether Seal
	// must succeed.
	std := map[string][]byte{}
	mustFail := false
	for k, v := range values {
		b, err := json.Marshal(v)
		if err != nil || jsonx.Valid(string(b), jsonx.DefaultLimits) != nil {
			mustFail = true
			continue
		}
		std[k] = b
	}

	c := &token.Claims{Expiry: now.Add(time.Hour), Data: values}
	tok, err := token.Seal(keyA, c, implicit, &token.Options{MaxSize: 1 << 20})
	switch {
	case mustFail && err == nil:
		t.Fatalf("Seal accepted a value encoding/json cannot encode strictly")
	case mustFail, err != nil && g.badKey:
		return false
	case err != nil:
		t.Fatalf("Seal refused values encoding/json encodes strictly: %v", err)
	}

	// Open accepts exactly what Seal produced.
	pt, _, ok := v4ref.Decrypt(secret(keyA), tok, implicit)
	if !ok {
		t.Fatal("the reference construction cannot open Seal's token")
	}
	if err := jsonx.Valid(string(pt), jsonx.DefaultLimits); err != nil {
		t.Fatalf("Seal wrote claims the strict reader refuses: %v", err)
	}
	var top map[string]json.RawMessage
	var sealed map[string]json.RawMessage
	if err := json.Unmarshal(pt, &top); err != nil {
		t.Fatalf("encoding/json cannot read Seal's claims: %v", err)
	}
	if err := json.Unmarshal(top["data"], &sealed); err != nil {
		t.Fatalf("encoding/json cannot read Seal's data: %v", err)
	}
	got, err := token.Open(ringA, tok, implicit, &token.Options{MaxSize: 1 << 20, Now: openOpts.Now})
	if err != nil {
		t.Fatalf("Open(Seal(...)) = %v", err)
	}
	if len(got.Data) != len(values) || len(sealed) != len(values) {
		t.Fatalf("sealed %d values, plaintext has %d, Open gave %d", len(values), len(sealed), len(got.Data))
	}
	for k, v := range values {
		raw, ok := got.Data[k].(json.RawMessage)
		if !ok {
			t.Fatalf("data[%q] is %T, want json.RawMessage", k, got.Data[k])
		}
		if string(raw) != string(sealed[k]) {
			t.Fatalf("data[%q]: Open gave %s, Seal wrote %s", k, raw, sealed[k])
		}
		// Same meaning as encoding/json's encoding.
		mine, err := jsonx.Decode(string(raw), jsonx.DefaultLimits)
		if err != nil || !sameAsStd(mine, stdValue(string(std[k]))) {
			t.Fatalf("data[%q] = %s, encoding/json writes %s (%v)", k, raw, std[k], err)
		}
		// Decodes back, into its own type, to what was sealed.
		typ := reflect.TypeOf(v)
		back := reflect.New(typ)
		if err := json.Unmarshal(raw, back.Interface()); err != nil {
			t.Fatalf("data[%q] (%T) does not decode back: %v", k, v, err)
		}
		if hasInterface(typ) {
			continue // its numbers were compared by value above
		}
		want := reflect.New(typ)
		if err := json.Unmarshal(std[k], want.Interface()); err != nil {
			t.Fatalf("encoding/json cannot decode its own %T: %v", v, err)
		}
		if d := cmp.Diff(want.Elem().Interface(), back.Elem().Interface(), carried); d != "" {
			t.Fatalf("data[%q] decoded differently from encoding/json's round trip (-std +jsonx):\n%s", k, d)
		}
		if !g.repaired && !g.badKey {
			if d := cmp.Diff(v, back.Elem().Interface(), asSealed); d != "" {
				t.Fatalf("data[%q] changed in a round trip (-sealed +decoded):\n%s", k, d)
			}
		}
	}
	return true
}

// TestTypedSeeds checks that FuzzSealOpenTyped's seeds reach both
// branches: the seeds that must seal pass every check, the others are
// refused.
func TestTypedSeeds(t *testing.T) {
	t.Parallel()
	for i, s := range typedSeeds() {
		got := sealTyped(t, s.data, s.implicit)
		if s.seal != 0 && got != (s.seal > 0) {
			t.Errorf("seed %d: sealed = %v, want %v", i, got, s.seal > 0)
		}
	}
}
