package middleware_test

import (
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"satchel.dev/internal/logbuf"
	"satchel.dev/keyring"
	"satchel.dev/middleware"
	"satchel.dev/token"
)

// t0 is the fake clock's start.
var t0 = time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC)

// clock is a fake clock that tests move by hand.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: t0} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// source is a keyring.Source whose ring a test can swap.
type source struct{ p atomic.Pointer[keyring.Ring] }

func newSource(r *keyring.Ring) *source {
	s := &source{}
	s.p.Store(r)
	return s
}

func (s *source) Current() *keyring.Ring { return s.p.Load() }
func (s *source) Set(r *keyring.Ring)    { s.p.Store(r) }

func newKey(t testing.TB) keyring.Key {
	t.Helper()
	k, err := keyring.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func newRing(t testing.TB, primary keyring.Key, others ...keyring.Key) *keyring.Ring {
	t.Helper()
	r, err := keyring.FromKeys(primary, others...)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func newManager(t testing.TB, src keyring.Source, cfg middleware.Config) *middleware.Manager {
	t.Helper()
	m, err := middleware.New(src, cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return m
}

// harness is a TLS test server running a handler behind a Manager, with a
// client that keeps cookies in a jar, as a browser does.
type harness struct {
	t      *testing.T
	clock  *clock
	src    *source
	m      *middleware.Manager
	srv    *httptest.Server
	client *http.Client
	url    *url.URL
	logs   *logbuf.Buffer
}

// newHarness starts a server. cfg.Now and cfg.Logger default to the
// harness's clock and log buffer.
func newHarness(t *testing.T, cfg middleware.Config, h http.Handler) *harness {
	t.Helper()
	return newHarnessWith(t, cfg, func(*harness) http.Handler { return h })
}

// newHarnessWith is newHarness for handlers that need the harness (its
// clock, say).
func newHarnessWith(t *testing.T, cfg middleware.Config, app func(*harness) http.Handler) *harness {
	t.Helper()
	hs := &harness{t: t, clock: newClock(), logs: &logbuf.Buffer{}}
	hs.src = newSource(newRing(t, newKey(t)))
	if cfg.Now == nil {
		cfg.Now = hs.clock.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.NewTextHandler(hs.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	hs.m = newManager(t, hs.src, cfg)
	hs.srv = httptest.NewTLSServer(hs.m.Handler(app(hs)))
	t.Cleanup(hs.srv.Close)
	hs.client = hs.srv.Client()
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	hs.client.Jar = jar
	hs.client.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	hs.url, _ = url.Parse(hs.srv.URL)
	return hs
}

// result is what one request returned.
type result struct {
	status  int
	body    string
	header  http.Header
	cookies []string // Set-Cookie values
}

func (hs *harness) get(path string) result {
	hs.t.Helper()
	return hs.do(httptest.NewRequest("GET", hs.srv.URL+path, nil))
}

func (hs *harness) do(req *http.Request) result {
	hs.t.Helper()
	req.RequestURI = ""
	resp, err := hs.client.Do(req)
	if err != nil {
		hs.t.Fatalf("%s %s: %v", req.Method, req.URL.Path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		hs.t.Fatal(err)
	}
	return result{status: resp.StatusCode, body: string(b), header: resp.Header, cookies: resp.Header.Values("Set-Cookie")}
}

// jarToken returns the session cookie the client holds, or "".
func (hs *harness) jarToken(name string) string {
	for _, c := range hs.client.Jar.Cookies(hs.url) {
		if c.Name == name {
			return c.Value
		}
	}
	return ""
}

// setJar replaces the cookies the client sends with the given name=value
// pairs.
func (hs *harness) setJar(pairs ...string) {
	jar, _ := cookiejar.New(nil)
	var cs []*http.Cookie
	for _, p := range pairs {
		n, v, _ := strings.Cut(p, "=")
		cs = append(cs, &http.Cookie{Name: n, Value: v, Path: "/", Secure: true})
	}
	jar.SetCookies(hs.url, cs)
	hs.client.Jar = jar
}

// kv is a small test app: /set?k=v&k2=v2 sets string values, /get?k=key
// prints the value or "<none>", /del?k=key deletes, /renew, /destroy,
// /id prints the session id, anything else writes "ok" without touching
// the session.
func kv() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/set", func(w http.ResponseWriter, r *http.Request) {
		s := middleware.Get(r)
		for k, v := range r.URL.Query() {
			s.Set(k, v[0])
		}
		io.WriteString(w, "set")
	})
	mux.HandleFunc("/get", func(w http.ResponseWriter, r *http.Request) {
		v, ok := middleware.Get(r).GetString(r.URL.Query().Get("k"))
		if !ok {
			v = "<none>"
		}
		io.WriteString(w, v)
	})
	mux.HandleFunc("/del", func(w http.ResponseWriter, r *http.Request) {
		middleware.Get(r).Delete(r.URL.Query().Get("k"))
	})
	mux.HandleFunc("/renew", func(w http.ResponseWriter, r *http.Request) {
		middleware.Get(r).Renew()
		io.WriteString(w, middleware.Get(r).ID())
	})
	mux.HandleFunc("/destroy", func(w http.ResponseWriter, r *http.Request) {
		middleware.Get(r).Destroy()
	})
	mux.HandleFunc("/id", func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, middleware.Get(r).ID())
	})
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "ok")
	})
	return mux
}

// implicit is what a Manager with the default cookie name and no
// Audience binds into its tokens.
var implicit = middleware.ImplicitAssertion(cookieName, "")

// sealFor seals data as a Manager with the default cookie name and no
// Audience would, with the given key, times and id.
func sealFor(t testing.TB, key keyring.Key, created, exp time.Time, id string, data map[string]any) string {
	t.Helper()
	tok, err := token.Seal(key, &token.Claims{
		Expiry: exp, IssuedAt: created, NotBefore: created, ID: id, Data: data,
	}, implicit, nil)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// openToken opens a cookie value as a Manager with the default cookie
// name and no Audience would, at now.
func openToken(t testing.TB, ring *keyring.Ring, tok string, now time.Time) *token.Opened {
	t.Helper()
	c, err := token.Open(ring, tok, implicit, &token.Options{MaxSize: 1 << 16, Now: func() time.Time { return now }})
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	return c
}

// cookieAttrs parses a Set-Cookie value.
func cookieAttrs(t testing.TB, setCookie string) *http.Cookie {
	t.Helper()
	c, err := http.ParseSetCookie(setCookie)
	if err != nil {
		t.Fatalf("ParseSetCookie(%q): %v", setCookie, err)
	}
	return c
}
