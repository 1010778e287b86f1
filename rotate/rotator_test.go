//go:build unix

package rotate_test

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"satchel.dev/keyring"
	"satchel.dev/rotate"
)

var quiet = slog.New(slog.DiscardHandler)

// fakeClock is a settable clock for the Rotator.
type fakeClock struct{ ns atomic.Int64 }

func (c *fakeClock) Now() time.Time       { return time.Unix(0, c.ns.Load()).UTC() }
func (c *fakeClock) Set(t time.Time)      { c.ns.Store(t.UnixNano()) }
func (c *fakeClock) Add(d time.Duration)  { c.ns.Add(int64(d)) }
func newFakeClock(t time.Time) *fakeClock { c := &fakeClock{}; c.Set(t); return c }

// TestRotatorFakeClock drives a Rotator with its own clock, in a synctest
// bubble whose time never moves: the schedule stays idle and every change
// comes from RunOnce.
func TestRotatorFakeClock(t *testing.T) {
	t.Parallel()
	synctest.Test(t, testRotatorFakeClock)
}

func testRotatorFakeClock(t *testing.T) {
	clock := newFakeClock(t0)
	path := filepath.Join(t.TempDir(), "keyring.txt")
	var changes []rotate.Changes
	var mu sync.Mutex
	rt, err := rotate.NewRotator(rotate.NewStore(path), rotate.Options{
		Policy: day, Create: true, Now: clock.Now, Logger: quiet,
		OnChange: func(r *keyring.Ring, ch rotate.Changes) {
			mu.Lock()
			defer mu.Unlock()
			changes = append(changes, ch)
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer rt.Close()
	first := rt.Current().Primary()
	e, _ := rt.Current().Entry(first.ID())
	if !e.Promoted.Equal(t0) {
		t.Fatalf("created keyring promoted at %v", e.Promoted)
	}
	clock.Set(t0.Add(9 * time.Hour))
	ch, err := rt.RunOnce(context.Background())
	if err != nil || ch.Staged == "" {
		t.Fatalf("%v %v", ch, err)
	}
	if rt.Current().Primary().ID() != first.ID() {
		t.Fatal("staged key became primary")
	}
	clock.Set(t0.Add(10 * time.Hour))
	if ch, err = rt.RunOnce(context.Background()); err != nil || ch.Promoted != changes[0].Staged {
		t.Fatalf("%v %v", ch, err)
	}
	onDisk, err := keyring.LoadFile(path)
	if err != nil || onDisk.Primary().ID() != rt.Current().Primary().ID() || onDisk.Len() != rt.Current().Len() {
		t.Fatalf("file %v and Current %v differ", onDisk, rt.Current())
	}
}

// TestRotatorSchedule runs a Rotator on its own schedule, with a Watcher
// on the same file, for two simulated days in a synctest bubble: keys are
// staged, promoted and deleted on time, the Watcher follows, and nothing
// runs after Close.
func TestRotatorSchedule(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		p := rotate.Policy{Interval: 3 * time.Hour, Propagation: time.Hour, MaxAge: 2 * time.Hour}
		path := filepath.Join(t.TempDir(), "keyring.txt")
		var promoted, deleted atomic.Int32
		var last atomic.Pointer[keyring.Ring]
		rt, err := rotate.NewRotator(rotate.NewStore(path), rotate.Options{
			Policy: p, Create: true, Logger: quiet, Poll: 15 * time.Minute,
			OnChange: func(r *keyring.Ring, ch rotate.Changes) {
				if ch.Promoted != "" {
					promoted.Add(1)
				}
				deleted.Add(int32(len(ch.Deleted)))
				last.Store(r)
			},
			OnError: func(err error) { t.Error(err) },
		})
		if err != nil {
			t.Fatal(err)
		}
		w, err := keyring.NewWatcher(path, keyring.WatchOptions{Interval: 5 * time.Minute, Logger: quiet})
		if err != nil {
			t.Fatal(err)
		}
		defer w.Close()
		start := time.Now()
		time.Sleep(48 * time.Hour)
		synctest.Wait()
		// One promotion every Interval, the first after Interval: 16 in
		// 48 hours. A key retired at t is deleted at t+3h1m
		// (Propagation+MaxAge+the default leeway): those retired at 3h to
		// 42h, 14 of them.
		if n, d := promoted.Load(), deleted.Load(); n != 16 || d != 14 {
			t.Errorf("after 48h: %d promotions, %d deletions; want 16 and 14", n, d)
		}
		r := rt.Current()
		if last.Load() != r || r.Len() > 3 {
			t.Errorf("Current %v, last reported %v", r, last.Load())
		}
		e, _ := r.Entry(r.Primary().ID())
		if want := start.Add(48 * time.Hour).UTC(); !e.Promoted.Equal(want) {
			t.Errorf("primary promoted at %v, want %v", e.Promoted, want)
		}
		time.Sleep(5 * time.Minute)
		synctest.Wait()
		if w.Current().Primary().ID() != r.Primary().ID() {
			t.Errorf("the Watcher serves %v, the Rotator %v", w.Current(), r)
		}
		rt.Close()
		n := promoted.Load()
		time.Sleep(24 * time.Hour)
		synctest.Wait()
		if promoted.Load() != n {
			t.Error("the rotator ran after Close")
		}
		if err := rt.Close(); err != nil {
			t.Fatal(err)
		}
	})
}

// TestRotatorKeepsLastGoodRing: a keyring file damaged by hand makes runs
// fail; the rotator keeps its Ring, reports, and never rewrites the file.
func TestRotatorKeepsLastGoodRing(t *testing.T) {
	t.Parallel()
	synctest.Test(t, testRotatorKeepsLastGoodRing)
}

func testRotatorKeepsLastGoodRing(t *testing.T) {
	clock := newFakeClock(t0)
	path := filepath.Join(t.TempDir(), "keyring.txt")
	var errs atomic.Int32
	rt, err := rotate.NewRotator(rotate.NewStore(path), rotate.Options{
		Policy: day, Create: true, Now: clock.Now, Poll: 5 * time.Millisecond, Logger: quiet,
		OnError: func(error) { errs.Add(1) },
	})
	if err != nil {
		t.Fatal(err)
	}
	defer rt.Close()
	good := rt.Current()
	bad := []byte(fileHeader + "\nsecret=k4.local.truncated")
	if err := os.WriteFile(path, bad, 0o600); err != nil {
		t.Fatal(err)
	}
	clock.Set(t0.Add(9 * time.Hour)) // a run would stage a key
	var fe *keyring.FileError
	if _, err := rt.RunOnce(context.Background()); !errors.As(err, &fe) || fe.File != path || fe.Line != 2 {
		t.Fatalf("RunOnce on a damaged file: %v", err)
	}
	time.Sleep(15 * time.Millisecond) // three polls of the schedule, in the bubble's time
	synctest.Wait()
	if errs.Load() < 4 {
		t.Errorf("%d failures reported, want RunOnce's and one per poll", errs.Load())
	}
	if rt.Current() != good {
		t.Fatal("the ring changed")
	}
	if b, _ := os.ReadFile(path); string(b) != string(bad) {
		t.Fatal("a damaged keyring was rewritten")
	}
	// Repaired by the operator, the next run proceeds.
	if err := os.WriteFile(path, keyring.FormatFile(good), 0o600); err != nil {
		t.Fatal(err)
	}
	time.Sleep(5 * time.Millisecond)
	synctest.Wait()
	if rt.Current().Len() != 2 {
		t.Errorf("after the repair: %v, want a staged key", rt.Current())
	}
}

func TestNewRotatorErrors(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "keyring.txt")
	if _, err := rotate.NewRotator(rotate.NewStore(path), rotate.Options{Policy: day, Logger: quiet}); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("missing file without Create: %v", err)
	}
	if _, err := rotate.NewRotator(rotate.NewStore(path), rotate.Options{Logger: quiet, Create: true}); !errors.Is(err, rotate.ErrInvalidPolicy) {
		t.Errorf("zero policy: %v", err)
	}
	if _, err := os.Stat(path); !errors.Is(err, fs.ErrNotExist) {
		t.Error("a failed NewRotator created the file")
	}
	fail := func() (keyring.Key, error) { return keyring.Key{}, errors.New("no entropy") }
	if _, err := rotate.NewRotator(rotate.NewStore(path), rotate.Options{Policy: day, Create: true, NewKey: fail, Logger: quiet}); err == nil {
		t.Error("failing key generator accepted")
	}
}

func ExampleNewRotator() {
	dir, _ := os.MkdirTemp("", "rotate")
	defer os.RemoveAll(dir)
	rt, err := rotate.NewRotator(rotate.NewStore(filepath.Join(dir, "keyring.txt")), rotate.Options{
		Policy: rotate.Policy{Interval: 30 * 24 * time.Hour, Propagation: time.Hour, MaxAge: 14 * 24 * time.Hour, Leeway: time.Minute},
		Create: true, // write a first key if the file does not exist
	})
	if err != nil {
		panic(err)
	}
	defer rt.Close()
	// rt is a keyring.Source: hand it to the middleware of this process.
	var src keyring.Source = rt
	fmt.Println(src.Current().Len())
	// Output: 1
}

// TestRotatorCloseInterruptsLockWait: Close returns promptly while a run
// waits for a lock another process holds.
func TestRotatorCloseInterruptsLockWait(t *testing.T) {
	t.Parallel()
	synctest.Test(t, testRotatorCloseInterruptsLockWait)
}

func testRotatorCloseInterruptsLockWait(t *testing.T) {
	s, _ := newFile(t)
	rt, err := rotate.NewRotator(s, rotate.Options{Policy: day, Poll: time.Millisecond, Logger: quiet,
		OnError: func(err error) { t.Errorf("a stopped run was reported: %v", err) }})
	if err != nil {
		t.Fatal(err)
	}
	held, release := make(chan struct{}), make(chan struct{})
	go rotate.NewStore(s.Path()).Update(context.Background(), func(*keyring.Ring) (*keyring.Ring, error) {
		close(held)
		<-release
		return nil, nil
	})
	defer close(release)
	<-held
	time.Sleep(20 * time.Millisecond) // the rotator's next run now waits for the lock
	synctest.Wait()
	start := time.Now()
	rt.Close()
	if d := time.Since(start); d > 0 {
		t.Errorf("Close took %v of the bubble's time, want none", d)
	}
}

// TestRotatorCloseFromScheduledCallback: an OnChange called for a run of
// the schedule calls Close, which waits for the schedule to end: the
// schedule delivers its reports on another goroutine, so this does not
// wait for itself.
func TestRotatorCloseFromScheduledCallback(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		var rt *rotate.Rotator
		var closed atomic.Bool
		ready := make(chan struct{})
		var err error
		rt, err = rotate.NewRotator(rotate.NewStore(filepath.Join(t.TempDir(), "keyring.txt")), rotate.Options{
			Policy: day, Create: true, Logger: quiet,
			OnChange: func(*keyring.Ring, rotate.Changes) {
				<-ready
				rt.Close()
				closed.Store(true)
			},
		})
		if err != nil {
			t.Fatal(err)
		}
		close(ready)
		time.Sleep(day.Interval) // the schedule stages a key, and OnChange closes
		synctest.Wait()
		if !closed.Load() {
			t.Fatal("Close inside a scheduled OnChange did not return")
		}
		n := rt.Current().Len()
		time.Sleep(10 * day.Interval)
		synctest.Wait()
		if rt.Current().Len() != n {
			t.Error("the schedule ran after Close")
		}
	})
}
