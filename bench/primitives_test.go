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
	for _, n := range []int{64, 256, 1024} {
		msg := make([]byte, n)
		out := make([]byte, n)
		b.Run("n="+strconv.Itoa(n), func(b *testing.B) {
			b.Run("alg=blake2b-keyed", func(b *testing.B) {
				b.SetBytes(int64(n))
				b.ReportAllocs()
				var sum []byte
				for b.Loop() {
					h, _ := blake2b.New256(key)
					h.Write(msg)
					sum = h.Sum(sum[:0])
				}
			})
			b.Run("alg=hmac-sha256", func(b *testing.B) {
				b.SetBytes(int64(n))
				b.ReportAllocs()
				var sum []byte
				for b.Loop() {
					h := hmac.New(sha256.New, key)
					h.Write(msg)
					sum = h.Sum(sum[:0])
				}
			})
			b.Run("alg=xchacha20", func(b *testing.B) {
				b.SetBytes(int64(n))
				b.ReportAllocs()
				for b.Loop() {
					s, _ := chacha20.NewUnauthenticatedCipher(key, nonce)
					s.XORKeyStream(out, msg)
				}
			})
			b.Run("alg=aes256-ctr", func(b *testing.B) {
				// securecookie expands the AES key once, in New, and
				// makes a CTR stream per value.
				block, err := aes.NewCipher(key)
				if err != nil {
					b.Fatal(err)
				}
				b.SetBytes(int64(n))
				b.ReportAllocs()
				for b.Loop() {
					cipher.NewCTR(block, nonce[:16]).XORKeyStream(out, msg)
				}
			})
		})
	}
}
