// Package middleware keeps net/http sessions in sealed, stateless cookies.
//
// A session is a small map of JSON values. [Manager.Handler] opens it from
// the request's cookie, a PASETO v4.local token sealed with the primary key
// of a [keyring.Source], hands it to the handler through the request's
// context, and seals it back into the cookie only when it has to. The
// server stores nothing.
//
//	ring, err := keyring.FromEnv(keyring.EnvVar)
//	if err != nil { ... }
//	sessions, err := middleware.New(ring, middleware.Config{})
//	if err != nil { ... }
//	http.ListenAndServeTLS(addr, cert, key, sessions.Handler(mux))
//
// and in a handler:
//
//	s := middleware.Get(r)
//	s.Set("user", "ada")
//	name, _ := s.GetString("user")
//
// # Configuration
//
// The zero [Config] is the secure default: a host-only cookie named
// __Host-session with HttpOnly, Secure, SameSite=Lax and Path=/, an
// absolute lifetime of 14 days, no idle timeout, and [DefaultLeeway] (one
// minute) of tolerated clock skew between servers, so that a cookie
// sealed by a server whose clock runs slightly ahead still opens on the
// others ([Config.Leeway]; negative for none). [Config.Insecure]
// allows plain HTTP for development (and renames the cookie "session",
// since a __Host- cookie must be Secure). [New] checks the combination
// once and refuses the unsafe ones.
//
// # Sessions
//
// [Session] has the methods of a map ([Session.Get], [Session.Set],
// [Session.Delete], [Session.Pop], [Session.Clear], [Session.Keys],
// [Session.Len], [Session.Values]), typed getters ([Session.GetString],
// [Session.GetInt], [Session.GetInt64], [Session.GetFloat64],
// [Session.GetBool], [Session.GetTime]), [Decode] into any type, one-time
// messages with an optional category ([Session.Flash],
// [Session.FlashCategory], [Session.Flashes]), kept apart from the
// values, and the session's identity: [Session.ID], [Session.SetSubject]
// (the user, at login), [Session.Renew] (call it at login; it keeps the
// absolute deadline) or [Session.Restart] (a login that also restarts
// it), and [Session.Destroy] (at logout).
//
// Every value is held as JSON: [Session.Set] encodes it at once, and a
// value reads back as the same Go type in the request that set it and in
// every later one (integers as int64, other numbers as float64, structs
// as map[string]any unless read with [Decode], which matches field names
// exactly, case included). Values the handler does not change are written
// back byte for byte; integers that fit an int64 keep every digit.
//
// # When a cookie is written
//
// A response carries a Set-Cookie header only when:
//
//   - the session changed ([Session.Set], [Session.Delete], [Session.Clear],
//     [Session.SetSubject], [Session.SetLifetime], [Session.SetBrowserOnly],
//     [Session.Flash], a [Session.Pop] or [Session.Flashes] that removed
//     something);
//   - it was renewed or destroyed (a destroyed or emptied session deletes
//     the cookie);
//   - the cookie was sealed with a key that is no longer the primary one,
//     which re-encrypts it under the new primary (transparent rotation);
//   - an idle timeout is set and at least half the idle window has passed
//     since the cookie was written, so the window slides at most once per
//     half window and never past the absolute deadline.
//
// An unchanged session costs no header. Every Set-Cookie goes with
// "Vary: Cookie" and a Cache-Control that keeps shared caches from storing
// it and handing the cookie to someone else: "private" when the handler
// set no Cache-Control, and otherwise no-cache="Set-Cookie" appended to
// the handler's policy unless that already holds an unqualified private,
// no-store or no-cache, or a no-cache naming Set-Cookie. A response that
// read the session
// also gets "Vary: Cookie". The cookie's Max-Age is the token's remaining
// life.
//
// The header is added just before the response headers leave: on the
// first Write, on WriteHeader with a final status, on Flush, ReadFrom and
// Hijack, or when the handler returns. An informational status such as 103
// Early Hints does not commit the session. The response body is never
// buffered, and the wrapper's Unwrap method lets [http.ResponseController]
// reach the underlying writer.
//
// # Failures
//
// A missing, malformed, tampered, expired, revoked or oversized cookie, one
// sealed with an unknown key or under another cookie name or audience, and
// two cookies with the session's name all give an empty session, never an
// error page. The reason is logged at debug level.
//
// Failures that would lose data are loud. A session whose sealed cookie
// would exceed the browsers' [CookieLimit] is not sent, because browsers
// drop it silently: [Config.ErrorHandler] receives [ErrTooLarge] and the
// default one logs and answers 500. [Config.MaxChunks] optionally spreads
// a large session over a bounded number of cookies. A change made after
// the headers left is reported as [ErrLateChange].
//
// Nothing the package logs or returns contains a session value, a token or
// key material.
//
// # Lifetimes
//
// A session ends at the first of three limits:
//
//   - its absolute deadline: its start plus its lifetime, [Config.MaxAge]
//     by default. The start is the first save; [Session.Renew] keeps it,
//     so renewing never extends a session, and [Session.Restart] (for a
//     login) restarts it. [Session.SetLifetime] gives one session another
//     lifetime, up to [Config.MaxLifetime], for "remember me";
//   - its idle timeout, when [Config.IdleTimeout] is set: the time since
//     its cookie was last written, whatever the lifetime;
//   - its token's exp, which is the earlier of the two as they stood when
//     the cookie was written. A server whose Config is now stricter (a
//     shorter MaxAge, MaxLifetime or IdleTimeout) applies its own limits
//     to older cookies too.
//
// The cookie's Max-Age is the token's remaining life, except for a
// browser-session cookie ([Session.SetBrowserOnly]), which has none: the
// browser drops it when it closes, and the token still expires as above.
// The start, a lifetime other than MaxAge and the browser-session choice
// travel in the token as the claims satchel_start, satchel_lifetime and
// satchel_browser, written only when they differ from the defaults.
//
// # Expiry, rotation and revocation
//
// Every token carries its expiry, the session's creation time and id; the
// keys live in a [keyring.Source], which may change between requests. A
// token sealed with a retired key still opens and is re-issued under the
// primary; once the key leaves the ring, the token is refused.
//
// Sessions are stateless, so a copy of a cookie stays valid until it
// expires even after logout. [Config.Revocations] closes that gap with a
// small server-side record of signed-out session ids and per-subject
// "signed out everywhere" marks ([Session.SetSubject] names the user): it
// is consulted for every session that opens and every session about to
// be written back, and [Session.Destroy] and [Session.Renew] record the
// old id in it. With it, a logout also wins over a slower request of the
// same session still in flight, which would otherwise write the old
// session back.
//
// # Several sessions, and adopting another library's
//
// Several Managers with different cookie names can wrap one handler (a
// long-lived preferences cookie next to the login session, say); each
// finds its own session with [Manager.Get], and the package-level [Get]
// returns the innermost one. [Config.Import] adopts a session cookie
// written by another library, so that switching to satchel logs nobody
// out.
//
// # Concurrency
//
// A [Manager] is safe for concurrent use. A [Session] is safe for the
// goroutines of one request. Two concurrent requests of the same browser
// each start from the cookie they carried, and the last response wins:
// a cookie store cannot merge them. Keep values that several requests
// update at once (counters, carts edited from two tabs) on the server.
package middleware
