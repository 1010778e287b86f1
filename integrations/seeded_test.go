package integrations_test

import (
	"net/http"
	"net/http/httptest"
	"testing"

	satchel "satchel.dev/middleware"
	"satchel.dev/sessiontest"
)

// TestSeededRequestInEveryRouter is the handler-test style: no server, a
// request seeded with a signed-in session, and the session the response
// left read back, in every router.
func TestSeededRequestInEveryRouter(t *testing.T) {
	t.Parallel()
	apps := map[string]func(*satchel.Manager) http.Handler{
		"servemux": serveMuxApp,
		"chi":      chiApp,
		"echo":     echoApp,
		"gin":      ginApp,
	}
	for name, app := range apps {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			m := newManager(t)
			req := sessiontest.NewRequest(t, m, "POST", "/count", nil, func(s *satchel.Session) {
				s.SetSubject("ada")
				s.Set("user", "ada")
				s.Set("count", 41)
			})
			rec := httptest.NewRecorder()
			app(m).ServeHTTP(rec, req)
			if rec.Code != 200 || rec.Body.String() != "count: 42\n" {
				t.Fatalf("got %d %q", rec.Code, rec.Body)
			}
			sessiontest.Read(m, req, rec.Result(), func(s *satchel.Session) {
				if n, _ := s.GetInt64("count"); n != 42 || s.Subject() != "ada" {
					t.Errorf("count %d, subject %q", n, s.Subject())
				}
			})
		})
	}
}
