package revoke_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

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
//	rv=paired both, in alternating batches of 32 requests; set/none is the
//	          median ratio of the pairs (ns/op here is one pair of batches)
//
// The target is rv=set at most 5% slower than rv=none.
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
	// handler returns the benchmark's handler for op and rv, and the
	// cookie its requests carry.
	handler := func(b *testing.B, op, rv string) (http.Handler, string) {
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
		return h, cookie
	}
	serve := func(h http.Handler, cookie string) {
		req := httptest.NewRequest("GET", "/", nil)
		req.Header.Set("Cookie", cookie)
		h.ServeHTTP(httptest.NewRecorder(), req)
	}
	for _, op := range []string{"read", "write"} {
		for _, rv := range []string{"none", "set"} {
			b.Run("op="+op+"/rv="+rv, func(b *testing.B) {
				h, cookie := handler(b, op, rv)
				b.ReportAllocs()
				for b.Loop() {
					serve(h, cookie)
				}
			})
		}
		// The two side by side: each iteration times a batch of requests
		// without revocation and one with, in alternating order, and
		// set/none is the median ratio of the pairs. Pairs taken
		// microseconds apart see the same machine, so the ratio holds up
		// on a busy one where separate runs drift by tens of percent.
		b.Run("op="+op+"/rv=paired", func(b *testing.B) {
			none, cookieNone := handler(b, op, "none")
			withSet, cookieSet := handler(b, op, "set")
			const batch = 32
			timeBatch := func(h http.Handler, cookie string) time.Duration {
				start := time.Now()
				for range batch {
					serve(h, cookie)
				}
				return time.Since(start)
			}
			var ratios []float64
			for b.Loop() {
				var dn, ds time.Duration
				if len(ratios)%2 == 0 {
					dn = timeBatch(none, cookieNone)
					ds = timeBatch(withSet, cookieSet)
				} else {
					ds = timeBatch(withSet, cookieSet)
					dn = timeBatch(none, cookieNone)
				}
				ratios = append(ratios, float64(ds)/float64(dn))
			}
			slices.Sort(ratios)
			b.ReportMetric(ratios[len(ratios)/2], "set/none")
		})
	}
}
