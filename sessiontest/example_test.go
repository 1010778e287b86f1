package sessiontest_test

import (
	"fmt"
	"log"
	"net/http"
	"net/http/httptest"
	"time"

	"satchel.dev/keyring"
	"satchel.dev/middleware"
	"satchel.dev/sessiontest"
)

// The handler under test counts the visits of a signed-in user. The test
// seeds a signed-in request, serves it, and reads back the session the
// response left.
func Example() {
	key, err := keyring.GenerateKey()
	if err != nil {
		log.Fatal(err)
	}
	ring, err := keyring.FromKeys(key)
	if err != nil {
		log.Fatal(err)
	}
	sessions, err := middleware.New(ring, middleware.Config{})
	if err != nil {
		log.Fatal(err)
	}
	app := sessions.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s := sessions.Get(r)
		user, ok := s.GetString("user")
		if !ok {
			http.Error(w, "sign in first", http.StatusUnauthorized)
			return
		}
		n, _ := s.GetInt64("visits")
		s.Set("visits", n+1)
		s.Flash("welcome back")
		fmt.Fprintf(w, "hello, %s", user)
	}))

	req := httptest.NewRequest("GET", "/", nil)
	err = sessiontest.AddSession(req, sessions, func(s *middleware.Session) {
		s.SetSubject("user-7")
		s.Set("user", "ada")
		s.Set("visits", 2)
	})
	if err != nil {
		log.Fatal(err)
	}
	rec := httptest.NewRecorder()
	app.ServeHTTP(rec, req)
	fmt.Println(rec.Code, rec.Body)

	sessiontest.Read(sessions, req, rec.Result(), func(s *middleware.Session) {
		n, _ := s.GetInt64("visits")
		fmt.Println("subject:", s.Subject())
		fmt.Println("visits:", n)
		for _, f := range s.Flashes() {
			fmt.Println("flash:", f.Message)
		}
	})
	// Output:
	// 200 hello, ada
	// subject: user-7
	// visits: 3
	// flash: welcome back
}

// A struct in the session, read back with middleware.Decode, through a
// Manager with a fixed clock.
func ExampleOpen() {
	type profile struct {
		Name  string   `json:"name"`
		Langs []string `json:"langs"`
	}
	key, err := keyring.GenerateKey()
	if err != nil {
		log.Fatal(err)
	}
	ring, err := keyring.FromKeys(key)
	if err != nil {
		log.Fatal(err)
	}
	sessions, err := middleware.New(ring, middleware.Config{
		Now: func() time.Time { return time.Date(2031, 5, 4, 10, 0, 0, 0, time.UTC) },
	})
	if err != nil {
		log.Fatal(err)
	}
	cookies, err := sessiontest.Cookies(sessions, func(s *middleware.Session) {
		s.Set("profile", profile{Name: "Ada", Langs: []string{"en", "fr"}})
	})
	if err != nil {
		log.Fatal(err)
	}
	sessiontest.Open(sessions, cookies, func(s *middleware.Session) {
		p, err := middleware.Decode[profile](s, "profile")
		fmt.Println(p.Name, p.Langs, err)
		fmt.Println("expires:", s.Expires().UTC())
	})
	// Output:
	// Ada [en fr] <nil>
	// expires: 2031-05-18 10:00:00 +0000 UTC
}
