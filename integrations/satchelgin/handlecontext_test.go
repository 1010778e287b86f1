package satchelgin_test

import (
	"net/http"
	"testing"

	"github.com/gin-gonic/gin"

	"satchel.dev/integrations/satchelgin"
	satchel "satchel.dev/middleware"
	"satchel.dev/sessiontest"
)

// TestHandleContext checks gin's Engine.HandleContext, which runs the
// chain again and resets c.Writer on the way: a change made before the
// call and one made after both reach the client, in one session.
func TestHandleContext(t *testing.T) {
	t.Parallel()
	m := newManager(t, satchel.Config{})
	r := gin.New()
	r.Use(satchelgin.Middleware(m))
	r.GET("/a", func(c *gin.Context) {
		m.Get(c.Request).Set("before", true)
		c.Request.URL.Path = "/b"
		r.HandleContext(c)
	})
	r.GET("/b", func(c *gin.Context) {
		m.Get(c.Request).Set("after", true)
		c.Header("X-Handler", "b")
		c.String(http.StatusOK, "b")
	})
	srv, client := server(t, r)
	resp, body := call(t, client, "GET", srv.URL+"/a")
	if resp.StatusCode != 200 || body != "b" {
		t.Fatalf("got %d %q", resp.StatusCode, body)
	}
	var before, after bool
	sessiontest.Open(m, resp.Cookies(), func(s *satchel.Session) {
		before, _ = s.GetBool("before")
		after, _ = s.GetBool("after")
	})
	if !before || !after {
		t.Errorf("saved: before %v, after %v; want both", before, after)
	}
	if n := len(resp.Header.Values("Set-Cookie")); n != 1 {
		t.Errorf("%d Set-Cookie headers, want 1", n)
	}
}

// TestRegisteredTwice checks that a Middleware met twice in one chain
// keeps one session: one Set-Cookie, holding the change.
func TestRegisteredTwice(t *testing.T) {
	t.Parallel()
	m := newManager(t, satchel.Config{})
	r := gin.New()
	r.Use(satchelgin.Middleware(m), satchelgin.Middleware(m))
	r.GET("/", func(c *gin.Context) {
		m.Get(c.Request).Set("n", 1)
		c.String(http.StatusOK, "ok")
	})
	srv, client := server(t, r)
	resp, _ := call(t, client, "GET", srv.URL+"/")
	if n := len(resp.Header.Values("Set-Cookie")); n != 1 {
		t.Fatalf("%d Set-Cookie headers, want 1", n)
	}
	sessiontest.Open(m, resp.Cookies(), func(s *satchel.Session) {
		if n, _ := s.GetInt64("n"); n != 1 {
			t.Errorf("n = %d", n)
		}
	})
}

// TestTwoManagers checks two Managers, each with its own Middleware, in
// one chain: each handler change reaches its own cookie.
func TestTwoManagers(t *testing.T) {
	t.Parallel()
	auth := newManager(t, satchel.Config{})
	prefs := newManager(t, satchel.Config{Name: "__Host-prefs"})
	r := gin.New()
	r.Use(satchelgin.Middleware(auth), satchelgin.Middleware(prefs))
	r.GET("/", func(c *gin.Context) {
		auth.Get(c.Request).Set("user", "ada")
		prefs.Get(c.Request).Set("theme", "dark")
		c.String(http.StatusOK, "ok")
	})
	srv, client := server(t, r)
	resp, _ := call(t, client, "GET", srv.URL+"/")
	for _, tc := range []struct {
		m        *satchel.Manager
		key, val string
	}{{auth, "user", "ada"}, {prefs, "theme", "dark"}} {
		sessiontest.Open(tc.m, resp.Cookies(), func(s *satchel.Session) {
			if v, _ := s.GetString(tc.key); v != tc.val {
				t.Errorf("%s = %q, want %q", tc.key, v, tc.val)
			}
		})
	}
}
