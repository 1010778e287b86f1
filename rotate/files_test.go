//go:build unix

package rotate_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"satchel.dev/internal/hangtest"
	"satchel.dev/internal/printtest"
	"satchel.dev/keyring"
	"satchel.dev/rotate"
)

// TestThreat23_StoreReadsAreBounded: a keyring path that leads to
// /dev/zero (the old Store read it with os.ReadFile, without end, until
// memory ran out) or to a named pipe (whose read blocked for ever) is
// refused at once by every operation of the Store, and nothing is
// written.
func TestThreat23_StoreReadsAreBounded(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	zero, fifo := hangtest.SpecialFiles(t, dir)
	big := filepath.Join(dir, "big.txt")
	if err := os.WriteFile(big, bytes.Repeat([]byte("x"), keyring.MaxFileSize+1), 0o600); err != nil {
		t.Fatal(err)
	}
	k, _ := keyring.GenerateKey()
	for _, path := range []string{zero, fifo, big} {
		s := at(rotate.NewStore(path), t0.Add(9*time.Hour))
		ops := map[string]func() error{
			"Rotate": func() error { _, _, err := s.Rotate(context.Background(), day); return err },
			"Revoke": func() error { _, _, err := s.Revoke(context.Background(), k.ID()); return err },
			"Update": func() error {
				_, _, err := s.Update(context.Background(), func(r *keyring.Ring) (*keyring.Ring, error) { return r, nil })
				return err
			},
			"Load": func() error { _, err := s.Load(); return err },
		}
		for name, op := range ops {
			hangtest.Within(t, name+" of "+path, 5*time.Second, func() {
				err := op()
				if path == big {
					if !errors.Is(err, keyring.ErrMalformedFile) {
						t.Errorf("%s of a file over MaxFileSize: %v", name, err)
					}
				} else if !errors.Is(err, keyring.ErrNotRegular) {
					t.Errorf("%s of %s: %v, want ErrNotRegular", name, path, err)
				}
			})
		}
	}
	if fi, err := os.Lstat(zero); err != nil || fi.Mode()&os.ModeSymlink == 0 {
		t.Error("the symlink to /dev/zero was replaced")
	}
}

// TestThreat23_LockFileNoFollow: the lock file PATH.lock is opened without
// following a symbolic link. The old Store opened it with O_CREATE through
// any link planted there, creating (or opening for writing) a file of the
// planter's choosing; now the Store refuses, as it does a lock path that
// is a named pipe or a directory, and leaves the keyring alone.
func TestThreat23_LockFileNoFollow(t *testing.T) {
	t.Parallel()
	for _, kind := range []string{"symlink", "fifo", "directory"} {
		t.Run(kind, func(t *testing.T) {
			t.Parallel()
			s, _ := newFile(t)
			before := readFile(t, s.Path())
			victim := filepath.Join(filepath.Dir(s.Path()), "victim")
			lock := s.Path() + ".lock"
			if err := os.Remove(lock); err != nil { // left by Create
				t.Fatal(err)
			}
			switch kind {
			case "symlink":
				if err := os.Symlink(victim, lock); err != nil {
					t.Fatal(err)
				}
			case "fifo":
				if err := syscall.Mkfifo(lock, 0o600); err != nil {
					t.Fatal(err)
				}
			case "directory":
				if err := os.Mkdir(lock, 0o700); err != nil {
					t.Fatal(err)
				}
			}
			hangtest.Within(t, "Rotate", 5*time.Second, func() {
				if _, _, err := at(s, t0.Add(9*time.Hour)).Rotate(context.Background(), day); err == nil || !strings.Contains(err.Error(), "lock file") {
					t.Errorf("Rotate with a %s as the lock file: %v", kind, err)
				}
			})
			if _, err := os.Lstat(victim); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("the lock's symlink target was created (%v)", err)
			}
			if !bytes.Equal(readFile(t, s.Path()), before) {
				t.Error("the keyring was written without the lock")
			}
		})
	}
}

// TestRotatorCallbacksMayCallBack: OnChange and OnError call RunOnce,
// Current and Close of their own Rotator. The old Rotator called them with
// its mutex held, so a RunOnce from OnChange deadlocked.
func TestRotatorCallbacksMayCallBack(t *testing.T) {
	t.Parallel()
	clock := newFakeClock(t0)
	path := filepath.Join(t.TempDir(), "keyring.txt")
	var (
		rt     *rotate.Rotator
		mu     sync.Mutex
		events []string
	)
	note := func(s string) {
		mu.Lock()
		defer mu.Unlock()
		events = append(events, s)
	}
	opts := rotate.Options{
		Policy: day, Create: true, Now: clock.Now, Logger: quiet, Poll: time.Hour,
		OnChange: func(r *keyring.Ring, ch rotate.Changes) {
			if rt.Current() != r {
				t.Errorf("inside OnChange: Current %v, reported %v", rt.Current(), r)
			}
			note(ch.String()[:6])
			again, err := rt.RunOnce(context.Background())
			if err != nil || !again.Empty() {
				t.Errorf("RunOnce inside OnChange: %v %v", again, err)
			}
		},
		OnError: func(err error) {
			note("error")
			mu.Lock()
			first := len(events) == 2
			mu.Unlock()
			if !first {
				return
			}
			if _, again := rt.RunOnce(context.Background()); again == nil {
				t.Error("RunOnce inside OnError succeeded on a bad file")
			}
		},
	}
	var err error
	hangtest.Within(t, "NewRotator", 5*time.Second, func() { rt, err = rotate.NewRotator(rotate.NewStore(path), opts) })
	if err != nil {
		t.Fatal(err)
	}
	defer rt.Close()
	clock.Set(t0.Add(9 * time.Hour))
	hangtest.Within(t, "RunOnce with a change", 5*time.Second, func() { rt.RunOnce(context.Background()) })
	good := readFile(t, path)
	if err := os.WriteFile(path, []byte("garbage\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	hangtest.Within(t, "RunOnce on a bad file", 5*time.Second, func() { rt.RunOnce(context.Background()) })
	mu.Lock()
	got := strings.Join(events, ", ")
	mu.Unlock()
	// OnError's own RunOnce fails too and is reported after it returns.
	// (The schedule may add a failure of its own, under a loaded machine:
	// its first wait can be computed after the clock moved.)
	if want := "staged, error, error"; !strings.HasPrefix(got, want) || strings.Trim(strings.TrimPrefix(got, want), ", error") != "" {
		t.Errorf("events %q, want %q", got, want)
	}

	// Close from inside a callback returns at once.
	if err := os.WriteFile(path, good, 0o600); err != nil {
		t.Fatal(err)
	}
	var rt2 *rotate.Rotator
	rt2, err = rotate.NewRotator(rotate.NewStore(path), rotate.Options{Policy: day, Now: clock.Now, Logger: quiet, Poll: time.Hour,
		OnChange: func(*keyring.Ring, rotate.Changes) { rt2.Close() }})
	if err != nil {
		t.Fatal(err)
	}
	clock.Set(t0.Add(10 * time.Hour)) // a promotion is due
	hangtest.Within(t, "Close inside OnChange", 5*time.Second, func() { rt2.RunOnce(context.Background()) })
	hangtest.Within(t, "Close after Close", 5*time.Second, func() { rt2.Close() })
}

// TestThreat18_PrintingShowsOnlyIDs prints the package's types that hold
// or reach keys, every way a program might log them, and searches each
// output for the secrets.
func TestThreat18_PrintingShowsOnlyIDs(t *testing.T) {
	t.Parallel()
	clock := newFakeClock(t0)
	path := filepath.Join(t.TempDir(), "keyring.txt")
	s := rotate.NewStore(path)
	rt, err := rotate.NewRotator(s, rotate.Options{Policy: day, Create: true, Now: clock.Now, Logger: quiet, Poll: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	defer rt.Close()
	clock.Set(t0.Add(9 * time.Hour))
	if _, err := rt.RunOnce(context.Background()); err != nil {
		t.Fatal(err)
	}
	// The schedule may have staged the key first: read it from the ring.
	keys := rt.Current().Entries()
	if len(keys) != 2 || keys[1].State != keyring.Staged {
		t.Fatalf("no staged key: %v", rt.Current())
	}
	ch := rotate.Changes{Staged: keys[1].Key.ID(), Deleted: []string{keys[0].Key.ID()}}
	type Exported struct {
		R *rotate.Rotator
		S *rotate.Store
	}
	values := map[string]any{
		"*Rotator": rt, "*Store": s, "Changes": ch, "Policy": day,
		"Options": rotate.Options{Policy: day}, "exported fields": Exported{rt, s},
		"slice": []any{rt, s},
	}
	for name, v := range values {
		for _, out := range printtest.Printings(v) {
			for _, e := range keys {
				secret := e.Key.ExportSecret()
				paserk := e.Key.ExportPASERK()
				for _, f := range []string{paserk, paserk[9:30], hex.EncodeToString(secret[:8]), base64.StdEncoding.EncodeToString(secret[:9]),
					strings.Trim(fmt.Sprint(secret[:6]), "[]"), strings.Trim(fmt.Sprint([]byte(paserk[9:15])), "[]")} {
					if strings.Contains(out, f) {
						t.Errorf("%s prints key material %q:\n%s", name, f, out)
					}
				}
			}
		}
	}
	if out := fmt.Sprint(rt); !strings.Contains(out, ch.Staged) || !strings.Contains(out, path) {
		t.Errorf("a Rotator prints as %s, want its path and key ids", out)
	}
}
