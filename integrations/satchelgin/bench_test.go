package satchelgin_test

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/gin-gonic/gin"

	"satchel.dev/integrations/satchelgin"
	satchel "satchel.dev/middleware"
	"satchel.dev/sessiontest"
)

// BenchmarkOverhead measures one request that opens a session and reads a
// value: in gin with Middleware, in gin with the naive adapter (which
// swaps no writer) and in a ServeMux with Manager.Handler.
func BenchmarkOverhead(b *testing.B) {
	m, err := satchel.New(benchRing(b), satchel.Config{})
	if err != nil {
		b.Fatal(err)
	}
	cookies, err := sessiontest.Cookies(m, func(s *satchel.Session) { s.Set("user", "ada") })
	if err != nil {
		b.Fatal(err)
	}
	read := func(r *http.Request) string { u, _ := m.Get(r).GetString("user"); return u }

	withGin := func(adapter gin.HandlerFunc) http.Handler {
		engine := gin.New()
		engine.Use(adapter)
		engine.GET("/", func(c *gin.Context) { c.String(http.StatusOK, read(c.Request)) })
		return engine
	}

	mux := http.NewServeMux()
	mux.HandleFunc("GET /", func(w http.ResponseWriter, r *http.Request) { w.Write([]byte(read(r))) })

	for _, bc := range []struct {
		name string
		h    http.Handler
	}{
		{"router=gin/adapter=satchelgin", withGin(satchelgin.Middleware(m))},
		// The naive adapter loses writes but serves this read-only
		// request correctly: the difference is the writer swap's cost.
		{"router=gin/adapter=naive", withGin(naive(m))},
		{"router=servemux", m.Handler(mux)},
	} {
		b.Run(bc.name, func(b *testing.B) {
			req := httptest.NewRequest("GET", "/", nil)
			for _, c := range cookies {
				req.AddCookie(c)
			}
			b.ReportAllocs()
			for b.Loop() {
				rec := httptest.NewRecorder()
				bc.h.ServeHTTP(rec, req)
				if rec.Body.String() != "ada" {
					b.Fatalf("body %q", rec.Body)
				}
			}
		})
	}
}
