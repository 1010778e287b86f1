package middleware_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"satchel.dev/internal/benchfix"
	"satchel.dev/middleware"
)

// BenchmarkHandler measures whole requests through the middleware on the
// shared payloads (benchfix.Payloads, and benchfix.Typed, whose cart is a
// []benchfix.Item struct slice or a slice of maps), with the baselines
// they are compared to in the same run:
//
//	op=full        open the cookie, one Set, seal, Set-Cookie
//	op=read        open the cookie and read one value; no Set-Cookie
//	op=set-all     open the cookie, Set every value of the payload as a
//	               handler holds them (structs for -struct), seal
//	op=decode-cart open the cookie and Decode the cart into []benchfix.Item
//	               (the -struct payloads only)
//	op=bare        the same httptest request and recorder without the middleware
//	op=floor-open  the v4.local primitives alone opening the same plaintext
//	op=floor-seal  the v4.local primitives alone sealing it
//
// The large payloads need two cookies (3 KB of JSON is about 4.2 KB
// sealed), so every case runs with MaxChunks 2; small and typical fit in
// one cookie and never chunk.
func BenchmarkHandler(b *testing.B) {
	now := time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC)
	for _, p := range slices.Concat(benchfix.Payloads, benchfix.Typed) {
		b.Run("p="+p.Name, func(b *testing.B) {
			ring := newRing(b, newKey(b))
			m := newManager(b, ring, middleware.Config{MaxChunks: 2, Now: func() time.Time { return now }})

			// The cookie a browser would send: one response that stored
			// the whole payload.
			rec := httptest.NewRecorder()
			m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				s := middleware.Get(r)
				for k, v := range p.Values() {
					s.Set(k, v)
				}
			})).ServeHTTP(rec, httptest.NewRequest("GET", "/", nil))
			var pairs []string
			for _, c := range rec.Result().Cookies() {
				pairs = append(pairs, c.Name+"="+c.Value)
			}
			cookie := strings.Join(pairs, "; ")
			idKey := "user_id"
			if p.Name == "small" {
				idKey = "uid"
			}

			full := m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				middleware.Get(r).Set("theme", "light")
				io.WriteString(w, "ok")
			}))
			read := m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if _, ok := middleware.Get(r).GetInt64(idKey); !ok {
					b.Fatal("session lost")
				}
				io.WriteString(w, "ok")
			}))
			vals := p.Values()
			setAll := m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				s := middleware.Get(r)
				for k, v := range vals {
					s.Set(k, v)
				}
				io.WriteString(w, "ok")
			}))
			decodeCart := m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if cart, err := middleware.Decode[[]benchfix.Item](middleware.Get(r), "cart"); err != nil || len(cart) == 0 {
					b.Fatal("cart lost")
				}
				io.WriteString(w, "ok")
			}))
			bare := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				io.WriteString(w, "ok")
			})
			request := func(h http.Handler) *httptest.ResponseRecorder {
				req := httptest.NewRequest("GET", "/", nil)
				req.Header.Set("Cookie", cookie)
				w := httptest.NewRecorder()
				h.ServeHTTP(w, req)
				return w
			}
			if w := request(full); len(w.Result().Cookies()) == 0 {
				b.Fatal("full request wrote no cookie")
			}
			if w := request(read); len(w.Result().Cookies()) != 0 {
				b.Fatal("read-only request wrote a cookie")
			}

			if w := request(setAll); len(w.Result().Cookies()) == 0 {
				b.Fatal("set-all request wrote no cookie")
			}
			ops := []struct {
				op string
				h  http.Handler
			}{{"full", full}, {"read", read}, {"set-all", setAll}}
			if strings.HasSuffix(p.Name, "-struct") {
				ops = append(ops, struct {
					op string
					h  http.Handler
				}{"decode-cart", decodeCart})
			}
			ops = append(ops, struct {
				op string
				h  http.Handler
			}{"bare", bare})
			for _, c := range ops {
				b.Run("op="+c.op, func(b *testing.B) {
					b.ReportAllocs()
					for b.Loop() {
						request(c.h)
					}
				})
			}

			// The floor on the plaintext a session token carries: the
			// registered claims around the payload.
			pt := []byte(`{"exp":"2026-11-15T12:00:00Z","iat":"2026-11-01T12:00:00Z","nbf":"2026-11-01T12:00:00Z","jti":"AAAAAAAAAAAAAAAAAAAAAA","data":` +
				string(p.JSON()) + `}`)
			secret := ring.Primary().ExportSecret()
			footer := []byte(`{"kid":"` + ring.Primary().ID() + `"}`)
			var nonce [32]byte
			tok := benchfix.FloorSeal(&secret, &nonce, pt, footer)
			body := strings.TrimPrefix(tok, "v4.local.")
			body = body[:strings.IndexByte(body, '.')]
			if benchfix.FloorOpen(&secret, body, footer) == nil {
				b.Fatal("floor round trip failed")
			}
			b.Run("op=floor-open", func(b *testing.B) {
				b.ReportAllocs()
				b.SetBytes(int64(len(pt)))
				for b.Loop() {
					benchfix.FloorOpen(&secret, body, footer)
				}
			})
			b.Run("op=floor-seal", func(b *testing.B) {
				b.ReportAllocs()
				b.SetBytes(int64(len(pt)))
				for b.Loop() {
					benchfix.FloorSeal(&secret, &nonce, pt, footer)
				}
			})
		})
	}
}
