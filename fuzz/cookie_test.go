package fuzz

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"
	"time"

	"satchel.dev/internal/benchfix"
	"satchel.dev/middleware"
)

// cookieManagers are the middleware setups FuzzCookieHeader drives: the
// default single __Host-session cookie, and chunking over up to three
// cookies (so that the chunk syntax is fuzzed too). Both seal under keyA
// at the fixed clock. A session too large for the manager's cookies is
// answered 413 with no cookie, so that issue can tell it from a failure.
func cookieManagers(tb testing.TB) []*middleware.Manager {
	tooLarge := func(w http.ResponseWriter, r *http.Request, err error) {
		if !errors.Is(err, middleware.ErrTooLarge) {
			tb.Errorf("session not saved: %v", err)
		}
		w.WriteHeader(http.StatusRequestEntityTooLarge)
	}
	var ms []*middleware.Manager
	for _, cfg := range []middleware.Config{
		{Now: func() time.Time { return now }, ErrorHandler: tooLarge},
		{Now: func() time.Time { return now }, MaxChunks: 3, Audience: "fuzz", ErrorHandler: tooLarge},
	} {
		m, err := middleware.New(ringA, cfg)
		if err != nil {
			tb.Fatal(err)
		}
		ms = append(ms, m)
	}
	return ms
}

// issued is a session the middleware sealed during setup: the Cookie
// header a browser would send back and the values it holds. Headers
// differ from process to process (random nonces and session ids), the
// values do not, which matters because fuzzing runs the target in worker
// processes that issue their own sessions.
type issued struct {
	header string
	values any // normalized
}

// normalizeValues encodes v with encoding/json and decodes it with
// numbers as json.Number, so values from any source compare equal.
func normalizeValues(tb testing.TB, v any) any {
	b, err := json.Marshal(v)
	if err != nil {
		tb.Fatal(err)
	}
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	var out any
	if err := d.Decode(&out); err != nil {
		tb.Fatal(err)
	}
	return out
}

// issue runs each payload, marked with the manager's index under "mgr",
// through m's handler and returns the sessions. A payload that does not
// fit m's cookies is left out (the large fixture needs more than one
// cookie, since every Set-Cookie line stays within 4096 bytes); the
// chunking manager must issue every payload (TestCookieSeedsOpen).
func issue(tb testing.TB, m *middleware.Manager, index int) []issued {
	var out []issued
	for _, p := range benchfix.Payloads {
		values := p.Values()
		values["mgr"] = index
		rec := httptest.NewRecorder()
		m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			s := middleware.Get(r)
			for k, v := range values {
				s.Set(k, v)
			}
		})).ServeHTTP(rec, httptest.NewRequest("GET", "/", nil))
		if rec.Code == http.StatusRequestEntityTooLarge {
			continue
		}
		var pairs []string
		for _, c := range rec.Result().Cookies() {
			pairs = append(pairs, c.Name+"="+c.Value)
		}
		if len(pairs) == 0 {
			tb.Fatalf("%s: the middleware issued no cookie", p.Name)
		}
		out = append(out, issued{header: strings.Join(pairs, "; "), values: normalizeValues(tb, values)})
	}
	return out
}

// sessionCookieCount counts the cookies named exactly name in the headers,
// splitting and trimming as browsers send them.
func sessionCookieCount(name string, headers ...string) int {
	n := 0
	for _, h := range headers {
		for _, part := range strings.Split(h, ";") {
			part = strings.Trim(part, " \t")
			if k, _, _ := strings.Cut(part, "="); k == name {
				n++
			}
		}
	}
	return n
}

// FuzzCookieHeader sends requests with one or two arbitrary Cookie header
// lines through the middleware to a read-only handler.
//
// Properties, for both managers:
//   - no panic, and the response is the handler's 200 "ok": a bad cookie
//     never turns into an error page (and never a 5xx);
//   - a session opens only from a cookie this manager issued: its values
//     are exactly those of one session the manager sealed (each manager
//     marks its own, so a cookie of the other manager, sealed under the
//     same key for another audience and cookie layout, never opens);
//     anything else gives an empty, new session;
//   - two cookies with the session's name give no session (a cookie
//     tossed in from a sibling subdomain never wins by order);
//   - a read-only request never gets a Set-Cookie that stores a session:
//     at most deletions (Max-Age=0) of cookies that were bad.
func FuzzCookieHeader(f *testing.F) {
	ms := cookieManagers(f)
	sessions := make([][]issued, len(ms))
	for i, m := range ms {
		sessions[i] = issue(f, m, i)
		for _, s := range sessions[i] {
			f.Add(s.header, "")
			f.Add(s.header, s.header)
			f.Add("a=b; "+s.header+"; c=d", "")
			f.Add(strings.ReplaceAll(s.header, "; ", ";"), "")
			f.Add(s.header[:len(s.header)-1], "x=y")
		}
	}
	f.Add("__Host-session=v4.local.AAAA.BBBB", "")
	f.Add("__Host-session=2~abc; __Host-session.1=def; __Host-session.2=ghi", "")
	f.Add("__Host-session=9~abc", "__Host-session.1=")
	f.Add("", "")
	f.Add(`__Host-session="quoted"`, "=;;;=")

	f.Fuzz(func(t *testing.T, h1, h2 string) {
		for i, m := range ms {
			var (
				opened bool
				values any
			)
			h := m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				s := middleware.Get(r)
				if s == nil {
					t.Fatal("no session in the request context")
				}
				opened = !s.IsNew() || s.Len() > 0
				values = normalizeValues(t, s.Values())
				io.WriteString(w, "ok")
			}))
			req := httptest.NewRequest("GET", "/", nil)
			req.Header["Cookie"] = []string{h1}
			if h2 != "" {
				req.Header["Cookie"] = append(req.Header["Cookie"], h2)
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)

			if rec.Code != http.StatusOK || rec.Body.String() != "ok" {
				t.Fatalf("manager %d: status %d body %q", i, rec.Code, rec.Body.String())
			}
			for _, sc := range rec.Result().Header["Set-Cookie"] {
				if !strings.Contains(sc, "=; Max-Age=0") {
					t.Fatalf("manager %d: read-only request stored a cookie: %q", i, sc)
				}
			}
			if !opened {
				continue
			}
			if n := sessionCookieCount(middleware.DefaultName, h1, h2); n != 1 {
				t.Fatalf("manager %d: opened a session with %d cookies named %s", i, n, middleware.DefaultName)
			}
			matched := false
			for _, s := range sessions[i] {
				if reflect.DeepEqual(values, s.values) {
					matched = true
					break
				}
			}
			if !matched {
				t.Fatalf("manager %d: opened a session that was never issued: %v", i, values)
			}
		}
	})
}

// TestCookieSeedsOpen checks that FuzzCookieHeader's seeds reach its
// "opened" branch: each manager opens the sessions it issued, with their
// values, and not those of the other manager.
func TestCookieSeedsOpen(t *testing.T) {
	ms := cookieManagers(t)
	sessions := [][]issued{issue(t, ms[0], 0), issue(t, ms[1], 1)}
	if len(sessions[0]) == 0 || len(sessions[1]) != len(benchfix.Payloads) {
		t.Fatalf("issued %d sessions in one cookie and %d of %d in chunks", len(sessions[0]), len(sessions[1]), len(benchfix.Payloads))
	}
	for i, m := range ms {
		for j := range ms {
			for _, s := range sessions[j] {
				var values any
				var opened bool
				req := httptest.NewRequest("GET", "/", nil)
				req.Header.Set("Cookie", s.header)
				m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					opened = !middleware.Get(r).IsNew()
					values = normalizeValues(t, middleware.Get(r).Values())
				})).ServeHTTP(httptest.NewRecorder(), req)
				if opened != (i == j) {
					t.Fatalf("manager %d, session of manager %d: opened = %v", i, j, opened)
				}
				if opened && !reflect.DeepEqual(values, s.values) {
					t.Fatalf("manager %d: values %v, want %v", i, values, s.values)
				}
			}
		}
	}
}
