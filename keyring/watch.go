package keyring

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"
)

// DefaultWatchInterval is the polling interval of a [Watcher] whose
// [WatchOptions.Interval] is zero.
const DefaultWatchInterval = time.Second

// WatchOptions configure a [Watcher]. The zero value polls every
// [DefaultWatchInterval] and reports to [slog.Default].
type WatchOptions struct {
	// Interval is the time between two reads of the file. Zero means
	// DefaultWatchInterval. The slowest a server can pick up a new
	// keyring is Interval plus the time the file takes to reach it (for
	// a Kubernetes Secret, the kubelet's sync period): the rotation
	// policy's Propagation must exceed that.
	Interval time.Duration

	// Logger receives one record per reload (Info), per new failure
	// (Error) and per new warning about the file's mode (Warn). Nil
	// means slog.Default(); pass slog.New(slog.DiscardHandler) to
	// silence it. Records hold the path, key ids and the error text,
	// never key material.
	Logger *slog.Logger

	// OnError, if set, is called with each new reload failure (a
	// *FileError or the error of reading the file) and each new warning
	// wrapping [ErrLoosePermissions]. A report that repeats unchanged at
	// the next poll is made once.
	OnError func(error)

	// OnReload, if set, is called with each new Ring just after it is
	// published.
	OnReload func(*Ring)
}

// Watcher is a [Source] that follows a keyring file: it polls the file and
// publishes each new valid Ring atomically, so [Watcher.Current] always
// returns a complete Ring.
//
// A file that cannot be read or parsed (corrupt, truncated, hand-edited
// wrong, missing for a moment, replaced by a directory or a named pipe)
// never replaces the running Ring: the Watcher keeps serving the last good
// one and reports the error through [Watcher.Err], [WatchOptions.OnError]
// and [WatchOptions.Logger]. A valid file whose mode lets group or others
// read it is loaded and reported the same way, with an error wrapping
// [ErrLoosePermissions] (see [LoadFile] for the rules).
//
// The Watcher opens the path anew at every poll and compares the Ring it
// reads with the one it serves, so it follows every way of replacing a
// file: a rename into place (as the rotate package's store does), a
// Kubernetes Secret or ConfigMap volume, whose files are symlinks through
// a "..data" symlink swapped atomically, and an in-place rewrite: a
// half-written file is refused, even one cut at a line boundary, since it
// lacks the end line that closes every keyring file (see [ParseFile]), and
// the file is picked up at the next poll once complete. It keeps no bytes
// of the file between polls, only the parsed Ring.
//
// # Callbacks and locking
//
// The Watcher never holds its lock while it reads the file or calls a
// callback or the Logger, so [Watcher.Err], [Watcher.Current] and
// [Watcher.Close] answer at once even while a read hangs (a hung network
// mount). Reports are delivered one at a time, in the order they happened,
// on the polling goroutine, on a goroutine calling [Watcher.Reload], or,
// for a warning about the first load, in [NewWatcher].
// OnReload and OnError may call any method of the Watcher, Reload and
// Close included; a report caused from inside a callback is delivered
// after that callback returns.
//
// A Watcher is safe for concurrent use. It prints (with any fmt verb, and
// through slog) as its path and the ids of its current Ring.
type Watcher struct {
	path     string
	interval time.Duration
	log      *slog.Logger
	onError  func(error)
	onReload func(*Ring)
	load     func(path string) (*Ring, error) // LoadFile, except in tests

	cur atomic.Pointer[Ring]

	// mu guards the fields below. It is never held during I/O, nor while
	// a callback or the Logger runs.
	mu         sync.Mutex
	started    uint64   // reloads begun
	applied    uint64   // the number of the latest reload whose result was applied
	lastErr    error    // the current failure or warning, nil when the file is good
	reported   string   // text of the last failure or warning reported
	closed     bool     // Close was called: publish and report nothing more
	queue      []func() // reports waiting for delivery, oldest first
	delivering bool     // a goroutine is delivering the queue

	stop      chan struct{}
	closeOnce sync.Once
}

// NewWatcher loads the keyring file at path and starts polling it. It
// returns an error, and starts nothing, if the first load fails: there is
// no last good Ring to fall back on yet. The error is one of [LoadFile]'s.
// A file whose mode is too open is loaded, and the warning is reported
// through the Logger, OnError and [Watcher.Err].
func NewWatcher(path string, opts WatchOptions) (*Watcher, error) {
	return newWatcher(path, opts, LoadFile)
}

func newWatcher(path string, opts WatchOptions, load func(string) (*Ring, error)) (*Watcher, error) {
	if opts.Interval < 0 {
		return nil, errors.New("keyring: negative watch interval")
	}
	if opts.Interval == 0 {
		opts.Interval = DefaultWatchInterval
	}
	w := &Watcher{
		path:     path,
		interval: opts.Interval,
		log:      opts.Logger,
		onError:  opts.OnError,
		onReload: opts.OnReload,
		load:     load,
		stop:     make(chan struct{}),
	}
	if w.log == nil {
		w.log = slog.Default()
	}
	r, err := load(path)
	if r == nil {
		return nil, err
	}
	w.cur.Store(r)
	if err != nil {
		w.mu.Lock()
		w.noteLocked(err)
		w.mu.Unlock()
		w.deliver()
	}
	go w.loop()
	return w, nil
}

// Current returns the last good Ring. It never returns nil and is safe for
// concurrent use; it costs one atomic load.
func (w *Watcher) Current() *Ring { return w.cur.Load() }

// Path returns the path of the watched file.
func (w *Watcher) Path() string { return w.path }

// Err returns the error of the last poll, or nil if the file held a valid
// keyring then. It suits a health check: while Err is not nil the server
// runs on the last good Ring, except for an error wrapping
// [ErrLoosePermissions], which means the Ring is current but the file's
// mode lets others read the keys. Err never waits for the file system.
func (w *Watcher) Err() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.lastErr
}

// Reload reads the file now instead of waiting for the next poll. It
// returns nil if the file holds the published Ring or a new valid one
// (which it publishes), the [ErrLoosePermissions] warning if that file's
// mode is too open, and otherwise the error, which it also reports as a
// poll would. The running Ring is kept on error. It is safe to call
// concurrently with the polling, for example from a SIGHUP handler; it
// blocks as long as reading the file does.
//
// When two reloads overlap, the result of the one that started last wins:
// an earlier read that finishes later is returned to its caller but
// neither published nor reported. After Close, Reload still reads the file
// and returns the result, but publishes and reports nothing.
func (w *Watcher) Reload() error {
	w.mu.Lock()
	w.started++
	seq := w.started
	w.mu.Unlock()

	r, err := w.load(w.path) // no lock held: the read may take any time

	w.mu.Lock()
	if w.closed || seq < w.applied {
		w.mu.Unlock()
		return err
	}
	w.applied = seq
	if r != nil {
		prev := w.cur.Load()
		if !sameRing(prev, r) {
			w.cur.Store(r)
			w.queue = append(w.queue, func() { w.reloaded(prev, r) })
		}
	}
	if err != nil {
		w.noteLocked(err)
	} else if w.lastErr != nil {
		w.lastErr, w.reported = nil, ""
		w.queue = append(w.queue, func() { w.log.Info("keyring: file is valid again", "path", w.path) })
	}
	w.mu.Unlock()
	w.deliver()
	return err
}

// reloaded reports that r replaced prev.
func (w *Watcher) reloaded(prev, r *Ring) {
	w.log.Info("keyring: reloaded", "path", w.path, "primary", r.Primary().ID(), "keys", r.Len())
	if _, ok := r.Lookup(prev.Primary().ID()); !ok {
		// Rotation never does this: the primary is retired, not deleted.
		w.log.Warn("keyring: the new keyring lacks the previous primary key; sessions sealed with it are now refused",
			"path", w.path, "previous", prev.Primary().ID())
	}
	if w.onReload != nil {
		w.onReload(r)
	}
}

// noteLocked records err as the current failure or warning and queues its
// report, unless the same one was reported last. w.mu is held.
func (w *Watcher) noteLocked(err error) {
	w.lastErr = err
	msg := err.Error()
	if msg == w.reported {
		return
	}
	w.reported = msg
	primary := w.cur.Load().Primary().ID()
	w.queue = append(w.queue, func() {
		if errors.Is(err, ErrLoosePermissions) {
			w.log.Warn("keyring: the keyring file's mode lets others read the keys", "path", w.path, "primary", primary, "err", err)
		} else {
			w.log.Error("keyring: reload failed; keeping the last good keyring", "path", w.path, "primary", primary, "err", err)
		}
		if w.onError != nil {
			w.onError(err)
		}
	})
}

// deliver runs the queued reports one at a time, outside the lock. A
// goroutine that finds another one delivering leaves its reports to it,
// so reports keep their order and a callback that causes a report (by
// calling Reload) does not wait for itself.
func (w *Watcher) deliver() {
	w.mu.Lock()
	if w.delivering {
		w.mu.Unlock()
		return
	}
	w.delivering = true
	defer func() {
		w.delivering = false
		w.mu.Unlock()
	}()
	for len(w.queue) > 0 {
		report := w.queue[0]
		w.queue[0] = nil
		w.queue = w.queue[1:]
		w.mu.Unlock()
		func() {
			// Relock even if the report panics, so the deferred reset
			// above runs with the lock held.
			defer w.mu.Lock()
			report()
		}()
	}
}

func (w *Watcher) loop() {
	t := time.NewTicker(w.interval)
	defer t.Stop()
	for {
		select {
		case <-w.stop:
			return
		case <-t.C:
			w.Reload()
		}
	}
}

// Close stops the polling and returns at once: it does not wait for a
// read in progress, which may be blocked by the file system. Nothing is
// published or reported after Close, except a report whose delivery had
// already begun. Current keeps returning the last good Ring. Close is
// idempotent, may be called from a callback, and always returns nil.
func (w *Watcher) Close() error {
	w.mu.Lock()
	w.closed = true
	w.queue = nil
	w.mu.Unlock()
	w.closeOnce.Do(func() { close(w.stop) })
	return nil
}

// String describes the Watcher by its path and current Ring: ids and
// states, never key material.
func (w *Watcher) String() string {
	if w == nil {
		return "keyring.Watcher(nil)"
	}
	return fmt.Sprintf("keyring.Watcher{%q: %s}", w.path, w.cur.Load())
}

// Format implements [fmt.Formatter]: every verb prints [Watcher.String].
func (w *Watcher) Format(f fmt.State, verb rune) { io.WriteString(f, w.String()) }

// LogValue implements [slog.LogValuer]: a Watcher logs as
// [Watcher.String].
func (w *Watcher) LogValue() slog.Value { return slog.StringValue(w.String()) }
