//go:build unix

package fleet_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/cookiejar"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"satchel.dev/keyring"
	"satchel.dev/middleware"
	"satchel.dev/rotate"
)

// The fleet's timing. Keys rotate every 2 s and are staged 1 s ahead;
// servers poll the file every 100 ms, well within Propagation (the timing
// rule, with room for a loaded CI machine). Sessions live 10 s and the
// handler renews a session older than a third of that, so active users
// keep their sessions (unless the machine stalls them for 7 s) while
// retired keys are deleted 12 s after their retirement.
var (
	policy = rotate.Policy{
		Interval:    2 * time.Second,
		Propagation: time.Second,
		MaxAge:      10 * time.Second,
		Leeway:      time.Second,
	}
	watchInterval = 100 * time.Millisecond
)

const (
	serverEnv = "FLEET_SERVER"
	fileEnv   = "FLEET_KEYRING"
	watchEnv  = "FLEET_WATCH"
	users     = 60
)

func TestMain(m *testing.M) {
	if os.Getenv(serverEnv) != "" {
		watch, err := time.ParseDuration(os.Getenv(watchEnv))
		if err != nil {
			fmt.Fprintln(os.Stderr, "server:", err)
			os.Exit(2)
		}
		serve(os.Getenv(fileEnv), watch)
		return
	}
	os.Exit(m.Run())
}

// debugf writes a timestamped line to standard error when $FLEET_DEBUG is
// set, to trace reloads, rotations and rejections across the processes.
func debugf(format string, a ...any) {
	if os.Getenv("FLEET_DEBUG") != "" {
		fmt.Fprintf(os.Stderr, "%s %s\n", time.Now().Format("15:04:05.000"), fmt.Sprintf(format, a...))
	}
}

// stats is what a server reports at /stats.
type stats struct {
	Requests  int64            `json:"requests"`
	Rejected  int64            `json:"rejected"`  // requests whose session cookie gave an empty session
	Reloads   int64            `json:"reloads"`   // keyrings the Watcher published
	Reasons   map[string]int64 `json:"reasons"`   // why the middleware ignored cookies
	Mismatch  int64            `json:"mismatch"`  // sessions holding another user's data
	WatchErrs int64            `json:"watchErrs"` // failed reloads
}

// reasons counts the middleware's debug records by their reason.
type reasons struct {
	mu sync.Mutex
	m  map[string]int64
}

func (h *reasons) Enabled(context.Context, slog.Level) bool { return true }
func (h *reasons) WithAttrs([]slog.Attr) slog.Handler       { return h }
func (h *reasons) WithGroup(string) slog.Handler            { return h }
func (h *reasons) Handle(_ context.Context, r slog.Record) error {
	key := r.Message
	r.Attrs(func(a slog.Attr) bool {
		if a.Key == "reason" {
			key = a.Value.String()
		}
		return true
	})
	h.mu.Lock()
	h.m[key]++
	h.mu.Unlock()
	return nil
}

func (h *reasons) snapshot() map[string]int64 {
	h.mu.Lock()
	defer h.mu.Unlock()
	out := make(map[string]int64, len(h.m))
	for k, v := range h.m {
		out[k] = v
	}
	return out
}

// serve runs one server of the fleet: a Watcher on the keyring file, the
// middleware on top, and a counter handler. It prints its address and
// exits when its standard input closes (the test ended or died).
func serve(path string, watch time.Duration) {
	var reloads, watchErrs, requests, rejected, mismatch atomic.Int64
	w, err := keyring.NewWatcher(path, keyring.WatchOptions{
		Interval: watch,
		Logger:   slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})),
		OnReload: func(r *keyring.Ring) { reloads.Add(1); debugf("server %d reloaded %v", os.Getpid(), r) },
		OnError:  func(error) { watchErrs.Add(1) },
	})
	if err != nil {
		fmt.Fprintln(os.Stderr, "server:", err)
		os.Exit(1)
	}
	why := &reasons{m: map[string]int64{}}
	m, err := middleware.New(w, middleware.Config{
		Insecure: true, // plain HTTP on loopback
		MaxAge:   policy.MaxAge,
		Leeway:   policy.Leeway,
		Logger:   slog.New(why),
	})
	if err != nil {
		fmt.Fprintln(os.Stderr, "server:", err)
		os.Exit(1)
	}
	mux := http.NewServeMux()
	mux.Handle("/inc", m.Handler(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		requests.Add(1)
		s := middleware.Get(r)
		user := r.URL.Query().Get("u")
		if s.IsNew() && strings.Contains(r.Header.Get("Cookie"), middleware.DefaultInsecureName+"=") {
			rejected.Add(1)
			debugf("server %d rejected a cookie; ring %v", os.Getpid(), w.Current())
			rw.Header().Set("X-Rejected", "1")
		}
		if !s.IsNew() {
			if got, _ := s.GetString("u"); got != user {
				mismatch.Add(1)
				http.Error(rw, "session of another user", http.StatusConflict)
				return
			}
			if time.Since(s.Created()) > policy.MaxAge/3 {
				s.Restart() // keeps the values, new id, restarts the absolute lifetime
			}
		}
		n, _ := s.GetInt64("n")
		n++
		s.Set("n", n)
		s.Set("u", user)
		fmt.Fprint(rw, n)
	})))
	mux.HandleFunc("/stats", func(rw http.ResponseWriter, r *http.Request) {
		json.NewEncoder(rw).Encode(stats{
			Requests: requests.Load(), Rejected: rejected.Load(), Reloads: reloads.Load(),
			Reasons: why.snapshot(), Mismatch: mismatch.Load(), WatchErrs: watchErrs.Load(),
		})
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Fprintln(os.Stderr, "server:", err)
		os.Exit(1)
	}
	fmt.Println("listening", ln.Addr())
	go func() {
		io.Copy(io.Discard, os.Stdin)
		os.Exit(0)
	}()
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	srv.Serve(ln)
}

// startServer starts one server process and returns its address.
func startServer(t *testing.T, path string, watch time.Duration) string {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	// Under the race detector a process waits a second before it exits;
	// the servers are killed anyway, so they need not.
	cmd.Env = append(os.Environ(), serverEnv+"=1", fileEnv+"="+path, watchEnv+"="+watch.String(), "GORACE="+os.Getenv("GORACE")+" atexit_sleep_ms=0")
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		stdin.Close()
		done := make(chan struct{})
		go func() { cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			cmd.Process.Kill()
			<-done
		}
	})
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil {
		t.Fatalf("server did not start: %v", err)
	}
	addr, ok := strings.CutPrefix(strings.TrimSpace(line), "listening ")
	if !ok || !strings.HasPrefix(addr, "127.0.0.1:") {
		t.Fatalf("server printed %q", line)
	}
	return addr
}

// user is one simulated browser.
type user struct {
	id        string
	client    *http.Client
	successes int64 // requests answered 200
	last      int64 // the counter in the last answer
	lost      int64 // answers whose counter was not the previous one plus one
	rejected  int64 // answers whose cookie the server refused
	failed    int64 // transport errors and non-200 answers
}

// figures are the totals of one fleet run.
type figures struct {
	elapsed                                     time.Duration
	requests, successes, failed                 int64
	rotations, deletions, reloads, reloadErrors int64
	rejected, serverRejected, lost, mismatch    int64
	reasons                                     map[string]int64
	badCounters                                 int // users whose counter differs from their successes
}

// runFleet starts the rotator and one server per element of watch (its
// keyring polling interval), runs the load for duration and collects the
// figures.
func runFleet(t *testing.T, duration time.Duration, watch []time.Duration) figures {
	path := filepath.Join(t.TempDir(), "keyring.txt")
	var promotions, deletions atomic.Int64
	rt, err := rotate.NewRotator(rotate.NewStore(path), rotate.Options{
		Policy: policy,
		Create: true,
		Logger: slog.New(slog.DiscardHandler),
		OnChange: func(_ *keyring.Ring, ch rotate.Changes) {
			if ch.Promoted != "" {
				promotions.Add(1)
			}
			deletions.Add(int64(len(ch.Deleted)))
			debugf("rotator: %v", ch)
		},
		OnError: func(err error) { t.Errorf("rotator: %v", err) },
	})
	if err != nil {
		t.Fatal(err)
	}
	defer rt.Close()

	addrs := make([]string, len(watch))
	for i := range addrs {
		addrs[i] = startServer(t, path, watch[i])
	}

	us := make([]*user, users)
	for i := range us {
		jar, _ := cookiejar.New(nil) // cookies ignore ports: one jar serves all three servers
		us[i] = &user{
			id:     "user-" + strconv.Itoa(i),
			client: &http.Client{Jar: jar, Timeout: 10 * time.Second},
		}
	}
	start := time.Now()
	deadline := start.Add(duration)
	var wg sync.WaitGroup
	for i, u := range us {
		rng := rand.New(rand.NewPCG(uint64(i), 99))
		wg.Go(func() {
			for time.Now().Before(deadline) {
				u.request(addrs[rng.IntN(len(addrs))])
				// A real pause: the servers are other processes on the
				// real clock, and users do not hammer them in a loop.
				time.Sleep(time.Duration(rng.IntN(10)) * time.Millisecond)
			}
		})
	}
	wg.Wait()
	f := figures{elapsed: time.Since(start), reasons: map[string]int64{}}
	rt.Close()
	f.rotations, f.deletions = promotions.Load(), deletions.Load()

	for _, u := range us {
		f.requests += u.successes + u.failed
		f.successes += u.successes
		f.lost += u.lost
		f.rejected += u.rejected
		f.failed += u.failed
		if u.last != u.successes {
			f.badCounters++
		}
	}
	for _, addr := range addrs {
		st := serverStats(t, addr)
		f.serverRejected += st.Rejected
		f.reloads += st.Reloads
		f.mismatch += st.Mismatch
		f.reloadErrors += st.WatchErrs
		for k, v := range st.Reasons {
			f.reasons[k] += v
		}
	}
	t.Logf("fleet: %d servers polling every %v, %d users, %v of load; policy %+v", len(watch), watch, users, f.elapsed.Round(time.Millisecond), policy)
	t.Logf("requests %d (%.0f/s), successful %d, failed %d", f.requests, float64(f.requests)/f.elapsed.Seconds(), f.successes, f.failed)
	t.Logf("rotations %d, keys deleted %d, keyring reloads across servers %d, reload errors %d", f.rotations, f.deletions, f.reloads, f.reloadErrors)
	t.Logf("rejections %d (server-side %d), lost updates %d, cross-user sessions %d, users with a wrong counter %d",
		f.rejected, f.serverRejected, f.lost, f.mismatch, f.badCounters)
	t.Logf("cookies the middleware ignored, by reason: %v", f.reasons)
	return f
}

// TestFleet is the zero-downtime proof: with Propagation above the
// servers' reload time, no request is rejected and no update is lost
// while keys turn over every 2 s.
// longTests is the environment variable that enables the multi-process
// tests, which take real time: CI sets it.
const longTests = "SATCHEL_LONG_TESTS"

// needLong skips t unless $SATCHEL_LONG_TESTS is 1.
func needLong(t *testing.T) {
	t.Helper()
	if os.Getenv(longTests) != "1" {
		t.Skip("a multi-process test that runs in real time (about 30 s); set " + longTests + "=1 to run it")
	}
}

func TestFleet(t *testing.T) {
	needLong(t)
	t.Parallel()
	duration := 20 * time.Second
	if testing.Short() {
		duration = 5 * time.Second
	}
	if s := os.Getenv("FLEET_DURATION"); s != "" {
		d, err := time.ParseDuration(s)
		if err != nil || d <= 0 || d > 5*time.Minute {
			t.Fatalf("FLEET_DURATION=%q: want a duration up to 5m", s)
		}
		duration = d
	}
	f := runFleet(t, duration, []time.Duration{watchInterval, watchInterval, watchInterval})
	if f.rejected != 0 || f.serverRejected != 0 {
		t.Errorf("%d requests were rejected", max(f.rejected, f.serverRejected))
	}
	if f.lost != 0 || f.badCounters != 0 {
		t.Errorf("%d lost updates; %d users' counters differ from their successful requests", f.lost, f.badCounters)
	}
	if f.failed != 0 || f.mismatch != 0 || f.reloadErrors != 0 {
		t.Errorf("%d failed requests, %d cross-user sessions, %d reload errors", f.failed, f.mismatch, f.reloadErrors)
	}
	if len(f.reasons) != 0 {
		t.Errorf("the middleware ignored cookies: %v", f.reasons)
	}
	// The test means something only if keys really turned over under load
	// (the bound leaves room for a machine that stalls the rotator).
	if want := int64(duration / policy.Interval / 2); f.rotations < want {
		t.Errorf("only %d rotations in %v, want at least %d", f.rotations, duration, want)
	}
	if duration >= 15*time.Second && f.deletions == 0 {
		t.Errorf("no retired key was deleted")
	}
	if f.successes < int64(users)*10 {
		t.Errorf("only %d successful requests", f.successes)
	}
}

// TestFleetTimingRuleViolated is the control experiment: the same fleet
// with one server that polls the keyring every 5 s, longer than the 1 s
// Propagation, breaks the timing rule, and the fleet test sees it as
// requests rejected for an unknown key. It shows that TestFleet can fail.
// (The slow server first reloads 5 s after it starts, so it always misses
// the first rotation, 2 s in.)
func TestFleetTimingRuleViolated(t *testing.T) {
	needLong(t)
	t.Parallel()
	if testing.Short() {
		t.Skip("control experiment")
	}
	f := runFleet(t, 8*time.Second, []time.Duration{watchInterval, watchInterval, 5 * time.Second})
	if f.rejected == 0 || f.reasons["unknown key"] == 0 {
		t.Errorf("servers reloading slower than Propagation caused no unknown-key rejection (%d rejections, reasons %v)", f.rejected, f.reasons)
	}
}

// request sends one increment to the server at addr and checks the answer.
func (u *user) request(addr string) {
	resp, err := u.client.Get("http://" + addr + "/inc?u=" + u.id)
	if err != nil {
		u.failed++
		return
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil || resp.StatusCode != http.StatusOK {
		u.failed++
		return
	}
	n, err := strconv.ParseInt(string(body), 10, 64)
	if err != nil {
		u.failed++
		return
	}
	if resp.Header.Get("X-Rejected") != "" {
		u.rejected++
	}
	if n != u.last+1 {
		u.lost++
	}
	u.successes++
	u.last = n
}

func serverStats(t *testing.T, addr string) stats {
	t.Helper()
	resp, err := http.Get("http://" + addr + "/stats")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var st stats
	if err := json.NewDecoder(resp.Body).Decode(&st); err != nil {
		t.Fatal(err)
	}
	return st
}
