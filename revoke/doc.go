// Package revoke makes sign-out stick for stateless session cookies.
//
// A sealed session cookie carries everything the server needs, which is
// what makes it scale, and also its one weakness: a copy of the cookie
// keeps working after the user signs out, until it expires. A [Set] closes
// that gap with the least state that can: the session ids signed out
// before their expiry, and the subjects (user ids) signed out everywhere
// before a moment. The middleware consults it on every request that
// carries a valid cookie; the lookup reads local memory only.
//
//	revoked, err := revoke.New(revoke.Config{MaxAge: maxAge})
//	if err != nil { ... }
//	sessions, err := middleware.New(ring, middleware.Config{
//		MaxAge:      maxAge,
//		Revocations: revoked,
//	})
//
// With that, [satchel.dev/middleware.Session.Destroy] records the sign-out of the
// session it ends (until no copy of its cookie can open), and a handler signs a
// user out everywhere, after a password change say, with
// [Set.RevokeSubject]. Sessions must carry their subject
// ([satchel.dev/middleware.Session.SetSubject] at login) for the latter.
//
// # Bounded state
//
// An entry is kept only while a token it covers can still open: a session
// id until the expiry the middleware gives (the session's start plus
// MaxLifetime) plus the leeway, a subject's mark for MaxAge
// plus twice the leeway (the mark's own time and the sessions' may each be
// off by the leeway). Writes sweep expired entries as they go. So the Set
// holds the sign-outs of the last MaxAge at most.
//
// # One server or a fleet
//
// A Set alone gives correct revocation on one server. Servers behind a
// load balancer each keep a whole Set and follow each other's sign-outs
// through a shared log: satchel.dev/revoke/redis does that over Redis
// Streams, in its own module so that this one needs nothing beyond the
// standard library.
package revoke
