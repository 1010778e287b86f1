package fuzz

import (
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"satchel.dev/internal/vectors"
	"satchel.dev/keyring"
	"satchel.dev/token"
)

// now is the fixed clock every target opens tokens at, so that seeds sealed
// today never expire and results do not depend on the wall clock.
var now = time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)

// openOpts are the options targets open with: the default size limit, no
// leeway, the fixed clock.
var openOpts = &token.Options{Now: func() time.Time { return now }}

// testKey derives a fixed, non-weak key from a label, so corpus entries
// sealed under it stay valid across runs.
func testKey(label string) keyring.Key {
	sum := sha256.Sum256([]byte("satchel fuzz key: " + label))
	k, err := keyring.NewKey(sum[:])
	if err != nil {
		panic("fuzz: fixed test key refused: " + err.Error())
	}
	return k
}

var (
	keyA = testKey("A") // seals and opens: the ring's primary
	keyB = testKey("B") // never in ringA: tokens under it must not open there

	ringA  = mustRing(keyA)
	ringB  = mustRing(keyB)
	ringAB = mustRing(keyA, keyB)
)

func mustRing(primary keyring.Key, others ...keyring.Key) *keyring.Ring {
	r, err := keyring.FromKeys(primary, others...)
	if err != nil {
		panic("fuzz: " + err.Error())
	}
	return r
}

// footerFor is satchel's footer for k: {"kid":"k4.lid.<44>"}.
func footerFor(k keyring.Key) []byte {
	return []byte(`{"kid":"` + k.ID() + `"}`)
}

var b64 = base64.RawURLEncoding.Strict()

// canonical reports whether every segment of a v4.local token after the
// header decodes as unpadded base64url and re-encodes to exactly itself.
// It is written independently of token's decoder.
func canonical(tok string) bool {
	rest, ok := strings.CutPrefix(tok, "v4.local.")
	if !ok {
		return false
	}
	for _, seg := range strings.Split(rest, ".") {
		if strings.ContainsAny(seg, "\r\n") {
			return false
		}
		raw, err := base64.RawURLEncoding.DecodeString(seg)
		if err != nil || base64.RawURLEncoding.EncodeToString(raw) != seg {
			return false
		}
	}
	return true
}

// nonceFrom makes a deterministic nonce from fuzz input.
func nonceFrom(b []byte) *[32]byte {
	n := sha256.Sum256(b)
	return &n
}

// secret returns a copy of k's secret bytes.
func secret(k keyring.Key) *[32]byte {
	s := k.ExportSecret()
	return &s
}

// sealed returns a token sealed by token.Seal under k for the seeds, with
// an expiry a day after the fixed clock.
func sealed(tb testing.TB, k keyring.Key, data map[string]any, implicit []byte) string {
	tb.Helper()
	c := &token.Claims{
		Expiry:   now.Add(24 * time.Hour),
		IssuedAt: now.Add(-time.Hour),
		ID:       "seed",
		Data:     data,
	}
	tok, err := token.Seal(k, c, implicit, nil)
	if err != nil {
		tb.Fatalf("seal seed: %v", err)
	}
	return tok
}

// v4Vector is one case of testdata/paseto/v4.json.
type v4Vector = vectors.V4

// v4Vectors returns every case of v4.json, SHA-256 checked.
func v4Vectors(tb testing.TB) []v4Vector {
	tests := vectors.LoadV4(tb)
	if len(tests) == 0 {
		tb.Fatal("v4.json has no tests")
	}
	return tests
}

// vectorPayloads returns the plaintexts of the v4.local success vectors.
func vectorPayloads(tb testing.TB) [][]byte {
	var out [][]byte
	for _, v := range v4Vectors(tb) {
		if v.Payload != nil {
			out = append(out, []byte(*v.Payload))
		}
	}
	return out
}

// isSentinel reports whether err is one of token's documented errors.
func isSentinel(err error) bool {
	for _, s := range []error{token.ErrInvalid, token.ErrExpired, token.ErrNotYetValid, token.ErrUnknownKey, token.ErrTooLarge} {
		if errors.Is(err, s) {
			return true
		}
	}
	return false
}

// invalidOnly reports whether err is ErrInvalid and not ErrUnknownKey
// (which wraps ErrInvalid): a refusal that happened without looking a key
// up, or at the MAC.
func invalidOnly(err error) bool {
	return errors.Is(err, token.ErrInvalid) && !errors.Is(err, token.ErrUnknownKey)
}

// fixUTF8 replaces each byte of an invalid UTF-8 sequence with U+FFFD, as
// satchel's writer (and encoding/json) do.
func fixUTF8(s string) string {
	if utf8.ValidString(s) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && n == 1 {
			b.WriteRune(utf8.RuneError)
		} else {
			b.WriteString(s[i : i+n])
		}
		i += n
	}
	return b.String()
}
