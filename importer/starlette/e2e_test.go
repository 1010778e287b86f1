package starlette_test

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"satchel.dev/importer/internal/importtest"
	"satchel.dev/importer/starlette"
	"satchel.dev/middleware"
)

// newSite is a satchel app over real TLS that adopts Starlette sessions
// from the cookie "session", at the fixed time now, and a browser-like
// client with a cookie jar.
func newSite(t *testing.T, im middleware.Importer) *importtest.Site {
	t.Helper()
	return importtest.New(t, "session", middleware.Config{Import: im, Now: func() time.Time { return now }})
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
	s.SetLegacy(legacy)
	setCookies := s.Get(t)
	vals, sent := s.Last()
	if sent != legacy {
		t.Fatal("the legacy cookie did not reach the handler")
	}
	want := `{"roles":["admin","editor"],"user_id":12345,"username":"alice"}`
	if got, _ := json.Marshal(vals); string(got) != want {
		t.Fatalf("handler saw %s, want %s", got, want)
	}
	if sealed, deleted := s.Adopted(setCookies); !sealed || !deleted {
		t.Fatalf("Set-Cookie %q: want the session sealed and the Starlette cookie deleted in one response", setCookies)
	}

	if again := s.Get(t); len(again) != 0 {
		t.Errorf("second request set cookies %q; the adopted session was unchanged", again)
	}
	vals, sent = s.Last()
	if sent != "" || s.Carried() {
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
			s.SetLegacy(c)
			setCookies := s.Get(t)
			if vals, _ := s.Last(); len(vals) != 0 {
				t.Errorf("handler saw %v, want an empty session", vals)
			}
			if len(setCookies) != 1 || !strings.HasPrefix(setCookies[0], "session=;") || !strings.Contains(setCookies[0], "Max-Age=0") {
				t.Errorf("Set-Cookie %q: want only the deletion of the Starlette cookie", setCookies)
			}
			logs := s.Logs()
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
