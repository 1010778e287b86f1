package gorilla_test

import (
	"bytes"
	"encoding/base64"
	"encoding/gob"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/gorilla/securecookie"
	"github.com/gorilla/sessions"

	"satchel.dev/importer/gorilla"
)

// cartItem stands for an application's own type stored in a gorilla
// session. Like the application, the test registers it with gob.
type cartItem struct {
	SKU   string `json:"sku"`
	Qty   int    `json:"qty"`
	Price int64  `json:"price_cents"`
}

// onlyHere is registered under a name that the tests then corrupt, to
// stand for a type the new program does not register.
type onlyHere struct{ N int }

func init() {
	gob.Register(cartItem{})
	gob.Register([]cartItem{})
	gob.Register(map[string]any{})
	gob.Register(time.Time{})
	gob.RegisterName("gorilla_test.onlyHere", onlyHere{})
}

var (
	hashKey  = []byte("0123456789abcdef0123456789abcdef-hash-key-of-the-app")
	blockKey = []byte("0123456789abcdef0123456789abcdef") // AES-256
	oldHash  = []byte("the hash key the app used last year, since rotated")
	oldBlock = []byte("0123456789abcdef") // AES-128
)

const name = "app-session"

// mint saves a session with the real gorilla/sessions CookieStore and
// returns the cookie value it set.
func mint(t *testing.T, store *sessions.CookieStore, vals map[any]any, flashes ...string) string {
	t.Helper()
	r := httptest.NewRequest("GET", "/", nil)
	s, err := store.Get(r, name)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range vals {
		s.Values[k] = v
	}
	for _, f := range flashes {
		s.AddFlash(f)
	}
	w := httptest.NewRecorder()
	if err := s.Save(r, w); err != nil {
		t.Fatalf("gorilla refuses to save: %v", err)
	}
	for _, c := range w.Result().Cookies() {
		if c.Name == name {
			return c.Value
		}
	}
	t.Fatal("gorilla set no cookie")
	return ""
}

func newImporter(t *testing.T, opts gorilla.Options) *gorilla.Importer {
	t.Helper()
	if opts.CookieName == "" {
		opts.CookieName = name
	}
	im, err := gorilla.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	return im
}

func importValue(im *gorilla.Importer, value string) (map[string]any, bool, error) {
	r := httptest.NewRequest("GET", "/", nil)
	r.Header.Set("Cookie", name+"="+value)
	return im.Import(r)
}

// asJSON encodes the imported values, which must all be json.RawMessage,
// for comparison.
func asJSON(t *testing.T, vals map[string]any) any {
	t.Helper()
	for k, v := range vals {
		if _, ok := v.(json.RawMessage); !ok {
			t.Errorf("value %q is a %T, want json.RawMessage", k, v)
		}
	}
	b, err := json.Marshal(vals)
	if err != nil {
		t.Fatal(err)
	}
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	var v any
	if err := d.Decode(&v); err != nil {
		t.Fatal(err)
	}
	return v
}

func mustJSON(t *testing.T, s string) any {
	t.Helper()
	d := json.NewDecoder(strings.NewReader(s))
	d.UseNumber()
	var v any
	if err := d.Decode(&v); err != nil {
		t.Fatal(err)
	}
	return v
}

// TestGorillaAdoptsCookieStore mints cookies with the real CookieStore,
// signed only and signed and encrypted, with gob values of every common
// shape, and requires their JSON form.
func TestGorillaAdoptsCookieStore(t *testing.T) {
	t.Parallel()
	created := time.Date(2026, 11, 1, 9, 30, 0, 0, time.UTC)
	vals := map[any]any{
		"user_id":  int64(9007199254740993),
		"username": "alice",
		"admin":    true,
		"ratio":    0.5,
		"roles":    []string{"admin", "editor"},
		"cart":     []cartItem{{"SKU-10001", 2, 1249}},
		"item":     cartItem{"SKU-10002", 1, 999},
		"prefs":    map[string]any{"theme": "dark", "n": 3},
		"since":    created,
		"raw":      []byte{0, 1, 2},
	}
	want := mustJSON(t, `{"user_id":9007199254740993,"username":"alice","admin":true,"ratio":0.5,
		"roles":["admin","editor"],"cart":[{"sku":"SKU-10001","qty":2,"price_cents":1249}],
		"item":{"sku":"SKU-10002","qty":1,"price_cents":999},"prefs":{"theme":"dark","n":3},
		"since":"2026-11-01T09:30:00Z","raw":"AAEC","_flash":["Welcome!","Saved."]}`)
	for _, c := range []struct {
		name string
		keys []gorilla.KeyPair
	}{
		{"hash only", []gorilla.KeyPair{{Hash: hashKey}}},
		{"AES-256", []gorilla.KeyPair{{Hash: hashKey, Block: blockKey}}},
		{"AES-128", []gorilla.KeyPair{{Hash: oldHash, Block: oldBlock}}},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			var pairs [][]byte
			for _, kp := range c.keys {
				pairs = append(pairs, kp.Hash, kp.Block)
			}
			cookie := mint(t, sessions.NewCookieStore(pairs...), vals, "Welcome!", "Saved.")
			got, found, err := importValue(newImporter(t, gorilla.Options{Keys: c.keys}), cookie)
			if err != nil || !found {
				t.Fatalf("Import: found %v, error %v", found, err)
			}
			if diff := cmp.Diff(want, asJSON(t, got)); diff != "" {
				t.Errorf("imported values (-want +got):\n%s", diff)
			}
		})
	}
}

// TestGorillaKeyRotation: an application that rotated its keys lists the
// new pair first and the old one after; cookies written under either open,
// as with securecookie's DecodeMulti, and a cookie under a key pair the
// list lacks does not.
func TestGorillaKeyRotation(t *testing.T) {
	t.Parallel()
	vals := map[any]any{"user": "bob"}
	underOld := mint(t, sessions.NewCookieStore(oldHash, oldBlock), vals)
	underNew := mint(t, sessions.NewCookieStore(hashKey, blockKey, oldHash, oldBlock), vals)
	im := newImporter(t, gorilla.Options{Keys: []gorilla.KeyPair{{hashKey, blockKey}, {oldHash, oldBlock}}})
	for label, c := range map[string]string{"old pair": underOld, "new pair": underNew} {
		if got, _, err := importValue(im, c); err != nil || string(got["user"].(json.RawMessage)) != `"bob"` {
			t.Errorf("%s: Import = %v, %v", label, got, err)
		}
	}
	onlyNew := newImporter(t, gorilla.Options{Keys: []gorilla.KeyPair{{hashKey, blockKey}}})
	if _, found, err := importValue(onlyNew, underOld); !found || !errors.Is(err, gorilla.ErrInvalid) {
		t.Errorf("old cookie without the old pair: found %v, error %v; want ErrInvalid", found, err)
	}
	// The right hash key with the wrong block key authenticates but
	// decrypts to junk, which gob refuses.
	wrongBlock := newImporter(t, gorilla.Options{Keys: []gorilla.KeyPair{{oldHash, []byte("fedcba9876543210")}}})
	if _, _, err := importValue(wrongBlock, underOld); !errors.Is(err, gorilla.ErrInvalid) {
		t.Errorf("wrong block key: error %v, want ErrInvalid", err)
	}
}

// TestGorillaExpired runs the clock of securecookie (time.Now) in a
// synctest bubble: a cookie exactly MaxAge old still opens, as in
// securecookie, one second more gives ErrExpired.
func TestGorillaExpired(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		store := sessions.NewCookieStore(hashKey)
		store.MaxAge(3600)
		cookie := mint(t, store, map[any]any{"a": "b"})
		im := newImporter(t, gorilla.Options{Keys: []gorilla.KeyPair{{Hash: hashKey}}, MaxAge: time.Hour})
		time.Sleep(time.Hour)
		if _, _, err := importValue(im, cookie); err != nil {
			t.Fatalf("at MaxAge: %v", err)
		}
		if _, err := store.Get(reqWith(cookie), name); err != nil {
			t.Fatalf("gorilla itself refuses it at MaxAge: %v", err)
		}
		time.Sleep(time.Second)
		if _, found, err := importValue(im, cookie); !found || !errors.Is(err, gorilla.ErrExpired) {
			t.Fatalf("past MaxAge: found %v, error %v; want ErrExpired", found, err)
		}
		if _, err := sessions.NewCookieStore(hashKey).Get(reqWith(cookie), name); err != nil {
			t.Fatalf("the store with 30 days still takes it: %v", err)
		}
		// The importer's default is gorilla's 30 days.
		if _, _, err := importValue(newImporter(t, gorilla.Options{Keys: []gorilla.KeyPair{{Hash: hashKey}}}), cookie); err != nil {
			t.Fatalf("default MaxAge: %v", err)
		}
	})
}

func reqWith(cookie string) *http.Request {
	r := httptest.NewRequest("GET", "/", nil)
	r.Header.Set("Cookie", name+"="+cookie)
	return r
}

// TestGorillaForged alters a real cookie in every way that matters: each
// is refused by gorilla itself and by the importer, with ErrInvalid.
func TestGorillaForged(t *testing.T) {
	t.Parallel()
	store := sessions.NewCookieStore(hashKey, blockKey)
	good := mint(t, store, map[any]any{"user_id": 1})
	im := newImporter(t, gorilla.Options{Keys: []gorilla.KeyPair{{hashKey, blockKey}}})

	otherName := func() string {
		s := sessions.NewCookieStore(hashKey, blockKey)
		r := httptest.NewRequest("GET", "/", nil)
		sess, _ := s.Get(r, "other")
		sess.Values["user_id"] = 1
		w := httptest.NewRecorder()
		if err := sess.Save(r, w); err != nil {
			t.Fatal(err)
		}
		return w.Result().Cookies()[0].Value
	}()
	cases := map[string]string{
		"another key":          mint(t, sessions.NewCookieStore([]byte("not the key"), blockKey), map[any]any{"user_id": 1}),
		"another cookie name":  otherName,
		"flipped":              flip(good, len(good)/2),
		"flipped first":        flip(good, 0),
		"flipped last":         flip(good, len(good)-3),
		"not base64":           "!!!" + good[3:],
		"empty":                "",
		"oversized":            strings.Repeat("A", 4097),
		"two bars":             b64("123|abc"),
		"unsigned JSON":        b64(`{"user_id":1}`),
		"signed hello, no mac": b64("1800000000|aGVsbG8=|"),
	}
	for n := range len(good) {
		cases[fmt.Sprintf("len=%d", n)] = good[:n]
	}
	for label, c := range cases {
		if _, err := store.Get(reqWith(c), name); err == nil {
			t.Errorf("%s: the case is wrong: gorilla accepts it", label)
			continue
		}
		vals, found, err := importValue(im, c)
		if vals != nil || !found || !errors.Is(err, gorilla.ErrInvalid) {
			t.Errorf("%s: Import = %v, %v, %v; want nil, true, ErrInvalid", label, vals, found, err)
		}
	}
	if _, _, err := importValue(im, good); err != nil {
		t.Fatalf("the whole cookie: %v", err)
	}
}

// TestGorillaUnconvertible: sessions the conversion cannot carry whole are
// refused whole, never imported in part, and Convert can take them over.
func TestGorillaUnconvertible(t *testing.T) {
	t.Parallel()
	store := sessions.NewCookieStore(hashKey)
	im := newImporter(t, gorilla.Options{Keys: []gorilla.KeyPair{{Hash: hashKey}}})
	intKey := mint(t, store, map[any]any{"user": "carol", 42: "answer"})
	for label, c := range map[string]string{
		"int key":         intKey,
		"NaN":             mint(t, store, map[any]any{"user": "carol", "score": math.NaN()}),
		"nested int key":  mint(t, store, map[any]any{"user": "carol", "m": map[string]any{"x": []any{math.Inf(1)}}}),
		"unregistered":    unregistered(t),
		"not gob at all":  signedPayload(t, hashKey, []byte("plain text, not gob")),
		"gob of a string": signedPayload(t, hashKey, gobOf(t, "just a string")),
	} {
		vals, found, err := importValue(im, c)
		if vals != nil || !found || !errors.Is(err, gorilla.ErrInvalid) {
			t.Errorf("%s: Import = %v, %v, %v; want nil, true, ErrInvalid", label, vals, found, err)
		}
	}
	_, _, err := importValue(im, unregistered(t))
	if err == nil || !strings.Contains(err.Error(), "gob.Register") {
		t.Errorf("unregistered type: error %v does not say to register it", err)
	}

	withConvert := newImporter(t, gorilla.Options{
		Keys: []gorilla.KeyPair{{Hash: hashKey}},
		Convert: func(in map[any]any) (map[string]any, error) {
			out := make(map[string]any, len(in))
			for k, v := range in {
				out[fmt.Sprint(k)] = v
			}
			return out, nil
		},
	})
	got, _, err := importValue(withConvert, intKey)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(mustJSON(t, `{"user":"carol","42":"answer"}`), asJSON(t, got)); diff != "" {
		t.Errorf("Convert (-want +got):\n%s", diff)
	}
	failing := newImporter(t, gorilla.Options{
		Keys:    []gorilla.KeyPair{{Hash: hashKey}},
		Convert: func(map[any]any) (map[string]any, error) { return nil, errors.New("no") },
	})
	if _, _, err := importValue(failing, intKey); !errors.Is(err, gorilla.ErrInvalid) {
		t.Errorf("failing Convert: error %v, want ErrInvalid", err)
	}
}

// unregistered returns a cookie whose gob stream names a type this program
// never registered: the stream of a registered type, its name corrupted.
func unregistered(t *testing.T) string {
	t.Helper()
	stream := gobOf(t, map[any]any{"v": onlyHere{7}})
	stream = bytes.Replace(stream, []byte("gorilla_test.onlyHere"), []byte("gorilla_test.onlyHerX"), 1)
	return signedPayload(t, hashKey, stream)
}

func gobOf(t *testing.T, v any) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := gob.NewEncoder(&b).Encode(v); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// signedPayload has the real securecookie sign payload as it is.
func signedPayload(t *testing.T, hash, payload []byte) string {
	t.Helper()
	s := securecookie.New(hash, nil).SetSerializer(passThrough{})
	v, err := s.Encode(name, payload)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

type passThrough struct{}

func (passThrough) Serialize(src any) ([]byte, error)     { return src.([]byte), nil }
func (passThrough) Deserialize(src []byte, dst any) error { return errors.New("unused") }

// TestGorillaJSON reads cookies written by securecookie's JSONEncoder, and
// pins why CookieStore cannot have written them.
func TestGorillaJSON(t *testing.T) {
	t.Parallel()
	sc := securecookie.New(hashKey, blockKey).SetSerializer(securecookie.JSONEncoder{})
	cookie, err := sc.Encode(name, map[string]any{"user_id": 12345, "cart": []cartItem{{"SKU-10001", 3, 1499}}})
	if err != nil {
		t.Fatal(err)
	}
	im := newImporter(t, gorilla.Options{Keys: []gorilla.KeyPair{{hashKey, blockKey}}, Encoding: gorilla.JSON})
	got, _, err := importValue(im, cookie)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(mustJSON(t, `{"user_id":12345,"cart":[{"sku":"SKU-10001","qty":3,"price_cents":1499}]}`), asJSON(t, got)); diff != "" {
		t.Errorf("JSON import (-want +got):\n%s", diff)
	}
	// A JSON payload that is not one strict object is refused.
	for label, v := range map[string]any{"array": []int{1}, "string": "x"} {
		c, err := sc.Encode(name, v)
		if err != nil {
			t.Fatal(err)
		}
		if _, _, err := importValue(im, c); !errors.Is(err, gorilla.ErrInvalid) {
			t.Errorf("%s: error %v, want ErrInvalid", label, err)
		}
	}
	// The gob importer refuses the JSON cookie: the encodings differ.
	gobIm := newImporter(t, gorilla.Options{Keys: []gorilla.KeyPair{{hashKey, blockKey}}})
	if _, _, err := importValue(gobIm, cookie); !errors.Is(err, gorilla.ErrInvalid) {
		t.Errorf("JSON cookie under Gob: error %v, want ErrInvalid", err)
	}

	store := sessions.NewCookieStore(hashKey)
	for _, c := range store.Codecs {
		c.(*securecookie.SecureCookie).SetSerializer(securecookie.JSONEncoder{})
	}
	r := httptest.NewRequest("GET", "/", nil)
	s, _ := store.Get(r, name)
	s.Values["a"] = 1
	if err := s.Save(r, httptest.NewRecorder()); err == nil {
		t.Error("CookieStore saved Values as JSON; the package documentation says it cannot")
	}
}

func TestGorillaDuplicateAndMissing(t *testing.T) {
	t.Parallel()
	im := newImporter(t, gorilla.Options{Keys: []gorilla.KeyPair{{Hash: hashKey}}})
	good := mint(t, sessions.NewCookieStore(hashKey), map[any]any{"a": 1})
	r := httptest.NewRequest("GET", "/", nil)
	if vals, found, err := im.Import(r); vals != nil || found || err != nil {
		t.Errorf("no cookie: %v, %v, %v", vals, found, err)
	}
	r.Header.Set("Cookie", "other="+good)
	if vals, found, err := im.Import(r); vals != nil || found || err != nil {
		t.Errorf("other cookie: %v, %v, %v", vals, found, err)
	}
	r.Header.Set("Cookie", name+"="+good+"; "+name+"="+good)
	if vals, found, err := im.Import(r); vals != nil || !found || !errors.Is(err, gorilla.ErrInvalid) {
		t.Errorf("two cookies: %v, %v, %v", vals, found, err)
	}
}

func TestGorillaOptions(t *testing.T) {
	t.Parallel()
	for label, o := range map[string]gorilla.Options{
		"no keys":        {CookieName: name},
		"no name":        {Keys: []gorilla.KeyPair{{Hash: hashKey}}},
		"empty hash":     {CookieName: name, Keys: []gorilla.KeyPair{{Block: blockKey}}},
		"bad block":      {CookieName: name, Keys: []gorilla.KeyPair{{Hash: hashKey, Block: blockKey[:20]}}},
		"bad encoding":   {CookieName: name, Keys: []gorilla.KeyPair{{Hash: hashKey}}, Encoding: 7},
		"negative age":   {CookieName: name, Keys: []gorilla.KeyPair{{Hash: hashKey}}, MaxAge: -time.Second},
		"fractional age": {CookieName: name, Keys: []gorilla.KeyPair{{Hash: hashKey}}, MaxAge: 1500 * time.Millisecond},
		"bad name":       {CookieName: "a;b", Keys: []gorilla.KeyPair{{Hash: hashKey}}},
		"__Host- plain":  {CookieName: "__Host-s", Keys: []gorilla.KeyPair{{Hash: hashKey}}},
		"__Host- path":   {CookieName: "__Host-s", Keys: []gorilla.KeyPair{{Hash: hashKey}}, Secure: true, Path: "/app"},
		"__Secure- ":     {CookieName: "__Secure-s", Keys: []gorilla.KeyPair{{Hash: hashKey}}},
	} {
		if _, err := gorilla.New(o); err == nil {
			t.Errorf("%s: New accepted it", label)
		}
	}
	im := newImporter(t, gorilla.Options{
		Keys: []gorilla.KeyPair{{Hash: hashKey}}, Path: "/app", Domain: "example.com",
		Secure: true, HttpOnly: true, SameSite: http.SameSiteNoneMode,
	})
	want := &http.Cookie{Name: name, Path: "/app", Domain: "example.com", MaxAge: -1, Secure: true, HttpOnly: true, SameSite: http.SameSiteNoneMode}
	if diff := cmp.Diff(want, im.Expire()); diff != "" {
		t.Errorf("Expire (-want +got):\n%s", diff)
	}
	im.Expire().Name = "changed"
	if im.Expire().Name != name {
		t.Error("Expire returned the importer's own cookie")
	}
}

// TestGorillaNoSecrets: errors and every printed form hold no key, cookie
// or value.
func TestGorillaNoSecrets(t *testing.T) {
	t.Parallel()
	const value = "hunter2-in-the-session"
	opts := gorilla.Options{Keys: []gorilla.KeyPair{{hashKey, blockKey}}, CookieName: name}
	im := newImporter(t, opts)
	store := sessions.NewCookieStore(hashKey, blockKey)
	good := mint(t, store, map[any]any{"password": value})
	var outputs []string
	for _, c := range []string{
		flip(good, 10),
		mint(t, store, map[any]any{"password": value, "bad": math.NaN()}),
		mint(t, store, map[any]any{"password": value, 1: value}),
		good[:len(good)/2],
	} {
		_, _, err := importValue(im, c)
		if err == nil {
			t.Fatal("expected an error")
		}
		outputs = append(outputs, err.Error())
	}
	var logged bytes.Buffer
	slog.New(slog.NewJSONHandler(&logged, nil)).Info("x", "opts", opts, "importer", im, "pair", opts.Keys[0])
	slog.New(slog.NewTextHandler(&logged, nil)).Info("x", "opts", opts, "importer", im, "pair", opts.Keys[0])
	j, _ := json.Marshal(opts)
	outputs = append(outputs, logged.String(), string(j))
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%x", "%q"} {
		outputs = append(outputs, fmt.Sprintf(verb, opts), fmt.Sprintf(verb, im), fmt.Sprintf(verb, *im), fmt.Sprintf(verb, opts.Keys))
	}
	for _, out := range outputs {
		for _, s := range []string{string(hashKey[:16]), fmt.Sprintf("%x", hashKey[:8]), string(blockKey[:16]), fmt.Sprintf("%x", blockKey[:8]), value, good[:16]} {
			if strings.Contains(out, s) {
				t.Errorf("output %q contains a secret", out)
			}
		}
	}
}

// flip changes the character at i to another base64url one.
func flip(s string, i int) string {
	b := []byte(s)
	if b[i] == 'A' {
		b[i] = 'B'
	} else {
		b[i] = 'A'
	}
	return string(b)
}

// b64 is securecookie's outer encoding: padded base64url.
func b64(s string) string { return base64.URLEncoding.EncodeToString([]byte(s)) }
