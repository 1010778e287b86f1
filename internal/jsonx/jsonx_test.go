package jsonx_test

import (
	"encoding/json"
	"errors"
	"math"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"satchel.dev/internal/jsonx"
)

func TestValidAcceptsWhatEncodingJSONAccepts(t *testing.T) {
	t.Parallel()
	for _, in := range []string{
		`{}`, `[]`, `0`, `-0`, `-1.5e+10`, `1E-2`, `"a\"\\\/\b\f\n\r\t\u00e9\ud83d\ude00"`, `true`, `false`, `null`,
		` { "a" : [ 1 , { "b" : null } ] } `, `"héllo"`, `{"a":1,"b":{"a":2}}`, `[[[[]]]]`,
	} {
		if err := jsonx.Valid(in, jsonx.DefaultLimits); err != nil {
			t.Errorf("Valid(%s) = %v", in, err)
		}
		if !json.Valid([]byte(in)) {
			t.Errorf("test input %s is not JSON", in)
		}
	}
}

func TestValidRefuses(t *testing.T) {
	t.Parallel()
	cases := map[string]struct {
		in   string
		want error
	}{
		"empty":               {``, jsonx.ErrSyntax},
		"trailing":            {`{} {}`, jsonx.ErrSyntax},
		"trailing-comma":      {`[1,]`, jsonx.ErrSyntax},
		"object-trailing":     {`{"a":1,}`, jsonx.ErrSyntax},
		"leading-zero":        {`01`, jsonx.ErrSyntax},
		"bare-dot":            {`1.`, jsonx.ErrSyntax},
		"plus":                {`+1`, jsonx.ErrSyntax},
		"nan":                 {`NaN`, jsonx.ErrSyntax},
		"single-quote":        {`'a'`, jsonx.ErrSyntax},
		"control-char":        {"\"a\x01\"", jsonx.ErrSyntax},
		"bad-escape":          {`"\x"`, jsonx.ErrSyntax},
		"short-unicode":       {`"\u12"`, jsonx.ErrSyntax},
		"lone-high":           {`"\ud83d"`, jsonx.ErrSyntax},
		"lone-low":            {`"\ude00"`, jsonx.ErrSyntax},
		"high-then-letter":    {`"\ud83dx"`, jsonx.ErrSyntax},
		"invalid-utf8":        {"\"\xff\"", jsonx.ErrSyntax},
		"overlong-utf8":       {"\"\xc0\xaf\"", jsonx.ErrSyntax},
		"surrogate-utf8":      {"\"\xed\xa0\x80\"", jsonx.ErrSyntax},
		"unterminated":        {`"abc`, jsonx.ErrSyntax},
		"truncated-true":      {`tru`, jsonx.ErrSyntax},
		"dup":                 {`{"a":1,"a":1}`, jsonx.ErrDuplicateKey},
		"dup-escaped":         {`{"a":1,"\u0061":1}`, jsonx.ErrDuplicateKey},
		"dup-nested":          {`[{"x":{"y":1,"y":2}}]`, jsonx.ErrDuplicateKey},
		"dup-after-16":        {`{` + manyKeys(20) + `,"k3":0}`, jsonx.ErrDuplicateKey},
		"too-deep":            {strings.Repeat("[", 33) + strings.Repeat("]", 33), jsonx.ErrTooDeep},
		"too-deep-objects":    {strings.Repeat(`{"a":`, 33) + "1" + strings.Repeat("}", 33), jsonx.ErrTooDeep},
		"too-many-items":      {"[" + strings.Repeat("1,", 1024) + "1]", jsonx.ErrTooManyKeys},
		"too-many-members":    {"{" + manyKeys(1025) + "}", jsonx.ErrTooManyKeys},
		"huge-depth-no-stack": {strings.Repeat("[", 1<<20), jsonx.ErrTooDeep},
		// Valid JSON that no float64 holds: Decode refuses it, so Valid
		// must too, or a token could pass Seal and fail in a handler.
		"number-overflow":     {`1e400`, jsonx.ErrNumberRange},
		"number-overflow-neg": {`[-1E+309]`, jsonx.ErrNumberRange},
		"number-long-plain":   {strings.Repeat("9", 309), jsonx.ErrNumberRange},
		"number-overflow-key": {`{"a":17976931348623159e292}`, jsonx.ErrNumberRange},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			if err := jsonx.Valid(c.in, jsonx.DefaultLimits); !errors.Is(err, c.want) {
				t.Fatalf("Valid = %v, want %v", err, c.want)
			}
		})
	}
	// At the limits exactly: accepted.
	if err := jsonx.Valid(strings.Repeat("[", 32)+strings.Repeat("]", 32), jsonx.DefaultLimits); err != nil {
		t.Errorf("depth 32: %v", err)
	}
	if err := jsonx.Valid("["+strings.Repeat("1,", 1023)+"1]", jsonx.DefaultLimits); err != nil {
		t.Errorf("1024 items: %v", err)
	}
}

// TestNumberRangeEdges pins where out-of-range starts: the largest float64
// and numbers that round to it or to zero are fine, one step past is not,
// and Valid and Decode always give the same answer.
func TestNumberRangeEdges(t *testing.T) {
	t.Parallel()
	maxFloat := strconv.FormatFloat(math.MaxFloat64, 'f', -1, 64) // 309 digits
	for _, c := range []struct {
		in string
		ok bool
	}{
		{`1.7976931348623157e308`, true},
		{`-1.7976931348623157e308`, true},
		{maxFloat, true},
		{`1e-400`, true}, // underflows to 0, as encoding/json reads it
		{`0e999999`, true},
		{strings.Repeat("9", 308), true},
		{`1.8e308`, false},
		{`1` + strings.Repeat("0", 309), false},
	} {
		errValid := jsonx.Valid(c.in, jsonx.DefaultLimits)
		_, errDecode := jsonx.Decode(c.in, jsonx.DefaultLimits)
		var v any
		errStd := json.Unmarshal([]byte(c.in), &v)
		if (errValid == nil) != c.ok || (errDecode == nil) != c.ok || (errStd == nil) != c.ok {
			t.Errorf("%.20s…: Valid %v, Decode %v, encoding/json %v; want ok=%v", c.in, errValid, errDecode, errStd, c.ok)
		}
	}
	if _, err := jsonx.AppendValue(nil, json.Number("1e400")); err == nil {
		t.Error("AppendValue wrote json.Number 1e400")
	}
}

func manyKeys(n int) string {
	var b strings.Builder
	for i := range n {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(`"k`)
		b.WriteString(strings.Repeat("x", i/10))
		b.WriteString(string(rune('0' + i%10)))
		b.WriteString(`":0`)
	}
	return b.String()
}

func TestDecodeTypes(t *testing.T) {
	t.Parallel()
	got, err := jsonx.Decode(`{"i":9007199254740993,"n":-12,"f":1.25,"e":1e3,"big":1e400,"s":"x","b":false,"z":null,"a":[1,"2"]}`, jsonx.DefaultLimits)
	if err == nil {
		t.Fatalf("1e400 decoded to %v; want an error (not representable)", got)
	}
	got, err = jsonx.Decode(`{"i":9007199254740993,"n":-12,"f":1.25,"e":1e3,"u":18446744073709551616,"s":"x","b":false,"z":null,"a":[1,"2"]}`, jsonx.DefaultLimits)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]any{
		"i": int64(9007199254740993), "n": int64(-12), "f": 1.25, "e": 1000.0, "u": 18446744073709551616.0,
		"s": "x", "b": false, "z": nil, "a": []any{int64(1), "2"},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("(-want +got):\n%s", diff)
	}
}

type custom struct {
	A int       `json:"a"`
	T time.Time `json:"t"`
}

type dupMarshaler struct{}

func (dupMarshaler) MarshalJSON() ([]byte, error) { return []byte(`{"a":1,"a":2}`), nil }

// TestAppendValueMatchesEncodingJSON: the fast paths produce what
// encoding/json produces (apart from its HTML escaping), so values decode
// identically whichever path wrote them.
func TestAppendValueMatchesEncodingJSON(t *testing.T) {
	t.Parallel()
	values := []any{
		nil, "", "plain", "quote\" back\\ nl\n tab\t cr\r ctl\x01\x1f é 😀", "\u2028\u2029", "bad\xffutf8",
		true, false, 0, -1, 1 << 62, int64(math.MinInt64), int32(-5), uint(7), uint64(math.MaxUint64), uint32(9),
		0.0, 1.5, -2.25, 1e21, 1e20, 1e-7, 1e-6, 123456789.125, math.MaxFloat64, float32(3.14), float32(1e-7),
		[]any{1, "a", nil, []any{}}, []string{"x", "y"}, []string{}, map[string]any{"b": 1, "a": map[string]any{}},
		map[string]string{"z": "1", "a": "2"}, json.RawMessage(`{"k":[1,2]}`), json.Number("12.5e3"),
		custom{A: 1, T: time.Date(2026, 1, 2, 3, 4, 5, 6, time.UTC)}, []int{1, 2}, map[string]int{"a": 1},
		[]any(nil), map[string]any(nil), []string(nil),
	}
	for _, v := range values {
		got, err := jsonx.AppendValue(nil, v)
		if err != nil {
			t.Errorf("AppendValue(%#v): %v", v, err)
			continue
		}
		want, _ := json.Marshal(v)
		var g, w any
		if err := json.Unmarshal(got, &g); err != nil {
			t.Errorf("AppendValue(%#v) = %s: not JSON: %v", v, got, err)
			continue
		}
		json.Unmarshal(want, &w)
		if diff := cmp.Diff(w, g); diff != "" {
			t.Errorf("AppendValue(%#v) = %s, encoding/json %s (-want +got):\n%s", v, got, want, diff)
		}
		if err := jsonx.Valid(string(got), jsonx.DefaultLimits); err != nil {
			t.Errorf("AppendValue(%#v) = %s, which the strict reader refuses: %v", v, got, err)
		}
	}
}

func TestAppendValueRefuses(t *testing.T) {
	t.Parallel()
	selfList := []any{"sku-1", nil}
	selfList[1] = selfList
	selfMap := map[string]any{}
	selfMap["self"] = selfMap
	for name, v := range map[string]any{
		"cyclic-list": selfList, "cyclic-map": selfMap,
		"too-deep": json.RawMessage(strings.Repeat("[", 40) + strings.Repeat("]", 40)),
		"nan":      math.NaN(), "inf": math.Inf(1), "f32-inf": float32(math.Inf(-1)), "chan": make(chan int), "func": func() {},
		"raw-invalid": json.RawMessage(`{`), "raw-dup": json.RawMessage(`{"a":1,"a":2}`), "raw-two-values": json.RawMessage(`1 2`),
		"number-injection": json.Number(`1,"x":2`), "number-empty": json.Number(""), "marshaler-dup": dupMarshaler{},
		"nested-nan": []any{math.NaN()}, "map-nested-func": map[string]any{"f": func() {}},
		"key-not-utf8": map[string]any{"a\xff": 1}, "nested-key-not-utf8": []any{map[string]string{"\xfe": "x"}},
	} {
		if got, err := jsonx.AppendValue(nil, v); err == nil {
			t.Errorf("%s: AppendValue = %s, want an error", name, got)
		}
	}
}

func TestObjectKeysAndStrings(t *testing.T) {
	t.Parallel()
	var d jsonx.Decoder
	d.Reset(`{"plain":"v","esc\"aped":"\u00e9\n"}`, jsonx.DefaultLimits)
	got := map[string]string{}
	err := d.Object(func(k string) error {
		v, err := d.String()
		got[k] = v
		return err
	})
	if err != nil || d.End() != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(map[string]string{"plain": "v", "esc\"aped": "é\n"}, got); diff != "" {
		t.Fatalf("(-want +got):\n%s", diff)
	}
}

// TestWriterCommonTypesDoNotAllocate guards the fast path for the common
// types: a Writer on the caller's stack stays there (token.Seal keeps one
// on its stack), and maps of up to 16 keys sort on the stack. Passing the
// writer to a function value, for one, makes it escape: Seal went from 2
// to 3 allocations.
func TestWriterCommonTypesDoNotAllocate(t *testing.T) {
	v := map[string]any{
		"a": []string{"x", "y"},
		"b": map[string]string{"k": "v", "j": "w"},
		"c": []any{"s", true, nil},
		"d": []map[string]any{{"e": "f"}},
	}
	buf := make([]byte, 0, 256)
	allocs := testing.AllocsPerRun(100, func() {
		var w jsonx.Writer
		w.Reset(jsonx.DefaultLimits)
		var err error
		if buf, err = w.Append(buf[:0], v, 0); err != nil {
			t.Fatal(err)
		}
	})
	if want := `{"a":["x","y"],"b":{"j":"w","k":"v"},"c":["s",true,null],"d":[{"e":"f"}]}`; string(buf) != want {
		t.Fatalf("Append = %s, want %s", buf, want)
	}
	if allocs != 0 {
		t.Fatalf("Append of common types allocated %.0f times, want 0", allocs)
	}
}
