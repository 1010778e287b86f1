package keyring

import (
	"bytes"
	"errors"
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

	// Logger receives one record per reload (Info) and per new failure
	// (Error). Nil means slog.Default(); pass slog.New(slog.DiscardHandler)
	// to silence it. Records hold the path, key ids and the error text,
	// never key material.
	Logger *slog.Logger

	// OnError, if set, is called with each new reload failure (a
	// *FileError or the error of reading the file). A failure that
	// repeats unchanged at the next poll is reported once.
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
// wrong, missing for a moment) never replaces the running Ring: the
// Watcher keeps serving the last good one and reports the error through
// [WatchOptions.OnError] and [WatchOptions.Logger].
//
// The Watcher opens the path anew at every poll and compares the bytes it
// reads, so it follows every way of replacing a file: a rename into place
// (as the rotate package's store does), a Kubernetes Secret or ConfigMap
// volume, whose files are symlinks through a "..data" symlink swapped
// atomically, and an in-place rewrite: a half-written file is refused,
// even one cut at a line boundary, since it lacks the end line that
// closes every keyring file (see [ParseFile]), and the file is picked up
// at the next poll once complete.
//
// A Watcher is safe for concurrent use. Close stops it.
type Watcher struct {
	path string
	opts WatchOptions
	log  *slog.Logger

	cur atomic.Pointer[Ring]

	mu       sync.Mutex // serializes reloads and guards the fields below
	good     []byte     // content of the published Ring
	bad      []byte     // content last refused, to skip parsing it again
	badErr   error      // the error of parsing bad
	lastErr  error      // the current failure, nil when the file is good
	reported string     // text of the last failure reported

	stop      chan struct{}
	done      chan struct{}
	closeOnce sync.Once
}

// NewWatcher loads the keyring file at path and starts polling it. It
// returns an error, and starts nothing, if the first load fails: there is
// no last good Ring to fall back on yet. The error is a [*FileError] naming
// the file, line and field, or the error of reading the file.
func NewWatcher(path string, opts WatchOptions) (*Watcher, error) {
	if opts.Interval < 0 {
		return nil, errors.New("keyring: negative watch interval")
	}
	if opts.Interval == 0 {
		opts.Interval = DefaultWatchInterval
	}
	w := &Watcher{
		path: path,
		opts: opts,
		log:  opts.Logger,
		stop: make(chan struct{}),
		done: make(chan struct{}),
	}
	if w.log == nil {
		w.log = slog.Default()
	}
	r, data, err := loadFile(path)
	if err != nil {
		return nil, err
	}
	w.cur.Store(r)
	w.good = data
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
// runs on the last good Ring.
func (w *Watcher) Err() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.lastErr
}

// Reload reads the file now instead of waiting for the next poll. It
// returns nil if the file holds the published Ring or a new valid one
// (which it publishes), and otherwise the error, which it also reports as
// a poll would. The running Ring is kept on error. It is safe to call
// concurrently with the polling, for example from a SIGHUP handler.
func (w *Watcher) Reload() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.reloadLocked()
}

func (w *Watcher) reloadLocked() error {
	data, err := readFile(w.path)
	if err != nil {
		w.fail(err)
		return err
	}
	if bytes.Equal(data, w.good) {
		w.cleared()
		return nil
	}
	if w.bad != nil && bytes.Equal(data, w.bad) {
		// The same refused content: its own error, not whatever failed
		// in between (a read error), reported again if that changed.
		w.fail(w.badErr)
		return w.badErr
	}
	r, err := ParseFile(data)
	if err != nil {
		err = withFile(err, w.path)
		w.bad, w.badErr = data, err
		w.fail(err)
		return err
	}
	prev := w.cur.Load()
	w.cur.Store(r)
	w.good, w.bad, w.badErr = data, nil, nil
	w.lastErr, w.reported = nil, ""
	w.log.Info("keyring: reloaded", "path", w.path, "primary", r.Primary().ID(), "keys", r.Len())
	if _, ok := r.Lookup(prev.Primary().ID()); !ok {
		// Rotation never does this: the primary is retired, not deleted.
		w.log.Warn("keyring: the new keyring lacks the previous primary key; sessions sealed with it are now refused",
			"path", w.path, "previous", prev.Primary().ID())
	}
	if w.opts.OnReload != nil {
		w.opts.OnReload(r)
	}
	return nil
}

// fail records err and reports it unless the same failure was reported
// last.
func (w *Watcher) fail(err error) {
	w.lastErr = err
	if msg := err.Error(); msg != w.reported {
		w.reported = msg
		w.log.Error("keyring: reload failed; keeping the last good keyring",
			"path", w.path, "primary", w.cur.Load().Primary().ID(), "err", err)
		if w.opts.OnError != nil {
			w.opts.OnError(err)
		}
	}
}

// cleared notes that the file holds the published Ring again.
func (w *Watcher) cleared() {
	if w.lastErr != nil {
		w.log.Info("keyring: file is valid again", "path", w.path)
	}
	w.lastErr, w.reported, w.bad, w.badErr = nil, "", nil, nil
}

func (w *Watcher) loop() {
	defer close(w.done)
	t := time.NewTicker(w.opts.Interval)
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

// Close stops the polling and waits for a reload in progress to finish.
// Current keeps returning the last good Ring afterwards. Close is
// idempotent and always returns nil.
func (w *Watcher) Close() error {
	w.closeOnce.Do(func() { close(w.stop) })
	<-w.done
	return nil
}
