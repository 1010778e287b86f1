package integrations_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/gin-gonic/gin"

	"satchel.dev/integrations/satchelgin"
	satchel "satchel.dev/middleware"
)

func ginApp(sessions *satchel.Manager) http.Handler {
	r := gin.New()
	r.Use(gin.Recovery())
	r.Use(satchelgin.Middleware(sessions))
	r.GET("/", func(c *gin.Context) {
		s := sessions.Get(c.Request)
		user, ok := s.GetString("user")
		if !ok {
			c.String(http.StatusOK, "hello, stranger\n")
			return
		}
		var b strings.Builder
		fmt.Fprintf(&b, "hello, %s\n", user)
		for _, f := range s.Flashes() {
			fmt.Fprintf(&b, "flash: %s\n", f.Message)
		}
		n, _ := s.GetInt64("count")
		fmt.Fprintf(&b, "count: %d\n", n)
		c.String(http.StatusOK, b.String())
	})
	r.POST("/login", func(c *gin.Context) {
		s := sessions.Get(c.Request)
		s.Renew()
		name := c.PostForm("name")
		s.SetSubject(name)
		s.Set("user", name)
		s.Set("profile", profile{Name: name, Lang: c.PostForm("lang")})
		s.Flash("welcome, " + name)
		c.Redirect(http.StatusSeeOther, "/")
	})
	r.POST("/count", func(c *gin.Context) {
		s := sessions.Get(c.Request)
		if _, ok := s.GetString("user"); !ok {
			c.String(http.StatusUnauthorized, "sign in first\n")
			return
		}
		n, _ := s.GetInt64("count")
		s.Set("count", n+1)
		c.String(http.StatusOK, "count: %d\n", n+1)
	})
	r.GET("/profile", func(c *gin.Context) {
		p, err := satchel.Decode[profile](sessions.Get(c.Request), "profile")
		if err != nil {
			c.String(http.StatusUnauthorized, "sign in first\n")
			return
		}
		c.String(http.StatusOK, "%s likes %s\n", p.Name, p.Lang)
	})
	r.POST("/logout", func(c *gin.Context) {
		sessions.Get(c.Request).Destroy()
		c.Redirect(http.StatusSeeOther, "/")
	})
	return r
}

func TestGin(t *testing.T) {
	t.Parallel()
	runFlow(t, ginApp(newManager(t)))
}
