package starlette_test

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
	"time"

	"satchel.dev/importer/starlette"
	"satchel.dev/keyring"
	"satchel.dev/middleware"
)

// site is a satchel app over real TLS that adopts Starlette sessions, and a
// browser-like client with a cookie jar.
type site struct {
	srv    *httptest.Server
	client *http.Client
	url    *url.URL
	logs   *syncBuffer

	mu   sync.Mutex
	seen []map[string]any // the session each request's handler saw
	sent []string         // the legacy cookies each request carried
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
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
	s := &site{logs: &syncBuffer{}}
	m, err := middleware.New(ring, middleware.Config{
		Import: im,
		Now:    func() time.Time { return now },
		Logger: slog.New(slog.NewTextHandler(s.logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
	})
	if err != nil {
		t.Fatal(err)
	}
	s.srv = httptest.NewTLSServer(m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		legacy := ""
		if c, err := r.Cookie("session"); err == nil {
			legacy = c.Value
		}
		vals := middleware.Get(r).Values()
		s.mu.Lock()
		s.seen = append(s.seen, vals)
		s.sent = append(s.sent, legacy)
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

// get requests the page and returns the response's Set-Cookie headers.
func (s *site) get(t *testing.T) []string {
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
	return resp.Header.Values("Set-Cookie")
}

func (s *site) last() (map[string]any, string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.seen[len(s.seen)-1], s.sent[len(s.sent)-1]
}

// TestStarletteEndToEnd: a browser arrives with a real Starlette cookie;
// the handler sees the Starlette values, and the same response seals them
// into satchel's cookie and deletes Starlette's. The next request carries
// only satchel's cookie and finds the same session.
func TestStarletteEndToEnd(t *testing.T) {
	t.Parallel()
	session := map[string]any{"user_id": 12345, "username": "alice", "roles": []any{"admin", "editor"}}
	legacy := runPeer(t, peerReq{Mint: []mintReq{{Secret: secret, Session: session, TS: now.Unix() - 60}}}).Mint[0]

	s := newSite(t, newImporter(t, nil))
	s.client.Jar.SetCookies(s.url, []*http.Cookie{{Name: "session", Value: legacy, Path: "/"}})
	setCookies := s.get(t)
	vals, sent := s.last()
	if sent != legacy {
		t.Fatal("the legacy cookie did not reach the handler")
	}
	want := `{"roles":["admin","editor"],"user_id":12345,"username":"alice"}`
	if got, _ := json.Marshal(vals); string(got) != want {
		t.Fatalf("handler saw %s, want %s", got, want)
	}
	var sealed, deleted bool
	for _, h := range setCookies {
		switch {
		case strings.HasPrefix(h, "__Host-session=v4.local."):
			sealed = true
		case strings.HasPrefix(h, "session=;") && strings.Contains(h, "Max-Age=0") && strings.Contains(h, "Path=/"):
			deleted = true
		}
	}
	if !sealed || !deleted {
		t.Fatalf("Set-Cookie %q: want the session sealed and the Starlette cookie deleted in one response", setCookies)
	}

	if again := s.get(t); len(again) != 0 {
		t.Errorf("second request set cookies %q; the adopted session was unchanged", again)
	}
	vals, sent = s.last()
	if sent != "" {
		t.Error("the browser still sends the Starlette cookie")
	}
	if got, _ := json.Marshal(vals); string(got) != want {
		t.Errorf("second request saw %s, want %s", got, want)
	}
}

// TestThreat22_StarletteForgedLegacyCookie: a forged, an expired and a junk Starlette
// cookie each give the handler an empty session and a 200, the legacy
// cookie is deleted, nothing is sealed, and the log names the reason
// without the cookie or the values.
func TestThreat22_StarletteForgedLegacyCookie(t *testing.T) {
	t.Parallel()
	session := map[string]any{"user_id": 1, "secret_note": "hunter2-note"}
	peer := runPeer(t, peerReq{Mint: []mintReq{
		{Secret: "not the app's key", Session: session, TS: now.Unix()},
		{Secret: secret, Session: session, TS: now.Unix() - maxAge - 1},
	}})
	for label, c := range map[string]string{
		"forged":  peer.Mint[0],
		"expired": peer.Mint[1],
		"junk":    "%%%not-a-cookie",
	} {
		t.Run(label, func(t *testing.T) {
			t.Parallel()
			s := newSite(t, newImporter(t, nil))
			s.client.Jar.SetCookies(s.url, []*http.Cookie{{Name: "session", Value: c, Path: "/"}})
			setCookies := s.get(t)
			if vals, _ := s.last(); len(vals) != 0 {
				t.Errorf("handler saw %v, want an empty session", vals)
			}
			if len(setCookies) != 1 || !strings.HasPrefix(setCookies[0], "session=;") || !strings.Contains(setCookies[0], "Max-Age=0") {
				t.Errorf("Set-Cookie %q: want only the deletion of the Starlette cookie", setCookies)
			}
			logs := s.logs.String()
			if !strings.Contains(logs, "legacy session cookie ignored") || !strings.Contains(logs, "starlette:") {
				t.Errorf("no log line with the importer's reason: %q", logs)
			}
			for _, secretText := range []string{c[:12], "hunter2", secret} {
				if strings.Contains(logs, secretText) {
					t.Errorf("log holds a secret: %q", logs)
				}
			}
		})
	}
}

var _ middleware.Importer = (*starlette.Importer)(nil)
