// Package v4ref is a plain reference implementation of PASETO v4.local,
// written step by step from the specification on golang.org/x/crypto's
// blake2b and chacha20, with no precomputation, pooling or other tuning.
//
// It exists for satchel's own tests, fuzz targets and benchmarks: it
// encrypts with a caller-chosen nonce (so the official vectors can be
// reproduced byte for byte, and tokens that token.Seal would never write
// can be built), it is the independent construction the token package is
// checked against, and it is the benchmark "floor" (the primitives alone on
// a given plaintext). It is not API and not meant for production use: it
// takes the nonce from the caller.
package v4ref

import (
	"crypto/subtle"
	"encoding/base64"
	"encoding/binary"
	"strings"

	"golang.org/x/crypto/blake2b"
	"golang.org/x/crypto/chacha20"
)

// Header is the v4.local token header.
const Header = "v4.local."

const (
	nonceSize = 32
	tagSize   = 32
)

// b64 is unpadded base64url that refuses non-canonical trailing bits, as
// PASETO requires.
var b64 = base64.RawURLEncoding.Strict()

// Encrypt returns the v4.local token for message m with footer f and
// implicit assertion i under key, using nonce as the random nonce n. The
// footer segment is present only when f is not empty. It never fails.
func Encrypt(key, nonce *[32]byte, m, f, i []byte) string {
	ek, n2, ak := splitKeys(key, nonce[:])

	raw := make([]byte, nonceSize+len(m)+tagSize)
	copy(raw, nonce[:])
	c := raw[nonceSize : nonceSize+len(m)]
	xor(ek, n2, c, m)
	copy(raw[nonceSize+len(m):], tag(ak, nonce[:], c, f, i))

	if len(f) == 0 {
		return Header + b64.EncodeToString(raw)
	}
	return Header + b64.EncodeToString(raw) + "." + b64.EncodeToString(f)
}

// Decrypt opens a v4.local token under key with implicit assertion i and
// returns its message and its footer (nil when the token has none). It
// returns ok=false for anything but a canonical, authentic token: another
// header, padded or non-canonical base64url, an empty footer segment after
// a dot, a body shorter than nonce and tag, or a tag that does not verify.
// It checks no claims and accepts any footer: that is the caller's job.
func Decrypt(key *[32]byte, tainted string, i []byte) (m, f []byte, ok bool) {
	rest, found := strings.CutPrefix(tainted, Header)
	if !found {
		return nil, nil, false
	}
	body, footer, hasFooter := strings.Cut(rest, ".")
	if hasFooter && (footer == "" || strings.Contains(footer, ".")) {
		return nil, nil, false
	}
	raw, err := b64.DecodeString(body)
	if err != nil {
		return nil, nil, false
	}
	if hasFooter {
		if f, err = b64.DecodeString(footer); err != nil {
			return nil, nil, false
		}
	}
	m, ok = OpenRaw(key, raw, f, i)
	if !ok {
		return nil, nil, false
	}
	return m, f, true
}

// OpenRaw authenticates and decrypts raw, the decoded body of a v4.local
// token (nonce, ciphertext, tag), given its decoded footer f and implicit
// assertion i. It decrypts in place: the message it returns is the
// ciphertext's range of raw. It returns ok=false, and leaves raw as it
// was, when raw is shorter than nonce and tag or the tag does not verify
// (compared in constant time).
func OpenRaw(key *[32]byte, raw, f, i []byte) (m []byte, ok bool) {
	if len(raw) < nonceSize+tagSize {
		return nil, false
	}
	n, c, t := raw[:nonceSize], raw[nonceSize:len(raw)-tagSize], raw[len(raw)-tagSize:]
	ek, n2, ak := splitKeys(key, n)
	if subtle.ConstantTimeCompare(tag(ak, n, c, f, i), t) != 1 {
		return nil, false
	}
	xor(ek, n2, c, c)
	return c, true
}

// splitKeys derives the encryption key, the XChaCha20 nonce and the
// authentication key from key and the token nonce n.
func splitKeys(key *[32]byte, n []byte) (ek, n2, ak []byte) {
	// blake2b.New fails only for a size above 64 or a key longer than 64
	// bytes, which the constant sizes and 32-byte keys here never are.
	// (Called directly, not through a helper, so that the compiler can see
	// the concrete hash and keep the small buffers written to it off the
	// heap.)
	h, _ := blake2b.New(56, key[:])
	h.Write([]byte("paseto-encryption-key"))
	h.Write(n)
	tmp := h.Sum(nil)
	h, _ = blake2b.New(32, key[:])
	h.Write([]byte("paseto-auth-key-for-aead"))
	h.Write(n)
	return tmp[:32], tmp[32:], h.Sum(nil)
}

// tag is the BLAKE2b-256 MAC under ak of PAE(header, n, c, f, i), PASETO's
// pre-authentication encoding: the number of pieces, then each piece's
// length and bytes, lengths as 64-bit little-endian integers with the top
// bit clear (slice lengths always have it clear). The encoding is written
// straight into the MAC rather than into a buffer first.
func tag(ak, n, c, f, i []byte) []byte {
	h, _ := blake2b.New(tagSize, ak)
	var le [8]byte
	binary.LittleEndian.PutUint64(le[:], 5)
	h.Write(le[:])
	for _, p := range [][]byte{[]byte(Header), n, c, f, i} {
		binary.LittleEndian.PutUint64(le[:], uint64(len(p)))
		h.Write(le[:])
		h.Write(p)
	}
	return h.Sum(nil)
}

// xor writes src XORed with the XChaCha20 key stream of (ek, n2) to dst.
func xor(ek, n2, dst, src []byte) {
	// It fails only for a key or nonce of the wrong length: ek and n2 are
	// always 32 and 24 bytes.
	s, _ := chacha20.NewUnauthenticatedCipher(ek, n2)
	s.XORKeyStream(dst, src)
}
