package middleware_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"satchel.dev/keyring"
	"satchel.dev/middleware"
	"satchel.dev/token"
)

const cookieName = "__Host-session"

func TestRoundTripAndNoCookieWhenUnchanged(t *testing.T) {
	t.Parallel()
	hs := newHarness(t, middleware.Config{}, kv())
	if r := hs.get("/get?k=user"); r.body != "<none>" || len(r.cookies) != 0 {
		t.Fatalf("fresh client: body %q, Set-Cookie %q", r.body, r.cookies)
	}
	r := hs.get("/set?user=ada")
	if len(r.cookies) != 1 {
		t.Fatalf("Set: want one Set-Cookie, got %q", r.cookies)
	}
	tok := hs.jarToken(cookieName)
	for i := range 3 {
		r := hs.get("/get?k=user")
		if r.body != "ada" {
			t.Fatalf("read %d: got %q, want ada", i, r.body)
		}
		if len(r.cookies) != 0 {
			t.Fatalf("read %d of an unchanged session sent Set-Cookie %q", i, r.cookies)
		}
		if got := r.header.Get("Vary"); got != "Cookie" {
			t.Errorf("response that read the session has Vary %q, want Cookie", got)
		}
	}
	if r := hs.get("/other"); len(r.cookies) != 0 || r.header.Get("Vary") != "" {
		t.Errorf("handler that ignores the session: Set-Cookie %q, Vary %q", r.cookies, r.header.Get("Vary"))
	}
	if hs.jarToken(cookieName) != tok {
		t.Error("the cookie changed although the session did not")
	}
}

func TestSetCookieHeaders(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name         string
		cacheControl string // set by the handler
		vary         string
		wantCC       []string
		wantVary     []string
	}{
		{"none", "", "", []string{"private"}, []string{"Cookie"}},
		{"public", "public, max-age=60", "Accept-Encoding", []string{"public, max-age=60", `no-cache="Set-Cookie"`}, []string{"Accept-Encoding", "Cookie"}},
		{"no-store kept", "no-store", "cookie", []string{"no-store"}, []string{"cookie"}},
		{"private kept", "private, max-age=60", "*", []string{"private, max-age=60"}, []string{"*"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			hs := newHarness(t, middleware.Config{}, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if tt.cacheControl != "" {
					w.Header().Set("Cache-Control", tt.cacheControl)
				}
				if tt.vary != "" {
					w.Header().Set("Vary", tt.vary)
				}
				middleware.Get(r).Set("k", 1)
			}))
			r := hs.get("/")
			if len(r.cookies) != 1 {
				t.Fatalf("Set-Cookie %q", r.cookies)
			}
			if diff := cmp.Diff(tt.wantCC, r.header.Values("Cache-Control")); diff != "" {
				t.Errorf("Cache-Control (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.wantVary, r.header.Values("Vary")); diff != "" {
				t.Errorf("Vary (-want +got):\n%s", diff)
			}
		})
	}
}

// Issue 9 #2: a handler's qualified no-cache="X-Other" or private="X-Other"
// once stopped the middleware from protecting Set-Cookie, so a shared
// cache could serve one visitor's sealed session to the next. Only an
// unqualified private, no-store or no-cache, or a no-cache naming
// Set-Cookie, counts as already safe.
func TestCacheControlQualifiedDirectivesDoNotHideSetCookie(t *testing.T) {
	t.Parallel()
	const add = `no-cache="Set-Cookie"`
	tests := []struct {
		handler string
		want    []string
	}{
		{`no-cache="X-Other"`, []string{`no-cache="X-Other"`, add}},
		{`private="X-Other"`, []string{`private="X-Other"`, add}},
		{`public, no-cache="X-Other", max-age=60`, []string{`public, no-cache="X-Other", max-age=60`, add}},
		{`no-cache="X-Other, Set-Cookie-Two"`, []string{`no-cache="X-Other, Set-Cookie-Two"`, add}},
		{`s-maxage=60, private-ish`, []string{`s-maxage=60, private-ish`, add}},
		{`no-cache="Set-Cookie`, []string{`no-cache="Set-Cookie`, add}}, // unterminated
		{`public, no-cache="X-Other, set-cookie"`, []string{`public, no-cache="X-Other, set-cookie"`}},
		{`no-cache = "Set-Cookie"`, []string{`no-cache = "Set-Cookie"`}},
		{`max-age=0, No-Cache`, []string{`max-age=0, No-Cache`}},
		{`PRIVATE`, []string{`PRIVATE`}},
		{`public, max-age=60, no-store`, []string{`public, max-age=60, no-store`}},
	}
	for _, tt := range tests {
		t.Run(tt.handler, func(t *testing.T) {
			t.Parallel()
			hs := newHarness(t, middleware.Config{}, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Cache-Control", tt.handler)
				middleware.Get(r).Set("k", 1)
			}))
			r := hs.get("/")
			if len(r.cookies) != 1 {
				t.Fatalf("Set-Cookie %q", r.cookies)
			}
			if diff := cmp.Diff(tt.want, r.header.Values("Cache-Control")); diff != "" {
				t.Errorf("Cache-Control (-want +got):\n%s", diff)
			}
		})
	}
}

// Issue 11: a full chunk's Set-Cookie line, header name and attributes
// included, stays within 4096 bytes, even with a long Domain and Path and
// the longest Max-Age; some front-end proxies drop every cookie of a
// response with a longer line.
func TestSetCookieLineWithinLimit(t *testing.T) {
	t.Parallel()
	cfg := middleware.Config{
		Name: "__Secure-a-rather-long-session-cookie-name", Domain: "accounts.eu-west.example-retailer.com",
		Path: "/storefront/checkout/account-area", SameSite: http.SameSiteNoneMode,
		MaxAge: time.Hour, MaxLifetime: 400 * 24 * time.Hour, MaxChunks: 2,
		ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
			http.Error(w, "too large", http.StatusInternalServerError)
		},
	}
	m := newManager(t, newRing(t, newKey(t)), cfg)
	h := m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var n int
		fmt.Sscan(r.URL.Query().Get("n"), &n)
		s := middleware.Get(r)
		s.Set("v", strings.Repeat("a", n))
		s.SetLifetime(400 * 24 * time.Hour) // the longest Max-Age
	}))
	set := func(n int) *httptest.ResponseRecorder {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest("GET", fmt.Sprintf("https://accounts.eu-west.example-retailer.com/storefront/checkout/account-area?n=%d", n), nil))
		return rec
	}
	// The largest value that still fits, by bisection.
	lo, hi := 0, 2*middleware.CookieLimit
	for lo+1 < hi {
		mid := (lo + hi) / 2
		if set(mid).Code == 200 {
			lo = mid
		} else {
			hi = mid
		}
	}
	lines := set(lo).Result().Header.Values("Set-Cookie")
	if len(lines) != 2 {
		t.Fatalf("largest session: Set-Cookie %q, want two chunks", lines)
	}
	for _, sc := range lines {
		line := "Set-Cookie: " + sc
		if len(line) > middleware.CookieLimit {
			t.Errorf("a %d-byte Set-Cookie line was sent", len(line))
		}
		// Not wasteful either: each chunk is filled to within a few bytes.
		if strings.Contains(sc, "v4.local.") && len(line) < middleware.CookieLimit-8 {
			t.Errorf("the first chunk's line is only %d bytes", len(line))
		}
		if !strings.Contains(sc, "Max-Age=34560000") {
			t.Errorf("not the longest Max-Age: %.80q", sc)
		}
	}
}

func TestTypedValuesRoundTrip(t *testing.T) {
	t.Parallel()
	when := time.Date(2026, 3, 4, 5, 6, 7, 890000000, time.FixedZone("X", 3600))
	type item struct {
		SKU string `json:"sku"`
		Qty int    `json:"qty"`
	}
	hs := newHarness(t, middleware.Config{}, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s := middleware.Get(r)
		if r.URL.Path == "/set" {
			s.Set("str", "héllo \"quoted\" \u2028")
			s.Set("big", int64(9007199254740993))
			s.Set("neg", -42)
			s.Set("float", 2.5)
			s.Set("yes", true)
			s.Set("when", when)
			s.Set("cart", []item{{"SKU-1", 2}, {"SKU-2", 1}})
			s.Set("nested", map[string]any{"ids": []any{int64(9007199254740993), "x"}})
			s.Set("raw", json.RawMessage(`{"b":1, "a":[1.50]}`))
			return
		}
		var got []string
		str, ok := s.GetString("str")
		got = append(got, fmt.Sprintf("str=%q %v", str, ok))
		big, ok := s.GetInt64("big")
		got = append(got, fmt.Sprintf("big=%d %v", big, ok))
		neg, ok := s.GetInt64("neg")
		got = append(got, fmt.Sprintf("neg=%d %v", neg, ok))
		_, ok = s.GetInt64("float")
		got = append(got, fmt.Sprintf("float-as-int %v", ok))
		yes, ok := s.GetBool("yes")
		got = append(got, fmt.Sprintf("yes=%v %v", yes, ok))
		tm, ok := s.GetTime("when")
		got = append(got, fmt.Sprintf("when=%v %v", tm.Equal(when), ok))
		_, ok = s.GetString("big")
		got = append(got, fmt.Sprintf("big-as-string %v", ok))
		_, ok = s.GetBool("missing")
		got = append(got, fmt.Sprintf("missing %v", ok))
		cart, err := middleware.Decode[[]item](s, "cart")
		got = append(got, fmt.Sprintf("cart=%v %v", cart, err))
		nested, _ := s.Get("nested")
		got = append(got, fmt.Sprintf("nested=%#v", nested))
		f, _ := s.Get("float")
		got = append(got, fmt.Sprintf("float=%#v", f))
		raw, err := middleware.Decode[json.RawMessage](s, "raw")
		got = append(got, fmt.Sprintf("raw=%s %v", raw, err))
		_, err = middleware.Decode[[]item](s, "str")
		got = append(got, fmt.Sprintf("str-as-cart: %v", err))
		_, err = middleware.Decode[int](s, "nope")
		got = append(got, fmt.Sprintf("nope: %v", err))
		got = append(got, fmt.Sprintf("keys=%v len=%d", s.Keys(), s.Len()))
		io.WriteString(w, strings.Join(got, "\n"))
	}))
	hs.get("/set")
	r := hs.get("/get")
	want := strings.Join([]string{
		`str="héllo \"quoted\" \u2028" true`,
		`big=9007199254740993 true`,
		`neg=-42 true`,
		`float-as-int false`,
		`yes=true true`,
		`when=true true`,
		`big-as-string false`,
		`missing false`,
		`cart=[{SKU-1 2} {SKU-2 1}] <nil>`,
		`nested=map[string]interface {}{"ids":[]interface {}{9007199254740993, "x"}}`,
		`float=2.5`,
		`raw={"b":1, "a":[1.50]} <nil>`,
		`str-as-cart: middleware: session value has another type: "str" does not decode into []middleware_test.item`,
		`nope: middleware: no such session value: "nope"`,
		`keys=[big cart float neg nested raw str when yes] len=9`,
	}, "\n")
	if diff := cmp.Diff(want, r.body); diff != "" {
		t.Errorf("values after a round trip (-want +got):\n%s", diff)
	}
}

func TestInt64PrecisionSurvives(t *testing.T) {
	t.Parallel()
	const big = int64(9007199254740993) // 2^53 + 1: a float64 would round it
	hs := newHarness(t, middleware.Config{}, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s := middleware.Get(r)
		switch r.URL.Path {
		case "/set":
			s.Set("id", big)
		case "/touch":
			s.Set("other", 1) // rewrites the cookie, leaving id raw
		default:
			n, ok := s.GetInt64("id")
			v, _ := s.Get("id")
			d, err := middleware.Decode[int64](s, "id")
			fmt.Fprintf(w, "%d %v %T %v %d %v", n, ok, v, v, d, err)
		}
	}))
	hs.get("/set")
	hs.get("/touch")
	want := "9007199254740993 true int64 9007199254740993 9007199254740993 <nil>"
	if r := hs.get("/read"); r.body != want {
		t.Errorf("got %q, want %q", r.body, want)
	}
}

func TestUntouchedValuesKeepTheirBytes(t *testing.T) {
	t.Parallel()
	// A value in a form our encoder would never produce: unsorted keys,
	// spaces, a trailing zero, an escape. Written back byte for byte
	// while another key changes.
	const odd = `{ "z":1, "a":[1.50,"\u00e9"] }`
	hs := newHarness(t, middleware.Config{}, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		middleware.Get(r).Set("n", r.URL.Query().Get("n"))
	}))
	key := hs.src.Current().Primary()
	tok := sealFor(t, key, t0, t0.Add(time.Hour), "sid", map[string]any{"keep": json.RawMessage(odd)})
	hs.setJar(cookieName + "=" + tok)
	for _, n := range []string{"1", "2"} {
		if r := hs.get("/?n=" + n); len(r.cookies) != 1 {
			t.Fatalf("Set-Cookie %q", r.cookies)
		}
		c := openToken(t, hs.src.Current(), hs.jarToken(cookieName), hs.clock.Now())
		if got := string(c.Data["keep"].(json.RawMessage)); got != odd {
			t.Fatalf("untouched value was re-encoded: %s", got)
		}
		if got := string(c.Data["n"].(json.RawMessage)); got != `"`+n+`"` {
			t.Fatalf("changed value: %s", got)
		}
	}
}

func TestAbsoluteExpiry(t *testing.T) {
	t.Parallel()
	// No leeway, so the deadline is exact (TestExpiryLeeway covers the
	// default).
	hs := newHarness(t, middleware.Config{MaxAge: time.Hour, Leeway: -1}, kv())
	r := hs.get("/set?user=ada")
	if c := cookieAttrs(t, r.cookies[0]); c.MaxAge != 3600 {
		t.Errorf("Max-Age %d, want 3600", c.MaxAge)
	}
	hs.clock.Advance(30 * time.Minute)
	// A change half-way through keeps the absolute deadline: Max-Age is
	// what is left, not a fresh hour.
	r = hs.get("/set?cart=1")
	if c := cookieAttrs(t, r.cookies[0]); c.MaxAge != 1800 {
		t.Errorf("Max-Age after 30 min %d, want 1800", c.MaxAge)
	}
	hs.clock.Advance(29*time.Minute + 59*time.Second)
	if r := hs.get("/get?k=user"); r.body != "ada" {
		t.Fatalf("1 s before the deadline: %q", r.body)
	}
	hs.clock.Advance(time.Second)
	if r := hs.get("/get?k=user"); r.body != "<none>" {
		t.Fatalf("at the deadline the session is still there: %q", r.body)
	}
}

func TestIdleExpiry(t *testing.T) {
	t.Parallel()
	// No leeway, so both deadlines are exact.
	hs := newHarness(t, middleware.Config{MaxAge: time.Hour, IdleTimeout: 10 * time.Minute, Leeway: -1}, kv())
	r := hs.get("/set?user=ada")
	if c := cookieAttrs(t, r.cookies[0]); c.MaxAge != 600 {
		t.Fatalf("Max-Age %d, want the idle window 600", c.MaxAge)
	}
	// Requests every 4 minutes: the window is refreshed at most once per
	// half window (5 min), and never past the hour.
	var refreshes []time.Duration
	for elapsed := 4 * time.Minute; elapsed < time.Hour; elapsed += 4 * time.Minute {
		hs.clock.Advance(4 * time.Minute)
		r := hs.get("/get?k=user")
		if r.body != "ada" {
			t.Fatalf("after %v of activity: %q", elapsed, r.body)
		}
		if len(r.cookies) > 0 {
			refreshes = append(refreshes, elapsed)
			c := cookieAttrs(t, r.cookies[0])
			if want := min(600, int((time.Hour-elapsed)/time.Second)); c.MaxAge != want {
				t.Errorf("refresh at %v: Max-Age %d, want %d", elapsed, c.MaxAge, want)
			}
		}
	}
	want := []time.Duration{8 * time.Minute, 16 * time.Minute, 24 * time.Minute, 32 * time.Minute, 40 * time.Minute, 48 * time.Minute, 56 * time.Minute}
	if diff := cmp.Diff(want, refreshes); diff != "" {
		t.Errorf("refreshes (-want +got):\n%s", diff)
	}
	// The 56 min refresh was capped at the hour (Max-Age 240 s, checked
	// above); at 1 h the session is gone despite the activity.
	hs.clock.Advance(4 * time.Minute)
	if r := hs.get("/get?k=user"); r.body != "<none>" {
		t.Fatalf("past the absolute deadline: %q", r.body)
	}

	// Idleness: a gap longer than the window ends the session.
	hs.get("/set?user=bob")
	hs.clock.Advance(10*time.Minute + time.Second)
	if r := hs.get("/get?k=user"); r.body != "<none>" {
		t.Fatalf("after an idle gap: %q", r.body)
	}
}

func TestRotationReencrypts(t *testing.T) {
	t.Parallel()
	hs := newHarness(t, middleware.Config{}, kv())
	k1 := hs.src.Current().Primary()
	hs.get("/set?user=ada")
	if c := openToken(t, hs.src.Current(), hs.jarToken(cookieName), hs.clock.Now()); c.KeyID != k1.ID() {
		t.Fatalf("sealed with %s, want %s", c.KeyID, k1.ID())
	}
	k2 := newKey(t)
	hs.src.Set(newRing(t, k2, k1))
	r := hs.get("/get?k=user")
	if r.body != "ada" || len(r.cookies) != 1 {
		t.Fatalf("after rotation: body %q, Set-Cookie %q; want the session re-issued", r.body, r.cookies)
	}
	c := openToken(t, hs.src.Current(), hs.jarToken(cookieName), hs.clock.Now())
	if c.KeyID != k2.ID() {
		t.Errorf("re-issued under %s, want the new primary %s", c.KeyID, k2.ID())
	}
	if r := hs.get("/get?k=user"); len(r.cookies) != 0 {
		t.Errorf("re-encrypted again: %q", r.cookies)
	}
}

func TestRenewGivesNewID(t *testing.T) {
	t.Parallel()
	hs := newHarness(t, middleware.Config{}, kv())
	hs.get("/set?user=ada")
	before := hs.get("/id").body
	if again := hs.get("/id").body; again != before {
		t.Fatalf("id changed without Renew: %q then %q", before, again)
	}
	r := hs.get("/renew")
	if r.body == before || len(r.body) != 22 {
		t.Fatalf("Renew kept id %q (was %q)", r.body, before)
	}
	if len(r.cookies) != 1 {
		t.Fatalf("Renew sent Set-Cookie %q", r.cookies)
	}
	if got := hs.get("/id").body; got != r.body {
		t.Errorf("next request sees id %q, want %q", got, r.body)
	}
	if got := hs.get("/get?k=user").body; got != "ada" {
		t.Errorf("Renew lost the values: %q", got)
	}
}

func TestDestroyRemovesCookie(t *testing.T) {
	t.Parallel()
	hs := newHarness(t, middleware.Config{}, kv())
	hs.get("/set?user=ada")
	r := hs.get("/destroy")
	if len(r.cookies) != 1 {
		t.Fatalf("Destroy sent %q", r.cookies)
	}
	c := cookieAttrs(t, r.cookies[0])
	if c.Name != cookieName || c.Value != "" || c.MaxAge >= 0 || !c.Secure || c.Path != "/" {
		t.Errorf("deletion cookie %q", r.cookies[0])
	}
	if hs.jarToken(cookieName) != "" {
		t.Error("the client still holds the cookie")
	}
	if got := hs.get("/get?k=user").body; got != "<none>" {
		t.Errorf("after Destroy: %q", got)
	}
}

func TestDestroyThenSetStartsNewSession(t *testing.T) {
	t.Parallel()
	hs := newHarness(t, middleware.Config{}, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s := middleware.Get(r)
		if r.URL.Path == "/login" {
			s.Set("user", "ada")
		} else {
			old := s.ID()
			s.Destroy()
			s.Set("theme", "dark")
			fmt.Fprintf(w, "%v %d", s.ID() != old, s.Len())
		}
	}))
	hs.get("/login")
	if r := hs.get("/swap"); r.body != "true 1" || len(r.cookies) != 1 {
		t.Fatalf("body %q, Set-Cookie %q", r.body, r.cookies)
	}
}

func TestClearDeletesCookieOnlyWhenPresent(t *testing.T) {
	t.Parallel()
	hs := newHarness(t, middleware.Config{}, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s := middleware.Get(r)
		if r.URL.Path == "/set" {
			s.Set("k", 1)
			return
		}
		s.Clear()
	}))
	if r := hs.get("/clear"); len(r.cookies) != 0 {
		t.Errorf("Clear without a cookie sent %q", r.cookies)
	}
	hs.get("/set")
	if r := hs.get("/clear"); len(r.cookies) != 1 || cookieAttrs(t, r.cookies[0]).MaxAge >= 0 {
		t.Errorf("Clear with a cookie sent %q, want a deletion", r.cookies)
	}
}

func TestFlashShowsOnce(t *testing.T) {
	t.Parallel()
	hs := newHarness(t, middleware.Config{}, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s := middleware.Get(r)
		q := r.URL.Query()
		if msg := q.Get("flash"); msg != "" {
			s.FlashCategory(q.Get("cat"), msg)
			return
		}
		var shown []string
		for _, f := range s.Flashes(q["only"]...) {
			shown = append(shown, f.Category+":"+f.Message)
		}
		fmt.Fprintf(w, "%s keys=%v len=%d values=%d", strings.Join(shown, "|"), s.Keys(), s.Len(), len(s.Values()))
	}))
	hs.get("/?flash=Saved.")
	hs.get("/?flash=Bad+card.&cat=error")
	hs.get("/?flash=Added+tea.")
	c := openToken(t, hs.src.Current(), hs.jarToken(cookieName), hs.clock.Now())
	if got := raw(c.Extra["satchel_flash"]); got != `[{"message":"Saved."},{"category":"error","message":"Bad card."},{"message":"Added tea."}]` {
		t.Errorf("satchel_flash claim %s", got)
	}
	if len(c.Data) != 0 {
		t.Errorf("flash messages among the values: %v", c.Data)
	}
	// A category filter takes only its messages; the others wait.
	r := hs.get("/?only=error")
	if r.body != "error:Bad card. keys=[] len=0 values=0" {
		t.Fatalf("filtered show: %q", r.body)
	}
	r = hs.get("/")
	if r.body != ":Saved.|:Added tea. keys=[] len=0 values=0" {
		t.Fatalf("first show: %q", r.body)
	}
	if len(r.cookies) != 1 || cookieAttrs(t, r.cookies[0]).MaxAge >= 0 {
		t.Errorf("showing the last messages should delete the cookie, sent %q", r.cookies)
	}
	if r := hs.get("/"); r.body != " keys=[] len=0 values=0" || len(r.cookies) != 0 {
		t.Errorf("second show: %q, Set-Cookie %q", r.body, r.cookies)
	}
}

func TestPopReadsOnce(t *testing.T) {
	t.Parallel()
	hs := newHarness(t, middleware.Config{}, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s := middleware.Get(r)
		if r.URL.Path == "/set" {
			s.Set("next", "/cart")
			s.Set("keep", 1)
			return
		}
		v, ok := s.Pop("next")
		fmt.Fprintf(w, "%v %v %v", v, ok, s.Keys())
	}))
	hs.get("/set")
	if r := hs.get("/"); r.body != "/cart true [keep]" || len(r.cookies) != 1 {
		t.Fatalf("first Pop: %q, Set-Cookie %q", r.body, r.cookies)
	}
	if r := hs.get("/"); r.body != "<nil> false [keep]" || len(r.cookies) != 0 {
		t.Fatalf("second Pop: %q, Set-Cookie %q", r.body, r.cookies)
	}
}

func TestValuesIsACopy(t *testing.T) {
	t.Parallel()
	hs := newHarness(t, middleware.Config{}, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s := middleware.Get(r)
		if r.URL.Path == "/set" {
			s.Set("list", []any{"a"})
			s.Set("n", 7)
			return
		}
		vals := s.Values()
		vals["n"] = 8
		vals["list"].([]any)[0] = "changed"
		v, _ := s.Get("list")
		n, _ := s.GetInt64("n")
		fmt.Fprintf(w, "%v %v %d", v, reflect.DeepEqual(vals["list"], v), n)
	}))
	hs.get("/set")
	if r := hs.get("/get"); r.body != "[a] false 7" || len(r.cookies) != 0 {
		t.Errorf("body %q, Set-Cookie %q", r.body, r.cookies)
	}
}

func TestConcurrentSetIsRaceFree(t *testing.T) {
	t.Parallel()
	const n = 64
	hs := newHarness(t, middleware.Config{}, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s := middleware.Get(r)
		if r.URL.Path == "/count" {
			fmt.Fprint(w, s.Len(), len(s.Flashes()))
			return
		}
		var wg sync.WaitGroup
		for i := range n {
			wg.Go(func() {
				s.Set(fmt.Sprintf("k%02d", i), i)
				s.Get("k00")
				s.Keys()
				if i%8 == 0 {
					s.Flash("m")
				}
			})
		}
		wg.Wait()
	}))
	hs.get("/set")
	if r := hs.get("/count"); r.body != fmt.Sprint(n, n/8) {
		t.Errorf("stored %s values and flash messages, want %d %d", r.body, n, n/8)
	}
}

func TestLateChangeIsReported(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	var reported []error
	cfg := middleware.Config{ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
		mu.Lock()
		reported = append(reported, err)
		mu.Unlock()
	}}
	hs := newHarness(t, cfg, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s := middleware.Get(r)
		s.Set("early", 1)
		io.WriteString(w, "body")
		s.Set("late", 2)
		s.Delete("early")
	}))
	r := hs.get("/")
	if len(r.cookies) != 1 {
		t.Fatalf("Set-Cookie %q", r.cookies)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(reported) != 1 {
		t.Fatalf("reported %v, want exactly one ErrLateChange", reported)
	}
	if !strings.Contains(reported[0].Error(), `Set("late")`) || !isErr(reported[0], middleware.ErrLateChange) {
		t.Errorf("reported %v", reported[0])
	}
	c := openToken(t, hs.src.Current(), hs.jarToken(cookieName), hs.clock.Now())
	if _, ok := c.Data["late"]; ok {
		t.Error("the late value reached the cookie")
	}
}

func TestLateChangeDefaultHandlerLogs(t *testing.T) {
	t.Parallel()
	hs := newHarness(t, middleware.Config{}, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusNoContent)
		middleware.Get(r).Set("secret-key-name", "value-that-must-not-be-logged")
	}))
	if r := hs.get("/"); r.status != http.StatusNoContent {
		t.Fatalf("status %d", r.status)
	}
	logs := hs.logs.String()
	if !strings.Contains(logs, "after the response headers were sent") {
		t.Errorf("late change not logged: %s", logs)
	}
	if strings.Contains(logs, "value-that-must-not-be-logged") {
		t.Errorf("log leaks a value: %s", logs)
	}
}

func TestBadCookiesGiveEmptySession(t *testing.T) {
	t.Parallel()
	hs := newHarness(t, middleware.Config{MaxAge: time.Hour}, kv())
	key := hs.src.Current().Primary()
	valid := sealFor(t, key, t0, t0.Add(time.Hour), "sid", map[string]any{"user": "ada"})
	other := sealFor(t, newKey(t), t0, t0.Add(time.Hour), "sid", map[string]any{"user": "eve"})
	expired := sealFor(t, key, t0.Add(-2*time.Hour), t0.Add(-time.Hour), "sid", map[string]any{"user": "ada"})
	future := sealFor(t, key, t0.Add(time.Hour), t0.Add(2*time.Hour), "sid", map[string]any{"user": "ada"})
	noID := sealFor(t, key, t0, t0.Add(time.Hour), "", map[string]any{"user": "ada"})
	tampered := []byte(valid)
	tampered[len("v4.local.")+40] ^= 1

	hs.setJar(cookieName + "=" + valid)
	if got := hs.get("/get?k=user").body; got != "ada" {
		t.Fatalf("control: the valid cookie gives %q", got)
	}
	tests := []struct {
		name    string
		cookies []string
		reason  string
	}{
		{"garbage", []string{cookieName + "=hello"}, "invalid"},
		{"empty", []string{cookieName + "="}, ""},
		{"tampered", []string{cookieName + "=" + string(tampered)}, "invalid"},
		{"truncated", []string{cookieName + "=" + valid[:len(valid)-5]}, "invalid"},
		{"unknown key", []string{cookieName + "=" + other}, "unknown key"},
		{"expired", []string{cookieName + "=" + expired}, "expired"},
		{"not yet valid", []string{cookieName + "=" + future}, "not yet valid"},
		{"not a session token", []string{cookieName + "=" + noID}, "not a session token: no jti (session id) claim; every token the middleware seals has jti, nbf and iat"},
		{"oversized", []string{cookieName + "=" + valid + strings.Repeat("A", 5000)}, "too large"},
		{"duplicate", []string{cookieName + "=" + valid, cookieName + "=" + valid}, "duplicate cookie"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := httptest.NewRequest("GET", hs.srv.URL+"/get?k=user", nil)
			req.Header.Set("Cookie", strings.Join(tt.cookies, "; "))
			hs.client.Jar = nil
			r := hs.do(req)
			if r.status != http.StatusOK || r.body != "<none>" {
				t.Errorf("status %d, body %q; want 200 and an empty session", r.status, r.body)
			}
			if len(r.cookies) != 0 {
				t.Errorf("a bad cookie caused Set-Cookie %q", r.cookies)
			}
			if tt.reason != "" && !strings.Contains(hs.logs.String(), "reason="+quoteIfNeeded(tt.reason)) {
				t.Errorf("debug log lacks reason %q:\n%s", tt.reason, hs.logs.String())
			}
			if strings.Contains(hs.logs.String(), valid[:40]) {
				t.Error("the log contains the token")
			}
		})
	}
}

func quoteIfNeeded(s string) string {
	if strings.ContainsRune(s, ' ') {
		return fmt.Sprintf("%q", s)
	}
	return s
}

func TestTooLargeGoesToDefaultErrorHandler(t *testing.T) {
	t.Parallel()
	secret := strings.Repeat("s3cr3t", 700) // ~4.2 KB: cannot fit
	hs := newHarness(t, middleware.Config{}, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s := middleware.Get(r)
		if r.URL.Path == "/small" {
			s.Set("note", "short")
			return
		}
		s.Set("note", secret)
		w.Header().Set("Location", "/elsewhere")
		w.WriteHeader(http.StatusSeeOther)
		io.WriteString(w, "handler body")
	}))
	hs.get("/small")
	before := hs.jarToken(cookieName)
	r := hs.get("/big")
	if r.status != http.StatusInternalServerError {
		t.Fatalf("status %d, want 500", r.status)
	}
	if len(r.cookies) != 0 || r.header.Get("Location") != "" || strings.Contains(r.body, "handler body") {
		t.Errorf("the handler's response leaked into the error page: Set-Cookie %q, Location %q, body %q",
			r.cookies, r.header.Get("Location"), r.body)
	}
	if hs.jarToken(cookieName) != before {
		t.Error("the stored cookie changed")
	}
	logs := hs.logs.String()
	if !strings.Contains(logs, "session too large") || strings.Contains(logs, "s3cr3t") {
		t.Errorf("log: %s", logs)
	}
	if got := hs.get("/small"); got.status != 200 {
		t.Errorf("next request: %d", got.status)
	}
}

func TestTooLargeCustomErrorHandler(t *testing.T) {
	t.Parallel()
	for _, answer := range []bool{true, false} {
		t.Run(fmt.Sprintf("answers=%v", answer), func(t *testing.T) {
			var got error
			cfg := middleware.Config{ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
				got = err
				if answer {
					http.Error(w, "your cart is too full", http.StatusUnprocessableEntity)
				}
			}}
			hs := newHarness(t, cfg, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				middleware.Get(r).Set("note", strings.Repeat("x", 5000))
				io.WriteString(w, "handler body")
			}))
			r := hs.get("/")
			if !isErr(got, middleware.ErrTooLarge) {
				t.Fatalf("ErrorHandler got %v", got)
			}
			want, status := "handler body", 200
			if answer {
				want, status = "your cart is too full\n", http.StatusUnprocessableEntity
			}
			if r.status != status || r.body != want || len(r.cookies) != 0 {
				t.Errorf("status %d body %q Set-Cookie %q", r.status, r.body, r.cookies)
			}
		})
	}
}

func TestUnencodableValueGoesToErrorHandler(t *testing.T) {
	t.Parallel()
	var got error
	cfg := middleware.Config{ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) { got = err }}
	hs := newHarness(t, cfg, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		middleware.Get(r).Set("ch", make(chan int))
	}))
	hs.get("/")
	if got == nil || !strings.Contains(got.Error(), "sealing the session") {
		t.Errorf("ErrorHandler got %v", got)
	}
}

func TestChunking(t *testing.T) {
	t.Parallel()
	cfg := middleware.Config{MaxChunks: 3}
	hs := newHarness(t, cfg, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s := middleware.Get(r)
		if n := r.URL.Query().Get("n"); n != "" {
			var size int
			fmt.Sscan(n, &size)
			s.Set("note", strings.Repeat("n", size))
			return
		}
		v, _ := s.GetString("note")
		fmt.Fprint(w, len(v))
	}))
	names := func() []string {
		var out []string
		for _, c := range hs.client.Jar.Cookies(hs.url) {
			out = append(out, c.Name)
		}
		return out
	}
	r := hs.get("/?n=5000")
	if len(r.cookies) != 2 {
		t.Fatalf("5000 bytes: Set-Cookie %q", r.cookies)
	}
	for _, sc := range r.cookies {
		if line := "Set-Cookie: " + sc; len(line) > middleware.CookieLimit {
			t.Errorf("chunk %s has a %d-byte Set-Cookie line", cookieAttrs(t, sc).Name, len(line))
		}
	}
	if diff := cmp.Diff([]string{cookieName, cookieName + ".1"}, names()); diff != "" {
		t.Errorf("cookies (-want +got):\n%s", diff)
	}
	if got := hs.get("/").body; got != "5000" {
		t.Fatalf("read back %s bytes", got)
	}
	// Shrinking to one cookie deletes the stale chunk.
	r = hs.get("/?n=10")
	if len(r.cookies) != 2 || cookieAttrs(t, r.cookies[1]).MaxAge >= 0 {
		t.Errorf("shrink: Set-Cookie %q", r.cookies)
	}
	if diff := cmp.Diff([]string{cookieName}, names()); diff != "" {
		t.Errorf("cookies after shrinking (-want +got):\n%s", diff)
	}
	// Past three chunks: refused loudly.
	if r := hs.get("/?n=13000"); r.status != 500 {
		t.Errorf("13000 bytes: status %d", r.status)
	}
	// A missing chunk means no session.
	hs.get("/?n=5000")
	first := hs.jarToken(cookieName)
	hs.setJar(cookieName + "=" + first)
	if got := hs.get("/").body; got != "0" {
		t.Errorf("with a chunk missing: %s", got)
	}
}

func isErr(err, target error) bool {
	for e := err; e != nil; {
		if e == target {
			return true
		}
		u, ok := e.(interface{ Unwrap() error })
		if !ok {
			return false
		}
		e = u.Unwrap()
	}
	return false
}

var _ = keyring.Key{}

// Issue 13: a value reads back with the same Go type in the request that
// set it and in every later one. Set("n", 1) used to read back as int in
// the same request and int64 in the next, so a `case int:` switch broke
// between requests.
func TestValuesKeepTheirTypeAcrossRequests(t *testing.T) {
	t.Parallel()
	type item struct {
		SKU string `json:"sku"`
		Qty int    `json:"qty"`
	}
	set := func(s *middleware.Session) {
		s.Set("int", 1)
		s.Set("int8", int8(-3))
		s.Set("uint64", uint64(1<<63))
		s.Set("whole-float", 2.0)
		s.Set("float", 2.5)
		s.Set("str", "s")
		s.Set("bool", true)
		s.Set("nil", nil)
		s.Set("strings", []string{"a"})
		s.Set("ints", map[string]int{"a": 1})
		s.Set("struct", item{"TEA", 2})
		s.Set("ptr", &item{"CUP", 1})
		s.Set("time", time.Date(2026, 1, 2, 3, 4, 5, 6, time.UTC))
		s.Set("raw", json.RawMessage(`{"z":[1,2.5]}`))
	}
	report := func(s *middleware.Session) string {
		var b strings.Builder
		for _, k := range s.Keys() {
			v, _ := s.Get(k)
			i, iok := s.GetInt(k)
			f, fok := s.GetFloat64(k)
			d, err := middleware.Decode[any](s, k)
			fmt.Fprintf(&b, "%s: %T %#v | GetInt %d %v | GetFloat64 %v %v | Decode[any] %#v %v\n", k, v, v, i, iok, f, fok, d, err)
		}
		return b.String()
	}
	hs := newHarness(t, middleware.Config{}, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s := middleware.Get(r)
		if r.URL.Path == "/set" {
			set(s)
		}
		io.WriteString(w, report(s))
	}))
	same := hs.get("/set").body
	later := hs.get("/").body
	if diff := cmp.Diff(same, later); diff != "" {
		t.Errorf("types differ between the setting request and the next (-same +later):\n%s", diff)
	}
	for _, want := range []string{
		"int: int64 1 | GetInt 1 true | GetFloat64 1 true",
		"whole-float: int64 2 | GetInt 2 true | GetFloat64 2 true",
		"float: float64 2.5 | GetInt 0 false | GetFloat64 2.5 true",
		"uint64: float64 9.223372036854776e+18",
		`struct: map[string]interface {} map[string]interface {}{"qty":2, "sku":"TEA"}`,
		`time: string "2026-01-02T03:04:05.000000006Z"`,
	} {
		if !strings.Contains(same, want) {
			t.Errorf("missing %q in\n%s", want, same)
		}
	}
	// A value set and then changed by the caller keeps what was set.
	hs2 := newHarness(t, middleware.Config{}, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s := middleware.Get(r)
		cart := []string{"tea"}
		s.Set("cart", cart)
		cart[0] = "coffee"
		v, _ := s.Get("cart")
		fmt.Fprint(w, v)
	}))
	if got := hs2.get("/").body; got != "[tea]" {
		t.Errorf("a change to the value after Set reached the session: %s", got)
	}
}

// Issue 9 #10: Decode used encoding/json, which matches field names
// case-insensitively, so {"Role":"user","role":"admin"} decoded as
// Role="admin". It now matches exactly, in the setting request and in
// the next.
func TestDecodeMatchesFieldNamesExactly(t *testing.T) {
	t.Parallel()
	type account struct{ Role string }
	hs := newHarness(t, middleware.Config{}, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s := middleware.Get(r)
		if r.URL.Path == "/set" {
			s.Set("acct", json.RawMessage(`{"Role":"user","role":"admin"}`))
			s.Set("lower", json.RawMessage(`{"role":"admin"}`))
		}
		a, err := middleware.Decode[account](s, "acct")
		l, lerr := middleware.Decode[account](s, "lower")
		fmt.Fprintf(w, "%q %v %q %v", a.Role, err, l.Role, lerr)
	}))
	want := `"user" <nil> "" <nil>`
	if got := hs.get("/set").body; got != want {
		t.Errorf("same request: %s, want %s", got, want)
	}
	if got := hs.get("/").body; got != want {
		t.Errorf("next request: %s, want %s", got, want)
	}
	// The same from a token sealed elsewhere.
	tok := sealFor(t, hs.src.Current().Primary(), hs.clock.Now(), hs.clock.Now().Add(time.Hour), "AAAAAAAAAAAAAAAAAAAAAA",
		map[string]any{"acct": json.RawMessage(`{"role":"admin","Role":"user"}`), "lower": json.RawMessage(`{"ROLE":"admin"}`)})
	hs.setJar(cookieName + "=" + tok)
	if got := hs.get("/").body; got != want {
		t.Errorf("from a sealed cookie: %s, want %s", got, want)
	}
}

// A token sealed by hand without the session claims is refused, and the
// debug log says which claims are missing.
func TestHandSealedTokenWithoutSessionClaims(t *testing.T) {
	t.Parallel()
	hs := newHarness(t, middleware.Config{}, kv())
	key := hs.src.Current().Primary()
	for _, tt := range []struct {
		claims token.Claims
		want   string
	}{
		{token.Claims{Expiry: t0.Add(time.Hour), IssuedAt: t0, NotBefore: t0}, "no jti (session id) claim"},
		{token.Claims{Expiry: t0.Add(time.Hour), IssuedAt: t0, ID: "sid"}, "no nbf (id issued) claim"},
		{token.Claims{Expiry: t0.Add(time.Hour), NotBefore: t0, ID: "sid"}, "no iat (last written) claim"},
		{token.Claims{Expiry: t0.Add(time.Hour)}, "no jti (session id), no nbf (id issued), no iat (last written) claim"},
	} {
		tt.claims.Data = map[string]any{"user": "ada"}
		tok, err := token.Seal(key, &tt.claims, implicit, nil)
		if err != nil {
			t.Fatal(err)
		}
		hs.setJar(cookieName + "=" + tok)
		if got := hs.get("/get?k=user").body; got != "<none>" {
			t.Errorf("%s: opened as %q", tt.want, got)
		}
		if !strings.Contains(hs.logs.String(), tt.want) {
			t.Errorf("log does not say %q:\n%s", tt.want, hs.logs.String())
		}
	}
}
