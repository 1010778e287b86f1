package rotate

import (
	"context"
	"errors"
	"io/fs"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"satchel.dev/keyring"
)

// Options configure a [Rotator]. Policy is required; the other fields have
// working zero values.
type Options struct {
	// Policy is the rotation schedule. It must be valid.
	Policy Policy

	// Poll is the longest time between two runs. Besides running when the
	// policy's next change is due, the rotator re-reads the file at least
	// this often, so that its Ring follows changes made by others (another
	// rotator, an operator). Zero means Propagation/4, at most one minute.
	// It must be shorter than Propagation when the Rotator is the keyring
	// Source of servers in its process.
	Poll time.Duration

	// Create makes NewRotator write a new keyring of one fresh primary key
	// when the file does not exist. Without it a missing file is an error.
	Create bool

	// Now returns the current time; nil means time.Now.
	Now func() time.Time

	// NewKey generates keys; nil means keyring.GenerateKey.
	NewKey func() (keyring.Key, error)

	// Logger receives a record for each change (Info) and each failure
	// (Error), never key material. Nil means slog.Default().
	Logger *slog.Logger

	// OnChange, if set, is called after each run that changed the file,
	// with the new ring and the changes.
	OnChange func(*keyring.Ring, Changes)

	// OnError, if set, is called with the error of each failed run.
	OnError func(error)

	// unscheduled leaves out the background schedule, so that only
	// NewRotator and RunOnce run the policy. Tests that drive a fake clock
	// set it (export_test.go): the schedule sleeps in real time, and a run
	// it started would race the test's own RunOnce for each change.
	unscheduled bool
}

// Rotator applies a [Policy] to a [Store] on a schedule and publishes the
// resulting Ring: it is a [keyring.Source]. It runs when the policy's next
// change is due and at least every [Options.Poll], each time under the
// store's lock, so any number of rotators may share one file.
//
// A run that fails (an unreadable or invalid file, a full disk) changes
// nothing: the file is left as it is and [Rotator.Current] keeps the last
// good Ring; the failure is reported and the run retried after Poll.
//
// A Rotator is safe for concurrent use. Close stops it.
type Rotator struct {
	store *Store
	opts  Options
	log   *slog.Logger

	cur atomic.Pointer[keyring.Ring]
	mu  sync.Mutex // serializes runs

	ctx       context.Context
	cancel    context.CancelFunc
	done      chan struct{}
	closeOnce sync.Once
}

// NewRotator runs the policy once against store and, if that succeeds,
// starts running it on schedule. It returns an error, and starts nothing,
// if the policy is invalid, the file is missing (unless opts.Create) or
// invalid, or the first run fails.
func NewRotator(store *Store, opts Options) (*Rotator, error) {
	if err := opts.Policy.Validate(); err != nil {
		return nil, err
	}
	if opts.Poll < 0 {
		return nil, errors.New("rotate: negative Poll")
	}
	if opts.Poll == 0 {
		opts.Poll = min(opts.Policy.Propagation/4, time.Minute)
		if opts.Poll <= 0 {
			opts.Poll = opts.Policy.Propagation
		}
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.NewKey == nil {
		opts.NewKey = keyring.GenerateKey
	}
	ctx, cancel := context.WithCancel(context.Background())
	rt := &Rotator{store: store, opts: opts, log: opts.Logger, ctx: ctx, cancel: cancel, done: make(chan struct{})}
	if rt.log == nil {
		rt.log = slog.Default()
	}
	if opts.Create {
		r, err := Initial(opts.Now(), opts.NewKey)
		if err != nil {
			cancel()
			return nil, err
		}
		if err := store.Create(ctx, r); err == nil {
			rt.log.Info("rotate: created keyring", "path", store.Path(), "primary", r.Primary().ID())
		} else if !errors.Is(err, fs.ErrExist) {
			cancel()
			return nil, err
		}
	}
	if _, err := rt.run(ctx); err != nil {
		cancel()
		return nil, err
	}
	if opts.unscheduled {
		close(rt.done)
	} else {
		go rt.loop()
	}
	return rt, nil
}

// Current returns the last Ring the rotator read or wrote. It never
// returns nil and is safe for concurrent use.
func (rt *Rotator) Current() *keyring.Ring { return rt.cur.Load() }

// RunOnce runs the policy now, as the schedule would, and returns what
// changed. Runs take turns, so a change the schedule (or another rotator)
// made a moment earlier is already in the file and is not reported again.
// On error the published Ring stays as it was.
func (rt *Rotator) RunOnce(ctx context.Context) (Changes, error) {
	return rt.run(ctx)
}

func (rt *Rotator) run(ctx context.Context) (Changes, error) {
	rt.mu.Lock()
	defer rt.mu.Unlock()
	r, ch, err := rt.store.Rotate(ctx, rt.opts.Policy, rt.opts.Now, rt.opts.NewKey)
	if err != nil {
		if ctx.Err() != nil {
			return Changes{}, err // stopped by Close or the caller: not a failure to report
		}
		rt.log.Error("rotate: run failed; keeping the last good keyring", "path", rt.store.Path(), "err", err)
		if rt.opts.OnError != nil {
			rt.opts.OnError(err)
		}
		return Changes{}, err
	}
	rt.cur.Store(r)
	if !ch.Empty() {
		rt.log.Info("rotate: keyring changed", "path", rt.store.Path(), "changes", ch.String(), "primary", r.Primary().ID())
		if rt.opts.OnChange != nil {
			rt.opts.OnChange(r, ch)
		}
	}
	return ch, nil
}

// wait returns how long to sleep before the next run.
func (rt *Rotator) wait(failed bool) time.Duration {
	if failed {
		return rt.opts.Poll
	}
	d := rt.opts.Poll
	if next := rt.opts.Policy.NextChange(rt.Current()); !next.IsZero() {
		d = min(d, next.Sub(rt.opts.Now()))
	}
	// Never spin: a clock that lags the file's times by a little would
	// otherwise run the policy in a tight loop.
	return max(d, time.Millisecond)
}

func (rt *Rotator) loop() {
	defer close(rt.done)
	failed := false
	for {
		t := time.NewTimer(rt.wait(failed))
		select {
		case <-rt.ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
		_, err := rt.run(rt.ctx)
		failed = err != nil
	}
}

// Close stops the schedule, interrupting a wait for the lock, and waits
// for a run in progress. Current keeps returning the last Ring. Close is
// idempotent and returns nil.
func (rt *Rotator) Close() error {
	rt.closeOnce.Do(rt.cancel)
	<-rt.done
	return nil
}
