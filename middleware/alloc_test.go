//go:build !race

// The race detector drops sync.Pool entries at random, which makes
// allocation counts vary; these tests run without it.

package middleware_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"satchel.dev/internal/benchfix"
	"satchel.dev/middleware"
	"satchel.dev/token"
)

// TestHandlerAllocations pins the middleware's own allocations per request
// on the typical payload: what a request costs beyond the same httptest
// request to a bare handler and beyond token.Open and token.Seal measured
// alone on the same token and values. They are the request's exchange
// (Session, wrapper and request context together) and r.WithContext; a
// request that writes the session adds the Set-Cookie value, and its one
// Set adds two: the value's JSON (Set encodes at once, so that Get
// returns what a later request will see) and that JSON boxed into the
// session's map. The header slices, the Max-Age number, Vary and
// Cache-Control cost nothing.
func TestHandlerAllocations(t *testing.T) {
	ring := newRing(t, newKey(t))
	now := func() time.Time { return t0 }
	m := newManager(t, ring, middleware.Config{Now: now})
	rec := httptest.NewRecorder()
	m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s := middleware.Get(r)
		for k, v := range benchfix.Typical() {
			s.Set(k, v)
		}
	})).ServeHTTP(rec, httptest.NewRequest("GET", "/", nil))
	c := rec.Result().Cookies()[0]
	cookie := c.Name + "=" + c.Value

	full := m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		middleware.Get(r).Set("theme", "light")
		io.WriteString(w, "ok")
	}))
	read := m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, ok := middleware.Get(r).GetInt64("user_id"); !ok {
			t.Error("session lost")
		}
		io.WriteString(w, "ok")
	}))
	bare := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "ok")
	})
	request := func(h http.Handler) float64 {
		return testing.AllocsPerRun(100, func() {
			req := httptest.NewRequest("GET", "/", nil)
			req.Header.Set("Cookie", cookie)
			h.ServeHTTP(httptest.NewRecorder(), req)
		})
	}

	opts := &token.Options{MaxSize: 1 << 16, Now: now}
	implicit := middleware.ImplicitAssertion(c.Name, "")
	open := testing.AllocsPerRun(100, func() {
		if _, err := token.Open(ring, c.Value, implicit, opts); err != nil {
			t.Fatal(err)
		}
	})
	claims, err := token.Open(ring, c.Value, implicit, opts)
	if err != nil {
		t.Fatal(err)
	}
	claims.Data["theme"] = "light"
	seal := testing.AllocsPerRun(100, func() {
		_, err := token.Seal(ring.Primary(), &token.Claims{
			Expiry: claims.Expiry, IssuedAt: claims.IssuedAt, NotBefore: claims.NotBefore,
			ID: claims.ID, Data: claims.Data,
		}, implicit, opts)
		if err != nil {
			t.Fatal(err)
		}
	})

	base := request(bare)
	t.Logf("allocations: bare request %v, token.Open %v, token.Seal %v", base, open, seal)
	if got, want := request(full)-base-open-seal, 5.0; got != want {
		t.Errorf("a request that writes the session costs the middleware %v allocations, want %v", got, want)
	}
	if got, want := request(read)-base-open, 2.0; got != want {
		t.Errorf("a request that reads the session costs the middleware %v allocations, want %v", got, want)
	}
}
