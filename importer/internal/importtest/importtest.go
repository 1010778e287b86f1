// Package importtest is the end-to-end harness that the importers' tests
// share: a satchel app over real TLS that adopts a legacy framework's
// session cookie, and a browser-like client with a cookie jar. Each
// request's handler records the session it saw and the legacy cookie the
// browser still sent, and the middleware's log is kept for the tests that
// check what a refused cookie leaves in it.
package importtest

import (
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"

	"satchel.dev/internal/logbuf"
	"satchel.dev/keyring"
	"satchel.dev/middleware"
)

// Site is the app and its browser.
type Site struct {
	srv    *httptest.Server
	client *http.Client
	url    *url.URL
	legacy string // the legacy cookie's name
	logs   logbuf.Buffer

	mu      sync.Mutex
	seen    []map[string]any // the session each request's handler saw
	sent    []string         // the legacy cookie's value each request carried, "" for none
	carried []bool           // whether each request carried the legacy cookie at all
}

// New starts a Site under a fresh keyring with cfg (its Import and, where
// the test needs one, its Now); Logger is set by New, at debug level, to
// the log that [Site.Logs] returns. legacy is the name of the cookie the
// importer adopts. The server stops when the test ends.
func New(t testing.TB, legacy string, cfg middleware.Config) *Site {
	t.Helper()
	key, err := keyring.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	ring, err := keyring.FromKeys(key)
	if err != nil {
		t.Fatal(err)
	}
	s := &Site{legacy: legacy}
	cfg.Logger = slog.New(slog.NewTextHandler(&s.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	m, err := middleware.New(ring, cfg)
	if err != nil {
		t.Fatal(err)
	}
	s.srv = httptest.NewTLSServer(m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sent := ""
		c, err := r.Cookie(legacy)
		if err == nil {
			sent = c.Value
		}
		vals := middleware.Get(r).Values()
		s.mu.Lock()
		s.seen = append(s.seen, vals)
		s.sent = append(s.sent, sent)
		s.carried = append(s.carried, err == nil)
		s.mu.Unlock()
		io.WriteString(w, "ok")
	})))
	t.Cleanup(s.srv.Close)
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	s.client = s.srv.Client()
	s.client.Jar = jar
	s.url, _ = url.Parse(s.srv.URL)
	return s
}

// SetLegacy puts the legacy cookie with this value, for path "/", in the
// browser's jar, as the old app would have left it.
func (s *Site) SetLegacy(value string) {
	s.client.Jar.SetCookies(s.url, []*http.Cookie{{Name: s.legacy, Value: value, Path: "/"}})
}

// Get requests the page, fails the test unless it answers 200, and returns
// the response's Set-Cookie headers.
func (s *Site) Get(t testing.TB) []string {
	t.Helper()
	resp, err := s.client.Get(s.srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	io.Copy(io.Discard, resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d", resp.StatusCode)
	}
	return resp.Header.Values("Set-Cookie")
}

// Last returns what the last request's handler saw: the session's values
// and the legacy cookie's value ("" when the browser sent none).
func (s *Site) Last() (map[string]any, string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.seen[len(s.seen)-1], s.sent[len(s.sent)-1]
}

// Carried reports whether the last request carried the legacy cookie,
// even with an empty value.
func (s *Site) Carried() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.carried[len(s.carried)-1]
}

// Adopted reports what the Set-Cookie headers of an adopting response
// do: sealed, whether one seals satchel's session (__Host-session, a
// v4.local token); deleted, whether one deletes the legacy cookie
// (empty, Max-Age=0, Path=/).
func (s *Site) Adopted(setCookies []string) (sealed, deleted bool) {
	for _, h := range setCookies {
		switch {
		case strings.HasPrefix(h, "__Host-session=v4.local."):
			sealed = true
		case strings.HasPrefix(h, s.legacy+"=;") && strings.Contains(h, "Max-Age=0") && strings.Contains(h, "Path=/"):
			deleted = true
		}
	}
	return sealed, deleted
}

// Logs returns all that the middleware has logged so far.
func (s *Site) Logs() string { return s.logs.String() }
