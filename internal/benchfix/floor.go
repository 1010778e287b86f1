package benchfix

import (
	"encoding/base64"
	"encoding/binary"

	"golang.org/x/crypto/blake2b"
	"golang.org/x/crypto/chacha20"
)

// The floor is the v4.local primitives alone on a given plaintext: three
// keyed BLAKE2b (encryption key and nonce, authentication key, tag),
// XChaCha20 and base64url, written the plain way on x/crypto with no JSON,
// no key lookup and no checks. Benchmarks report their figures as ratios
// to it, measured in the same run.

var b64 = base64.RawURLEncoding

// FloorSeal encrypts pt and returns the token text.
func FloorSeal(key, nonce *[32]byte, pt, footer []byte) string {
	ek, n2, ak := floorKeys(key, nonce[:])
	raw := make([]byte, 32+len(pt)+32)
	copy(raw, nonce[:])
	c, _ := chacha20.NewUnauthenticatedCipher(ek, n2)
	c.XORKeyStream(raw[32:32+len(pt)], pt)
	copy(raw[32+len(pt):], floorTag(ak, nonce[:], raw[32:32+len(pt)], footer))
	return "v4.local." + b64.EncodeToString(raw) + "." + b64.EncodeToString(footer)
}

// FloorOpen decodes, authenticates (without a constant-time compare: the
// floor does the least work) and decrypts a token made by FloorSeal whose
// payload segment is body and footer is footer (both known to the caller).
func FloorOpen(key *[32]byte, body string, footer []byte) []byte {
	raw, _ := b64.DecodeString(body)
	n, c, t := raw[:32], raw[32:len(raw)-32], raw[len(raw)-32:]
	ek, n2, ak := floorKeys(key, n)
	if string(floorTag(ak, n, c, footer)) != string(t) {
		return nil
	}
	s, _ := chacha20.NewUnauthenticatedCipher(ek, n2)
	s.XORKeyStream(c, c)
	return c
}

func floorKeys(key *[32]byte, n []byte) (ek, n2, ak []byte) {
	h, _ := blake2b.New(56, key[:])
	h.Write([]byte("paseto-encryption-key"))
	h.Write(n)
	tmp := h.Sum(nil)
	h, _ = blake2b.New(32, key[:])
	h.Write([]byte("paseto-auth-key-for-aead"))
	h.Write(n)
	return tmp[:32], tmp[32:], h.Sum(nil)
}

func floorTag(ak, n, c, f []byte) []byte {
	pieces := [][]byte{[]byte("v4.local."), n, c, f, nil}
	h, _ := blake2b.New(32, ak)
	var le [8]byte
	binary.LittleEndian.PutUint64(le[:], uint64(len(pieces)))
	h.Write(le[:])
	for _, p := range pieces {
		binary.LittleEndian.PutUint64(le[:], uint64(len(p)))
		h.Write(le[:])
		h.Write(p)
	}
	return h.Sum(nil)
}
