package satchelgin_test

import (
	"fmt"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/gin-gonic/gin"

	"satchel.dev/integrations/satchelgin"
	"satchel.dev/keyring"
	satchel "satchel.dev/middleware"
	"satchel.dev/sessiontest"
)

func ExampleMiddleware() {
	key, err := keyring.GenerateKey()
	if err != nil {
		log.Fatal(err)
	}
	ring, err := keyring.FromKeys(key)
	if err != nil {
		log.Fatal(err)
	}
	sessions, err := satchel.New(ring, satchel.Config{})
	if err != nil {
		log.Fatal(err)
	}

	r := gin.New()
	r.Use(satchelgin.Middleware(sessions))
	r.POST("/login", func(c *gin.Context) {
		s := sessions.Get(c.Request)
		s.Renew()
		s.SetSubject("user-7")
		s.Set("user", c.PostForm("name"))
		c.Redirect(http.StatusSeeOther, "/")
	})

	req := httptest.NewRequest("POST", "/login", strings.NewReader("name=ada"))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	rec := httptest.NewRecorder()
	r.ServeHTTP(rec, req)
	res := rec.Result()
	// The headers as sent, not the recorder's live map, carry the cookie.
	fmt.Println(res.StatusCode, len(res.Cookies()), res.Cookies()[0].Name)

	sessiontest.Read(sessions, req, res, func(s *satchel.Session) {
		user, _ := s.GetString("user")
		fmt.Println(user, s.Subject())
	})
	// Output:
	// 303 1 __Host-session
	// ada user-7
}
