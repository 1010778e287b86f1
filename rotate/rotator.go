package rotate

import (
	"context"
	"errors"
	"fmt"
	"io"
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
// OnChange, OnError and the Logger are called outside the Rotator's
// locks, one at a time and in the order of the runs, on a goroutine of the
// Rotator's own or on the one calling RunOnce (or NewRotator). They may
// call any method of the Rotator, RunOnce and Close included; the reports
// of a run started from a callback are delivered after that callback
// returns.
//
// A Rotator is safe for concurrent use. Close stops it. It prints (with
// any fmt verb, and through slog) as its path and the ids of its Ring.
type Rotator struct {
	store *Store
	opts  Options
	log   *slog.Logger

	cur atomic.Pointer[keyring.Ring]
	run sync.Mutex // serializes runs; never held while reports are delivered

	mu         sync.Mutex // guards queue and delivering
	queue      []func()   // reports waiting for delivery, oldest first
	delivering bool       // a goroutine is delivering the queue

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
	_, err := rt.runOnce(ctx)
	rt.deliver()
	if err != nil {
		cancel()
		return nil, err
	}
	go rt.loop()
	return rt, nil
}

// Current returns the last Ring the rotator read or wrote. It never
// returns nil and is safe for concurrent use.
func (rt *Rotator) Current() *keyring.Ring { return rt.cur.Load() }

// RunOnce runs the policy now, as the schedule would, and returns what
// changed. Runs take turns, so a change the schedule (or another rotator)
// made a moment earlier is already in the file and is not reported again.
// On error the published Ring stays as it was. RunOnce may be called from
// OnChange or OnError.
func (rt *Rotator) RunOnce(ctx context.Context) (Changes, error) {
	ch, err := rt.runOnce(ctx)
	rt.deliver()
	return ch, err
}

// runOnce runs the policy and queues its reports; the caller delivers
// them.
func (rt *Rotator) runOnce(ctx context.Context) (Changes, error) {
	rt.run.Lock()
	r, ch, err := rt.store.rotate(ctx, rt.opts.Policy, rt.opts.Now, rt.opts.NewKey)
	switch {
	case err != nil && ctx.Err() != nil:
		// Stopped by Close or the caller: not a failure to report.
	case err != nil:
		rt.enqueue(func() {
			rt.log.Error("rotate: run failed; keeping the last good keyring", "path", rt.store.Path(), "err", err)
			if rt.opts.OnError != nil {
				rt.opts.OnError(err)
			}
		})
	default:
		rt.cur.Store(r)
		if !ch.Empty() {
			rt.enqueue(func() {
				rt.log.Info("rotate: keyring changed", "path", rt.store.Path(), "changes", ch.String(), "primary", r.Primary().ID())
				if rt.opts.OnChange != nil {
					rt.opts.OnChange(r, ch)
				}
			})
		}
	}
	rt.run.Unlock()
	if err != nil {
		return Changes{}, err
	}
	return ch, nil
}

// enqueue adds a report to deliver. It is called with rt.run held, so
// reports queue in the order of the runs.
func (rt *Rotator) enqueue(report func()) {
	rt.mu.Lock()
	rt.queue = append(rt.queue, report)
	rt.mu.Unlock()
}

// deliver runs the queued reports one at a time, outside every lock. A
// goroutine that finds another one delivering leaves its reports to it,
// so reports keep their order and a callback that runs the policy does
// not wait for itself.
func (rt *Rotator) deliver() {
	rt.mu.Lock()
	if rt.delivering {
		rt.mu.Unlock()
		return
	}
	rt.delivering = true
	defer func() {
		rt.delivering = false
		rt.mu.Unlock()
	}()
	for len(rt.queue) > 0 {
		report := rt.queue[0]
		rt.queue[0] = nil
		rt.queue = rt.queue[1:]
		rt.mu.Unlock()
		func() {
			defer rt.mu.Lock() // relock even if the report panics
			report()
		}()
	}
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
		_, err := rt.runOnce(rt.ctx)
		failed = err != nil
		// Delivered on another goroutine, so that a callback may call
		// Close, which waits for this loop to end.
		go rt.deliver()
	}
}

// Close stops the schedule, interrupting a wait for the lock, and waits
// for a run of the schedule in progress to end. The reports of that run
// may still be delivered after Close returns. Close may be called from
// OnChange or OnError. Current keeps returning the last Ring. Close is
// idempotent and returns nil.
func (rt *Rotator) Close() error {
	rt.closeOnce.Do(rt.cancel)
	<-rt.done
	return nil
}

// String describes the Rotator by its path and current Ring: ids and
// states, never key material.
func (rt *Rotator) String() string {
	if rt == nil {
		return "rotate.Rotator(nil)"
	}
	return fmt.Sprintf("rotate.Rotator{%q: %s}", rt.store.Path(), rt.cur.Load())
}

// Format implements [fmt.Formatter]: every verb prints [Rotator.String].
func (rt *Rotator) Format(f fmt.State, verb rune) { io.WriteString(f, rt.String()) }

// LogValue implements [slog.LogValuer]: a Rotator logs as
// [Rotator.String].
func (rt *Rotator) LogValue() slog.Value { return slog.StringValue(rt.String()) }
