package integrations_test

import (
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/gin-gonic/gin"

	"satchel.dev/keyring"
	satchel "satchel.dev/middleware"
)

func TestMain(m *testing.M) {
	gin.SetMode(gin.TestMode) // no debug line per route
	m.Run()
}

// profile is the struct every app keeps in the session at login.
type profile struct {
	Name string `json:"name"`
	Lang string `json:"lang"`
}

// newManager returns a Manager with a fresh key and the default (secure)
// configuration, logging errors to the test.
func newManager(t *testing.T) *satchel.Manager {
	t.Helper()
	key, err := keyring.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	ring, err := keyring.FromKeys(key)
	if err != nil {
		t.Fatal(err)
	}
	m, err := satchel.New(ring, satchel.Config{Logger: testLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// testLogger sends log records to t.Log, so an unexpected error shows.
func testLogger(t *testing.T) *slog.Logger {
	return slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelWarn}))
}

// browser is a real HTTP client of an app served over TLS on loopback,
// with a cookie jar, following redirects like a browser.
type browser struct {
	t      *testing.T
	base   string
	url    *url.URL
	client *http.Client
}

func newBrowser(t *testing.T, h http.Handler) *browser {
	t.Helper()
	srv := httptest.NewTLSServer(h)
	t.Cleanup(srv.Close)
	c := srv.Client()
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	c.Jar = jar
	u, err := url.Parse(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	return &browser{t: t, base: srv.URL, url: u, client: c}
}

// do sends a request and returns the final status and body.
func (b *browser) do(method, path string, form url.Values) (int, string) {
	b.t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, b.base+path, body)
	if err != nil {
		b.t.Fatal(err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	resp, err := b.client.Do(req)
	if err != nil {
		b.t.Fatal(err)
	}
	defer resp.Body.Close()
	out, err := io.ReadAll(resp.Body)
	if err != nil {
		b.t.Fatal(err)
	}
	return resp.StatusCode, string(out)
}

// sessionCookies returns the names of the session cookies in the jar.
func (b *browser) sessionCookies() []string {
	var names []string
	for _, c := range b.client.Jar.Cookies(b.url) {
		if strings.HasPrefix(c.Name, satchel.DefaultName) {
			names = append(names, c.Name)
		}
	}
	return names
}

// expect checks one step of the flow.
func (b *browser) expect(step string, gotStatus int, gotBody string, wantStatus int, wantBody string) {
	b.t.Helper()
	if gotStatus != wantStatus || gotBody != wantBody {
		b.t.Errorf("%s: got %d %q, want %d %q", step, gotStatus, gotBody, wantStatus, wantBody)
	}
}

// runFlow drives one app through the scenario every port must pass: the
// same routes and answers in each router.
//
//	GET  /         "hello, NAME" or "hello, stranger", the flash messages
//	               (one a line, "flash: ..."), and "count: N" once signed in
//	POST /login    name, lang: renew, keep the user and a profile struct,
//	               flash a welcome, 303 to /
//	POST /count    read the counter, add one, store it; 401 when signed out
//	GET  /profile  the profile struct, decoded from the session
//	POST /logout   destroy the session, 303 to /
func runFlow(t *testing.T, h http.Handler) {
	b := newBrowser(t, h)

	st, body := b.do("GET", "/", nil)
	b.expect("first visit", st, body, 200, "hello, stranger\n")
	if c := b.sessionCookies(); len(c) != 0 {
		t.Errorf("a visit that changed nothing set cookies %v", c)
	}
	st, body = b.do("POST", "/count", nil)
	b.expect("count signed out", st, body, 401, "sign in first\n")

	st, body = b.do("POST", "/login", url.Values{"name": {"ada"}, "lang": {"go"}})
	b.expect("login", st, body, 200, "hello, ada\nflash: welcome, ada\ncount: 0\n")
	if c := b.sessionCookies(); len(c) != 1 {
		t.Fatalf("after login the jar holds session cookies %v, want one", c)
	}
	st, body = b.do("GET", "/", nil)
	b.expect("flash shown once", st, body, 200, "hello, ada\ncount: 0\n")

	for i := 1; i <= 3; i++ {
		st, body = b.do("POST", "/count", nil)
		b.expect("count", st, body, 200, fmt.Sprintf("count: %d\n", i))
	}
	st, body = b.do("GET", "/", nil)
	b.expect("count kept", st, body, 200, "hello, ada\ncount: 3\n")

	st, body = b.do("GET", "/profile", nil)
	b.expect("profile", st, body, 200, "ada likes go\n")

	st, body = b.do("POST", "/logout", nil)
	b.expect("logout", st, body, 200, "hello, stranger\n")
	if c := b.sessionCookies(); len(c) != 0 {
		t.Errorf("logout left session cookies %v", c)
	}
	st, body = b.do("POST", "/count", nil)
	b.expect("count after logout", st, body, 401, "sign in first\n")
}
