package middleware

import "errors"

// Errors passed to [Config.ErrorHandler] and returned by [Decode]. Compare
// with [errors.Is]. None of them carries a session value, a token or key
// material; some name a session key.
var (
	// ErrTooLarge reports a session whose sealed cookie would exceed
	// [CookieLimit] (or the chunks allowed by [Config.MaxChunks]). The
	// browser would drop such a cookie silently, so it is never sent.
	ErrTooLarge = errors.New("middleware: session too large for a cookie")

	// ErrLateChange reports a change to the session made after the
	// response headers were sent, which can no longer reach the browser.
	ErrLateChange = errors.New("middleware: session changed after the response headers were sent")

	// ErrNoValue is returned by [Decode] for a key the session does not hold.
	ErrNoValue = errors.New("middleware: no such session value")

	// ErrType is returned by [Decode] when a value does not decode into the
	// requested type.
	ErrType = errors.New("middleware: session value has another type")

	// errReplaced is returned by writes that follow an ErrorHandler's
	// response, which replaced the handler's own.
	errReplaced = errors.New("middleware: response replaced by the session error handler")
)
