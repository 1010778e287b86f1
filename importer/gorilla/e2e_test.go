package gorilla_test

import (
	"bytes"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/gorilla/sessions"

	"satchel.dev/importer/gorilla"
	"satchel.dev/keyring"
	"satchel.dev/middleware"
)

var _ middleware.Importer = (*gorilla.Importer)(nil)

// site is a satchel app over real TLS that adopts gorilla sessions, with a
// browser-like client.
type site struct {
	srv    *httptest.Server
	client *http.Client
	url    *url.URL

	mu     sync.Mutex
	logs   bytes.Buffer
	seen   map[string]any // the session the last handler saw
	legacy bool           // whether the last request carried the gorilla cookie
}

func (s *site) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.logs.Write(p)
}

func newSite(t *testing.T, im middleware.Importer) *site {
	t.Helper()
	key, err := keyring.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	ring, err := keyring.FromKeys(key)
	if err != nil {
		t.Fatal(err)
	}
	s := &site{}
	m, err := middleware.New(ring, middleware.Config{
		Import: im,
		Logger: slog.New(slog.NewTextHandler(s, &slog.HandlerOptions{Level: slog.LevelDebug})),
	})
	if err != nil {
		t.Fatal(err)
	}
	s.srv = httptest.NewTLSServer(m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, err := r.Cookie(name)
		vals := middleware.Get(r).Values()
		s.mu.Lock()
		s.seen, s.legacy = vals, err == nil
		s.mu.Unlock()
		io.WriteString(w, "ok")
	})))
	t.Cleanup(s.srv.Close)
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	s.client = s.srv.Client()
	s.client.Jar = jar
	s.url, _ = url.Parse(s.srv.URL)
	return s
}

func (s *site) get(t *testing.T) (setCookies []string, seen map[string]any, legacy bool) {
	t.Helper()
	resp, err := s.client.Get(s.srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	io.Copy(io.Discard, resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d", resp.StatusCode)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return resp.Header.Values("Set-Cookie"), s.seen, s.legacy
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
	s.client.Jar.SetCookies(s.url, []*http.Cookie{{Name: name, Value: legacy, Path: "/"}})

	setCookies, seen, carried := s.get(t)
	if !carried {
		t.Fatal("the gorilla cookie did not reach the handler")
	}
	want := `{"_flash":["Welcome!"],"item":{"price_cents":1249,"qty":2,"sku":"SKU-10001"},"user_id":12345}`
	if got, _ := json.Marshal(seen); string(got) != want {
		t.Fatalf("handler saw %s, want %s", got, want)
	}
	var sealed, deleted bool
	for _, h := range setCookies {
		switch {
		case strings.HasPrefix(h, "__Host-session=v4.local."):
			sealed = true
		case strings.HasPrefix(h, name+"=;") && strings.Contains(h, "Max-Age=0") && strings.Contains(h, "Path=/"):
			deleted = true
		}
	}
	if !sealed || !deleted {
		t.Fatalf("Set-Cookie %q: want the session sealed and the gorilla cookie deleted in one response", setCookies)
	}

	setCookies, seen, carried = s.get(t)
	if carried || len(setCookies) != 0 {
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
			s.client.Jar.SetCookies(s.url, []*http.Cookie{{Name: name, Value: c, Path: "/"}})
			setCookies, seen, _ := s.get(t)
			if len(seen) != 0 {
				t.Errorf("handler saw %v, want an empty session", seen)
			}
			if len(setCookies) != 1 || !strings.HasPrefix(setCookies[0], name+"=;") {
				t.Errorf("Set-Cookie %q: want only the gorilla cookie's deletion", setCookies)
			}
			s.mu.Lock()
			logs := s.logs.String()
			s.mu.Unlock()
			if !strings.Contains(logs, "gorilla:") {
				t.Errorf("no log line with the importer's reason: %q", logs)
			}
			if strings.Contains(logs, "hunter2") || strings.Contains(logs, c[:12]) {
				t.Errorf("log holds a secret: %q", logs)
			}
		})
	}
}
