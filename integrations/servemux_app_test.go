package integrations_test

import (
	"fmt"
	"net/http"
	"testing"

	satchel "satchel.dev/middleware"
)

func serveMuxApp(sessions *satchel.Manager) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
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
	mux.HandleFunc("POST /login", func(w http.ResponseWriter, r *http.Request) {
		s := sessions.Get(r)
		s.Renew()
		name := r.PostFormValue("name")
		s.SetSubject(name)
		s.Set("user", name)
		s.Set("profile", profile{Name: name, Lang: r.PostFormValue("lang")})
		s.Flash("welcome, " + name)
		http.Redirect(w, r, "/", http.StatusSeeOther)
	})
	mux.HandleFunc("POST /count", func(w http.ResponseWriter, r *http.Request) {
		s := sessions.Get(r)
		if _, ok := s.GetString("user"); !ok {
			http.Error(w, "sign in first", http.StatusUnauthorized)
			return
		}
		n, _ := s.GetInt64("count")
		s.Set("count", n+1)
		fmt.Fprintf(w, "count: %d\n", n+1)
	})
	mux.HandleFunc("GET /profile", func(w http.ResponseWriter, r *http.Request) {
		p, err := satchel.Decode[profile](sessions.Get(r), "profile")
		if err != nil {
			http.Error(w, "sign in first", http.StatusUnauthorized)
			return
		}
		fmt.Fprintf(w, "%s likes %s\n", p.Name, p.Lang)
	})
	mux.HandleFunc("POST /logout", func(w http.ResponseWriter, r *http.Request) {
		sessions.Get(r).Destroy()
		http.Redirect(w, r, "/", http.StatusSeeOther)
	})
	return sessions.Handler(mux)
}

func TestServeMux(t *testing.T) {
	t.Parallel()
	runFlow(t, serveMuxApp(newManager(t)))
}
