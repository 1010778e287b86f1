package main

import (
	"context"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"satchel.dev/keyring"
	"satchel.dev/middleware"
	"satchel.dev/revoke/redis/redistest"
)

// replay sends one GET with exactly the given session cookie, as a thief
// holding a copy would, and returns the page. The client's own cookie jar
// is left out.
func replay(t *testing.T, client *http.Client, base string, c *http.Cookie) string {
	t.Helper()
	bare := *client
	bare.Jar = nil
	client = &bare
	req, _ := http.NewRequest("GET", base+"/", nil)
	req.AddCookie(&http.Cookie{Name: c.Name, Value: c.Value})
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// signedInAs reports whether a shop page greets user as signed in.
func signedInAs(page, user string) bool {
	return strings.Contains(page, "Signed in as <strong>"+user+"</strong>")
}

func TestShopCopiedCookieRefusedAfterSignOut(t *testing.T) {
	t.Parallel()
	s := newShop(t, options{})
	s.post("/login", url.Values{"name": {"Ada"}})
	copied := s.cookie()
	if copied == nil {
		t.Fatal("no session cookie after login")
	}
	if !signedInAs(replay(t, s.client, s.srv.URL, copied), "Ada") {
		t.Fatal("the copied cookie does not work before sign-out")
	}
	s.post("/logout", nil)
	if signedInAs(replay(t, s.client, s.srv.URL, copied), "Ada") {
		t.Error("a copy of the cookie still signs in after sign-out")
	}
}

func TestShopSignOutEverywhere(t *testing.T) {
	t.Parallel()
	var clock atomic.Int64 // Unix seconds
	clock.Store(time.Now().Unix())
	laptop := newShop(t, options{Now: func() time.Time { return time.Unix(clock.Load(), 0) }})
	// A second device of the same user, and another user, on the same
	// server: same handler, their own cookie jars.
	device := func() *http.Client {
		c := *laptop.srv.Client() // a copy: Client returns one shared value
		c.Jar, _ = cookiejar.New(nil)
		return &c
	}
	phone, other := device(), device()
	laptop.post("/login", url.Values{"name": {"Ada"}})
	if _, err := phone.PostForm(laptop.srv.URL+"/login", url.Values{"name": {"Ada"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := other.PostForm(laptop.srv.URL+"/login", url.Values{"name": {"Grace"}}); err != nil {
		t.Fatal(err)
	}
	phoneCookie := sessionCookie(t, phone, laptop.url)
	laptop.post("/logout/everywhere", nil)
	if signedInAs(replay(t, laptop.client, laptop.srv.URL, phoneCookie), "Ada") {
		t.Error("the phone is still signed in after sign-out everywhere")
	}
	if !signedInAs(replay(t, laptop.client, laptop.srv.URL, sessionCookie(t, other, laptop.url)), "Grace") {
		t.Error("sign-out everywhere of Ada signed Grace out")
	}
	// Signing in again afterwards works. Session times are whole seconds,
	// so a session created in the very second of the sign-out counts as
	// older than it and is refused: sign in again a second later.
	clock.Add(1)
	laptop.post("/login", url.Values{"name": {"Ada"}})
	if !signedInAs(laptop.get("/").body, "Ada") {
		t.Error("a new sign-in right after sign-out everywhere does not stick")
	}
}

func sessionCookie(t *testing.T, c *http.Client, u *url.URL) *http.Cookie {
	t.Helper()
	for _, ck := range c.Jar.Cookies(u) {
		if ck.Name == middleware.DefaultName {
			return ck
		}
	}
	t.Fatal("no session cookie in the jar")
	return nil
}

// TestShopSharesSignOutsThroughRedis runs two shop servers as `go run
// ./examples/shop` would, sharing SATCHEL_KEYS and SATCHEL_REDIS (a real
// redis-server on a loopback port): a cookie copied before sign-out on one
// server is refused by the other.
func TestShopSharesSignOutsThroughRedis(t *testing.T) {
	redis := redistest.Start(t) // skips without redis-server unless CI=true
	key, err := keyring.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	env := map[string]string{
		keyring.EnvVar: key.ExportPASERK(),
		redisEnv:       "redis://" + redis.Addr(),
	}
	a, stderrA := startRun(t, env)
	b, _ := startRun(t, env)
	if !strings.Contains(stderrA.String(), "shared through Redis") {
		t.Fatalf("the shop does not say it shares sign-outs through Redis:\n%s", stderrA.String())
	}

	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := client.PostForm(a+"/login", url.Values{"name": {"Ada"}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	var copied *http.Cookie
	for _, c := range resp.Cookies() {
		if c.Name == middleware.DefaultName {
			copied = c
		}
	}
	if copied == nil {
		t.Fatal("no session cookie from server A")
	}
	if !signedInAs(replay(t, client, b, copied), "Ada") {
		t.Fatal("server B does not accept server A's session before sign-out")
	}
	req, _ := http.NewRequest("POST", a+"/logout", nil)
	req.AddCookie(copied)
	if resp, err = client.Do(req); err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	deadline := time.Now().Add(2 * time.Second)
	for signedInAs(replay(t, client, b, copied), "Ada") {
		if time.Now().After(deadline) {
			t.Fatal("server B still accepts the copied cookie 2 s after sign-out on server A")
		}
		time.Sleep(10 * time.Millisecond) // polling a real server over loopback
	}
}

// startRun starts the shop's run on a free loopback port with the
// environment env, waits until it listens, and returns its base URL and
// its stderr. The server stops, and must stop cleanly, when the test ends.
func startRun(t *testing.T, env map[string]string) (string, *lockedBuffer) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	stderr := newLockedBuffer()
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"-addr", "127.0.0.1:0"}, func(k string) string { return env[k] }, stderr)
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("run: %v", err)
			}
		case <-time.After(10 * time.Second):
			t.Error("run did not stop")
		}
	})
	base, ok := stderr.waitFor(regexp.MustCompile(`listening on (http://127\.0\.0\.1:\d+)`), 10*time.Second)
	if !ok {
		t.Fatalf("server did not start:\n%s", stderr.String())
	}
	return base, stderr
}
