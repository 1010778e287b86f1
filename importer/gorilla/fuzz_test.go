package gorilla_test

import (
	"encoding/json"
	"fmt"
	"math"
	"net/http/httptest"
	"sync"
	"testing"

	"github.com/gorilla/sessions"

	"satchel.dev/importer/gorilla"
)

// FuzzGorillaCookie differential-tests the importer against the real
// CookieStore on any cookie value: whatever the importer adopts, gorilla
// accepts too, with the same values.
func FuzzGorillaCookie(f *testing.F) {
	store := sessions.NewCookieStore(hashKey, blockKey)
	good := mintF(f, store, map[any]any{"user": "ada", "n": 3})
	for _, seed := range []string{good, good[:len(good)/2], flip(good, 5), "", "MTIzfGFiY3w=", b64("1|2|3")} {
		f.Add(seed)
	}
	im, err := gorilla.New(gorilla.Options{Keys: []gorilla.KeyPair{{hashKey, blockKey}}, CookieName: name})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, value string) {
		vals, found, err := im.Import(reqWith(value))
		if err != nil || !found {
			if vals != nil {
				t.Fatal("values returned with an error or without a cookie")
			}
			return
		}
		s, gerr := store.Get(reqWith(value), name)
		if gerr != nil || s.IsNew {
			t.Fatalf("adopted a cookie gorilla refuses: %v", gerr)
		}
		if len(s.Values) != len(vals) {
			t.Fatalf("%d values, gorilla has %d", len(vals), len(s.Values))
		}
		for k, v := range s.Values {
			want, _ := json.Marshal(v)
			if got := vals[k.(string)]; string(got.(json.RawMessage)) != string(want) {
				t.Fatalf("value %q: %s, gorilla's is %s", k, got, want)
			}
		}
	})
}

func mintF(f *testing.F, store *sessions.CookieStore, vals map[any]any) string {
	r := httptest.NewRequest("GET", "/", nil)
	s, _ := store.Get(r, name)
	for k, v := range vals {
		s.Values[k] = v
	}
	w := httptest.NewRecorder()
	if err := s.Save(r, w); err != nil {
		f.Fatal(err)
	}
	return w.Result().Cookies()[0].Value
}

// TestGorillaConcurrent imports from many goroutines at once (run with
// -race): securecookie's codecs and the importer keep no per-call state.
func TestGorillaConcurrent(t *testing.T) {
	t.Parallel()
	store := sessions.NewCookieStore(hashKey, blockKey)
	good := mint(t, store, map[any]any{"user": "ada", "ratio": math.Pi})
	bad := flip(good, 12)
	im := newImporter(t, gorilla.Options{Keys: []gorilla.KeyPair{{[]byte("first, unused"), nil}, {hashKey, blockKey}}})
	var wg sync.WaitGroup
	errs := make(chan string, 16)
	for i := range 16 {
		wg.Go(func() {
			c := good
			if i%2 == 1 {
				c = bad
			}
			for range 50 {
				if _, _, err := importValue(im, c); (err == nil) != (i%2 == 0) {
					errs <- fmt.Sprintf("goroutine %d: error %v", i, err)
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
}
