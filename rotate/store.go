package rotate

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"satchel.dev/keyring"
)

// Store is a keyring file that rotators update safely.
//
// Every change happens under an exclusive lock (flock(2) on a lock file
// beside the keyring, the keyring's path plus ".lock"), so two rotators,
// in one process or in many, never race: the second one waits, then sees
// the first one's result. A change is written to a temporary file in the
// same directory, synced, renamed over the keyring and followed by a sync
// of the directory, so a reader (a [keyring.Watcher], [keyring.LoadFile])
// sees the old file or the new one, never a torn one, even if the writer
// is killed or the machine loses power halfway.
//
// Every keyring file a Store writes has mode 0600, whatever the mode of
// the file it replaces: a key readable by a group is readable by everyone
// in it. The file keeps, where the process may, the owner and group of the
// file it replaces. When the path is a symbolic link, the file it points
// to is replaced. The lock file is opened without following a symbolic
// link and must be a regular file; it is never removed: removing it would
// let two rotators lock two different files.
//
// Reads are those of [keyring.LoadFile]: at most [keyring.MaxFileSize]
// bytes of a regular file that others cannot write.
//
// All rotators of one keyring must use the same path, so that they lock
// the same lock file. A Store holds no open files between calls and is
// safe for concurrent use once its fields are set. It prints as its path.
type Store struct {
	// Now returns the current time, which the changes of Rotate and
	// Revoke record. Nil means time.Now. Set it before the Store is used.
	Now func() time.Time

	// NewKey generates the keys that Rotate and Revoke add. Nil means
	// keyring.GenerateKey. Set it before the Store is used.
	NewKey func() (keyring.Key, error)

	path string
	lock string
}

// NewStore returns the Store of the keyring file at path, with the system
// clock and keyring.GenerateKey. It touches no file; the file need not
// exist yet (see [Store.Create]).
func NewStore(path string) *Store {
	return &Store{path: path, lock: path + ".lock"}
}

// String returns "rotate.Store(PATH)".
func (s *Store) String() string {
	if s == nil {
		return "rotate.Store(nil)"
	}
	return "rotate.Store(" + strconv.Quote(s.path) + ")"
}

// Format implements [fmt.Formatter]: every verb prints [Store.String].
func (s *Store) Format(f fmt.State, verb rune) { io.WriteString(f, s.String()) }

// LogValue implements [slog.LogValuer]: a Store logs as [Store.String].
func (s *Store) LogValue() slog.Value { return slog.StringValue(s.String()) }

func (s *Store) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

func (s *Store) newKey() func() (keyring.Key, error) {
	if s.NewKey != nil {
		return s.NewKey
	}
	return keyring.GenerateKey
}

// Path returns the path of the keyring file.
func (s *Store) Path() string { return s.path }

// Load reads the keyring file without taking the lock: the atomic
// replacement makes that safe. Results are those of [keyring.LoadFile],
// including its warning about a file whose mode is too open.
func (s *Store) Load() (*keyring.Ring, error) {
	return keyring.LoadFile(s.path)
}

// Create writes r as a new keyring file (mode 0600) under the lock. It
// returns an error wrapping [fs.ErrExist] if the file already exists, and
// leaves that file alone. ctx bounds the wait for the lock.
func (s *Store) Create(ctx context.Context, r *keyring.Ring) error {
	if r == nil {
		return errors.New("rotate: nil ring")
	}
	unlock, err := s.lockFile(ctx)
	if err != nil {
		return err
	}
	defer unlock()
	if _, err := os.Lstat(s.path); err == nil {
		return &fs.PathError{Op: "create", Path: s.path, Err: fs.ErrExist}
	} else if !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	return s.writeLocked(keyring.FormatFile(r))
}

// Update locks the store, loads the keyring and calls fn with it. If fn
// returns a ring whose file form differs from the file, Update writes it
// atomically. It returns the ring the file holds afterwards and whether it
// wrote. fn runs under the lock: keep it short and do not call the Store
// from it.
//
// If the file cannot be loaded (missing, unreadable or invalid), fn is not
// called and nothing is written: a damaged keyring is never replaced
// automatically. Errors of loading are those of [keyring.LoadFile]; an
// error of fn is returned as it is. ctx bounds the wait for the lock.
func (s *Store) Update(ctx context.Context, fn func(cur *keyring.Ring) (*keyring.Ring, error)) (*keyring.Ring, bool, error) {
	unlock, err := s.lockFile(ctx)
	if err != nil {
		return nil, false, err
	}
	defer unlock()
	cur, err := s.readLocked()
	if err != nil {
		return nil, false, err
	}
	next, err := fn(cur)
	if err != nil {
		return nil, false, err
	}
	if next == nil {
		return cur, false, nil
	}
	// The format is canonical: the file is FormatFile(cur) byte for byte.
	out := keyring.FormatFile(next)
	if bytes.Equal(out, keyring.FormatFile(cur)) {
		return cur, false, nil
	}
	if err := s.writeLocked(out); err != nil {
		return nil, false, err
	}
	return next, true, nil
}

// readLocked reads and parses the keyring file with keyring.LoadFile: a
// bounded read of a regular file. A file whose mode is too open is read
// all the same (LoadFile's warning is dropped): the next write makes it
// 0600.
func (s *Store) readLocked() (*keyring.Ring, error) {
	r, err := keyring.LoadFile(s.path)
	if r == nil {
		return nil, err
	}
	return r, nil
}

// Rotate applies policy p to the keyring file under the lock, as a cron
// job does: lock, load, [Policy.Next] at s.Now(), write if changed. It
// returns the ring the file holds afterwards and the changes made (empty
// when the file was left alone).
//
// The times a run records (a staged key's created time, a promotion's
// promoted and retired times) must not precede the moment servers can see
// the change, or a slow write (a long fsync under I/O load) would eat into
// Propagation. So when the clock has moved on while the new file was
// written, Rotate writes it once more, still under the lock, with this
// run's times set to a time read after the first file was in place. A
// crash between the two writes leaves the first file, whose times are
// early by the duration of one write.
//
// Two rotators started together make one rotation: the second waits for
// the lock and then finds nothing due. Errors are those of [Store.Update]
// and [Policy.Next]; an invalid file is never replaced.
func (s *Store) Rotate(ctx context.Context, p Policy) (*keyring.Ring, Changes, error) {
	return s.rotate(ctx, p, s.now, s.newKey())
}

// rotate is Rotate with the clock and key generator of a Rotator.
func (s *Store) rotate(ctx context.Context, p Policy, now func() time.Time, newKey func() (keyring.Key, error)) (*keyring.Ring, Changes, error) {
	if err := p.Validate(); err != nil {
		return nil, Changes{}, err
	}
	unlock, err := s.lockFile(ctx)
	if err != nil {
		return nil, Changes{}, err
	}
	defer unlock()
	cur, err := s.readLocked()
	if err != nil {
		return nil, Changes{}, err
	}
	t := now().Round(0).UTC()
	next, ch, err := p.Next(cur, t, newKey)
	if err != nil {
		return nil, Changes{}, err
	}
	if ch.Empty() {
		return cur, ch, nil
	}
	if err := s.writeLocked(keyring.FormatFile(next)); err != nil {
		return nil, Changes{}, err
	}
	if t2 := now().Round(0).UTC(); t2.After(t) {
		next, err = restamp(next, ch, t, t2)
		if err == nil {
			err = s.writeLocked(keyring.FormatFile(next))
		}
		if err != nil {
			return nil, Changes{}, fmt.Errorf("rotate: the change is written, but recording its time failed: %w", err)
		}
	}
	return next, ch, nil
}

// restamp moves the times that the run described by ch set to t over to
// t2.
func restamp(r *keyring.Ring, ch Changes, t, t2 time.Time) (*keyring.Ring, error) {
	ours := map[string]bool{ch.Staged: true, ch.Promoted: true, ch.Retired: true}
	for _, id := range ch.Stamped {
		ours[id] = true
	}
	es := r.Entries()
	for i := range es {
		e := &es[i]
		if !ours[e.Key.ID()] {
			continue
		}
		for _, f := range []*time.Time{&e.Created, &e.Promoted, &e.Retired} {
			if f.Equal(t) {
				*f = t2
			}
		}
	}
	return keyring.New(es)
}

// target returns the file to replace: the target of a symbolic link at
// path, or path itself.
func (s *Store) target() string {
	if t, err := filepath.EvalSymlinks(s.path); err == nil {
		return t
	}
	return s.path
}

// tempPrefix is the name prefix of the temporary files for target.
func tempPrefix(target string) string {
	return "." + filepath.Base(target) + ".tmp-"
}

// writeLocked replaces the keyring file with data. The caller holds the
// lock, so temporary files left by a writer that was killed can be
// removed first: no other writer is active.
func (s *Store) writeLocked(data []byte) (err error) {
	target := s.target()
	dir := filepath.Dir(target)
	prefix := tempPrefix(target)
	if entries, err := os.ReadDir(dir); err == nil {
		for _, e := range entries {
			if strings.HasPrefix(e.Name(), prefix) {
				os.Remove(filepath.Join(dir, e.Name()))
			}
		}
	}

	old, statErr := os.Stat(target)
	f, err := os.CreateTemp(dir, prefix+"*")
	if err != nil {
		return fmt.Errorf("rotate: writing keyring: %w", err)
	}
	tmp := f.Name()
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(tmp)
		}
	}()
	if statErr == nil {
		copyOwner(f, old)
	}
	// CreateTemp makes the file 0600 already; say so, whatever it does.
	if err = f.Chmod(0o600); err != nil {
		return fmt.Errorf("rotate: writing keyring: %w", err)
	}
	if _, err = f.Write(data); err != nil {
		return fmt.Errorf("rotate: writing keyring: %w", err)
	}
	if err = f.Sync(); err != nil {
		return fmt.Errorf("rotate: writing keyring: %w", err)
	}
	if err = f.Close(); err != nil {
		return fmt.Errorf("rotate: writing keyring: %w", err)
	}
	if err = os.Rename(tmp, target); err != nil {
		return fmt.Errorf("rotate: replacing keyring: %w", err)
	}
	if err := syncDir(dir); err != nil {
		// The new file is in place; only its durability across a power
		// loss is in doubt.
		return fmt.Errorf("rotate: keyring replaced, but syncing its directory failed: %w", err)
	}
	return nil
}

// lockFile takes the exclusive lock, polling until ctx is done. The lock
// file is opened without following a symbolic link (an attacker's link
// would make the Store create or truncate a file of their choosing) and
// must be a regular file.
func (s *Store) lockFile(ctx context.Context) (unlock func(), err error) {
	f, err := os.OpenFile(s.lock, os.O_RDWR|os.O_CREATE|lockFlags, 0o600)
	if err != nil {
		return nil, fmt.Errorf("rotate: opening lock file: %w", err)
	}
	if fi, err := f.Stat(); err != nil || !fi.Mode().IsRegular() {
		f.Close()
		if err == nil {
			err = fmt.Errorf("%s is not a regular file", s.lock)
		}
		return nil, fmt.Errorf("rotate: opening lock file: %w", err)
	}
	wait := time.Millisecond
	for {
		ok, err := tryLock(f)
		if err != nil {
			f.Close()
			return nil, fmt.Errorf("rotate: locking %s: %w", s.lock, err)
		}
		if ok {
			return func() { f.Close() }, nil // closing the file releases the lock
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			f.Close()
			return nil, fmt.Errorf("rotate: waiting for the lock on %s: %w", s.lock, ctx.Err())
		case <-t.C:
		}
		wait = min(2*wait, 50*time.Millisecond)
	}
}
