package sessiontest_test

import (
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"satchel.dev/keyring"
	"satchel.dev/middleware"
	"satchel.dev/sessiontest"
)

func newRing(t *testing.T) *keyring.Ring {
	t.Helper()
	key, err := keyring.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	ring, err := keyring.FromKeys(key)
	if err != nil {
		t.Fatal(err)
	}
	return ring
}

func newManager(t *testing.T, ring *keyring.Ring, cfg middleware.Config) *middleware.Manager {
	t.Helper()
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	m, err := middleware.New(ring, cfg)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

type cart struct {
	Items []item `json:"items"`
	Note  string `json:"note,omitempty"`
}

type item struct {
	SKU string `json:"sku"`
	Qty int    `json:"qty"`
}

// visits is a handler that requires a user, counts visits and flashes.
func visits(m *middleware.Manager) http.Handler {
	return m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s := m.Get(r)
		user, ok := s.GetString("user")
		if !ok {
			http.Error(w, "sign in first", http.StatusUnauthorized)
			return
		}
		n, _ := s.GetInt64("visits")
		s.Set("visits", n+1)
		s.Flash(fmt.Sprintf("visit %d", n+1))
		fmt.Fprintf(w, "hello %s (%s)", user, s.Subject())
	}))
}

func TestSeedAndRead(t *testing.T) {
	t.Parallel()
	m := newManager(t, newRing(t), middleware.Config{})
	want := cart{Items: []item{{"TEA", 2}, {"POT", 1}}, Note: "gift"}
	req := sessiontest.NewRequest(t, m, "POST", "/visit", nil, func(s *middleware.Session) {
		s.SetSubject("user-42")
		s.Set("user", "ada")
		s.Set("visits", 41)
		s.Set("cart", want)
	})
	rec := httptest.NewRecorder()
	visits(m).ServeHTTP(rec, req)
	if rec.Code != 200 || rec.Body.String() != "hello ada (user-42)" {
		t.Fatalf("got %d %q", rec.Code, rec.Body)
	}
	var opened bool
	sessiontest.Read(m, req, rec.Result(), func(s *middleware.Session) {
		opened = !s.IsNew()
		if n, _ := s.GetInt64("visits"); n != 42 {
			t.Errorf("visits %d, want 42", n)
		}
		if s.Subject() != "user-42" {
			t.Errorf("subject %q", s.Subject())
		}
		got, err := middleware.Decode[cart](s, "cart")
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("cart (-want +got):\n%s", diff)
		}
		if diff := cmp.Diff([]middleware.FlashMessage{{Message: "visit 42"}}, s.Flashes()); diff != "" {
			t.Errorf("flashes (-want +got):\n%s", diff)
		}
	})
	if !opened {
		t.Error("the response's cookie did not open")
	}
}

func TestReadUnchangedResponseKeepsTheRequestsSession(t *testing.T) {
	t.Parallel()
	m := newManager(t, newRing(t), middleware.Config{})
	h := m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		user, _ := m.Get(r).GetString("user")
		io.WriteString(w, user)
	}))
	req := sessiontest.NewRequest(t, m, "GET", "/", nil, func(s *middleware.Session) { s.Set("user", "ada") })
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Body.String() != "ada" || len(rec.Result().Cookies()) != 0 {
		t.Fatalf("body %q, %d cookies set", rec.Body, len(rec.Result().Cookies()))
	}
	sessiontest.Read(m, req, rec.Result(), func(s *middleware.Session) {
		if u, _ := s.GetString("user"); u != "ada" {
			t.Errorf("user %q after a response that set no cookie", u)
		}
	})
	// Without the request, only the response counts: no session.
	sessiontest.Read(m, nil, rec.Result(), func(s *middleware.Session) {
		if !s.IsNew() {
			t.Error("a response with no Set-Cookie and no request read as a session")
		}
	})
}

func TestReadAfterLogout(t *testing.T) {
	t.Parallel()
	m := newManager(t, newRing(t), middleware.Config{MaxChunks: 2})
	h := m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		m.Get(r).Destroy()
	}))
	req := sessiontest.NewRequest(t, m, "POST", "/logout", nil, func(s *middleware.Session) {
		s.Set("user", "ada")
		s.Set("big", strings.Repeat("b", 5000)) // two chunks
	})
	if n := len(req.Cookies()); n != 2 {
		t.Fatalf("seeded %d cookies, want 2 chunks", n)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if got := sessiontest.NextCookies(req, rec.Result()); len(got) != 0 {
		t.Errorf("after logout the client keeps %d cookies", len(got))
	}
	sessiontest.Read(m, req, rec.Result(), func(s *middleware.Session) {
		if !s.IsNew() || s.Len() != 0 {
			t.Errorf("after logout: new %v, %d values", s.IsNew(), s.Len())
		}
	})
}

// TestChunked seeds a session too large for one cookie and reads back a
// response that shrank it to one cookie: the stale chunk is removed.
func TestChunked(t *testing.T) {
	t.Parallel()
	m := newManager(t, newRing(t), middleware.Config{MaxChunks: 3})
	big := strings.Repeat("x", 5000)
	cookies, err := sessiontest.Cookies(m, func(s *middleware.Session) { s.Set("big", big) })
	if err != nil {
		t.Fatal(err)
	}
	if len(cookies) != 2 {
		t.Fatalf("%d cookies, want 2 chunks", len(cookies))
	}
	h := m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s := m.Get(r)
		v, _ := s.GetString("big")
		s.Set("big", v[:10])
	}))
	req := httptest.NewRequest("GET", "/", nil)
	for _, c := range cookies {
		req.AddCookie(c)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	next := sessiontest.NextCookies(req, rec.Result())
	if len(next) != 1 {
		t.Errorf("the client keeps %d cookies, want 1", len(next))
	}
	sessiontest.Open(m, next, func(s *middleware.Session) {
		if v, _ := s.GetString("big"); v != big[:10] {
			t.Errorf("big is %d bytes", len(v))
		}
	})
	sessiontest.Open(m, cookies, func(s *middleware.Session) {
		if v, _ := s.GetString("big"); v != big {
			t.Errorf("the seeded chunks open to %d bytes", len(v))
		}
	})
}

// TestFakeClock seeds and reads with a Manager whose clock is years
// ahead of the real one: a token sealed at the fake time would be "not
// yet valid" by the real clock, so opening shows that the Manager's
// clock is used. Moving the fake clock past MaxAge expires it.
func TestFakeClock(t *testing.T) {
	t.Parallel()
	var now atomic.Int64
	now.Store(time.Date(2040, 1, 1, 12, 0, 0, 0, time.UTC).Unix())
	m := newManager(t, newRing(t), middleware.Config{
		MaxAge: time.Hour,
		Now:    func() time.Time { return time.Unix(now.Load(), 0) },
	})
	cookies, err := sessiontest.Cookies(m, func(s *middleware.Session) { s.Set("user", "ada") })
	if err != nil {
		t.Fatal(err)
	}
	sessiontest.Open(m, cookies, func(s *middleware.Session) {
		if s.IsNew() || !s.Expires().Equal(time.Unix(now.Load(), 0).Add(time.Hour)) {
			t.Errorf("at the fake time: new %v, expires %v", s.IsNew(), s.Expires())
		}
	})
	now.Add(int64(2 * time.Hour / time.Second))
	sessiontest.Open(m, cookies, func(s *middleware.Session) {
		if !s.IsNew() {
			t.Error("the session outlived MaxAge on the fake clock")
		}
	})
}

// TestOtherManagerDoesNotOpen checks that the helpers go through real
// sealing: the cookie opens only under the keys, name and audience that
// sealed it.
func TestOtherManagerDoesNotOpen(t *testing.T) {
	t.Parallel()
	ring := newRing(t)
	m := newManager(t, ring, middleware.Config{Audience: "shop"})
	cookies, err := sessiontest.Cookies(m, func(s *middleware.Session) { s.Set("user", "ada") })
	if err != nil {
		t.Fatal(err)
	}
	same := newManager(t, ring, middleware.Config{Audience: "shop"})
	sessiontest.Open(same, cookies, func(s *middleware.Session) {
		if s.IsNew() {
			t.Error("a Manager with the same keys, name and audience did not open the cookie")
		}
	})
	for name, other := range map[string]*middleware.Manager{
		"other audience": newManager(t, ring, middleware.Config{Audience: "blog"}),
		"other keys":     newManager(t, newRing(t), middleware.Config{Audience: "shop"}),
	} {
		sessiontest.Open(other, cookies, func(s *middleware.Session) {
			if !s.IsNew() {
				t.Errorf("%s: the cookie opened", name)
			}
		})
	}
}

func TestAddSessionReplacesTheSessionCookie(t *testing.T) {
	t.Parallel()
	m := newManager(t, newRing(t), middleware.Config{Insecure: true})
	req := sessiontest.NewRequest(t, m, "GET", "/", nil, func(s *middleware.Session) { s.Set("user", "bob") })
	req.AddCookie(&http.Cookie{Name: "theme", Value: "dark"})
	if err := sessiontest.AddSession(req, m, func(s *middleware.Session) { s.Set("user", "ada") }); err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, c := range req.Cookies() {
		names = append(names, c.Name)
	}
	if diff := cmp.Diff([]string{"theme", middleware.DefaultInsecureName}, names); diff != "" {
		t.Errorf("cookie names (-want +got):\n%s", diff)
	}
	sessiontest.Open(m, req.Cookies(), func(s *middleware.Session) {
		if u, _ := s.GetString("user"); u != "ada" {
			t.Errorf("user %q", u)
		}
	})
}

func TestEmptySeed(t *testing.T) {
	t.Parallel()
	m := newManager(t, newRing(t), middleware.Config{})
	cookies, err := sessiontest.Cookies(m, func(*middleware.Session) {})
	if err != nil || len(cookies) != 0 {
		t.Errorf("empty seed: %d cookies, %v", len(cookies), err)
	}
}

// TestTooLargeSeedFails checks that a session the Manager cannot save is
// an error, whether its ErrorHandler answers or stays silent, and that the
// error holds no session value.
func TestTooLargeSeedFails(t *testing.T) {
	t.Parallel()
	const secret = "s3cr3t-value-"
	big := func(s *middleware.Session) { s.Set("big", strings.Repeat(secret, 500)) }
	for name, cfg := range map[string]middleware.Config{
		"default handler": {},
		"silent handler":  {ErrorHandler: func(http.ResponseWriter, *http.Request, error) {}},
	} {
		_, err := sessiontest.Cookies(newManager(t, newRing(t), cfg), big)
		if err == nil {
			t.Errorf("%s: no error", name)
			continue
		}
		if strings.Contains(err.Error(), secret) {
			t.Errorf("%s: the error shows the value", name)
		}
	}
	req := httptest.NewRequest("GET", "/", nil)
	req.AddCookie(&http.Cookie{Name: "keep", Value: "me"})
	if err := sessiontest.AddSession(req, newManager(t, newRing(t), middleware.Config{}), big); err == nil {
		t.Error("AddSession: no error")
	}
	if len(req.Cookies()) != 1 {
		t.Errorf("a failed AddSession changed the request's cookies: %d", len(req.Cookies()))
	}
}

func TestNilArgumentsPanic(t *testing.T) {
	t.Parallel()
	m := newManager(t, newRing(t), middleware.Config{})
	for name, f := range map[string]func(){
		"Cookies nil manager": func() { sessiontest.Cookies(nil, func(*middleware.Session) {}) },
		"Cookies nil func":    func() { sessiontest.Cookies(m, nil) },
		"Open nil manager":    func() { sessiontest.Open(nil, nil, func(*middleware.Session) {}) },
		"Open nil func":       func() { sessiontest.Open(m, nil, nil) },
	} {
		func() {
			defer func() {
				if v := recover(); v == nil || !strings.HasPrefix(fmt.Sprint(v), "sessiontest:") {
					t.Errorf("%s: recovered %v", name, v)
				}
			}()
			f()
		}()
	}
}

// TestLifetimeAndBrowserOnly seeds a remember-me session, a
// browser-session cookie and a default one under a fake clock, and reads
// back a response that turns a session into a browser-session cookie,
// which carries no Max-Age.
func TestLifetimeAndBrowserOnly(t *testing.T) {
	t.Parallel()
	start := time.Date(2035, 3, 1, 9, 0, 0, 0, time.UTC)
	var now atomic.Int64
	now.Store(start.Unix())
	m := newManager(t, newRing(t), middleware.Config{
		MaxAge:      time.Hour,
		MaxLifetime: 30 * 24 * time.Hour,
		Now:         func() time.Time { return time.Unix(now.Load(), 0) },
	})
	seed := func(prepare func(*middleware.Session)) []*http.Cookie {
		t.Helper()
		cookies, err := sessiontest.Cookies(m, func(s *middleware.Session) {
			s.Set("user", "ada")
			prepare(s)
		})
		if err != nil || len(cookies) != 1 {
			t.Fatalf("%d cookies, %v", len(cookies), err)
		}
		return cookies
	}
	remember := seed(func(s *middleware.Session) { s.SetLifetime(30 * 24 * time.Hour) })
	browser := seed(func(s *middleware.Session) { s.SetBrowserOnly(true) })
	plain := seed(func(*middleware.Session) {})

	if got, want := remember[0].MaxAge, 30*24*3600; got != want {
		t.Errorf("remember-me Max-Age %d, want %d", got, want)
	}
	if browser[0].MaxAge != 0 || !browser[0].Expires.IsZero() {
		t.Errorf("browser-session cookie has Max-Age %d, Expires %v", browser[0].MaxAge, browser[0].Expires)
	}
	sessiontest.Open(m, remember, func(s *middleware.Session) {
		if want := start.Add(30 * 24 * time.Hour); !s.Expires().Equal(want) {
			t.Errorf("remember-me expires %v, want %v", s.Expires(), want)
		}
	})

	now.Add(int64(2 * time.Hour / time.Second)) // past MaxAge, within the remembered lifetime
	for name, c := range map[string][]*http.Cookie{"remember": remember, "browser": browser, "plain": plain} {
		sessiontest.Open(m, c, func(s *middleware.Session) {
			if open := !s.IsNew(); open != (name == "remember") {
				t.Errorf("%s after two hours: open %v", name, open)
			}
		})
	}

	// A response that makes the session browser-only: its cookie has no
	// Max-Age, and reading it back keeps it.
	h := m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		m.Get(r).SetBrowserOnly(true)
	}))
	req := httptest.NewRequest("GET", "/", nil)
	for _, c := range remember {
		req.AddCookie(c)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	set := rec.Result().Cookies()
	if len(set) != 1 || set[0].MaxAge != 0 {
		t.Fatalf("response set %d cookies, want one browser-session cookie (no Max-Age)", len(set))
	}
	sessiontest.Read(m, req, rec.Result(), func(s *middleware.Session) {
		if u, _ := s.GetString("user"); u != "ada" || set[0].Value == remember[0].Value {
			t.Errorf("read back user %q; cookie changed %v", u, set[0].Value != remember[0].Value)
		}
	})
}

func TestNextCookies(t *testing.T) {
	t.Parallel()
	req := httptest.NewRequest("GET", "/", nil)
	req.AddCookie(&http.Cookie{Name: "a", Value: "1"})
	req.AddCookie(&http.Cookie{Name: "s", Value: "old"})
	resp := &http.Response{Header: http.Header{"Set-Cookie": {
		"s=new; Path=/; Max-Age=60",
		"b=2; Path=/", // no Max-Age: a browser-session cookie, kept
		"a=; Path=/; Max-Age=0",
	}}}
	names := func(cs []*http.Cookie) string {
		var b strings.Builder
		for _, c := range cs {
			fmt.Fprintf(&b, "%s=%s;", c.Name, c.Value)
		}
		return b.String()
	}
	if got, want := names(sessiontest.NextCookies(req, resp)), "s=new;b=2;"; got != want {
		t.Errorf("with the request: %q, want %q", got, want)
	}
	if got, want := names(sessiontest.NextCookies(nil, resp)), "s=new;b=2;"; got != want {
		t.Errorf("without a request: %q, want %q", got, want)
	}
	resp.Request = req // as http.Client fills it in
	resp.Header = http.Header{}
	if got, want := names(sessiontest.NextCookies(nil, resp)), "a=1;s=old;"; got != want {
		t.Errorf("from resp.Request, nothing set: %q, want %q", got, want)
	}
}
