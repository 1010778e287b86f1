package satchelgin_test

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gin-gonic/gin"

	"satchel.dev/integrations/satchelgin"
	"satchel.dev/keyring"
	satchel "satchel.dev/middleware"
)

func TestMain(m *testing.M) {
	gin.SetMode(gin.TestMode)
	m.Run()
}

func benchRing(tb testing.TB) *keyring.Ring {
	tb.Helper()
	key, err := keyring.GenerateKey()
	if err != nil {
		tb.Fatal(err)
	}
	ring, err := keyring.FromKeys(key)
	if err != nil {
		tb.Fatal(err)
	}
	return ring
}

func newManager(t *testing.T, cfg satchel.Config) *satchel.Manager {
	t.Helper()
	ring := benchRing(t)
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelWarn}))
	}
	m, err := satchel.New(ring, cfg)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// naive is the one-line adapter a new user writes first. It hands the
// session middleware c.Writer, but the gin handlers keep writing through
// c.Writer itself, never through the wrapper the middleware passes to
// its handler, so the middleware adds its cookie only when the chain has
// returned: after the response headers were sent.
func naive(m *satchel.Manager) gin.HandlerFunc {
	return func(c *gin.Context) {
		m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			c.Request = r
			c.Next()
		})).ServeHTTP(c.Writer, c.Request)
	}
}

// loginEngine answers POST /login by storing a user and writing a body,
// and GET /whoami with the stored user.
func loginEngine(m *satchel.Manager, adapter gin.HandlerFunc) *gin.Engine {
	r := gin.New()
	r.Use(adapter)
	r.POST("/login", func(c *gin.Context) {
		m.Get(c.Request).Set("user", "ada")
		c.String(http.StatusOK, "welcome")
	})
	r.GET("/whoami", func(c *gin.Context) {
		user, _ := m.Get(c.Request).GetString("user")
		c.String(http.StatusOK, "user=%s", user)
	})
	return r
}

// server serves h over TLS on loopback; its client follows no redirects
// and keeps no cookies, so each test sees exactly what went on the wire.
func server(t *testing.T, h http.Handler) (*httptest.Server, *http.Client) {
	t.Helper()
	srv := httptest.NewTLSServer(h)
	t.Cleanup(srv.Close)
	c := srv.Client()
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return srv, c
}

// call sends a request carrying cookies and returns the response with its
// body read.
func call(t *testing.T, c *http.Client, method, url string, cookies ...*http.Cookie) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest(method, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, ck := range cookies {
		req.AddCookie(ck)
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, string(b)
}

// sessionCookie returns the session cookie resp set, or nil.
func sessionCookie(resp *http.Response) *http.Cookie {
	for _, c := range resp.Cookies() {
		if c.Name == satchel.DefaultName {
			return c
		}
	}
	return nil
}

// TestNaiveAdapterLosesTheWrite documents why gin needs Middleware: with
// the naive adapter the login's Set-Cookie never reaches the client, and
// a ResponseRecorder hides that, because its Header() is the live map the
// cookie was added to after the headers were sent.
func TestNaiveAdapterLosesTheWrite(t *testing.T) {
	t.Parallel()
	m := newManager(t, satchel.Config{})

	srv, client := server(t, loginEngine(m, naive(m)))
	resp, body := call(t, client, "POST", srv.URL+"/login")
	if resp.StatusCode != 200 || body != "welcome" {
		t.Fatalf("login: %d %q", resp.StatusCode, body)
	}
	if len(resp.Header.Values("Set-Cookie")) != 0 {
		t.Fatalf("the naive adapter's login sent Set-Cookie %d times; this test documents that it sends none",
			len(resp.Header.Values("Set-Cookie")))
	}

	rec := httptest.NewRecorder()
	loginEngine(m, naive(m)).ServeHTTP(rec, httptest.NewRequest("POST", "/login", nil))
	if !strings.HasPrefix(rec.Header().Get("Set-Cookie"), satchel.DefaultName+"=") {
		t.Errorf("recorder's live header map lacks the late cookie: %q", rec.Header().Get("Set-Cookie"))
	}
	if got := rec.Result().Header.Values("Set-Cookie"); len(got) != 0 {
		t.Errorf("recorder's sent headers carry Set-Cookie %d times, want 0", len(got))
	}
}

func TestMiddlewareKeepsTheWrite(t *testing.T) {
	t.Parallel()
	m := newManager(t, satchel.Config{})
	srv, client := server(t, loginEngine(m, satchelgin.Middleware(m)))

	resp, body := call(t, client, "POST", srv.URL+"/login")
	ck := sessionCookie(resp)
	if resp.StatusCode != 200 || body != "welcome" || ck == nil {
		t.Fatalf("login: %d %q, session cookie %v", resp.StatusCode, body, ck != nil)
	}
	if !ck.Secure || !ck.HttpOnly || ck.SameSite != http.SameSiteLaxMode || ck.MaxAge <= 0 {
		t.Errorf("cookie attributes: secure %v httponly %v samesite %v maxage %d", ck.Secure, ck.HttpOnly, ck.SameSite, ck.MaxAge)
	}
	if _, body := call(t, client, "GET", srv.URL+"/whoami", ck); body != "user=ada" {
		t.Errorf("whoami with the cookie: %q", body)
	}

	rec := httptest.NewRecorder()
	loginEngine(m, satchelgin.Middleware(m)).ServeHTTP(rec, httptest.NewRequest("POST", "/login", nil))
	if got := rec.Result().Header.Get("Set-Cookie"); !strings.HasPrefix(got, satchel.DefaultName+"=") {
		t.Errorf("recorder's sent headers lack the cookie: %q", got)
	}
}

// TestWriterMethods checks gin.ResponseWriter's methods through the
// swapped writer, in a handler that also changes the session after
// c.Status, which in gin does not send the headers yet.
func TestWriterMethods(t *testing.T) {
	t.Parallel()
	m := newManager(t, satchel.Config{})
	r := gin.New()
	// The handlers run on the server's goroutines; mu orders their
	// findings before the test reads them.
	var mu sync.Mutex
	var outerSame bool
	r.Use(func(c *gin.Context) {
		before := c.Writer
		c.Next()
		mu.Lock()
		outerSame = c.Writer == before && satchel.FromContext(c.Request.Context()) == nil
		mu.Unlock()
	})
	r.Use(satchelgin.Middleware(m))
	var problems []string
	check := func(ok bool, format string, args ...any) {
		if !ok {
			mu.Lock()
			problems = append(problems, fmt.Sprintf(format, args...))
			mu.Unlock()
		}
	}
	r.POST("/status", func(c *gin.Context) {
		w := c.Writer
		s := m.Get(c.Request)
		s.Set("a", 1)
		c.Status(http.StatusCreated)
		check(w.Status() == 201, "Status %d after c.Status(201)", w.Status())
		check(!w.Written() && w.Size() == -1, "after c.Status: Written %v Size %d", w.Written(), w.Size())
		s.Set("b", 2) // still in time: gin sends the status later
		w.WriteHeaderNow()
		check(w.Written() && w.Size() == 0, "after WriteHeaderNow: Written %v Size %d", w.Written(), w.Size())
		n, err := w.WriteString("abc")
		check(n == 3 && err == nil, "WriteString: %d %v", n, err)
		n, err = w.Write([]byte("de"))
		check(n == 2 && err == nil, "Write: %d %v", n, err)
		check(w.Size() == 5, "Size %d after 5 bytes", w.Size())
		_, _, err = w.Hijack()
		check(err != nil, "Hijack after the body was written succeeded")
		check(w.CloseNotify() != nil, "CloseNotify returned nil")
		check(w.Pusher() == nil, "Pusher over HTTP/1.1 is not nil")
		rc := http.NewResponseController(w)
		check(rc.SetWriteDeadline(time.Now().Add(time.Minute)) == nil, "SetWriteDeadline through the writer failed")
	})
	r.GET("/read", func(c *gin.Context) {
		s := m.Get(c.Request)
		a, _ := s.GetInt64("a")
		b, _ := s.GetInt64("b")
		c.String(http.StatusOK, "a=%d b=%d", a, b)
	})
	srv, client := server(t, r)
	resp, body := call(t, client, "POST", srv.URL+"/status")
	mu.Lock()
	for _, p := range problems {
		t.Error(p)
	}
	mu.Unlock()
	ck := sessionCookie(resp)
	if resp.StatusCode != 201 || body != "abcde" || ck == nil {
		t.Fatalf("got %d %q, cookie %v", resp.StatusCode, body, ck != nil)
	}
	if _, body := call(t, client, "GET", srv.URL+"/read", ck); body != "a=1 b=2" {
		t.Errorf("session after c.Status then Set: %q", body)
	}
	mu.Lock()
	defer mu.Unlock()
	if !outerSame {
		t.Error("the middleware before satchelgin did not get its own c.Writer and c.Request back")
	}
}

func TestPusherOverHTTP2(t *testing.T) {
	t.Parallel()
	m := newManager(t, satchel.Config{})
	r := gin.New()
	r.Use(satchelgin.Middleware(m))
	r.GET("/", func(c *gin.Context) {
		c.String(http.StatusOK, "%s pusher=%v", c.Request.Proto, c.Writer.Pusher() != nil)
	})
	srv := httptest.NewUnstartedServer(r)
	srv.EnableHTTP2 = true
	srv.StartTLS()
	t.Cleanup(srv.Close)
	if _, body := call(t, srv.Client(), "GET", srv.URL+"/"); body != "HTTP/2.0 pusher=true" {
		t.Errorf("got %q", body)
	}
}

// TestFlushSendsTheCookie checks that a Flush before the body carries the
// cookie: the client reads the response headers while the handler is
// still waiting, so they cannot have come from the handler's end.
func TestFlushSendsTheCookie(t *testing.T) {
	t.Parallel()
	m := newManager(t, satchel.Config{})
	headersSeen := make(chan struct{})
	r := gin.New()
	r.Use(satchelgin.Middleware(m))
	r.GET("/stream", func(c *gin.Context) {
		m.Get(c.Request).Set("streamed", true)
		c.Writer.Flush()
		select {
		case <-headersSeen:
		case <-c.Request.Context().Done():
			return
		}
		c.Writer.WriteString("done")
	})
	srv, client := server(t, r)
	resp, err := client.Get(srv.URL + "/stream")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	ck := sessionCookie(resp)
	close(headersSeen)
	b, _ := io.ReadAll(resp.Body)
	if ck == nil || string(b) != "done" {
		t.Errorf("flushed headers: cookie %v, body %q", ck != nil, b)
	}
}

// TestHijackSeesTheCookie checks that Hijack commits the session first,
// so a handler answering on the raw connection finds the Set-Cookie in
// the header map.
func TestHijackSeesTheCookie(t *testing.T) {
	t.Parallel()
	m := newManager(t, satchel.Config{})
	r := gin.New()
	r.Use(satchelgin.Middleware(m))
	r.GET("/raw", func(c *gin.Context) {
		m.Get(c.Request).Set("raw", true)
		conn, rw, err := c.Writer.Hijack()
		if err != nil {
			c.String(http.StatusInternalServerError, "hijack: %v", err)
			return
		}
		defer conn.Close()
		fmt.Fprintf(rw, "HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 6\r\n")
		c.Writer.Header().Write(rw)
		fmt.Fprintf(rw, "\r\nraw ok")
		rw.Flush()
	})
	srv, client := server(t, r)
	resp, body := call(t, client, "GET", srv.URL+"/raw")
	if resp.StatusCode != 200 || body != "raw ok" || sessionCookie(resp) == nil {
		t.Errorf("hijacked response: %d %q, cookie %v", resp.StatusCode, body, sessionCookie(resp) != nil)
	}
}

// TestTooLargeIsLoud checks that a session too large for a cookie gives
// the session middleware's error response through gin, and that gin's
// writer knows the response was written.
func TestTooLargeIsLoud(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	var reported []error
	m := newManager(t, satchel.Config{ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
		mu.Lock()
		reported = append(reported, err)
		mu.Unlock()
		http.Error(w, "session full", http.StatusRequestEntityTooLarge)
	}})
	r := gin.New()
	var written bool
	var status int
	r.Use(func(c *gin.Context) {
		c.Next()
		mu.Lock()
		written, status = c.Writer.Written(), c.Writer.Status()
		mu.Unlock()
	})
	r.Use(satchelgin.Middleware(m))
	r.GET("/big", func(c *gin.Context) {
		m.Get(c.Request).Set("big", strings.Repeat("x", 5000))
		c.String(http.StatusOK, "saved")
	})
	srv, client := server(t, r)
	resp, body := call(t, client, "GET", srv.URL+"/big")
	if resp.StatusCode != 413 || body != "session full\n" || sessionCookie(resp) != nil {
		t.Errorf("got %d %q, cookie %v", resp.StatusCode, body, sessionCookie(resp) != nil)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(reported) != 1 || !errors.Is(reported[0], satchel.ErrTooLarge) {
		t.Errorf("reported %v", reported)
	}
	if !written || status != 413 {
		t.Errorf("gin's writer: written %v status %d", written, status)
	}
}

// TestLateChangeIsReported checks that a change after WriteHeaderNow is
// reported rather than lost in silence.
func TestLateChangeIsReported(t *testing.T) {
	t.Parallel()
	late := make(chan error, 1)
	m := newManager(t, satchel.Config{ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
		late <- err
	}})
	r := gin.New()
	r.Use(satchelgin.Middleware(m))
	r.GET("/late", func(c *gin.Context) {
		c.Status(http.StatusNoContent)
		c.Writer.WriteHeaderNow()
		m.Get(c.Request).Set("late", true)
	})
	srv, client := server(t, r)
	resp, _ := call(t, client, "GET", srv.URL+"/late")
	if resp.StatusCode != 204 || sessionCookie(resp) != nil {
		t.Errorf("got %d, cookie %v", resp.StatusCode, sessionCookie(resp) != nil)
	}
	select {
	case err := <-late:
		if !errors.Is(err, satchel.ErrLateChange) {
			t.Errorf("reported %v", err)
		}
	default:
		t.Error("the late change was not reported")
	}
}

// TestNotFoundPassesThrough checks gin's own 404 answer with the
// middleware installed globally.
func TestNotFoundPassesThrough(t *testing.T) {
	t.Parallel()
	r := gin.New()
	r.Use(satchelgin.Middleware(newManager(t, satchel.Config{})))
	srv, client := server(t, r)
	resp, body := call(t, client, "GET", srv.URL+"/nowhere")
	if resp.StatusCode != 404 || body != "404 page not found" {
		t.Errorf("got %d %q", resp.StatusCode, body)
	}
}

func TestMiddlewareNilManagerPanics(t *testing.T) {
	t.Parallel()
	defer func() {
		if v := recover(); v == nil || !strings.HasPrefix(fmt.Sprint(v), "satchelgin:") {
			t.Errorf("recovered %v", v)
		}
	}()
	satchelgin.Middleware(nil)
}

// TestCloseNotify checks that CloseNotify, reached through the swapped
// writer, fires when the client goes away mid-response.
func TestCloseNotify(t *testing.T) {
	t.Parallel()
	m := newManager(t, satchel.Config{})
	closed := make(chan bool, 1)
	r := gin.New()
	r.Use(satchelgin.Middleware(m))
	r.GET("/wait", func(c *gin.Context) {
		m.Get(c.Request).Set("waiting", true)
		c.Writer.Flush()
		select {
		case <-c.Writer.CloseNotify():
			closed <- true
		case <-time.After(10 * time.Second): // a bound for a broken build, not a wait
			closed <- false
		}
	})
	srv, client := server(t, r)
	resp, err := client.Get(srv.URL + "/wait")
	if err != nil {
		t.Fatal(err)
	}
	if sessionCookie(resp) == nil {
		t.Error("the flushed headers carry no session cookie")
	}
	resp.Body.Close() // before the end of the body: the connection closes
	if !<-closed {
		t.Error("CloseNotify did not fire when the client left")
	}
}
