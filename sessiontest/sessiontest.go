// Package sessiontest helps test handlers that use satchel sessions: it
// builds requests that carry a session, and reads back the session a
// response left, through a [middleware.Manager]'s own Handler, with its
// keys, cookie name, audience, chunking and clock. Tests need no knowledge
// of the cookie format.
//
// Seeding a signed-in request takes one call:
//
//	req := sessiontest.NewRequest(t, sessions, "GET", "/account", nil, func(s *middleware.Session) {
//		s.SetSubject("user-7")
//		s.SetLifetime(30 * 24 * time.Hour) // "remember me"
//		s.Set("user", "ada")
//	})
//
// and reading back what the handler left:
//
//	rec := httptest.NewRecorder()
//	app.ServeHTTP(rec, req)
//	sessiontest.Read(sessions, req, rec.Result(), func(s *middleware.Session) {
//		n, _ := s.GetInt64("visits")
//		...
//	})
//
// Both run a handler inside the Manager's Handler, so the cookies are
// sealed and opened exactly as in production. The functions are safe for
// concurrent use.
package sessiontest

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"testing"

	"satchel.dev/middleware"
)

// Cookies returns the cookies m sets for a new session after set has
// prepared it: set runs inside m's Handler with an empty session and may
// call any of the Session's methods (Set, Flash, SetSubject, SetLifetime,
// SetBrowserOnly, ...). It returns no cookies and no error when set
// leaves the session empty.
//
// It returns an error when m does not save a session that holds values
// or a subject, for example
// because it is too large for the cookies m may use: m's ErrorHandler has
// then seen the reason (the default one logs it) and the error gives the
// status it answered. The error holds no session value. Cookies panics if
// m or set is nil.
func Cookies(m *middleware.Manager, set func(s *middleware.Session)) ([]*http.Cookie, error) {
	if m == nil || set == nil {
		panic("sessiontest: Cookies called with a nil Manager or function")
	}
	var want bool
	rec := httptest.NewRecorder()
	m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s := m.Get(r)
		set(s)
		want = s.Len() > 0 || s.Subject() != ""
	})).ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/", nil))
	res := rec.Result()
	res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("sessiontest: the Manager did not save the session: its ErrorHandler answered %d", res.StatusCode)
	}
	var cookies []*http.Cookie
	for _, c := range res.Cookies() {
		if c.MaxAge >= 0 { // not a removal, which a new session has no use for
			cookies = append(cookies, c)
		}
	}
	if want && len(cookies) == 0 {
		return nil, errors.New("sessiontest: the Manager set no cookie for a session holding values; see its ErrorHandler")
	}
	return cookies, nil
}

// AddSession adds to r the cookies of a session that set prepares (see
// [Cookies]), in place of any cookies of the same names that r carried.
// It returns the error of Cookies, and then leaves r unchanged.
func AddSession(r *http.Request, m *middleware.Manager, set func(s *middleware.Session)) error {
	cookies, err := Cookies(m, set)
	if err != nil {
		return err
	}
	setCookies(r, merge(r.Cookies(), cookies))
	return nil
}

// NewRequest returns httptest.NewRequest(method, target, body) carrying a
// session that set prepares with m (see [Cookies]). It calls tb.Fatal if
// the session cannot be saved.
func NewRequest(tb testing.TB, m *middleware.Manager, method, target string, body io.Reader, set func(s *middleware.Session)) *http.Request {
	tb.Helper()
	r := httptest.NewRequest(method, target, body)
	if err := AddSession(r, m, set); err != nil {
		tb.Fatal(err)
	}
	return r
}

// Open runs read with the session that cookies hold, as m opens it: an
// empty session ([middleware.Session.IsNew] reports true) when they hold
// none, or one m refuses (expired by m's clock, sealed under other keys,
// another cookie name or audience). Only each cookie's Name and Value
// count. Changes read makes are discarded, except those m records
// elsewhere: Renew and Destroy sign the old session id out in m's
// Revocations, if it has one. Open panics if m or read is nil.
func Open(m *middleware.Manager, cookies []*http.Cookie, read func(s *middleware.Session)) {
	if m == nil || read == nil {
		panic("sessiontest: Open called with a nil Manager or function")
	}
	r := httptest.NewRequest(http.MethodGet, "/", nil)
	setCookies(r, cookies)
	m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		read(m.Get(r))
	})).ServeHTTP(httptest.NewRecorder(), r)
}

// Read runs read with the session a client holds after it sent req and
// received resp: the cookies req carried, replaced or removed by the
// Set-Cookie headers of resp (see [NextCookies]), opened by m as [Open]
// does. A nil req means resp.Request, which http.Client fills in; a
// recorder's Result has none, so pass the request served. Read panics if
// m or read is nil.
func Read(m *middleware.Manager, req *http.Request, resp *http.Response, read func(s *middleware.Session)) {
	Open(m, NextCookies(req, resp), read)
}

// NextCookies returns the cookies a client sends after it sent req and
// received resp: those req carried, each replaced by a Set-Cookie of resp
// with the same name, or dropped by one with Max-Age zero or negative (as
// the session middleware removes its cookies), then the new ones. A nil
// req means resp.Request; when that is nil too, only resp's cookies
// count. Paths, domains and expiry dates are not checked: a test talks to
// one site.
func NextCookies(req *http.Request, resp *http.Response) []*http.Cookie {
	if req == nil {
		req = resp.Request
	}
	var sent []*http.Cookie
	if req != nil {
		sent = req.Cookies()
	}
	return merge(sent, resp.Cookies())
}

// merge applies set, cookies from Set-Cookie headers, to old, cookies a
// client held.
func merge(old, set []*http.Cookie) []*http.Cookie {
	out := slices.Clone(old)
	for _, c := range set {
		out = slices.DeleteFunc(out, func(o *http.Cookie) bool { return o.Name == c.Name })
		if c.MaxAge >= 0 {
			out = append(out, &http.Cookie{Name: c.Name, Value: c.Value})
		}
	}
	return out
}

// setCookies replaces r's Cookie header with cookies.
func setCookies(r *http.Request, cookies []*http.Cookie) {
	r.Header.Del("Cookie")
	for _, c := range cookies {
		r.AddCookie(c)
	}
}
