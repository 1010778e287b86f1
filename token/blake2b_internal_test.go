package token

import (
	"bytes"
	"testing"

	"golang.org/x/crypto/blake2b"
)

// TestNewKeyedMatchesBlake2bNew: for every key length and both output
// sizes, the reloaded digest computes what blake2b.New computes, and keys
// blake2b.New refuses are never hashed by the fast path.
func TestNewKeyedMatchesBlake2bNew(t *testing.T) {
	t.Parallel()
	msg := bytes.Repeat([]byte("paseto"), 50)
	var k keyedHash
	for _, size := range []int{32, 56} {
		for n := 0; n <= 70; n++ {
			key := bytes.Repeat([]byte{0x5a}, n)
			if n > 0 {
				key[0] = byte(n)
			}
			want, err := blake2b.New(size, key)
			if err != nil {
				if _, ok := k.rekey(size, key); ok {
					t.Errorf("size %d key %d: blake2b.New refuses (%v) but rekey accepts", size, n, err)
				}
				continue
			}
			got := k.newKeyed(size, key)
			got.Write(msg)
			want.Write(msg)
			if !bytes.Equal(got.Sum(nil), want.Sum(nil)) {
				t.Errorf("size %d key %d: MAC differs from blake2b.New", size, n)
			}
		}
	}
}

// BenchmarkKeyedHash derives one v4.local subkey (BLAKE2b-448 keyed with
// a 32-byte key over the 21-byte domain and a 32-byte nonce) with the
// reloaded digest and with blake2b.New, the choice blake2b.go makes.
func BenchmarkKeyedHash(b *testing.B) {
	key := bytes.Repeat([]byte{0xa5}, 32)
	nonce := bytes.Repeat([]byte{0x3c}, 32)
	var out [56]byte
	b.Run("impl=rekey", func(b *testing.B) {
		var k keyedHash
		b.ReportAllocs()
		for b.Loop() {
			h := k.newKeyed(56, key)
			h.Write(encDomainBytes)
			h.Write(nonce)
			h.Sum(out[:0])
		}
	})
	b.Run("impl=new", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			h := mustBlake2b(56, key)
			h.Write(encDomainBytes)
			h.Write(nonce)
			h.Sum(out[:0])
		}
	})
}
