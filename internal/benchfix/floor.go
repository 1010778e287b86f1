package benchfix

import (
	"encoding/base64"

	"satchel.dev/internal/v4ref"
)

// The floor is the v4.local primitives alone on a given plaintext: three
// keyed BLAKE2b (encryption key and nonce, authentication key, tag),
// XChaCha20 and base64url, as the plain reference construction in
// internal/v4ref does them, with no JSON, no key lookup and no claims
// checks. Benchmarks report their figures as ratios to it, measured in the
// same run.

// FloorSeal encrypts pt with footer and no implicit assertion, and returns
// the token text.
func FloorSeal(key, nonce *[32]byte, pt, footer []byte) string {
	return v4ref.Encrypt(key, nonce, pt, footer, nil)
}

// FloorOpen decodes, authenticates and decrypts the payload segment body
// of a token made by FloorSeal with the given footer (both known to the
// caller, so the floor does not parse the token). It returns nil when
// body does not decode or does not authenticate.
func FloorOpen(key *[32]byte, body string, footer []byte) []byte {
	raw, err := base64.RawURLEncoding.DecodeString(body)
	if err != nil {
		return nil
	}
	pt, _ := v4ref.OpenRaw(key, raw, footer, nil)
	return pt
}
