//go:build unix

package rotate_test

import (
	"bytes"
	"context"
	"errors"
	"io/fs"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"satchel.dev/keyring"
	"satchel.dev/middleware"
	"satchel.dev/rotate"
)

// TestStoreRevoke revokes a staged key, then the primary, through the
// store, and checks that refused revocations leave the file alone.
func TestStoreRevoke(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, first := newFile(t)
	k1 := first.Primary()
	r, ch, err := at(s, t0.Add(9*time.Hour)).Rotate(ctx, day)
	if err != nil || ch.Staged == "" {
		t.Fatalf("staging: %v %v", ch, err)
	}
	k2 := ch.Staged
	if err := os.Chmod(s.Path(), 0o640); err != nil {
		t.Fatal(err)
	}
	onDisk := func(want *keyring.Ring) {
		t.Helper()
		if !bytes.Equal(readFile(t, s.Path()), keyring.FormatFile(want)) {
			t.Fatal("the file does not hold the returned ring")
		}
		if fi, _ := os.Stat(s.Path()); fi.Mode().Perm() != 0o600 {
			t.Fatalf("mode %v, want 0600 whatever the file had", fi.Mode().Perm())
		}
	}

	r, state, err := at(s, t0.Add(9*time.Hour+time.Minute)).Revoke(ctx, k2)
	if err != nil || state != keyring.Staged || r.Len() != 1 || r.Primary().ID() != k1.ID() {
		t.Fatalf("revoking the staged key: %v %v %v", r, state, err)
	}
	onDisk(r)

	g := &keys{}
	fresh, _ := (&keys{}).next()
	now := t0.Add(9*time.Hour + 2*time.Minute)
	r, state, err = keyed(at(s, now), g.next).Revoke(ctx, k1.ID())
	if err != nil || state != keyring.Primary {
		t.Fatalf("revoking the primary: %v %v", state, err)
	}
	if e, _ := r.Entry(r.Primary().ID()); r.Len() != 1 || e.Key.ID() != fresh.ID() || !e.Promoted.Equal(now) || !e.Created.Equal(now) {
		t.Fatalf("after revoking the primary: %+v", r.Entries())
	}
	onDisk(r)

	before := readFile(t, s.Path())
	for _, id := range []string{k1.ID(), k2, fresh.ExportPASERK()} {
		if _, _, err := keyed(at(s, now), g.next).Revoke(ctx, id); !errors.Is(err, rotate.ErrKeyNotFound) {
			t.Fatalf("revoking an absent key: %v, want ErrKeyNotFound", err)
		}
	}
	if !bytes.Equal(readFile(t, s.Path()), before) {
		t.Fatal("a refused revocation rewrote the file")
	}

	t.Run("missing file", func(t *testing.T) {
		s := rotate.NewStore(filepath.Join(t.TempDir(), "keyring.txt"))
		if _, _, err := at(s, now).Revoke(ctx, k1.ID()); !errors.Is(err, fs.ErrNotExist) {
			t.Fatalf("got %v, want ErrNotExist", err)
		}
		if _, err := os.Stat(s.Path()); !errors.Is(err, fs.ErrNotExist) {
			t.Fatal("Revoke created a keyring")
		}
	})
	t.Run("invalid file", func(t *testing.T) {
		s := rotate.NewStore(filepath.Join(t.TempDir(), "keyring.txt"))
		bad := fileHeader + "\nsecret=" + k1.ExportPASERK() + " state=retired\n"
		if err := os.WriteFile(s.Path(), []byte(bad), 0o600); err != nil {
			t.Fatal(err)
		}
		if _, _, err := at(s, now).Revoke(ctx, k1.ID()); !errors.Is(err, keyring.ErrInvalidRing) {
			t.Fatalf("got %v, want ErrInvalidRing", err)
		}
		if string(readFile(t, s.Path())) != bad {
			t.Fatal("an invalid keyring was rewritten")
		}
	})
}

// TestStoreRevokePrimaryRemovesStaged revokes the primary of a file that
// holds a staged key: the file afterwards holds neither.
func TestStoreRevokePrimaryRemovesStaged(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, first := newFile(t)
	k1 := first.Primary()
	_, ch, err := at(s, t0.Add(9*time.Hour)).Rotate(ctx, day)
	if err != nil || ch.Staged == "" {
		t.Fatalf("staging: %v %v", ch, err)
	}
	r, state, err := at(s, t0.Add(9*time.Hour+time.Minute)).Revoke(ctx, k1.ID())
	if err != nil || state != keyring.Primary {
		t.Fatalf("revoking the primary: %v %v", state, err)
	}
	onDisk, err := keyring.LoadFile(s.Path())
	if err != nil {
		t.Fatal(err)
	}
	for _, ring := range []*keyring.Ring{r, onDisk} {
		if ring.Len() != 1 || ring.Primary().ID() == k1.ID() || ring.Primary().ID() == ch.Staged {
			t.Fatalf("after revoking the primary: %v", ring.Entries())
		}
	}
}

// TestStoreRevokeWaitsForLock: a revocation waits for a rotator holding
// the lock, and gives up when its context ends.
func TestStoreRevokeWaitsForLock(t *testing.T) {
	t.Parallel()
	synctest.Test(t, testStoreRevokeWaitsForLock)
}

func testStoreRevokeWaitsForLock(t *testing.T) {
	s, r := newFile(t)
	held, release := make(chan struct{}), make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		rotate.NewStore(s.Path()).Update(context.Background(), func(*keyring.Ring) (*keyring.Ring, error) {
			close(held)
			<-release
			return nil, nil
		})
	})
	<-held
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if _, _, err := at(s, t0).Revoke(ctx, r.Primary().ID()); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Revoke while locked: %v, want a deadline error", err)
	}
	close(release)
	wg.Wait()
	if got, _, err := at(s, t0).Revoke(context.Background(), r.Primary().ID()); err != nil || got.Primary().ID() == r.Primary().ID() {
		t.Fatalf("after release: %v %v", got, err)
	}
}

// TestRevokeThroughMiddleware: a server following the keyring file with a
// Watcher keeps accepting the revoked key's cookies until its next reload;
// from then on they give an empty session, and cookies are sealed with the
// new primary.
func TestRevokeThroughMiddleware(t *testing.T) {
	t.Parallel()
	s, r := newFile(t)
	leaked := r.Primary().ID()
	w, err := keyring.NewWatcher(s.Path(), keyring.WatchOptions{Interval: time.Hour, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	m, err := middleware.New(w, middleware.Config{Insecure: true, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	h := m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s := middleware.Get(r)
		n, _ := s.GetInt64("n")
		s.Set("n", n+1)
		w.Header().Set("X-N", strconv.FormatInt(n+1, 10))
	}))
	visit := counterVisitor(t, h)

	tok, _ := visit("")
	tok, n := visit(tok)
	if kidOf(t, tok) != leaked || n != 2 {
		t.Fatalf("before: kid %s, counter %d", kidOf(t, tok), n)
	}
	next, _, err := s.Revoke(context.Background(), leaked)
	if err != nil {
		t.Fatal(err)
	}
	// Not reloaded yet: the server still knows only the old keyring.
	if got, n := visit(tok); kidOf(t, got) != leaked || n != 3 {
		t.Fatalf("before the reload: kid %s, counter %d", kidOf(t, got), n)
	}
	if err := w.Reload(); err != nil {
		t.Fatal(err)
	}
	got, n := visit(tok)
	if n != 1 || kidOf(t, got) != next.Primary().ID() {
		t.Fatalf("revoked key's cookie after the reload: counter %d (want a new session, 1), kid %s (want the new primary)", n, kidOf(t, got))
	}
	if _, n := visit(got); n != 2 {
		t.Fatalf("new primary's cookie: counter %d, want 2", n)
	}
}
