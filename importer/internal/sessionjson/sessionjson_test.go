package sessionjson_test

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"satchel.dev/importer/internal/sessionjson"
	"satchel.dev/internal/jsonx"
	"satchel.dev/keyring"
	"satchel.dev/token"
)

// TestLimitsLeaveRoomForClaims: the deepest and the largest session that
// Decode accepts still seal with every claim the middleware writes, and
// one level or a few items more are refused by Decode, not later by Seal.
func TestLimitsLeaveRoomForClaims(t *testing.T) {
	t.Parallel()
	key, err := keyring.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	depth := sessionjson.Limits.MaxDepth - 1 // levels below the session object
	deepest := `{"a":` + strings.Repeat("[", depth) + strings.Repeat("]", depth) + `}`
	// Members plus elements: one member holding an array of the rest.
	largest := `{"a":[` + strings.Repeat("0,", sessionjson.Limits.MaxItems-2) + `0]}`
	for name, doc := range map[string]string{"deepest": deepest, "largest": largest} {
		vals, err := sessionjson.Decode([]byte(doc))
		if err != nil {
			t.Fatalf("%s: Decode: %v", name, err)
		}
		now := time.Now()
		c := token.Claims{
			Expiry: now.Add(time.Hour), IssuedAt: now, NotBefore: now,
			ID: "AAAAAAAAAAAAAAAAAAAAAA", Subject: "user",
			Extra: map[string]json.RawMessage{"x1": json.RawMessage(`1`), "x2": json.RawMessage(`2`)},
			Data:  vals,
		}
		if _, err := token.Seal(key, &c, nil, &token.Options{MaxSize: 1 << 20}); err != nil {
			t.Errorf("%s: the middleware could not seal what Decode accepted: %v", name, err)
		}
	}
	tooDeep := `{"a":` + strings.Repeat("[", depth+1) + strings.Repeat("]", depth+1) + `}`
	if _, err := sessionjson.Decode([]byte(tooDeep)); !errors.Is(err, jsonx.ErrTooDeep) {
		t.Errorf("one level more: %v, want ErrTooDeep", err)
	}
	tooMany := `{"a":[` + strings.Repeat("0,", sessionjson.Limits.MaxItems-1) + `0]}`
	if _, err := sessionjson.Decode([]byte(tooMany)); !errors.Is(err, jsonx.ErrTooManyKeys) {
		t.Errorf("one item more: %v, want ErrTooManyKeys", err)
	}
}

func TestDecodeStrict(t *testing.T) {
	t.Parallel()
	vals, err := sessionjson.Decode([]byte(` {"n": 9007199254740993, "s": "\u00e9", "o": {"k": [true, null]}} `))
	if err != nil {
		t.Fatal(err)
	}
	for k, want := range map[string]string{"n": "9007199254740993", "s": `"\u00e9"`, "o": `{"k": [true, null]}`} {
		if got := string(vals[k].(json.RawMessage)); got != want {
			t.Errorf("%s = %s, want %s", k, got, want)
		}
	}
	for _, bad := range []string{``, `[]`, `"s"`, `{"a":1,"a":2}`, `{"a":{"b":1,"b":1}}`, `{"a":NaN}`, `{"a":1e400}`, "{\"a\":\"\xff\"}", `{"a":1} {}`, `{"a":1`} {
		if _, err := sessionjson.Decode([]byte(bad)); err == nil {
			t.Errorf("Decode(%q) accepted it", bad)
		}
	}
}
