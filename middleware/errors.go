package middleware

import (
	"errors"

	"satchel.dev/token"
)

// Errors passed to [Config.ErrorHandler], returned by [New] and by
// [Decode]. Compare with [errors.Is]. None of them carries a session
// value, a token or key material; some name a session key.
var (
	// ErrConfig is wrapped by every error [New] returns about the Config.
	ErrConfig = errors.New("middleware: invalid config")

	// ErrTooLarge reports a session whose sealed cookie would exceed
	// [CookieLimit] (or the chunks allowed by [Config.MaxChunks]). The
	// browser would drop such a cookie silently, so it is never sent. It
	// wraps [token.ErrTooLarge], so errors.Is(err, token.ErrTooLarge)
	// holds for it too.
	ErrTooLarge error = &wrapped{"middleware: session too large for a cookie", token.ErrTooLarge}

	// ErrLateChange reports a change to the session made after the
	// response headers were sent, which can no longer reach the browser.
	ErrLateChange = errors.New("middleware: session changed after the response headers were sent")

	// ErrRevocation reports that [Revocations.RevokeSession] failed when a
	// request destroyed or renewed its session: the old session id was
	// not recorded as signed out, so a copy of the old cookie would still
	// open. The response then changes no cookie, so the browser keeps its
	// session and the user can try again.
	ErrRevocation = errors.New("middleware: sign-out not recorded")

	// ErrNoValue is returned by [Decode] for a key the session does not hold.
	ErrNoValue = errors.New("middleware: no such session value")

	// ErrType is returned by [Decode] when a value does not decode into the
	// requested type.
	ErrType = errors.New("middleware: session value has another type")

	// errReplaced is returned by writes that follow an ErrorHandler's
	// response, which replaced the handler's own.
	errReplaced = errors.New("middleware: response replaced by the session error handler")
)

// wrapped is a sentinel error with its own message that wraps another
// sentinel.
type wrapped struct {
	msg string
	err error
}

func (e *wrapped) Error() string { return e.msg }
func (e *wrapped) Unwrap() error { return e.err }
