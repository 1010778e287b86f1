package middleware_test

import (
	"cmp"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"
	"time"

	"satchel.dev/keyring"
	"satchel.dev/middleware"
)

// serve runs one request through h, sending cookie, and returns the
// recorder.
func serve(h http.Handler, target, cookie string) *httptest.ResponseRecorder {
	req := httptest.NewRequest("GET", target, nil)
	if cookie != "" {
		req.Header.Set("Cookie", cookie)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

// sessionCookie returns "name=value" of the Set-Cookie in rec.
func sessionCookie(rec *httptest.ResponseRecorder) string {
	c := rec.Result().Cookies()[0]
	return c.Name + "=" + c.Value
}

func ExampleManager_Handler() {
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

	mux := http.NewServeMux()
	mux.HandleFunc("/login", func(w http.ResponseWriter, r *http.Request) {
		s := middleware.Get(r)
		s.Renew() // new session id at login
		s.Set("user", r.URL.Query().Get("user"))
		http.Redirect(w, r, "/", http.StatusSeeOther)
	})
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		user, ok := middleware.Get(r).GetString("user")
		if !ok {
			user = "stranger"
		}
		fmt.Fprintf(w, "Hello, %s!", user)
	})
	h := sessions.Handler(mux)

	login := serve(h, "/login?user=Ada", "")
	setCookie := login.Header().Get("Set-Cookie")
	fmt.Println(setCookie[:strings.IndexByte(setCookie, '=')])
	fmt.Println(setCookie[strings.Index(setCookie, "; Max-Age"):])

	home := serve(h, "/", sessionCookie(login))
	fmt.Println(home.Body.String())
	fmt.Println("Set-Cookie on an unchanged session:", home.Header().Get("Set-Cookie") != "")

	fmt.Println(serve(h, "/", "__Host-session=forged").Body.String())
	// Output:
	// __Host-session
	// ; Max-Age=1209600; Path=/; HttpOnly; Secure; SameSite=Lax
	// Hello, Ada!
	// Set-Cookie on an unchanged session: false
	// Hello, stranger!
}

func ExampleNew() {
	key, _ := keyring.GenerateKey()
	ring, _ := keyring.FromKeys(key)

	// A __Host- cookie cannot be shared with subdomains.
	_, err := middleware.New(ring, middleware.Config{Domain: "example.com"})
	fmt.Println(err)

	// Plain-HTTP development: no Secure attribute, so no __Host- prefix.
	dev, err := middleware.New(ring, middleware.Config{Insecure: true})
	if err != nil {
		log.Fatal(err)
	}
	rec := serve(dev.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		middleware.Get(r).Set("k", 1)
	})), "/", "")
	c := rec.Result().Cookies()[0]
	fmt.Println(c.Name, c.Secure, c.HttpOnly)
	// Output:
	// middleware: invalid config: cookie "__Host-session" has the __Host- prefix, which forbids a Domain
	// session false true
}

func ExampleSession_Flash() {
	key, _ := keyring.GenerateKey()
	ring, _ := keyring.FromKeys(key)
	sessions, _ := middleware.New(ring, middleware.Config{})
	h := sessions.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s := middleware.Get(r)
		if r.URL.Path == "/save" {
			s.Flash("Saved.")
			s.FlashCategory("warning", "Your card expires soon.")
			return
		}
		for _, f := range s.Flashes() {
			fmt.Fprintf(w, "%s: %s\n", cmp.Or(f.Category, "info"), f.Message)
		}
	}))

	cookie := sessionCookie(serve(h, "/save", ""))
	first := serve(h, "/", cookie)
	fmt.Print(first.Body.String())
	// Showing the messages emptied the session, so the response deletes
	// the cookie; a browser would now send none.
	fmt.Println(first.Result().Cookies()[0].MaxAge < 0)
	// Output:
	// info: Saved.
	// warning: Your card expires soon.
	// true
}

func ExampleDecode() {
	type Item struct {
		SKU string `json:"sku"`
		Qty int    `json:"qty"`
	}
	key, _ := keyring.GenerateKey()
	ring, _ := keyring.FromKeys(key)
	sessions, _ := middleware.New(ring, middleware.Config{})
	h := sessions.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s := middleware.Get(r)
		if r.URL.Path == "/add" {
			s.Set("cart", []Item{{"TEA-01", 2}})
			s.Set("order", int64(9007199254740993))
			return
		}
		cart, err := middleware.Decode[[]Item](s, "cart")
		order, _ := s.GetInt64("order")
		fmt.Fprintln(w, cart, err, order)
		_, err = middleware.Decode[[]Item](s, "wishlist")
		fmt.Fprintln(w, err)
	}))
	cookie := sessionCookie(serve(h, "/add", ""))
	io.Copy(stdout{}, serve(h, "/", cookie).Body)
	// Output:
	// [{TEA-01 2}] <nil> 9007199254740993
	// middleware: no such session value: "wishlist"
}

type stdout struct{}

func (stdout) Write(p []byte) (int, error) { fmt.Print(string(p)); return len(p), nil }

// Two Managers with different cookies wrap one handler: a long-lived
// preferences cookie and the login session. Each finds its own session;
// middleware.Get returns the innermost one's.
func ExampleManager_Get() {
	key, _ := keyring.GenerateKey()
	ring, _ := keyring.FromKeys(key)
	prefs, _ := middleware.New(ring, middleware.Config{Name: "__Host-prefs", MaxAge: 365 * 24 * time.Hour})
	login, _ := middleware.New(ring, middleware.Config{})
	h := prefs.Handler(login.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		prefs.Get(r).Set("theme", "dark")
		login.Get(r).Set("user", "ada")
		fmt.Println(middleware.Get(r) == login.Get(r))
	})))
	for _, c := range serve(h, "/", "").Result().Cookies() {
		fmt.Println(c.Name, c.MaxAge)
	}
	// Output:
	// true
	// __Host-session 1209600
	// __Host-prefs 31536000
}

// A "remember me" box at login: the session lives 30 days instead of
// MaxAge's default, within the MaxLifetime the Config allows.
func ExampleSession_SetLifetime() {
	key, _ := keyring.GenerateKey()
	ring, _ := keyring.FromKeys(key)
	sessions, _ := middleware.New(ring, middleware.Config{MaxAge: 24 * time.Hour, MaxLifetime: 30 * 24 * time.Hour})
	h := sessions.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s := middleware.Get(r)
		s.Restart() // a login: new id, fresh lifetime
		s.SetSubject("user-42")
		if r.FormValue("remember") == "on" {
			s.SetLifetime(30 * 24 * time.Hour)
		}
	}))
	fmt.Println(serve(h, "/login", "").Result().Cookies()[0].MaxAge)
	fmt.Println(serve(h, "/login?remember=on", "").Result().Cookies()[0].MaxAge)
	// Output:
	// 86400
	// 2592000
}
