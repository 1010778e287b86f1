package bench

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/sha256"
	"strconv"
	"testing"

	"golang.org/x/crypto/blake2b"
	"golang.org/x/crypto/chacha20"

	"satchel.dev/internal/benchfix"
)

// BenchmarkPrimitives measures the primitives under each codec on
// short messages, the cost no implementation of the format avoids:
// v4.local's keyed BLAKE2b and XChaCha20 (software: x/crypto has AVX2
// BLAKE2b but no amd64 assembly for ChaCha20), against securecookie's
// HMAC-SHA256 and AES-256-CTR (crypto/sha256 uses the SHA-NI and
// crypto/aes the AES-NI instructions where the CPU has them). Each
// iteration sets the primitive up with its key and nonce, as a token
// does, except that AES's key schedule is run once, as securecookie runs
// it. Names: BenchmarkPrimitives/n=<bytes>/alg=<primitive>.
func BenchmarkPrimitives(b *testing.B) {
	key, nonce := make([]byte, 32), make([]byte, 24)
	// securecookie expands the AES key once, in New, and makes a CTR
	// stream per value.
	block, err := aes.NewCipher(key)
	if err != nil {
		b.Fatal(err)
	}
	for _, n := range []int{64, 256, 1024} {
		msg, out := make([]byte, n), make([]byte, n)
		var sum []byte
		algs := []struct {
			name string
			once func()
		}{
			{"blake2b-keyed", func() {
				h, _ := blake2b.New256(key)
				h.Write(msg)
				sum = h.Sum(sum[:0])
			}},
			{"hmac-sha256", func() {
				h := hmac.New(sha256.New, key)
				h.Write(msg)
				sum = h.Sum(sum[:0])
			}},
			{"xchacha20", func() {
				s, _ := chacha20.NewUnauthenticatedCipher(key, nonce)
				s.XORKeyStream(out, msg)
			}},
			{"aes256-ctr", func() { cipher.NewCTR(block, nonce[:16]).XORKeyStream(out, msg) }},
		}
		b.Run("n="+strconv.Itoa(n), func(b *testing.B) {
			for _, a := range algs {
				b.Run("alg="+a.name, func(b *testing.B) {
					b.SetBytes(int64(n))
					b.ReportAllocs()
					report := benchfix.MeasureCPU(b)
					for b.Loop() {
						a.once()
					}
					report()
				})
			}
		})
	}
}
