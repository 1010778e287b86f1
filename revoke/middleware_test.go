package revoke_test

import (
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"satchel.dev/keyring"
	"satchel.dev/middleware"
	"satchel.dev/revoke"
)

// The Set is what the middleware's Revocations hook expects.
var _ middleware.Revocations = (*revoke.Set)(nil)

// The defaults agree with the middleware's, so zero configs match.
func TestDefaultsMatchMiddleware(t *testing.T) {
	t.Parallel()
	if revoke.DefaultMaxAge != middleware.DefaultMaxAge || revoke.DefaultLeeway != middleware.DefaultLeeway {
		t.Fatalf("revoke defaults %v/%v, middleware %v/%v", revoke.DefaultMaxAge, revoke.DefaultLeeway,
			middleware.DefaultMaxAge, middleware.DefaultLeeway)
	}
}

// app is a Manager with a Set, behind a small login app, driven by hand
// with a fake clock shared by both.
type app struct {
	t     *testing.T
	clock *clock
	set   *revoke.Set
	h     http.Handler
}

func newApp(t *testing.T) *app {
	t.Helper()
	return newAppWith(t, revoke.Config{MaxAge: time.Hour}, middleware.Config{MaxAge: time.Hour})
}

// newAppWith is newApp with the Set's and the middleware's Config; the
// clock, the Set and Insecure are filled in.
func newAppWith(t *testing.T, rcfg revoke.Config, mcfg middleware.Config) *app {
	t.Helper()
	a := &app{t: t}
	a.set, a.clock = newSet(t, rcfg)
	key, err := keyring.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	ring, err := keyring.FromKeys(key)
	if err != nil {
		t.Fatal(err)
	}
	mcfg.Insecure, mcfg.Now, mcfg.Revocations = true, a.clock.Now, a.set
	m, err := middleware.New(ring, mcfg)
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/login", func(w http.ResponseWriter, r *http.Request) {
		s := middleware.Get(r)
		s.Renew()
		s.SetSubject(r.FormValue("user"))
		s.Set("user", r.FormValue("user"))
	})
	// "Remember me": a login whose session outlives MaxAge.
	mux.HandleFunc("/remember", func(w http.ResponseWriter, r *http.Request) {
		s := middleware.Get(r)
		s.Renew()
		s.SetSubject(r.FormValue("user"))
		s.SetLifetime(mcfg.MaxLifetime)
		s.Set("user", r.FormValue("user"))
	})
	mux.HandleFunc("/whoami", func(w http.ResponseWriter, r *http.Request) {
		user, _ := middleware.Get(r).GetString("user")
		io.WriteString(w, user)
	})
	mux.HandleFunc("/logout", func(w http.ResponseWriter, r *http.Request) {
		middleware.Get(r).Destroy()
	})
	// A password change: every other session of the user ends, this one
	// goes on under a new id.
	mux.HandleFunc("/password", func(w http.ResponseWriter, r *http.Request) {
		// The old id is kept too: the middleware checks the session the
		// request opened before it writes the renewed one, and signs the
		// old id out itself once it has.
		s := middleware.Get(r)
		old := s.ID()
		s.Renew()
		if err := a.set.RevokeSubject(r.Context(), s.Subject(), a.clock.Now(), old, s.ID()); err != nil {
			http.Error(w, "sign-out failed", 500)
		}
	})
	a.h = m.Handler(mux)
	return a
}

// do sends a request with cookie (empty: none) and returns the body and
// the new cookie, if the response set one ("" if it deleted it).
func (a *app) do(path, cookie string) (body, next string) {
	a.t.Helper()
	req := httptest.NewRequest("GET", path, nil)
	if cookie != "" {
		req.Header.Set("Cookie", cookie)
	}
	w := httptest.NewRecorder()
	a.h.ServeHTTP(w, req)
	if w.Code != 200 {
		a.t.Fatalf("%s: status %d", path, w.Code)
	}
	next = cookie
	for _, c := range w.Result().Cookies() {
		next = ""
		if c.MaxAge >= 0 && c.Value != "" {
			next = c.Name + "=" + c.Value
		}
	}
	return w.Body.String(), next
}

func (a *app) login(user string) string {
	_, c := a.do("/login?user="+user, "")
	if c == "" {
		a.t.Fatal("login set no cookie")
	}
	return c
}

func (a *app) whoami(cookie string) string {
	body, _ := a.do("/whoami", cookie)
	return body
}

// Sign-out sticks: a copy of the cookie taken before Destroy is refused,
// and the entry goes once the token has expired anyway.
func TestMiddlewareSignOut(t *testing.T) {
	t.Parallel()
	a := newApp(t)
	copied := a.login("ada")
	other := a.login("ada") // the same user on another device
	a.clock.Advance(time.Minute)
	if got := a.whoami(copied); got != "ada" {
		t.Fatalf("before sign-out: %q", got)
	}
	if _, c := a.do("/logout", copied); c != "" {
		t.Fatal("logout did not delete the cookie")
	}
	if got := a.whoami(copied); got != "" {
		t.Fatalf("a copy of the signed-out cookie still opens: %q", got)
	}
	if got := a.whoami(other); got != "ada" {
		t.Fatalf("the other device's session was lost: %q", got)
	}
	if a.set.Len().Sessions != 1 {
		t.Fatalf("Len = %+v, want one session entry", a.set.Len())
	}
	a.clock.Advance(time.Hour + 2*time.Minute)
	if n := a.set.Sweep(); n != 1 {
		t.Fatalf("Sweep after the token's expiry dropped %d entries, want 1", n)
	}
}

// Sign out everywhere keeps the session that asked for it, even one
// renewed in the very second of the mark, and ends every other one.
func TestMiddlewareSignOutEverywhere(t *testing.T) {
	t.Parallel()
	a := newApp(t)
	laptop := a.login("ada")
	phone := a.login("ada")
	bob := a.login("bob")
	a.clock.Advance(1500 * time.Millisecond)
	body, current := a.do("/password", laptop)
	if body != "" || current == "" || current == laptop {
		t.Fatalf("password change: body %q, new cookie set %v", body, current != laptop)
	}
	for _, tt := range []struct {
		name, cookie, want string
	}{
		{"the session that changed the password", current, "ada"},
		{"its old cookie", laptop, ""},
		{"another device", phone, ""},
		{"another user", bob, "bob"},
	} {
		if got := a.whoami(tt.cookie); got != tt.want {
			t.Errorf("%s: whoami = %q, want %q", tt.name, got, tt.want)
		}
	}
	// A login one second later works; one in the mark's second is the
	// documented casualty.
	if _, c := a.do("/login?user=ada", ""); c != "" {
		t.Errorf("a login in the mark's own second was saved")
	}
	a.clock.Advance(time.Second)
	if got := a.whoami(a.login("ada")); got != "ada" {
		t.Errorf("a login after the mark: whoami = %q", got)
	}
}

// A sign-out outlives every copy of the cookie, not only the one the
// logout request carried: with an idle timeout, a copy refreshed before
// the logout expires later than the logout's own token, and must still be
// refused once the Set has swept the entries it thinks are over.
func TestMiddlewareSignOutOutlivesRefreshedCopies(t *testing.T) {
	t.Parallel()
	a := newAppWith(t, revoke.Config{MaxAge: 24 * time.Hour},
		middleware.Config{MaxAge: 24 * time.Hour, IdleTimeout: 30 * time.Minute})
	victim := a.login("ada")
	a.clock.Advance(20 * time.Minute)
	body, stolen := a.do("/whoami", victim) // the thief's copy, refreshed
	if body != "ada" || stolen == victim {
		t.Fatalf("the copy was not refreshed: %q", body)
	}
	a.clock.Advance(5 * time.Minute)
	a.do("/logout", victim) // the victim's token expires at +30m
	a.clock.Advance(7 * time.Minute)
	a.set.Sweep()
	if got := a.whoami(stolen); got != "" {
		t.Errorf("a copy refreshed before sign-out opens after the logout's token expired: %q", got)
	}
}

// A remember-me session stays signed out for as long as it could live, and
// a Set that would forget sooner than that is refused by the middleware.
func TestMiddlewareRememberMeSignOut(t *testing.T) {
	t.Parallel()
	const month = 30 * 24 * time.Hour
	set, clock := newSet(t, revoke.Config{MaxAge: time.Hour})
	key, _ := keyring.GenerateKey()
	ring, _ := keyring.FromKeys(key)
	_, err := middleware.New(ring, middleware.Config{MaxAge: time.Hour, MaxLifetime: month, Now: clock.Now, Revocations: set})
	if !errors.Is(err, middleware.ErrConfig) {
		t.Errorf("New with a one-hour Set and a month's MaxLifetime: %v, want ErrConfig", err)
	}

	a := newAppWith(t, revoke.Config{MaxAge: month}, middleware.Config{MaxAge: time.Hour, MaxLifetime: month})
	_, signedOut := a.do("/remember?user=ada", "")
	_, everywhere := a.do("/remember?user=bob", "")
	a.do("/logout", signedOut)
	if err := a.set.RevokeSubject(ctx, "bob", a.clock.Now()); err != nil {
		t.Fatal(err)
	}
	a.clock.Advance(2 * time.Hour)
	a.set.Sweep()
	if got := a.whoami(signedOut); got != "" {
		t.Errorf("a signed-out remember-me session opens after MaxAge: %q", got)
	}
	if got := a.whoami(everywhere); got != "" {
		t.Errorf("a remember-me session signed out everywhere opens after MaxAge: %q", got)
	}
}
