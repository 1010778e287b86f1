// Package redistest starts a real redis-server for tests, on a free
// loopback port with its own directory, and stops it after. The Redis
// backend's own tests use it, and so can an application's: the demo
// shop's tests run two shop servers against one.
//
// It needs the redis-server binary (Debian: apt-get install redis-server).
// Without it the test is skipped, or fails when the environment variable
// CI is true, so that a CI machine that forgot to install it cannot pass
// by skipping.
package redistest

import (
	"context"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"
)

// Server is a redis-server the test started on a free loopback port,
// with its own directory and the append-only file on (fsync always), so a
// killed server restarts with every write it acknowledged.
type Server struct {
	t    testing.TB
	bin  string
	dir  string
	port int
	cmd  *exec.Cmd
	done chan struct{}
}

// Find returns the redis-server binary, skipping the test when it is
// missing (failing under CI=true, where it must be installed).
func Find(t testing.TB) string {
	t.Helper()
	if p, err := exec.LookPath("redis-server"); err == nil {
		return p
	}
	if _, err := os.Stat("/usr/bin/redis-server"); err == nil {
		return "/usr/bin/redis-server"
	}
	if os.Getenv("CI") == "true" {
		t.Fatal("redis-server not found: CI must install the Debian package redis-server")
	}
	t.Skip("redis-server not found (apt-get install redis-server); skipping the tests that need it")
	return ""
}

// Start starts a redis-server for the test (see [Find]) and kills it when
// the test ends.
func Start(t testing.TB) *Server {
	t.Helper()
	r := &Server{t: t, bin: Find(t), dir: memDir(t)}
	r.port = freePort(t)
	r.Start()
	t.Cleanup(r.Kill)
	return r
}

// memDir returns a fresh directory in memory (/dev/shm) when there is one,
// else a temporary directory. The tests crash redis-server, not the
// machine, so a file in memory survives exactly as one on disk would; it
// keeps the fsync latency of a busy shared disk out of the propagation
// times the fleet test measures.
func memDir(t testing.TB) string {
	if fi, err := os.Stat("/dev/shm"); err == nil && fi.IsDir() {
		if dir, err := os.MkdirTemp("/dev/shm", "satchel-redis-"); err == nil {
			t.Cleanup(func() { os.RemoveAll(dir) })
			return dir
		}
	}
	return t.TempDir()
}

func freePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// Addr returns the server's host:port on 127.0.0.1.
func (r *Server) Addr() string { return "127.0.0.1:" + strconv.Itoa(r.port) }

// Start runs redis-server and waits (at most 10 s) until it answers.
func (r *Server) Start() {
	r.t.Helper()
	r.cmd = exec.Command(r.bin,
		"--port", strconv.Itoa(r.port), "--bind", "127.0.0.1",
		"--dir", r.dir, "--appendonly", "yes", "--appendfsync", "always",
		"--save", "", "--daemonize", "no", "--loglevel", "warning",
		"--logfile", filepath.Join(r.dir, "redis.log"))
	if err := r.cmd.Start(); err != nil {
		r.t.Fatalf("starting redis-server: %v", err)
	}
	r.done = make(chan struct{})
	go func(cmd *exec.Cmd, done chan struct{}) { cmd.Wait(); close(done) }(r.cmd, r.done)
	c := goredis.NewClient(&goredis.Options{Addr: r.Addr(), MaxRetries: -1})
	defer c.Close()
	deadline := time.Now().Add(10 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		err := c.Ping(ctx).Err()
		cancel()
		if err == nil {
			return
		}
		select {
		case <-r.done:
			log, _ := os.ReadFile(filepath.Join(r.dir, "redis.log"))
			r.t.Fatalf("redis-server exited at start: %s", log)
		default:
		}
		if time.Now().After(deadline) {
			r.t.Fatalf("redis-server did not answer within 10s: %v", err)
		}
		time.Sleep(20 * time.Millisecond) // polling a starting process
	}
}

// Kill stops the server with SIGKILL, as a crash would.
func (r *Server) Kill() {
	if r.cmd == nil {
		return
	}
	r.cmd.Process.Kill()
	<-r.done
	r.cmd = nil
}

// Client returns a go-redis client for r, closed at the end of the test.
// It gives up on a dead server quickly, as a production client should be
// configured to.
func (r *Server) Client(t testing.TB) *goredis.Client {
	c := goredis.NewClient(&goredis.Options{
		Addr:         r.Addr(),
		DialTimeout:  200 * time.Millisecond,
		ReadTimeout:  time.Second,
		WriteTimeout: time.Second,
		MaxRetries:   -1,
	})
	t.Cleanup(func() { c.Close() })
	return c
}

// WaitFor polls cond every millisecond until it holds or d passes, and
// returns how long it took and whether it held. Real time is unavoidable:
// the thing waited for happens in redis-server and over TCP.
func WaitFor(d time.Duration, cond func() bool) (time.Duration, bool) {
	start := time.Now()
	for {
		if cond() {
			return time.Since(start), true
		}
		if time.Since(start) > d {
			return time.Since(start), false
		}
		time.Sleep(time.Millisecond)
	}
}

// MustWait is [WaitFor] that fails the test, naming what, when cond does
// not hold within d.
func MustWait(t testing.TB, what string, d time.Duration, cond func() bool) {
	t.Helper()
	if _, ok := WaitFor(d, cond); !ok {
		t.Fatalf("%s: not within %v", what, d)
	}
}

// Proxy forwards loopback TCP connections to a Server and can stop
// forwarding without closing anything, as a network partition that drops
// packets does.
type Proxy struct {
	ln     net.Listener
	target string
	frozen atomic.Bool
	mu     sync.Mutex
	conns  []net.Conn
}

// NewProxy starts a proxy to target on a free loopback port, closed at the
// end of the test.
func NewProxy(t testing.TB, target string) *Proxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &Proxy{ln: ln, target: target}
	go p.serve()
	t.Cleanup(p.close)
	return p
}

// Addr returns the address clients dial.
func (p *Proxy) Addr() string { return p.ln.Addr().String() }

// Partition stops (true) or resumes (false) forwarding in both directions.
func (p *Proxy) Partition(on bool) { p.frozen.Store(on) }

func (p *Proxy) serve() {
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		up, err := net.Dial("tcp", p.target)
		if err != nil {
			c.Close()
			continue
		}
		p.mu.Lock()
		p.conns = append(p.conns, c, up)
		p.mu.Unlock()
		go p.pipe(c, up)
		go p.pipe(up, c)
	}
}

// pipe copies src to dst, holding bytes back while the proxy is frozen.
func (p *Proxy) pipe(dst, src net.Conn) {
	defer dst.Close()
	defer src.Close()
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		for p.frozen.Load() {
			time.Sleep(5 * time.Millisecond) // a partition: bytes wait
		}
		if n > 0 {
			if _, werr := dst.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}

func (p *Proxy) close() {
	p.ln.Close()
	p.frozen.Store(false)
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range p.conns {
		c.Close()
	}
}
