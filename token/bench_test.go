package token_test

import (
	"crypto/rand"
	"strings"
	"testing"
	"time"

	"satchel.dev/internal/benchfix"
	"satchel.dev/keyring"
	"satchel.dev/token"
)

// The token benchmarks run over the three shared payloads. BenchmarkFloor
// measures the v4.local primitives alone on the same plaintext in the same
// run; the figures we track are Seal/Floor(op=seal) and Open/Floor(op=open).

const benchImplicit = "cookie=__Host-session"

func benchClaims(p benchfix.Payload) *token.Claims {
	now := time.Now()
	return &token.Claims{Expiry: now.Add(14 * 24 * time.Hour), IssuedAt: now, ID: "Yk3Jd9xQwT2mZp8s", Data: p.Values()}
}

// BenchmarkSeal seals a map whose every value is a Go value (as after a
// handler changed them all), so every value is encoded.
func BenchmarkSeal(b *testing.B) {
	k, _ := newRing(b)
	for _, p := range benchfix.Payloads {
		b.Run("p="+p.Name, func(b *testing.B) {
			c := benchClaims(p)
			tok, err := token.Seal(k, c, []byte(benchImplicit), nil)
			if err != nil {
				b.Fatal(err)
			}
			implicit := []byte(benchImplicit)
			b.SetBytes(int64(len(tok)))
			b.ReportAllocs()
			report := benchfix.MeasureCPU(b)
			for b.Loop() {
				if _, err := token.Seal(k, c, implicit, nil); err != nil {
					b.Fatal(err)
				}
			}
			report()
		})
	}
}

// BenchmarkOpen opens a token into Claims whose Data is the usable session
// map (values kept as raw JSON until read).
func BenchmarkOpen(b *testing.B) {
	k, ring := newRing(b)
	for _, p := range benchfix.Payloads {
		b.Run("p="+p.Name, func(b *testing.B) {
			tok, err := token.Seal(k, benchClaims(p), []byte(benchImplicit), nil)
			if err != nil {
				b.Fatal(err)
			}
			implicit := []byte(benchImplicit)
			b.SetBytes(int64(len(tok)))
			b.ReportAllocs()
			report := benchfix.MeasureCPU(b)
			for b.Loop() {
				c, err := token.Open(ring, tok, implicit, nil)
				if err != nil || len(c.Data) == 0 {
					b.Fatal(err)
				}
			}
			report()
		})
	}
}

// BenchmarkFloor runs the primitives alone (3 keyed BLAKE2b, XChaCha20,
// base64url) on the plaintext Seal encrypts for the same payload.
func BenchmarkFloor(b *testing.B) {
	k, _ := newRing(b)
	secret := k.ExportSecret()
	footer := []byte(`{"kid":"` + k.ID() + `"}`)
	for _, p := range benchfix.Payloads {
		pt, err := token.AppendClaims(nil, benchClaims(p))
		if err != nil {
			b.Fatal(err)
		}
		var nonce [32]byte
		rand.Read(nonce[:])
		tok := benchfix.FloorSeal(&secret, &nonce, pt, footer)
		body := strings.Split(tok, ".")[2]
		b.Run("p="+p.Name+"/op=seal", func(b *testing.B) {
			b.SetBytes(int64(len(tok)))
			b.ReportAllocs()
			report := benchfix.MeasureCPU(b)
			for b.Loop() {
				rand.Read(nonce[:])
				benchfix.FloorSeal(&secret, &nonce, pt, footer)
			}
			report()
		})
		b.Run("p="+p.Name+"/op=open", func(b *testing.B) {
			b.SetBytes(int64(len(tok)))
			b.ReportAllocs()
			report := benchfix.MeasureCPU(b)
			for b.Loop() {
				if benchfix.FloorOpen(&secret, body, footer) == nil {
					b.Fatal("floor refused its own token")
				}
			}
			report()
		})
	}
}

// TestFloorMatchesSeal proves the floor does the same work as Seal: with the
// same nonce and plaintext it produces the same token.
func TestFloorMatchesSeal(t *testing.T) {
	t.Parallel()
	k, _ := newRing(t)
	secret := k.ExportSecret()
	var nonce [32]byte
	rand.Read(nonce[:])
	pt := []byte(`{"exp":"2026-11-27T13:00:00Z","data":{}}`)
	footer := []byte(`{"kid":"` + k.ID() + `"}`)
	if got, want := benchfix.FloorSeal(&secret, &nonce, pt, footer), token.EncryptWithNonce(&secret, &nonce, pt, footer, nil); got != want {
		t.Fatalf("floor token differs from ours:\n%s\n%s", got, want)
	}
	body := strings.Split(benchfix.FloorSeal(&secret, &nonce, pt, footer), ".")[2]
	if string(benchfix.FloorOpen(&secret, body, footer)) != string(pt) {
		t.Fatal("floor does not open its own token")
	}
	var _ keyring.Key
}
