package gorilla_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/gorilla/sessions"

	"satchel.dev/importer/gorilla"
	"satchel.dev/importer/internal/importtest"
	"satchel.dev/middleware"
)

var _ middleware.Importer = (*gorilla.Importer)(nil)

// newSite is a satchel app over real TLS that adopts gorilla sessions from
// the cookie name, and a browser-like client.
func newSite(t *testing.T, im middleware.Importer) *importtest.Site {
	t.Helper()
	return importtest.New(t, name, middleware.Config{Import: im})
}

// TestGorillaEndToEnd: a browser arrives with a real CookieStore cookie
// (encrypted, gob, an application struct and flashes inside); the handler
// sees the values, and the same response seals them into satchel's cookie
// and deletes gorilla's. The next request carries only satchel's cookie.
func TestGorillaEndToEnd(t *testing.T) {
	t.Parallel()
	store := sessions.NewCookieStore(hashKey, blockKey)
	legacy := mint(t, store, map[any]any{"user_id": 12345, "item": cartItem{"SKU-10001", 2, 1249}}, "Welcome!")
	s := newSite(t, newImporter(t, gorilla.Options{Keys: []gorilla.KeyPair{{hashKey, blockKey}}}))
	s.SetLegacy(legacy)

	setCookies := s.Get(t)
	seen, sent := s.Last()
	if sent != legacy {
		t.Fatal("the gorilla cookie did not reach the handler")
	}
	want := `{"_flash":["Welcome!"],"item":{"price_cents":1249,"qty":2,"sku":"SKU-10001"},"user_id":12345}`
	if got, _ := json.Marshal(seen); string(got) != want {
		t.Fatalf("handler saw %s, want %s", got, want)
	}
	if sealed, deleted := s.Adopted(setCookies); !sealed || !deleted {
		t.Fatalf("Set-Cookie %q: want the session sealed and the gorilla cookie deleted in one response", setCookies)
	}

	setCookies = s.Get(t)
	seen, _ = s.Last()
	if carried := s.Carried(); carried || len(setCookies) != 0 {
		t.Errorf("second request: gorilla cookie sent %v, Set-Cookie %q; want neither", carried, setCookies)
	}
	if got, _ := json.Marshal(seen); string(got) != want {
		t.Errorf("second request saw %s, want %s", got, want)
	}
}

// TestThreat22_GorillaForgedLegacyCookie: a cookie under another key, and one holding
// a value with no JSON form, each give an empty session, a 200, the
// gorilla cookie's deletion and a log line without secrets.
func TestThreat22_GorillaForgedLegacyCookie(t *testing.T) {
	t.Parallel()
	for label, c := range map[string]string{
		"another key":  mint(t, sessions.NewCookieStore([]byte("someone else's key")), map[any]any{"note": "hunter2-note"}),
		"int key":      mint(t, sessions.NewCookieStore(hashKey), map[any]any{"note": "hunter2-note", 7: "x"}),
		"unregistered": unregistered(t),
	} {
		t.Run(label, func(t *testing.T) {
			t.Parallel()
			s := newSite(t, newImporter(t, gorilla.Options{Keys: []gorilla.KeyPair{{Hash: hashKey}}}))
			s.SetLegacy(c)
			setCookies := s.Get(t)
			if seen, _ := s.Last(); len(seen) != 0 {
				t.Errorf("handler saw %v, want an empty session", seen)
			}
			if len(setCookies) != 1 || !strings.HasPrefix(setCookies[0], name+"=;") {
				t.Errorf("Set-Cookie %q: want only the gorilla cookie's deletion", setCookies)
			}
			logs := s.Logs()
			if !strings.Contains(logs, "gorilla:") {
				t.Errorf("no log line with the importer's reason: %q", logs)
			}
			if strings.Contains(logs, "hunter2") || strings.Contains(logs, c[:12]) {
				t.Errorf("log holds a secret: %q", logs)
			}
		})
	}
}
