package revoke_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"satchel.dev/internal/benchfix"
	"satchel.dev/keyring"
	"satchel.dev/middleware"
)

// BenchmarkMiddleware measures whole requests through the middleware on
// the typical payload of a signed-in user (a session with a subject),
// without revocation and with a Set holding a million revoked ids and ten
// thousand subject marks (the user's own among them, older than the
// session):
//
//	op=read   open the cookie, read one value, no Set-Cookie: one check
//	op=write  open, one Set, seal and Set-Cookie: a check at each end
//	rv=none   Config.Revocations unset
//	rv=set    Config.Revocations is the Set
//
// Compare rv=set with rv=none from interleaved runs (see the notes for the
// command); the target is at most 5% slower.
func BenchmarkMiddleware(b *testing.B) {
	set := big(b)
	// The user signed out everywhere once, before this session began (the
	// Set's clock stands at t0, hours before the real time the session is
	// created at).
	if err := set.RevokeSubject(ctx, "user-12345", t0); err != nil {
		b.Fatal(err)
	}

	key, err := keyring.GenerateKey()
	if err != nil {
		b.Fatal(err)
	}
	ring, err := keyring.FromKeys(key)
	if err != nil {
		b.Fatal(err)
	}
	for _, op := range []string{"read", "write"} {
		for _, rv := range []string{"none", "set"} {
			b.Run("op="+op+"/rv="+rv, func(b *testing.B) {
				cfg := middleware.Config{}
				if rv == "set" {
					cfg.Revocations = set
				}
				m, err := middleware.New(ring, cfg)
				if err != nil {
					b.Fatal(err)
				}
				rec := httptest.NewRecorder()
				m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					s := middleware.Get(r)
					s.SetSubject("user-12345")
					for k, v := range benchfix.Typical() {
						s.Set(k, v)
					}
				})).ServeHTTP(rec, httptest.NewRequest("GET", "/", nil))
				var pairs []string
				for _, c := range rec.Result().Cookies() {
					pairs = append(pairs, c.Name+"="+c.Value)
				}
				cookie := strings.Join(pairs, "; ")
				h := m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					s := middleware.Get(r)
					if _, ok := s.GetInt64("user_id"); !ok {
						b.Fatal("session lost")
					}
					if op == "write" {
						s.Set("theme", "light")
					}
					io.WriteString(w, "ok")
				}))
				b.ReportAllocs()
				for b.Loop() {
					req := httptest.NewRequest("GET", "/", nil)
					req.Header.Set("Cookie", cookie)
					h.ServeHTTP(httptest.NewRecorder(), req)
				}
			})
		}
	}
}
