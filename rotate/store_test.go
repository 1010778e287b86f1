//go:build unix

package rotate_test

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"testing/synctest"
	"time"

	"satchel.dev/keyring"
	"satchel.dev/rotate"
)

// Child process modes of the test binary, chosen by $ROTATE_TEST_CHILD.
const childEnv = "ROTATE_TEST_CHILD"

func TestMain(m *testing.M) {
	switch os.Getenv(childEnv) {
	case "":
		os.Exit(m.Run())
	case "writer":
		childWriter()
	case "rotator":
		childRotator()
	default:
		fmt.Fprintln(os.Stderr, "unknown child mode")
		os.Exit(2)
	}
}

// childWriter rewrites $ROTATE_TEST_PATH with the contents of
// $ROTATE_TEST_A and $ROTATE_TEST_B alternately, forever, through a Store.
func childWriter() {
	path := os.Getenv("ROTATE_TEST_PATH")
	var files [2]*keyring.Ring
	for i, name := range []string{"ROTATE_TEST_A", "ROTATE_TEST_B"} {
		r, err := keyring.LoadFile(os.Getenv(name))
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		files[i] = r
	}
	s := rotate.NewStore(path)
	fmt.Println("ready")
	for i := 0; ; i++ {
		_, _, err := s.Update(context.Background(), func(*keyring.Ring) (*keyring.Ring, error) {
			return files[i%2], nil
		})
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
	}
}

// childRotator says "ready" on standard error, waits until its standard
// input is closed, then applies the test policy once at $ROTATE_TEST_NOW
// and prints the changes.
func childRotator() {
	fmt.Fprintln(os.Stderr, "ready")
	io.Copy(io.Discard, os.Stdin)
	now, err := time.Parse(time.RFC3339Nano, os.Getenv("ROTATE_TEST_NOW"))
	if err != nil {
		panic(err)
	}
	_, ch, err := at(rotate.NewStore(os.Getenv("ROTATE_TEST_PATH")), now).Rotate(context.Background(), day)
	if err != nil {
		fmt.Println("error:", err) // on standard output, which the test shows
		os.Exit(1)
	}
	fmt.Println(ch.String())
	os.Exit(0)
}

// quickRaceExit returns the GORACE setting for a child process: under the
// race detector a process waits a second before it exits (to let reports
// of late races print), which would make each child cost a second.
func quickRaceExit() string {
	return "GORACE=" + os.Getenv("GORACE") + " atexit_sleep_ms=0"
}

// at returns a Store of s's file whose clock is stopped at t.
func at(s *rotate.Store, t time.Time) *rotate.Store {
	return withClock(s, func() time.Time { return t })
}

// withClock returns a Store of s's file with the clock now.
func withClock(s *rotate.Store, now func() time.Time) *rotate.Store {
	c := rotate.NewStore(s.Path())
	c.Now, c.NewKey = now, s.NewKey
	return c
}

// keyed returns s with the key generator newKey.
func keyed(s *rotate.Store, newKey func() (keyring.Key, error)) *rotate.Store {
	s.NewKey = newKey
	return s
}

// newFile creates a keyring file with Initial at t0 and returns its store.
func newFile(t *testing.T) (*rotate.Store, *keyring.Ring) {
	t.Helper()
	s := rotate.NewStore(filepath.Join(t.TempDir(), "keyring.txt"))
	r, err := rotate.Initial(t0, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Create(context.Background(), r); err != nil {
		t.Fatal(err)
	}
	return s, r
}

func readFile(t testing.TB, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestStoreCreate(t *testing.T) {
	t.Parallel()
	s, r := newFile(t)
	fi, err := os.Stat(s.Path())
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("new keyring mode %v, want 0600", fi.Mode().Perm())
	}
	before := readFile(t, s.Path())
	if !bytes.Equal(before, keyring.FormatFile(r)) {
		t.Fatal("file is not FormatFile(r)")
	}
	other, _ := rotate.Initial(t0, nil)
	if err := s.Create(context.Background(), other); !errors.Is(err, fs.ErrExist) {
		t.Fatalf("Create over an existing file: %v", err)
	}
	if !bytes.Equal(readFile(t, s.Path()), before) {
		t.Fatal("Create replaced an existing keyring")
	}
	got, err := s.Load()
	if err != nil || got.Primary().ID() != r.Primary().ID() {
		t.Fatalf("Load: %v %v", got, err)
	}
}

func TestStoreRotateWritesOnlyChanges(t *testing.T) {
	t.Parallel()
	s, _ := newFile(t)
	ctx := context.Background()
	ino := func() uint64 {
		fi, err := os.Stat(s.Path())
		if err != nil {
			t.Fatal(err)
		}
		return fi.Sys().(*syscall.Stat_t).Ino
	}
	first := ino()
	r, ch, err := at(s, t0.Add(time.Hour)).Rotate(ctx, day)
	if err != nil || !ch.Empty() || ino() != first {
		t.Fatalf("nothing due, but: %v %v (inode changed: %v)", ch, err, ino() != first)
	}
	r, ch, err = at(s, t0.Add(9*time.Hour)).Rotate(ctx, day)
	if err != nil || ch.Staged == "" || r.Len() != 2 || ino() == first {
		t.Fatalf("staging: %v %v %v", r, ch, err)
	}
	back, err := s.Load()
	if err != nil || !bytes.Equal(keyring.FormatFile(back), keyring.FormatFile(r)) {
		t.Fatalf("the file does not hold the returned ring: %v", err)
	}
	if _, _, err := at(s, t0).Rotate(ctx, rotate.Policy{}); !errors.Is(err, rotate.ErrInvalidPolicy) {
		t.Fatalf("invalid policy: %v", err)
	}
}

// TestRotateStampsAfterWrite: when the clock moves on while the file is
// written (a slow fsync), the times the run recorded are those read after
// the new file was in place, so Propagation counts from the moment servers
// can see a staged key, not from before a slow write.
func TestRotateStampsAfterWrite(t *testing.T) {
	t.Parallel()
	s, _ := newFile(t)
	ctx := context.Background()
	slow := func(start time.Time) (func() time.Time, *int) {
		calls := 0
		return func() time.Time {
			calls++
			return start.Add(time.Duration(calls-1) * 300 * time.Millisecond) // each write takes 300ms
		}, &calls
	}
	clock, calls := slow(t0.Add(9 * time.Hour))
	r, ch, err := withClock(s, clock).Rotate(ctx, day)
	if err != nil || ch.Staged == "" || *calls != 2 {
		t.Fatalf("%v %v, %d clock reads", ch, err, *calls)
	}
	visible := t0.Add(9*time.Hour + 300*time.Millisecond)
	if e, _ := r.Entry(ch.Staged); !e.Created.Equal(visible) {
		t.Fatalf("staged key created %v, want %v (after the write)", e.Created, visible)
	}
	onDisk, _ := s.Load()
	if e, _ := onDisk.Entry(ch.Staged); !e.Created.Equal(visible) {
		t.Fatalf("file records created %v, want %v", e.Created, visible)
	}
	// The promotion waits Propagation from the visible time, and is itself
	// stamped after its write.
	if _, ch, _ := at(s, visible.Add(day.Propagation-time.Nanosecond)).Rotate(ctx, day); !ch.Empty() {
		t.Fatalf("promoted before Propagation from visibility: %v", ch)
	}
	clock, _ = slow(visible.Add(day.Propagation))
	r, ch, err = withClock(s, clock).Rotate(ctx, day)
	if err != nil || ch.Promoted == "" {
		t.Fatalf("%v %v", ch, err)
	}
	want := visible.Add(day.Propagation + 300*time.Millisecond)
	if p, _ := r.Entry(ch.Promoted); !p.Promoted.Equal(want) {
		t.Errorf("promoted at %v, want %v", p.Promoted, want)
	}
	if o, _ := r.Entry(ch.Retired); !o.Retired.Equal(want) || !o.Promoted.Equal(t0) || !o.Created.Equal(t0) {
		t.Errorf("retired entry %+v", o)
	}
}

// TestStoreRefusesInvalidFile: a keyring with no primary, two primaries or
// a duplicate key is never rewritten, and the error names the file and
// line.
func TestStoreRefusesInvalidFile(t *testing.T) {
	t.Parallel()
	g := &keys{}
	k1, k2 := g.key(t), g.key(t)
	line := func(k keyring.Key, state string) string {
		return "secret=" + k.ExportPASERK() + " state=" + state + " created=2026-11-01T09:00:00Z\n"
	}
	for _, tc := range []struct {
		name, file, want string
	}{
		{"no primary", fileHeader + "\n" + line(k1, "retired") + line(k2, "staged"), "keyring.txt: no primary key"},
		{"two primaries", fileHeader + "\n" + line(k1, "primary") + line(k2, "primary"), `keyring.txt:3: field "state": a second primary key (line 2 is primary)`},
		{"duplicate ids", fileHeader + "\n" + line(k1, "primary") + line(k1, "retired"), `keyring.txt:3: field "secret": the same key as line 2`},
		{"truncated", (fileHeader + "\n" + line(k1, "primary"))[:40], `keyring.txt:2: missing newline`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := rotate.NewStore(filepath.Join(t.TempDir(), "keyring.txt"))
			if err := os.WriteFile(s.Path(), []byte(tc.file), 0o600); err != nil {
				t.Fatal(err)
			}
			_, _, err := at(s, t0.Add(100*time.Hour)).Rotate(context.Background(), day)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want an error containing %q", err, tc.want)
			}
			if strings.Contains(err.Error(), k1.ExportPASERK()[9:20]) {
				t.Fatal("error contains key material")
			}
			if string(readFile(t, s.Path())) != tc.file {
				t.Fatal("an invalid keyring was rewritten")
			}
		})
	}
	t.Run("missing", func(t *testing.T) {
		s := rotate.NewStore(filepath.Join(t.TempDir(), "keyring.txt"))
		if _, _, err := at(s, t0).Rotate(context.Background(), day); !errors.Is(err, fs.ErrNotExist) {
			t.Fatalf("missing file: %v", err)
		}
		if _, err := os.Stat(s.Path()); !errors.Is(err, fs.ErrNotExist) {
			t.Fatal("Rotate created a keyring")
		}
	})
}

// TestThreat23_KeyringWritesAre0600: every write of a keyring file,
// whether Create, Rotate, Revoke or Update, leaves it 0600, whatever mode
// the file had. The old Store kept a replaced file's group bits, so a
// keyring made group-readable by hand stayed so across every rotation.
func TestThreat23_KeyringWritesAre0600(t *testing.T) {
	t.Parallel()
	for _, before := range []fs.FileMode{0o600, 0o640, 0o660, 0o644, 0o400} {
		t.Run(before.String(), func(t *testing.T) {
			t.Parallel()
			s, r := newFile(t)
			check := func(what string) {
				t.Helper()
				fi, err := os.Stat(s.Path())
				if err != nil || fi.Mode().Perm() != 0o600 {
					t.Fatalf("after %s: mode %v (%v), want 0600", what, fi.Mode().Perm(), err)
				}
				if err := os.Chmod(s.Path(), before); err != nil {
					t.Fatal(err)
				}
			}
			check("Create")
			if _, ch, err := at(s, t0.Add(9*time.Hour)).Rotate(context.Background(), day); err != nil || ch.Empty() {
				t.Fatalf("%v %v", ch, err)
			}
			check("Rotate")
			if _, _, err := at(s, t0.Add(10*time.Hour)).Revoke(context.Background(), r.Primary().ID()); err != nil {
				t.Fatal(err)
			}
			check("Revoke")
			other, _ := rotate.Initial(t0, nil)
			if _, wrote, err := s.Update(context.Background(), func(*keyring.Ring) (*keyring.Ring, error) { return other, nil }); err != nil || !wrote {
				t.Fatalf("Update: %v %v", wrote, err)
			}
			check("Update")
		})
	}
}

func TestStoreFollowsSymlink(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	real, _ := newFile(t)
	link := filepath.Join(dir, "keyring.txt")
	if err := os.Symlink(real.Path(), link); err != nil {
		t.Fatal(err)
	}
	s := rotate.NewStore(link)
	if _, ch, err := at(s, t0.Add(9*time.Hour)).Rotate(context.Background(), day); err != nil || ch.Empty() {
		t.Fatalf("%v %v", ch, err)
	}
	if fi, err := os.Lstat(link); err != nil || fi.Mode()&fs.ModeSymlink == 0 {
		t.Fatal("the symlink was replaced by a file")
	}
	if r, err := real.Load(); err != nil || r.Len() != 2 {
		t.Fatalf("target not updated: %v %v", r, err)
	}
}

// TestStoreLockWait: a Rotate waits for the lock while another Store holds
// it, until its context ends; it runs in a synctest bubble, so the wait
// costs no real time.
func TestStoreLockWait(t *testing.T) {
	t.Parallel()
	synctest.Test(t, testStoreLockWait)
}

func testStoreLockWait(t *testing.T) {
	s, _ := newFile(t)
	held := make(chan struct{})
	release := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		rotate.NewStore(s.Path()).Update(context.Background(), func(r *keyring.Ring) (*keyring.Ring, error) {
			close(held)
			<-release
			return nil, nil
		})
	})
	<-held
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	_, _, err := at(s, t0.Add(9*time.Hour)).Rotate(ctx, day)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Rotate while locked: %v, want a deadline error", err)
	}
	close(release)
	wg.Wait()
	if _, ch, err := at(s, t0.Add(9*time.Hour)).Rotate(context.Background(), day); err != nil || ch.Staged == "" {
		t.Fatalf("after release: %v %v", ch, err)
	}
}

// TestTwoRotatorsGoroutines starts many rotators at once in one process,
// each with its own Store and lock descriptor: exactly one stages a key.
func TestTwoRotatorsGoroutines(t *testing.T) {
	t.Parallel()
	for round := range 20 {
		s, _ := newFile(t)
		now := t0.Add(9 * time.Hour)
		var staged atomic.Int32
		var wg sync.WaitGroup
		start := make(chan struct{})
		for range 8 {
			wg.Go(func() {
				<-start
				_, ch, err := at(rotate.NewStore(s.Path()), now).Rotate(context.Background(), day)
				if err != nil {
					t.Error(err)
				}
				if ch.Staged != "" {
					staged.Add(1)
				}
			})
		}
		close(start)
		wg.Wait()
		r, err := s.Load()
		if err != nil {
			t.Fatal(err)
		}
		if staged.Load() != 1 || r.Len() != 2 {
			t.Fatalf("round %d: %d rotators staged a key; the ring has %d keys", round, staged.Load(), r.Len())
		}
	}
}

// TestTwoRotatorsProcesses starts several rotator processes that wait on
// a common start signal: one rotation happens, not several.
func TestTwoRotatorsProcesses(t *testing.T) {
	t.Parallel()
	rounds := 5
	if testing.Short() {
		rounds = 2
	}
	for round := range rounds {
		s, _ := newFile(t)
		var outs []*bytes.Buffer
		var cmds []*exec.Cmd
		var gos []io.Closer
		var readies []io.Reader
		for range 4 {
			cmd := exec.Command(os.Args[0])
			cmd.Env = append(os.Environ(), childEnv+"=rotator", "ROTATE_TEST_PATH="+s.Path(), quickRaceExit(),
				"ROTATE_TEST_NOW="+t0.Add(9*time.Hour).Format(time.RFC3339Nano))
			out := &bytes.Buffer{}
			cmd.Stdout = out
			stderr, err := cmd.StderrPipe()
			if err != nil {
				t.Fatal(err)
			}
			stdin, err := cmd.StdinPipe()
			if err != nil {
				t.Fatal(err)
			}
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			outs, cmds, gos, readies = append(outs, out), append(cmds, cmd), append(gos, stdin), append(readies, stderr)
		}
		for _, stderr := range readies {
			ready, err := bufio.NewReader(stderr).ReadString('\n')
			if ready != "ready\n" {
				t.Fatalf("child did not start: %q %v", ready, err)
			}
			go io.Copy(io.Discard, stderr) // a failing child says why on standard output
		}
		for _, g := range gos {
			g.Close() // go: all four at once
		}
		staged := 0
		for i, cmd := range cmds {
			if err := cmd.Wait(); err != nil {
				t.Fatalf("child: %v\n%s", err, outs[i])
			}
			if strings.HasPrefix(outs[i].String(), "staged ") {
				staged++
			} else if outs[i].String() != "no change\n" {
				t.Fatalf("child printed %q", outs[i])
			}
		}
		r, err := s.Load()
		if err != nil {
			t.Fatal(err)
		}
		if staged != 1 || r.Len() != 2 {
			t.Fatalf("round %d: %d processes staged a key; the ring has %d keys", round, staged, r.Len())
		}
	}
}

// bigRing returns a ring of n keys, so that writing it takes a while.
func bigRing(t testing.TB, g *keys, n int) *keyring.Ring {
	es := []keyring.Entry{{Key: g.key(t), State: keyring.Primary, Created: t0, Promoted: t0}}
	for i := 1; i < n; i++ {
		es = append(es, keyring.Entry{Key: g.key(t), State: keyring.Retired, Created: t0, Promoted: t0, Retired: t0.Add(time.Duration(i))})
	}
	r, err := keyring.New(es)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// TestCrashSafety kills a writer process with SIGKILL at random points,
// many times, while a reader in this process reads the file in a loop.
// Every read, and the file after every kill, is one of the two complete
// versions the writer alternates between, never a torn mix.
func TestCrashSafety(t *testing.T) {
	if os.Getenv("SATCHEL_LONG_TESTS") != "1" {
		t.Skip("kills 60 writer processes in real time (about 4 s); set SATCHEL_LONG_TESTS=1 to run it")
	}
	t.Parallel()
	kills := 60
	if testing.Short() {
		kills = 10
	}
	dir := t.TempDir()
	g := &keys{}
	a, b := keyring.FormatFile(bigRing(t, g, 300)), keyring.FormatFile(bigRing(t, g, 150))
	fa, fb := filepath.Join(dir, "a.txt"), filepath.Join(dir, "b.txt")
	os.WriteFile(fa, a, 0o600)
	os.WriteFile(fb, b, 0o600)
	path := filepath.Join(dir, "keyring.txt")
	os.WriteFile(path, a, 0o600)

	var stop atomic.Bool
	var reads, torn atomic.Int64
	var wg sync.WaitGroup
	wg.Go(func() {
		for !stop.Load() {
			data, err := os.ReadFile(path)
			if err != nil {
				t.Errorf("read: %v", err)
				return
			}
			if !bytes.Equal(data, a) && !bytes.Equal(data, b) {
				torn.Add(1)
			}
			reads.Add(1)
		}
	})

	rng := rand.New(rand.NewPCG(7, 8))
	sawA, sawB := 0, 0
	for i := range kills {
		cmd := exec.Command(os.Args[0])
		cmd.Env = append(os.Environ(), childEnv+"=writer", "ROTATE_TEST_PATH="+path, "ROTATE_TEST_A="+fa, "ROTATE_TEST_B="+fb, quickRaceExit())
		out, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		cmd.Stderr = os.Stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		ready := make([]byte, 6)
		if _, err := out.Read(ready); err != nil || string(ready) != "ready\n" {
			t.Fatalf("child %d did not start: %q %v", i, ready, err)
		}
		// A real sleep: the point is to kill another process at a random
		// moment of its writing, which no fake clock can reach.
		time.Sleep(time.Duration(rng.Int64N(int64(60 * time.Millisecond))))
		cmd.Process.Signal(syscall.SIGKILL)
		err = cmd.Wait()
		if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); !ok || !ws.Signaled() {
			t.Fatalf("child %d was not killed: %v", i, err)
		}
		data := readFile(t, path)
		switch {
		case bytes.Equal(data, a):
			sawA++
		case bytes.Equal(data, b):
			sawB++
		default:
			t.Fatalf("after kill %d the file is torn (%d bytes)", i, len(data))
		}
		if _, err := keyring.LoadFile(path); err != nil {
			t.Fatal(err)
		}
	}
	stop.Store(true)
	wg.Wait()
	t.Logf("%d kills: file was version A %d times, B %d times; %d concurrent reads, %d torn", kills, sawA, sawB, reads.Load(), torn.Load())
	if torn.Load() != 0 {
		t.Fatalf("%d reads saw a torn file", torn.Load())
	}
	if sawA == 0 || sawB == 0 {
		t.Errorf("the kills never left version %s: the writer did not get to write", map[bool]string{true: "A", false: "B"}[sawA == 0])
	}

	// Killed writers leave temporary files; the next write under the lock
	// removes them.
	leftovers, _ := filepath.Glob(filepath.Join(dir, ".keyring.txt.tmp-*"))
	t.Logf("%d temporary files left by killed writers", len(leftovers))
	s := rotate.NewStore(path)
	if _, _, err := s.Update(context.Background(), func(*keyring.Ring) (*keyring.Ring, error) {
		return nil, errors.New("refused")
	}); err == nil {
		t.Fatal("Update accepted a failing fn")
	}
	if _, _, err := s.Update(context.Background(), func(cur *keyring.Ring) (*keyring.Ring, error) {
		r, _ := rotate.Initial(t0, nil)
		return r, nil
	}); err != nil {
		t.Fatal(err)
	}
	if left, _ := filepath.Glob(filepath.Join(dir, ".keyring.txt.tmp-*")); len(left) != 0 {
		t.Fatalf("temporary files remain after a write: %v", left)
	}
}

func ExampleStore_Rotate() {
	dir, _ := os.MkdirTemp("", "rotate")
	defer os.RemoveAll(dir)
	s := rotate.NewStore(filepath.Join(dir, "keyring.txt"))
	start := time.Date(2026, 11, 1, 9, 0, 0, 0, time.UTC)
	r, _ := rotate.Initial(start, nil)
	if err := s.Create(context.Background(), r); err != nil {
		panic(err)
	}
	p := rotate.Policy{Interval: 24 * time.Hour, Propagation: time.Hour, MaxAge: 12 * time.Hour, Leeway: time.Minute}
	var now time.Time
	s.Now = func() time.Time { return now } // usually left nil: time.Now
	// What a cron job does every few minutes:
	for _, d := range []time.Duration{23 * time.Hour, 23*time.Hour + 5*time.Minute, 24 * time.Hour} {
		now = start.Add(d)
		r, ch, err := s.Rotate(context.Background(), p)
		if err != nil {
			panic(err)
		}
		fmt.Printf("%v: %d keys, staged=%v promoted=%v\n", d, r.Len(), ch.Staged != "", ch.Promoted != "")
	}
	// Output:
	// 23h0m0s: 2 keys, staged=true promoted=false
	// 23h5m0s: 2 keys, staged=false promoted=false
	// 24h0m0s: 2 keys, staged=false promoted=true
}
