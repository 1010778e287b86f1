package bench

import (
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"syscall"
	"testing"
	"time"
)

// loopbackServer starts h on 127.0.0.1 (httptest binds loopback only) and
// returns its URL and a client with enough idle connections for the
// benchmark's client goroutines.
func loopbackServer(tb testing.TB, h http.Handler) (string, *http.Client) {
	tb.Helper()
	srv := httptest.NewUnstartedServer(h)
	srv.Config.ReadHeaderTimeout = 5 * time.Second
	srv.Start()
	tb.Cleanup(srv.Close)
	if host, _, _ := net.SplitHostPort(srv.Listener.Addr().String()); !net.ParseIP(host).IsLoopback() {
		tb.Fatalf("test server on %s, not loopback", host)
	}
	tr := &http.Transport{MaxIdleConns: 64, MaxIdleConnsPerHost: 64, IdleConnTimeout: 30 * time.Second}
	tb.Cleanup(tr.CloseIdleConnections)
	return srv.URL, &http.Client{Transport: tr, Timeout: 10 * time.Second}
}

// cpuTime returns the user plus system CPU time this process has used.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// get sends one GET with the cookie and drains the response.
func get(c *http.Client, url, cookie string) error {
	req, err := http.NewRequest("GET", url, nil)
	if err != nil {
		return err
	}
	req.Header.Set("Cookie", cookie)
	resp, err := c.Do(req)
	if err != nil {
		return err
	}
	_, err = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return err
}

// loadPayload is the session every load request carries: the typical
// shopper with the cart stored as a struct slice ([]benchfix.Item), as a
// real application stores it.
var loadPayload = mustPayload("typical-struct")

// TestLoopback runs a few requests through the load setup so that `go
// test` checks it without running the benchmark.
func TestLoopback(t *testing.T) {
	k := mustKeys(t)
	stacks, err := Stacks(k, func(msg string) { t.Error(msg) })
	if err != nil {
		t.Fatal(err)
	}
	p := loadPayload
	cookie := cookieHeader(stacks[0].Seed(p))
	url, c := loopbackServer(t, stacks[0].Full(p))
	for range 3 {
		if err := get(c, url, cookie); err != nil {
			t.Fatal(err)
		}
	}
}

// BenchmarkLoad drives a loopback HTTP server with concurrent keep-alive
// clients in the same process, for the benchmark's bounded time, and
// reports requests per second (req/s) besides ns/op, and the process's CPU
// time (user and system, client and server together) per request
// (cpu-us/req). On a machine shared with other work, req/s depends on how
// much CPU the others leave; cpu-us/req does much less, and the ratio of
// bare's cpu-us/req to a stack's is the req/s share that stack would get
// on a dedicated CPU-bound machine. kind=read requests
// only read the session; kind=write requests change it, so every response
// carries a Set-Cookie. server=bare is the same server and client with a
// handler that answers "ok" without the middleware: the ratio of a stack's
// req/s to bare's is the share of throughput left after sessions.
// Names: BenchmarkLoad/kind=<read|write>/server=<bare|satchel|gorilla>.
// The payload is loadPayload (typical-struct).
func BenchmarkLoad(b *testing.B) {
	k := mustKeys(b)
	stacks, err := Stacks(k, func(msg string) { panic(msg) })
	if err != nil {
		b.Fatal(err)
	}
	p := loadPayload
	bare := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { ok(w) })
	for _, kind := range []string{"read", "write"} {
		b.Run("kind="+kind, func(b *testing.B) {
			type server struct {
				name   string
				h      http.Handler
				cookie string
			}
			servers := []server{{"bare", bare, cookieHeader(stacks[0].Seed(p))}}
			for _, s := range stacks[:2] {
				h := s.Read(p)
				if kind == "write" {
					h = s.Full(p)
				}
				servers = append(servers, server{s.Name, h, cookieHeader(s.Seed(p))})
			}
			for _, s := range servers {
				b.Run("server="+s.name, func(b *testing.B) {
					url, c := loopbackServer(b, s.h)
					if err := get(c, url, s.cookie); err != nil {
						b.Fatal(err)
					}
					// Four client goroutines per core keep the server busy
					// without queueing far beyond the two cores.
					b.SetParallelism(4)
					b.ReportAllocs()
					cpu0 := cpuTime()
					b.ResetTimer()
					b.RunParallel(func(pb *testing.PB) {
						for pb.Next() {
							if err := get(c, url, s.cookie); err != nil {
								b.Error(err)
								return
							}
						}
					})
					b.StopTimer()
					b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "req/s")
					b.ReportMetric(float64(cpuTime()-cpu0)/float64(time.Microsecond)/float64(b.N), "cpu-us/req")
				})
			}
		})
	}
}
