package token

import (
	"crypto/subtle"
	"encoding/binary"
	"hash"

	"golang.org/x/crypto/blake2b"
	"golang.org/x/crypto/chacha20"
)

// The v4.local construction (PASETO version 4, purpose local):
//
//	n            = 32 random bytes
//	Ek || n2     = BLAKE2b-448(key=K, "paseto-encryption-key" || n)   (32 + 24 bytes)
//	Ak           = BLAKE2b-256(key=K, "paseto-auth-key-for-aead" || n)
//	c            = XChaCha20(key=Ek, nonce=n2, m)
//	t            = BLAKE2b-256(key=Ak, PAE(h, n, c, f, i))
//	token        = h || base64url(n || c || t) [ || "." || base64url(f) ]
//
// with h = "v4.local.", f the footer and i the implicit assertion, which is
// authenticated but never transmitted. PAE is the pre-authentication
// encoding: the piece count and then each piece prefixed by its length, all
// as little-endian 64-bit integers with the top bit clear.

const (
	header     = "v4.local."
	nonceSize  = 32
	tagSize    = 32
	encDomain  = "paseto-encryption-key"
	authDomain = "paseto-auth-key-for-aead"
)

// subkeys derives the encryption key, the XChaCha20 nonce and the
// authentication key for one token from the master key and its nonce.
func subkeys(key *[32]byte, n []byte) (ek [32]byte, n2 [24]byte, ak [32]byte) {
	h := mustBlake2b(56, key[:])
	h.Write([]byte(encDomain))
	h.Write(n)
	var tmp [56]byte
	h.Sum(tmp[:0])
	copy(ek[:], tmp[:32])
	copy(n2[:], tmp[32:])

	h = mustBlake2b(32, key[:])
	h.Write([]byte(authDomain))
	h.Write(n)
	h.Sum(ak[:0])
	return ek, n2, ak
}

// tag computes the BLAKE2b-256 MAC over PAE(header, n, c, f, i). The
// pieces are streamed into the hash; PAE is never built in memory.
func tag(ak *[32]byte, n, c, f, i []byte) [tagSize]byte {
	h := mustBlake2b(tagSize, ak[:])
	var le [8]byte
	writeLen := func(l int) {
		binary.LittleEndian.PutUint64(le[:], uint64(l)&^(1<<63))
		h.Write(le[:])
	}
	writeLen(5)
	writeLen(len(header))
	h.Write([]byte(header))
	writeLen(len(n))
	h.Write(n)
	writeLen(len(c))
	h.Write(c)
	writeLen(len(f))
	h.Write(f)
	writeLen(len(i))
	h.Write(i)
	var t [tagSize]byte
	h.Sum(t[:0])
	return t
}

// xor encrypts or decrypts src into dst (which may be the same slice).
func xor(ek *[32]byte, n2 *[24]byte, dst, src []byte) {
	c, err := chacha20.NewUnauthenticatedCipher(ek[:], n2[:])
	if err != nil {
		panic("token: chacha20 rejected fixed-size key or nonce: " + err.Error())
	}
	c.XORKeyStream(dst, src)
}

func mustBlake2b(size int, key []byte) hash.Hash {
	h, err := blake2b.New(size, key)
	if err != nil {
		panic("token: blake2b rejected fixed-size key or output: " + err.Error())
	}
	return h
}

// sealRaw writes n || c || t into raw, which must be exactly
// nonceSize+len(m)+tagSize bytes long, encrypting m under key with the
// given nonce. f and i are the footer and implicit assertion.
func sealRaw(raw []byte, key *[32]byte, nonce *[nonceSize]byte, m, f, i []byte) {
	copy(raw, nonce[:])
	ek, n2, ak := subkeys(key, nonce[:])
	c := raw[nonceSize : nonceSize+len(m)]
	xor(&ek, &n2, c, m)
	t := tag(&ak, nonce[:], c, f, i)
	copy(raw[nonceSize+len(m):], t[:])
}

// openRaw authenticates raw = n || c || t with footer f and implicit
// assertion i and, only if the tag matches (compared in constant time),
// decrypts c in place and returns the plaintext, which aliases raw.
func openRaw(raw []byte, key *[32]byte, f, i []byte) ([]byte, bool) {
	if len(raw) < nonceSize+tagSize {
		return nil, false
	}
	n := raw[:nonceSize]
	c := raw[nonceSize : len(raw)-tagSize]
	t := raw[len(raw)-tagSize:]
	ek, n2, ak := subkeys(key, n)
	want := tag(&ak, n, c, f, i)
	if subtle.ConstantTimeCompare(t, want[:]) != 1 {
		return nil, false
	}
	xor(&ek, &n2, c, c)
	return c, true
}
