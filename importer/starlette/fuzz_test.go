package starlette_test

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"satchel.dev/importer/starlette"
)

// FuzzStarletteCookie feeds the importer any cookie value. Whatever it
// accepts must be signed with the key (the test's signer, which
// TestStarletteSignerMatchesPeer holds to itsdangerous), canonical in
// every part, within max_age, and its values must be a JSON object that
// encoding/json reads too.
func FuzzStarletteCookie(f *testing.F) {
	payload := base64.StdEncoding.EncodeToString([]byte(`{"user_id": 1, "roles": ["admin"]}`))
	good := sign(payload + "." + stampOf(now.Unix()-5))
	for _, seed := range []string{good, good[:len(good)-1], good + "=", strings.ToUpper(good), "", ".", "..", "a.b.c", payload} {
		f.Add(seed)
	}
	im := newFuzzImporter(f)
	f.Fuzz(func(t *testing.T, value string) {
		vals, found, err := importValue(im, value)
		if err != nil || !found {
			// net/http drops some values (a lone '"', say): no cookie.
			if vals != nil {
				t.Fatal("values returned with an error or without a cookie")
			}
			return
		}
		i := strings.LastIndexByte(value, '.')
		if sign(value[:i]) != value {
			t.Fatalf("accepted a value the key did not sign: %q", value)
		}
		body, stamp, _ := strings.Cut(value[:i], ".")
		if stamp == "" || strings.Contains(stamp, ".") {
			t.Fatalf("accepted a value without exactly one timestamp: %q", value)
		}
		doc, err := base64.StdEncoding.Strict().DecodeString(body)
		if err != nil || base64.StdEncoding.EncodeToString(doc) != body {
			t.Fatalf("accepted a non-canonical payload: %q", value)
		}
		var m map[string]any
		if err := json.Unmarshal(doc, &m); err != nil || m == nil {
			t.Fatalf("accepted a payload encoding/json does not read as an object: %q", doc)
		}
		if len(m) != len(vals) {
			t.Fatalf("%d values, encoding/json reads %d", len(vals), len(m))
		}
	})
}

// FuzzStarlettePayload signs any payload at any age, as the application
// would, and checks the importer against encoding/json: accepted payloads
// are JSON objects it reads the same, and an object it reads without
// trouble (ASCII, no repeated names, shallow) is never refused in time.
func FuzzStarlettePayload(f *testing.F) {
	for _, seed := range []string{`{"a": 1}`, `{}`, `{"a": {"b": [1, 2.5, null, true, "x"]}}`, `[1]`, `{"a": 1, "a": 2}`, `{"a": NaN}`, `{"n": 9007199254740993}`, "{\"a\": \"\xff\"}"} {
		f.Add([]byte(seed), int64(10))
	}
	f.Add([]byte(`{"a": 1}`), int64(maxAge+1))
	f.Add([]byte(`{"a": 1}`), int64(-1))
	im := newFuzzImporter(f)
	f.Fuzz(func(t *testing.T, doc []byte, age int64) {
		if age < -maxAge || age > 2*maxAge {
			return
		}
		value := sign(base64.StdEncoding.EncodeToString(doc) + "." + stampOf(now.Unix()-age))
		vals, _, err := importValue(im, value)
		inTime := age >= 0 && age <= maxAge
		var m map[string]any
		d := json.NewDecoder(bytes.NewReader(doc))
		d.UseNumber()
		plain := d.Decode(&m) == nil && m != nil && !d.More() && isPlain(doc) && plainValue(m, 1, new(int))
		switch {
		case err == nil && !inTime:
			t.Fatalf("accepted a cookie %d s old", age)
		case err == nil && json.Unmarshal(doc, &m) != nil:
			t.Fatalf("accepted %q, which encoding/json refuses", doc)
		case err == nil && len(vals) != len(m):
			t.Fatalf("%d values, encoding/json reads %d", len(vals), len(m))
		case err != nil && inTime && plain && len(value) <= 4096 && !hasRepeats(doc):
			t.Fatalf("refused %q (%v), a plain object in time", doc, err)
		}
	})
}

// isPlain reports whether doc is printable ASCII without escapes: JSON
// whose strings the strict reader and encoding/json read alike.
func isPlain(doc []byte) bool {
	for _, c := range doc {
		if c < 0x20 || c > 0x7e || c == '\\' {
			return false
		}
	}
	return true
}

// plainValue reports whether v, decoded with UseNumber, stays within the
// importer's limits (depth 31, about 1000 items) and has only numbers a
// float64 holds.
func plainValue(v any, depth int, items *int) bool {
	if depth > 31 {
		return false
	}
	switch v := v.(type) {
	case map[string]any:
		for _, e := range v {
			if *items++; *items > 1000 || !plainValue(e, depth+1, items) {
				return false
			}
		}
	case []any:
		for _, e := range v {
			if *items++; *items > 1000 || !plainValue(e, depth+1, items) {
				return false
			}
		}
	case json.Number:
		_, err := v.Float64()
		return err == nil
	}
	return true
}

// hasRepeats reports whether any object in doc repeats a name.
func hasRepeats(doc []byte) bool {
	var walk func(d *json.Decoder) bool
	walk = func(d *json.Decoder) bool {
		tok, err := d.Token()
		if err != nil {
			return false
		}
		switch tok {
		case json.Delim('{'):
			seen := map[string]bool{}
			for d.More() {
				k, _ := d.Token()
				key, _ := k.(string)
				if seen[key] {
					return true
				}
				seen[key] = true
				if walk(d) {
					return true
				}
			}
			d.Token()
		case json.Delim('['):
			for d.More() {
				if walk(d) {
					return true
				}
			}
			d.Token()
		}
		return false
	}
	return walk(json.NewDecoder(bytes.NewReader(doc)))
}

func newFuzzImporter(f *testing.F) *starlette.Importer {
	im, err := starlette.New(starlette.Options{
		SecretKey: secret,
		MaxAge:    maxAge * time.Second,
		Now:       func() time.Time { return now },
	})
	if err != nil {
		f.Fatal(err)
	}
	return im
}
