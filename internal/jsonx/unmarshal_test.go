package jsonx_test

import (
	"bytes"
	"encoding"
	"encoding/json"
	"errors"
	"math"
	"net/netip"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"satchel.dev/internal/jsonx"
)

type item struct {
	SKU        string `json:"sku"`
	Qty        int    `json:"qty"`
	PriceCents int64  `json:"price_cents"`
}

type level int

func (l level) MarshalText() ([]byte, error) { return []byte([]string{"low", "high"}[l]), nil }
func (l *level) UnmarshalText(b []byte) error {
	switch string(b) {
	case "low":
		*l = 0
	case "high":
		*l = 1
	default:
		return errors.New("bad level")
	}
	return nil
}

type ptrMarshaler struct{ n int }

func (p *ptrMarshaler) MarshalJSON() ([]byte, error) { return []byte(`{"n": 1}`), nil }

type profile struct {
	Name     string            `json:"name"`
	Role     string            // no tag: the Go name, matched exactly
	Email    string            `json:"email,omitempty"`
	Tags     map[string]string `json:"tags"`
	Scores   map[string]int    `json:"scores,omitempty"`
	Cart     []item            `json:"cart"`
	Seen     time.Time         `json:"seen"`
	Expires  *time.Time        `json:"expires,omitempty"`
	Since    time.Time         `json:"since,omitzero"`
	Boss     *profile          `json:"boss"`
	Avatar   []byte            `json:"avatar"`
	Level    level             `json:"level"`
	Ratio    float32           `json:"ratio"`
	Grid     [2][2]uint8       `json:"grid"`
	Any      any               `json:"any"`
	Addr     netip.Addr        `json:"addr"`
	Dur      time.Duration     `json:"dur"`
	Skipped  string            `json:"-"`
	Dash     string            `json:"-,"`
	hidden   string
	Raw      json.RawMessage `json:"raw"`
	PtrM     ptrMarshaler    `json:"ptrm"`
	Ints     []int           `json:"ints"`
	NilSlice []string        `json:"nil_slice"`
}

func sampleProfile() profile {
	exp := time.Date(2027, 1, 2, 3, 4, 5, 600, time.FixedZone("x", 3600))
	return profile{
		Name: "alice <&> \u2028 \xff", Role: "admin", Tags: map[string]string{"b": "2", "a": "1"},
		Scores: map[string]int{"z": -1, "é": 2},
		Cart:   []item{{"SKU-1", 2, 999}, {"SKU-2", 1, 1249}},
		Seen:   time.Date(2026, 11, 27, 12, 0, 0, 123456789, time.UTC), Expires: &exp,
		Boss:   &profile{Name: "bob", Cart: []item{}},
		Avatar: []byte{0, 1, 2, 250}, Level: 1, Ratio: 0.1, Grid: [2][2]uint8{{1, 2}, {3, 4}},
		Any:  map[string]any{"n": 9007199254740993, "l": []any{1.5, "x", nil}},
		Addr: netip.MustParseAddr("192.0.2.1"), Dur: 1500 * time.Millisecond,
		Skipped: "no", Dash: "yes", hidden: "no", Raw: json.RawMessage(`[1,{"a":true}]`),
		Ints: []int{3, 2, 1},
	}
}

// encodingJSON is what encoding/json writes for v, without its HTML
// escaping (the writer does not escape <, > and &).
func encodingJSON(t *testing.T, v any) string {
	t.Helper()
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		t.Fatalf("encoding/json: %v", err)
	}
	var compact bytes.Buffer
	if err := json.Compact(&compact, bytes.TrimSuffix(buf.Bytes(), []byte("\n"))); err != nil {
		t.Fatal(err)
	}
	return compact.String()
}

type embedded struct {
	item
	Extra string `json:"extra"`
}

type stringOpt struct {
	N int `json:"n,string"`
}

// sameName is a struct with two fields named "x", which encoding/json
// drops both of (built by reflection: vet refuses it in source).
var sameName = reflect.New(reflect.StructOf([]reflect.StructField{
	{Name: "A", Type: reflect.TypeFor[string](), Tag: `json:"x"`},
	{Name: "B", Type: reflect.TypeFor[string](), Tag: `json:"x"`},
	{Name: "C", Type: reflect.TypeFor[string]()},
})).Elem().Interface()

// TestWriterMatchesEncodingJSON: for every kind the writer encodes itself
// (structs with tags, typed slices and maps, time.Time, pointers, methods)
// and every kind it hands to encoding/json, the bytes are encoding/json's
// own, compacted and without HTML escaping.
func TestWriterMatchesEncodingJSON(t *testing.T) {
	t.Parallel()
	p := sampleProfile()
	values := []any{
		p, &p, []profile{p, {}}, map[string]profile{"x": p}, []item{}, []*item{nil, {"a", 1, 2}},
		map[string][]map[string]any{"cart": {{"sku": "a", "qty": 1}}}, []map[string]any{{"k": 1}, nil},
		embedded{item{"s", 1, 2}, "e"}, stringOpt{5}, sameName, map[int]string{2: "b", 10: "a"},
		[3]int{1, 2, 3}, time.Time{}, level(0), time.Date(2026, 1, 1, 0, 0, 0, 5, time.FixedZone("", 23*3600+59*60)),
		time.Date(2026, 1, 1, 0, 0, 0, 0, time.FixedZone("s", -(3600+30))), &ptrMarshaler{}, []ptrMarshaler{{}}, struct{}{},
		map[string]*item{"nil": nil}, []any{item{"x", 1, 1}, time.Unix(0, 0).UTC()}, uint8(200), int8(-3),
		[]float64{0.1, 1e21, 1e-7}, map[level]int{1: 1}, json.Number("1.5"), struct{ A any }{},
		struct {
			M json.Marshaler
			T encoding.TextMarshaler
			P *ptrMarshaler
			L *level
		}{}, struct{ M json.Marshaler }{&ptrMarshaler{}}, []encoding.TextMarshaler{level(1), nil},
		map[string]ptrMarshaler{"a": {}}, map[string][]int{"b": {1}, "a": nil}, map[string]level{"x": 1, "w": 0},
		map[string]map[string]any{"m": {"k": []any{1}}}, map[string]any{"s": []item{{"a", 1, 2}}},
	}
	for _, v := range values {
		got, err := jsonx.Marshal(v)
		if err != nil {
			t.Errorf("Marshal(%T): %v", v, err)
			continue
		}
		if want := encodingJSON(t, v); string(got) != want {
			t.Errorf("Marshal(%T)\n got %s\nwant %s", v, got, want)
		}
		if err := jsonx.Valid(string(got), jsonx.DefaultLimits); err != nil {
			t.Errorf("Marshal(%T) = %s, which the strict reader refuses: %v", v, got, err)
		}
	}
}

type node struct {
	Next *node `json:"next"`
}

type selfPtr *selfPtr

type floats struct {
	F float64 `json:"f"`
}

// TestWriterRefuses: values the strict reader would refuse, or that have
// no JSON form, are errors (never a crash), in struct fields and typed
// containers too.
func TestWriterRefuses(t *testing.T) {
	t.Parallel()
	deep := &node{}
	for range 40 {
		deep = &node{Next: deep}
	}
	cyc := &node{}
	cyc.Next = cyc
	var sp selfPtr
	sp = &sp
	big := make([]int, 1100)
	for name, v := range map[string]any{
		"nan-field": floats{math.NaN()}, "inf-in-slice": []floats{{1}, {math.Inf(-1)}},
		"nan-typed-map": map[string]float64{"x": math.NaN()}, "f32-inf": []float32{float32(math.Inf(1))},
		"deep-struct": deep, "cyclic-struct": cyc, "self-pointer": sp,
		"too-many-items": big, "key-not-utf8": map[string]int{"\xff": 1},
		"chan-field": struct{ C chan int }{make(chan int)}, "func": []func(){nil},
		"complex": complex(1, 2), "year-10000": time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC),
		"offset-24h":              time.Date(1970, 1, 2, 3, 40, 36, 0, time.FixedZone("", 24*3600+15*60)),
		"offset-24h-in-struct":    struct{ T time.Time }{time.Date(2026, 1, 1, 0, 0, 0, 0, time.FixedZone("x", -24*3600))},
		"bad-marshaler-in-struct": struct{ D dupMarshaler }{}, "raw-in-struct": struct{ R json.RawMessage }{json.RawMessage(`{`)},
		"deep-raw": struct{ R json.RawMessage }{json.RawMessage(strings.Repeat("[", 32) + strings.Repeat("]", 32))},
	} {
		got, err := jsonx.Marshal(v)
		if err == nil {
			t.Errorf("%s: Marshal = %.80s, want an error", name, got)
		}
	}
	// Exactly at the limits is fine: 31 nested structs inside the
	// top-level one make 32 levels.
	ok := &node{}
	for range 30 {
		ok = &node{Next: ok}
	}
	if _, err := jsonx.Marshal(ok); err != nil {
		t.Errorf("32 levels: %v", err)
	}
}

// TestThreat12_UnmarshalCaseExact: a member whose name differs from a
// field's only in case does not set the field, whatever the order, so an
// attacker-controlled "role" cannot override "Role" as it would with
// encoding/json's case-insensitive match.
func TestThreat12_UnmarshalCaseExact(t *testing.T) {
	t.Parallel()
	type user struct {
		Role  string
		Email string `json:"email"`
	}
	for _, in := range []string{
		`{"Role":"user","role":"admin","email":"a@x","EMAIL":"evil@x"}`,
		`{"role":"admin","Role":"user","Email":"evil@x","email":"a@x"}`,
		`{"ROLE":"admin","Role":"user","email":"a@x"}`,
	} {
		var u user
		if err := jsonx.Unmarshal([]byte(in), &u); err != nil {
			t.Fatalf("%s: %v", in, err)
		}
		if u.Role != "user" || u.Email != "a@x" {
			t.Errorf("%s decoded as %+v", in, u)
		}
		// encoding/json is the leniency this guards against.
		var lenient user
		json.Unmarshal([]byte(in), &lenient)
		if lenient == u {
			t.Logf("%s: encoding/json agrees here", in)
		}
	}
	var u user
	if err := jsonx.Unmarshal([]byte(`{"role":"admin"}`), &u); err != nil || u.Role != "" {
		t.Errorf(`{"role":"admin"} set Role: %+v, %v`, u, err)
	}
}

// TestUnmarshalRefuses: what the strict reader refuses, Unmarshal refuses,
// before touching the target; a type mismatch is ErrType; no error holds
// input bytes.
func TestUnmarshalRefuses(t *testing.T) {
	t.Parallel()
	type target struct {
		Role string         `json:"role"`
		N    int            `json:"n"`
		M    map[string]any `json:"m"`
	}
	for in, want := range map[string]error{
		`{"role":"a","role":"secret-admin"}`: jsonx.ErrDuplicateKey,
		`{"m":{"k":1,"k":"secret-2"}}`:       jsonx.ErrDuplicateKey,
		"{\"role\":\"secret\xff\"}":          jsonx.ErrSyntax,
		`{"role":"\ud800secret"}`:            jsonx.ErrSyntax,
		`{"n":1e400}`:                        jsonx.ErrNumberRange,
		`{"m":` + strings.Repeat("[", 40) + strings.Repeat("]", 40) + `}`: jsonx.ErrTooDeep,
		`{"role":"secret"} x`:   jsonx.ErrSyntax,
		`{"n":"secret-string"}`: jsonx.ErrType,
		`{"n":1.5}`:             jsonx.ErrType,
		`{"role":["secret"]}`:   jsonx.ErrType,
		`["secret"]`:            jsonx.ErrType,
	} {
		var v target
		err := jsonx.Unmarshal([]byte(in), &v)
		if !errors.Is(err, want) {
			t.Errorf("%.60s: %v, want %v", in, err, want)
		}
		if err != nil && strings.Contains(err.Error(), "secret") {
			t.Errorf("%.60s: error %q holds input", in, err)
		}
	}
	var v target
	if err := jsonx.Unmarshal([]byte(`{}`), v); !errors.Is(err, jsonx.ErrType) {
		t.Errorf("non-pointer target: %v", err)
	}
	if err := jsonx.Unmarshal([]byte(`{}`), nil); !errors.Is(err, jsonx.ErrType) {
		t.Errorf("nil target: %v", err)
	}
}

// TestMarshalUnmarshalRoundTrip: what the writer writes, Unmarshal reads
// back into the same Go value, for structs, typed maps and slices, times,
// pointers and methods.
func TestMarshalUnmarshalRoundTrip(t *testing.T) {
	t.Parallel()
	in := sampleProfile()
	b, err := jsonx.Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	var out profile
	if err := jsonx.Unmarshal(b, &out); err != nil {
		t.Fatalf("Unmarshal(%s): %v", b, err)
	}
	// What does not travel: the skipped and unexported fields, and the
	// repaired invalid UTF-8 byte; times lose only their zone name.
	in.Skipped, in.hidden, in.Name = "", "", strings.ReplaceAll(in.Name, "\xff", "\ufffd")
	in.Any = map[string]any{"n": int64(9007199254740993), "l": []any{1.5, "x", nil}}
	in.PtrM = ptrMarshaler{}
	in.Boss.Raw = json.RawMessage("null") // as with encoding/json
	opts := cmp.Options{
		cmp.AllowUnexported(profile{}, ptrMarshaler{}),
		cmp.Comparer(func(a, b time.Time) bool { return a.Equal(b) }),
		cmp.Comparer(func(a, b netip.Addr) bool { return a == b }),
	}
	if diff := cmp.Diff(in, out, opts); diff != "" {
		t.Errorf("round trip (-want +got):\n%s", diff)
	}
	// Values encoding/json wrote (an earlier satchel, another service)
	// read the same.
	v1, err := json.Marshal(sampleProfile())
	if err != nil {
		t.Fatal(err)
	}
	var fromV1 profile
	if err := jsonx.Unmarshal(v1, &fromV1); err != nil {
		t.Fatalf("Unmarshal(encoding/json output): %v", err)
	}
	if diff := cmp.Diff(in, fromV1, opts); diff != "" {
		t.Errorf("from encoding/json (-want +got):\n%s", diff)
	}

	var anyOut any
	if err := jsonx.Unmarshal([]byte(`{"a":[9007199254740993,1.5,"s",true,null]}`), &anyOut); err != nil {
		t.Fatal(err)
	}
	want := map[string]any{"a": []any{int64(9007199254740993), 1.5, "s", true, nil}}
	if diff := cmp.Diff(want, anyOut); diff != "" {
		t.Errorf("into any (-want +got):\n%s", diff)
	}
	var raw json.RawMessage
	src := []byte(` {"k": 1} `)
	if err := jsonx.Unmarshal(src, &raw); err != nil || string(raw) != string(src) {
		t.Fatalf("into RawMessage: %s, %v", raw, err)
	}
	src[2] = 'X'
	if raw[2] == 'X' {
		t.Error("RawMessage aliases the input")
	}
}
