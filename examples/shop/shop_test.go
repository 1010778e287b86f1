package main

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"satchel.dev/keyring"
	"satchel.dev/middleware"
	"satchel.dev/sessiontest"
)

// shop is a test client of the app over TLS, with a cookie jar.
type shop struct {
	t        *testing.T
	srv      *httptest.Server
	client   *http.Client
	url      *url.URL
	sessions *middleware.Manager // seals and opens the app's cookies
}

func newShop(t *testing.T, opts options) *shop {
	t.Helper()
	key, err := keyring.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	ring, err := keyring.FromKeys(key)
	if err != nil {
		t.Fatal(err)
	}
	if opts.Logger == nil {
		opts.Logger = discardLogger()
	}
	h, err := newApp(ring, opts)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewTLSServer(h)
	t.Cleanup(srv.Close)
	c := srv.Client()
	c.Jar, _ = cookiejar.New(nil)
	u, _ := url.Parse(srv.URL)
	return &shop{t: t, srv: srv, client: c, url: u, sessions: shopSessions(t, ring, opts)}
}

// shopSessions returns a Manager configured as newApp configures the
// shop's: with the same keys, cookie name and audience it seals cookies the
// app opens and opens those the app sets, so that tests can seed the app's
// sessions and read them back with sessiontest.
func shopSessions(t *testing.T, src keyring.Source, opts options) *middleware.Manager {
	t.Helper()
	m, err := middleware.New(src, middleware.Config{
		Insecure:    opts.Insecure,
		Audience:    "satchel-shop",
		IdleTimeout: 24 * time.Hour,
		Now:         opts.Now,
		Logger:      discardLogger(),
	})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// newShopHandler returns the app's handler and a Manager for its cookies,
// for tests that call the handler directly.
func newShopHandler(t *testing.T) (http.Handler, *middleware.Manager) {
	t.Helper()
	key, err := keyring.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	ring, err := keyring.FromKeys(key)
	if err != nil {
		t.Fatal(err)
	}
	h, err := newApp(ring, options{Logger: discardLogger()})
	if err != nil {
		t.Fatal(err)
	}
	return h, shopSessions(t, ring, options{})
}

// signedIn seeds a session of a signed-in user with a cart.
func signedIn(user string, cart map[string]int) func(*middleware.Session) {
	return func(s *middleware.Session) {
		s.Set(keyUser, user)
		if cart != nil {
			s.Set(keyCart, cart)
		}
	}
}

// page is a response with its body.
type page struct {
	status int
	body   string
	header http.Header
}

func (s *shop) get(path string) page {
	s.t.Helper()
	resp, err := s.client.Get(s.srv.URL + path)
	return s.read(resp, err)
}

func (s *shop) post(path string, form url.Values) page {
	s.t.Helper()
	resp, err := s.client.PostForm(s.srv.URL+path, form)
	return s.read(resp, err)
}

func (s *shop) read(resp *http.Response, err error) page {
	s.t.Helper()
	if err != nil {
		s.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return page{resp.StatusCode, string(b), resp.Header}
}

func (s *shop) cookie() *http.Cookie {
	for _, c := range s.client.Jar.Cookies(s.url) {
		if c.Name == middleware.DefaultName {
			return c
		}
	}
	return nil
}

func (p page) has(t *testing.T, parts ...string) {
	t.Helper()
	for _, part := range parts {
		if !strings.Contains(p.body, part) {
			t.Errorf("page (status %d) lacks %q", p.status, part)
		}
	}
}

func TestShopFlow(t *testing.T) {
	s := newShop(t, options{})
	p := s.get("/")
	p.has(t, `id="login-form"`, "No session cookie yet.")

	p = s.post("/login", url.Values{"name": {"  Ada   Lovelace "}})
	p.has(t, "Signed in as <strong>Ada Lovelace</strong>", "Welcome, Ada Lovelace.", "Fresh this week")
	if s.cookie() == nil {
		t.Fatal("no session cookie after login")
	}

	for _, sku := range []string{"TEA-SEN", "TEA-SEN", "COF-ETH"} {
		s.post("/cart/add", url.Values{"sku": {sku}})
	}
	p = s.get("/cart")
	p.has(t, `id="line-TEA-SEN"`, `id="line-COF-ETH"`, `id="cart-count">3<`, `id="total">€40.70<`)
	if strings.Count(p.body, "Added") != 0 {
		t.Error("flash messages shown again")
	}

	p = s.post("/cart/remove", url.Values{"sku": {"TEA-SEN"}, "next": {"/cart"}})
	p.has(t, "Removed Sencha Uji.", `id="cart-count">1<`)

	p = s.post("/theme", url.Values{"theme": {"dark"}, "next": {"/cart"}})
	p.has(t, `data-theme="dark"`, "Your cart")
	p = s.get("/")
	p.has(t, `data-theme="dark"`, `1 in cart`)

	p = s.post("/cart/note", url.Values{"note": {"Happy birthday <3"}, "next": {"/cart"}})
	p.has(t, "Gift note saved.", "Happy birthday &lt;3")

	p = s.post("/logout", nil)
	p.has(t, `id="bye"`, `id="login-form"`)
	if s.cookie() != nil {
		t.Error("the session cookie survived logout")
	}
}

func TestShopSeededCart(t *testing.T) {
	t.Parallel()
	h, sessions := newShopHandler(t)
	req := sessiontest.NewRequest(t, sessions, "GET", "/cart", nil,
		signedIn("Ada", map[string]int{"TEA-SEN": 2, "COF-ETH": 1}))
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	p := page{rec.Code, rec.Body.String(), rec.Result().Header}
	p.has(t, "Signed in as <strong>Ada</strong>", `id="line-TEA-SEN"`, `id="line-COF-ETH"`, `id="cart-count">3<`, `id="total">€40.70<`)
}

// TestShopRemoveFromCart checks a handler's change to the session by
// reading back the cookie its response set.
func TestShopRemoveFromCart(t *testing.T) {
	t.Parallel()
	h, sessions := newShopHandler(t)
	form := url.Values{"sku": {"TEA-SEN"}, "next": {"/cart"}}
	req := sessiontest.NewRequest(t, sessions, "POST", "/cart/remove", strings.NewReader(form.Encode()),
		signedIn("Ada", map[string]int{"TEA-SEN": 2, "COF-ETH": 1}))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != http.StatusSeeOther || rec.Header().Get("Location") != "/cart" {
		t.Fatalf("status %d, Location %q", rec.Code, rec.Header().Get("Location"))
	}
	sessiontest.Read(sessions, req, rec.Result(), func(s *middleware.Session) {
		if user, _ := s.GetString(keyUser); user != "Ada" {
			t.Errorf("user %q", user)
		}
		if diff := cmp.Diff(map[string]int{"COF-ETH": 1}, cartOf(s)); diff != "" {
			t.Errorf("cart (-want +got):\n%s", diff)
		}
		if diff := cmp.Diff([]middleware.FlashMessage{{Message: "Removed Sencha Uji."}}, s.Flashes()); diff != "" {
			t.Errorf("flashes (-want +got):\n%s", diff)
		}
	})
}

func TestShopLogoutEndsTheSession(t *testing.T) {
	t.Parallel()
	h, sessions := newShopHandler(t)
	req := sessiontest.NewRequest(t, sessions, "POST", "/logout", nil, signedIn("Ada", nil))
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	sessiontest.Read(sessions, req, rec.Result(), func(s *middleware.Session) {
		if !s.IsNew() || s.Len() != 0 {
			t.Errorf("after logout: new %v, %d values", s.IsNew(), s.Len())
		}
	})
}

// TestShopSeededBrowser puts a seeded session into the client's cookie
// jar, as if the user had signed in earlier, and uses the real server.
func TestShopSeededBrowser(t *testing.T) {
	t.Parallel()
	s := newShop(t, options{})
	cookies, err := sessiontest.Cookies(s.sessions, signedIn("Grace", map[string]int{"ACC-POT": 1}))
	if err != nil {
		t.Fatal(err)
	}
	s.client.Jar.SetCookies(s.url, cookies)
	p := s.get("/cart")
	p.has(t, "Signed in as <strong>Grace</strong>", `id="line-ACC-POT"`, `id="cart-count">1<`)

	s.post("/theme", url.Values{"theme": {"dark"}})
	sessiontest.Open(s.sessions, s.client.Jar.Cookies(s.url), func(sess *middleware.Session) {
		if theme, _ := sess.GetString(keyTheme); theme != "dark" {
			t.Errorf("theme %q after choosing dark", theme)
		}
	})
}

func TestShopLoginValidation(t *testing.T) {
	s := newShop(t, options{})
	for _, name := range []string{"", "   ", strings.Repeat("x", maxNameLen+1)} {
		p := s.post("/login", url.Values{"name": {name}})
		p.has(t, "Please enter a name", `id="login-form"`)
	}
	p := s.post("/cart/add", url.Values{"sku": {"TEA-SEN"}})
	p.has(t, "Please sign in first.")
}

func TestShopTamperedCookieIsLoggedOut(t *testing.T) {
	s := newShop(t, options{})
	s.post("/login", url.Values{"name": {"Ada"}})
	c := s.cookie()
	b := []byte(c.Value)
	b[len(b)/2] ^= 0x01
	if b[len(b)/2] == '.' || b[len(b)/2] == '/' {
		b[len(b)/2] = 'A'
	}
	s.client.Jar, _ = cookiejar.New(nil)
	s.client.Jar.SetCookies(s.url, []*http.Cookie{{Name: c.Name, Value: string(b), Path: "/", Secure: true}})
	p := s.get("/")
	if p.status != http.StatusOK {
		t.Fatalf("status %d", p.status)
	}
	p.has(t, `id="login-form"`)
}

func TestShopSessionFullIsRefusedLoudly(t *testing.T) {
	s := newShop(t, options{})
	s.post("/login", url.Values{"name": {"Ada"}})
	s.post("/cart/add", url.Values{"sku": {"ACC-POT"}})
	s.post("/cart/note", url.Values{"note": {"short note"}})
	before := s.cookie().Value

	p := s.post("/cart/note", url.Values{"note": {strings.Repeat("long note ", 500)}, "next": {"/cart"}})
	if p.status != http.StatusRequestEntityTooLarge {
		t.Fatalf("status %d, want 413", p.status)
	}
	p.has(t, `id="session-full"`, "Nothing was changed")
	if p.header.Get("Location") != "" || len(p.header.Values("Set-Cookie")) != 0 {
		t.Errorf("error page kept the handler's headers: %v", p.header)
	}
	if s.cookie().Value != before {
		t.Error("the cookie changed")
	}
	p = s.get("/cart")
	p.has(t, `id="line-ACC-POT"`, ">short note<")
}

func TestShopCrossOriginPostRefused(t *testing.T) {
	s := newShop(t, options{})
	req, _ := http.NewRequest("POST", s.srv.URL+"/login", strings.NewReader("name=Mallory"))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Sec-Fetch-Site", "cross-site")
	p := s.read(s.client.Do(req))
	if p.status != http.StatusForbidden || s.cookie() != nil {
		t.Errorf("cross-site login: status %d, cookie %v", p.status, s.cookie())
	}
}

func TestShopInsecureCookie(t *testing.T) {
	key, _ := keyring.GenerateKey()
	ring, _ := keyring.FromKeys(key)
	h, err := newApp(ring, options{Insecure: true, Logger: discardLogger()})
	if err != nil {
		t.Fatal(err)
	}
	req := httptest.NewRequest("POST", "/login", strings.NewReader("name=Ada"))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	sc := rec.Header().Get("Set-Cookie")
	if !strings.HasPrefix(sc, "session=") || strings.Contains(sc, "Secure") {
		t.Errorf("insecure Set-Cookie %q", sc)
	}
}

func TestShopNotFound(t *testing.T) {
	s := newShop(t, options{})
	if p := s.get("/nope"); p.status != http.StatusNotFound {
		t.Errorf("status %d", p.status)
	}
}

func TestRunWithDevelopmentKey(t *testing.T) {
	base, stderr := startRun(t, nil)
	if !strings.Contains(stderr.String(), "$SATCHEL_KEYS is not set: using a random development key (k4.lid.") {
		t.Errorf("no development key notice: %s", stderr.String())
	}
	if !regexp.MustCompile(`listening on http://127\.0\.0\.1:\d+ \(pid \d+\)`).MatchString(stderr.String()) {
		t.Errorf("the server does not say its own pid: %s", stderr.String())
	}
	resp, err := http.Get(base + "/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Errorf("GET /: %d", resp.StatusCode)
	}
}

func TestRunRefusesBadKeys(t *testing.T) {
	var stderr lockedBuffer
	const bad = "k4.local.not-a-real-key-at-all"
	err := run(context.Background(), nil, func(string) string { return bad }, &stderr)
	if err == nil || !strings.Contains(err.Error(), "$SATCHEL_KEYS") {
		t.Fatalf("run: %v", err)
	}
	if strings.Contains(err.Error(), "not-a-real") || strings.Contains(stderr.String(), "not-a-real") {
		t.Error("the error echoes the key")
	}
}

func TestRunUsesConfiguredKeys(t *testing.T) {
	key, _ := keyring.GenerateKey()
	var stderr lockedBuffer
	ring, err := loadKeys(func(string) string { return key.ExportPASERK() }, &stderr)
	if err != nil {
		t.Fatal(err)
	}
	if ring.Primary().ID() != key.ID() || stderr.String() != "" {
		t.Errorf("primary %s, stderr %q", ring.Primary().ID(), stderr.String())
	}
}

// lockedBuffer is run's stderr in tests: safe for the server's
// goroutines, and, when made by newLockedBuffer, it signals every write so
// that a test can wait for a line without polling.
type lockedBuffer struct {
	mu    sync.Mutex
	b     bytes.Buffer
	wrote chan struct{}
}

func newLockedBuffer() *lockedBuffer { return &lockedBuffer{wrote: make(chan struct{}, 1)} }

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	n, err := l.b.Write(p)
	select {
	case l.wrote <- struct{}{}:
	default: // a signal is already pending, or nobody waits
	}
	return n, err
}

// waitFor returns re's first submatch in what was written, waiting for
// further writes until it appears or d passes.
func (l *lockedBuffer) waitFor(re *regexp.Regexp, d time.Duration) (string, bool) {
	timeout := time.After(d)
	for {
		if m := re.FindStringSubmatch(l.String()); m != nil {
			return m[1], true
		}
		select {
		case <-l.wrote:
		case <-timeout:
			return "", false
		}
	}
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func discardLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }
