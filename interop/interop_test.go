package interop_test

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"satchel.dev/keyring"
	"satchel.dev/middleware"
)

// needNode skips the test unless node and the script's packages (npm ci in
// this directory) are installed; with CI=true it fails instead.
func needNode(t *testing.T) string {
	t.Helper()
	node, err := exec.LookPath("node")
	missing := ""
	switch {
	case err != nil:
		missing = "node is not installed"
	default:
		for _, p := range []string{"node_modules/paseto-ts/package.json", "node_modules/@stablelib/blake2b/package.json"} {
			if _, err := os.Stat(p); err != nil {
				missing = "interop/" + p + " is missing: run npm ci in interop/"
			}
		}
	}
	if missing != "" {
		if os.Getenv("CI") == "true" {
			t.Fatal(missing)
		}
		t.Skip(missing)
	}
	return node
}

type sealReq struct {
	Session    nodeSession `json:"session"`
	Kid        string      `json:"kid,omitempty"`
	CookieName string      `json:"cookieName,omitempty"`
	Audience   *string     `json:"audience,omitempty"`
	Exp        int64       `json:"exp,omitempty"` // ms since the epoch
	Iat        int64       `json:"iat,omitempty"`
	Nbf        int64       `json:"nbf,omitempty"`
}

type nodeSession struct {
	Data        map[string]any            `json:"data"`
	Subject     string                    `json:"subject,omitempty"`
	ID          *string                   `json:"id,omitempty"`
	Created     int64                     `json:"created,omitempty"` // ms
	Lifetime    int64                     `json:"lifetimeSeconds,omitempty"`
	BrowserOnly bool                      `json:"browserOnly,omitempty"`
	Flashes     []middleware.FlashMessage `json:"flashes,omitempty"`
}

type assertionReq struct {
	CookieName string `json:"cookieName"`
	Audience   string `json:"audience"`
}

type nodeReq struct {
	Keys          []string       `json:"keys"`
	CookieName    string         `json:"cookieName"`
	Audience      string         `json:"audience"`
	MaxAgeSeconds int64          `json:"maxAgeSeconds,omitempty"`
	MaxLifetime   int64          `json:"maxLifetimeSeconds,omitempty"`
	MaxChunks     int            `json:"maxChunks,omitempty"`
	Open          []string       `json:"open,omitempty"`
	Seal          []sealReq      `json:"seal,omitempty"`
	IDs           []string       `json:"ids,omitempty"`
	Assertions    []assertionReq `json:"assertions,omitempty"`
}

type opened struct {
	OK          bool                      `json:"ok"`
	Data        json.RawMessage           `json:"data"`
	ID          string                    `json:"id"`
	Subject     string                    `json:"subject"`
	Flashes     []middleware.FlashMessage `json:"flashes"`
	BrowserOnly bool                      `json:"browserOnly"`
	Lifetime    int64                     `json:"lifetimeSeconds"`
	Started     int64                     `json:"started"` // ms
	Error       string                    `json:"error"`
}

type nodeResp struct {
	Open       []opened `json:"open"`
	Seal       []string `json:"seal"`
	IDs        []string `json:"ids"`
	Assertions []string `json:"assertions"`
}

// runNode sends one request to check.mjs.
func runNode(t *testing.T, req nodeReq) nodeResp {
	t.Helper()
	node := needNode(t)
	in, err := json.Marshal(req)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(node, "check.mjs")
	cmd.Stdin = bytes.NewReader(in)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("node check.mjs: %v\n%s", err, stderr.String())
	}
	var resp nodeResp
	if err := json.Unmarshal(out, &resp); err != nil {
		t.Fatalf("node answer: %v", err)
	}
	if len(resp.Open) != len(req.Open) || len(resp.Seal) != len(req.Seal) || len(resp.IDs) != len(req.IDs) || len(resp.Assertions) != len(req.Assertions) {
		t.Fatal("node answered a different number of items")
	}
	return resp
}

func newKey(t *testing.T) keyring.Key {
	t.Helper()
	k, err := keyring.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func newManager(t *testing.T, cfg middleware.Config, keys ...keyring.Key) *middleware.Manager {
	t.Helper()
	ring, err := keyring.FromKeys(keys[0], keys[1:]...)
	if err != nil {
		t.Fatal(err)
	}
	m, err := middleware.New(ring, cfg)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// seen is what a handler found in its session.
type seen struct {
	vals    map[string]any
	id, sub string
	created time.Time
}

// roundTrip sends one request with the Cookie header through m to a
// handler that records the session and then runs change (if any). It
// returns what the handler saw and the Cookie header a browser would send
// next (the cookies the response set, deletions left out).
func roundTrip(t *testing.T, m *middleware.Manager, cookie string, change func(*middleware.Session)) (seen, string) {
	t.Helper()
	got, next, _ := roundTripRaw(t, m, cookie, change)
	return got, next
}

// roundTripRaw is roundTrip that also returns the Set-Cookie lines.
func roundTripRaw(t *testing.T, m *middleware.Manager, cookie string, change func(*middleware.Session)) (seen, string, []string) {
	t.Helper()
	var got seen
	h := m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s := middleware.Get(r)
		got = seen{vals: s.Values(), id: s.ID(), sub: s.Subject(), created: s.Created()}
		if change != nil {
			change(s)
		}
	}))
	r := httptest.NewRequest("GET", "/", nil)
	if cookie != "" {
		r.Header.Set("Cookie", cookie)
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	if w.Code != http.StatusOK {
		t.Fatalf("status %d", w.Code)
	}
	var next []string
	for _, c := range w.Result().Cookies() {
		if c.MaxAge >= 0 { // net/http reads Max-Age=0 as -1: a deletion
			next = append(next, c.Name+"="+c.Value)
		}
	}
	return got, strings.Join(next, "; "), w.Result().Header.Values("Set-Cookie")
}

// sameJSON compares two JSON documents by value, numbers as text.
func sameJSON(t *testing.T, want any, got []byte) string {
	t.Helper()
	w, err := json.Marshal(want)
	if err != nil {
		t.Fatal(err)
	}
	return cmp.Diff(decodeNumbers(t, w), decodeNumbers(t, got))
}

func decodeNumbers(t *testing.T, b []byte) any {
	t.Helper()
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	var v any
	if err := d.Decode(&v); err != nil {
		t.Fatalf("%v in %s", err, b)
	}
	return v
}

// sessionData holds values of every JSON kind, and strings that need
// escaping. Integers stay within 2^53: JavaScript reads numbers as doubles.
var sessionData = map[string]any{
	"user_id":  12345,
	"username": "alice",
	"roles":    []any{"admin", "editor"},
	"name":     "Zoë 東京 🎒 \"quoted\" \\ \u2028",
	"cart":     []any{map[string]any{"sku": "SKU-10001", "qty": 2, "price_cents": 1249}},
	"prefs":    map[string]any{"theme": "dark", "beta": nil},
	"admin":    true,
	"ratio":    0.25,
}

const tricky = "shop ☕ \"x\" \\ \b\f\n\u0001\u2028\u2029 é"

// TestInteropNodeOpensGoCookies: the Node script, knowing only FORMAT.md,
// opens cookies the middleware wrote: one cookie or chunks, with an
// audience, re-written after the session's first response (nbf before
// iat), and refuses them under the wrong assertion, without the key, or
// once expired.
func TestInteropNodeOpensGoCookies(t *testing.T) {
	t.Parallel()
	needNode(t)
	k1, k2 := newKey(t), newKey(t)
	fill := func(s *middleware.Session) {
		for k, v := range sessionData {
			s.Set(k, v)
		}
		s.SetSubject("user-12345")
	}

	plain := newManager(t, middleware.Config{}, k1)
	sawPlain, plainCookie := roundTrip(t, plain, "", fill)
	_, plainCookie2 := roundTrip(t, plain, plainCookie, func(s *middleware.Session) { s.Set("visits", 2) })
	sawPlain, _ = roundTrip(t, plain, plainCookie2, nil)

	withAud := newManager(t, middleware.Config{Audience: tricky}, k1)
	_, audCookie := roundTrip(t, withAud, "", fill)

	// A session created 30 s ago and changed now: its token's nbf (the
	// creation) is before its iat (this write).
	var mu sync.Mutex
	clock := time.Now().Add(-30 * time.Second)
	later := newManager(t, middleware.Config{Now: func() time.Time { mu.Lock(); defer mu.Unlock(); return clock }}, k1)
	_, first := roundTrip(t, later, "", fill)
	mu.Lock()
	clock = time.Now()
	mu.Unlock()
	_, laterCookie := roundTrip(t, later, first, func(s *middleware.Session) { s.Set("visits", 2) })

	chunked := newManager(t, middleware.Config{MaxChunks: 3}, k1)
	big := strings.Repeat("0123456789abcdef", 300)
	_, chunkCookie := roundTrip(t, chunked, "", func(s *middleware.Session) { fill(s); s.Set("big", big) })
	if !strings.Contains(chunkCookie, "__Host-session.1=") {
		t.Fatalf("the large session was not chunked: %.80s", chunkCookie)
	}

	old := newManager(t, middleware.Config{Now: func() time.Time { return time.Now().Add(-15 * 24 * time.Hour) }}, k1)
	_, expiredCookie := roundTrip(t, old, "", fill)

	withVisits := map[string]any{"visits": 2}
	for k, v := range sessionData {
		withVisits[k] = v
	}
	withBig := map[string]any{"big": big}
	for k, v := range sessionData {
		withBig[k] = v
	}
	ring := []string{k1.ExportPASERK()}
	resp := runNode(t, nodeReq{Keys: ring, CookieName: "__Host-session", MaxChunks: 3, Open: []string{plainCookie2, laterCookie, chunkCookie, expiredCookie}})
	for i, want := range []map[string]any{withVisits, withVisits, withBig} {
		got := resp.Open[i]
		if !got.OK {
			t.Errorf("cookie %d: Node refused it: %s", i, got.Error)
			continue
		}
		if diff := sameJSON(t, want, got.Data); diff != "" {
			t.Errorf("cookie %d: Node read other data (-want +got):\n%s", i, diff)
		}
		if got.Subject != "user-12345" {
			t.Errorf("cookie %d: subject %q", i, got.Subject)
		}
	}
	if resp.Open[0].ID != sawPlain.id {
		t.Errorf("Node read session id %q, the middleware %q", resp.Open[0].ID, sawPlain.id)
	}
	if got := resp.Open[3]; got.OK || !strings.Contains(got.Error, "expired") {
		t.Errorf("expired cookie: Node answered %+v, want expired", got)
	}

	aud := runNode(t, nodeReq{Keys: ring, CookieName: "__Host-session", Audience: tricky, Open: []string{audCookie, plainCookie}})
	if !aud.Open[0].OK {
		t.Errorf("cookie with audience: Node refused it: %s", aud.Open[0].Error)
	}
	if aud.Open[1].OK {
		t.Error("Node opened a cookie without audience as one with an audience")
	}

	// Unrelated cookies, even repeated, do not matter; the session's
	// cookie sent twice means no session, as in the middleware.
	headers := runNode(t, nodeReq{Keys: ring, CookieName: "__Host-session", Open: []string{
		"_ga=1; theme=dark; _ga=2; " + plainCookie,
		plainCookie + "; " + plainCookie,
	}})
	if !headers.Open[0].OK {
		t.Errorf("other cookies in the header: Node refused the session: %s", headers.Open[0].Error)
	}
	if headers.Open[1].OK {
		t.Error("Node opened a session whose cookie was sent twice")
	}
	if saw, _ := roundTrip(t, plain, plainCookie+"; "+plainCookie, nil); len(saw.vals) != 0 {
		t.Error("the middleware opened a session whose cookie was sent twice")
	}

	// The same token presented under another cookie name, and a keyring
	// without the sealing key.
	renamed := "session=" + strings.TrimPrefix(plainCookie, "__Host-session=")
	refused := runNode(t, nodeReq{Keys: ring, CookieName: "session", Open: []string{renamed}})
	noKey := runNode(t, nodeReq{Keys: []string{k2.ExportPASERK()}, CookieName: "__Host-session", Open: []string{plainCookie}})
	if refused.Open[0].OK {
		t.Error("Node opened a token under another cookie's assertion")
	}
	if got := noKey.Open[0]; got.OK || got.Error != "unknown key" {
		t.Errorf("Node without the key answered %+v, want unknown key", got)
	}
}

// TestInteropGoAcceptsNodeCookies: the middleware opens sessions the Node
// script wrote from FORMAT.md, changes one and writes it back for Node to
// read again; and it refuses Node's tokens with the wrong assertion, the
// wrong kid, an expiry in the past, a creation beyond MaxAge, no session
// id, or an issue time in the future.
func TestInteropGoAcceptsNodeCookies(t *testing.T) {
	t.Parallel()
	needNode(t)
	k1, k2 := newKey(t), newKey(t)
	ms := time.Now().UnixMilli()
	created := ms - 3_600_000
	other := "other audience"
	empty := ""
	good := nodeSession{Data: sessionData, Subject: "user-7", Created: created}
	seal := []sealReq{
		{Session: good},
		{Session: good, CookieName: "session"},
		{Session: good, Audience: &other},
		{Session: good, Kid: k2.ID()},
		{Session: good, Exp: ms - 2*60_000},
		{Session: nodeSession{Data: sessionData, Created: ms - 15*24*3_600_000}, Exp: ms + 3_600_000},
		{Session: nodeSession{Data: sessionData, ID: &empty}},
		{Session: good, Iat: ms + 10*60_000},
	}
	resp := runNode(t, nodeReq{Keys: []string{k1.ExportPASERK()}, CookieName: "__Host-session", Seal: seal})
	// A token encrypted under k2 that names k1 in its footer.
	forgedKid := runNode(t, nodeReq{Keys: []string{k2.ExportPASERK()}, CookieName: "__Host-session", Seal: []sealReq{{Session: good, Kid: k1.ID()}}}).Seal[0]

	m := newManager(t, middleware.Config{}, k1)
	saw, next := roundTrip(t, m, "__Host-session="+resp.Seal[0], func(s *middleware.Session) { s.Set("visits", 1) })
	got, _ := json.Marshal(saw.vals)
	if diff := sameJSON(t, sessionData, got); diff != "" {
		t.Fatalf("the middleware read other data from Node's cookie (-want +got):\n%s", diff)
	}
	if saw.sub != "user-7" || saw.id == "" || saw.created.UnixMilli() != created/1000*1000 {
		t.Errorf("session identity: subject %q, id %q, created %v", saw.sub, saw.id, saw.created)
	}
	back := runNode(t, nodeReq{Keys: []string{k1.ExportPASERK()}, CookieName: "__Host-session", Open: []string{next}})
	if !back.Open[0].OK || back.Open[0].ID != saw.id || !strings.Contains(string(back.Open[0].Data), `"visits":1`) {
		t.Errorf("Node could not read back the session the middleware re-sealed: %+v", back.Open[0])
	}

	for i, label := range []string{"", "another cookie's assertion", "another audience", "kid of a key Go lacks", "expired", "created beyond MaxAge", "no session id", "issued in the future"} {
		if i == 0 {
			continue
		}
		saw, _ := roundTrip(t, m, "__Host-session="+resp.Seal[i], nil)
		if len(saw.vals) != 0 || saw.sub != "" {
			t.Errorf("%s: the middleware accepted Node's token", label)
		}
	}
	if saw, _ := roundTrip(t, m, "__Host-session="+forgedKid, nil); len(saw.vals) != 0 {
		t.Error("the middleware accepted a token whose kid names another key")
	}
}

// TestInteropKeyIDsAndAssertions: Node computes the same key ids as the
// keyring and the same implicit assertion bytes as the middleware, for
// audiences that need every kind of escaping; so does the Python recipe
// printed in FORMAT.md.
func TestInteropKeyIDsAndAssertions(t *testing.T) {
	t.Parallel()
	needNode(t)
	var keys []string
	var ids []string
	for range 4 {
		k := newKey(t)
		keys = append(keys, k.ExportPASERK())
		ids = append(ids, k.ID())
	}
	cases := []assertionReq{
		{"__Host-session", ""},
		{"session", "shop"},
		{"__Secure-s", tricky},
		{"s", "\u007f\u0000\u001f</script>&'"},
		{"s", "\U0001F600 \ud7ff \ue000"},
	}
	resp := runNode(t, nodeReq{Keys: keys, IDs: keys, Assertions: cases})
	if diff := cmp.Diff(ids, resp.IDs); diff != "" {
		t.Errorf("key ids (-keyring +node):\n%s", diff)
	}
	var want []string
	for _, c := range cases {
		want = append(want, hex.EncodeToString(middleware.ImplicitAssertion(c.CookieName, c.Audience)))
	}
	if diff := cmp.Diff(want, resp.Assertions); diff != "" {
		t.Errorf("assertions (-middleware +node):\n%s", diff)
	}

	// FORMAT.md's JavaScript recipe, as printed.
	node := needNode(t)
	cmd := exec.Command(node, "--input-type=module", "-e", docBlock(t, "js")+`
import { readFileSync } from "node:fs";
for (const c of JSON.parse(readFileSync(0, "utf8"))) {
  console.log(Buffer.from(implicitAssertion(c.cookieName, c.audience)).toString("hex"));
}
`)
	in, _ := json.Marshal(cases)
	cmd.Stdin = bytes.NewReader(in)
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("FORMAT.md's JavaScript recipe: %v", err)
	}
	if diff := cmp.Diff(want, strings.Fields(string(out))); diff != "" {
		t.Errorf("assertions (-middleware +FORMAT.md's JavaScript):\n%s", diff)
	}

	py, err := exec.LookPath("python3")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("python3 is missing")
		}
		t.Skip("python3 is missing: FORMAT.md's Python recipe is not checked")
	}
	cmd = exec.Command(py, "-c", docBlock(t, "python")+`
import json, sys
for c in json.load(sys.stdin):
    print(implicit_assertion(c["cookieName"], c["audience"]).hex())
`)
	cmd.Stdin = bytes.NewReader(in)
	out, err = cmd.Output()
	if err != nil {
		t.Fatalf("FORMAT.md's Python recipe: %v", err)
	}
	if diff := cmp.Diff(want, strings.Fields(string(out))); diff != "" {
		t.Errorf("assertions (-middleware +FORMAT.md's Python):\n%s", diff)
	}
}

// docBlock returns the first fenced code block of FORMAT.md in lang.
func docBlock(t *testing.T, lang string) string {
	t.Helper()
	doc, err := os.ReadFile(filepath.Join("..", "FORMAT.md"))
	if err != nil {
		t.Fatal(err)
	}
	_, rest, ok := strings.Cut(string(doc), "```"+lang+"\n")
	block, _, ok2 := strings.Cut(rest, "```")
	if !ok || !ok2 {
		t.Fatalf("FORMAT.md has no ```%s block", lang)
	}
	return block
}
