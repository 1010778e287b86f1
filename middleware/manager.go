package middleware

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
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
	room     []int         // longest value that fits in cookie names[i]
	limit    int           // longest token that fits the allowed cookies
	opts     token.Options // limits and clock for Open and Seal
	key      *contextKey   // this Manager's own context key

	legacyName   string // the cookie Config.Import reads, if set
	legacyExpire string // the Set-Cookie value that deletes it
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
	m := &Manager{src: src, cfg: c, key: &contextKey{c.Name}}

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

	// Each cookie's whole Set-Cookie header line stays within CookieLimit:
	// some front-end proxies drop every cookie of a response that has a
	// longer line. room[i] is what is left for the value of cookie i once
	// the line's fixed parts are counted, the longest Max-Age included.
	ageDigits := len(strconv.FormatInt(int64(c.MaxLifetime/time.Second)+1, 10))
	m.names = make([]string, c.MaxChunks)
	m.removals = make([]string, c.MaxChunks)
	m.room = make([]int, c.MaxChunks)
	for i := range m.names {
		m.names[i] = c.Name
		if i > 0 {
			m.names[i] += "." + strconv.Itoa(i)
		}
		m.removals[i] = m.names[i] + "=; Max-Age=0" + attrs
		m.room[i] = CookieLimit - len(headerPrefix) - len(m.names[i]) - len("=") -
			len("; Max-Age=") - ageDigits - len(attrs)
		if m.room[i] < CookieLimit/2 {
			return nil, fmt.Errorf("%w: cookie name, path and domain leave less than half of the %d-byte Set-Cookie line for the session", ErrConfig, CookieLimit)
		}
	}
	m.limit = m.room[0]
	if c.MaxChunks > 1 {
		m.limit = -len(chunkMark("2"))
		for _, r := range m.room {
			m.limit += r
		}
	}
	m.opts = token.Options{MaxSize: m.limit, Leeway: c.Leeway, Now: c.Now}
	if c.Leeway == 0 {
		m.opts.Leeway = -1 // none, in token's convention
	}
	if c.Import != nil {
		ck := c.Import.Expire()
		if ck == nil {
			return nil, fmt.Errorf("%w: Import.Expire returned no cookie", ErrConfig)
		}
		if err := ck.Valid(); err != nil {
			return nil, fmt.Errorf("%w: Import.Expire: %v", ErrConfig, err)
		}
		for _, n := range m.names {
			if ck.Name == n {
				// One Cookie header cannot tell the two apart.
				return nil, fmt.Errorf("%w: the legacy cookie and the session cookie are both named %q", ErrConfig, n)
			}
		}
		del := *ck
		del.Value, del.MaxAge, del.Expires = "", -1, time.Time{}
		m.legacyName, m.legacyExpire = ck.Name, del.String()
	}
	return m, nil
}

// ImplicitAssertion returns the bytes a Manager with this cookie name and
// [Config.Audience] authenticates with every token it seals and opens (the
// PASETO implicit assertion), so that a token moved to another cookie or
// another application does not open. Tools that open the middleware's
// tokens outside a Manager (the satchel CLI's inspect, or code in another
// language) pass the same bytes to [token.Open] or their PASETO library.
//
// The bytes are exactly
//
//	{"satchel":"session","cookie":NAME,"aud":AUDIENCE}
//
// with no white space, where NAME and AUDIENCE are JSON strings: a double
// quote, the UTF-8 bytes of the value, a double quote, with only these
// escapes: `"` and `\` are preceded by a backslash; backspace, form feed,
// newline, carriage return and tab are written \b, \f, \n, \r and \t;
// any other byte below 0x20 is written \u00XX with two lowercase hex
// digits (as encoding/json, JSON.stringify and Python's json.dumps do); U+2028 and U+2029 are
// written \u2028 and \u2029. Nothing else is escaped (not "/", "<", ">",
// "&", nor any other non-ASCII character). A valid cookie name never
// needs an escape, and [New] accepts only an Audience that is valid UTF-8.
// The default cookie with no Audience gives
//
//	{"satchel":"session","cookie":"__Host-session","aud":""}
func ImplicitAssertion(cookieName, audience string) []byte {
	imp := []byte(`{"satchel":"session","cookie":`)
	imp = jsonx.AppendString(imp, cookieName)
	imp = append(imp, `,"aud":`...)
	imp = jsonx.AppendString(imp, audience)
	return append(imp, '}')
}

// contextKey is the type of the context keys under which sessions hang:
// each Manager has its own, and innermost is shared by all of them.
type contextKey struct{ name string }

// innermost is the key under which the session of the innermost Manager
// that handled a request hangs.
var innermost = &contextKey{"satchel-session"}

// sessionContext is the request context a Manager's handler passes on. It
// answers both this Manager's key and the shared innermost key with the
// session, in one allocation shared with the rest of the exchange.
type sessionContext struct {
	context.Context
	key *contextKey
	s   *Session
}

func (c *sessionContext) Value(key any) any {
	if k, ok := key.(*contextKey); ok && (k == c.key || k == innermost) {
		return c.s
	}
	return c.Context.Value(key)
}

// FromContext returns the session of the innermost Manager whose
// [Manager.Handler] the request with context ctx passed through, or nil if
// it passed through none.
func FromContext(ctx context.Context) *Session {
	s, _ := ctx.Value(innermost).(*Session)
	return s
}

// Get returns the session of r from the innermost Manager whose
// [Manager.Handler] r passed through; with several Managers in one chain,
// use [Manager.Get] to pick one. It panics if r passed through no
// Manager's Handler, a wiring mistake that would otherwise surface as a
// nil pointer dereference further on; use [FromContext] to test for a
// session instead.
func Get(r *http.Request) *Session {
	s := FromContext(r.Context())
	if s == nil {
		panic("middleware.Get: the request did not pass through a satchel middleware.Manager's Handler; wrap the handler with Manager.Handler")
	}
	return s
}

// FromContext returns the session this Manager opened for the request with
// context ctx, or nil if the request did not pass through m's
// [Manager.Handler]. Several Managers (with different cookies) may wrap
// one handler; each finds its own session.
func (m *Manager) FromContext(ctx context.Context) *Session {
	s, _ := ctx.Value(m.key).(*Session)
	return s
}

// Get returns the session this Manager opened for r. It panics, naming the
// cookie, if r did not pass through m's [Manager.Handler]; use
// [Manager.FromContext] to test for a session instead.
func (m *Manager) Get(r *http.Request) *Session {
	s := m.FromContext(r.Context())
	if s == nil {
		panic("middleware: Manager.Get: the request did not pass through the Handler of the Manager of cookie " + strconv.Quote(m.cfg.Name))
	}
	return s
}

// exchange is one request's state: the session and the response wrapper,
// allocated together.
type exchange struct {
	s   Session
	w   responseWriter
	ctx sessionContext
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
		x.ctx = sessionContext{Context: r.Context(), key: m.key, s: &x.s}
		r = r.WithContext(&x.ctx)
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

// load opens the request's cookie into s, or adopts a legacy session.
// Every failure leaves s empty.
func (m *Manager) load(s *Session, r *http.Request) {
	tok, present, why := m.readCookies(r.Header)
	s.present = present
	if why != "" {
		m.reject(r.Context(), why)
	}
	if tok != "" {
		m.open(s, r, tok)
	}
	if m.cfg.Import != nil {
		m.adopt(s, r)
	}
}

// open opens tok into s.
func (m *Manager) open(s *Session, r *http.Request, tok string) {
	now := m.now()
	ring := m.src.Current()
	c, err := token.Open(ring, tok, m.implicit, &m.opts)
	if err != nil {
		m.reject(r.Context(), rejectReason(err))
		return
	}
	// Tokens this package seals always carry a session id (jti), when it
	// was issued (nbf) and when the cookie was last written (iat); one
	// without them was sealed by hand or for some other use of the key.
	if why := missingClaims(&c.Claims); why != "" {
		m.reject(r.Context(), why)
		return
	}
	meta, ok := readMeta(c.Extra)
	if !ok || !meta.start.IsZero() && meta.start.After(c.NotBefore) {
		m.reject(r.Context(), "invalid session metadata")
		return
	}
	// The token's exp already holds both deadlines as they were when it
	// was sealed; these checks apply the Config as it is now, which may
	// be stricter (a shorter MaxAge or MaxLifetime, a new or shorter
	// IdleTimeout).
	if !now.Before(deadline(c.NotBefore, meta.start, meta.lifetime, &m.cfg).Add(m.cfg.Leeway)) {
		m.reject(r.Context(), "expired")
		return
	}
	if m.cfg.IdleTimeout > 0 && !now.Before(c.IssuedAt.Add(m.cfg.IdleTimeout+m.cfg.Leeway)) {
		m.reject(r.Context(), "idle timeout")
		return
	}
	if rv := m.cfg.Revocations; rv != nil && rv.Revoked(c.ID, c.Subject, c.NotBefore) {
		m.reject(r.Context(), "revoked")
		return
	}
	s.created, s.start, s.lifetime = c.NotBefore, meta.start, meta.lifetime
	s.vals = c.Data
	s.id = c.ID
	s.subject = c.Subject
	s.browser = meta.browser
	s.flashes = meta.flashes
	s.issued = c.IssuedAt
	s.expires = c.Expiry
	s.keyID = c.KeyID
	s.loaded = true
	// A sign-out of this id must outlive every copy of its cookie, not
	// only the one this request carried: idle refreshes reseal the same
	// id with later expiries, and SetLifetime may lengthen it up to
	// MaxLifetime. No copy can open past its start plus MaxLifetime.
	s.orig = identity{id: c.ID, subject: c.Subject, created: c.NotBefore,
		expires: deadline(c.NotBefore, meta.start, m.cfg.MaxLifetime, &m.cfg)}
}

// adopt deletes a legacy cookie the request carries and, when s did not
// open from a valid cookie of m, adopts the legacy session into s.
func (m *Manager) adopt(s *Session, r *http.Request) {
	if !hasCookie(r.Header, m.legacyName) {
		return
	}
	s.legacy = true // deleted in this response, whatever happens next
	if s.loaded {
		return
	}
	ctx := r.Context()
	vals, found, err := m.cfg.Import.Import(r)
	switch {
	case err != nil:
		// The Importer's contract keeps cookie bytes out of err.
		m.rejectLegacy(ctx, err.Error())
		return
	case !found || len(vals) == 0:
		return
	}
	// The values become the session whole or not at all: each must encode
	// as strict JSON, and together they must fit the cookie.
	raw := make(map[string]any, len(vals))
	for k, v := range vals {
		b, err := jsonx.AppendValue(nil, v)
		if err != nil {
			m.rejectLegacy(ctx, fmt.Sprintf("value %q (%T) has no JSON form", k, v))
			return
		}
		raw[k] = json.RawMessage(b)
	}
	now := m.now()
	probe := token.Claims{Expiry: now.Add(m.cfg.MaxAge), IssuedAt: now, NotBefore: now, ID: sessionIDSample, Data: raw}
	if _, err := token.Seal(m.src.Current().Primary(), &probe, m.implicit, &m.opts); err != nil {
		m.rejectLegacy(ctx, rejectReason(err))
		return
	}
	s.vals = raw
	s.dirty = true
}

// sessionIDSample has the length of every session id, for size probes.
const sessionIDSample = "AAAAAAAAAAAAAAAAAAAAAA"

// rejectLegacy logs, at debug level, why a legacy cookie gave no session.
func (m *Manager) rejectLegacy(ctx context.Context, reason string) {
	l := m.logger()
	if l.Enabled(ctx, slog.LevelDebug) {
		l.LogAttrs(ctx, slog.LevelDebug, "satchel: legacy session cookie ignored and deleted",
			slog.String("cookie", m.legacyName), slog.String("reason", reason))
	}
}

// missingClaims names the session claims c lacks, or returns "".
func missingClaims(c *token.Claims) string {
	var missing []string
	if c.ID == "" {
		missing = append(missing, "jti (session id)")
	}
	if c.NotBefore.IsZero() {
		missing = append(missing, "nbf (id issued)")
	}
	if c.IssuedAt.IsZero() {
		missing = append(missing, "iat (last written)")
	}
	if missing == nil {
		return ""
	}
	return "not a session token: no " + strings.Join(missing, ", no ") + " claim; every token the middleware seals has jti, nbf and iat"
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
	if act == actSeal && s.id == "" {
		s.newID(now)
	}
	orig, loaded, destroyed := s.orig, s.loaded, s.destroyed
	cur := identity{id: s.id, subject: s.subject, created: s.created}
	accessed, legacy := s.accessed, s.legacy
	s.mu.Unlock()

	// The session the request opened was signed out after it opened (by a
	// logout elsewhere) or the one about to be written was: writing it
	// back would bring it back to life. Logout wins over every request in
	// flight, renewing ones included, as the check is on the identity the
	// request opened as well as on the one it writes.
	rv := m.cfg.Revocations
	if act == actSeal && rv != nil &&
		(loaded && !destroyed && rv.Revoked(orig.id, orig.subject, orig.created) ||
			cur != orig.key() && rv.Revoked(cur.id, cur.subject, cur.created)) {
		m.reject(r.Context(), "revoked while the request ran; not saved")
		act = actNone
		if s.present != 0 {
			act = actRemove
		}
		loaded = false // already signed out: nothing left to record
	}

	var sealed sealedSession
	if act == actSeal {
		ok, err := m.seal(s, ring, now, &sealed)
		if err != nil {
			return err
		}
		if !ok {
			// The absolute lifetime ran out within the leeway: the
			// session cannot be extended, so it ends here.
			if l := m.logger(); l.Enabled(r.Context(), slog.LevelDebug) {
				l.LogAttrs(r.Context(), slog.LevelDebug,
					"satchel: session reached its absolute lifetime; cookie removed",
					slog.String("cookie", m.cfg.Name))
			}
			act = actRemove
		}
	}

	// A destroyed or renewed session's old id is signed out before the
	// response can tell the browser it is gone. The request's own context
	// may be cancelled by a client that hung up; the sign-out must still
	// be recorded, so its cancellation is not passed on.
	if rv != nil && loaded && cur.id != orig.id {
		ctx := context.WithoutCancel(r.Context())
		if err := rv.RevokeSession(ctx, orig.id, orig.expires); err != nil {
			return fmt.Errorf("%w: %w", ErrRevocation, err)
		}
	}

	switch act {
	case actNone:
		if legacy {
			break
		}
		if accessed {
			addVary(h, &w.vary)
		}
		return nil
	case actRemove:
		m.addRemovals(w, h, s.present, 0)
	case actSeal:
		s.mu.Lock()
		s.expires = sealed.exp
		s.mu.Unlock()
		m.addTokenCookies(w, h, sealed.tok, sealed.maxAge, s.present)
	}
	if legacy {
		addValue(h, "Set-Cookie", m.legacyExpire, &w.legacyCookie)
	}
	addVary(h, &w.vary)
	addNoCache(h, &w.cacheControl)
	return nil
}

// sealedSession is a sealed token and its cookie's lifetime.
type sealedSession struct {
	tok    string
	exp    time.Time
	maxAge int64
}

// seal seals s under the primary key of ring into out. It returns false
// and no error when the session's absolute lifetime has run out.
func (m *Manager) seal(s *Session, ring *keyring.Ring, now time.Time, out *sealedSession) (bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	exp := s.deadline(&m.cfg)
	if m.cfg.IdleTimeout > 0 {
		if idle := now.Add(m.cfg.IdleTimeout); idle.Before(exp) {
			exp = idle
		}
	}
	exp = exp.Truncate(time.Second)
	if !exp.After(now) {
		return false, nil
	}
	// Data is the session's own map, values from the cookie still raw:
	// Seal copies those through and encodes only what the handler set.
	c := token.Claims{
		Expiry:    exp,
		IssuedAt:  now.Truncate(time.Second),
		NotBefore: s.created,
		ID:        s.id,
		Subject:   s.subject,
		Data:      s.vals,
		Extra:     writeMeta(s, &m.cfg),
	}
	tok, err := token.Seal(ring.Primary(), &c, m.implicit, &m.opts)
	if errors.Is(err, token.ErrTooLarge) {
		if m.cfg.MaxChunks > 1 {
			return false, fmt.Errorf("%w: sealed session exceeds %d cookies of %d bytes", ErrTooLarge, m.cfg.MaxChunks, CookieLimit)
		}
		return false, fmt.Errorf("%w: sealed session exceeds the %d-byte cookie limit", ErrTooLarge, CookieLimit)
	}
	if err != nil {
		return false, fmt.Errorf("middleware: sealing the session: %w", err)
	}
	// Max-Age is the token's remaining life in whole seconds, rounded up:
	// the browser may keep the cookie a fraction of a second after the
	// token expires (then it opens to an empty session), never drop it
	// while the session is still valid.
	maxAge := int64((exp.Sub(now) + time.Second - 1) / time.Second)
	if s.browser {
		maxAge = -1 // no Max-Age: a browser-session cookie
	}
	*out = sealedSession{tok: tok, exp: exp, maxAge: maxAge}
	return true, nil
}
