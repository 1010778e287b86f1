//go:build unix

package rotate_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"satchel.dev/keyring"
	"satchel.dev/middleware"
	"satchel.dev/revoke"
	"satchel.dev/rotate"
	"satchel.dev/token"
)

// kidOf returns the key id in a token's footer (public information).
func kidOf(t *testing.T, tok string) string {
	t.Helper()
	seg := tok[strings.LastIndexByte(tok, '.')+1:]
	b, err := base64.RawURLEncoding.DecodeString(seg)
	if err != nil {
		t.Fatal(err)
	}
	var f struct{ Kid string }
	if err := json.Unmarshal(b, &f); err != nil {
		t.Fatal(err)
	}
	return f.Kid
}

// TestRotationThroughMiddleware is threat 15 end to end with a fake clock:
// a Rotator on a keyring file is the middleware's Source. A staged key
// never seals; after the promotion a cookie sealed with the old key is
// accepted and re-issued under the new one with its values; once the old
// key is deleted a cookie sealed with it gives an empty session. The
// Rotator runs in a synctest bubble whose time never moves, so its
// schedule stays idle and every change comes from the test's RunOnce.
func TestRotationThroughMiddleware(t *testing.T) {
	t.Parallel()
	synctest.Test(t, testRotationThroughMiddleware)
}

func testRotationThroughMiddleware(t *testing.T) {
	clock := newFakeClock(t0)
	p := rotate.Policy{Interval: 10 * time.Hour, Propagation: time.Hour, MaxAge: 5 * time.Hour, Leeway: time.Minute}
	rt, err := rotate.NewRotator(rotate.NewStore(filepath.Join(t.TempDir(), "keyring.txt")), rotate.Options{
		Policy: p, Create: true, Now: clock.Now, Logger: quiet,
	})
	if err != nil {
		t.Fatal(err)
	}
	defer rt.Close()
	m, err := middleware.New(rt, middleware.Config{
		Insecure: true, MaxAge: p.MaxAge, Leeway: p.Leeway, Now: clock.Now,
		Logger: slog.New(slog.DiscardHandler),
	})
	if err != nil {
		t.Fatal(err)
	}
	h := m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s := middleware.Get(r)
		if !s.IsNew() && clock.Now().Sub(s.Created()) > p.MaxAge/2 {
			s.Renew()
		}
		n, _ := s.GetInt64("n")
		s.Set("n", n+1)
		w.Header().Set("X-N", strconv.FormatInt(n+1, 10))
	}))
	visit := counterVisitor(t, h)
	run := func(at time.Duration) rotate.Changes {
		t.Helper()
		clock.Set(t0.Add(at))
		ch, err := rt.RunOnce(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		return ch
	}

	k1 := rt.Current().Primary().ID()
	clock.Set(t0.Add(8 * time.Hour))
	tok, n := visit("")
	if kidOf(t, tok) != k1 || n != 1 {
		t.Fatalf("first cookie: kid %s n %d", kidOf(t, tok), n)
	}

	ch := run(9 * time.Hour) // stage k2
	k2 := ch.Staged
	if k2 == "" {
		t.Fatalf("not staged: %v", ch)
	}
	for i := range 5 {
		clock.Set(t0.Add(9*time.Hour + time.Duration(i)*10*time.Minute))
		tok, n = visit(tok)
		if kidOf(t, tok) != k1 {
			t.Fatalf("a cookie was sealed with the staged key %s", kidOf(t, tok))
		}
	}

	run(10 * time.Hour) // promote k2, retire k1
	oldTok := tok       // a copy of a k1 cookie kept by the browser
	tok, n = visit(tok)
	if kidOf(t, tok) != k2 || n != 7 {
		t.Fatalf("after promotion: kid %s (want the new primary), counter %d (want 7)", kidOf(t, tok), n)
	}
	// The old cookie still opens while k1 is retired and the token lives.
	clock.Set(t0.Add(12 * time.Hour))
	if _, n := visit(oldTok); n != 7 {
		t.Fatalf("k1 cookie while k1 is retired: counter %d, want 7", n)
	}

	del := p.DeleteAt(mustEntry(t, rt.Current(), k1))
	if ch := run(del.Sub(t0)); len(ch.Deleted) != 1 || ch.Deleted[0] != k1 {
		t.Fatalf("k1 not deleted at %v: %v", del, ch)
	}
	if _, n := visit(oldTok); n != 1 {
		t.Fatalf("k1 cookie after k1's deletion: counter %d, want a new session (1)", n)
	}
}

func mustEntry(t *testing.T, r *keyring.Ring, id string) keyring.Entry {
	t.Helper()
	e, ok := r.Entry(id)
	if !ok {
		t.Fatalf("no key %s", id)
	}
	return e
}

// counterVisitor returns a function that sends h one request with the
// session cookie tok (none if empty) and returns the cookie set in the
// answer and the counter the handler reported in X-N.
func counterVisitor(t *testing.T, h http.Handler) func(tok string) (string, int64) {
	return func(tok string) (string, int64) {
		t.Helper()
		req := httptest.NewRequest("GET", "http://app.test/", nil)
		if tok != "" {
			req.AddCookie(&http.Cookie{Name: middleware.DefaultInsecureName, Value: tok})
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		n, _ := strconv.ParseInt(rec.Header().Get("X-N"), 10, 64)
		for _, c := range rec.Result().Cookies() {
			return c.Value, n
		}
		t.Fatal("no cookie set")
		return "", 0
	}
}

// TestConstantsMatch: rotate and revoke keep their own copies of the
// lifetime and leeway constants (rotate imports only keyring, revoke only
// the standard library), and they must agree with the middleware's and
// token's, so that one leeway convention holds everywhere.
func TestConstantsMatch(t *testing.T) {
	t.Parallel()
	durations := []struct {
		name      string
		got, want time.Duration
	}{
		{"rotate.DefaultMaxAge", rotate.DefaultMaxAge, middleware.DefaultMaxAge},
		{"revoke.DefaultMaxAge", revoke.DefaultMaxAge, middleware.DefaultMaxAge},
		{"rotate.DefaultLeeway", rotate.DefaultLeeway, token.DefaultLeeway},
		{"revoke.DefaultLeeway", revoke.DefaultLeeway, token.DefaultLeeway},
		{"middleware.DefaultLeeway", middleware.DefaultLeeway, token.DefaultLeeway},
		{"rotate.MaxLeeway", rotate.MaxLeeway, token.MaxLeeway},
		{"revoke.MaxLeeway", revoke.MaxLeeway, token.MaxLeeway},
	}
	for _, d := range durations {
		if d.got != d.want {
			t.Errorf("%s is %v, want %v", d.name, d.got, d.want)
		}
	}
}
