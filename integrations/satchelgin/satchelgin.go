// Package satchelgin runs satchel's session middleware in a gin router.
//
//	sessions, err := satchel.New(ring, satchel.Config{})
//	if err != nil { ... }
//	r := gin.New()
//	r.Use(satchelgin.Middleware(sessions))
//	r.POST("/login", func(c *gin.Context) {
//		s := sessions.Get(c.Request)
//		s.Renew()
//		s.Set("user", c.PostForm("name"))
//		c.Redirect(http.StatusSeeOther, "/")
//	})
//
// where satchel is satchel.dev/middleware imported under that name.
//
// # Why gin needs an adapter
//
// The session cookie is added to the response headers by the
// ResponseWriter that [middleware.Manager.Handler] passes on, just before
// the headers leave. Gin handlers write through c.Writer, not through the
// http.ResponseWriter of a wrapping net/http middleware, so the obvious
// one-line adapter, which calls Handler with c.Writer and a handler that
// only runs c.Next, never sees the handler's writes: the headers leave
// without the cookie, and the cookie added when the handler returns is
// too late to reach the client. Nothing reports it.
// [Middleware] swaps c.Writer for a gin.ResponseWriter that writes
// through the session middleware's writer, for the rest of the chain.
//
// gin's Engine.HandleContext, which runs the chain again for a rewritten
// path, resets c.Writer to gin's own writer; Middleware, met again in
// that chain, puts its writer back and keeps the request's one session.
package satchelgin

import (
	"bufio"
	"context"
	"io"
	"net"
	"net/http"

	"github.com/gin-gonic/gin"

	"satchel.dev/middleware"
)

// Middleware returns a gin middleware that loads the request's session
// with m, as m.Handler does for net/http: the handlers after it in the
// chain find the session in c.Request's context (m.Get(c.Request)), and
// every write through c.Writer passes through m's response wrapper, so the
// cookie is added before the headers leave. c.Writer and c.Request are
// restored when the chain returns; middleware earlier in the chain sees
// its own. Met again while serving the same request (gin's
// Engine.HandleContext, or Middleware(m) registered twice), it keeps the
// first run's session and writer. It panics if m is nil. The returned
// handler is safe for concurrent use.
func Middleware(m *middleware.Manager) gin.HandlerFunc {
	if m == nil {
		panic("satchelgin: Middleware called with a nil Manager")
	}
	key := runKey{m}
	return func(c *gin.Context) {
		if w, ok := c.Request.Context().Value(key).(*responseWriter); ok {
			// The chain runs again for a request this Middleware already
			// serves: Engine.HandleContext, which reset c.Writer to gin's
			// own writer, or Middleware registered twice. Write through
			// the session writer of the first run again; a second session
			// loaded here would lose the first one's changes.
			c.Writer = w
			c.Next()
			return
		}
		x := &run{c: c, outer: c.Writer, req: c.Request}
		x.w.gin = c.Writer
		ctx := context.WithValue(c.Request.Context(), key, &x.w)
		m.Handler(x).ServeHTTP(c.Writer, c.Request.WithContext(ctx))
	}
}

// runKey is the context key under which a run of Middleware for a Manager
// leaves its writer, for a second run of the chain for the same request.
type runKey struct{ m *middleware.Manager }

// run is one request through Middleware, allocated once.
type run struct {
	c     *gin.Context
	outer gin.ResponseWriter // c.Writer before, restored after
	req   *http.Request      // c.Request before, restored after
	w     responseWriter
}

// ServeHTTP runs the rest of gin's chain inside the session middleware,
// with c.Writer writing through sw, the session middleware's writer.
func (x *run) ServeHTTP(sw http.ResponseWriter, r *http.Request) {
	x.w.session = sw
	x.c.Writer, x.c.Request = &x.w, r
	defer func() { x.c.Writer, x.c.Request = x.outer, x.req }()
	x.c.Next()
}

// responseWriter is the gin.ResponseWriter the chain after [Middleware]
// writes to. Body writes, Flush and Hijack go to session, the session
// middleware's writer, which commits the cookie and then passes them to
// gin, the writer the chain had before; gin keeps the status and size.
//
// WriteHeader keeps gin's meaning: it only records the status, which gin
// sends with the first write or WriteHeaderNow, so the handler may still
// change the session (and the headers) after c.Status.
type responseWriter struct {
	session http.ResponseWriter // the session middleware's writer around gin
	gin     gin.ResponseWriter
}

var _ gin.ResponseWriter = (*responseWriter)(nil)

// Header returns the response headers, shared by both writers.
func (w *responseWriter) Header() http.Header { return w.gin.Header() }

// WriteHeader records the status, as gin's own writer does; nothing is
// sent yet.
func (w *responseWriter) WriteHeader(code int) { w.gin.WriteHeader(code) }

// WriteHeaderNow commits the session with the recorded status and sends
// the headers, unless they were sent already.
func (w *responseWriter) WriteHeaderNow() {
	if w.gin.Written() {
		return
	}
	// The session writer commits the cookie, then calls gin's WriteHeader,
	// which records the same status; gin sends it.
	w.session.WriteHeader(w.gin.Status())
	w.gin.WriteHeaderNow()
}

// Write commits the session and writes p through gin, which sends the
// headers first with the recorded status.
func (w *responseWriter) Write(p []byte) (int, error) { return w.session.Write(p) }

// WriteString is Write for a string.
func (w *responseWriter) WriteString(s string) (int, error) {
	return io.WriteString(w.session, s)
}

// Status returns the response status recorded so far.
func (w *responseWriter) Status() int { return w.gin.Status() }

// Size returns the number of body bytes written, or -1 before the headers
// were sent.
func (w *responseWriter) Size() int { return w.gin.Size() }

// Written reports whether the headers were sent.
func (w *responseWriter) Written() bool { return w.gin.Written() }

// Flush commits the session and flushes the headers and any body.
func (w *responseWriter) Flush() {
	// The session middleware's writer commits, then reaches gin's Flush,
	// which sends the headers first. gin.ResponseWriter's Flush reports
	// no error, and neither can this one.
	_ = http.NewResponseController(w.session).Flush()
}

// Hijack commits the session, so its Set-Cookie is in Header for a
// handler that answers on the raw connection, and hijacks through gin.
func (w *responseWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	return http.NewResponseController(w.session).Hijack()
}

// CloseNotify returns gin's close notification channel.
//
// Deprecated: gin.ResponseWriter requires it; use the request's Context.
func (w *responseWriter) CloseNotify() <-chan bool { return w.gin.CloseNotify() }

// Pusher returns the HTTP/2 server push interface, or nil where the
// connection has none.
func (w *responseWriter) Pusher() http.Pusher { return w.gin.Pusher() }

// Unwrap returns the session middleware's writer, so that
// [http.ResponseController] reaches the connection through both writers.
func (w *responseWriter) Unwrap() http.ResponseWriter { return w.session }
