package token

import (
	"io"
)

// Test seams. The official vectors fix the nonce and use footers that are
// not satchel's kid shape, so they run against the construction directly.
// Tokens with arbitrary payloads are built with internal/v4ref, the plain
// reference construction, not here.

// EncryptWithNonce seals m with a fixed nonce and any footer.
func EncryptWithNonce(key *[32]byte, nonce *[32]byte, m, footer, implicit []byte) string {
	total := len(header) + b64.EncodedLen(nonceSize+len(m)+tagSize)
	if len(footer) > 0 {
		total += 1 + b64.EncodedLen(len(footer))
	}
	s := getScratch()
	defer s.release()
	return s.encode(key, nonce, m, footer, implicit, total)
}

// WithNonces returns a copy of o (nil: the zero Options) whose Seal calls
// read their nonces from r.
func WithNonces(o *Options, r io.Reader) *Options {
	c := withHooks(o)
	c.hooks.nonces = r
	return c
}

// CountMACs returns a copy of o (nil: the zero Options) that counts the
// MAC attempts of the Open calls made with it, and a function that reports
// the count so far. The count is not synchronized: one goroutine at a time.
func CountMACs(o *Options) (counted *Options, count func() int) {
	c := withHooks(o)
	n := 0
	c.hooks.onMAC = func() { n++ }
	return c, func() int { return n }
}

func withHooks(o *Options) *Options {
	var c Options
	if o != nil {
		c = *o
	}
	h := hooks{}
	if c.hooks != nil {
		h = *c.hooks
	}
	c.hooks = &h
	return &c
}

// AppendClaims exposes the claims encoder so benchmarks can give the floor
// the same plaintext that Seal encrypts.
func AppendClaims(dst []byte, c *Claims) ([]byte, error) {
	t, err := sealTimes(c)
	if err != nil {
		return nil, err
	}
	return appendClaims(dst, c, &t)
}

// FastKeyedHash reports whether the allocation-free keyed BLAKE2b path
// passed its known-answer check and is in use.
func FastKeyedHash() bool {
	rekeyOnce.Do(initRekey)
	return rekeyOK
}
