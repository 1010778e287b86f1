package middleware

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"satchel.dev/internal/jsonx"
	"satchel.dev/keyring"
	"satchel.dev/token"
)

// Manager loads and saves sessions for the requests that pass through its
// [Manager.Handler]. It is immutable after [New] and safe for concurrent
// use; one Manager serves any number of handlers.
type Manager struct {
	src      keyring.Source
	cfg      Config
	implicit []byte // authenticated with every token: cookie name and audience
	attrs    string // "; Path=/; HttpOnly; Secure; SameSite=Lax", Domain too
	names    []string
	removals []string      // the Set-Cookie values that delete names[i]
	limit    int           // longest token that fits the allowed cookies
	opts     token.Options // limits and clock for Open and Seal
}

// New returns a Manager that seals sessions with the primary key of
// src.Current() and opens them with any key of it, configured by cfg (see
// [Config] for the defaults). It returns an error if src is nil or has no
// ring, or if cfg breaks a rule: a __Host- name with a Domain, a Path other
// than "/" or Insecure; SameSite=None with Insecure; an invalid name, path
// or domain; durations out of range.
func New(src keyring.Source, cfg Config) (*Manager, error) {
	if src == nil || src.Current() == nil {
		return nil, errors.New("middleware: no keyring")
	}
	c, err := cfg.normalize()
	if err != nil {
		return nil, err
	}
	m := &Manager{src: src, cfg: c}

	m.implicit = ImplicitAssertion(c.Name, c.Audience)

	attrs := "; Path=" + c.Path
	if c.Domain != "" {
		attrs += "; Domain=" + c.Domain
	}
	attrs += "; HttpOnly"
	if !c.Insecure {
		attrs += "; Secure"
	}
	switch c.SameSite {
	case http.SameSiteStrictMode:
		attrs += "; SameSite=Strict"
	case http.SameSiteNoneMode:
		attrs += "; SameSite=None"
	default:
		attrs += "; SameSite=Lax"
	}
	m.attrs = attrs

	m.names = make([]string, c.MaxChunks)
	m.removals = make([]string, c.MaxChunks)
	for i := range m.names {
		m.names[i] = c.Name
		if i > 0 {
			m.names[i] += "." + strconv.Itoa(i)
		}
		m.removals[i] = m.names[i] + "=; Max-Age=0" + attrs
	}
	if c.MaxChunks == 1 {
		m.limit = CookieLimit - len(c.Name) - 1
	} else {
		m.limit = -len(chunkMark("2"))
		for _, n := range m.names {
			m.limit += CookieLimit - len(n) - 1
		}
	}
	m.opts = token.Options{MaxSize: m.limit, Leeway: c.Leeway, Now: c.Now}
	return m, nil
}

// ImplicitAssertion returns the bytes a Manager with this cookie name and
// [Config.Audience] authenticates with every token it seals and opens: a
// small JSON object, {"satchel":"session","cookie":NAME,"aud":AUDIENCE},
// so that no two (name, audience) pairs share an encoding. Tools that open
// the middleware's tokens outside a Manager (the satchel CLI's inspect)
// pass it to [token.Open].
func ImplicitAssertion(cookieName, audience string) []byte {
	imp := []byte(`{"satchel":"session","cookie":`)
	imp = jsonx.AppendString(imp, cookieName)
	imp = append(imp, `,"aud":`...)
	imp = jsonx.AppendString(imp, audience)
	return append(imp, '}')
}

// contextKey is the type of the context key under which the Session hangs.
type contextKey struct{ name string }

var sessionKey = &contextKey{"satchel-session"}

// FromContext returns the session of the request whose context ctx is, or
// nil if the request did not pass through [Manager.Handler].
func FromContext(ctx context.Context) *Session {
	s, _ := ctx.Value(sessionKey).(*Session)
	return s
}

// Get returns the session of r, or nil if r did not pass through
// [Manager.Handler]. It is FromContext(r.Context()).
func Get(r *http.Request) *Session { return FromContext(r.Context()) }

// exchange is one request's state: the session and the response wrapper,
// allocated together.
type exchange struct {
	s Session
	w responseWriter
}

// Handler returns a handler that loads the request's session from its
// cookie, calls next with the session in the request's context (see
// [FromContext]) and a wrapped ResponseWriter, and writes the cookie back
// just before the response headers leave, only if it has to (see the
// package documentation). It never buffers the response body. A missing or
// invalid cookie gives an empty session, never an error response.
func (m *Manager) Handler(next http.Handler) http.Handler {
	if next == nil {
		panic("middleware: Handler called with a nil handler")
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		x := &exchange{}
		x.s.m = m
		x.s.w = &x.w
		x.w.ResponseWriter = w
		x.w.s = &x.s
		m.load(&x.s, r)
		r = r.WithContext(context.WithValue(r.Context(), sessionKey, &x.s))
		x.w.r = r
		next.ServeHTTP(&x.w, r)
		x.w.finish()
	})
}

func (m *Manager) now() time.Time {
	if m.cfg.Now != nil {
		return m.cfg.Now()
	}
	return time.Now()
}

func (m *Manager) logger() *slog.Logger {
	if m.cfg.Logger != nil {
		return m.cfg.Logger
	}
	return slog.Default()
}

// reject logs, at debug level, why a cookie gave an empty session.
func (m *Manager) reject(ctx context.Context, reason string) {
	l := m.logger()
	if l.Enabled(ctx, slog.LevelDebug) {
		l.LogAttrs(ctx, slog.LevelDebug, "satchel: session cookie ignored",
			slog.String("cookie", m.cfg.Name), slog.String("reason", reason))
	}
}

// load opens the request's cookie into s. Every failure leaves s empty.
func (m *Manager) load(s *Session, r *http.Request) {
	tok, present, why := m.readCookies(r.Header)
	s.present = present
	if why != "" {
		m.reject(r.Context(), why)
	}
	if tok == "" {
		return
	}
	now := m.now()
	ring := m.src.Current()
	c, err := token.Open(ring, tok, m.implicit, &m.opts)
	if err != nil {
		m.reject(r.Context(), rejectReason(err))
		return
	}
	// Tokens this package seals always carry a session id and a creation
	// time; anything else was sealed for some other use of the key.
	if c.ID == "" || c.NotBefore.IsZero() || c.IssuedAt.IsZero() {
		m.reject(r.Context(), "not a session token")
		return
	}
	if !now.Before(c.NotBefore.Add(m.cfg.MaxAge + m.cfg.Leeway)) {
		// MaxAge was shortened since this token was sealed.
		m.reject(r.Context(), "expired")
		return
	}
	s.vals = c.Data
	s.id = c.ID
	s.created = c.NotBefore
	s.issued = c.IssuedAt
	s.expires = c.Expiry
	s.keyID = c.KeyID
	s.loaded = true
	if m.cfg.Revoked != nil && m.cfg.Revoked(r.Context(), s) {
		s.reset()
		m.reject(r.Context(), "revoked")
	}
}

func rejectReason(err error) string {
	switch {
	case errors.Is(err, token.ErrExpired):
		return "expired"
	case errors.Is(err, token.ErrNotYetValid):
		return "not yet valid"
	case errors.Is(err, token.ErrUnknownKey):
		return "unknown key"
	case errors.Is(err, token.ErrTooLarge):
		return "too large"
	}
	return "invalid"
}

// handleError passes err to the ErrorHandler or the default one.
func (m *Manager) handleError(w http.ResponseWriter, r *http.Request, err error) {
	if m.cfg.ErrorHandler != nil {
		m.cfg.ErrorHandler(w, r, err)
		return
	}
	m.logger().LogAttrs(r.Context(), slog.LevelError, "satchel: session not saved",
		slog.String("error", err.Error()),
		slog.String("cookie", m.cfg.Name),
		slog.String("method", r.Method),
		slog.String("path", r.URL.Path))
	if errors.Is(err, ErrLateChange) {
		return
	}
	h := w.Header()
	clear(h)
	h["Content-Type"] = []string{"text/plain; charset=utf-8"}
	h["X-Content-Type-Options"] = []string{"nosniff"}
	h["Cache-Control"] = []string{"no-store"}
	w.WriteHeader(http.StatusInternalServerError)
	io.WriteString(w, "500 Internal Server Error: the session could not be saved.\n")
}

// commit decides what the session of w needs and adds the Set-Cookie and
// cache headers to w's header. It returns an error for the ErrorHandler
// when the session cannot be saved; the header is then unchanged.
func (m *Manager) commit(w *responseWriter) error {
	s, r := w.s, w.r
	h := w.ResponseWriter.Header()
	now := m.now()
	ring := m.src.Current()

	s.mu.Lock()
	s.committed = true
	act := s.plan(now, ring, &m.cfg)
	check := act == actSeal && s.loaded && !s.renewed && m.cfg.Revoked != nil
	s.mu.Unlock()

	if check && m.cfg.Revoked(r.Context(), s) {
		// The session was ended (by a logout elsewhere, say) while this
		// request ran: writing it back would resurrect it.
		m.reject(r.Context(), "revoked while the request ran; not saved")
		act = actNone
		if s.present != 0 {
			act = actRemove
		}
	}

	switch act {
	case actNone:
		s.mu.Lock()
		accessed := s.accessed
		s.mu.Unlock()
		if accessed {
			addVary(h, &w.vary)
		}
		return nil
	case actRemove:
		m.addRemovals(w, h, s.present, 0)
	case actSeal:
		if err := m.seal(w, h, ring, now); err != nil {
			return err
		}
	}
	addVary(h, &w.vary)
	addNoCache(h, &w.cacheControl)
	return nil
}

// seal seals the session of w under the primary key and adds the cookies
// to set to h. On error h is unchanged.
func (m *Manager) seal(w *responseWriter, h http.Header, ring *keyring.Ring, now time.Time) error {
	s := w.s
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.id == "" {
		s.newID(now)
	}
	abs := s.created.Add(m.cfg.MaxAge)
	exp := abs
	if m.cfg.IdleTimeout > 0 {
		if idle := now.Add(m.cfg.IdleTimeout); idle.Before(exp) {
			exp = idle
		}
	}
	exp = exp.Truncate(time.Second)
	if !exp.After(now) {
		// The absolute lifetime ran out within the leeway: the session
		// cannot be extended, so it ends here.
		if l := m.logger(); l.Enabled(w.r.Context(), slog.LevelDebug) {
			l.LogAttrs(w.r.Context(), slog.LevelDebug,
				"satchel: session reached its absolute lifetime; cookie removed",
				slog.String("cookie", m.cfg.Name))
		}
		m.addRemovals(w, h, s.present, 0)
		return nil
	}
	// Data is the session's own map, values from the cookie still raw:
	// Seal copies those through and encodes only what the handler set.
	c := token.Claims{
		Expiry:    exp,
		IssuedAt:  now.Truncate(time.Second),
		NotBefore: s.created,
		ID:        s.id,
		Data:      s.vals,
	}
	tok, err := token.Seal(ring.Primary(), &c, m.implicit, &m.opts)
	if errors.Is(err, token.ErrTooLarge) {
		if m.cfg.MaxChunks > 1 {
			return fmt.Errorf("%w: sealed session exceeds %d cookies of %d bytes", ErrTooLarge, m.cfg.MaxChunks, CookieLimit)
		}
		return fmt.Errorf("%w: sealed session exceeds the %d-byte cookie limit", ErrTooLarge, CookieLimit)
	}
	if err != nil {
		return fmt.Errorf("middleware: sealing the session: %w", err)
	}
	s.expires = exp
	// Max-Age is the token's remaining life in whole seconds, rounded up:
	// the browser may keep the cookie a fraction of a second after the
	// token expires (then it opens to an empty session), never drop it
	// while the session is still valid.
	maxAge := int64((exp.Sub(now) + time.Second - 1) / time.Second)
	m.addTokenCookies(w, h, tok, maxAge, s.present)
	return nil
}

// addValue appends v to h[key]. When h holds no value under key, v goes
// into slot, one of the response's own one-element arrays, rather than
// into a new slice; the capacity of one makes any later append copy it.
func addValue(h http.Header, key, v string, slot *[1]string) {
	if old := h[key]; len(old) > 0 {
		h[key] = append(old, v)
		return
	}
	slot[0] = v
	h[key] = slot[:]
}

// addVary adds "Cookie" to the Vary header unless it is there already.
func addVary(h http.Header, slot *[1]string) {
	for _, v := range h["Vary"] {
		if containsToken(v, "Cookie") || containsToken(v, "*") {
			return
		}
	}
	addValue(h, "Vary", "Cookie", slot)
}

// addNoCache tells shared caches not to store or reuse the Set-Cookie
// header, keeping any caching policy the handler chose.
func addNoCache(h http.Header, slot *[1]string) {
	for _, v := range h["Cache-Control"] {
		if containsToken(v, "no-store") || containsToken(v, "private") || containsToken(v, "no-cache") {
			return
		}
	}
	addValue(h, "Cache-Control", `no-cache="Set-Cookie"`, slot)
}

// containsToken reports whether the comma-separated header value v holds
// tok (case-insensitively), ignoring any "=value" part.
func containsToken(v, tok string) bool {
	for v != "" {
		var part string
		part, v, _ = cut(v, ',')
		part = trimSpace(part)
		if i := indexByte(part, '='); i >= 0 {
			part = trimSpace(part[:i])
		}
		if hasPrefixFold(part, tok) && len(part) == len(tok) {
			return true
		}
	}
	return false
}
