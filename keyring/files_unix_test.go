//go:build unix

package keyring_test

import (
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
	"satchel.dev/keyring"
)

// TestThreat23_NonRegularFilesRefused: a keyring path that leads to a
// device (a symlink to /dev/zero would have LoadFile read without end),
// a named pipe (whose open blocks until a writer comes) or a directory is
// refused at once, without being read.
func TestThreat23_NonRegularFilesRefused(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	zero, fifo := hangtest.SpecialFiles(t, dir)
	for _, path := range []string{zero, fifo, dir} {
		hangtest.Within(t, "LoadFile("+path+")", 5*time.Second, func() {
			r, err := keyring.LoadFile(path)
			if r != nil || !errors.Is(err, keyring.ErrNotRegular) || !strings.HasPrefix(err.Error(), path+": ") {
				t.Errorf("LoadFile(%s) = %v, %v; want ErrNotRegular naming the path", path, r, err)
			}
		})
		hangtest.Within(t, "NewWatcher("+path+")", 5*time.Second, func() {
			if _, err := keyring.NewWatcher(path, keyring.WatchOptions{}); !errors.Is(err, keyring.ErrNotRegular) {
				t.Errorf("NewWatcher(%s) = %v, want ErrNotRegular", path, err)
			}
		})
	}
}

// TestThreat23_WatcherFIFONeverBlocks: the watched file is replaced by a
// named pipe that nobody writes. The old Watcher opened it for reading,
// which blocks until a writer comes, while it held the mutex that Err,
// Reload and Close take: a health check calling Err hung with it. Now the
// pipe is refused without being opened for reading, and every method
// answers at once.
func TestThreat23_WatcherFIFONeverBlocks(t *testing.T) {
	t.Parallel()
	path, _, w := reloadWatcher(t, ringFile(t, 1))
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Mkfifo(path, 0o600); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		// Release a reader the old code left blocked in open.
		if f, err := os.OpenFile(path, os.O_WRONLY|syscall.O_NONBLOCK, 0); err == nil {
			f.Close()
		}
	})
	hangtest.Within(t, "Reload", 5*time.Second, func() {
		if err := w.Reload(); !errors.Is(err, keyring.ErrNotRegular) {
			t.Errorf("Reload = %v, want ErrNotRegular", err)
		}
	})
	hangtest.Within(t, "Err", time.Second, func() {
		if err := w.Err(); !errors.Is(err, keyring.ErrNotRegular) {
			t.Errorf("Err = %v, want ErrNotRegular", err)
		}
	})
	hangtest.Within(t, "Close", time.Second, func() { w.Close() })
	if !primaryIs(w, testKey(t, 1))() {
		t.Errorf("the ring changed to %v", w.Current())
	}
}

// TestWatcherHungReadBlocksNothing: a read that never returns (a dead
// network mount) holds no lock: Err, Current, Close and a concurrent
// Reload's bookkeeping all answer while it hangs, and its late result is
// never published after Close.
func TestWatcherHungReadBlocksNothing(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "keyring.txt")
	writeRename(t, path, ringFile(t, 1))
	var mu sync.Mutex
	hang := false
	entered, release := make(chan struct{}), make(chan struct{})
	load := func(p string) (*keyring.Ring, error) {
		mu.Lock()
		h := hang
		mu.Unlock()
		if h {
			close(entered)
			<-release
		}
		return keyring.LoadFile(p)
	}
	w, err := keyring.NewWatcherLoader(path, keyring.WatchOptions{Interval: time.Hour, Logger: quiet}, load)
	if err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	hang = true
	mu.Unlock()
	writeRename(t, path, ringFile(t, 2))
	reloaded := make(chan error)
	go func() { reloaded <- w.Reload() }()
	<-entered
	hangtest.Within(t, "Err during a hung read", time.Second, func() { w.Err() })
	hangtest.Within(t, "Current during a hung read", time.Second, func() { w.Current() })
	hangtest.Within(t, "Close during a hung read", time.Second, func() { w.Close() })
	close(release)
	if err := <-reloaded; err != nil {
		t.Fatalf("the released Reload: %v", err)
	}
	if !primaryIs(w, testKey(t, 1))() {
		t.Errorf("a read that finished after Close was published: %v", w.Current())
	}
}

// TestThreat23_KeyringFileModes: a keyring file any user may write is
// refused (anyone could plant a key); one that group or others may read
// is loaded with a warning that names the mode, by LoadFile and by the
// Watcher, whose Err reports it.
func TestThreat23_KeyringFileModes(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	for _, tc := range []struct {
		mode   os.FileMode
		refuse bool
		warn   bool
	}{
		{0o600, false, false},
		{0o400, false, false},
		{0o640, false, true},
		{0o620, false, true},
		{0o644, false, true},
		{0o604, false, true},
		{0o602, true, false},
		{0o666, true, false},
	} {
		path := filepath.Join(dir, tc.mode.String())
		if err := os.WriteFile(path, ringFile(t, 2), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(path, tc.mode); err != nil {
			t.Fatal(err)
		}
		r, err := keyring.LoadFile(path)
		switch {
		case tc.refuse:
			if r != nil || !errors.Is(err, keyring.ErrWorldWritable) {
				t.Errorf("%v: LoadFile = %v, %v; want refused with ErrWorldWritable", tc.mode, r, err)
			}
			if _, err := keyring.NewWatcher(path, keyring.WatchOptions{Logger: quiet}); !errors.Is(err, keyring.ErrWorldWritable) {
				t.Errorf("%v: NewWatcher = %v, want ErrWorldWritable", tc.mode, err)
			}
			continue
		case tc.warn:
			if r == nil || !errors.Is(err, keyring.ErrLoosePermissions) || !strings.HasPrefix(err.Error(), path+": ") ||
				!strings.Contains(err.Error(), fmt.Sprintf("mode %#o", tc.mode.Perm())) {
				t.Errorf("%v: LoadFile = %v, %v; want the ring and an ErrLoosePermissions warning", tc.mode, r, err)
			}
		default:
			if r == nil || err != nil {
				t.Errorf("%v: LoadFile = %v, %v", tc.mode, r, err)
			}
		}
		var rc recorder
		w, err := keyring.NewWatcher(path, rc.options(time.Hour))
		if err != nil {
			t.Fatalf("%v: NewWatcher: %v", tc.mode, err)
		}
		w.Close()
		if got := errors.Is(w.Err(), keyring.ErrLoosePermissions); got != tc.warn {
			t.Errorf("%v: Watcher.Err() = %v", tc.mode, w.Err())
		}
		if got := strings.Contains(rc.logged(), "level=WARN") && strings.Contains(rc.logged(), "lets others read the keys"); got != tc.warn {
			t.Errorf("%v: warning logged: %v\n%s", tc.mode, got, rc.logged())
		}
		if errs, _ := rc.counts(); (errs == 1) != tc.warn {
			t.Errorf("%v: %d OnError calls", tc.mode, errs)
		}
	}
}
