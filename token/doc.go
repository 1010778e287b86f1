// Package token seals and opens satchel's session tokens: PASETO v4.local
// (XChaCha20 encryption with a BLAKE2b MAC) carrying registered claims and
// the session's values, with the sealing key's PASERK id in the footer.
//
// # Sealing
//
// [Seal] encodes [Claims] as JSON, encrypts them under the ring's primary
// key with a fresh 32-byte nonce from crypto/rand and returns
//
//	v4.local.<base64url(nonce || ciphertext || tag)>.<base64url({"kid":"k4.lid.…"})>
//
// The implicit assertion passed to Seal is authenticated but not stored, so
// the same bytes must be given to [Open]. The middleware puts the cookie
// name (and an optional audience) there, which binds a token to its cookie:
// moved to another cookie or application, it does not open.
//
// # Opening
//
// [Open] treats its input as hostile and checks the cheapest things first,
// so that junk costs little and learns nothing:
//
//  1. the length, before any decoding ([ErrTooLarge]);
//  2. the "v4.local." header, canonical unpadded base64url (no padding, no
//     CR or LF, zero trailing bits) and a footer of exactly
//     {"kid":"k4.lid.<44 characters>"} ([ErrInvalid]);
//  3. the key, looked up by that id alone: an unknown id fails
//     ([ErrUnknownKey], which wraps ErrInvalid) and no other key is tried;
//  4. the MAC over the pre-authentication encoding of header, nonce,
//     ciphertext, footer and implicit assertion, compared in constant time
//     ([ErrInvalid]);
//  5. the claims, read strictly: one JSON object, valid UTF-8, no repeated
//     member name at any depth, at most 32 levels and 1024 members and
//     elements, exp required, times in RFC 3339 ([ErrInvalid]);
//  6. exp ([ErrExpired]), nbf and iat ([ErrNotYetValid]) against the clock
//     in [Options], with its leeway: [DefaultLeeway] (one minute) unless
//     set, none if negative, at most [MaxLeeway].
//
// Open returns an [Opened]: the claims and the id of the key that opened
// the token. Every failure returns nil and one of these sentinels; none of them
// ever contains the token, a claim or key material. Seal applies the same
// claim limits, so it never produces a token that Open would refuse.
//
// # Claims
//
// Registered claims are exp, iat, nbf, jti and sub, with times as RFC 3339
// strings as the PASETO specification requires; Seal writes whole seconds.
// The session's values live under one claim, "data", so user keys never
// collide with registered ones. Other top-level claims travel in
// [Claims.Extra], written in sorted order after the registered ones.
// Open returns each value as a json.RawMessage that aliases the decrypted
// buffer: nothing is decoded until a caller asks, and an unchanged value is
// written back by Seal byte for byte, never re-encoded. Integers keep their
// exact digits, so 9007199254740993 survives a round trip.
//
// # Construction
//
// The v4.local construction is written directly on golang.org/x/crypto's
// blake2b and chacha20 (see v4local.go) and reproduces the nine official
// 4-E test vectors byte for byte; aidanwoods.dev/go-paseto serves as a
// reference oracle in the tests.
package token
