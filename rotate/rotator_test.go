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

func TestRotatorFakeClock(t *testing.T) {
	clock := newFakeClock(t0)
	path := filepath.Join(t.TempDir(), "keyring.txt")
	var changes []rotate.Changes
	var mu sync.Mutex
	rt, err := rotate.NewRotator(rotate.NewStore(path), rotate.Unscheduled(rotate.Options{
		Policy: day, Create: true, Now: clock.Now, Logger: quiet,
		OnChange: func(r *keyring.Ring, ch rotate.Changes) {
			mu.Lock()
			defer mu.Unlock()
			changes = append(changes, ch)
		},
	}))
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

// TestRotatorSchedule runs a real-time rotator with a policy of a few
// hundred milliseconds and a Watcher on the same file.
func TestRotatorSchedule(t *testing.T) {
	p := rotate.Policy{Interval: 300 * time.Millisecond, Propagation: 100 * time.Millisecond, MaxAge: 200 * time.Millisecond}
	path := filepath.Join(t.TempDir(), "keyring.txt")
	var promoted, deleted atomic.Int32
	rt, err := rotate.NewRotator(rotate.NewStore(path), rotate.Options{
		Policy: p, Create: true, Logger: quiet,
		OnChange: func(r *keyring.Ring, ch rotate.Changes) {
			if ch.Promoted != "" {
				promoted.Add(1)
			}
			deleted.Add(int32(len(ch.Deleted)))
		},
		OnError: func(err error) { t.Error(err) },
	})
	if err != nil {
		t.Fatal(err)
	}
	w, err := keyring.NewWatcher(path, keyring.WatchOptions{Interval: 10 * time.Millisecond, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	deadline := time.Now().Add(10 * time.Second)
	for promoted.Load() < 4 || deleted.Load() < 2 {
		if time.Now().After(deadline) {
			t.Fatalf("after 10s: %d promotions, %d deletions", promoted.Load(), deleted.Load())
		}
		time.Sleep(10 * time.Millisecond)
	}
	rt.Close()
	n := promoted.Load()
	time.Sleep(400 * time.Millisecond)
	if promoted.Load() != n {
		t.Fatal("rotator ran after Close")
	}
	if err := rt.Close(); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, func() bool { return w.Current().Primary().ID() == rt.Current().Primary().ID() })
	if r := rt.Current(); r.Len() > 3 {
		t.Errorf("retired keys pile up: %v", r)
	}
}

func waitUntil(t *testing.T, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); !cond(); time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("timed out")
		}
	}
}

// TestRotatorKeepsLastGoodRing: a keyring file damaged by hand makes runs
// fail; the rotator keeps its Ring, reports, and never rewrites the file.
func TestRotatorKeepsLastGoodRing(t *testing.T) {
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
	bad := []byte(keyring.FileHeader + "\nsecret=k4.local.truncated")
	if err := os.WriteFile(path, bad, 0o600); err != nil {
		t.Fatal(err)
	}
	clock.Set(t0.Add(9 * time.Hour)) // a run would stage a key
	var fe *keyring.FileError
	if _, err := rt.RunOnce(context.Background()); !errors.As(err, &fe) || fe.File != path || fe.Line != 2 {
		t.Fatalf("RunOnce on a damaged file: %v", err)
	}
	waitUntil(t, func() bool { return errs.Load() >= 3 }) // the schedule keeps retrying
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
	waitUntil(t, func() bool { return rt.Current().Len() == 2 })
}

func TestNewRotatorErrors(t *testing.T) {
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
	time.Sleep(20 * time.Millisecond) // let the rotator block on the lock
	done := make(chan struct{})
	go func() { rt.Close(); close(done) }()
	select {
	case <-done:
	case <-time.After(2 * time.Second):
		t.Fatal("Close did not interrupt the wait for the lock")
	}
}
