package token

import (
	"crypto/subtle"
	"encoding/binary"
	"hash"
	"sync"

	"golang.org/x/crypto/chacha20"

	"satchel.dev/internal/b2key"
	"satchel.dev/keyring"
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

// Byte forms of the constants, so that passing them to hash.Hash.Write
// does not allocate a fresh copy per call.
var (
	encDomainBytes  = []byte(encDomain)
	authDomainBytes = []byte(authDomain)
	// paePrefix is PAE's fixed start: the piece count (5), the header's
	// length and the header itself.
	paePrefix = append(binary.LittleEndian.AppendUint64(binary.LittleEndian.AppendUint64(nil, 5), uint64(len(header))), header...)
)

// scratch holds the per-token intermediate values. Slices of it are passed
// to hash.Hash methods, which makes them escape; pooling the struct keeps
// that from costing an allocation each. Secrets in it are wiped before it
// goes back to the pool.
type scratch struct {
	ek     [32]byte // XChaCha20 key
	n2     [24]byte // XChaCha20 nonce
	ak     [32]byte // MAC key
	tmp    [56]byte // BLAKE2b-448 output, split into ek and n2
	tag    [tagSize]byte
	le     [32]byte // the four PAE length prefixes
	footer [footerLen + 2]byte
	hash   b2key.Digest
	pt     []byte // Seal's plaintext: session data, wiped on release
	raw    []byte // Seal's nonce || ciphertext || tag
}

// maxPooled bounds the buffers a pooled scratch keeps; a rare huge token
// does not pin its memory in the pool.
const maxPooled = 64 << 10

var scratchPool = sync.Pool{New: func() any { return new(scratch) }}

func getScratch() *scratch { return scratchPool.Get().(*scratch) }

func (s *scratch) release() {
	clear(s.ek[:])
	clear(s.n2[:])
	clear(s.ak[:])
	clear(s.tmp[:])
	clear(s.pt[:cap(s.pt)])
	s.hash.Wipe()
	if cap(s.pt) > maxPooled || cap(s.raw) > maxPooled {
		s.pt, s.raw = nil, nil
	}
	scratchPool.Put(s)
}

// keyMaterial is the key a token is sealed or opened with: the secret,
// and the precomputed states of the two subkey hashes under it when the
// keyring has them (then the secret is not needed).
type keyMaterial struct {
	secret    *[32]byte
	enc, auth *b2key.State
}

// materialOf returns k's material for one Seal or Open; secret receives a
// copy of the key only when there are no precomputed states.
func materialOf(k keyring.Key, secret *[32]byte) keyMaterial {
	enc, auth := k.ExportSubkeyStates()
	if enc == nil || auth == nil {
		*secret = k.ExportSecret()
		return keyMaterial{secret: secret}
	}
	return keyMaterial{enc: enc, auth: auth}
}

// subkeys derives the encryption key, the XChaCha20 nonce and the
// authentication key for one token from the master key and its nonce,
// into s.ek, s.n2 and s.ak.
func (s *scratch) subkeys(key keyMaterial, n []byte) {
	var h hash.Hash
	if key.enc != nil {
		h = s.hash.Resume(key.enc)
	} else {
		h = s.hash.Keyed(56, key.secret[:])
	}
	h.Write(encDomainBytes)
	h.Write(n)
	h.Sum(s.tmp[:0])
	copy(s.ek[:], s.tmp[:32])
	copy(s.n2[:], s.tmp[32:])

	if key.auth != nil {
		h = s.hash.Resume(key.auth)
	} else {
		h = s.hash.Keyed(32, key.secret[:])
	}
	h.Write(authDomainBytes)
	h.Write(n)
	h.Sum(s.ak[:0])
}

// computeTag writes into s.tag the BLAKE2b-256 MAC under s.ak over
// PAE(header, n, c, f, i). The pieces are streamed into the hash; PAE is
// never built in memory.
func (s *scratch) computeTag(n, c, f, i []byte) {
	h := s.hash.Keyed(tagSize, s.ak[:])
	h.Write(paePrefix)
	for j, piece := range [...][]byte{n, c, f, i} {
		l := s.le[8*j : 8*j+8]
		binary.LittleEndian.PutUint64(l, uint64(len(piece))&^(1<<63))
		h.Write(l)
		h.Write(piece)
	}
	h.Sum(s.tag[:0])
}

// xor encrypts or decrypts src into dst (which may be the same slice)
// with s.ek and s.n2.
func (s *scratch) xor(dst, src []byte) {
	c, err := chacha20.NewUnauthenticatedCipher(s.ek[:], s.n2[:])
	if err != nil {
		panic("token: chacha20 rejected fixed-size key or nonce: " + err.Error())
	}
	c.XORKeyStream(dst, src)
}

// sealRaw writes n || c || t into raw, which must be exactly
// nonceSize+len(m)+tagSize bytes long, encrypting m under key with the
// given nonce. f and i are the footer and implicit assertion.
func (s *scratch) sealRaw(raw []byte, key keyMaterial, nonce *[nonceSize]byte, m, f, i []byte) {
	copy(raw, nonce[:])
	s.subkeys(key, nonce[:])
	c := raw[nonceSize : nonceSize+len(m)]
	s.xor(c, m)
	s.computeTag(nonce[:], c, f, i)
	copy(raw[nonceSize+len(m):], s.tag[:])
}

// openRaw authenticates raw = n || c || t with footer f and implicit
// assertion i and, only if the tag matches (compared in constant time),
// decrypts c in place and returns the plaintext, which aliases raw.
func (s *scratch) openRaw(raw []byte, key keyMaterial, f, i []byte) ([]byte, bool) {
	if len(raw) < nonceSize+tagSize {
		return nil, false
	}
	n := raw[:nonceSize]
	c := raw[nonceSize : len(raw)-tagSize]
	t := raw[len(raw)-tagSize:]
	s.subkeys(key, n)
	s.computeTag(n, c, f, i)
	if subtle.ConstantTimeCompare(t, s.tag[:]) != 1 {
		return nil, false
	}
	s.xor(c, c)
	return c, true
}
