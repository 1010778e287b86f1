package integrations_test

import (
	"net/http"
	"net/url"
	"testing"

	"github.com/labstack/echo/v4"

	satchel "satchel.dev/middleware"
	"satchel.dev/sessiontest"
)

// TestEchoErrorKeepsTheSession checks an echo habit: a handler that
// changes the session and returns an error. echo writes the error page
// after WrapMiddleware has returned, by which time the session middleware
// has put the cookie in the headers, so the page carries it.
func TestEchoErrorKeepsTheSession(t *testing.T) {
	t.Parallel()
	m := newManager(t)
	e := echo.New()
	e.Use(echo.WrapMiddleware(m.Handler))
	e.POST("/order", func(c echo.Context) error {
		m.Get(c.Request()).Flash("out of stock")
		return echo.NewHTTPError(http.StatusConflict, "out of stock")
	})
	b := newBrowser(t, e)
	if st, _ := b.do("POST", "/order", url.Values{}); st != http.StatusConflict {
		t.Fatalf("status %d", st)
	}
	var flashes []satchel.FlashMessage
	sessiontest.Open(m, b.client.Jar.Cookies(b.url), func(s *satchel.Session) { flashes = s.Flashes() })
	if len(flashes) != 1 || flashes[0].Message != "out of stock" {
		t.Errorf("flashes after the error page: %q", flashes)
	}
}
