package keyring_test

import (
	"bytes"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"satchel.dev/internal/hangtest"
	"satchel.dev/keyring"
)

var quiet = slog.New(slog.DiscardHandler)

// ringFile returns the file text of a ring whose primary is testKey(seed)
// and that also holds testKey(seed-1) as retired (when seed > 1).
func ringFile(t testing.TB, seed byte) []byte {
	t.Helper()
	es := []keyring.Entry{{Key: testKey(t, seed), State: keyring.Primary}}
	if seed > 1 {
		es = append(es, keyring.Entry{Key: testKey(t, seed-1), State: keyring.Retired})
	}
	r, err := keyring.New(es)
	if err != nil {
		t.Fatal(err)
	}
	return keyring.FormatFile(r)
}

// writeRename replaces path by a new file through a rename, as editors and
// the rotate package do.
func writeRename(t testing.TB, path string, data []byte) {
	t.Helper()
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, data, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
}

// recorder collects what a Watcher reports.
// reloadWatcher writes data to keyring.txt in a fresh directory and
// watches it with an interval of an hour, so that only the test's calls to
// Reload read it; the recorder sees every report. The caller closes w.
func reloadWatcher(t *testing.T, data []byte) (path string, rc *recorder, w *keyring.Watcher) {
	t.Helper()
	path = filepath.Join(t.TempDir(), "keyring.txt")
	writeRename(t, path, data)
	rc = new(recorder)
	w, err := keyring.NewWatcher(path, rc.options(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	return path, rc, w
}

type recorder struct {
	mu      sync.Mutex
	errs    []error
	reloads []*keyring.Ring
	log     bytes.Buffer
}

func (rc *recorder) options(interval time.Duration) keyring.WatchOptions {
	return keyring.WatchOptions{
		Interval: interval,
		Logger:   slog.New(slog.NewTextHandler(lockedWriter{rc}, nil)),
		OnError: func(err error) {
			rc.mu.Lock()
			defer rc.mu.Unlock()
			rc.errs = append(rc.errs, err)
		},
		OnReload: func(r *keyring.Ring) {
			rc.mu.Lock()
			defer rc.mu.Unlock()
			rc.reloads = append(rc.reloads, r)
		},
	}
}

type lockedWriter struct{ rc *recorder }

func (w lockedWriter) Write(p []byte) (int, error) {
	w.rc.mu.Lock()
	defer w.rc.mu.Unlock()
	return w.rc.log.Write(p)
}

func (rc *recorder) counts() (errs, reloads int) {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return len(rc.errs), len(rc.reloads)
}

func (rc *recorder) logged() string {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return rc.log.String()
}

func (rc *recorder) lastErr() error {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	if len(rc.errs) == 0 {
		return nil
	}
	return rc.errs[len(rc.errs)-1]
}

// poll is the interval of the Watchers that tests run in a synctest
// bubble, where time is fake: its value only orders events.
const poll = 5 * time.Millisecond

// step lets one poll happen: it moves the bubble's fake clock on by one
// interval and waits until the Watcher's goroutine has finished the
// reload and is blocked again. Call it only inside synctest.Test.
func step() {
	time.Sleep(poll)
	synctest.Wait()
}

// want fails the test unless cond holds after one more poll.
func want(t testing.TB, what string, cond func() bool) {
	t.Helper()
	step()
	if !cond() {
		t.Fatalf("after a poll: not %s", what)
	}
}

func primaryIs(w *keyring.Watcher, k keyring.Key) func() bool {
	return func() bool { return w.Current().Primary().ID() == k.ID() }
}

func TestWatcherRenameIntoPlace(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "keyring.txt")
		writeRename(t, path, ringFile(t, 1))
		var rc recorder
		w, err := keyring.NewWatcher(path, rc.options(poll))
		if err != nil {
			t.Fatal(err)
		}
		defer w.Close()
		if !primaryIs(w, testKey(t, 1))() {
			t.Fatalf("initial ring %v", w.Current())
		}
		for seed := byte(2); seed <= 5; seed++ {
			writeRename(t, path, ringFile(t, seed))
			want(t, fmt.Sprintf("primary %d", seed), primaryIs(w, testKey(t, seed)))
		}
		if errs, reloads := rc.counts(); errs != 0 || reloads != 4 {
			t.Errorf("%d errors and %d reloads, want 0 and 4", errs, reloads)
		}
		if strings.Contains(rc.logged(), "lacks the previous primary") {
			t.Error("warned about a rotation that kept the previous primary")
		}
		// A keyring that drops the primary (not something rotation does) is
		// accepted, being valid, but the log says what it costs.
		other, _ := keyring.FromKeys(testKey(t, 40))
		writeRename(t, path, keyring.FormatFile(other))
		want(t, "the replacement keyring", primaryIs(w, testKey(t, 40)))
		if !strings.Contains(rc.logged(), "lacks the previous primary") {
			t.Error("no warning for a keyring that dropped the previous primary")
		}
		if w.Err() != nil {
			t.Errorf("Err() = %v", w.Err())
		}
	})
}

// TestWatcherKubernetesSymlinkSwap reproduces the layout of a Secret
// volume: keyring.txt -> ..data/keyring.txt, ..data -> ..<timestamp>, and
// an update that writes a new timestamped directory, points ..data_tmp at
// it and renames ..data_tmp over ..data.
func TestWatcherKubernetesSymlinkSwap(t *testing.T) {
	t.Parallel()
	synctest.Test(t, testWatcherKubernetesSymlinkSwap)
}

func testWatcherKubernetesSymlinkSwap(t *testing.T) {
	dir := t.TempDir()
	version := func(n int, data []byte) {
		name := fmt.Sprintf("..2026_11_27_05_%02d_00.%09d", n, n)
		if err := os.Mkdir(filepath.Join(dir, name), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, name, "keyring.txt"), data, 0o400); err != nil {
			t.Fatal(err)
		}
		if err := os.Symlink(name, filepath.Join(dir, "..data_tmp")); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(filepath.Join(dir, "..data_tmp"), filepath.Join(dir, "..data")); err != nil {
			t.Fatal(err)
		}
		if n > 1 {
			// The kubelet removes the old version after the swap.
			old := fmt.Sprintf("..2026_11_27_05_%02d_00.%09d", n-1, n-1)
			if err := os.RemoveAll(filepath.Join(dir, old)); err != nil {
				t.Fatal(err)
			}
		}
	}
	version(1, ringFile(t, 1))
	path := filepath.Join(dir, "keyring.txt")
	if err := os.Symlink(filepath.Join("..data", "keyring.txt"), path); err != nil {
		t.Fatal(err)
	}
	var rc recorder
	w, err := keyring.NewWatcher(path, rc.options(poll))
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	for n := 2; n <= 4; n++ {
		version(n, ringFile(t, byte(n)))
		want(t, fmt.Sprintf("version %d", n), primaryIs(w, testKey(t, byte(n))))
	}
	// A version whose file is corrupt is refused like any other.
	version(5, []byte(fileHeader+"\nsecret=k4.local.oops state=primary\n"))
	want(t, "an error report", func() bool { return w.Err() != nil })
	if !primaryIs(w, testKey(t, 4))() {
		t.Errorf("corrupt version replaced the ring: %v", w.Current())
	}
	if errs, reloads := rc.counts(); errs != 1 || reloads != 3 {
		t.Errorf("%d errors and %d reloads, want 1 and 3", errs, reloads)
	}
}

func TestWatcherKeepsLastGoodRing(t *testing.T) {
	t.Parallel()
	good := ringFile(t, 2)
	secrets := []string{testKey(t, 1).ExportPASERK(), testKey(t, 2).ExportPASERK(), testKey(t, 3).ExportPASERK()}
	next := ringFile(t, 3)
	for _, tc := range []struct {
		name     string
		break_   func(t *testing.T, path string)
		line     int
		field    string
		notExist bool
	}{
		{"corrupt", func(t *testing.T, path string) {
			writeRename(t, path, bytes.Replace(next, []byte("state=primary"), []byte("state=primray"), 1))
		}, 2, "state", false},
		{"truncated", func(t *testing.T, path string) {
			writeRename(t, path, next[:len(next)/2])
		}, 2, "", false},
		{"truncated after the header", func(t *testing.T, path string) {
			writeRename(t, path, next[:bytes.IndexByte(next, '\n')+1])
		}, 0, "", false},
		{"truncated after the primary", func(t *testing.T, path string) {
			// Header and primary line: without the end line, not a
			// keyring of one key.
			writeRename(t, path, next[:len(next)-len(bytes.SplitAfter(next, []byte("\n"))[2])-len("end keys=2\n")])
		}, 2, "", false},
		{"empty", func(t *testing.T, path string) {
			writeRename(t, path, nil)
		}, 1, "", false},
		{"garbage", func(t *testing.T, path string) {
			writeRename(t, path, []byte{0, 1, 2, 0xff, '\n'})
		}, 1, "", false},
		{"hand-edited second primary", func(t *testing.T, path string) {
			writeRename(t, path, bytes.Replace(next, []byte("state=retired"), []byte("state=primary"), 1))
		}, 3, "state", false},
		{"deleted", func(t *testing.T, path string) {
			if err := os.Remove(path); err != nil {
				t.Fatal(err)
			}
		}, 0, "", true},
		{"replaced by a directory", func(t *testing.T, path string) {
			if err := os.Remove(path); err != nil {
				t.Fatal(err)
			}
			if err := os.Mkdir(path, 0o700); err != nil {
				t.Fatal(err)
			}
		}, 0, "", false},
		{"unreadable", func(t *testing.T, path string) {
			if os.Geteuid() == 0 {
				t.Skip("root reads files whatever their mode")
			}
			if err := os.Chmod(path, 0); err != nil {
				t.Fatal(err)
			}
		}, 0, "", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			synctest.Test(t, func(t *testing.T) {
				path := filepath.Join(t.TempDir(), "keyring.txt")
				writeRename(t, path, good)
				var rc recorder
				w, err := keyring.NewWatcher(path, rc.options(poll))
				if err != nil {
					t.Fatal(err)
				}
				defer w.Close()

				tc.break_(t, path)
				want(t, "an error report", func() bool { e, _ := rc.counts(); return e > 0 })
				// Let several more polls see the same failure.
				for range 5 {
					step()
				}
				if !primaryIs(w, testKey(t, 2))() || w.Current().Len() != 2 {
					t.Fatalf("the ring changed to %v", w.Current())
				}
				errs, reloads := rc.counts()
				if errs != 1 || reloads != 0 {
					t.Errorf("%d errors and %d reloads, want 1 and 0 (a repeated failure is reported once)", errs, reloads)
				}
				err = rc.lastErr()
				if w.Err() == nil || w.Err().Error() != err.Error() {
					t.Errorf("Err() = %v, want %v", w.Err(), err)
				}
				if tc.notExist && !errors.Is(err, os.ErrNotExist) {
					t.Errorf("error %v is not ErrNotExist", err)
				}
				var fe *keyring.FileError
				if tc.line > 0 || tc.field != "" {
					if !errors.As(err, &fe) || fe.File != path || fe.Line != tc.line || fe.Field != tc.field {
						t.Errorf("error %v: want file %s line %d field %q", err, path, tc.line, tc.field)
					}
				}
				if !strings.Contains(err.Error(), path) {
					t.Errorf("error %q does not name the file", err)
				}
				rc.mu.Lock()
				logged := rc.log.String()
				rc.mu.Unlock()
				if !strings.Contains(logged, "keeping the last good keyring") {
					t.Errorf("log has no failure record:\n%s", logged)
				}
				for _, frag := range secretFragments(secrets) {
					if strings.Contains(logged, frag) || strings.Contains(err.Error(), frag) {
						t.Fatalf("key material in the log or error:\n%s", logged)
					}
				}

				// A good file is picked up again.
				if fi, err := os.Stat(path); err == nil && fi.IsDir() {
					os.Remove(path)
				}
				os.Chmod(path, 0o600)
				writeRename(t, path, next)
				want(t, "recovery", primaryIs(w, testKey(t, 3)))
				if w.Err() != nil {
					t.Errorf("Err() after recovery = %v", w.Err())
				}
			})
		})
	}
}

// TestWatcherInPlaceRewrite writes the file in place in two halves, as a
// careless tool would: the half-written state is refused and the complete
// file is picked up.
func TestWatcherInPlaceRewrite(t *testing.T) {
	t.Parallel()
	path, _, w := reloadWatcher(t, ringFile(t, 1))
	defer w.Close()
	next := ringFile(t, 2)
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_TRUNC, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.Write(next[:len(next)-10]); err != nil {
		t.Fatal(err)
	}
	if err := w.Reload(); err == nil {
		t.Fatal("a half-written file was accepted")
	}
	if !primaryIs(w, testKey(t, 1))() {
		t.Fatalf("ring replaced by a half-written file")
	}
	if _, err := f.Write(next[len(next)-10:]); err != nil {
		t.Fatal(err)
	}
	if err := w.Reload(); err != nil {
		t.Fatal(err)
	}
	if !primaryIs(w, testKey(t, 2))() {
		t.Fatalf("complete file not picked up")
	}
}

// TestWatcherInPlaceRewriteLineBoundary is the case of the security
// review: a ring {primary K2, retired K1} is rewritten in place, and a poll
// sees only the header and the first key line. That prefix holds the
// primary, but it lacks the end line: Reload refuses it and the running
// ring keeps K1, whose sessions would otherwise end.
func TestWatcherInPlaceRewriteLineBoundary(t *testing.T) {
	t.Parallel()
	data := ringFile(t, 2) // primary K2, retired K1
	path, rc, w := reloadWatcher(t, data)
	defer w.Close()
	if _, ok := w.Current().Lookup(testKey(t, 1).ID()); !ok {
		t.Fatal("the loaded ring lacks K1")
	}

	lines := bytes.SplitAfter(data, []byte("\n"))
	if len(lines) < 4 || !bytes.Contains(lines[1], []byte(" state=primary")) {
		t.Fatalf("unexpected file shape:\n%s", data)
	}
	cut := len(lines[0]) + len(lines[1]) // header and the first key line
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_TRUNC, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.Write(data[:cut]); err != nil {
		t.Fatal(err)
	}
	err = w.Reload()
	var fe *keyring.FileError
	if !errors.Is(err, keyring.ErrMalformedFile) || !errors.As(err, &fe) || fe.File != path || fe.Line != 2 {
		t.Fatalf("Reload of the half-written file = %v, want ErrMalformedFile at %s:2", err, path)
	}
	cur := w.Current()
	if _, ok := cur.Lookup(testKey(t, 1).ID()); !ok || cur.Len() != 2 || !primaryIs(w, testKey(t, 2))() {
		t.Fatalf("the half-written file replaced the ring: %v", cur)
	}
	if w.Err() == nil {
		t.Error("Err() = nil while the file is half-written")
	}

	if _, err := f.Write(data[cut:]); err != nil {
		t.Fatal(err)
	}
	if err := w.Reload(); err != nil {
		t.Fatalf("Reload of the complete file: %v", err)
	}
	if _, ok := w.Current().Lookup(testKey(t, 1).ID()); !ok || w.Err() != nil {
		t.Fatalf("after the rewrite: %v, Err() = %v", w.Current(), w.Err())
	}
	if errs, reloads := rc.counts(); errs != 1 || reloads != 0 {
		t.Errorf("%d errors and %d reloads, want 1 and 0 (the same ring came back)", errs, reloads)
	}
}

// TestWatcherErrAfterReadError: bad content B is refused, the file goes
// missing, then B comes back. Err must report B's error again, not the
// stale read error, and B's error is reported anew since the failure
// changed.
func TestWatcherErrAfterReadError(t *testing.T) {
	t.Parallel()
	path, rc, w := reloadWatcher(t, ringFile(t, 2))
	defer w.Close()
	bad := bytes.Replace(ringFile(t, 3), []byte("state=primary"), []byte("state=primray"), 1)
	isBad := func(err error) bool {
		var fe *keyring.FileError
		return errors.As(err, &fe) && fe.Line == 2 && fe.Field == "state"
	}

	writeRename(t, path, bad)
	if err := w.Reload(); !isBad(err) || !isBad(w.Err()) {
		t.Fatalf("B: Reload = %v, Err = %v", err, w.Err())
	}
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	if err := w.Reload(); !errors.Is(err, os.ErrNotExist) || !errors.Is(w.Err(), os.ErrNotExist) {
		t.Fatalf("missing: Reload = %v, Err = %v", err, w.Err())
	}
	writeRename(t, path, bad)
	if err := w.Reload(); !isBad(err) {
		t.Errorf("B again: Reload = %v, want B's error", err)
	}
	if err := w.Err(); !isBad(err) {
		t.Errorf("B again: Err = %v, want B's error, not the stale read error", err)
	}
	if err := w.Reload(); !isBad(err) || !isBad(w.Err()) {
		t.Errorf("B at the next poll: Reload = %v, Err = %v", err, w.Err())
	}
	rc.mu.Lock()
	errs := append([]error(nil), rc.errs...)
	rc.mu.Unlock()
	if len(errs) != 3 || !isBad(errs[0]) || !errors.Is(errs[1], os.ErrNotExist) || !isBad(errs[2]) {
		t.Errorf("reported %v, want B's error, the read error, B's error", errs)
	}
	if !primaryIs(w, testKey(t, 2))() {
		t.Errorf("the ring changed to %v", w.Current())
	}
}

func TestNewWatcherRefusesBadFile(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	if _, err := keyring.NewWatcher(filepath.Join(dir, "none.txt"), keyring.WatchOptions{}); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing file: %v", err)
	}
	path := filepath.Join(dir, "keyring.txt")
	writeRename(t, path, bytes.Replace(ringFile(t, 2), []byte("state=primary"), []byte("state=staged"), 1))
	_, err := keyring.NewWatcher(path, keyring.WatchOptions{})
	if !errors.Is(err, keyring.ErrInvalidRing) || !strings.HasPrefix(err.Error(), path+": ") {
		t.Errorf("no primary: %v", err)
	}
	if _, err := keyring.NewWatcher(path, keyring.WatchOptions{Interval: -1}); err == nil {
		t.Error("negative interval accepted")
	}
}

// TestWatcherConcurrentReaders swaps the file while readers call Current:
// every reader sees a complete Ring of one of the written versions. The
// readers spin, so it runs in real time, driven by Reload.
func TestWatcherConcurrentReaders(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "keyring.txt")
	writeRename(t, path, ringFile(t, 1))
	w, err := keyring.NewWatcher(path, keyring.WatchOptions{Interval: time.Hour, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	valid := map[string]bool{}
	for seed := byte(1); seed <= 20; seed++ {
		valid[testKey(t, seed).ID()] = true
	}
	var stop atomic.Bool
	var wg sync.WaitGroup
	var reads atomic.Int64
	for range 3 {
		wg.Go(func() {
			for !stop.Load() {
				r := w.Current()
				if r == nil || !valid[r.Primary().ID()] {
					t.Errorf("reader saw %v", r)
					return
				}
				if _, ok := r.Lookup(r.Primary().ID()); !ok {
					t.Errorf("ring without its primary")
					return
				}
				reads.Add(1)
			}
		})
	}
	for seed := byte(2); seed <= 10; seed++ {
		// Let the readers see this version before the next one.
		for n := reads.Load(); reads.Load() < n+8 && !t.Failed(); {
			runtime.Gosched()
		}
		writeRename(t, path, ringFile(t, seed))
		if err := w.Reload(); err != nil || !primaryIs(w, testKey(t, seed))() {
			t.Fatalf("Reload of version %d: %v", seed, err)
		}
	}
	stop.Store(true)
	wg.Wait()
	if reads.Load() == 0 {
		t.Fatal("no reads")
	}
}

func TestWatcherClose(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "keyring.txt")
		writeRename(t, path, ringFile(t, 1))
		var rc recorder
		w, err := keyring.NewWatcher(path, rc.options(poll))
		if err != nil {
			t.Fatal(err)
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		if err := w.Close(); err != nil {
			t.Fatal("second Close:", err)
		}
		writeRename(t, path, ringFile(t, 2))
		for range 5 {
			step()
		}
		if !primaryIs(w, testKey(t, 1))() {
			t.Error("a closed watcher reloaded")
		}
		if err := w.Reload(); err != nil || !primaryIs(w, testKey(t, 1))() {
			t.Errorf("Reload after Close: %v, ring %v; want no error and the ring kept", err, w.Current())
		}
		if _, reloads := rc.counts(); reloads != 0 {
			t.Errorf("%d reloads after Close", reloads)
		}
	})
}

func ExampleNewWatcher() {
	dir, err := os.MkdirTemp("", "keyring")
	if err != nil {
		panic(err)
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "keyring.txt")
	k, _ := keyring.GenerateKey()
	r, _ := keyring.FromKeys(k)
	if err := os.WriteFile(path, keyring.FormatFile(r), 0o600); err != nil {
		panic(err)
	}

	w, err := keyring.NewWatcher(path, keyring.WatchOptions{Interval: 10 * time.Second})
	if err != nil {
		panic(err) // the first load must succeed
	}
	defer w.Close()
	// Pass w wherever a keyring.Source is wanted, e.g. middleware.New(w, cfg).
	var src keyring.Source = w
	fmt.Println(src.Current().Primary().ID() == k.ID())
	// Output: true
}

// TestWatcherCallbacksMayCallBack: OnError and OnReload call Err, Current,
// Reload and Close of their own Watcher. The old Watcher called them with
// its mutex held, so an OnError calling Err deadlocked. Reports made from
// inside a callback come after it, in order.
func TestWatcherCallbacksMayCallBack(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "keyring.txt")
	writeRename(t, path, ringFile(t, 1))
	var (
		w      *keyring.Watcher
		mu     sync.Mutex
		events []string
	)
	note := func(s string) {
		mu.Lock()
		defer mu.Unlock()
		events = append(events, s)
	}
	opts := keyring.WatchOptions{
		Interval: time.Hour, // driven by Reload
		Logger:   quiet,
		OnError: func(err error) {
			if w.Err() == nil {
				t.Error("Err() = nil inside OnError")
			}
			note("error")
			// The file is still bad: the same failure, not reported again.
			if again := w.Reload(); again == nil {
				t.Error("Reload inside OnError succeeded on a bad file")
			}
		},
		OnReload: func(r *keyring.Ring) {
			if w.Current() != r || w.Err() != nil {
				t.Errorf("inside OnReload: Current %v, Err %v", w.Current(), w.Err())
			}
			note("reload " + r.Primary().ID())
			if err := w.Reload(); err != nil {
				t.Errorf("Reload inside OnReload: %v", err)
			}
		},
	}
	var err error
	w, err = keyring.NewWatcher(path, opts)
	if err != nil {
		t.Fatal(err)
	}
	hangtest.Within(t, "Reload of a bad file", 5*time.Second, func() {
		writeRename(t, path, []byte("garbage\n"))
		if w.Reload() == nil {
			t.Error("garbage accepted")
		}
	})
	hangtest.Within(t, "Reload of a good file", 5*time.Second, func() {
		writeRename(t, path, ringFile(t, 2))
		if err := w.Reload(); err != nil {
			t.Error(err)
		}
	})
	mu.Lock()
	got := strings.Join(events, ", ")
	mu.Unlock()
	if wantEvents := "error, reload " + testKey(t, 2).ID(); got != wantEvents {
		t.Errorf("events %q, want %q", got, wantEvents)
	}
	w.Close()

	// Close from inside a callback returns, and nothing is reported or
	// published afterwards.
	var w2 *keyring.Watcher
	var errs atomic.Int32
	w2, err = keyring.NewWatcher(path, keyring.WatchOptions{Interval: time.Hour, Logger: quiet,
		OnError: func(error) { errs.Add(1); w2.Close() }})
	if err != nil {
		t.Fatal(err)
	}
	hangtest.Within(t, "Close inside OnError", 5*time.Second, func() {
		writeRename(t, path, []byte("garbage\n"))
		w2.Reload()
		writeRename(t, path, ringFile(t, 3))
		w2.Reload()
	})
	if errs.Load() != 1 || !primaryIs(w2, testKey(t, 2))() {
		t.Errorf("after Close in OnError: %d errors reported, ring %v", errs.Load(), w2.Current())
	}
}
