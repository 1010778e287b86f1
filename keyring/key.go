package keyring

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"strings"

	"golang.org/x/crypto/blake2b"
)

// KeySize is the length of a v4.local key in bytes.
const KeySize = 32

const (
	localPrefix = "k4.local."
	lidPrefix   = "k4.lid."
	// idLen is the length of a k4.lid id: the prefix plus 44 base64url
	// characters for the 33-byte BLAKE2b-264 digest.
	idLen = len(lidPrefix) + 44
	// paserkLen is the length of a k4.local PASERK: the prefix plus 43
	// base64url characters for 32 bytes.
	paserkLen = len(localPrefix) + 43
)

// ErrMalformedKey is returned (wrapped) by [ParseKey] for any string that is
// not a canonical k4.local PASERK. The error text never contains the input.
var ErrMalformedKey = errors.New("keyring: malformed k4.local key")

// ErrWeakKey is returned (wrapped) by [ParseKey] and [NewKey] for key
// material that is well-formed but must never be used: the all-zero key and
// the example keys published in the PASETO and PASERK test vectors.
var ErrWeakKey = errors.New("keyring: refusing a known weak or published example key")

// b64 is unpadded base64url in strict mode: it rejects padding, characters
// outside the alphabet (including CR and LF) and non-zero trailing bits.
var b64 = base64.RawURLEncoding.Strict()

// Key is a 32-byte v4.local secret key together with its PASERK id.
//
// The zero Key is not a valid key; keys come from [GenerateKey], [ParseKey]
// or [NewKey]. A Key is an immutable value and safe for concurrent use.
//
// Printing a Key in any way ([fmt] verbs, String, GoString, MarshalText,
// JSON) shows only its k4.lid id, never the secret. The secret leaves the
// Key only through the methods whose names start with Export.
type Key struct {
	// m holds the secret two pointers away. fmt cannot call Format on a
	// Key it reaches by reflection (an unexported field, or inside one),
	// so it walks the fields; a pointer field prints as an address, but
	// a verb that does not fit a pointer (%s, %q, %t, %c, %f, %e, %U...)
	// sends fmt to its error path, which prints the pointer's target at
	// the top level: a struct, printed field by field. Those fields are
	// one level down, where fmt prints a pointer only as an address. So
	// the bytes sit behind a pointer inside the struct m points to, and no
	// verb, flag or container can print them.
	m  *material
	id string
}

// material is a key's secret. It is reached only through a Key, never
// copied out except by the Export methods, and never printed (see Key.m).
type material struct {
	secret *[KeySize]byte
}

// GenerateKey returns a new random key read from crypto/rand.
// It returns an error only if the system's random source fails.
func GenerateKey() (Key, error) {
	return generateKey(rand.Reader)
}

func generateKey(r io.Reader) (Key, error) {
	var b [KeySize]byte
	if _, err := io.ReadFull(r, b[:]); err != nil {
		return Key{}, fmt.Errorf("keyring: reading random key: %w", err)
	}
	k, err := NewKey(b[:])
	if err != nil {
		// Only a broken random source yields a weak key.
		return Key{}, fmt.Errorf("keyring: random source produced a weak key: %w", err)
	}
	return k, nil
}

// NewKey returns the key made of the 32 bytes b. It copies b. It returns an
// error wrapping [ErrMalformedKey] when b is not 32 bytes long and
// [ErrWeakKey] for the all-zero key or a published example key.
func NewKey(b []byte) (Key, error) {
	if len(b) != KeySize {
		return Key{}, fmt.Errorf("%w: key must be %d bytes, got %d", ErrMalformedKey, KeySize, len(b))
	}
	secret := new([KeySize]byte)
	copy(secret[:], b)
	if isWeak(secret) {
		return Key{}, ErrWeakKey
	}
	return Key{m: &material{secret: secret}, id: lid(secret)}, nil
}

// ParseKey parses a k4.local PASERK ("k4.local." followed by 43 characters
// of unpadded, canonical base64url). It refuses other versions and types,
// wrong lengths, padding, whitespace, non-canonical encodings, the all-zero
// key and published example keys. Errors wrap [ErrMalformedKey] or
// [ErrWeakKey] and never contain the input.
func ParseKey(s string) (Key, error) {
	b, err := decodePASERK(s)
	if err != nil {
		return Key{}, err
	}
	return NewKey(b[:])
}

// decodePASERK decodes the bytes of a k4.local PASERK without the weak-key
// check. It is separate from ParseKey so tests can check the official
// vectors, one of which is the all-zero key.
func decodePASERK(s string) ([KeySize]byte, error) {
	var out [KeySize]byte
	if !strings.HasPrefix(s, localPrefix) {
		switch {
		case strings.HasPrefix(s, "k4."):
			return out, fmt.Errorf("%w: not a k4.local PASERK type", ErrMalformedKey)
		case len(s) >= 3 && s[0] == 'k' && s[2] == '.':
			return out, fmt.Errorf("%w: only PASERK version k4 is supported", ErrMalformedKey)
		default:
			return out, fmt.Errorf("%w: missing %q prefix", ErrMalformedKey, localPrefix)
		}
	}
	if len(s) != paserkLen {
		return out, fmt.Errorf("%w: wrong length", ErrMalformedKey)
	}
	n, err := b64.Decode(out[:], []byte(s[len(localPrefix):]))
	if err != nil || n != KeySize {
		// The base64 error names the offending offset and byte; keep it out.
		return [KeySize]byte{}, fmt.Errorf("%w: invalid base64url", ErrMalformedKey)
	}
	return out, nil
}

// encodePASERK is the inverse of decodePASERK.
func encodePASERK(b *[KeySize]byte) string {
	return localPrefix + b64.EncodeToString(b[:])
}

// lid computes the PASERK k4.lid id of a key: the unkeyed BLAKE2b-264 of
// "k4.lid." || "k4.local." || base64url(key), base64url-encoded after the
// "k4.lid." prefix.
func lid(b *[KeySize]byte) string {
	h, err := blake2b.New(33, nil)
	if err != nil {
		panic("keyring: blake2b rejected a constant size: " + err.Error())
	}
	h.Write([]byte(lidPrefix))
	h.Write([]byte(encodePASERK(b)))
	return lidPrefix + b64.EncodeToString(h.Sum(nil))
}

// weakKeys lists key material that must never be used: the all-zero key and
// the example keys of the PASETO v4 and PASERK k4 test vectors, which are
// public and therefore appear in copied configuration.
var weakKeys = [][KeySize]byte{
	{},
	seq(0x70, 0x8f),
	seq(0x70, 0x90),
}

func seq(first, last byte) [KeySize]byte {
	var k [KeySize]byte
	for i := range k {
		k[i] = first + byte(i)
	}
	k[KeySize-1] = last
	return k
}

func isWeak(b *[KeySize]byte) bool {
	for i := range weakKeys {
		if subtle.ConstantTimeCompare(b[:], weakKeys[i][:]) == 1 {
			return true
		}
	}
	return false
}

// ID returns the key's PASERK id, "k4.lid." followed by 44 base64url
// characters. It is public information: tokens carry it in their footer.
func (k Key) ID() string { return k.id }

// IsZero reports whether k is the zero Key (no key at all).
func (k Key) IsZero() bool { return k.id == "" }

// Equal reports whether k and other hold the same secret.
func (k Key) Equal(other Key) bool {
	if k.m == nil || other.m == nil {
		return k.m == other.m
	}
	return subtle.ConstantTimeCompare(k.m.secret[:], other.m.secret[:]) == 1
}

// ExportSecret returns a copy of the 32 secret bytes. It is the one way for
// other packages to reach the raw key; grep for "Export" to audit its uses.
// The zero Key exports 32 zero bytes.
func (k Key) ExportSecret() [KeySize]byte {
	if k.m == nil {
		return [KeySize]byte{}
	}
	return *k.m.secret
}

// ExportPASERK returns the secret as a k4.local PASERK, the form that
// [ParseKey] reads. Treat the result as a secret.
func (k Key) ExportPASERK() string {
	if k.IsZero() {
		return ""
	}
	return encodePASERK(k.m.secret)
}

// String returns the key's id, never its secret.
func (k Key) String() string {
	if k.IsZero() {
		return "keyring.Key(none)"
	}
	return k.id
}

// GoString returns a Go-like description holding only the id, so that %#v
// never prints the secret.
func (k Key) GoString() string { return "keyring.Key{ID:" + fmt.Sprintf("%q", k.id) + "}" }

// Format implements [fmt.Formatter] so that every verb (%v, %+v, %#v, %s,
// %x, %q, ...) prints the id and never the secret bytes.
func (k Key) Format(f fmt.State, verb rune) {
	switch {
	case verb == 'v' && f.Flag('#'):
		io.WriteString(f, k.GoString())
	case verb == 'q':
		fmt.Fprintf(f, "%q", k.String())
	default:
		io.WriteString(f, k.String())
	}
}

// MarshalText returns the key's id. It exists so that encoding/json,
// encoding/xml and loggers print the id; there is deliberately no
// UnmarshalText: use [ParseKey] on a secret PASERK.
func (k Key) MarshalText() ([]byte, error) { return []byte(k.String()), nil }
