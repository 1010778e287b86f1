package integrations_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"

	satchel "satchel.dev/middleware"
)

func echoApp(sessions *satchel.Manager) http.Handler {
	e := echo.New()
	e.Use(middleware.Recover())
	e.Use(echo.WrapMiddleware(sessions.Handler))
	e.GET("/", func(c echo.Context) error {
		s := sessions.Get(c.Request())
		user, ok := s.GetString("user")
		if !ok {
			return c.String(http.StatusOK, "hello, stranger\n")
		}
		var b strings.Builder
		fmt.Fprintf(&b, "hello, %s\n", user)
		for _, f := range s.Flashes() {
			fmt.Fprintf(&b, "flash: %s\n", f.Message)
		}
		n, _ := s.GetInt64("count")
		fmt.Fprintf(&b, "count: %d\n", n)
		return c.String(http.StatusOK, b.String())
	})
	e.POST("/login", func(c echo.Context) error {
		s := sessions.Get(c.Request())
		s.Renew()
		name := c.FormValue("name")
		s.SetSubject(name)
		s.Set("user", name)
		s.Set("profile", profile{Name: name, Lang: c.FormValue("lang")})
		s.Flash("welcome, " + name)
		return c.Redirect(http.StatusSeeOther, "/")
	})
	e.POST("/count", func(c echo.Context) error {
		s := sessions.Get(c.Request())
		if _, ok := s.GetString("user"); !ok {
			return c.String(http.StatusUnauthorized, "sign in first\n")
		}
		n, _ := s.GetInt64("count")
		s.Set("count", n+1)
		return c.String(http.StatusOK, fmt.Sprintf("count: %d\n", n+1))
	})
	e.GET("/profile", func(c echo.Context) error {
		p, err := satchel.Decode[profile](sessions.Get(c.Request()), "profile")
		if err != nil {
			return c.String(http.StatusUnauthorized, "sign in first\n")
		}
		return c.String(http.StatusOK, fmt.Sprintf("%s likes %s\n", p.Name, p.Lang))
	})
	e.POST("/logout", func(c echo.Context) error {
		sessions.Get(c.Request()).Destroy()
		return c.Redirect(http.StatusSeeOther, "/")
	})
	return e
}

func TestEcho(t *testing.T) {
	t.Parallel()
	runFlow(t, echoApp(newManager(t)))
}
