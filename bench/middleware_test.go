package bench

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	paseto "aidanwoods.dev/go-paseto"
	"github.com/gorilla/securecookie"
	"github.com/gorilla/sessions"

	"satchel.dev/internal/benchfix"
	"satchel.dev/middleware"
)

// A Stack is one way to keep a session in a cookie behind net/http, with
// the two handlers every stack runs:
//
//   - Read: open the cookie, read one integer value, answer "ok";
//   - Full: open the cookie, read the same value, set "theme" to
//     "light", write the cookie back, answer "ok".
//
// Seed is a handler that stores a whole payload, so that each stack's
// benchmark requests carry a cookie the stack wrote itself.
type Stack struct {
	Name             string
	Seed, Read, Full func(p benchfix.Payload) http.Handler
}

// idKey is the integer value the handlers read: every payload has one.
func idKey(p benchfix.Payload) string {
	if p.Name == "small" {
		return "uid"
	}
	return "user_id"
}

func ok(w http.ResponseWriter) { io.WriteString(w, "ok") }

// Stacks returns satchel's middleware, gorilla/sessions' CookieStore and a
// hand-written go-paseto cookie, in that order. fail reports a handler
// that did not find its session (a broken benchmark, not a slow one).
func Stacks(k *Keys, fail func(string)) ([]Stack, error) {
	registerGob()
	// Two chunks let the large payload (about 3.9 KB sealed) fit; small
	// and typical never use the second.
	m, err := middleware.New(k.Ring, middleware.Config{MaxChunks: 2})
	if err != nil {
		return nil, err
	}
	store := sessions.NewCookieStore(k.HashKey, k.BlockKey)
	for _, c := range store.Codecs {
		// gob makes the large payload 6.9 KB: past what a browser keeps,
		// but the benchmark measures the work.
		c.(*securecookie.SecureCookie).MaxLength(MaxSize)
	}
	footer := []byte(`{"kid":"` + k.Satchel.ID() + `"}`)
	const pasetoCookie = "session"

	satchel := Stack{
		Name: "satchel",
		Seed: func(p benchfix.Payload) http.Handler {
			return m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				s := middleware.Get(r)
				for key, v := range p.Values() {
					s.Set(key, v)
				}
			}))
		},
		Read: func(p benchfix.Payload) http.Handler {
			key := idKey(p)
			return m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if _, found := middleware.Get(r).GetInt64(key); !found {
					fail("satchel: session lost")
				}
				ok(w)
			}))
		},
		Full: func(p benchfix.Payload) http.Handler {
			key := idKey(p)
			return m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				s := middleware.Get(r)
				if _, found := s.GetInt64(key); !found {
					fail("satchel: session lost")
				}
				s.Set("theme", "light")
				ok(w)
			}))
		},
	}

	gorilla := Stack{
		Name: "gorilla",
		Seed: func(p benchfix.Payload) http.Handler {
			return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				s, _ := store.Get(r, "session")
				for key, v := range p.Values() {
					s.Values[key] = v
				}
				if err := s.Save(r, w); err != nil {
					fail("gorilla: " + err.Error())
				}
			})
		},
		Read: func(p benchfix.Payload) http.Handler {
			key := idKey(p)
			return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				s, err := store.Get(r, "session")
				if _, found := s.Values[key].(int); err != nil || !found {
					fail("gorilla: session lost")
				}
				ok(w)
			})
		},
		Full: func(p benchfix.Payload) http.Handler {
			key := idKey(p)
			return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				s, err := store.Get(r, "session")
				if _, found := s.Values[key].(int); err != nil || !found {
					fail("gorilla: session lost")
				}
				s.Values["theme"] = "light"
				if err := s.Save(r, w); err != nil {
					fail("gorilla: " + err.Error())
				}
				ok(w)
			})
		},
	}

	// The go-paseto cookie a careful developer would write by hand:
	// parse with the expiry rule, read the data claim into a map, and on
	// change build and encrypt a new token.
	parser := paseto.NewParser()
	open := func(r *http.Request) (map[string]any, bool) {
		c, err := r.Cookie(pasetoCookie)
		if err != nil {
			return nil, false
		}
		t, err := parser.ParseV4Local(k.Paseto, c.Value, Implicit)
		if err != nil {
			return nil, false
		}
		var data map[string]any
		if err := t.Get("data", &data); err != nil {
			return nil, false
		}
		return data, true
	}
	save := func(w http.ResponseWriter, data map[string]any) {
		t := paseto.NewToken()
		now := time.Now()
		t.SetIssuedAt(now)
		t.SetExpiration(now.Add(14 * 24 * time.Hour))
		if err := t.Set("data", data); err != nil {
			fail("paseto: " + err.Error())
		}
		t.SetFooter(footer)
		http.SetCookie(w, &http.Cookie{
			Name: pasetoCookie, Value: t.V4Encrypt(k.Paseto, Implicit), Path: "/",
			MaxAge: 14 * 24 * 3600, HttpOnly: true, Secure: true, SameSite: http.SameSiteLaxMode,
		})
	}
	handPaseto := Stack{
		Name: "paseto",
		Seed: func(p benchfix.Payload) http.Handler {
			return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { save(w, p.Values()) })
		},
		Read: func(p benchfix.Payload) http.Handler {
			key := idKey(p)
			return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				data, found := open(r)
				if _, isNum := data[key].(float64); !found || !isNum {
					fail("paseto: session lost")
				}
				ok(w)
			})
		},
		Full: func(p benchfix.Payload) http.Handler {
			key := idKey(p)
			return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				data, found := open(r)
				if _, isNum := data[key].(float64); !found || !isNum {
					fail("paseto: session lost")
				}
				data["theme"] = "light"
				save(w, data)
				ok(w)
			})
		},
	}
	return []Stack{satchel, gorilla, handPaseto}, nil
}

// cookieHeader runs h once on a cookieless request and returns the Cookie
// header a browser would send back.
func cookieHeader(h http.Handler) string {
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/", nil))
	var pairs []string
	for _, c := range rec.Result().Cookies() {
		pairs = append(pairs, c.Name+"="+c.Value)
	}
	return strings.Join(pairs, "; ")
}

// serve runs one request with the cookie through h, in memory.
func serve(h http.Handler, cookie string) *httptest.ResponseRecorder {
	req := httptest.NewRequest("GET", "/", nil)
	req.Header.Set("Cookie", cookie)
	w := httptest.NewRecorder()
	h.ServeHTTP(w, req)
	return w
}

// TestStacks checks that every stack's read handler finds the seeded
// session and writes no cookie, and that its full handler writes a cookie
// that carries the change and the payload.
func TestStacks(t *testing.T) {
	k := mustKeys(t)
	stacks, err := Stacks(k, func(msg string) { t.Error(msg) })
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range Payloads {
		for _, s := range stacks {
			t.Run("p="+p.Name+"/lib="+s.Name, func(t *testing.T) {
				cookie := cookieHeader(s.Seed(p))
				if cookie == "" {
					t.Fatal("seed wrote no cookie")
				}
				if w := serve(s.Read(p), cookie); w.Body.String() != "ok" || len(w.Result().Cookies()) != 0 {
					t.Fatalf("read: body %q, %d cookies", w.Body.String(), len(w.Result().Cookies()))
				}
				w := serve(s.Full(p), cookie)
				if w.Body.String() != "ok" || len(w.Result().Cookies()) == 0 {
					t.Fatalf("full: body %q, no cookie", w.Body.String())
				}
				// The new cookie holds the change: a read handler that
				// checks it proves the write round-trips.
				var pairs []string
				for _, c := range w.Result().Cookies() {
					pairs = append(pairs, c.Name+"="+c.Value)
				}
				if w := serve(s.Read(p), strings.Join(pairs, "; ")); w.Body.String() != "ok" {
					t.Fatal("the written cookie does not open")
				}
			})
		}
	}
}

// BenchmarkMiddleware measures whole in-memory requests (httptest request
// and recorder) through each stack. Names:
// BenchmarkMiddleware/op=<full|read>/p=<payload>/lib=<stack>, plus
// lib=bare, the same request to a handler that only answers "ok".
func BenchmarkMiddleware(b *testing.B) {
	k := mustKeys(b)
	stacks, err := Stacks(k, func(msg string) { panic(msg) })
	if err != nil {
		b.Fatal(err)
	}
	bare := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { ok(w) })
	for _, op := range []string{"full", "read"} {
		b.Run("op="+op, func(b *testing.B) {
			for _, p := range benchfix.Payloads {
				b.Run("p="+p.Name, func(b *testing.B) {
					for _, s := range stacks {
						h := s.Read(p)
						if op == "full" {
							h = s.Full(p)
						}
						cookie := cookieHeader(s.Seed(p))
						b.Run("lib="+s.Name, func(b *testing.B) {
							b.ReportAllocs()
							for b.Loop() {
								serve(h, cookie)
							}
						})
					}
					cookie := cookieHeader(stacks[0].Seed(p))
					b.Run("lib=bare", func(b *testing.B) {
						b.ReportAllocs()
						for b.Loop() {
							serve(bare, cookie)
						}
					})
				})
			}
		})
	}
}
