package token_test

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"satchel.dev/internal/jsonx"
	"satchel.dev/internal/v4ref"
	"satchel.dev/keyring"
	"satchel.dev/token"
)

var t0 = time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)

// at returns Options whose clock reads at, with the default leeway.
func at(at time.Time) *token.Options {
	return &token.Options{Now: func() time.Time { return at }}
}

// exactlyAt returns Options whose clock reads at, with no leeway.
func exactlyAt(at time.Time) *token.Options {
	return &token.Options{Leeway: -1, Now: func() time.Time { return at }}
}

func newRing(t testing.TB) (keyring.Key, *keyring.Ring) {
	t.Helper()
	k, err := keyring.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	r, err := keyring.FromKeys(k)
	if err != nil {
		t.Fatal(err)
	}
	return k, r
}

func validClaims() *token.Claims {
	return &token.Claims{
		Expiry:   t0.Add(time.Hour),
		IssuedAt: t0,
		ID:       "sess-1",
		Data:     map[string]any{"uid": 7, "name": "alice"},
	}
}

// sealPayload builds, with the reference construction, an authentic token
// under k with satchel's kid footer around any payload, including ones
// Seal would refuse to write.
func sealPayload(t testing.TB, k keyring.Key, payload, implicit []byte) string {
	t.Helper()
	var nonce [32]byte
	if _, err := rand.Read(nonce[:]); err != nil {
		t.Fatal(err)
	}
	secret := k.ExportSecret()
	return v4ref.Encrypt(&secret, &nonce, payload, []byte(`{"kid":"`+k.ID()+`"}`), implicit)
}

func mustSeal(t testing.TB, k keyring.Key, c *token.Claims, implicit string) string {
	t.Helper()
	tok, err := token.Seal(k, c, []byte(implicit), nil)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// decodeData turns the raw values Open returns into plain Go values.
func decodeData(t testing.TB, data map[string]any) map[string]any {
	t.Helper()
	out := make(map[string]any, len(data))
	for k, v := range data {
		raw, ok := v.(json.RawMessage)
		if !ok {
			t.Fatalf("Open returned %T for %q, want json.RawMessage", v, k)
		}
		dv, err := jsonx.Decode(string(raw), jsonx.DefaultLimits)
		if err != nil {
			t.Fatalf("value %q: %v", k, err)
		}
		out[k] = dv
	}
	return out
}

func TestSealOpenRoundTrip(t *testing.T) {
	t.Parallel()
	k, ring := newRing(t)
	in := &token.Claims{
		Expiry:    t0.Add(time.Hour),
		IssuedAt:  t0,
		NotBefore: t0.Add(-time.Minute),
		ID:        "abc\"def",
		Data: map[string]any{
			"s": "héllo \"world\"\n\u2028", "i": -42, "f": 1.5, "b": true, "nil": nil,
			"list": []any{"a", 1, false}, "strs": []string{"x", "y"},
			"obj": map[string]any{"z": 1, "a": []any{}}, "raw": json.RawMessage(` {"k": [1, 2]} `),
			"tags": map[string]string{"b": "2", "a": "1"},
		},
	}
	tok := mustSeal(t, k, in, "cookie=session")
	got, err := token.Open(ring, tok, []byte("cookie=session"), at(t0))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]any{
		"s": "héllo \"world\"\n\u2028", "i": int64(-42), "f": 1.5, "b": true, "nil": nil,
		"list": []any{"a", int64(1), false}, "strs": []any{"x", "y"},
		"obj": map[string]any{"z": int64(1), "a": []any{}}, "raw": map[string]any{"k": []any{int64(1), int64(2)}},
		"tags": map[string]any{"a": "1", "b": "2"},
	}
	if diff := cmp.Diff(want, decodeData(t, got.Data)); diff != "" {
		t.Errorf("data (-want +got):\n%s", diff)
	}
	if !got.Expiry.Equal(in.Expiry) || !got.IssuedAt.Equal(in.IssuedAt) || !got.NotBefore.Equal(in.NotBefore) || got.ID != in.ID {
		t.Errorf("registered claims changed: %+v", got)
	}
	if got.KeyID != k.ID() {
		t.Errorf("KeyID = %q, want %q", got.KeyID, k.ID())
	}
	// Raw values re-seal unchanged.
	again := mustSeal(t, k, &token.Claims{Expiry: got.Expiry, Data: got.Data}, "")
	got2, err := token.Open(ring, again, nil, at(t0))
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(decodeData(t, got.Data), decodeData(t, got2.Data)); diff != "" {
		t.Errorf("re-sealed raw data (-want +got):\n%s", diff)
	}
}

func TestFooterIsExactlyKid(t *testing.T) {
	t.Parallel()
	k, _ := newRing(t)
	tok := mustSeal(t, k, validClaims(), "")
	parts := strings.Split(tok, ".")
	if len(parts) != 4 || parts[0] != "v4" || parts[1] != "local" {
		t.Fatalf("token shape %q", parts[:2])
	}
	footer, err := base64.RawURLEncoding.DecodeString(parts[3])
	if err != nil {
		t.Fatal(err)
	}
	if want := `{"kid":"` + k.ID() + `"}`; string(footer) != want {
		t.Fatalf("footer %s, want %s", footer, want)
	}
}

func TestSealRefuses(t *testing.T) {
	t.Parallel()
	k, _ := newRing(t)
	if _, err := token.Seal(keyring.Key{}, validClaims(), nil, nil); err == nil {
		t.Error("sealed with a zero key")
	}
	if _, err := token.Seal(k, &token.Claims{Data: map[string]any{}}, nil, nil); err == nil {
		t.Error("sealed claims without an expiry")
	}
	if _, err := token.Seal(k, nil, nil, nil); err == nil {
		t.Error("sealed nil claims")
	}
	bad := validClaims()
	bad.Data["ch"] = make(chan int)
	if _, err := token.Seal(k, bad, nil, nil); err == nil {
		t.Error("sealed a channel")
	}
	bad = validClaims()
	bad.Data["raw"] = json.RawMessage(`1},"nbf":"2099-01-01T00:00:00Z","x":{"y":1`)
	if _, err := token.Seal(k, bad, nil, nil); err == nil {
		t.Error("sealed a raw value that injects claims")
	}
	bad = validClaims()
	bad.Data["raw"] = json.RawMessage(`{"a":1,"a":2}`)
	if _, err := token.Seal(k, bad, nil, nil); err == nil {
		t.Error("sealed a raw value with a duplicate name")
	}
}

// TestThreat11_SizeLimit: Seal refuses what would exceed the limit, and
// Open refuses an oversized input before decoding anything.
func TestThreat11_SizeLimit(t *testing.T) {
	k, ring := newRing(t)
	c := validClaims()
	c.Data["blob"] = strings.Repeat("x", 4000)
	if _, err := token.Seal(k, c, nil, nil); !errors.Is(err, token.ErrTooLarge) {
		t.Fatalf("Seal(4 KB) = %v, want ErrTooLarge", err)
	}
	tok, err := token.Seal(k, c, nil, &token.Options{MaxSize: 8000})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := token.Open(ring, tok, nil, at(t0)); !errors.Is(err, token.ErrTooLarge) {
		t.Fatalf("Open(oversized) = %v, want ErrTooLarge", err)
	}
	if _, err := token.Open(ring, tok, nil, &token.Options{MaxSize: 8000, Now: func() time.Time { return t0 }}); err != nil {
		t.Fatalf("Open with a larger limit: %v", err)
	}
	huge := "v4.local." + strings.Repeat("A", 1<<20)
	counted, stop := token.CountMACs(nil)
	allocs := testing.AllocsPerRun(50, func() {
		if _, err := token.Open(ring, huge, nil, counted); !errors.Is(err, token.ErrTooLarge) {
			t.Fatal(err)
		}
	})
	if allocs != 0 || stop() != 0 {
		t.Fatalf("oversized Open allocated %.0f times / tried a MAC", allocs)
	}
}

// TestThreat01_TamperedTokensAllFailAlike flips every bit of every byte of
// a sealed token (header, nonce, ciphertext, tag, footer) and every bit of
// the implicit assertion: each one is refused as ErrInvalid.
func TestThreat01_TamperedTokensAllFailAlike(t *testing.T) {
	t.Parallel()
	k, ring := newRing(t)
	const implicit = "cookie=__Host-session"
	tok := mustSeal(t, k, validClaims(), implicit)
	if _, err := token.Open(ring, tok, []byte(implicit), at(t0)); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < len(tok); i++ {
		for bit := 0; bit < 8; bit++ {
			b := []byte(tok)
			b[i] ^= 1 << bit
			_, err := token.Open(ring, string(b), []byte(implicit), at(t0))
			if !errors.Is(err, token.ErrInvalid) {
				t.Fatalf("flip byte %d bit %d: Open = %v, want ErrInvalid", i, bit, err)
			}
		}
	}
	for i := 0; i < len(implicit); i++ {
		for bit := 0; bit < 8; bit++ {
			b := []byte(implicit)
			b[i] ^= 1 << bit
			if _, err := token.Open(ring, tok, b, at(t0)); !errors.Is(err, token.ErrInvalid) || errors.Is(err, token.ErrUnknownKey) {
				t.Fatalf("implicit flip byte %d bit %d: Open = %v, want ErrInvalid", i, bit, err)
			}
		}
	}
	// Decoded-level flips: every bit of nonce, ciphertext and tag, re-encoded
	// canonically, so each reaches the MAC check.
	body, footer, _ := strings.Cut(strings.TrimPrefix(tok, "v4.local."), ".")
	raw, _ := base64.RawURLEncoding.DecodeString(body)
	for i := range raw {
		for bit := 0; bit < 8; bit++ {
			r := bytes.Clone(raw)
			r[i] ^= 1 << bit
			bad := "v4.local." + base64.RawURLEncoding.EncodeToString(r) + "." + footer
			counted, stop := token.CountMACs(at(t0))
			_, err := token.Open(ring, bad, []byte(implicit), counted)
			macs := stop()
			if !errors.Is(err, token.ErrInvalid) || errors.Is(err, token.ErrUnknownKey) || macs != 1 {
				t.Fatalf("raw flip %d/%d: Open = %v after %d MACs, want ErrInvalid after 1", i, bit, err, macs)
			}
		}
	}
}

// TestThreat02_ImplicitAssertionBinds: a token sealed for one cookie or
// audience does not open as another.
func TestThreat02_ImplicitAssertionBinds(t *testing.T) {
	t.Parallel()
	k, ring := newRing(t)
	tok := mustSeal(t, k, validClaims(), "cookie=A;aud=shop")
	for _, other := range []string{"cookie=B;aud=shop", "cookie=A;aud=admin", "", "cookie=A;aud=shop "} {
		if _, err := token.Open(ring, tok, []byte(other), at(t0)); !errors.Is(err, token.ErrInvalid) {
			t.Errorf("opened under %q: %v", other, err)
		}
	}
}

// TestThreat03_VersionAndPurposeConfusion: other versions and purposes are
// refused before any key lookup or MAC.
func TestThreat03_VersionAndPurposeConfusion(t *testing.T) {
	t.Parallel()
	k, ring := newRing(t)
	tok := mustSeal(t, k, validClaims(), "")
	rest := strings.TrimPrefix(tok, "v4.local.")
	body, _, _ := strings.Cut(rest, ".")
	cases := map[string]string{
		"v4.public":      "v4.public." + rest,
		"v3.local":       "v3.local." + rest,
		"v2.local":       "v2.local." + rest,
		"uppercase":      "V4.LOCAL." + rest,
		"no-header":      rest,
		"missing-footer": "v4.local." + body,
		"empty-footer":   "v4.local." + body + ".",
		"missing-body":   "v4.local.." + strings.SplitN(rest, ".", 2)[1],
		"only-header":    "v4.local.",
		"empty":          "",
		"header-no-dot":  "v4.local",
		"extra-segment":  tok + ".e30",
		"leading-space":  " " + tok,
	}
	for name, in := range cases {
		t.Run(name, func(t *testing.T) {
			counted, stop := token.CountMACs(at(t0))
			_, err := token.Open(ring, in, nil, counted)
			if macs := stop(); !errors.Is(err, token.ErrInvalid) || errors.Is(err, token.ErrUnknownKey) || macs != 0 {
				t.Fatalf("Open = %v after %d MACs, want ErrInvalid before any key lookup", err, macs)
			}
		})
	}
}

// footerToken replaces a sealed token's footer with the given JSON.
func footerToken(tok, footerJSON string) string {
	i := strings.LastIndexByte(tok, '.')
	return tok[:i+1] + base64.RawURLEncoding.EncodeToString([]byte(footerJSON))
}

// TestThreat04_FooterNotTrusted: malformed or hostile footers fail closed
// with zero MAC attempts and no trial of other keys.
func TestThreat04_FooterNotTrusted(t *testing.T) {
	t.Parallel()
	k, ring := newRing(t)
	other, _ := keyring.GenerateKey()
	tok := mustSeal(t, k, validClaims(), "")
	id := k.ID()
	cases := map[string]string{
		"path-traversal": `{"kid":"../../x"}`,
		"10KB":           `{"kid":"` + strings.Repeat("A", 10<<10) + `"}`,
		"kid-object":     `{"kid":{}}`,
		"two-kids":       `{"kid":"` + id + `","kid":"` + id + `"}`,
		"space":          `{"kid": "` + id + `"}`,
		"extra-field":    `{"kid":"` + id + `","x":1}`,
		"not-json":       `kid=` + id,
		"k3-lid":         `{"kid":"k3.lid.` + id[7:] + `"}`,
		"kid-bad-char":   `{"kid":"` + id[:len(id)-1] + `!"}`,
		"kid-escaped":    `{"kid":"k4.lid.` + id[7:len(id)-1] + `\u0041"}`,
		"empty-object":   `{}`,
		"kid-null":       `{"kid":null}`,
		"trailing-space": `{"kid":"` + id + `"} `,
	}
	for name, f := range cases {
		t.Run(name, func(t *testing.T) {
			counted, stop := token.CountMACs(&token.Options{MaxSize: 1 << 20})
			_, err := token.Open(ring, footerToken(tok, f), nil, counted)
			if macs := stop(); !errors.Is(err, token.ErrInvalid) || errors.Is(err, token.ErrUnknownKey) || macs != 0 {
				t.Fatalf("Open = %v after %d MACs, want ErrInvalid with no MAC", err, macs)
			}
		})
	}
	t.Run("unknown-kid", func(t *testing.T) {
		counted, stop := token.CountMACs(nil)
		_, err := token.Open(ring, footerToken(tok, `{"kid":"`+other.ID()+`"}`), nil, counted)
		if macs := stop(); !errors.Is(err, token.ErrUnknownKey) || macs != 0 {
			t.Fatalf("Open = %v after %d MACs, want ErrUnknownKey with no MAC", err, macs)
		}
	})
	t.Run("token-of-a-key-not-in-ring", func(t *testing.T) {
		counted, stop := token.CountMACs(nil)
		_, err := token.Open(ring, mustSeal(t, other, validClaims(), ""), nil, counted)
		if macs := stop(); !errors.Is(err, token.ErrUnknownKey) || macs != 0 {
			t.Fatalf("Open = %v after %d MACs, want ErrUnknownKey, no trial decryption", err, macs)
		}
	})
}

// TestThreat05_Base64Malleability: only the canonical encoding opens, and
// every accepted token re-encodes to exactly its input.
func TestThreat05_Base64Malleability(t *testing.T) {
	t.Parallel()
	k, ring := newRing(t)
	tok := mustSeal(t, k, validClaims(), "")
	body, footer, _ := strings.Cut(strings.TrimPrefix(tok, "v4.local."), ".")
	raw, _ := base64.RawURLEncoding.DecodeString(body)
	std := base64.RawStdEncoding.EncodeToString(raw)
	cases := map[string]string{
		"padding":        "v4.local." + base64.URLEncoding.EncodeToString(raw) + "." + footer,
		"footer-padding": tok + "==",
		"trailing-dot":   tok + ".",
		"crlf-in-body":   "v4.local." + body[:20] + "\r\n" + body[20:] + "." + footer,
		"lf-in-footer":   "v4.local." + body + "." + footer[:10] + "\n" + footer[10:],
		"space-in-body":  "v4.local." + body[:20] + " " + body[20:] + "." + footer,
		"trailing-ws":    tok + " ",
		"tab":            "v4.local." + body + "\t." + footer,
	}
	if std != body {
		cases["std-alphabet"] = "v4.local." + std + "." + footer
	}
	// A non-canonical last character: same decoded bytes, non-zero
	// trailing bits.
	if len(raw)%3 != 0 {
		last := body[len(body)-1]
		const alpha = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
		cases["noncanonical-tail"] = "v4.local." + body[:len(body)-1] + string(alpha[strings.IndexByte(alpha, last)^1]) + "." + footer
	}
	for name, in := range cases {
		t.Run(name, func(t *testing.T) {
			if _, err := token.Open(ring, in, nil, at(t0)); !errors.Is(err, token.ErrInvalid) {
				t.Fatalf("Open = %v, want ErrInvalid", err)
			}
		})
	}
	// Canonical: the accepted token is its own re-encoding.
	if _, err := token.Open(ring, tok, nil, at(t0)); err != nil {
		t.Fatal(err)
	}
	fb, _ := base64.RawURLEncoding.DecodeString(footer)
	if re := "v4.local." + base64.RawURLEncoding.EncodeToString(raw) + "." + base64.RawURLEncoding.EncodeToString(fb); re != tok {
		t.Fatal("accepted token is not canonical")
	}
}

// TestThreat07_ExpiryEnforced: no exp is refused, and a token stops opening
// the moment it expires.
func TestThreat07_ExpiryEnforced(t *testing.T) {
	t.Parallel()
	k, ring := newRing(t)
	noExp := sealPayload(t, k, []byte(`{"data":{"uid":1},"iat":"2026-11-27T12:00:00Z"}`), nil)
	if _, err := token.Open(ring, noExp, nil, at(t0)); !errors.Is(err, token.ErrInvalid) {
		t.Fatalf("no exp: %v, want ErrInvalid", err)
	}
	for _, exp := range []string{`null`, `1767225600`, `"tomorrow"`, `"2026-11-27 13:00:00Z"`, `""`,
		`"2070-01-01T0:00:00Z"`, `"2070-01-01T00:00:00+00:60"`, `"2070-01-01T00:00:00+24:00"`, `"2070-01-01T00:00:00.Z"`,
		`"2070-01-01T00:00:00z"`, `"2070-01-01t00:00:00Z"`, `"2070-01-01T00:00:00"`, `"2070-01-01T00:00:00+0100"`} {
		tok := sealPayload(t, k, []byte(`{"exp":`+exp+`,"data":{}}`), nil)
		if _, err := token.Open(ring, tok, nil, at(t0)); !errors.Is(err, token.ErrInvalid) {
			t.Errorf("exp %s: %v, want ErrInvalid", exp, err)
		}
	}
	for _, exp := range []string{`"2070-01-01T00:00:00Z"`, `"2070-01-01T00:00:00.123456789Z"`, `"2070-01-01T01:00:00+01:00"`, `"2070-01-01T00:00:00-23:59"`} {
		tok := sealPayload(t, k, []byte(`{"exp":`+exp+`,"data":{}}`), nil)
		if _, err := token.Open(ring, tok, nil, at(t0)); err != nil {
			t.Errorf("exp %s: %v, want accepted", exp, err)
		}
	}
	c := validClaims()
	tok := mustSeal(t, k, c, "")
	if _, err := token.Open(ring, tok, nil, exactlyAt(c.Expiry.Add(-time.Nanosecond))); err != nil {
		t.Fatalf("1ns before exp: %v", err)
	}
	for _, now := range []time.Time{c.Expiry, c.Expiry.Add(time.Nanosecond), c.Expiry.Add(24 * time.Hour)} {
		if _, err := token.Open(ring, tok, nil, exactlyAt(now)); !errors.Is(err, token.ErrExpired) {
			t.Fatalf("at %v: %v, want ErrExpired", now.Sub(c.Expiry), err)
		}
	}
}

// TestThreat08_ClockSkew: iat and nbf inside the leeway are accepted,
// beyond it refused; exp + leeway + 1ms is refused.
func TestThreat08_ClockSkew(t *testing.T) {
	t.Parallel()
	k, ring := newRing(t)
	const leeway = 30 * time.Second
	opts := func(now time.Time) *token.Options {
		return &token.Options{Leeway: leeway, Now: func() time.Time { return now }}
	}
	future := &token.Claims{Expiry: t0.Add(time.Hour), IssuedAt: t0.Add(leeway), NotBefore: t0.Add(leeway)}
	tok := mustSeal(t, k, future, "")
	if _, err := token.Open(ring, tok, nil, opts(t0)); err != nil {
		t.Fatalf("iat/nbf exactly at the leeway: %v", err)
	}
	if _, err := token.Open(ring, tok, nil, opts(t0.Add(-time.Millisecond))); !errors.Is(err, token.ErrNotYetValid) {
		t.Fatalf("iat/nbf 1ms beyond the leeway: %v, want ErrNotYetValid", err)
	}
	// Seal truncates iat to the second, so "beyond" is a whole second here.
	iatOnly := mustSeal(t, k, &token.Claims{Expiry: t0.Add(time.Hour), IssuedAt: t0.Add(leeway + time.Second)}, "")
	if _, err := token.Open(ring, iatOnly, nil, opts(t0)); !errors.Is(err, token.ErrNotYetValid) {
		t.Fatalf("iat beyond the leeway: %v, want ErrNotYetValid", err)
	}
	nbfOnly := mustSeal(t, k, &token.Claims{Expiry: t0.Add(time.Hour), NotBefore: t0.Add(leeway + time.Millisecond)}, "")
	if _, err := token.Open(ring, nbfOnly, nil, opts(t0)); !errors.Is(err, token.ErrNotYetValid) {
		t.Fatalf("nbf beyond the leeway: %v, want ErrNotYetValid", err)
	}
	exp := mustSeal(t, k, &token.Claims{Expiry: t0}, "")
	if _, err := token.Open(ring, exp, nil, opts(t0.Add(leeway-time.Millisecond))); err != nil {
		t.Fatalf("exp inside the leeway: %v", err)
	}
	if _, err := token.Open(ring, exp, nil, opts(t0.Add(leeway+time.Millisecond))); !errors.Is(err, token.ErrExpired) {
		t.Fatalf("exp + leeway + 1ms: %v, want ErrExpired", err)
	}
}

// TestLeewayConvention: zero means DefaultLeeway, negative means none,
// MaxLeeway is the most Open and Seal accept.
func TestLeewayConvention(t *testing.T) {
	t.Parallel()
	k, ring := newRing(t)
	c := &token.Claims{Expiry: t0, NotBefore: t0.Add(-time.Hour)}
	tok := mustSeal(t, k, c, "")
	open := func(leeway time.Duration, now time.Time) error {
		_, err := token.Open(ring, tok, nil, &token.Options{Leeway: leeway, Now: func() time.Time { return now }})
		return err
	}
	for _, tc := range []struct {
		leeway time.Duration
		now    time.Time
		want   error
	}{
		{0, t0.Add(token.DefaultLeeway - time.Nanosecond), nil},
		{0, t0.Add(token.DefaultLeeway), token.ErrExpired},
		{-1, t0.Add(-time.Nanosecond), nil},
		{-1, t0, token.ErrExpired},
		{-time.Hour, t0, token.ErrExpired},
		{token.MaxLeeway, t0.Add(token.MaxLeeway - time.Nanosecond), nil},
		{token.MaxLeeway, t0.Add(token.MaxLeeway), token.ErrExpired},
	} {
		if err := open(tc.leeway, tc.now); !errors.Is(err, tc.want) {
			t.Errorf("leeway %v at exp%+v: %v, want %v", tc.leeway, tc.now.Sub(t0), err, tc.want)
		}
	}
	if err := open(token.MaxLeeway+1, t0.Add(-time.Hour)); err == nil || errors.Is(err, token.ErrInvalid) {
		t.Errorf("leeway above MaxLeeway: Open = %v, want a configuration error", err)
	}
	if _, err := token.Seal(k, c, nil, &token.Options{Leeway: token.MaxLeeway + 1}); err == nil {
		t.Error("leeway above MaxLeeway: Seal accepted it")
	}
	if token.DefaultLeeway != time.Minute || token.MaxLeeway != 5*time.Minute {
		t.Errorf("DefaultLeeway %v, MaxLeeway %v: the documented values are 1m and 5m", token.DefaultLeeway, token.MaxLeeway)
	}
}

// TestThreat12_DuplicateKeysRefused: an authentic token whose payload
// repeats a name, at any level, is refused.
func TestThreat12_DuplicateKeysRefused(t *testing.T) {
	t.Parallel()
	k, ring := newRing(t)
	payloads := map[string]string{
		"top-level-exp":   `{"exp":"2026-11-27T13:00:00Z","exp":"2099-01-01T00:00:00Z","data":{}}`,
		"data-key":        `{"exp":"2026-11-27T13:00:00Z","data":{"role":"user","role":"admin"}}`,
		"escaped-dup":     `{"exp":"2026-11-27T13:00:00Z","data":{"role":"user","r\u006fle":"admin"}}`,
		"nested":          `{"exp":"2026-11-27T13:00:00Z","data":{"u":{"a":1,"b":2,"a":3}}}`,
		"two-data":        `{"exp":"2026-11-27T13:00:00Z","data":{},"data":{"admin":true}}`,
		"in-array-object": `{"exp":"2026-11-27T13:00:00Z","data":{"l":[{"x":1,"x":1}]}}`,
	}
	for name, p := range payloads {
		t.Run(name, func(t *testing.T) {
			tok := sealPayload(t, k, []byte(p), nil)
			if _, err := token.Open(ring, tok, nil, at(t0)); !errors.Is(err, token.ErrInvalid) {
				t.Fatalf("Open = %v, want ErrInvalid", err)
			}
		})
	}
	ok := sealPayload(t, k, []byte(`{"exp":"2026-11-27T13:00:00Z","data":{"role":"user"}}`), nil)
	if _, err := token.Open(ring, ok, nil, at(t0)); err != nil {
		t.Fatalf("the same payload without duplicates: %v", err)
	}
}

// TestThreat13_NumbersAndNesting: int64 precision survives; nesting and
// member counts past the limits are ErrInvalid, never a panic.
func TestThreat13_NumbersAndNesting(t *testing.T) {
	t.Parallel()
	k, ring := newRing(t)
	const big = int64(9007199254740993) // 2^53 + 1: not a float64
	c := validClaims()
	c.Data["big"] = big
	c.Data["neg"] = int64(-9223372036854775808)
	c.Data["rawbig"] = json.RawMessage("9007199254740993")
	got, err := token.Open(ring, mustSeal(t, k, c, ""), nil, at(t0))
	if err != nil {
		t.Fatal(err)
	}
	d := decodeData(t, got.Data)
	if d["big"] != big || d["rawbig"] != big || d["neg"] != int64(-9223372036854775808) {
		t.Fatalf("numbers changed: big=%v rawbig=%v neg=%v", d["big"], d["rawbig"], d["neg"])
	}
	if string(got.Data["big"].(json.RawMessage)) != "9007199254740993" {
		t.Fatalf("raw big = %s", got.Data["big"])
	}

	deep := strings.Repeat("[", 40) + strings.Repeat("]", 40)
	wide := "[" + strings.Repeat("0,", 1100) + "0]"
	veryDeep := strings.Repeat("[", 100000) + strings.Repeat("]", 100000)
	// 1e400 is valid JSON but no float64: a handler could never read it.
	for name, v := range map[string]string{"depth-40": deep, "items-1100": wide, "depth-100000": veryDeep, "beyond-float64": "1e400"} {
		t.Run(name, func(t *testing.T) {
			tok := sealPayload(t, k, []byte(`{"exp":"2026-11-27T13:00:00Z","data":{"v":`+v+`}}`), nil)
			if _, err := token.Open(ring, tok, nil, &token.Options{MaxSize: 1 << 20, Now: func() time.Time { return t0 }}); !errors.Is(err, token.ErrInvalid) {
				t.Fatalf("Open = %v, want ErrInvalid", err)
			}
			c := validClaims()
			c.Data["v"] = json.RawMessage(v)
			if _, err := token.Seal(k, c, nil, &token.Options{MaxSize: 1 << 20}); err == nil {
				t.Fatal("Seal produced a token Open would refuse")
			}
		})
	}
}

type failingReader struct{}

func (failingReader) Read([]byte) (int, error) { return 0, errors.New("entropy exhausted") }

// TestThreat16_Nonces: 10^4 seals use 10^4 distinct nonces, and a failing
// random source gives an error, never a token.
func TestThreat16_Nonces(t *testing.T) {
	t.Parallel()
	k, _ := newRing(t)
	n := 10000
	if testing.Short() {
		n = 1000
	}
	seen := make(map[string]bool, n)
	c := validClaims()
	for range n {
		tok := mustSeal(t, k, c, "")
		body, _, _ := strings.Cut(strings.TrimPrefix(tok, "v4.local."), ".")
		raw, _ := base64.RawURLEncoding.DecodeString(body)
		nonce := string(raw[:32])
		if seen[nonce] {
			t.Fatal("nonce repeated")
		}
		seen[nonce] = true
	}
	for _, r := range []io.Reader{failingReader{}, strings.NewReader("only 16 bytes..")} {
		tok, err := token.Seal(k, c, nil, token.WithNonces(nil, r))
		if err == nil || tok != "" {
			t.Fatalf("Seal with a failing random source = %q, %v", tok, err)
		}
	}
}

// TestErrorsCarryNoSecrets runs every failure path and checks no error
// text contains the token, a claim value or key material.
func TestErrorsCarryNoSecrets(t *testing.T) {
	t.Parallel()
	k, ring := newRing(t)
	c := validClaims()
	c.Data["secret"] = "TOPSECRET-VALUE"
	tok := mustSeal(t, k, c, "")
	inputs := []string{tok, tok[:len(tok)-3], "v4.local." + tok[9:60], strings.Replace(tok, "v4.local.", "v4.public.", 1)}
	for _, now := range []time.Time{t0, t0.Add(2 * time.Hour), t0.Add(-time.Hour)} {
		for _, in := range inputs {
			_, err := token.Open(ring, in, []byte("x"), at(now))
			if err == nil {
				continue
			}
			msg := err.Error()
			for _, bad := range []string{tok[9:40], "TOPSECRET", k.ExportPASERK()[9:], "alice"} {
				if strings.Contains(msg, bad) {
					t.Fatalf("error %q leaks %q", msg, bad)
				}
			}
		}
	}
	c.Data["ch"] = func() {}
	if _, err := token.Seal(k, c, nil, nil); err == nil || strings.Contains(err.Error(), "TOPSECRET") {
		t.Fatalf("Seal error %v", err)
	}
}

func TestOpenNeverReturnsPartialClaims(t *testing.T) {
	t.Parallel()
	k, ring := newRing(t)
	tok := mustSeal(t, k, validClaims(), "")
	for _, now := range []time.Time{t0.Add(2 * time.Hour), t0.Add(-time.Hour)} {
		c, err := token.Open(ring, tok, nil, at(now))
		if err == nil || c != nil {
			t.Fatalf("Open = %v, %v: want nil claims with the error", c, err)
		}
	}
}

func TestRotationLookupByID(t *testing.T) {
	t.Parallel()
	k1, _ := keyring.GenerateKey()
	k2, _ := keyring.GenerateKey()
	old := mustSeal(t, k1, validClaims(), "")
	ring, err := keyring.FromKeys(k2, k1)
	if err != nil {
		t.Fatal(err)
	}
	c, err := token.Open(ring, old, nil, at(t0))
	if err != nil || c.KeyID != k1.ID() {
		t.Fatalf("old key's token: %v, kid %v", err, c)
	}
	onlyNew, _ := keyring.FromKeys(k2)
	if _, err := token.Open(onlyNew, old, nil, at(t0)); !errors.Is(err, token.ErrUnknownKey) {
		t.Fatalf("after deleting k1: %v, want ErrUnknownKey", err)
	}
}

// TestSealChecksLimitsAcrossValues: the item budget covers the whole
// document, not each value alone, and keys that would collide once escaped
// are refused, so Seal never writes what Open refuses.
func TestSealChecksLimitsAcrossValues(t *testing.T) {
	t.Parallel()
	k, ring := newRing(t)
	half := json.RawMessage("[" + strings.Repeat("0,", 599) + "0]")
	c := validClaims()
	c.Data = map[string]any{"a": half, "b": half}
	big := &token.Options{MaxSize: 1 << 20, Now: func() time.Time { return t0 }}
	if _, err := token.Seal(k, c, nil, big); err == nil {
		t.Fatal("Seal accepted 1200 items in two values")
	}
	c.Data = map[string]any{"a": half}
	tok, err := token.Seal(k, c, nil, big)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := token.Open(ring, tok, nil, big); err != nil {
		t.Fatalf("600 items sealed but did not open: %v", err)
	}
	c.Data = map[string]any{"a\xff": 1, "a\xfe": 2}
	if _, err := token.Seal(k, c, nil, nil); err == nil {
		t.Fatal("Seal accepted keys that are not valid UTF-8")
	}
}

// TestOpenedValuesAreIsolated: writing into or appending to a value that
// Open returned changes neither the keys nor the other values (they share
// one decrypted buffer).
func TestOpenedValuesAreIsolated(t *testing.T) {
	t.Parallel()
	k, ring := newRing(t)
	c := validClaims()
	c.Data = map[string]any{"a": "first", "b": "second", "c": []any{1, 2}}
	got, err := token.Open(ring, mustSeal(t, k, c, ""), nil, at(t0))
	if err != nil {
		t.Fatal(err)
	}
	for key, v := range got.Data {
		raw := v.(json.RawMessage)
		for i := range raw {
			raw[i] = 'X'
		}
		got.Data[key] = append(raw, `,"zz":1`...)
	}
	keys := make([]string, 0, 3)
	for key := range got.Data {
		keys = append(keys, key)
	}
	slices.Sort(keys)
	if diff := cmp.Diff([]string{"a", "b", "c"}, keys); diff != "" || got.ID != "sess-1" {
		t.Fatalf("keys or jti changed after writing into values (-want +got):\n%s (jti %q)", diff, got.ID)
	}
}

// TestSealRefusesUnreadableTimes: years RFC 3339 cannot write are refused
// by Seal instead of producing a token Open refuses; a nil ring is an
// unknown key, not a panic.
func TestSealRefusesUnreadableTimes(t *testing.T) {
	t.Parallel()
	k, ring := newRing(t)
	for _, c := range []token.Claims{
		{Expiry: time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)},
		{Expiry: t0.Add(time.Hour), IssuedAt: time.Date(-1, 1, 1, 0, 0, 0, 0, time.UTC)},
		{Expiry: t0.Add(time.Hour), NotBefore: time.Date(12026, 1, 1, 0, 0, 0, 0, time.UTC)},
	} {
		if tok, err := token.Seal(k, &c, nil, nil); err == nil {
			_, openErr := token.Open(ring, tok, nil, at(t0))
			t.Errorf("Seal(%v) gave a token (Open: %v)", c.Expiry, openErr)
		}
	}
	ok := &token.Claims{Expiry: time.Date(9999, 12, 31, 23, 59, 59, 0, time.UTC)}
	tok := mustSeal(t, k, ok, "")
	if _, err := token.Open(ring, tok, nil, at(t0)); err != nil {
		t.Fatalf("year 9999: %v", err)
	}
	if _, err := token.Open(nil, tok, nil, at(t0)); !errors.Is(err, token.ErrUnknownKey) {
		t.Fatalf("Open(nil ring) = %v, want ErrUnknownKey", err)
	}
}

// TestSealRefusesCycles: a session value that contains itself is an
// error, not a stack overflow that kills the process.
func TestSealRefusesCycles(t *testing.T) {
	t.Parallel()
	k, _ := newRing(t)
	self := map[string]any{}
	self["self"] = self
	c := validClaims()
	c.Data = map[string]any{"m": self}
	if _, err := token.Seal(k, c, nil, nil); err == nil {
		t.Fatal("Seal accepted a cyclic value")
	}
}

// sealedPayload seals c and returns the claims JSON, decrypted by the
// reference construction.
func sealedPayload(t *testing.T, k keyring.Key, c *token.Claims) string {
	t.Helper()
	tok := mustSeal(t, k, c, "")
	secret := k.ExportSecret()
	pt, footer, ok := v4ref.Decrypt(&secret, tok, nil)
	if !ok || string(footer) != `{"kid":"`+k.ID()+`"}` {
		t.Fatalf("the reference construction did not open a sealed token (footer %s)", footer)
	}
	return string(pt)
}

// TestSealWritesWholeSeconds: times are written as RFC 3339 without a
// fraction (paseto-ts 2.0.7 refuses nine fractional digits), rounded in
// the direction that never extends validity: exp and iat down, nbf up.
func TestSealWritesWholeSeconds(t *testing.T) {
	t.Parallel()
	k, ring := newRing(t)
	frac := 987654321 * time.Nanosecond
	c := &token.Claims{
		Expiry:    t0.Add(time.Hour + frac),
		IssuedAt:  t0.Add(frac),
		NotBefore: t0.Add(frac),
		Data:      map[string]any{},
	}
	pt := sealedPayload(t, k, c)
	want := `{"exp":"2026-11-27T13:00:00Z","iat":"2026-11-27T12:00:00Z","nbf":"2026-11-27T12:00:01Z","data":{}}`
	if pt != want {
		t.Fatalf("payload\n %s\nwant\n %s", pt, want)
	}
	// Offsets are written in UTC; a whole-second nbf is not moved.
	east := time.FixedZone("east", 5*3600+1800)
	c = &token.Claims{Expiry: t0.Add(time.Hour).In(east), NotBefore: t0.In(east)}
	want = `{"exp":"2026-11-27T13:00:00Z","nbf":"2026-11-27T12:00:00Z","data":{}}`
	if pt := sealedPayload(t, k, c); pt != want {
		t.Fatalf("payload\n %s\nwant\n %s", pt, want)
	}
	// Open still accepts fractions from other writers.
	tok := sealPayload(t, k, []byte(`{"exp":"2026-11-27T13:00:00.123456789Z","nbf":"2026-11-27T11:00:00.5+00:00"}`), nil)
	got, err := token.Open(ring, tok, nil, at(t0))
	if err != nil {
		t.Fatal(err)
	}
	if want := t0.Add(time.Hour + 123456789*time.Nanosecond); !got.Expiry.Equal(want) {
		t.Fatalf("exp %v, want %v", got.Expiry, want)
	}
}

// TestSubjectAndExtra: sub and the extra claims round-trip; extras are
// written in sorted order after the registered claims and before data;
// reserved or non-UTF-8 names and invalid values are refused by Seal; Open
// puts unreserved unknown claims in Extra and ignores reserved ones.
func TestSubjectAndExtra(t *testing.T) {
	t.Parallel()
	k, ring := newRing(t)
	c := &token.Claims{
		Expiry:  t0.Add(time.Hour),
		ID:      "s1",
		Subject: "user-42",
		Extra:   map[string]json.RawMessage{"z": json.RawMessage(`true`), "life": json.RawMessage(` 3600 `), "m": json.RawMessage(`{"a":[1]}`)},
		Data:    map[string]any{"x": 1},
	}
	want := `{"exp":"2026-11-27T13:00:00Z","jti":"s1","sub":"user-42","life": 3600 ,"m":{"a":[1]},"z":true,"data":{"x":1}}`
	if pt := sealedPayload(t, k, c); pt != want {
		t.Fatalf("payload\n %s\nwant\n %s", pt, want)
	}
	got, err := token.Open(ring, mustSeal(t, k, c, ""), nil, at(t0))
	if err != nil {
		t.Fatal(err)
	}
	if got.Subject != "user-42" {
		t.Errorf("Subject = %q", got.Subject)
	}
	wantExtra := map[string]json.RawMessage{"z": json.RawMessage(`true`), "life": json.RawMessage(`3600`), "m": json.RawMessage(`{"a":[1]}`)}
	if diff := cmp.Diff(wantExtra, got.Extra); diff != "" {
		t.Errorf("Extra (-want +got):\n%s", diff)
	}

	// No extra claims: Extra stays nil, and no "sub" is written.
	plain := &token.Claims{Expiry: t0.Add(time.Hour)}
	if pt := sealedPayload(t, k, plain); strings.Contains(pt, "sub") {
		t.Errorf("empty Subject written: %s", pt)
	}
	got, err = token.Open(ring, mustSeal(t, k, plain, ""), nil, at(t0))
	if err != nil || got.Extra != nil || got.Subject != "" {
		t.Fatalf("plain token: %v, Extra %v, Subject %q", err, got.Extra, got.Subject)
	}

	for _, name := range []string{"exp", "iat", "nbf", "jti", "sub", "data", "iss", "aud", "kid", "wpk"} {
		bad := &token.Claims{Expiry: t0.Add(time.Hour), Extra: map[string]json.RawMessage{name: json.RawMessage(`1`)}}
		if _, err := token.Seal(k, bad, nil, nil); err == nil {
			t.Errorf("Seal accepted reserved extra claim %q", name)
		}
	}
	for name, v := range map[string]string{
		"ok\xff": `1`, "dup": `{"a":1,"a":2}`, "empty": ``, "nan": `NaN`, "two": `1 2`,
		"utf8": "\"\xff\"", "deep": strings.Repeat("[", 40) + strings.Repeat("]", 40),
	} {
		bad := &token.Claims{Expiry: t0.Add(time.Hour), Extra: map[string]json.RawMessage{name: json.RawMessage(v)}}
		if _, err := token.Seal(k, bad, nil, nil); err == nil {
			t.Errorf("Seal accepted extra claim %q = %q", name, v)
		} else if v != "" && strings.Contains(err.Error(), v) {
			t.Errorf("error %q holds the value", err)
		}
	}
	// The extra claims share the item budget with everything else.
	many := &token.Claims{Expiry: t0.Add(time.Hour), Extra: map[string]json.RawMessage{}}
	for i := range 1023 {
		many.Extra[fmt.Sprintf("e%04d", i)] = json.RawMessage(`0`)
	}
	big := &token.Options{MaxSize: 1 << 20, Now: func() time.Time { return t0 }}
	if _, err := token.Seal(k, many, nil, big); err == nil {
		t.Error("Seal accepted exp, data and 1023 extra claims (1025 items)")
	}
	delete(many.Extra, "e0000")
	tok, err := token.Seal(k, many, nil, big)
	if err != nil {
		t.Fatalf("1024 items: %v", err)
	}
	if got, err := token.Open(ring, tok, nil, big); err != nil || len(got.Extra) != 1022 {
		t.Fatalf("1024 items sealed but Open: %v", err)
	}

	// Foreign tokens: reserved claims satchel does not use are ignored,
	// the rest land in Extra.
	tok = sealPayload(t, k, []byte(`{"exp":"2026-11-27T13:00:00Z","iss":"a","aud":"b","kid":"c","wpk":"d","Sub":"e","x":[1, 2]}`), nil)
	got, err = token.Open(ring, tok, nil, at(t0))
	if err != nil {
		t.Fatal(err)
	}
	wantExtra = map[string]json.RawMessage{"Sub": json.RawMessage(`"e"`), "x": json.RawMessage(`[1, 2]`)}
	if diff := cmp.Diff(wantExtra, got.Extra); diff != "" || got.Subject != "" {
		t.Errorf("foreign Extra (-want +got):\n%s (Subject %q)", diff, got.Subject)
	}
	// sub must be a string.
	tok = sealPayload(t, k, []byte(`{"exp":"2026-11-27T13:00:00Z","sub":1}`), nil)
	if _, err := token.Open(ring, tok, nil, at(t0)); !errors.Is(err, token.ErrInvalid) {
		t.Errorf("numeric sub: %v, want ErrInvalid", err)
	}
}

type address struct {
	Street string   `json:"street"`
	Zip    *string  `json:"zip,omitempty"`
	Tags   []string `json:"tags"`
}

type account struct {
	ID       int64              `json:"id"`
	Role     string             // matched as "Role", case included
	Created  time.Time          `json:"created"`
	Limits   map[string]float64 `json:"limits"`
	Home     *address           `json:"home"`
	Previous []address          `json:"previous,omitempty"`
	Note     string             `json:"note"`
}

// TestSealTypedValues: application types (structs with tags, typed maps
// and slices, pointers, time.Time) seal into tokens that open and decode
// back into the same values with jsonx.Unmarshal; what has no strict JSON
// form (NaN, ±Inf, nesting past the limit, a value containing itself) is
// refused by Seal with an error that holds no value, never a token Open
// would refuse.
func TestSealTypedValues(t *testing.T) {
	t.Parallel()
	k, ring := newRing(t)
	zip := "75001"
	in := account{
		ID: 9007199254740993, Role: "user", Created: time.Date(2026, 11, 27, 12, 0, 0, 123456789, time.UTC),
		Limits: map[string]float64{"daily": 1.5, "monthly": 1e21}, Home: &address{"1 Rue \"X\"", &zip, []string{"a"}},
		Previous: []address{{Street: "old"}}, Note: "bad \xff byte, \u2028 line",
	}
	c := validClaims()
	c.Data = map[string]any{"acct": in, "ptr": &in, "byID": map[string]account{"x": in}, "times": []time.Time{in.Created}}
	got, err := token.Open(ring, mustSeal(t, k, c, ""), nil, at(t0))
	if err != nil {
		t.Fatal(err)
	}
	want := in
	want.Note = "bad \ufffd byte, \u2028 line" // repaired as encoding/json does
	var acct, ptr account
	var byID map[string]account
	var times []time.Time
	for key, dst := range map[string]any{"acct": &acct, "ptr": &ptr, "byID": &byID, "times": &times} {
		if err := jsonx.Unmarshal(got.Data[key].(json.RawMessage), dst); err != nil {
			t.Fatalf("%s: %v", key, err)
		}
	}
	eq := cmp.Comparer(func(a, b time.Time) bool { return a.Equal(b) })
	for _, a := range []account{acct, ptr, byID["x"]} {
		if diff := cmp.Diff(want, a, eq); diff != "" {
			t.Errorf("decoded (-want +got):\n%s", diff)
		}
	}
	if len(times) != 1 || !times[0].Equal(in.Created) {
		t.Errorf("times = %v", times)
	}

	type node struct{ Next *node }
	deep := &node{}
	for range 40 {
		deep = &node{Next: deep}
	}
	loop := &node{}
	loop.Next = loop
	for name, v := range map[string]any{
		"nan": account{Limits: map[string]float64{"x": math.NaN()}}, "inf": []float64{math.Inf(1)},
		"f32-inf": map[string]float32{"x": float32(math.Inf(-1))}, "deep": deep, "loop": loop,
	} {
		c := validClaims()
		c.Data = map[string]any{"secret-key": v}
		tok, err := token.Seal(k, c, nil, nil)
		if err == nil {
			_, openErr := token.Open(ring, tok, nil, at(t0))
			t.Errorf("%s: Seal gave a token (Open: %v)", name, openErr)
			continue
		}
		if !strings.Contains(err.Error(), "secret-key") || strings.Contains(err.Error(), "NaN") || strings.Contains(err.Error(), "Inf") {
			t.Errorf("%s: error %q should name the key, not the value", name, err)
		}
	}
}

// TestThreat12_CaseVariantMembers: a session value holding both "Role"
// and "role" decodes (through jsonx.Unmarshal, which Decode[T] uses) with
// the exactly named member only, whatever the order: the lower-case twin
// an attacker might smuggle in cannot override the field.
func TestThreat12_CaseVariantMembers(t *testing.T) {
	t.Parallel()
	k, ring := newRing(t)
	for _, v := range []string{`{"Role":"user","role":"admin"}`, `{"role":"admin","Role":"user"}`} {
		c := validClaims()
		c.Data = map[string]any{"acct": json.RawMessage(v)}
		got, err := token.Open(ring, mustSeal(t, k, c, ""), nil, at(t0))
		if err != nil {
			t.Fatal(err)
		}
		var a account
		if err := jsonx.Unmarshal(got.Data["acct"].(json.RawMessage), &a); err != nil || a.Role != "user" {
			t.Errorf("%s decoded Role %q (%v), want user", v, a.Role, err)
		}
	}
}
