package middleware_test

import (
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"satchel.dev/internal/logbuf"
	"satchel.dev/keyring"
	"satchel.dev/middleware"
	"satchel.dev/token"
)

func TestNewRefusesBadConfig(t *testing.T) {
	t.Parallel()
	ring := newRing(t, newKey(t))
	tests := []struct {
		name string
		cfg  middleware.Config
		want string // part of the error
	}{
		{"host prefix with domain", middleware.Config{Domain: "example.com"}, "forbids a Domain"},
		{"host prefix with path", middleware.Config{Path: "/app"}, `requires Path "/"`},
		{"host prefix insecure", middleware.Config{Name: "__Host-s", Insecure: true}, "requires Secure"},
		{"host prefix any case", middleware.Config{Name: "__host-s", Domain: "example.com"}, "forbids a Domain"},
		{"secure prefix insecure", middleware.Config{Name: "__Secure-s", Insecure: true}, "requires Secure"},
		{"samesite none insecure", middleware.Config{Insecure: true, SameSite: http.SameSiteNoneMode}, "SameSite=None requires Secure"},
		{"samesite default mode", middleware.Config{SameSite: http.SameSiteDefaultMode}, "SameSiteDefaultMode"},
		{"samesite unknown", middleware.Config{SameSite: 42}, "unknown SameSite"},
		{"bad name", middleware.Config{Name: "a b"}, "invalid"},
		{"bad path", middleware.Config{Name: "s", Path: "/a;b"}, "invalid"},
		{"relative path", middleware.Config{Name: "s", Path: "app"}, "must start with /"},
		{"bad domain", middleware.Config{Name: "s", Domain: "exa mple.com"}, "invalid"},
		{"short max age", middleware.Config{MaxAge: time.Millisecond}, "below one second"},
		{"negative max age", middleware.Config{MaxAge: -time.Hour}, "below one second"},
		{"negative idle", middleware.Config{IdleTimeout: -time.Second}, "negative"},
		{"tiny idle", middleware.Config{IdleTimeout: time.Second}, "below two seconds"},
		{"idle past max age", middleware.Config{MaxAge: time.Hour, IdleTimeout: 2 * time.Hour}, "exceeds MaxAge"},
		{"audience not utf8", middleware.Config{Audience: "\xff"}, "UTF-8"},
		{"too many chunks", middleware.Config{MaxChunks: middleware.MaxChunksLimit + 1}, "MaxChunks"},
		{"negative chunks", middleware.Config{MaxChunks: -1}, "MaxChunks"},
		{"leeway past token.MaxLeeway", middleware.Config{Leeway: token.MaxLeeway + time.Second}, "MaxLeeway"},
		{"max lifetime below max age", middleware.Config{MaxAge: time.Hour, MaxLifetime: time.Minute}, "below MaxAge"},
		{"max age past 400 days", middleware.Config{MaxAge: 401 * 24 * time.Hour}, "exceeds"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := middleware.New(ring, tt.cfg)
			if err == nil {
				t.Fatalf("New accepted %+v", tt.cfg)
			}
			if m != nil {
				t.Error("New returned a Manager with an error")
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q does not mention %q", err, tt.want)
			}
			if !errors.Is(err, middleware.ErrConfig) {
				t.Errorf("error %q does not wrap ErrConfig", err)
			}
		})
	}
	// The bounds themselves are accepted.
	for _, cfg := range []middleware.Config{
		{Leeway: token.MaxLeeway},
		{MaxAge: 400 * 24 * time.Hour},
		{MaxAge: time.Hour, MaxLifetime: 400 * 24 * time.Hour},
	} {
		if _, err := middleware.New(ring, cfg); err != nil {
			t.Errorf("New(%+v): %v", cfg, err)
		}
	}
}

func TestNewRefusesMissingKeyring(t *testing.T) {
	t.Parallel()
	if _, err := middleware.New(nil, middleware.Config{}); err == nil {
		t.Error("New(nil) succeeded")
	}
	var empty *keyring.Ring
	if _, err := middleware.New(nilSource{empty}, middleware.Config{}); err == nil {
		t.Error("New with a Source returning nil succeeded")
	}
}

type nilSource struct{ r *keyring.Ring }

func (n nilSource) Current() *keyring.Ring { return n.r }

// setCookieFor runs one request that sets a value under cfg and returns
// the Set-Cookie header.
func setCookieFor(t *testing.T, cfg middleware.Config) *http.Cookie {
	t.Helper()
	m := newManager(t, newRing(t, newKey(t)), cfg)
	h := m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		middleware.Get(r).Set("k", "v")
	}))
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/", nil))
	sc := rec.Result().Header.Values("Set-Cookie")
	if len(sc) != 1 {
		t.Fatalf("want one Set-Cookie, got %q", sc)
	}
	return cookieAttrs(t, sc[0])
}

func TestConfigAttributes(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		cfg  middleware.Config
		want http.Cookie
	}{
		{"zero value", middleware.Config{},
			http.Cookie{Name: "__Host-session", Path: "/", HttpOnly: true, Secure: true, SameSite: http.SameSiteLaxMode, MaxAge: 14 * 24 * 3600}},
		{"insecure", middleware.Config{Insecure: true},
			http.Cookie{Name: "session", Path: "/", HttpOnly: true, SameSite: http.SameSiteLaxMode, MaxAge: 14 * 24 * 3600}},
		{"named with domain and path", middleware.Config{Name: "sid", Domain: "example.com", Path: "/app", SameSite: http.SameSiteStrictMode, MaxAge: time.Hour},
			http.Cookie{Name: "sid", Domain: "example.com", Path: "/app", HttpOnly: true, Secure: true, SameSite: http.SameSiteStrictMode, MaxAge: 3600}},
		{"samesite none", middleware.Config{SameSite: http.SameSiteNoneMode, MaxAge: 90 * time.Second},
			http.Cookie{Name: "__Host-session", Path: "/", HttpOnly: true, Secure: true, SameSite: http.SameSiteNoneMode, MaxAge: 90}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.cfg.Now = func() time.Time { return t0 }
			c := setCookieFor(t, tt.cfg)
			got := http.Cookie{Name: c.Name, Domain: c.Domain, Path: c.Path, HttpOnly: c.HttpOnly,
				Secure: c.Secure, SameSite: c.SameSite, MaxAge: c.MaxAge}
			if got.String() != tt.want.String() {
				t.Errorf("cookie attributes\n got %s\nwant %s", got.String(), tt.want.String())
			}
			if !strings.HasPrefix(c.Value, "v4.local.") {
				t.Errorf("cookie value is not a v4.local token")
			}
		})
	}
}

func TestConfigIsCopied(t *testing.T) {
	t.Parallel()
	cfg := middleware.Config{Name: "first", Now: func() time.Time { return t0 }}
	m := newManager(t, newRing(t, newKey(t)), cfg)
	cfg.Name = "second"
	h := m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		middleware.Get(r).Set("k", "v")
	}))
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/", nil))
	if c := cookieAttrs(t, rec.Header().Get("Set-Cookie")); c.Name != "first" {
		t.Errorf("cookie name %q: New did not copy the Config", c.Name)
	}
}

// TestLeewayToleratesClockSkew: in a fleet, server A's clock runs 2 s
// ahead of server B's. The cookie A seals (iat and nbf are A's now) opens
// on B under the zero Config, thanks to DefaultLeeway, and is refused as
// not yet valid when B allows less skew than that, or none.
func TestLeewayToleratesClockSkew(t *testing.T) {
	t.Parallel()
	ring := newRing(t, newKey(t))
	ahead := newManager(t, ring, middleware.Config{Now: func() time.Time { return t0.Add(2 * time.Second) }})
	rec := httptest.NewRecorder()
	ahead.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		middleware.Get(r).Set("user", "ada")
	})).ServeHTTP(rec, httptest.NewRequest("GET", "/", nil))
	sealed := cookieAttrs(t, rec.Header().Get("Set-Cookie"))

	tests := []struct {
		name   string
		leeway time.Duration
		want   string // the user server B sees; "" for an empty session
	}{
		{"default", 0, "ada"},
		{"leeway above the skew", 3 * time.Second, "ada"},
		{"leeway below the skew", time.Second, ""},
		{"none", -1, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var logs logbuf.Buffer
			behind := newManager(t, ring, middleware.Config{
				Leeway: tt.leeway,
				Now:    func() time.Time { return t0 },
				Logger: slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
			})
			req := httptest.NewRequest("GET", "/", nil)
			req.Header.Set("Cookie", sealed.Name+"="+sealed.Value)
			rec := httptest.NewRecorder()
			behind.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				user, _ := middleware.Get(r).GetString("user")
				io.WriteString(w, user)
			})).ServeHTTP(rec, req)
			if got := rec.Body.String(); got != tt.want {
				t.Errorf("server B sees user %q, want %q", got, tt.want)
			}
			if sc := rec.Header().Values("Set-Cookie"); len(sc) != 0 {
				t.Errorf("a read sent Set-Cookie %q", sc)
			}
			if tt.want == "" && !strings.Contains(logs.String(), `reason="not yet valid"`) {
				t.Errorf("refusal not logged as not yet valid:\n%s", logs.String())
			}
		})
	}
}

// TestExpiryLeeway: the default leeway also lets a cookie open up to
// DefaultLeeway after its deadline, never longer, and a change made
// within that minute cannot extend the session: the cookie is deleted.
func TestExpiryLeeway(t *testing.T) {
	t.Parallel()
	hs := newHarness(t, middleware.Config{MaxAge: time.Hour}, kv())
	hs.get("/set?user=ada")
	hs.clock.Advance(time.Hour + middleware.DefaultLeeway - time.Second)
	if r := hs.get("/get?k=user"); r.body != "ada" || len(r.cookies) != 0 {
		t.Fatalf("within the leeway after the deadline: body %q, Set-Cookie %q", r.body, r.cookies)
	}
	captured := hs.jarToken(cookieName)
	r := hs.get("/set?cart=1")
	if len(r.cookies) != 1 || cookieAttrs(t, r.cookies[0]).MaxAge >= 0 {
		t.Errorf("a change past the deadline sent %q, want the cookie deleted", r.cookies)
	}
	hs.setJar(cookieName + "=" + captured)
	hs.clock.Advance(time.Second)
	if r := hs.get("/get?k=user"); r.body != "<none>" {
		t.Fatalf("past the deadline plus the leeway: %q", r.body)
	}
}

// The implicit assertion's bytes are a wire format: code in another
// language must reproduce them to open a session token. These vectors pin
// the rules in ImplicitAssertion's documentation.
func TestImplicitAssertionBytes(t *testing.T) {
	t.Parallel()
	tests := []struct{ name, aud, want string }{
		{"__Host-session", "", `{"satchel":"session","cookie":"__Host-session","aud":""}`},
		{"sid", "shop", `{"satchel":"session","cookie":"sid","aud":"shop"}`},
		{"s", "a\"b\\c\n\r\t\x01\x1f é</>&\u2028\u2029", `{"satchel":"session","cookie":"s","aud":"a\"b\\c\n\r\t\u0001\u001f é</>&\u2028\u2029"}`},
		{"s", "\b\f", `{"satchel":"session","cookie":"s","aud":"\b\f"}`},
	}
	for _, tt := range tests {
		if got := string(middleware.ImplicitAssertion(tt.name, tt.aud)); got != tt.want {
			t.Errorf("ImplicitAssertion(%q, %q)\n got %s\nwant %s", tt.name, tt.aud, got, tt.want)
		}
	}
	// A Manager binds exactly these bytes: its token opens under them.
	ring := newRing(t, newKey(t))
	m := newManager(t, ring, middleware.Config{Name: "sid", Audience: "shop", Now: func() time.Time { return t0 }})
	rec := httptest.NewRecorder()
	m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		middleware.Get(r).Set("k", "v")
	})).ServeHTTP(rec, httptest.NewRequest("GET", "/", nil))
	tok := rec.Result().Cookies()[0].Value
	if _, err := token.Open(ring, tok, []byte(tests[1].want), &token.Options{Now: func() time.Time { return t0 }}); err != nil {
		t.Errorf("the token does not open under the documented bytes: %v", err)
	}
}
