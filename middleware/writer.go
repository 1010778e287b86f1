package middleware

import (
	"bufio"
	"io"
	"net"
	"net/http"
)

// responseWriter adds the session's cookie to the headers just before they
// leave: on the first Write, a WriteHeader with a final status, Flush,
// ReadFrom or Hijack, or when the handler returns. It never buffers the
// body. Unwrap exposes the underlying writer to http.ResponseController
// for the features it does not intercept (deadlines, full duplex).
type responseWriter struct {
	http.ResponseWriter
	r *http.Request
	s *Session

	committed bool // the cookie decision is made; later changes are late
	replaced  bool // the ErrorHandler answered instead of the handler
	hijacked  bool

	// Backing arrays for the first value of each header commit adds, so
	// that the usual response (one cookie, no Vary or Cache-Control from
	// the handler) costs no slice allocation; see addValue.
	setCookie, vary, cacheControl [1]string
	legacyCookie                  [1]string
}

// commit runs the session's save once. It is called only from the
// goroutine that writes the response, as net/http requires.
func (w *responseWriter) commit() {
	if w.committed {
		return
	}
	w.committed = true
	err := w.s.m.commit(w)
	if err == nil {
		return
	}
	ew := &errorWriter{ResponseWriter: w.ResponseWriter}
	w.s.m.handleError(ew, w.r, err)
	w.replaced = ew.wrote
}

// finish commits a session that the handler never wrote a response for.
func (w *responseWriter) finish() {
	if !w.hijacked {
		w.commit()
	}
}

// WriteHeader commits the session for a final status (2xx to 5xx, and 101,
// which ends the HTTP exchange) and passes informational ones such as 103
// Early Hints straight through, without committing.
func (w *responseWriter) WriteHeader(code int) {
	if code < 100 || code > 199 || code == http.StatusSwitchingProtocols {
		w.commit()
	}
	if w.replaced {
		return
	}
	w.ResponseWriter.WriteHeader(code)
}

// Write commits the session and writes p.
func (w *responseWriter) Write(p []byte) (int, error) {
	w.commit()
	if w.replaced {
		return 0, errReplaced
	}
	return w.ResponseWriter.Write(p)
}

// WriteString commits the session and writes s without copying it when
// the underlying writer can.
func (w *responseWriter) WriteString(s string) (int, error) {
	w.commit()
	if w.replaced {
		return 0, errReplaced
	}
	return io.WriteString(w.ResponseWriter, s)
}

// ReadFrom commits the session and copies src, through the underlying
// writer's ReadFrom (sendfile) when it has one.
func (w *responseWriter) ReadFrom(src io.Reader) (int64, error) {
	w.commit()
	if w.replaced {
		return 0, errReplaced
	}
	if rf, ok := w.ResponseWriter.(io.ReaderFrom); ok {
		return rf.ReadFrom(src)
	}
	return io.Copy(writerOnly{w.ResponseWriter}, src)
}

// Flush commits the session and flushes, so a Flush before the first Write
// still carries the cookie. It implements [http.Flusher].
func (w *responseWriter) Flush() { w.FlushError() }

// FlushError is Flush that reports failure; [http.ResponseController]
// calls it.
func (w *responseWriter) FlushError() error {
	w.commit()
	return http.NewResponseController(w.ResponseWriter).Flush()
}

// Hijack commits the session, so the Set-Cookie header is in Header() for
// a handler that writes its own response on the connection, and hijacks.
// It implements [http.Hijacker] and returns an error wrapping
// [http.ErrNotSupported] when the underlying writer cannot hijack.
func (w *responseWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	w.commit()
	if w.replaced {
		return nil, nil, errReplaced
	}
	c, rw, err := http.NewResponseController(w.ResponseWriter).Hijack()
	if err == nil {
		w.hijacked = true
	}
	return c, rw, err
}

// Unwrap returns the underlying ResponseWriter, for
// [http.ResponseController].
func (w *responseWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// writerOnly hides every method but Write, so io.Copy cannot loop back
// into ReadFrom.
type writerOnly struct{ io.Writer }

// errorWriter records whether the ErrorHandler wrote a response.
type errorWriter struct {
	http.ResponseWriter
	wrote bool
}

func (e *errorWriter) WriteHeader(code int) {
	e.wrote = true
	e.ResponseWriter.WriteHeader(code)
}

func (e *errorWriter) Write(p []byte) (int, error) {
	e.wrote = true
	return e.ResponseWriter.Write(p)
}

func (e *errorWriter) Unwrap() http.ResponseWriter { return e.ResponseWriter }
