package token

import (
	"errors"
	"fmt"
)

// Errors returned by [Open] and [Seal]. Compare with [errors.Is]; none of
// them ever carries the token, a claim or key material.
var (
	// ErrInvalid is the one opaque error for every token that is malformed,
	// of another version or purpose, non-canonical, tampered with, sealed
	// under another implicit assertion, or whose claims break the strict
	// rules. It says nothing an attacker could use to tell those apart.
	ErrInvalid = errors.New("token: invalid token")

	// ErrExpired reports an authentic token whose exp has passed (beyond
	// the leeway).
	ErrExpired = errors.New("token: token expired")

	// ErrNotYetValid reports an authentic token whose nbf or iat lies in
	// the future (beyond the leeway).
	ErrNotYetValid = errors.New("token: token not yet valid")

	// ErrUnknownKey reports a well-formed token whose footer names a key id
	// the ring does not hold. No other key is tried. It wraps ErrInvalid,
	// so a caller that only checks ErrInvalid treats it as any other bad
	// token, while one that counts tokens of deleted keys can tell.
	ErrUnknownKey = fmt.Errorf("%w: unknown key id", ErrInvalid)

	// ErrTooLarge reports a token longer than the size limit. Open returns
	// it before decoding anything; Seal returns it instead of a token that
	// a browser would silently drop.
	ErrTooLarge = errors.New("token: token too large")
)
