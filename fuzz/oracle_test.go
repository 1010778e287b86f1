package fuzz

import (
	"bytes"
	"encoding/json"
	"errors"
	"regexp"
	"strings"
	"testing"
	"time"

	paseto "aidanwoods.dev/go-paseto"

	"satchel.dev/internal/benchfix"
	"satchel.dev/internal/jsonx"
	"satchel.dev/internal/v4ref"
	"satchel.dev/token"
)

// pasetoKeyA is keyA as a go-paseto key.
var pasetoKeyA = func() paseto.V4SymmetricKey {
	s := keyA.ExportSecret()
	k, err := paseto.V4SymmetricKeyFromBytes(s[:])
	if err != nil {
		panic("fuzz: go-paseto refused keyA: " + err.Error())
	}
	return k
}()

// pasetoSeal seals claims JSON with go-paseto (which re-encodes it through
// encoding/json) and the given footer, or returns "" when go-paseto cannot
// read the claims.
// rfc3339 is the shape of an RFC 3339 date-time, written from the RFC's
// grammar independently of token's parser.
var rfc3339 = regexp.MustCompile(`^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]+)?(Z|[+-]([01][0-9]|2[0-3]):[0-5][0-9])$`)

func pasetoSeal(claims, footer, implicit []byte) string {
	t, err := paseto.NewTokenFromClaimsJSON(claims, footer)
	if err != nil {
		return ""
	}
	return t.V4Encrypt(pasetoKeyA, implicit)
}

// plaintextOf authenticates and decrypts a token body (base64url) with
// the reference construction, or returns nil.
func plaintextOf(key *[32]byte, body string, footer, implicit []byte) []byte {
	raw, err := b64.DecodeString(body)
	if err != nil {
		return nil
	}
	pt, _ := v4ref.OpenRaw(key, raw, footer, implicit)
	return pt
}

// expectedByRules is what satchel's documented rules (token.Open's doc
// comment) say Open must return for a token that go-paseto
// authenticated under keyA: nil, or the sentinel it must fail with.
func expectedByRules(tainted string, footer, pt []byte, at time.Time) error {
	if len(tainted) > token.DefaultMaxSize {
		return token.ErrTooLarge
	}
	if !bytes.Equal(footer, footerFor(keyA)) || !canonical(tainted) || strings.Count(tainted, ".") != 3 {
		return token.ErrInvalid
	}
	src := string(pt)
	info := inspect(src)
	if jsonx.Valid(src, jsonx.DefaultLimits) != nil || !info.valid || info.dup {
		return token.ErrInvalid
	}
	var claims map[string]json.RawMessage
	if err := json.Unmarshal(pt, &claims); err != nil {
		return token.ErrInvalid
	}
	times := map[string]time.Time{}
	for _, name := range []string{"exp", "iat", "nbf"} {
		raw, ok := claims[name]
		if !ok {
			continue
		}
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return token.ErrInvalid
		}
		// RFC 3339's date-time, stricter than time.Parse (which takes a
		// one-digit hour or an offset of +00:60).
		if !rfc3339.MatchString(s) {
			return token.ErrInvalid
		}
		t, err := time.Parse(time.RFC3339, s)
		if err != nil {
			return token.ErrInvalid
		}
		times[name] = t
	}
	if raw, ok := claims["jti"]; ok {
		var s string
		if json.Unmarshal(raw, &s) != nil {
			return token.ErrInvalid
		}
	}
	if raw, ok := claims["data"]; ok {
		var m map[string]json.RawMessage
		if json.Unmarshal(raw, &m) != nil || bytes.Equal(bytes.TrimSpace(raw), []byte("null")) {
			return token.ErrInvalid
		}
	}
	exp, ok := times["exp"]
	switch {
	case !ok:
		return token.ErrInvalid
	case !at.Before(exp):
		return token.ErrExpired
	}
	for _, name := range []string{"nbf", "iat"} {
		if t, ok := times[name]; ok && at.Before(t) {
			return token.ErrNotYetValid
		}
	}
	return nil
}

// agree checks one token against both libraries under keyA and implicit:
//   - whatever satchel opens, go-paseto opens, with the same exp and the
//     same data values byte for byte;
//   - whatever go-paseto refuses, satchel refuses;
//   - when go-paseto opens a token, satchel opens it exactly when the
//     token and its claims meet satchel's rules (expectedByRules), and
//     otherwise fails with the sentinel those rules name.
func agree(t *testing.T, tainted string, implicit []byte) {
	t.Helper()
	ours, errOurs := token.Open(ringA, tainted, implicit, openOpts)
	theirs, errTheirs := paseto.NewParserWithoutExpiryCheck().ParseV4Local(pasetoKeyA, tainted, implicit)
	if errTheirs != nil {
		if errOurs == nil {
			t.Fatalf("satchel opened what go-paseto refuses (%v): %q", errTheirs, tainted)
		}
		return
	}
	rest := strings.TrimPrefix(tainted, "v4.local.")
	body, _, _ := strings.Cut(rest, ".")
	pt := plaintextOf(secret(keyA), body, theirs.Footer(), implicit)
	want := expectedByRules(tainted, theirs.Footer(), pt, now)
	if want == nil {
		if errOurs != nil {
			t.Fatalf("go-paseto opened a token satchel's rules accept, satchel: %v\nclaims %q", errOurs, pt)
		}
	} else if !errors.Is(errOurs, want) {
		t.Fatalf("satchel = %v, rules say %v\nclaims %q", errOurs, want, pt)
	}
	if errOurs != nil {
		return
	}
	exp, err := theirs.GetExpiration()
	if err != nil || !exp.Equal(ours.Expiry) {
		t.Fatalf("exp: go-paseto %v (%v), satchel %v", exp, err, ours.Expiry)
	}
	var data map[string]json.RawMessage
	if err := theirs.Get("data", &data); err != nil && len(ours.Data) > 0 {
		t.Fatalf("go-paseto cannot read data satchel read: %v", err)
	}
	if len(data) != len(ours.Data) {
		t.Fatalf("data: go-paseto %d values, satchel %d", len(data), len(ours.Data))
	}
	for k, v := range ours.Data {
		if !bytes.Equal(v.(json.RawMessage), data[k]) {
			t.Fatalf("data[%q]: satchel %s, go-paseto %s", k, v, data[k])
		}
	}
}

// oracleClaims are plaintexts the oracle targets start from.
func oracleClaims(tb testing.TB) [][]byte {
	exp := now.Add(time.Hour).Format(time.RFC3339)
	out := vectorPayloads(tb)
	for _, p := range benchfix.Payloads {
		out = append(out, []byte(`{"exp":"`+exp+`","data":`+string(p.JSON())+`}`))
	}
	return append(out,
		[]byte(`{"exp":"`+exp+`","data":{"a":1,"a":2}}`),
		[]byte(`{"exp":"`+exp+`","exp":"2000-01-01T00:00:00Z"}`),
		[]byte(`{"exp":"`+exp+`","nbf":"2040-01-01T00:00:00Z"}`),
		[]byte(`{"exp":"`+exp+`","iat":"2040-01-01T00:00:00+02:00","jti":7}`),
		[]byte(`{"exp":"`+exp+`","data":{"s":"`+"\xff"+`"}}`),
		[]byte(`{"exp":"`+exp+`","data":null}`),
		[]byte(`{"exp":"2030-01-02T03:04:05Z"}`),
		[]byte(`{"exp":"2030-01-02T03:04:05.000000001Z"}`),
		[]byte(`{"exp":"2030-01-02t03:04:06z"}`),
		[]byte(`[]`),
		[]byte(``),
	)
}

// FuzzOracleToken compares satchel's Open with go-paseto's ParseV4Local
// (without its expiry rule) on arbitrary token strings under keyA and an
// arbitrary implicit assertion; see agree for the properties. Seeds are
// tokens sealed by both libraries (satchel's Seal; go-paseto's V4Encrypt
// with satchel's footer and with the vectors' footers) and the vectors.
func FuzzOracleToken(f *testing.F) {
	for _, s := range openSeeds(f) {
		f.Add(s, []byte(nil))
	}
	for _, p := range benchfix.Payloads {
		f.Add(sealed(f, keyA, p.Values(), []byte("aud")), []byte("aud"))
	}
	for _, pt := range oracleClaims(f) {
		for _, footer := range [][]byte{footerFor(keyA), nil, []byte(`{"kid":"zVhMiPBP9fRf2snEcT7gFTioeA9COcNy9DfgL1W60haN"}`)} {
			if tok := pasetoSeal(pt, footer, []byte("aud")); tok != "" {
				f.Add(tok, []byte("aud"))
			}
		}
	}
	f.Fuzz(func(t *testing.T, tainted string, implicit []byte) {
		agree(t, tainted, implicit)
	})
}

// FuzzOracleClaims seals arbitrary plaintexts under keyA, with an
// independent implementation of v4.local (internal/v4ref) and, when
// encoding/json can read them, with go-paseto, and compares both
// libraries on the results (see agree). footerMode picks satchel's
// footer or a near miss, so that the footer rule is compared too.
func FuzzOracleClaims(f *testing.F) {
	for i, pt := range oracleClaims(f) {
		f.Add(pt, []byte(nil), uint8(0))
		f.Add(pt, []byte("cookie=session"), uint8(i))
	}
	f.Fuzz(func(t *testing.T, pt, implicit []byte, footerMode uint8) {
		footer := footerFor(keyA)
		switch footerMode % 8 {
		case 5:
			footer = nil
		case 6:
			footer = []byte(`{"kid":"` + keyA.ID() + `" }`)
		case 7:
			footer = footerFor(keyB)
		}
		agree(t, v4ref.Encrypt(secret(keyA), nonceFrom(pt), pt, footer, implicit), implicit)
		if tok := pasetoSeal(pt, footer, implicit); tok != "" {
			agree(t, tok, implicit)
		}
	})
}
