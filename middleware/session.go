package middleware

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math"
	"reflect"
	"slices"
	"strconv"
	"sync"
	"time"

	"satchel.dev/internal/jsonx"
	"satchel.dev/keyring"
)

// FlashKey is the session key under which [Session.Flash] queues messages.
// It is an ordinary value: [Session.Keys] lists it while messages wait.
const FlashKey = "_flash"

// Session is one request's session: a map from string keys to values that
// travel as JSON. Obtain it with [Get] or [FromContext] inside a handler
// wrapped by [Manager.Handler].
//
// Values read from the cookie stay raw JSON until a getter asks for them
// and are written back byte for byte, never re-encoded; a getter decodes
// a fresh copy each call. Values given to [Session.Set] are kept as given
// (not copied) and encoded once, when the cookie is written; do not change
// them afterwards from another goroutine.
//
// A Session is safe for concurrent use by the goroutines of its request.
// Changes must be made before the response headers are sent (the first
// Write, a WriteHeader with a final status, a Flush or a hijack); later
// changes cannot reach the browser and are reported as [ErrLateChange].
type Session struct {
	m *Manager
	w *responseWriter

	mu        sync.Mutex
	vals      map[string]any // json.RawMessage for values from the cookie
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
	adopted   bool // the values came from Config.Import

	accessed     bool
	committed    bool
	lateReported bool
}

// identity is what a session is known by to [Revocations].
type identity struct {
	id      string
	subject string
	created time.Time
	expires time.Time
}

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
		if len(s.vals) > 0 || s.subject != "" {
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

// began returns when the session began: its start, which Renew keeps, or
// the creation of its id. s.mu is held.
func (s *Session) began() time.Time {
	if s.start.IsZero() {
		return s.created
	}
	return s.start
}

// life returns the session's absolute lifetime. s.mu is held.
func (s *Session) life(cfg *Config) time.Duration {
	if s.lifetime == 0 {
		return cfg.MaxAge
	}
	return min(s.lifetime, cfg.MaxLifetime)
}

// deadline returns the session's absolute deadline. s.mu is held.
func (s *Session) deadline(cfg *Config) time.Time {
	return s.began().Add(s.life(cfg))
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

// lookup returns the value under key and marks s accessed.
func (s *Session) lookup(key string) (any, bool) {
	s.mu.Lock()
	v, ok := s.vals[key]
	s.accessed = true
	s.mu.Unlock()
	return v, ok
}

// Get returns the value under key and whether there is one. Values from
// the cookie are decoded as JSON into map[string]any, []any, string,
// bool, nil, int64 for integers that fit (so large ids keep every digit)
// and float64 for other numbers; each call returns a fresh copy, so
// changing it changes nothing until it is passed to [Session.Set]. A value
// set during this request is returned as it was given.
func (s *Session) Get(key string) (any, bool) {
	v, ok := s.lookup(key)
	if !ok {
		return nil, false
	}
	if raw, isRaw := v.(json.RawMessage); isRaw {
		return decodeRaw(raw), true
	}
	return v, true
}

func decodeRaw(raw json.RawMessage) any {
	v, err := jsonx.Decode(string(raw), jsonx.DefaultLimits)
	if err != nil {
		// Valid JSON that Go cannot hold, such as 1e400: hand it back raw.
		return json.RawMessage(bytes.Clone(raw))
	}
	return v
}

// GetString returns the string under key. ok is false if there is none or
// it is not a string.
func (s *Session) GetString(key string) (v string, ok bool) {
	x, found := s.lookup(key)
	if !found {
		return "", false
	}
	switch x := x.(type) {
	case string:
		return x, true
	case json.RawMessage:
		if len(x) == 0 || x[0] != '"' {
			return "", false
		}
		var d jsonx.Decoder
		d.Reset(string(x), jsonx.DefaultLimits)
		str, err := d.String()
		return str, err == nil
	}
	return "", false
}

// GetInt64 returns the integer under key. ok is false if there is none or
// it is not a number with an integral value that fits in an int64.
func (s *Session) GetInt64(key string) (v int64, ok bool) {
	x, found := s.lookup(key)
	if !found {
		return 0, false
	}
	switch x := x.(type) {
	case json.RawMessage:
		if len(x) == 0 || !(x[0] == '-' || '0' <= x[0] && x[0] <= '9') {
			return 0, false
		}
		if n, err := strconv.ParseInt(string(x), 10, 64); err == nil {
			return n, true
		}
		f, err := strconv.ParseFloat(string(x), 64)
		if err != nil {
			return 0, false
		}
		return floatToInt(f)
	case int:
		return int64(x), true
	case int8:
		return int64(x), true
	case int16:
		return int64(x), true
	case int32:
		return int64(x), true
	case int64:
		return x, true
	case uint:
		return uintToInt(uint64(x))
	case uint8:
		return int64(x), true
	case uint16:
		return int64(x), true
	case uint32:
		return int64(x), true
	case uint64:
		return uintToInt(x)
	case float32:
		return floatToInt(float64(x))
	case float64:
		return floatToInt(x)
	case json.Number:
		if n, err := x.Int64(); err == nil {
			return n, true
		}
	}
	return 0, false
}

func uintToInt(u uint64) (int64, bool) {
	if u > math.MaxInt64 {
		return 0, false
	}
	return int64(u), true
}

func floatToInt(f float64) (int64, bool) {
	if f != math.Trunc(f) || f < math.MinInt64 || f >= math.MaxInt64 {
		return 0, false
	}
	return int64(f), true
}

// GetBool returns the boolean under key. ok is false if there is none or
// it is not a boolean.
func (s *Session) GetBool(key string) (v bool, ok bool) {
	x, found := s.lookup(key)
	if !found {
		return false, false
	}
	switch x := x.(type) {
	case bool:
		return x, true
	case json.RawMessage:
		switch string(x) {
		case "true":
			return true, true
		case "false":
			return false, true
		}
	}
	return false, false
}

// GetTime returns the time under key, stored as a [time.Time] (which
// travels as an RFC 3339 string) or an RFC 3339 string. ok is false if
// there is none or it is neither.
func (s *Session) GetTime(key string) (v time.Time, ok bool) {
	x, found := s.lookup(key)
	if !found {
		return time.Time{}, false
	}
	var str string
	switch x := x.(type) {
	case time.Time:
		return x, true
	case string:
		str = x
	case json.RawMessage:
		if len(x) == 0 || x[0] != '"' {
			return time.Time{}, false
		}
		var d jsonx.Decoder
		d.Reset(string(x), jsonx.DefaultLimits)
		var err error
		if str, err = d.String(); err != nil {
			return time.Time{}, false
		}
	default:
		return time.Time{}, false
	}
	t, err := time.Parse(time.RFC3339Nano, str)
	return t, err == nil
}

// Decode returns the value under key as a T. A value from the cookie is
// decoded from its JSON: into any, map[string]any and []any the way
// [Session.Get] does (integers as int64), into json.RawMessage as a copy
// of the raw text, and into every other type with [encoding/json]. A value
// set during this request is returned as is when it is a T, and otherwise
// encoded and decoded the same way.
//
// Decode returns an error wrapping [ErrNoValue] when the session has no
// value under key, and [ErrType] when the value does not decode into T.
// The error names the key and the type, never the value.
func Decode[T any](s *Session, key string) (T, error) {
	var zero T
	v, ok := s.lookup(key)
	if !ok {
		return zero, fmt.Errorf("%w: %q", ErrNoValue, key)
	}
	raw, isRaw := v.(json.RawMessage)
	if !isRaw {
		if t, ok := v.(T); ok {
			return t, nil
		}
		b, err := jsonx.AppendValue(nil, v)
		if err != nil {
			return zero, fmt.Errorf("%w: %q holds a %T, which has no JSON form", ErrType, key, v)
		}
		raw = b
	}
	var out T
	fail := func() (T, error) {
		return zero, fmt.Errorf("%w: %q does not decode into %v", ErrType, key, reflect.TypeFor[T]())
	}
	switch p := any(&out).(type) {
	case *json.RawMessage:
		*p = bytes.Clone(raw)
	case *any:
		*p = decodeRaw(raw)
	case *map[string]any:
		m, ok := decodeRaw(raw).(map[string]any)
		if !ok {
			return fail()
		}
		*p = m
	case *[]any:
		a, ok := decodeRaw(raw).([]any)
		if !ok {
			return fail()
		}
		*p = a
	default:
		// encoding/json's own errors can quote the value; keep them out.
		if err := json.Unmarshal(raw, p); err != nil {
			return fail()
		}
	}
	return out, nil
}

// Set stores v under key, replacing any value there. v must encode as
// JSON (with [encoding/json] or as a json.RawMessage, which Set copies);
// a value that does not is reported when the cookie is written, through
// the ErrorHandler. Set is safe for concurrent use.
func (s *Session) Set(key string, v any) {
	if raw, ok := v.(json.RawMessage); ok {
		v = json.RawMessage(bytes.Clone(raw))
	}
	s.mu.Lock()
	if s.vals == nil {
		s.vals = make(map[string]any)
	}
	s.vals[key] = v
	late := s.changed()
	s.mu.Unlock()
	if late {
		s.reportLate("Set", key)
	}
}

// Delete removes the value under key, if any.
func (s *Session) Delete(key string) {
	s.mu.Lock()
	_, ok := s.vals[key]
	late := false
	if ok {
		delete(s.vals, key)
		late = s.changed()
	}
	s.mu.Unlock()
	if late {
		s.reportLate("Delete", key)
	}
}

// Clear removes every value but keeps the session id. An empty session is
// not stored: the cookie is deleted.
func (s *Session) Clear() {
	s.mu.Lock()
	clear(s.vals)
	late := s.changed()
	s.mu.Unlock()
	if late {
		s.reportLate("Clear", "")
	}
}

// Keys returns the keys of the session's values in sorted order.
func (s *Session) Keys() []string {
	s.mu.Lock()
	keys := make([]string, 0, len(s.vals))
	for k := range s.vals {
		keys = append(keys, k)
	}
	s.accessed = true
	s.mu.Unlock()
	slices.Sort(keys)
	return keys
}

// Len returns the number of values in the session.
func (s *Session) Len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.accessed = true
	return len(s.vals)
}

// Values returns a new map holding every value, decoded as [Session.Get]
// does. Changing the map does not change the session.
func (s *Session) Values() map[string]any {
	s.mu.Lock()
	out := make(map[string]any, len(s.vals))
	for k, v := range s.vals {
		out[k] = v
	}
	s.accessed = true
	s.mu.Unlock()
	for k, v := range out {
		if raw, ok := v.(json.RawMessage); ok {
			out[k] = decodeRaw(raw)
		}
	}
	return out
}

// Flash queues msg, a one-time message such as "Saved.", for a later
// request to show with [Session.Pop]. Messages wait in the session under
// [FlashKey], in order.
func (s *Session) Flash(msg string) {
	s.mu.Lock()
	msgs := append(flashes(s.vals[FlashKey]), msg)
	if s.vals == nil {
		s.vals = make(map[string]any)
	}
	s.vals[FlashKey] = msgs
	late := s.changed()
	s.mu.Unlock()
	if late {
		s.reportLate("Flash", FlashKey)
	}
}

// Pop returns the messages queued by [Session.Flash], oldest first, and
// removes them, so each is shown once. It returns nil when none wait.
func (s *Session) Pop() []string {
	s.mu.Lock()
	v, ok := s.vals[FlashKey]
	s.accessed = true
	late := false
	if ok {
		delete(s.vals, FlashKey)
		late = s.changed()
	}
	s.mu.Unlock()
	if late {
		s.reportLate("Pop", FlashKey)
	}
	return flashes(v)
}

// flashes reads a flash list however it is held, as a new slice.
func flashes(v any) []string {
	var out []string
	switch v := v.(type) {
	case []string:
		out = append(out, v...)
	case json.RawMessage:
		if a, ok := decodeRaw(v).([]any); ok {
			for _, e := range a {
				if m, ok := e.(string); ok {
					out = append(out, m)
				}
			}
		}
	}
	return out
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
	s.id, s.subject, s.created, s.start = "", "", time.Time{}, time.Time{}
	s.lifetime, s.browser = 0, false
	s.destroyed = true
	late := s.changed()
	s.mu.Unlock()
	if late {
		s.reportLate("Destroy", "")
	}
}
