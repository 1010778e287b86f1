package middleware

import (
	"context"
	"net/http"
	"time"
)

// Revocations is the record of sign-outs that a [Manager] consults, set as
// [Config.Revocations]. Sessions are stateless, so a copy of a cookie stays
// valid until its token expires; a Revocations implementation closes that
// gap with a small server-side list of signed-out session ids and
// per-subject "signed out everywhere" marks (package satchel.dev/revoke
// provides one).
//
// If the implementation also has a method Window() time.Duration, saying
// how long it keeps a sign-out, [New] refuses a Config whose MaxLifetime
// plus Leeway exceeds it: such a record would forget a sign-out while a
// copy of the cookie could still open.
type Revocations interface {
	// Revoked reports whether the session is revoked: its id was signed
	// out, or its subject (empty for a session without one) signed out
	// everywhere at or after created, the time the session id was issued
	// ([Session.Created]). It is called on the request path, when a
	// session opens and again before it is written back, so it must be
	// fast, do no I/O, and be safe for concurrent use.
	Revoked(id, subject string, created time.Time) bool

	// RevokeSession records the sign-out of session id until expires, the
	// latest moment any copy of its cookie could still open (its start
	// plus [Config.MaxLifetime]: idle refreshes and SetLifetime reseal the
	// same id with later expiries, so the expiry of the copy at hand is
	// not enough). The
	// Manager calls it when a request destroys ([Session.Destroy]) or
	// renews ([Session.Renew]) a session it opened from a cookie, before
	// the response leaves. An error means the sign-out did not stick: the
	// Manager passes it to [Config.ErrorHandler] wrapped in
	// [ErrRevocation] and changes no cookie. It must be safe for
	// concurrent use.
	RevokeSession(ctx context.Context, id string, expires time.Time) error
}

// Importer adopts a session cookie written by another library, set as
// [Config.Import], so that switching to satchel logs nobody out.
// Implementations must be safe for concurrent use.
type Importer interface {
	// Import reads the legacy session from r. found=false: r carries no
	// legacy cookie. A cookie that is present but forged, expired or
	// unreadable gives found=true and an error that holds no cookie bytes.
	// values must be JSON-encodable.
	Import(r *http.Request) (values map[string]any, found bool, err error)

	// Expire returns the Set-Cookie that deletes the legacy cookie (same
	// Name, Path and Domain as the legacy cookie, MaxAge -1). [New] calls
	// it once and keeps the result.
	Expire() *http.Cookie
}
