// Package logbuf is a log sink for tests: a buffer that the goroutines of
// a server under test may write to while the test reads it. The
// middleware's, the importers' and the Redis backend's tests share it.
package logbuf

import (
	"bytes"
	"log/slog"
	"sync"
)

// Buffer collects output from several goroutines. The zero value is
// ready to use; it is safe for concurrent use.
type Buffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

// Write appends p.
func (b *Buffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

// String returns everything written so far.
func (b *Buffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// Logger returns a text logger at debug level that writes to b.
func (b *Buffer) Logger() *slog.Logger {
	return slog.New(slog.NewTextHandler(b, &slog.HandlerOptions{Level: slog.LevelDebug}))
}
