package middleware_test

import (
	"encoding/json"
	"errors"
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
)

func TestRevocationsRefuseARevokedSessionAtLoad(t *testing.T) {
	t.Parallel()
	rv := &revocations{}
	hs := newHarnessWith(t, middleware.Config{Revocations: rv}, func(hs *harness) http.Handler {
		return logoutApp(rv, hs.clock.Now)
	})
	hs.get("/login?user=ada")
	id := hs.get("/id").body
	rv.RevokeSession(t.Context(), id, hs.clock.Now().Add(time.Hour))
	if got := hs.get("/get?k=user").body; got != "<none>" {
		t.Fatalf("a revoked session opened: user %q", got)
	}
	if !strings.Contains(hs.logs.String(), "reason=revoked") {
		t.Errorf("revocation not logged: %s", hs.logs.String())
	}
}

func TestDestroyAndRenewSignOutTheOldID(t *testing.T) {
	t.Parallel()
	rv := &revocations{}
	hs := newHarnessWith(t, middleware.Config{Revocations: rv}, func(hs *harness) http.Handler {
		return logoutApp(rv, hs.clock.Now)
	})
	hs.get("/set?user=ada")
	first := hs.get("/id").body
	firstTok := hs.jarToken(cookieName)
	firstExp := openToken(t, hs.src.Current(), firstTok, hs.clock.Now()).Expiry

	// Renew: the old id is signed out with its token's exp.
	hs.get("/renew")
	second := hs.get("/id").body
	if second == first {
		t.Fatal("Renew kept the id")
	}
	if got := rv.calls(); !slices.Equal(got, []string{first}) {
		t.Fatalf("RevokeSession calls %q, want the old id only", got)
	}
	rv.mu.Lock()
	exp := rv.ids[first]
	rv.mu.Unlock()
	if !exp.Equal(firstExp) {
		t.Errorf("old id revoked until %v, want its token's exp %v", exp, firstExp)
	}
	// A copy of the pre-renewal cookie no longer opens.
	renewed := hs.jarToken(cookieName)
	hs.setJar(cookieName + "=" + firstTok)
	if got := hs.get("/get?k=user").body; got != "<none>" {
		t.Fatalf("the cookie from before Renew still opens: %q", got)
	}

	// Destroy: the current id is signed out.
	hs.setJar(cookieName + "=" + renewed)
	hs.get("/logout")
	if got := rv.calls(); !slices.Equal(got, []string{first, second}) {
		t.Fatalf("RevokeSession calls %q, want %q", got, []string{first, second})
	}
	hs.setJar(cookieName + "=" + renewed)
	if got := hs.get("/get?k=user").body; got != "<none>" {
		t.Fatalf("the destroyed session's cookie still opens: %q", got)
	}

	// A new session that is destroyed in its first request was never
	// written: nothing to sign out.
	hs.setJar()
	hs.get("/set?user=bob")
	hs.setJar()
	hs.get("/logout")
	if got := rv.calls(); len(got) != 2 {
		t.Errorf("RevokeSession called for a session no cookie carried: %q", got)
	}
}

func TestRevokeSessionFailureIsLoud(t *testing.T) {
	t.Parallel()
	backendDown := errors.New("revocation store unreachable")
	for _, path := range []string{"/logout", "/renew"} {
		t.Run(path, func(t *testing.T) {
			t.Parallel()
			rv := &revocations{}
			var mu sync.Mutex
			var reported []error
			hs := newHarnessWith(t, middleware.Config{Revocations: rv}, func(hs *harness) http.Handler {
				return logoutApp(rv, hs.clock.Now)
			})
			hs.get("/set?user=ada")
			tok := hs.jarToken(cookieName)
			rv.mu.Lock()
			rv.fail = backendDown
			rv.mu.Unlock()

			// The default ErrorHandler answers 500 and changes no cookie.
			r := hs.get(path)
			if r.status != http.StatusInternalServerError || len(r.cookies) != 0 {
				t.Errorf("status %d, Set-Cookie %q; want 500 and no cookie change", r.status, r.cookies)
			}
			if !strings.Contains(hs.logs.String(), "sign-out not recorded") {
				t.Errorf("failure not logged: %s", hs.logs.String())
			}
			if hs.jarToken(cookieName) != tok {
				t.Error("the browser's cookie changed though the sign-out failed")
			}

			// A custom ErrorHandler sees ErrRevocation wrapping the
			// backend's error.
			hs2 := newHarnessWith(t, middleware.Config{Revocations: rv, ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
				mu.Lock()
				reported = append(reported, err)
				mu.Unlock()
			}}, func(hs *harness) http.Handler { return logoutApp(rv, hs.clock.Now) })
			rv.mu.Lock()
			rv.fail = nil
			rv.mu.Unlock()
			hs2.get("/set?user=ada")
			rv.mu.Lock()
			rv.fail = backendDown
			rv.mu.Unlock()
			hs2.get(path)
			mu.Lock()
			defer mu.Unlock()
			if len(reported) != 1 || !errors.Is(reported[0], middleware.ErrRevocation) || !errors.Is(reported[0], backendDown) {
				t.Errorf("reported %v, want ErrRevocation wrapping the backend error", reported)
			}
		})
	}
}

// Issue 9 #5: a request that renews the session and is still running when
// the user signs out everywhere must not bring the session back.
func TestLogoutEverywhereWinsOverRenewingRequest(t *testing.T) {
	t.Parallel()
	rv := &revocations{}
	started, loggedOut := make(chan struct{}), make(chan struct{})
	hs := newHarnessWith(t, middleware.Config{Revocations: rv}, func(hs *harness) http.Handler {
		mux := http.NewServeMux()
		mux.Handle("/", logoutApp(rv, hs.clock.Now))
		mux.HandleFunc("/slow-renew", func(w http.ResponseWriter, r *http.Request) {
			s := middleware.Get(r)
			close(started)
			<-loggedOut
			hs.clock.Advance(time.Minute) // the renewal happens after the mark
			s.Renew()
			s.Set("cart", "3 items")
		})
		return mux
	})
	hs.get("/login?user=ada")
	hs.clock.Advance(time.Minute)
	tok := hs.jarToken(cookieName)

	var slow result
	var wg sync.WaitGroup
	wg.Go(func() {
		req := httptest.NewRequest("GET", hs.srv.URL+"/slow-renew", nil)
		req.RequestURI = ""
		req.Header.Set("Cookie", cookieName+"="+tok)
		// A client without the harness's jar, so the request carries
		// exactly this cookie.
		client := &http.Client{Transport: hs.srv.Client().Transport}
		resp, err := client.Do(req)
		if err != nil {
			t.Error(err)
			return
		}
		resp.Body.Close()
		slow = result{status: resp.StatusCode, cookies: resp.Header.Values("Set-Cookie")}
	})
	<-started
	// Another device of the same user signs out everywhere: the mark is
	// set while the renewing request is in flight. (The subject mark is
	// what counts here, so it is set directly, without the id.)
	rv.revokeAll("ada", hs.clock.Now())
	close(loggedOut)
	wg.Wait()

	for _, sc := range slow.cookies {
		if c := cookieAttrs(t, sc); c.MaxAge >= 0 {
			t.Fatalf("the renewing request wrote the signed-out session back: %s", c.Name)
		}
	}
	if len(slow.cookies) == 0 {
		t.Error("the renewing request left the signed-out cookie in place")
	}
}

func TestSubjectTravelsAsSub(t *testing.T) {
	t.Parallel()
	hs := newHarness(t, middleware.Config{}, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s := middleware.Get(r)
		switch r.URL.Path {
		case "/login":
			s.Renew()
			s.SetSubject("user-42")
		case "/logout":
			s.Destroy()
		}
		io.WriteString(w, s.Subject())
	}))
	if got := hs.get("/login").body; got != "user-42" {
		t.Fatalf("Subject in the same request %q", got)
	}
	c := openToken(t, hs.src.Current(), hs.jarToken(cookieName), hs.clock.Now())
	if c.Subject != "user-42" {
		t.Errorf("token sub %q", c.Subject)
	}
	if len(c.Data) != 0 {
		t.Errorf("the subject leaked into the values: %v", c.Data)
	}
	// A session holding only a subject is kept.
	if r := hs.get("/"); r.body != "user-42" || len(r.cookies) != 0 {
		t.Errorf("next request: subject %q, Set-Cookie %q", r.body, r.cookies)
	}
	if got := hs.get("/logout").body; got != "" {
		t.Errorf("Destroy kept the subject %q", got)
	}
	if got := hs.get("/").body; got != "" {
		t.Errorf("subject after logout %q", got)
	}
}

// legacyImporter is a test Importer for a cookie named "legacy": "ada"
// holds a user, "many" 200 values that cannot all fit in one cookie,
// "func" a value without a JSON form next to a good one, and anything
// else is a forged cookie.
type legacyImporter struct{}

func (legacyImporter) Import(r *http.Request) (map[string]any, bool, error) {
	c, err := r.Cookie("legacy")
	if err != nil {
		return nil, false, nil
	}
	switch c.Value {
	case "ada":
		return map[string]any{"user": "ada", "visits": 3}, true, nil
	case "many":
		vals := map[string]any{}
		for i := range 200 {
			vals[fmt.Sprintf("k%03d", i)] = strings.Repeat("x", 40)
		}
		return vals, true, nil
	case "func":
		return map[string]any{"user": "ada", "callback": func() {}}, true, nil
	}
	return nil, true, errors.New("legacy: signature mismatch")
}

func (legacyImporter) Expire() *http.Cookie {
	return &http.Cookie{Name: "legacy", Path: "/", MaxAge: -1}
}

func TestImportAdoptsLegacySession(t *testing.T) {
	t.Parallel()
	hs := newHarness(t, middleware.Config{Import: legacyImporter{}}, kv())
	hs.setJar("legacy=ada")
	r := hs.get("/get?k=user")
	if r.body != "ada" {
		t.Fatalf("adopted user %q", r.body)
	}
	var sealed, expired bool
	for _, sc := range r.cookies {
		c := cookieAttrs(t, sc)
		switch {
		case c.Name == cookieName && c.MaxAge > 0:
			sealed = true
		case c.Name == "legacy" && c.MaxAge < 0 && c.Path == "/":
			expired = true
		}
	}
	if !sealed || !expired {
		t.Fatalf("Set-Cookie %q: want the session sealed and the legacy cookie deleted in one response", r.cookies)
	}
	if cc := r.header.Get("Cache-Control"); !strings.Contains(cc, "Set-Cookie") && cc != "private" && cc != "no-store" {
		t.Errorf("Cache-Control %q lets a shared cache keep the cookies", cc)
	}
	c := openToken(t, hs.src.Current(), hs.jarToken(cookieName), hs.clock.Now())
	if raw(c.Data["user"]) != `"ada"` || raw(c.Data["visits"]) != "3" {
		t.Errorf("sealed values %v", c.Data)
	}
	// The jar dropped the legacy cookie; the session lives on in satchel's.
	if got := hs.get("/get?k=user").body; got != "ada" {
		t.Errorf("next request user %q", got)
	}
}

// raw returns the JSON text of a value token.Open returned.
func raw(v any) string {
	b, _ := v.(json.RawMessage)
	return string(b)
}

func TestImportBadLegacyCookie(t *testing.T) {
	t.Parallel()
	for _, value := range []string{"forged-c2VjcmV0", "func", "many"} {
		t.Run(value, func(t *testing.T) {
			t.Parallel()
			hs := newHarness(t, middleware.Config{Import: legacyImporter{}}, kv())
			hs.setJar("legacy=" + value)
			r := hs.get("/get?k=user")
			if r.status != http.StatusOK || r.body != "<none>" {
				t.Fatalf("status %d, user %q: want 200 and an empty session, never part of one", r.status, r.body)
			}
			if len(r.cookies) != 1 || cookieAttrs(t, r.cookies[0]).Name != "legacy" || cookieAttrs(t, r.cookies[0]).MaxAge >= 0 {
				t.Errorf("Set-Cookie %q: want only the legacy cookie's deletion", r.cookies)
			}
			logs := hs.logs.String()
			if !strings.Contains(logs, "legacy session cookie ignored") {
				t.Errorf("no log line: %s", logs)
			}
			if strings.Contains(logs, "c2VjcmV0") || strings.Contains(logs, "xxxx") {
				t.Errorf("the log holds cookie bytes: %s", logs)
			}
		})
	}
}

func TestImportNotUsedBesideAValidSession(t *testing.T) {
	t.Parallel()
	hs := newHarness(t, middleware.Config{Import: legacyImporter{}}, kv())
	hs.get("/set?user=bob")
	tok := hs.jarToken(cookieName)
	hs.setJar(cookieName+"="+tok, "legacy=ada")
	r := hs.get("/get?k=user")
	if r.body != "bob" {
		t.Fatalf("user %q: the legacy session replaced a valid one", r.body)
	}
	// The stale legacy cookie is deleted all the same, so that a later
	// logout cannot fall back to it.
	if len(r.cookies) != 1 || cookieAttrs(t, r.cookies[0]).Name != "legacy" {
		t.Errorf("Set-Cookie %q: want the legacy cookie's deletion only", r.cookies)
	}
	// Without a legacy cookie, nothing is added.
	hs.setJar(cookieName + "=" + tok)
	if r := hs.get("/get?k=user"); len(r.cookies) != 0 {
		t.Errorf("Set-Cookie %q on a request without a legacy cookie", r.cookies)
	}
}

type sameNameImporter struct{ legacyImporter }

func (sameNameImporter) Expire() *http.Cookie { return &http.Cookie{Name: "session", MaxAge: -1} }

func TestImportRefusesTheSessionCookieName(t *testing.T) {
	t.Parallel()
	_, err := middleware.New(newRing(t, newKey(t)), middleware.Config{Insecure: true, Import: sameNameImporter{}})
	if !errors.Is(err, middleware.ErrConfig) {
		t.Fatalf("New with a legacy cookie named like the session: %v", err)
	}
}

func TestTwoManagersInOneChain(t *testing.T) {
	t.Parallel()
	src := newSource(newRing(t, newKey(t)))
	outer := newManager(t, src, middleware.Config{Name: "__Host-prefs"})
	inner := newManager(t, src, middleware.Config{})
	var sameInner, panicked bool
	h := outer.Handler(inner.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		outer.Get(r).Set("theme", "dark")
		inner.Get(r).Set("user", "ada")
		sameInner = middleware.Get(r) == inner.Get(r) && middleware.FromContext(r.Context()) == inner.FromContext(r.Context())
	})))
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "https://example.com/", nil))
	if !sameInner {
		t.Error("middleware.Get did not return the innermost Manager's session")
	}
	names := map[string]bool{}
	for _, c := range rec.Result().Cookies() {
		names[c.Name] = true
	}
	if !names["__Host-prefs"] || !names[cookieName] || len(names) != 2 {
		t.Errorf("cookies %v, want one per Manager", names)
	}

	// Outside every Handler: FromContext says nil, Get panics clearly.
	func() {
		defer func() {
			msg := fmt.Sprint(recover())
			panicked = strings.Contains(msg, "Handler") && strings.Contains(msg, `"__Host-prefs"`)
		}()
		outer.Get(httptest.NewRequest("GET", "/", nil))
	}()
	if !panicked {
		t.Error("Manager.Get without its Handler did not panic naming the cookie")
	}
	if outer.FromContext(t.Context()) != nil || middleware.FromContext(t.Context()) != nil {
		t.Error("FromContext found a session outside every Handler")
	}
	panicked = false
	func() {
		defer func() { panicked = strings.Contains(fmt.Sprint(recover()), "Manager.Handler") }()
		middleware.Get(httptest.NewRequest("GET", "/", nil))
	}()
	if !panicked {
		t.Error("middleware.Get without a Handler did not panic with a clear message")
	}
	// A Manager does not find another Manager's session.
	other := newManager(t, keyring.Source(src), middleware.Config{Name: "__Host-other"})
	inner.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if other.FromContext(r.Context()) != nil {
			t.Error("a Manager found the session of another Manager")
		}
	})).ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/", nil))
}

// "Sign out everywhere" from one device ends the sessions of the same
// subject on every other device at their next request, and a login after
// the mark is not affected.
func TestLogoutEverywhereEndsOtherDevices(t *testing.T) {
	t.Parallel()
	rv := &revocations{}
	hs := newHarnessWith(t, middleware.Config{Revocations: rv}, func(hs *harness) http.Handler {
		return logoutApp(rv, hs.clock.Now)
	})
	hs.get("/login?user=ada")
	laptop := hs.jarToken(cookieName)
	hs.setJar()
	hs.get("/login?user=ada")
	phone := hs.jarToken(cookieName)
	hs.setJar()
	hs.get("/login?user=bob")
	bob := hs.jarToken(cookieName)

	hs.clock.Advance(time.Minute)
	hs.setJar(cookieName + "=" + phone)
	hs.get("/logout-everywhere")

	for name, tok := range map[string]string{"laptop": laptop, "phone": phone} {
		hs.setJar(cookieName + "=" + tok)
		if got := hs.get("/get?k=user").body; got != "<none>" {
			t.Errorf("ada's %s session survived sign-out everywhere: %q", name, got)
		}
	}
	hs.setJar(cookieName + "=" + bob)
	if got := hs.get("/get?k=user").body; got != "bob" {
		t.Errorf("another user's session ended: %q", got)
	}
	hs.clock.Advance(time.Second)
	hs.setJar()
	hs.get("/login?user=ada")
	if got := hs.get("/get?k=user").body; got != "ada" {
		t.Errorf("a login after the sign-out is refused: %q", got)
	}
}
