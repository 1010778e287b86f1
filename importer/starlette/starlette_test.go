package starlette_test

import (
	"bytes"
	"crypto/sha1"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"satchel.dev/importer/starlette"
)

const (
	secret = "correct horse battery staple, the app's secret_key"
	maxAge = 3600 // seconds, as Starlette's max_age
)

// now is the fixed clock of these tests, in whole seconds like
// itsdangerous's timestamps.
var now = time.Unix(1_800_000_000, 0)

func newImporter(t *testing.T, mod func(*starlette.Options)) *starlette.Importer {
	t.Helper()
	opts := starlette.Options{
		SecretKey: secret,
		MaxAge:    maxAge * time.Second,
		Now:       func() time.Time { return now },
	}
	if mod != nil {
		mod(&opts)
	}
	im, err := starlette.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	return im
}

// request returns a request carrying the given Cookie header.
func request(cookie string) *http.Request {
	r := httptest.NewRequest("GET", "/", nil)
	if cookie != "" {
		r.Header.Set("Cookie", cookie)
	}
	return r
}

// importValue runs Import on a request whose "session" cookie is value.
func importValue(im *starlette.Importer, value string) (map[string]any, bool, error) {
	return im.Import(request("session=" + value))
}

// canonical decodes JSON into Go values with numbers kept as text, so two
// documents compare equal exactly when they hold the same data.
func canonical(t *testing.T, doc []byte) any {
	t.Helper()
	d := json.NewDecoder(bytes.NewReader(doc))
	d.UseNumber()
	var v any
	if err := d.Decode(&v); err != nil {
		t.Fatalf("decoding %s: %v", doc, err)
	}
	return v
}

// TestStarletteAdoptsRealCookies mints cookies with the real itsdangerous,
// as Starlette's SessionMiddleware writes them, and requires the importer
// to return exactly the session Starlette reads back from each.
func TestStarletteAdoptsRealCookies(t *testing.T) {
	t.Parallel()
	sessions := []any{
		map[string]any{"user_id": 12345, "username": "alice"},
		map[string]any{},
		map[string]any{
			"big":    json.Number("9007199254740993"),
			"float":  1.25,
			"neg":    -7,
			"nested": map[string]any{"roles": []any{"admin", "editor"}, "ok": true, "none": nil},
			"cart":   []any{map[string]any{"sku": "SKU-10001", "qty": 2}},
		},
		// json.dumps escapes non-ASCII by default (ensure_ascii): the
		// importer must read the escapes, surrogate pairs included.
		map[string]any{"name": "Zoë 東京 🎒", "quote\"key": "back\\slash\n"},
		map[string]any{"csrf": strings.Repeat("ab12", 8), "flash": []any{"Welcome!"}},
	}
	var req peerReq
	for _, s := range sessions {
		req.Mint = append(req.Mint, mintReq{Secret: secret, Session: s, TS: now.Unix() - 10})
	}
	minted := runPeer(t, req).Mint
	for _, c := range minted {
		req.Check = append(req.Check, checkReq{Secret: secret, Cookie: c, Now: now.Unix(), MaxAge: maxAge})
	}
	checked := runPeer(t, peerReq{Check: req.Check}).Check

	im := newImporter(t, nil)
	for i, c := range minted {
		t.Run(fmt.Sprintf("session=%d", i), func(t *testing.T) {
			if checked[i].Result != "ok" {
				t.Fatalf("Starlette itself refuses the cookie: %s %s", checked[i].Result, checked[i].Why)
			}
			vals, found, err := importValue(im, c)
			if err != nil || !found {
				t.Fatalf("Import = found %v, error %v; want the session", found, err)
			}
			for k, v := range vals {
				if _, ok := v.(json.RawMessage); !ok {
					t.Errorf("value %q is a %T, want json.RawMessage", k, v)
				}
			}
			got, err := json.Marshal(vals)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(canonical(t, []byte(checked[i].Session)), canonical(t, got)); diff != "" {
				t.Errorf("imported values differ from what Starlette reads (-want +got):\n%s", diff)
			}
		})
	}
	// The integer beyond float64's precision keeps every digit.
	vals, _, _ := importValue(im, minted[2])
	if got := string(vals["big"].(json.RawMessage)); got != "9007199254740993" {
		t.Errorf("big = %s, want 9007199254740993", got)
	}
}

// TestStarletteRefusesWhatStarletteRefuses builds forged, altered,
// truncated, expired and malformed cookies, asks the real itsdangerous
// what Starlette would do with each (serve an empty session, or fail the
// request), and requires the importer to refuse every one with the
// matching sentinel.
func TestStarletteRefusesWhatStarletteRefuses(t *testing.T) {
	t.Parallel()
	session := map[string]any{"user_id": 1, "role": "admin"}
	ts := now.Unix() - 10
	peer := runPeer(t, peerReq{
		Mint: []mintReq{
			{Secret: secret, Session: session, TS: ts},
			{Secret: "some other secret", Session: session, TS: ts},
			{Secret: secret, Session: session, TS: now.Unix() - maxAge - 1},
			{Secret: secret, Session: session, TS: now.Unix() + 1},
			{Secret: secret, Session: map[string]any{"user_id": 2, "role": "admin"}, TS: ts},
		},
		Raw: []rawReq{
			{Secret: secret, Payload: "not base64!", TS: ts},
			{Secret: secret, Payload: base64.StdEncoding.EncodeToString([]byte(`{"user_id": 1,`)), TS: ts},
			{Secret: secret, Payload: base64.StdEncoding.EncodeToString([]byte{'{', '"', 'a', '"', ':', '"', 0xff, '"', '}'}), TS: ts},
		},
	})
	good, otherKey, expired, future, otherSession := peer.Mint[0], peer.Mint[1], peer.Mint[2], peer.Mint[3], peer.Mint[4]
	payload, stamp, sig := split3(t, good)
	otherPayload, _, _ := split3(t, otherSession)
	_, _, otherSig := split3(t, otherSession)

	cases := []struct {
		name   string
		cookie string
		want   error
	}{
		{"signed with another key", otherKey, starlette.ErrInvalid},
		{"payload swapped", otherPayload + "." + stamp + "." + sig, starlette.ErrInvalid},
		{"signature swapped", payload + "." + stamp + "." + otherSig, starlette.ErrInvalid},
		{"timestamp moved", payload + "." + "a0nR_w" + "." + sig, starlette.ErrInvalid},
		{"signature flipped", payload + "." + stamp + "." + flip(sig), starlette.ErrInvalid},
		{"payload flipped", flip(payload) + "." + stamp + "." + sig, starlette.ErrInvalid},
		{"no timestamp", payload + "." + sig, starlette.ErrInvalid},
		{"unsigned", payload, starlette.ErrInvalid},
		{"empty", "", starlette.ErrInvalid},
		{"expired", expired, starlette.ErrExpired},
		{"signed in the future", future, starlette.ErrExpired},
		{"signed junk, not base64", peer.Raw[0], starlette.ErrInvalid},
		{"signed truncated JSON", peer.Raw[1], starlette.ErrInvalid},
		{"signed invalid UTF-8", peer.Raw[2], starlette.ErrInvalid},
	}
	var check []checkReq
	for _, c := range cases {
		check = append(check, checkReq{Secret: secret, Cookie: c.cookie, Now: now.Unix(), MaxAge: maxAge})
	}
	verdicts := runPeer(t, peerReq{Check: check}).Check

	im := newImporter(t, nil)
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if v := verdicts[i]; v.Result == "ok" {
				t.Fatalf("the case is wrong: Starlette accepts it")
			}
			vals, found, err := importValue(im, c.cookie)
			if c.cookie == "" {
				// net/http keeps an empty cookie value: still found.
				if !found {
					t.Fatal("empty cookie not found")
				}
			}
			if !errors.Is(err, c.want) || vals != nil || !found {
				t.Fatalf("Import = %v, found %v, error %v; want nil, true, %v", vals, found, err, c.want)
			}
		})
	}
}

// TestStarletteTruncations cuts a real cookie at every length: Starlette
// accepts none of the prefixes and neither does the importer.
func TestStarletteTruncations(t *testing.T) {
	t.Parallel()
	good := runPeer(t, peerReq{Mint: []mintReq{{Secret: secret, Session: map[string]any{"a": "b"}, TS: now.Unix()}}}).Mint[0]
	var check []checkReq
	for n := range len(good) {
		check = append(check, checkReq{Secret: secret, Cookie: good[:n], Now: now.Unix(), MaxAge: maxAge})
	}
	verdicts := runPeer(t, peerReq{Check: check}).Check
	im := newImporter(t, nil)
	for n := range len(good) {
		if verdicts[n].Result == "ok" {
			t.Errorf("len=%d: Starlette accepts the prefix", n)
		}
		if vals, _, err := importValue(im, good[:n]); !errors.Is(err, starlette.ErrInvalid) || vals != nil {
			t.Errorf("len=%d: Import = %v, %v; want ErrInvalid", n, vals, err)
		}
	}
	if _, _, err := importValue(im, good); err != nil {
		t.Fatalf("whole cookie: %v", err)
	}
}

// TestStarletteExpiry checks max_age at its edges against the real
// itsdangerous: a cookie exactly max_age seconds old opens, one second
// more does not, and the clock is read on every Import.
func TestStarletteExpiry(t *testing.T) {
	t.Parallel()
	ts := now.Unix() - 100
	good := runPeer(t, peerReq{Mint: []mintReq{{Secret: secret, Session: map[string]any{"a": 1}, TS: ts}}}).Mint[0]
	for _, c := range []struct {
		at   int64
		want error
	}{
		{ts - 1, starlette.ErrExpired}, // signed in the future
		{ts, nil},
		{ts + maxAge, nil},
		{ts + maxAge + 1, starlette.ErrExpired},
	} {
		verdict := runPeer(t, peerReq{Check: []checkReq{{Secret: secret, Cookie: good, Now: c.at, MaxAge: maxAge}}}).Check[0]
		if (verdict.Result == "ok") != (c.want == nil) {
			t.Fatalf("age=%d: Starlette says %s, the test expects %v", c.at-ts, verdict.Result, c.want)
		}
		clock := time.Unix(c.at, 999_999_999) // fractions do not count, as int(time.time())
		im := newImporter(t, func(o *starlette.Options) { o.Now = func() time.Time { return clock } })
		_, _, err := importValue(im, good)
		if !errors.Is(err, c.want) || (c.want == nil) != (err == nil) {
			t.Errorf("age=%d: Import error %v, want %v", c.at-ts, err, c.want)
		}
	}
}

// TestStarletteStricterThanItsdangerous pins the cookies that Starlette
// does not refuse as bad (it takes them, or fails the request with a 500)
// but the importer refuses. Starlette never writes any of them: they need
// the application's key and a hand-made encoding.
func TestStarletteStricterThanItsdangerous(t *testing.T) {
	t.Parallel()
	ts := now.Unix() - 10
	peer := runPeer(t, peerReq{
		Mint: []mintReq{{Secret: secret, Session: map[string]any{"a": 1}, TS: ts}},
		Raw: []rawReq{
			{Secret: secret, Payload: base64.StdEncoding.EncodeToString([]byte(`{"a": 1, "a": 2}`)), TS: ts},
			{Secret: secret, Payload: base64.StdEncoding.EncodeToString([]byte(`{"a": NaN}`)), TS: ts},
			{Secret: secret, Payload: base64.RawStdEncoding.EncodeToString([]byte(`{"a": 1}`)), TS: ts},
			{Secret: secret, Payload: base64.StdEncoding.EncodeToString([]byte(`[1, 2]`)), TS: ts},
			{Secret: secret, Payload: base64.StdEncoding.EncodeToString([]byte(`"admin"`)), TS: ts},
		},
	})
	payload, stamp, sig := split3(t, peer.Mint[0])
	// The signature's last character carries two unused bits; itsdangerous
	// ignores them, the importer wants them zero.
	loose := payload + "." + stamp + "." + sig[:len(sig)-1] + string(sig[len(sig)-1]+1)
	cases := []struct{ name, cookie string }{
		{"repeated name", peer.Raw[0]},
		{"NaN", peer.Raw[1]},
		{"unpadded payload", peer.Raw[2]},
		// Starlette would store a list or a string as request.session
		// and fail later; a session is a JSON object.
		{"JSON array", peer.Raw[3]},
		{"JSON string", peer.Raw[4]},
		{"non-canonical signature", loose},
	}
	var check []checkReq
	for _, c := range cases {
		check = append(check, checkReq{Secret: secret, Cookie: c.cookie, Now: now.Unix(), MaxAge: maxAge})
	}
	verdicts := runPeer(t, peerReq{Check: check}).Check
	im := newImporter(t, nil)
	for i, c := range cases {
		if verdicts[i].Result == "bad" {
			t.Errorf("%s: itsdangerous refuses it too; the case belongs in TestStarletteRefusesWhatStarletteRefuses", c.name)
		}
		if _, _, err := importValue(im, c.cookie); !errors.Is(err, starlette.ErrInvalid) {
			t.Errorf("%s: Import error %v, want ErrInvalid", c.name, err)
		}
	}
}

// TestStarletteHandcrafted covers what needs no peer: the cookie's
// presence, duplicates, the size bound and malformed timestamps. The
// signatures here are computed in the test from itsdangerous's published
// construction, so that the malformed part is past the signature check.
func TestStarletteHandcrafted(t *testing.T) {
	t.Parallel()
	im := newImporter(t, nil)
	payload := base64.StdEncoding.EncodeToString([]byte(`{"a": 1}`))
	good := sign(payload + "." + stampOf(now.Unix()))

	if vals, found, err := im.Import(request("")); vals != nil || found || err != nil {
		t.Errorf("no cookie: Import = %v, %v, %v; want nil, false, nil", vals, found, err)
	}
	if vals, found, err := im.Import(request("other=" + good + "; sessionx=" + good)); vals != nil || found || err != nil {
		t.Errorf("other cookies only: Import = %v, %v, %v; want nil, false, nil", vals, found, err)
	}
	if _, found, err := im.Import(request("a=b; session=" + good + "; c=d")); !found || err != nil {
		t.Fatalf("handcrafted cookie: found %v, error %v", found, err)
	}
	if vals, found, err := im.Import(request("session=" + good + "; session=" + good)); vals != nil || !found || !errors.Is(err, starlette.ErrInvalid) {
		t.Errorf("two cookies: Import = %v, %v, %v; want nil, true, ErrInvalid", vals, found, err)
	}
	r := request("session=" + good)
	r.Header.Add("Cookie", "session="+good)
	if _, _, err := im.Import(r); !errors.Is(err, starlette.ErrInvalid) {
		t.Errorf("two Cookie headers: error %v, want ErrInvalid", err)
	}

	big := strings.Repeat("A", starlette.MaxCookieSize+1)
	for name, cookie := range map[string]string{
		"oversized":               big,
		"oversized but signed":    sign(big[:starlette.MaxCookieSize] + "." + stampOf(now.Unix())),
		"timestamp with zeros":    sign(payload + "." + base64.RawURLEncoding.EncodeToString([]byte{0, 0x6b, 0x49, 0xd2, 0})),
		"timestamp of 9 bytes":    sign(payload + "." + base64.RawURLEncoding.EncodeToString([]byte{1, 0, 0, 0, 0, 0, 0, 0, 0})),
		"timestamp beyond int64":  sign(payload + "." + base64.RawURLEncoding.EncodeToString([]byte{0x80, 0, 0, 0, 0, 0, 0, 0})),
		"empty timestamp":         sign(payload + "."),
		"timestamp not base64":    sign(payload + ".a0n*AA"),
		"newline in payload":      sign(payload[:2] + "\n" + payload[2:] + "." + stampOf(now.Unix())),
		"extra dot in payload":    sign(payload + ".x." + stampOf(now.Unix())),
		"signature too long":      good + "A",
		"signature cut":           good[:len(good)-1],
		"nested past the limit":   sign(base64.StdEncoding.EncodeToString([]byte(`{"a": `+strings.Repeat("[", 31)+strings.Repeat("]", 31)+`}`)) + "." + stampOf(now.Unix())),
		"too many items":          sign(base64.StdEncoding.EncodeToString([]byte(`{"a": [`+strings.Repeat("0,", 1008)+`0]}`)) + "." + stampOf(now.Unix())),
		"trailing junk after obj": sign(base64.StdEncoding.EncodeToString([]byte(`{"a": 1} x`)) + "." + stampOf(now.Unix())),
	} {
		vals, found, err := importValue(im, cookie)
		if name == "newline in payload" && !found {
			continue // net/http already drops a cookie value with a newline
		}
		if vals != nil || !found || !errors.Is(err, starlette.ErrInvalid) {
			t.Errorf("%s: Import = %v, %v, %v; want nil, true, ErrInvalid", name, vals, found, err)
		}
	}
	// The limits leave room for the claims around the session: the
	// deepest and largest sessions that pass still seal (see sessionjson).
	deep := sign(base64.StdEncoding.EncodeToString([]byte(`{"a": `+strings.Repeat("[", 30)+strings.Repeat("]", 30)+`}`)) + "." + stampOf(now.Unix()))
	if _, _, err := importValue(im, deep); err != nil {
		t.Errorf("30 levels below the session: %v", err)
	}
}

// TestStarletteErrorsHoldNoSecrets requires every error and every printed
// form of the importer to be free of the key, the cookie and the values,
// including through slog.
func TestStarletteErrorsHoldNoSecrets(t *testing.T) {
	t.Parallel()
	opts := starlette.Options{SecretKey: secret, Now: func() time.Time { return now }}
	im, err := starlette.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	const value = "hunter2-session-value"
	payload := base64.StdEncoding.EncodeToString([]byte(`{"password": "` + value + `", "x": NaN}`))
	forged := payload + "." + stampOf(now.Unix()) + ".AAAAAAAAAAAAAAAAAAAAAAAAAAA"
	badJSON := sign(payload + "." + stampOf(now.Unix()))
	var outputs []string
	for _, c := range []string{forged, badJSON, forged[:40]} {
		_, _, err := importValue(im, c)
		if err == nil {
			t.Fatal("expected an error")
		}
		outputs = append(outputs, err.Error(), fmt.Sprintf("%+v", err))
	}
	var logged bytes.Buffer
	slog.New(slog.NewJSONHandler(&logged, nil)).Info("x", "opts", opts, "importer", im)
	slog.New(slog.NewTextHandler(&logged, nil)).Info("x", "opts", opts, "importer", im)
	j, _ := json.Marshal(opts)
	outputs = append(outputs, logged.String(), string(j))
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x"} {
		outputs = append(outputs, fmt.Sprintf(verb, opts), fmt.Sprintf(verb, &opts), fmt.Sprintf(verb, im), fmt.Sprintf(verb, *im))
	}
	// The key the importer keeps is derived from the secret.
	derived := sha1.Sum([]byte("itsdangerous.Signer" + "signer" + secret))
	for _, out := range outputs {
		for _, s := range []string{secret, value, payload[:20], "Y29ycmVjdCBob3Jz", fmt.Sprintf("%x", secret[:8]),
			fmt.Sprintf("%x", derived[:8]), fmt.Sprintf("%X", derived[:8]), strings.Trim(fmt.Sprint(derived[:6]), "[]"), string(derived[:8])} {
			if strings.Contains(out, s) {
				t.Errorf("output %q contains a secret", out)
			}
		}
	}
}

func TestStarletteOptions(t *testing.T) {
	t.Parallel()
	for name, opts := range map[string]starlette.Options{
		"no key":           {},
		"negative MaxAge":  {SecretKey: "k", MaxAge: -time.Second},
		"fraction MaxAge":  {SecretKey: "k", MaxAge: 1500 * time.Millisecond},
		"bad name":         {SecretKey: "k", CookieName: "a b"},
		"bad path":         {SecretKey: "k", Path: "/;x"},
		"__Host- insecure": {SecretKey: "k", CookieName: "__Host-s"},
		"__Host- path":     {SecretKey: "k", CookieName: "__Host-s", HTTPSOnly: true, Path: "/app"},
		"__host- domain":   {SecretKey: "k", CookieName: "__host-s", HTTPSOnly: true, Domain: "example.com"},
		"__Secure- plain":  {SecretKey: "k", CookieName: "__Secure-s"},
	} {
		if _, err := starlette.New(opts); err == nil {
			t.Errorf("%s: New accepted %+v", name, opts)
		}
	}
	for _, opts := range []starlette.Options{
		{SecretKey: "k", CookieName: "__Host-s", HTTPSOnly: true},
		{SecretKey: "k", CookieName: "__Secure-s", HTTPSOnly: true, Path: "/app", Domain: "example.com"},
	} {
		if _, err := starlette.New(opts); err != nil {
			t.Errorf("New(%+v): %v", opts, err)
		}
	}
	im := newImporter(t, nil)
	want := &http.Cookie{Name: "session", Path: "/", MaxAge: -1, HttpOnly: true, SameSite: http.SameSiteLaxMode}
	if diff := cmp.Diff(want, im.Expire()); diff != "" {
		t.Errorf("default Expire (-want +got):\n%s", diff)
	}
	im = newImporter(t, func(o *starlette.Options) {
		o.CookieName, o.Path, o.Domain, o.HTTPSOnly, o.SameSite = "sess", "/app", "example.com", true, http.SameSiteStrictMode
	})
	want = &http.Cookie{Name: "sess", Path: "/app", Domain: "example.com", MaxAge: -1, HttpOnly: true, Secure: true, SameSite: http.SameSiteStrictMode}
	if diff := cmp.Diff(want, im.Expire()); diff != "" {
		t.Errorf("configured Expire (-want +got):\n%s", diff)
	}
	if got := im.Expire().String(); !strings.Contains(got, "Max-Age=0") {
		t.Errorf("Expire's Set-Cookie %q does not delete the cookie", got)
	}
}

// split3 splits a signed value into payload, timestamp and signature.
func split3(t *testing.T, s string) (payload, stamp, sig string) {
	t.Helper()
	parts := strings.Split(s, ".")
	if len(parts) != 3 {
		t.Fatalf("signed value has %d parts", len(parts))
	}
	return parts[0], parts[1], parts[2]
}

// flip changes one character in the middle of s to another base64 one.
func flip(s string) string {
	b := []byte(s)
	i := len(b) / 2
	if b[i] == 'A' {
		b[i] = 'B'
	} else {
		b[i] = 'A'
	}
	return string(b)
}

// TestStarletteConcurrent imports from many goroutines at once (run with
// -race): the importer keeps no state between requests.
func TestStarletteConcurrent(t *testing.T) {
	t.Parallel()
	im := newImporter(t, nil)
	good := sign(base64.StdEncoding.EncodeToString([]byte(`{"a": 1}`)) + "." + stampOf(now.Unix()))
	done := make(chan error, 16)
	for i := range 16 {
		go func() {
			c := good
			if i%2 == 1 {
				c = flip(good)
			}
			var err error
			for range 50 {
				if _, _, e := importValue(im, c); (e == nil) != (i%2 == 0) {
					err = fmt.Errorf("goroutine %d: error %v", i, e)
				}
			}
			done <- err
		}()
	}
	for range 16 {
		if err := <-done; err != nil {
			t.Error(err)
		}
	}
}
