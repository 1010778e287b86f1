package token_test

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"satchel.dev/internal/v4ref"
	"satchel.dev/internal/vectors"
	"satchel.dev/keyring"
	"satchel.dev/token"
)

type v4Vector = vectors.V4

func hex32(t *testing.T, s string) *[32]byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil || len(b) != 32 {
		t.Fatalf("bad hex key %q", s)
	}
	return (*[32]byte)(b)
}

func TestVectorsV4Local(t *testing.T) {
	t.Parallel()
	ran := 0
	for _, v := range vectors.LoadV4(t) {
		if v.ExpectFail || v.Name[:3] != "4-E" {
			continue
		}
		ran++
		t.Run(v.Name, func(t *testing.T) {
			key, nonce := hex32(t, v.Key), hex32(t, v.Nonce)
			got := token.EncryptWithNonce(key, nonce, []byte(*v.Payload), []byte(v.Footer), []byte(v.Implicit))
			if got != v.Token {
				t.Fatalf("sealed token differs:\n got %s\nwant %s", got, v.Token)
			}
		})
	}
	if ran != 9 {
		t.Fatalf("ran %d 4-E vectors, want 9", ran)
	}
}

// TestVectorsV4Fail runs 4-F-1..5 through the public Open: each must be
// refused with ErrInvalid (before any key lookup: the ring holds the
// vector's key under its real id, which none of these footers names).
func TestVectorsV4Fail(t *testing.T) {
	t.Parallel()
	k, err := keyring.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	ring, err := keyring.FromKeys(k)
	if err != nil {
		t.Fatal(err)
	}
	ran := 0
	for _, v := range vectors.LoadV4(t) {
		if !v.ExpectFail {
			continue
		}
		ran++
		t.Run(v.Name, func(t *testing.T) {
			_, err := token.Open(ring, v.Token, []byte(v.Implicit), nil)
			if !errors.Is(err, token.ErrInvalid) {
				t.Fatalf("Open = %v, want ErrInvalid", err)
			}
		})
	}
	if ran != 5 {
		t.Fatalf("ran %d 4-F vectors, want 5", ran)
	}
}

// TestFastKeyedHashInUse guards the benchmark figures: if an x/crypto
// update changed its state layout, the vectors would still pass through the
// fallback, but this test says the fast path is gone.
func TestFastKeyedHashInUse(t *testing.T) {
	t.Parallel()
	if !token.FastKeyedHash() {
		t.Fatal("keyed BLAKE2b fell back to blake2b.New: x/crypto's marshaled state layout changed")
	}
}

// TestAgreesWithReference: tokens built by the plain reference
// construction (internal/v4ref) open with Open, and the reference opens
// what Seal writes, for plaintexts from empty data to a few kilobytes and
// with and without an implicit assertion; under another implicit
// assertion neither opens the other's token.
func TestAgreesWithReference(t *testing.T) {
	t.Parallel()
	k, ring := newRing(t)
	secret := k.ExportSecret()
	footer := []byte(`{"kid":"` + k.ID() + `"}`)
	big := &token.Options{MaxSize: 1 << 16, Now: func() time.Time { return t0 }}
	for _, n := range []int{0, 1, 63, 64, 65, 127, 128, 129, 1000, 5000} {
		for _, implicit := range []string{"", "cookie=__Host-s"} {
			c := &token.Claims{Expiry: t0.Add(time.Hour), Data: map[string]any{"v": strings.Repeat("x", n)}}
			tok, err := token.Seal(k, c, []byte(implicit), big)
			if err != nil {
				t.Fatal(err)
			}
			pt, f, ok := v4ref.Decrypt(&secret, tok, []byte(implicit))
			if !ok || !bytes.Equal(f, footer) {
				t.Fatalf("n=%d: the reference refused Seal's token", n)
			}
			if _, _, ok := v4ref.Decrypt(&secret, tok, []byte(implicit+"x")); ok {
				t.Fatalf("n=%d: the reference opened under another implicit assertion", n)
			}
			var nonce [32]byte
			rand.Read(nonce[:])
			ref := v4ref.Encrypt(&secret, &nonce, pt, footer, []byte(implicit))
			got, err := token.Open(ring, ref, []byte(implicit), big)
			if err != nil {
				t.Fatalf("n=%d: Open refused the reference's token: %v", n, err)
			}
			if v, _ := got.Data["v"].(json.RawMessage); len(v) != n+2 {
				t.Fatalf("n=%d: opened %d bytes of value", n, len(v))
			}
			if _, err := token.Open(ring, ref, []byte(implicit+"x"), big); !errors.Is(err, token.ErrInvalid) {
				t.Fatalf("n=%d: Open under another implicit assertion: %v", n, err)
			}
		}
	}
}
