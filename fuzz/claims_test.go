package fuzz

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"

	"satchel.dev/internal/benchfix"
	"satchel.dev/internal/jsonx"
	"satchel.dev/internal/v4ref"
	"satchel.dev/token"
)

// stdInfo is what encoding/json, the reference, says about a document: an
// independent walk with json.Decoder tokens (names come back unescaped).
type stdInfo struct {
	valid     bool // encoding/json accepts it as one value
	dup       bool // some object repeats a member name
	depth     int  // deepest nesting of objects and arrays
	items     int  // object members plus array elements
	bigNumber bool // a number literal outside float64's range
}

func inspect(src string) stdInfo {
	if !json.Valid([]byte(src)) {
		return stdInfo{}
	}
	info := stdInfo{valid: true}
	dec := json.NewDecoder(strings.NewReader(src))
	dec.UseNumber()
	type frame struct {
		object bool
		names  map[string]bool
		expect bool // object: the next string token is a member name
	}
	var stack []*frame
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			return info
		}
		if err != nil {
			return stdInfo{}
		}
		var top *frame
		if len(stack) > 0 {
			top = stack[len(stack)-1]
		}
		if d, ok := tok.(json.Delim); ok && (d == '}' || d == ']') {
			stack = stack[:len(stack)-1]
			if len(stack) > 0 && stack[len(stack)-1].object {
				stack[len(stack)-1].expect = true
			}
			continue
		}
		if top != nil && top.object && top.expect {
			name := tok.(string)
			if top.names[name] {
				info.dup = true
			}
			top.names[name] = true
			top.expect = false
			info.items++
			continue
		}
		if top != nil && !top.object {
			info.items++
		}
		switch v := tok.(type) {
		case json.Delim:
			stack = append(stack, &frame{object: v == '{', names: map[string]bool{}, expect: v == '{'})
			info.depth = max(info.depth, len(stack))
			continue
		case json.Number:
			if _, err := strconv.ParseFloat(string(v), 64); err != nil {
				info.bigNumber = true
			}
		}
		if top != nil && top.object {
			top.expect = true
		}
	}
}

// stdValue decodes src with encoding/json, numbers as json.Number.
func stdValue(src string) any {
	dec := json.NewDecoder(strings.NewReader(src))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		panic("fuzz: encoding/json decoded what it called valid: " + err.Error())
	}
	return v
}

// sameAsStd compares a value jsonx decoded with one encoding/json decoded:
// jsonx's int64 must be the literal's exact integer, its float64 the
// literal parsed as float64.
func sameAsStd(x, std any) bool {
	switch s := std.(type) {
	case json.Number:
		switch v := x.(type) {
		case int64:
			n, err := strconv.ParseInt(string(s), 10, 64)
			return err == nil && n == v
		case float64:
			if _, err := strconv.ParseInt(string(s), 10, 64); err == nil {
				return false // an integer that fits must come back as int64
			}
			f, err := strconv.ParseFloat(string(s), 64)
			return err == nil && f == v
		}
		return false
	case map[string]any:
		v, ok := x.(map[string]any)
		if !ok || len(v) != len(s) {
			return false
		}
		for k, se := range s {
			ve, ok := v[k]
			if !ok || !sameAsStd(ve, se) {
				return false
			}
		}
		return true
	case []any:
		v, ok := x.([]any)
		if !ok || len(v) != len(s) {
			return false
		}
		for i := range s {
			if !sameAsStd(v[i], s[i]) {
				return false
			}
		}
		return true
	}
	return x == std
}

// maybeLoneSurrogate reports whether src has a \uD800-\uDFFF escape, which
// encoding/json replaces and jsonx refuses when it is not a proper pair.
func maybeLoneSurrogate(src string) bool {
	l := strings.ToLower(src)
	for _, p := range []string{`\ud8`, `\ud9`, `\uda`, `\udb`, `\udc`, `\udd`, `\ude`, `\udf`} {
		if strings.Contains(l, p) {
			return true
		}
	}
	return false
}

// FuzzClaims runs the strict JSON reader differentially against
// encoding/json, and the claims path of Open on tokens whose plaintext is
// the fuzz input.
//
// Properties, for limits drawn from the input:
//   - jsonx.Valid and jsonx.Decode never panic and agree, and both
//     refuse numbers outside float64's range;
//   - whatever jsonx accepts, encoding/json accepts, with the same value
//     (objects, arrays, strings, and numbers exactly: int64 when the
//     literal is an integer that fits, float64 otherwise);
//   - documents that repeat a member name (compared after unescaping), or
//     break the depth or item limits, are refused, with ErrDuplicateKey,
//     ErrTooDeep or ErrTooManyKeys when that is the only fault;
//   - conversely jsonx accepts every document encoding/json accepts that
//     is valid UTF-8, without duplicates, within the limits, with numbers
//     in float64 range (documents with surrogate escapes excepted);
//   - a token sealed under keyA whose plaintext is the input opens only if
//     jsonx accepts the input under token's limits with exp present and
//     no duplicate names anywhere (parser differentials; big numbers and
//     deep nesting stay inside the limits), and then with the
//     data values byte for byte as encoding/json's RawMessage reads them.
func FuzzClaims(f *testing.F) {
	for _, p := range benchfix.Payloads {
		f.Add(string(p.JSON()), uint8(32), uint16(1024))
		f.Add(`{"exp":"2031-01-01T00:00:00Z","data":`+string(p.JSON())+`}`, uint8(32), uint16(1024))
	}
	for _, p := range vectorPayloads(f) {
		f.Add(string(p), uint8(4), uint16(8))
	}
	for _, s := range []string{
		`{"exp":"2031-01-01T00:00:00Z","data":{"a":1,"a":2}}`,
		`{"exp":"2031-01-01T00:00:00Z","exp":"2031-01-01T00:00:00Z","data":{}}`,
		`{"exp":"2031-01-01T00:00:00Z","data":{"a":1,"\u0061":2}}`,
		`{"exp":"2031-01-01T00:00:00Z","data":{"n":9007199254740993,"f":1.5e300,"g":1e400}}`,
		`{"exp":"2031-01-01T00:00:00Z","data":{"s":"\ud800"}}`,
		`{"exp":"2031-01-01T00:00:00Z","data":{"s":"\ud83d\ude00 \u2028"}}`,
		`{"exp":"2031-01-01T00:00:00Z","data":{"s":"` + "\xff" + `"}}`,
		`{"exp":"2031-01-01T00:00:00Z","data":` + strings.Repeat("[", 31) + strings.Repeat("]", 31) + `}`,
		`{"exp":"2031-01-01T00:00:00Z","iat":"2040-01-01T00:00:00Z","data":{}}`,
		`{"exp":1,"data":{}}`,
		`{"exp":"2070-01-01T00:00:00Z","dAtA":{"a":0},"DATA":1}`,
		`{"exp":"2070-01-01T0:00:00Z","data":{}}`,
		`{"exp":"2070-01-01T00:00:00+00:60","data":{}}`,
		`{"data":{}}`,
		`[1,2,{"a":[true,false,null]}]`,
		` {"a" : -0.0e-0 } `,
		`{"a":01}`,
		`"\u0000"`,
	} {
		f.Add(s, uint8(32), uint16(1024))
	}
	f.Fuzz(func(t *testing.T, src string, depth uint8, items uint16) {
		lim := jsonx.Limits{MaxDepth: int(depth % 40), MaxItems: int(items % 2048)}
		errValid := jsonx.Valid(src, lim)
		v, errDecode := jsonx.Decode(src, lim)
		info := inspect(src)
		// What Valid passes (Seal's and Open's check) always decodes.
		if (errValid == nil) != (errDecode == nil) {
			t.Fatalf("Valid = %v but Decode = %v", errValid, errDecode)
		}
		if errValid == nil && info.bigNumber {
			t.Fatalf("jsonx accepted a number outside float64's range: %q", src)
		}
		if errDecode == nil {
			if !info.valid {
				t.Fatalf("jsonx accepted what encoding/json refuses: %q", src)
			}
			if info.dup {
				t.Fatalf("jsonx accepted a repeated member name: %q", src)
			}
			if info.depth > lim.MaxDepth || info.items > lim.MaxItems {
				t.Fatalf("jsonx accepted depth %d items %d under %+v", info.depth, info.items, lim)
			}
			if !sameAsStd(v, stdValue(src)) {
				t.Fatalf("jsonx decoded %#v, encoding/json %#v", v, stdValue(src))
			}
		} else if errValid != nil && info.valid && utf8.ValidString(src) && !info.bigNumber && !maybeLoneSurrogate(src) {
			overDepth, overItems := info.depth > lim.MaxDepth, info.items > lim.MaxItems
			switch {
			case !info.dup && !overDepth && !overItems:
				t.Fatalf("jsonx refused valid JSON %q under %+v: %v", src, lim, errValid)
			case info.dup && !overDepth && !overItems && !errors.Is(errValid, jsonx.ErrDuplicateKey):
				t.Fatalf("duplicate names: %v, want ErrDuplicateKey", errValid)
			case overDepth && !info.dup && !overItems && !errors.Is(errValid, jsonx.ErrTooDeep):
				t.Fatalf("depth %d over %d: %v, want ErrTooDeep", info.depth, lim.MaxDepth, errValid)
			case overItems && !info.dup && !overDepth && !errors.Is(errValid, jsonx.ErrTooManyKeys):
				t.Fatalf("items %d over %d: %v, want ErrTooManyKeys", info.items, lim.MaxItems, errValid)
			}
		}

		// The claims path: seal the input as a token's plaintext.
		tok := v4ref.Encrypt(secret(keyA), nonceFrom([]byte(src)), []byte(src), footerFor(keyA), nil)
		c, err := token.Open(ringA, tok, nil, &token.Options{MaxSize: 1 << 20, Now: openOpts.Now})
		if err != nil {
			if !isSentinel(err) {
				t.Fatalf("Open: undocumented error %v", err)
			}
			return
		}
		if jsonx.Valid(src, jsonx.DefaultLimits) != nil || info.dup {
			t.Fatalf("Open accepted claims the strict reader refuses: %q", src)
		}
		claims, ok := stdValue(src).(map[string]any)
		if !ok {
			t.Fatalf("Open accepted a non-object: %q", src)
		}
		if _, ok := claims["exp"].(string); !ok {
			t.Fatalf("Open accepted claims without a string exp: %q", src)
		}
		// Decode through maps, never a struct: encoding/json matches
		// struct fields case-insensitively, so a "dAtA" claim would land
		// in a Data field, while claim names are exact ("dAtA" is just an
		// unknown claim, which Open ignores).
		var top map[string]json.RawMessage
		var data map[string]json.RawMessage
		if err := json.Unmarshal([]byte(src), &top); err != nil {
			t.Fatalf("encoding/json cannot read accepted claims: %v", err)
		}
		if raw, ok := top["data"]; ok {
			if err := json.Unmarshal(raw, &data); err != nil {
				t.Fatalf("encoding/json cannot read the data of accepted claims: %v", err)
			}
		}
		if len(c.Data) != len(data) {
			t.Fatalf("Open gave %d data values, input has %d", len(c.Data), len(data))
		}
		for k, v := range c.Data {
			if got, want := v.(json.RawMessage), data[k]; !bytes.Equal(got, want) {
				t.Fatalf("data[%q] = %s, input has %s", k, got, want)
			}
		}
	})
}
