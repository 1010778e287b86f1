package middleware_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httptrace"
	"net/textproto"
	"strings"
	"sync"
	"testing"
	"time"

	"satchel.dev/middleware"
)

func TestWrapperPassesFlusherHijackerAndResponseController(t *testing.T) {
	t.Parallel()
	hs := newHarness(t, middleware.Config{}, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s := middleware.Get(r)
		switch r.URL.Path {
		case "/flusher":
			s.Set("via", "flusher")
			f, ok := w.(http.Flusher)
			if !ok {
				t.Error("wrapper is not an http.Flusher")
				return
			}
			io.WriteString(w, "part1;")
			f.Flush()
			io.WriteString(w, "part2")
		case "/controller":
			s.Set("via", "controller")
			rc := http.NewResponseController(w)
			if err := rc.SetWriteDeadline(time.Now().Add(time.Minute)); err != nil {
				t.Errorf("SetWriteDeadline through Unwrap: %v", err)
			}
			if err := rc.Flush(); err != nil {
				t.Errorf("ResponseController.Flush: %v", err)
			}
			io.WriteString(w, "ok")
		case "/hijacker":
			s.Set("via", "hijacker")
			hj, ok := w.(http.Hijacker)
			if !ok {
				t.Error("wrapper is not an http.Hijacker")
				return
			}
			conn, brw, err := hj.Hijack()
			if err != nil {
				t.Errorf("Hijack: %v", err)
				return
			}
			defer conn.Close()
			// A hijacking handler writes its own response; Hijack has put
			// the session's cookie in Header() for it.
			brw.WriteString("HTTP/1.1 200 OK\r\n")
			w.Header().Write(brw)
			brw.WriteString("Content-Length: 8\r\nConnection: close\r\n\r\nhijacked")
			brw.Flush()
		case "/controller-hijack":
			s.Set("via", "controller-hijack")
			conn, brw, err := http.NewResponseController(w).Hijack()
			if err != nil {
				t.Errorf("ResponseController.Hijack: %v", err)
				return
			}
			defer conn.Close()
			brw.WriteString("HTTP/1.1 200 OK\r\n")
			w.Header().Write(brw)
			brw.WriteString("Content-Length: 2\r\nConnection: close\r\n\r\nok")
			brw.Flush()
		case "/get":
			v, _ := s.GetString("via")
			io.WriteString(w, v)
		}
	}))
	for _, path := range []string{"/flusher", "/controller", "/hijacker", "/controller-hijack"} {
		t.Run(path[1:], func(t *testing.T) {
			r := hs.get(path)
			if r.status != 200 || len(r.cookies) != 1 {
				t.Fatalf("status %d, Set-Cookie %q", r.status, r.cookies)
			}
			if got := hs.get("/get").body; got != path[1:] {
				t.Errorf("session holds %q", got)
			}
		})
	}
}

func TestFlushBeforeWriteCarriesCookie(t *testing.T) {
	t.Parallel()
	for _, how := range []string{"Flusher", "ResponseController"} {
		t.Run(how, func(t *testing.T) {
			hs := newHarness(t, middleware.Config{}, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				middleware.Get(r).Set("k", "v")
				if how == "Flusher" {
					w.(http.Flusher).Flush()
				} else {
					http.NewResponseController(w).Flush()
				}
				// Give the client time to see the flushed headers alone.
				time.Sleep(10 * time.Millisecond)
				io.WriteString(w, "late body")
			}))
			r := hs.get("/")
			if len(r.cookies) != 1 || r.body != "late body" {
				t.Errorf("Set-Cookie %q, body %q", r.cookies, r.body)
			}
		})
	}
}

func TestEarlyHintsDoNotCommit(t *testing.T) {
	t.Parallel()
	hs := newHarness(t, middleware.Config{}, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s := middleware.Get(r)
		w.Header().Set("Link", "</style.css>; rel=preload; as=style")
		w.WriteHeader(http.StatusEarlyHints)
		// Still before the final headers: this change must be saved.
		s.Set("after-103", "yes")
		io.WriteString(w, "done")
	}))
	var mu sync.Mutex
	var hints []textproto.MIMEHeader
	trace := &httptrace.ClientTrace{Got1xxResponse: func(code int, h textproto.MIMEHeader) error {
		mu.Lock()
		defer mu.Unlock()
		if code == http.StatusEarlyHints {
			hints = append(hints, h)
		}
		return nil
	}}
	req := httptest.NewRequest("GET", hs.srv.URL+"/", nil)
	req = req.WithContext(httptrace.WithClientTrace(context.Background(), trace))
	r := hs.do(req)
	mu.Lock()
	defer mu.Unlock()
	if len(hints) != 1 {
		t.Fatalf("got %d 103 responses", len(hints))
	}
	if hints[0].Get("Link") == "" || len(hints[0].Values("Set-Cookie")) != 0 {
		t.Errorf("103 headers %v: want the Link and no Set-Cookie", hints[0])
	}
	if len(r.cookies) != 1 || r.body != "done" {
		t.Fatalf("final response: Set-Cookie %q, body %q", r.cookies, r.body)
	}
	c := openToken(t, hs.src.Current(), hs.jarToken(cookieName), hs.clock.Now())
	if _, ok := c.Data["after-103"]; !ok {
		t.Error("the change made after the 103 was lost")
	}
}

func TestCommitPoints(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		write func(w http.ResponseWriter)
	}{
		{"Write", func(w http.ResponseWriter) { w.Write([]byte("x")) }},
		{"WriteString", func(w http.ResponseWriter) { io.WriteString(w, "x") }},
		{"WriteHeader", func(w http.ResponseWriter) { w.WriteHeader(http.StatusAccepted) }},
		{"ReadFrom", func(w http.ResponseWriter) { io.Copy(w, strings.NewReader("x")) }},
		{"ServeContent", func(w http.ResponseWriter) {
			http.ServeContent(w, &http.Request{Method: "GET", Header: http.Header{}}, "x.txt", time.Time{}, strings.NewReader("x"))
		}},
		{"return without writing", func(http.ResponseWriter) {}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var setAfter bool
			hs := newHarness(t, middleware.Config{ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
				setAfter = true
			}}, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				s := middleware.Get(r)
				s.Set("before", 1)
				tt.write(w)
				if tt.name != "return without writing" {
					s.Set("after", 1) // must be reported: the headers have left
				}
			}))
			r := hs.get("/")
			if len(r.cookies) != 1 {
				t.Fatalf("Set-Cookie %q", r.cookies)
			}
			if tt.name != "return without writing" && !setAfter {
				t.Error("the change after the commit point was not reported")
			}
		})
	}
}

func TestHijackUnsupported(t *testing.T) {
	t.Parallel()
	m := newManager(t, newRing(t, newKey(t)), middleware.Config{})
	var err error
	h := m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _, err = w.(http.Hijacker).Hijack()
	}))
	h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/", nil))
	if err == nil || !strings.Contains(err.Error(), "not supported") {
		t.Errorf("Hijack on a recorder: %v", err)
	}
}
