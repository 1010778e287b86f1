package fuzz

import (
	"errors"
	"strings"
	"testing"

	"satchel.dev/internal/benchfix"
	"satchel.dev/internal/v4ref"
	"satchel.dev/token"
)

// seedPayloads are the benchmark fixtures, base and typed.
func seedPayloads() []benchfix.Payload {
	return append(append([]benchfix.Payload(nil), benchfix.Payloads...), benchfix.Typed...)
}

// openSeeds returns the tokens every token-level target starts from: the
// official vectors (success and must-fail), tokens Seal produced for the
// benchmark payloads (base and typed) under a key in the ring and under
// one that is not, and malformed shapes built from them (other versions
// and purposes, padded or non-canonical base64url, stray newlines).
func openSeeds(tb testing.TB) []string {
	var seeds []string
	for _, v := range v4Vectors(tb) {
		seeds = append(seeds, v.Token)
	}
	for _, p := range seedPayloads() {
		seeds = append(seeds,
			sealed(tb, keyA, p.Values(), nil),
			sealed(tb, keyA, p.Values(), []byte("cookie=__Host-session")),
			sealed(tb, keyB, p.Values(), nil),
		)
	}
	good := sealed(tb, keyA, benchfix.Small(), nil)
	body, footer, _ := strings.Cut(strings.TrimPrefix(good, "v4.local."), ".")
	seeds = append(seeds,
		"V4.LOCAL."+body+"."+footer,
		"v4.public."+body+"."+footer,
		"v3.local."+body+"."+footer,
		"v4.local."+body,
		"v4.local."+body+".",
		good+".",
		good+"=",
		"v4.local."+body+"=."+footer,
		"v4.local."+body+"\n."+footer,
		"v4.local."+body+"\r\n."+footer,
		"v4.local. "+body+"."+footer,
		"v4.local.."+footer,
		"",
	)
	// The standard alphabet's '+' and '/' for base64url's '-' and '_'.
	// A body with no '-' (or no '_') would give the good token back, which
	// opens: that happens for about one random nonce in a hundred, so the
	// variant is made only when it differs.
	for _, swap := range [][2]string{{"-", "+"}, {"_", "/"}} {
		if changed := strings.ReplaceAll(body, swap[0], swap[1]); changed != body {
			seeds = append(seeds, "v4.local."+changed+"."+footer)
		}
	}
	return seeds
}

// FuzzOpen feeds arbitrary strings to token.Open under a ring holding keyA.
//
// Properties:
//   - Open never panics and fails only with the documented sentinels,
//     returning nil claims on every error;
//   - ErrTooLarge exactly when the input exceeds the size limit;
//   - an accepted token is canonical: every segment re-encodes to its input
//     (no base64 malleability), carries satchel's footer naming keyA, and its
//     claims report keyA;
//   - an accepted token does not open under any key that did not seal it
//     (keyB, by the construction itself), nor under another implicit
//     assertion, nor with a ring that lacks keyA.
func FuzzOpen(f *testing.F) {
	for _, s := range openSeeds(f) {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, tainted string) {
		c, err := token.Open(ringA, tainted, nil, openOpts)
		if err != nil {
			if c != nil {
				t.Fatalf("Open returned claims with error %v", err)
			}
			if !isSentinel(err) {
				t.Fatalf("Open returned an undocumented error: %v", err)
			}
			if tooLarge := len(tainted) > token.DefaultMaxSize; tooLarge != errors.Is(err, token.ErrTooLarge) {
				t.Fatalf("len %d: Open = %v", len(tainted), err)
			}
			if strings.Contains(err.Error(), tainted) && len(tainted) > 8 {
				t.Fatalf("error text contains the token")
			}
			return
		}
		if !canonical(tainted) {
			t.Fatalf("accepted a non-canonical token %q", tainted)
		}
		if c.KeyID != keyA.ID() {
			t.Fatalf("opened with key %q, ring has only %q", c.KeyID, keyA.ID())
		}
		wantFooter := "." + b64.EncodeToString(footerFor(keyA))
		if !strings.HasSuffix(tainted, wantFooter) || strings.Count(tainted, ".") != 3 {
			t.Fatalf("accepted a token without satchel's footer: %q", tainted)
		}
		// Only keyA's construction authenticates it: keyB's does not.
		body := strings.TrimSuffix(strings.TrimPrefix(tainted, "v4.local."), wantFooter)
		for _, k := range []*[32]byte{secret(keyB), secret(testKey("C"))} {
			if tagMatches(k, body, footerFor(keyA), nil) {
				t.Fatal("token authenticates under a key that did not seal it")
			}
		}
		if !tagMatches(secret(keyA), body, footerFor(keyA), nil) {
			t.Fatal("Open accepted a token whose tag does not match keyA")
		}
		if _, err := token.Open(ringB, tainted, nil, openOpts); !errors.Is(err, token.ErrUnknownKey) {
			t.Fatalf("ring without keyA: Open = %v, want ErrUnknownKey", err)
		}
		if _, err := token.Open(ringA, tainted, []byte{0}, openOpts); !invalidOnly(err) {
			t.Fatalf("other implicit assertion: Open = %v, want ErrInvalid", err)
		}
		if c.Expiry.IsZero() || !now.Before(c.Expiry) {
			t.Fatalf("accepted a token with exp %v at %v", c.Expiry, now)
		}
	})
}

// tagMatches reports whether the v4.local tag of a token body (nonce,
// ciphertext and tag, base64url) verifies under key, with the reference
// construction in internal/v4ref rather than token's own.
func tagMatches(key *[32]byte, body string, footer, implicit []byte) bool {
	raw, err := b64.DecodeString(body)
	if err != nil {
		return false
	}
	_, ok := v4ref.OpenRaw(key, raw, footer, implicit)
	return ok
}

// TestOpenSeedsAccept checks that FuzzOpen's seeds reach its accept
// branch: the tokens Seal produced under keyA with no implicit assertion
// (one per payload) open, and nothing else among the seeds does.
func TestOpenSeedsAccept(t *testing.T) {
	opened := 0
	for _, s := range openSeeds(t) {
		if _, err := token.Open(ringA, s, nil, openOpts); err == nil {
			opened++
		}
	}
	if want := len(seedPayloads()); opened != want {
		t.Fatalf("%d seeds open, want %d", opened, want)
	}
}
