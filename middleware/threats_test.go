package middleware_test

// Tests of the threat model entries that concern the middleware, named
// TestThreatNN after the entry's number.

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"satchel.dev/keyring"
	"satchel.dev/middleware"
	"satchel.dev/token"
)

// Threat 2: a token sealed for cookie A fails as cookie B, and under another
// audience, even with the same keys.
func TestThreat02_TokenMovedToAnotherCookieOrAudience(t *testing.T) {
	t.Parallel()
	ring := newRing(t, newKey(t))
	now := func() time.Time { return t0 }
	issue := func(cfg middleware.Config) (name, value string) {
		cfg.Now = now
		m := newManager(t, ring, cfg)
		rec := httptest.NewRecorder()
		m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			middleware.Get(r).Set("role", "admin")
		})).ServeHTTP(rec, httptest.NewRequest("GET", "/", nil))
		c := cookieAttrs(t, rec.Header().Get("Set-Cookie"))
		return c.Name, c.Value
	}
	read := func(cfg middleware.Config, cookie string) string {
		cfg.Now = now
		m := newManager(t, ring, cfg)
		rec := httptest.NewRecorder()
		req := httptest.NewRequest("GET", "/", nil)
		req.Header.Set("Cookie", cookie)
		m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			v, _ := middleware.Get(r).GetString("role")
			io.WriteString(w, v)
		})).ServeHTTP(rec, req)
		return rec.Body.String()
	}

	admin := middleware.Config{Name: "__Host-admin", Audience: "admin-console"}
	name, value := issue(admin)
	if got := read(admin, name+"="+value); got != "admin" {
		t.Fatalf("control: the token does not open where it was issued (%q)", got)
	}
	tests := []struct {
		name string
		cfg  middleware.Config
	}{
		{"other cookie name", middleware.Config{Name: "__Host-shop", Audience: "admin-console"}},
		{"other audience", middleware.Config{Name: "__Host-admin", Audience: "shop"}},
		{"no audience", middleware.Config{Name: "__Host-admin"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := read(tt.cfg, tt.cfg.Name+"="+value); got != "" {
				t.Errorf("the moved token opened: role %q", got)
			}
		})
	}
}

// revocations is a test Revocations: a set of signed-out session ids and
// per-subject "signed out everywhere" marks, with a switch that makes
// RevokeSession fail.
type revocations struct {
	mu      sync.Mutex
	ids     map[string]time.Time // id -> the token's exp
	since   map[string]time.Time // subject -> mark
	fail    error
	revoked []string // ids passed to RevokeSession, in order
	onCheck func()   // called at each Revoked, outside the lock
}

func (rv *revocations) revokeAll(subject string, at time.Time) {
	rv.mu.Lock()
	defer rv.mu.Unlock()
	if rv.since == nil {
		rv.since = map[string]time.Time{}
	}
	rv.since[subject] = at
}

func (rv *revocations) Revoked(id, subject string, created time.Time) bool {
	rv.mu.Lock()
	_, gone := rv.ids[id]
	since, marked := rv.since[subject]
	rv.mu.Unlock()
	return gone || subject != "" && marked && !since.Before(created)
}

func (rv *revocations) RevokeSession(_ context.Context, id string, expires time.Time) error {
	rv.mu.Lock()
	defer rv.mu.Unlock()
	if rv.fail != nil {
		return rv.fail
	}
	if rv.ids == nil {
		rv.ids = map[string]time.Time{}
	}
	rv.ids[id] = expires
	rv.revoked = append(rv.revoked, id)
	return nil
}

func (rv *revocations) calls() []string {
	rv.mu.Lock()
	defer rv.mu.Unlock()
	return slices.Clone(rv.revoked)
}

// logoutApp is kv plus /login?user=U, which renews the session and sets
// its subject and "user" value, /logout, which destroys the session, and
// /logout-everywhere, which also marks the subject signed out everywhere
// in rv.
func logoutApp(rv *revocations, now func() time.Time) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("/", kv())
	mux.HandleFunc("/login", func(w http.ResponseWriter, r *http.Request) {
		s := middleware.Get(r)
		s.Renew()
		user := r.URL.Query().Get("user")
		s.SetSubject(user)
		s.Set("user", user)
	})
	mux.HandleFunc("/logout", func(w http.ResponseWriter, r *http.Request) {
		middleware.Get(r).Destroy()
	})
	mux.HandleFunc("/logout-everywhere", func(w http.ResponseWriter, r *http.Request) {
		s := middleware.Get(r)
		rv.revokeAll(s.Subject(), now())
		s.Destroy()
	})
	return mux
}

// Threat 6: replay after logout. Without server state a captured cookie stays
// valid for its remaining lifetime, and no longer; with Config.Revocations it
// is refused as soon as the user logs out.
func TestThreat06_ReplayAfterLogout(t *testing.T) {
	t.Parallel()
	t.Run("without hook: exposure is the remaining lifetime", func(t *testing.T) {
		// No leeway, so the expiry is exact; with one, the exposure
		// grows by the leeway (TestExpiryLeeway).
		hs := newHarnessWith(t, middleware.Config{MaxAge: time.Hour, Leeway: -1}, func(hs *harness) http.Handler {
			return logoutApp(nil, hs.clock.Now)
		})
		hs.get("/set?user=ada")
		captured := hs.jarToken(cookieName)
		hs.get("/logout")
		hs.setJar(cookieName + "=" + captured)
		hs.clock.Advance(59 * time.Minute)
		if got := hs.get("/get?k=user").body; got != "ada" {
			t.Fatalf("documented exposure: the captured cookie should still open before expiry, got %q", got)
		}
		hs.clock.Advance(time.Minute)
		if got := hs.get("/get?k=user").body; got != "<none>" {
			t.Fatalf("the captured cookie outlived its expiry: %q", got)
		}
	})
	t.Run("with hook: refused after logout", func(t *testing.T) {
		rv := &revocations{}
		hs := newHarnessWith(t, middleware.Config{MaxAge: time.Hour, Revocations: rv}, func(hs *harness) http.Handler {
			return logoutApp(rv, hs.clock.Now)
		})
		hs.get("/set?user=ada")
		captured := hs.jarToken(cookieName)
		hs.clock.Advance(time.Minute)
		hs.get("/logout")
		hs.setJar(cookieName + "=" + captured)
		if got := hs.get("/get?k=user").body; got != "<none>" {
			t.Fatalf("the captured cookie still opens after logout: %q", got)
		}
		if !strings.Contains(hs.logs.String(), "reason=revoked") {
			t.Errorf("revocation not logged: %s", hs.logs.String())
		}
		// A new login after the logout is not affected.
		hs.clock.Advance(2 * time.Second)
		hs.get("/set?user=ada")
		if got := hs.get("/get?k=user").body; got != "ada" {
			t.Fatalf("a new login is refused: %q", got)
		}
	})
}

// Threat 9: session fixation. An attacker plants a valid cookie of their own
// session; Renew at login gives the victim a new id, and the planted id
// never becomes an authenticated one.
func TestThreat09_RenewDefeatsFixation(t *testing.T) {
	t.Parallel()
	login := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s := middleware.Get(r)
		switch r.URL.Path {
		case "/visit":
			s.Set("visited", true)
		case "/login":
			s.Renew()
			s.Set("user", r.URL.Query().Get("user"))
		case "/whoami":
			u, _ := s.GetString("user")
			fmt.Fprintf(w, "%s %s", s.ID(), u)
		}
	})
	hs := newHarness(t, middleware.Config{}, login)
	// The attacker gets a valid anonymous session from the site.
	hs.get("/visit")
	planted := hs.jarToken(cookieName)
	plantedID := strings.Fields(hs.get("/whoami").body)[0]

	// The victim's browser carries the planted cookie and logs in.
	hs.setJar(cookieName + "=" + planted)
	hs.get("/login?user=victim")
	got := strings.Fields(hs.get("/whoami").body)
	if len(got) != 2 || got[1] != "victim" {
		t.Fatalf("victim not logged in: %q", got)
	}
	if got[0] == plantedID {
		t.Fatal("the session id the attacker planted survived the login")
	}
	c := openToken(t, hs.src.Current(), hs.jarToken(cookieName), hs.clock.Now())
	if c.ID == plantedID {
		t.Fatal("the new token carries the planted id")
	}
	// The attacker's copy of the planted cookie is not logged in.
	hs.setJar(cookieName + "=" + planted)
	if got := strings.Fields(hs.get("/whoami").body); len(got) != 1 {
		t.Errorf("the planted cookie gained a user: %q", got)
	}
}

// Threat 10: cookie tossing from a sibling subdomain. The default cookie is
// __Host- prefixed, Secure, HttpOnly, SameSite=Lax, Path=/ with no Domain;
// a __Host- name with a Domain is a configuration error; two cookies with
// the session's name (one tossed from a parent domain) mean no session.
func TestThreat10_CookieTossing(t *testing.T) {
	t.Parallel()
	hs := newHarness(t, middleware.Config{}, kv())
	r := hs.get("/set?user=ada")
	if len(r.cookies) != 1 {
		t.Fatalf("Set-Cookie %q", r.cookies)
	}
	raw := r.cookies[0]
	c := cookieAttrs(t, raw)
	if !strings.HasPrefix(c.Name, "__Host-") || !c.Secure || !c.HttpOnly || c.SameSite != http.SameSiteLaxMode ||
		c.Path != "/" || c.Domain != "" || strings.Contains(strings.ToLower(raw), "domain=") {
		t.Errorf("default cookie %q", raw)
	}

	_, err := middleware.New(newRing(t, newKey(t)), middleware.Config{Domain: "example.com"})
	if err == nil || !strings.Contains(err.Error(), "__Host-") {
		t.Errorf("__Host- with Domain: %v", err)
	}

	// The attacker's own valid session (same site, same keys) tossed in
	// beside the victim's: no "first wins", no session at all.
	hs.get("/set?user=victim")
	victim := hs.jarToken(cookieName)
	hs.setJar()
	hs.get("/set?user=attacker")
	attacker := hs.jarToken(cookieName)
	for _, order := range [][2]string{{attacker, victim}, {victim, attacker}} {
		req := httptest.NewRequest("GET", hs.srv.URL+"/get?k=user", nil)
		req.Header.Add("Cookie", cookieName+"="+order[0])
		req.Header.Add("Cookie", cookieName+"="+order[1])
		hs.client.Jar = nil
		if got := hs.do(req).body; got != "<none>" {
			t.Errorf("two session cookies gave user %q", got)
		}
	}
}

// Threat 11: oversized cookies. Sealing past the browser limit reaches the
// ErrorHandler instead of being lost; an oversized incoming cookie is
// refused before anything is decoded.
func TestThreat11_OversizedCookies(t *testing.T) {
	t.Run("seal", func(t *testing.T) {
		var got []error
		var mu sync.Mutex
		cfg := middleware.Config{ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
			mu.Lock()
			got = append(got, err)
			mu.Unlock()
			http.Error(w, "too large", http.StatusInternalServerError)
		}}
		hs := newHarness(t, cfg, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			var n int
			fmt.Sscan(r.URL.Query().Get("n"), &n)
			middleware.Get(r).Set("v", strings.Repeat("a", n))
		}))
		// Find the largest value that still fits, by bisection, and check
		// the boundary on both sides.
		lo, hi := 0, middleware.CookieLimit
		for lo+1 < hi {
			mid := (lo + hi) / 2
			if r := hs.get(fmt.Sprintf("/?n=%d", mid)); r.status == 200 {
				lo = mid
			} else {
				hi = mid
			}
		}
		r := hs.get(fmt.Sprintf("/?n=%d", lo))
		if r.status != 200 || len(r.cookies) != 1 {
			t.Fatalf("largest value %d: status %d", lo, r.status)
		}
		if line := "Set-Cookie: " + r.cookies[0]; len(line) > middleware.CookieLimit {
			t.Fatalf("a Set-Cookie line of %d bytes was sent", len(line))
		}
		// 4096 bytes of base64 hold 3072; the header name, cookie name and
		// attributes, then nonce, tag, footer and claims take the rest.
		if lo < 2700 {
			t.Errorf("only %d bytes of value fit: the overhead is too large", lo)
		}
		r = hs.get(fmt.Sprintf("/?n=%d", lo+1))
		if r.status != 500 || len(r.cookies) != 0 {
			t.Fatalf("one byte more: status %d, Set-Cookie %q", r.status, r.cookies)
		}
		mu.Lock()
		defer mu.Unlock()
		if len(got) == 0 || !isErr(got[len(got)-1], middleware.ErrTooLarge) || !isErr(got[len(got)-1], token.ErrTooLarge) {
			t.Errorf("ErrorHandler got %v, want ErrTooLarge wrapping token.ErrTooLarge", got)
		}
	})
	t.Run("open", func(t *testing.T) {
		m := newManager(t, newRing(t, newKey(t)), middleware.Config{})
		h := m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			middleware.Get(r).Len()
		}))
		w := httptest.NewRecorder()
		run := func(cookie string) float64 {
			req := httptest.NewRequest("GET", "/", nil)
			req.Header.Set("Cookie", cookie)
			return testing.AllocsPerRun(100, func() {
				clear(w.Header())
				h.ServeHTTP(w, req)
			})
		}
		none := run("other=1")
		huge := run(cookieName + "=v4.local." + strings.Repeat("A", 64<<10))
		if huge > none {
			t.Errorf("an oversized cookie costs %v allocations, no cookie %v: it was decoded", huge, none)
		}
	})
}

// Threat 15: rotation. With k2 primary and k1 decrypt-only, a k1 token opens
// and is re-issued under k2; once k1 is deleted it is refused; a staged
// key never seals before it is promoted.
func TestThreat15_Rotation(t *testing.T) {
	t.Parallel()
	hs := newHarness(t, middleware.Config{}, kv())
	k1 := hs.src.Current().Primary()
	k2, k3 := newKey(t), newKey(t)

	// k3 staged beside primary k1: tokens are still sealed with k1.
	staged, err := keyring.New([]keyring.Entry{{Key: k1, State: keyring.Primary}, {Key: k3, State: keyring.Staged}})
	if err != nil {
		t.Fatal(err)
	}
	hs.src.Set(staged)
	hs.get("/set?user=ada")
	if c := openToken(t, staged, hs.jarToken(cookieName), hs.clock.Now()); c.KeyID != k1.ID() {
		t.Fatalf("sealed with %s while k3 was only staged; want k1", c.KeyID)
	}
	old := hs.jarToken(cookieName)

	// k2 promoted, k1 retired: the k1 token opens and comes back under k2.
	rotated := newRing(t, k2, k1)
	hs.src.Set(rotated)
	r := hs.get("/get?k=user")
	if r.body != "ada" || len(r.cookies) != 1 {
		t.Fatalf("k1 token under k2 primary: body %q, Set-Cookie %q", r.body, r.cookies)
	}
	if c := openToken(t, rotated, hs.jarToken(cookieName), hs.clock.Now()); c.KeyID != k2.ID() {
		t.Errorf("re-issued under %s, want k2", c.KeyID)
	}

	// k1 deleted: a k1 token no longer opens.
	hs.src.Set(newRing(t, k2))
	hs.setJar(cookieName + "=" + old)
	if got := hs.get("/get?k=user").body; got != "<none>" {
		t.Errorf("a token of the deleted key opened: %q", got)
	}
}

// Threat 17: lost updates between concurrent requests. Without a revocation
// hook the last response wins (documented: a cookie store cannot merge);
// with one, a logout wins over a slower request of the same session.
func TestThreat17_ConcurrentRequests(t *testing.T) {
	t.Parallel()
	// slowApp: /slow waits for the logout to finish, then changes the
	// session, as a long upload or report would.
	run := func(t *testing.T, rv *revocations) (slow result, after string) {
		var logoutDone = make(chan struct{})
		var started = make(chan struct{})
		cfg := middleware.Config{}
		if rv != nil {
			cfg.Revocations = rv
		}
		hs := newHarnessWith(t, cfg, func(hs *harness) http.Handler {
			app := http.NewServeMux()
			app.Handle("/", logoutApp(rv, hs.clock.Now))
			app.HandleFunc("/slow", func(w http.ResponseWriter, r *http.Request) {
				close(started)
				<-logoutDone
				middleware.Get(r).Set("cart", "3 items")
			})
			return app
		})
		hs.get("/set?user=ada")
		hs.clock.Advance(time.Minute)

		var wg sync.WaitGroup
		wg.Go(func() { slow = hs.get("/slow") })
		<-started
		if r := hs.get("/logout"); len(r.cookies) != 1 {
			t.Errorf("logout Set-Cookie %q", r.cookies)
		}
		close(logoutDone)
		wg.Wait()
		return slow, hs.get("/get?k=user").body
	}
	t.Run("without hook the last response wins", func(t *testing.T) {
		slow, after := run(t, nil)
		if len(slow.cookies) != 1 || after != "ada" {
			t.Errorf("slow request Set-Cookie %q, user after %q; the documented limit changed", slow.cookies, after)
		}
	})
	t.Run("with hook the logout wins", func(t *testing.T) {
		slow, after := run(t, &revocations{})
		for _, sc := range slow.cookies {
			if c := cookieAttrs(t, sc); c.MaxAge >= 0 {
				t.Errorf("the slow request wrote the session back: %q", sc)
			}
		}
		if after != "<none>" {
			t.Errorf("logged out user resurrected as %q", after)
		}
	})
}
