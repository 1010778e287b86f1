package middleware

import (
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"sync"
	"time"

	"satchel.dev/keyring"
)

// Session is one request's session: a map from string keys to values that
// travel as JSON. Obtain it with [Get] or [FromContext] inside a handler
// wrapped by [Manager.Handler].
//
// Every value is held as its JSON text: values read from the cookie as
// they came, written back byte for byte, and values given to
// [Session.Set] encoded at once. So a value reads back as the same Go
// type in the request that set it and in every later one, and a getter
// decodes a fresh copy each call.
//
// A Session is safe for concurrent use by the goroutines of its request.
// Changes must be made before the response headers are sent (the first
// Write, a WriteHeader with a final status, a Flush or a hijack); later
// changes cannot reach the browser and are reported as [ErrLateChange].
type Session struct {
	m *Manager
	w *responseWriter

	mu        sync.Mutex
	vals      map[string]any // json.RawMessage, or what Set could not encode
	flashes   []FlashMessage
	id        string
	subject   string
	created   time.Time     // when the id was issued: the token's nbf
	start     time.Time     // when the session began, if before created
	lifetime  time.Duration // set by SetLifetime; zero means Config.MaxAge
	browser   bool          // a browser-session cookie, without Max-Age
	issued    time.Time
	expires   time.Time
	keyID     string
	orig      identity // the session the request opened, if loaded
	present   uint16   // which of the session's cookie names the request carried
	loaded    bool     // opened from a valid cookie
	dirty     bool
	renewed   bool
	destroyed bool
	legacy    bool // the request carried Config.Import's cookie: delete it

	accessed     bool
	committed    bool
	lateReported bool
}

// identity is what a session is known by to [Revocations].
type identity struct {
	id      string
	subject string
	created time.Time
	expires time.Time // the latest any cookie of this id can still open
}

// key is i without its expiry: what Revoked is asked about.
func (i identity) key() identity { return identity{id: i.id, subject: i.subject, created: i.created} }

// newID gives s a fresh random id and creation time.
func (s *Session) newID(now time.Time) {
	var b [16]byte
	rand.Read(b[:]) // never fails; it crashes the program instead
	s.id = base64.RawURLEncoding.EncodeToString(b[:])
	s.created = now.Truncate(time.Second)
}

// action is what a response must do with the cookie.
type action uint8

const (
	actNone   action = iota // send nothing
	actSeal                 // seal the session and set the cookie
	actRemove               // delete the cookie
)

// plan decides the cookie action for s at commit time. s.mu is held.
func (s *Session) plan(now time.Time, ring *keyring.Ring, cfg *Config) action {
	if s.dirty {
		if len(s.vals) > 0 || s.subject != "" || len(s.flashes) > 0 {
			return actSeal
		}
		if s.destroyed || s.present != 0 {
			return actRemove
		}
		return actNone
	}
	if !s.loaded {
		return actNone
	}
	if s.keyID != ring.Primary().ID() {
		return actSeal // transparent re-encryption under the new primary
	}
	if cfg.IdleTimeout > 0 && s.expires.Before(s.deadline(cfg)) &&
		now.Sub(s.issued) >= cfg.IdleTimeout/2 {
		return actSeal // refresh the idle window
	}
	return actNone
}

// life returns the session's absolute lifetime. s.mu is held.
func (s *Session) life(cfg *Config) time.Duration {
	return lifetime(s.lifetime, cfg)
}

// deadline returns the session's absolute deadline. s.mu is held.
func (s *Session) deadline(cfg *Config) time.Time {
	return deadline(s.created, s.start, s.lifetime, cfg)
}

// lifetime returns the absolute lifetime of a session whose own lifetime
// is own (zero for the default) under cfg.
func lifetime(own time.Duration, cfg *Config) time.Duration {
	if own == 0 {
		return cfg.MaxAge
	}
	return min(own, cfg.MaxLifetime)
}

// deadline returns the absolute deadline under cfg of a session whose id
// was issued at created, which began at start (zero: at created) and has
// its own lifetime (zero for the default).
func deadline(created, start time.Time, own time.Duration, cfg *Config) time.Time {
	if start.IsZero() {
		start = created
	}
	return start.Add(lifetime(own, cfg))
}

// changed marks s dirty after a change and reports whether the change is
// the first one after the headers left. s.mu is held.
func (s *Session) changed() (late bool) {
	s.dirty = true
	s.accessed = true
	if s.committed && !s.lateReported {
		s.lateReported = true
		return true
	}
	return false
}

// reportLate passes ErrLateChange to the ErrorHandler. s.mu is not held.
func (s *Session) reportLate(op, key string) {
	err := fmt.Errorf("%w: %s", ErrLateChange, op)
	if key != "" {
		err = fmt.Errorf("%w: %s(%q)", ErrLateChange, op, key)
	}
	s.m.handleError(s.w.ResponseWriter, s.w.r, err)
}

// ID returns the session's id, a random 22-character string that stays
// the same until [Session.Renew] or [Session.Destroy]. A new session gets
// its id on the first call (or when it is first saved).
func (s *Session) ID() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.accessed = true
	if s.id == "" {
		s.newID(s.m.now())
	}
	return s.id
}

// Created returns when the session's current id was issued: its first
// save or its last [Session.Renew]. This is the time [Revocations]
// compares with a "signed out everywhere" mark. The absolute lifetime
// counts from the session's start, which Renew keeps (see
// [Session.Restart]). It is the zero time for a session that has no id
// yet.
func (s *Session) Created() time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.accessed = true
	return s.created
}

// Expires returns when the session's cookie expires: the expiry of the
// token the request carried, or of the one the response sets once it has
// been written. It is the zero time for a new session not yet written.
func (s *Session) Expires() time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.accessed = true
	return s.expires
}

// IsNew reports whether the request carried no valid session: no cookie,
// an invalid, expired or revoked one.
func (s *Session) IsNew() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.accessed = true
	return !s.loaded
}

// SetSubject records the user the session belongs to, usually once at
// login (together with [Session.Renew]). The subject travels in the token
// as its "sub" claim, outside the session's values, and is what
// [Revocations] consults to sign a user out everywhere. An empty sub
// removes it. [Session.Destroy] clears it.
func (s *Session) SetSubject(sub string) {
	s.mu.Lock()
	late := false
	if s.subject != sub {
		s.subject = sub
		late = s.changed()
	}
	s.accessed = true
	s.mu.Unlock()
	if late {
		s.reportLate("SetSubject", "")
	}
}

// Subject returns the user the session belongs to, as set by
// [Session.SetSubject], or "" if it has none.
func (s *Session) Subject() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.accessed = true
	return s.subject
}

// Renew gives the session a new id, keeping its values and its absolute
// deadline, and makes the response write the cookie. Call it when
// privileges change, at login above all, so that a session id an attacker
// planted or saw before does not become an authenticated one (session
// fixation). With [Config.Revocations] set, the old id is recorded as
// signed out before the response leaves.
//
// Renew does not extend the session: otherwise any route that renews
// would let a stolen cookie live on indefinitely. [Session.Restart] also
// restarts the lifetime, for a login.
func (s *Session) Renew() {
	s.mu.Lock()
	if s.start.IsZero() && !s.created.IsZero() {
		s.start = s.created
	}
	s.newID(s.m.now())
	s.renewed = true
	late := s.changed()
	s.mu.Unlock()
	if late {
		s.reportLate("Renew", "")
	}
}

// Restart is [Session.Renew] that also restarts the session's absolute
// lifetime from now. Call it only where the user has just proved who
// they are, a login with a password or a second factor: a route that a
// stolen cookie reaches by itself must use Renew, which keeps the
// deadline.
func (s *Session) Restart() {
	s.mu.Lock()
	s.newID(s.m.now())
	s.start = time.Time{}
	s.renewed = true
	late := s.changed()
	s.mu.Unlock()
	if late {
		s.reportLate("Restart", "")
	}
}

// SetLifetime gives this session its own absolute lifetime, counted from
// its start (see [Config.MaxAge]), for a "remember me" choice at login.
// d is cut to whole seconds (at least one) and capped at
// [Config.MaxLifetime]; zero or a negative d restores the
// default, Config.MaxAge. A lifetime that has already run out ends the
// session when the response is written. [Config.IdleTimeout] still
// applies. The lifetime travels in the token (see the package
// documentation) and holds until changed again or the session is
// destroyed.
func (s *Session) SetLifetime(d time.Duration) {
	if d > 0 {
		d = max(d.Truncate(time.Second), time.Second) // the token holds seconds
	}
	d = max(d, 0)
	s.mu.Lock()
	d = min(d, s.m.cfg.MaxLifetime)
	if d == s.m.cfg.MaxAge {
		d = 0
	}
	late := false
	if s.lifetime != d {
		s.lifetime = d
		late = s.changed()
	}
	s.accessed = true
	s.mu.Unlock()
	if late {
		s.reportLate("SetLifetime", "")
	}
}

// SetBrowserOnly makes the session's cookie a browser-session cookie
// (true), one without Max-Age or Expires, which the browser drops when it
// closes, or a persistent one (false, the default). The token inside
// still expires at the session's absolute deadline or idle timeout,
// whichever comes first, so a browser that restores its session after a
// restart keeps the cookie no longer than that. The choice travels in
// the token and holds until changed again or the session is destroyed.
func (s *Session) SetBrowserOnly(on bool) {
	s.mu.Lock()
	late := false
	if s.browser != on {
		s.browser = on
		late = s.changed()
	}
	s.accessed = true
	s.mu.Unlock()
	if late {
		s.reportLate("SetBrowserOnly", "")
	}
}

// Destroy removes every value and the session id, and makes the response
// delete the cookie (at logout). Values set after Destroy start a new
// session with a new id. A copy of the old cookie kept elsewhere stays
// valid until it expires, unless [Config.Revocations] is set: the old id
// is then recorded as signed out before the response leaves.
func (s *Session) Destroy() {
	s.mu.Lock()
	clear(s.vals)
	s.flashes = nil
	s.id, s.subject, s.created, s.start = "", "", time.Time{}, time.Time{}
	s.lifetime, s.browser = 0, false
	s.destroyed = true
	late := s.changed()
	s.mu.Unlock()
	if late {
		s.reportLate("Destroy", "")
	}
}
