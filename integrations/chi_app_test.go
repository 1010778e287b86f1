package integrations_test

import (
	"fmt"
	"net/http"
	"testing"

	"github.com/go-chi/chi/v5"
	"github.com/go-chi/chi/v5/middleware"

	satchel "satchel.dev/middleware"
)

func chiApp(sessions *satchel.Manager) http.Handler {
	r := chi.NewRouter()
	r.Use(middleware.Recoverer)
	r.Use(sessions.Handler)
	r.Get("/", func(w http.ResponseWriter, r *http.Request) {
		s := sessions.Get(r)
		user, ok := s.GetString("user")
		if !ok {
			fmt.Fprintln(w, "hello, stranger")
			return
		}
		flashes := s.Flashes() // change the session before the first write
		fmt.Fprintf(w, "hello, %s\n", user)
		for _, f := range flashes {
			fmt.Fprintf(w, "flash: %s\n", f.Message)
		}
		n, _ := s.GetInt64("count")
		fmt.Fprintf(w, "count: %d\n", n)
	})
	r.Post("/login", func(w http.ResponseWriter, r *http.Request) {
		s := sessions.Get(r)
		s.Renew()
		name := r.PostFormValue("name")
		s.SetSubject(name)
		s.Set("user", name)
		s.Set("profile", profile{Name: name, Lang: r.PostFormValue("lang")})
		s.Flash("welcome, " + name)
		http.Redirect(w, r, "/", http.StatusSeeOther)
	})
	r.Post("/count", func(w http.ResponseWriter, r *http.Request) {
		s := sessions.Get(r)
		if _, ok := s.GetString("user"); !ok {
			http.Error(w, "sign in first", http.StatusUnauthorized)
			return
		}
		n, _ := s.GetInt64("count")
		s.Set("count", n+1)
		fmt.Fprintf(w, "count: %d\n", n+1)
	})
	r.Get("/profile", func(w http.ResponseWriter, r *http.Request) {
		p, err := satchel.Decode[profile](sessions.Get(r), "profile")
		if err != nil {
			http.Error(w, "sign in first", http.StatusUnauthorized)
			return
		}
		fmt.Fprintf(w, "%s likes %s\n", p.Name, p.Lang)
	})
	r.Post("/logout", func(w http.ResponseWriter, r *http.Request) {
		sessions.Get(r).Destroy()
		http.Redirect(w, r, "/", http.StatusSeeOther)
	})
	return r
}

func TestChi(t *testing.T) {
	t.Parallel()
	runFlow(t, chiApp(newManager(t)))
}
