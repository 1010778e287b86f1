package middleware_test

import (
	"encoding/json"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"satchel.dev/middleware"
	"satchel.dev/token"
)

// lifetimeApp is kv plus /renew-only (Renew without writing a value),
// /restart, /remember?d=DURATION (SetLifetime) and /browser?on=BOOL
// (SetBrowserOnly).
func lifetimeApp() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("/", kv())
	mux.HandleFunc("/restart", func(w http.ResponseWriter, r *http.Request) {
		middleware.Get(r).Restart()
	})
	mux.HandleFunc("/remember", func(w http.ResponseWriter, r *http.Request) {
		d, err := time.ParseDuration(r.URL.Query().Get("d"))
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		middleware.Get(r).SetLifetime(d)
	})
	mux.HandleFunc("/browser", func(w http.ResponseWriter, r *http.Request) {
		middleware.Get(r).SetBrowserOnly(r.URL.Query().Get("on") == "true")
	})
	return mux
}

// sessionSetCookie returns the session's Set-Cookie among r's, or fails.
func sessionSetCookie(t *testing.T, r result) *http.Cookie {
	t.Helper()
	for _, sc := range r.cookies {
		if c := cookieAttrs(t, sc); c.Name == cookieName {
			return c
		}
	}
	t.Fatalf("no session cookie among %q", r.cookies)
	return nil
}

// Issue 9: Renew restarted the absolute lifetime, so any route that
// renews kept a stolen cookie alive indefinitely.
func TestRenewKeepsAbsoluteDeadline(t *testing.T) {
	t.Parallel()
	hs := newHarness(t, middleware.Config{MaxAge: time.Hour, Leeway: -1}, lifetimeApp())
	hs.get("/set?user=ada")
	hs.clock.Advance(50 * time.Minute)
	r := hs.get("/renew")
	if c := sessionSetCookie(t, r); c.MaxAge != 600 {
		t.Fatalf("Max-Age after Renew at 50 min %d, want the 600 s left", c.MaxAge)
	}
	c := openToken(t, hs.src.Current(), hs.jarToken(cookieName), hs.clock.Now())
	if raw(json.RawMessage(c.Extra["satchel_start"])) != `"`+t0.Format(time.RFC3339)+`"` {
		t.Errorf("satchel_start %s, want the session's start %v", c.Extra["satchel_start"], t0)
	}
	if !c.NotBefore.Equal(t0.Add(50 * time.Minute)) {
		t.Errorf("nbf %v, want the renewal time", c.NotBefore)
	}
	// Renewing again and again does not help a stolen cookie either.
	for range 9 {
		hs.clock.Advance(time.Minute)
		hs.get("/renew")
	}
	hs.clock.Advance(time.Minute)
	if got := hs.get("/get?k=user").body; got != "<none>" {
		t.Fatalf("renewals carried the session past its deadline: %q", got)
	}
}

func TestRestartRestartsTheLifetime(t *testing.T) {
	t.Parallel()
	hs := newHarness(t, middleware.Config{MaxAge: time.Hour, Leeway: -1}, lifetimeApp())
	hs.get("/set?user=ada")
	hs.clock.Advance(50 * time.Minute)
	before := hs.get("/id").body
	r := hs.get("/restart")
	if c := sessionSetCookie(t, r); c.MaxAge != 3600 {
		t.Fatalf("Max-Age after Restart %d, want a fresh 3600", c.MaxAge)
	}
	if hs.get("/id").body == before {
		t.Error("Restart kept the session id")
	}
	c := openToken(t, hs.src.Current(), hs.jarToken(cookieName), hs.clock.Now())
	if len(c.Extra) != 0 {
		t.Errorf("a restarted session carries metadata %v", c.Extra)
	}
	hs.clock.Advance(59 * time.Minute)
	if got := hs.get("/get?k=user").body; got != "ada" {
		t.Fatalf("restarted session gone early: %q", got)
	}
}

// Issue 9 #4: IdleTimeout was not applied to cookies sealed before it was
// enabled or shortened; the token's iat (when it was last written) now
// counts, with the leeway.
func TestIdleTimeoutAppliesToCookiesSealedBefore(t *testing.T) {
	t.Parallel()
	hs := newHarness(t, middleware.Config{IdleTimeout: 10 * time.Minute}, kv())
	// Sealed as a server without IdleTimeout did: iat t0, exp 14 days on.
	tok := sealFor(t, hs.src.Current().Primary(), t0, t0.Add(middleware.DefaultMaxAge), "AAAAAAAAAAAAAAAAAAAAAA", map[string]any{"user": "ada"})
	hs.clock.Advance(10*time.Minute + 59*time.Second) // within the minute of leeway
	hs.setJar(cookieName + "=" + tok)
	if got := hs.get("/get?k=user").body; got != "ada" {
		t.Fatalf("within the idle window and leeway: %q", got)
	}
	hs.clock.Advance(time.Second)
	hs.setJar(cookieName + "=" + tok)
	if got := hs.get("/get?k=user").body; got != "<none>" {
		t.Fatalf("a cookie idle for 11 min opened under a 10 min IdleTimeout: %q", got)
	}
	if !strings.Contains(hs.logs.String(), `reason="idle timeout"`) {
		t.Errorf("reason not logged: %s", hs.logs.String())
	}
}

func TestSetLifetimeRemembersWithinMaxLifetime(t *testing.T) {
	t.Parallel()
	const day = 24 * time.Hour
	hs := newHarness(t, middleware.Config{MaxAge: time.Hour, MaxLifetime: 30 * day, Leeway: -1}, lifetimeApp())
	hs.get("/set?user=ada")
	r := hs.get("/remember?d=720h")
	if c := sessionSetCookie(t, r); c.MaxAge != int((30 * day).Seconds()) {
		t.Fatalf("remember-me Max-Age %d, want 30 days", c.MaxAge)
	}
	c := openToken(t, hs.src.Current(), hs.jarToken(cookieName), hs.clock.Now())
	if got := raw(json.RawMessage(c.Extra["satchel_lifetime"])); got != strconv.Itoa(int((30 * day).Seconds())) {
		t.Errorf("satchel_lifetime %s", got)
	}
	hs.clock.Advance(2 * time.Hour) // past MaxAge
	if got := hs.get("/get?k=user").body; got != "ada" {
		t.Fatalf("a remembered session ended at MaxAge: %q", got)
	}
	// The lifetime survives later writes, and is capped.
	r = hs.get("/set?cart=1")
	if c := sessionSetCookie(t, r); c.MaxAge != int((30*day - 2*time.Hour).Seconds()) {
		t.Errorf("Max-Age after a later write %d", c.MaxAge)
	}
	tok := hs.jarToken(cookieName)

	// A server whose MaxLifetime was lowered to a week ends the session
	// once it is older than that.
	strict := newManager(t, hs.src, middleware.Config{MaxAge: time.Hour, MaxLifetime: 7 * day, Now: func() time.Time { return t0.Add(8 * day) }, Leeway: -1})
	var user string
	rec := serveWith(strict, cookieName+"="+tok, func(s *middleware.Session) { user, _ = s.GetString("user") })
	if user != "" || rec == 0 {
		t.Errorf("lowered MaxLifetime: user %q", user)
	}
	hs.clock.Advance(30*day - 2*time.Hour)
	if got := hs.get("/get?k=user").body; got != "<none>" {
		t.Fatalf("past the remembered lifetime: %q", got)
	}
	// A year is capped at MaxLifetime; zero restores MaxAge.
	hs.get("/set?user=bob")
	if c := sessionSetCookie(t, hs.get("/remember?d=8760h")); c.MaxAge != int((30 * day).Seconds()) {
		t.Errorf("a year was not capped at MaxLifetime: Max-Age %d", c.MaxAge)
	}
	r = hs.get("/remember?d=0s")
	if c := sessionSetCookie(t, r); c.MaxAge != 3600 {
		t.Errorf("SetLifetime(0) Max-Age %d, want MaxAge", c.MaxAge)
	}
}

// serveWith runs one request with cookie through m and calls f with the
// session; it returns the response status.
func serveWith(m *middleware.Manager, cookie string, f func(*middleware.Session)) int {
	rec := serve(m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f(m.Get(r))
		io.WriteString(w, "ok")
	})), "/", cookie)
	return rec.Code
}

func TestBrowserOnlyCookie(t *testing.T) {
	t.Parallel()
	hs := newHarness(t, middleware.Config{MaxAge: time.Hour, Leeway: -1}, lifetimeApp())
	hs.get("/set?user=ada")
	r := hs.get("/browser?on=true")
	line := ""
	for _, sc := range r.cookies {
		if strings.HasPrefix(sc, cookieName+"=") {
			line = sc
		}
	}
	if line == "" || strings.Contains(line, "Max-Age") || strings.Contains(line, "Expires") {
		t.Fatalf("browser-only Set-Cookie %q", line)
	}
	c := openToken(t, hs.src.Current(), hs.jarToken(cookieName), hs.clock.Now())
	if !c.Expiry.Equal(t0.Add(time.Hour)) || raw(json.RawMessage(c.Extra["satchel_browser"])) != "true" {
		t.Errorf("token exp %v, satchel_browser %s", c.Expiry, c.Extra["satchel_browser"])
	}
	// Later writes keep it a browser-session cookie; the token still ends
	// at the deadline.
	if sc := hs.get("/set?cart=1").cookies; len(sc) != 1 || strings.Contains(sc[0], "Max-Age") {
		t.Errorf("a later write %q", sc)
	}
	hs.clock.Advance(time.Hour)
	if got := hs.get("/get?k=user").body; got != "<none>" {
		t.Errorf("a browser-only session outlived its token: %q", got)
	}
	hs.get("/set?user=ada")
	hs.get("/browser?on=true")
	if c := sessionSetCookie(t, hs.get("/browser?on=false")); c.MaxAge <= 0 {
		t.Errorf("SetBrowserOnly(false) Max-Age %d", c.MaxAge)
	}
}

func TestMalformedSessionMetadataRefused(t *testing.T) {
	t.Parallel()
	for _, extra := range []map[string]string{
		{"satchel_start": `"yesterday"`},
		{"satchel_start": `1700000000`},
		{"satchel_start": `"2026-11-01T1:00:00Z"`},  // a one-digit hour: time.Parse takes it, RFC 3339 does not
		{"satchel_start": `"2026-11-01T12:00:01Z"`}, // after nbf
		{"satchel_lifetime": `0`},
		{"satchel_lifetime": `3600.5`},
		{"satchel_lifetime": `"3600"`},
		{"satchel_lifetime": `99999999999`},
		{"satchel_browser": `false`},
		{"satchel_browser": `"true"`},
	} {
		t.Run(strings.Join(mapPairs(extra), ","), func(t *testing.T) {
			t.Parallel()
			hs := newHarness(t, middleware.Config{}, kv())
			ex := map[string]json.RawMessage{}
			for k, v := range extra {
				ex[k] = json.RawMessage(v)
			}
			tok, err := token.Seal(hs.src.Current().Primary(), &token.Claims{
				Expiry: t0.Add(time.Hour), IssuedAt: t0, NotBefore: t0, ID: "AAAAAAAAAAAAAAAAAAAAAA",
				Data: map[string]any{"user": "ada"}, Extra: ex,
			}, implicit, nil)
			if err != nil {
				t.Fatal(err)
			}
			hs.setJar(cookieName + "=" + tok)
			if got := hs.get("/get?k=user").body; got != "<none>" {
				t.Errorf("opened: %q", got)
			}
			if !strings.Contains(hs.logs.String(), "invalid session metadata") {
				t.Errorf("reason not logged: %s", hs.logs.String())
			}
		})
	}
}

func mapPairs(m map[string]string) []string {
	var out []string
	for k, v := range m {
		out = append(out, k+"="+v)
	}
	return out
}
