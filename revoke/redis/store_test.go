package redis_test

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"satchel.dev/internal/logbuf"
	"satchel.dev/revoke"
	revokeredis "satchel.dev/revoke/redis"
	"satchel.dev/revoke/redis/redistest"
)

var ctx = context.Background()

func newID() string {
	var b [16]byte
	rand.Read(b[:])
	return base64.RawURLEncoding.EncodeToString(b[:])
}

func newSet(t testing.TB) *revoke.Set {
	t.Helper()
	s, err := revoke.New(revoke.Config{MaxAge: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// newStore starts a Store on c and waits until it has read the stream.
func newStore(t testing.TB, c goredis.UniversalClient, cfg revokeredis.Config) (*revokeredis.Store, *revoke.Set) {
	t.Helper()
	set := newSet(t)
	s, err := revokeredis.New(c, set, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	wctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := s.Wait(wctx); err != nil {
		t.Fatalf("Wait: %v", err)
	}
	return s, set
}

func TestNewConfig(t *testing.T) {
	t.Parallel()
	c := goredis.NewClient(&goredis.Options{Addr: "127.0.0.1:1"})
	defer c.Close()
	set := newSet(t)
	for _, tt := range []struct {
		name string
		cfg  revokeredis.Config
	}{
		{"negative stale", revokeredis.Config{StaleAfter: -time.Second}},
		{"stale too short", revokeredis.Config{StaleAfter: 100 * time.Millisecond}},
		{"fail-closed below stale", revokeredis.Config{StaleAfter: 5 * time.Second, FailClosedAfter: time.Second}},
		{"long stream key", revokeredis.Config{Stream: strings.Repeat("k", 300)}},
	} {
		if s, err := revokeredis.New(c, set, tt.cfg); err == nil {
			s.Close()
			t.Errorf("%s: New accepted it", tt.name)
		}
	}
	if _, err := revokeredis.New(nil, set, revokeredis.Config{}); err == nil {
		t.Error("New accepted a nil client")
	}
	for _, rt := range []time.Duration{-1, 100 * time.Millisecond} {
		c := goredis.NewClient(&goredis.Options{Addr: "127.0.0.1:1", ReadTimeout: rt})
		if s, err := revokeredis.New(c, set, revokeredis.Config{}); err == nil {
			s.Close()
			t.Errorf("New accepted a client with ReadTimeout %v", rt)
		}
		c.Close()
	}
}

// A sign-out on one server reaches another; a server that starts later
// catches up on everything still in force.
func TestPropagationAndCatchUp(t *testing.T) {
	t.Parallel()
	r := redistest.Start(t)
	a, _ := newStore(t, r.Client(t), revokeredis.Config{})
	b, _ := newStore(t, r.Client(t), revokeredis.Config{})
	id := newID()
	if err := a.RevokeSession(ctx, id, time.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if !a.Revoked(id, "", time.Now()) {
		t.Fatal("not revoked on the server that signed out")
	}
	redistest.MustWait(t, "sign-out on the other server", 2*time.Second, func() bool { return b.Revoked(id, "", time.Now()) })
	created := time.Now().Add(-time.Minute)
	kept := newID()
	if err := b.RevokeSubject(ctx, "ada", time.Now(), kept); err != nil {
		t.Fatal(err)
	}
	redistest.MustWait(t, "subject mark on the other server", 2*time.Second, func() bool { return a.Revoked(newID(), "ada", created) })
	if a.Revoked(kept, "ada", created) {
		t.Fatal("the kept id did not travel")
	}

	late, _ := newStore(t, r.Client(t), revokeredis.Config{})
	if !late.Revoked(id, "", time.Now()) || !late.Revoked("", "ada", created) || late.Revoked(kept, "ada", created) {
		t.Fatal("a late server did not catch up on the stream")
	}
	if h := late.Health(); !h.Ready || h.Stale || h.Applied != 2 || h.Refused != 0 || h.Set != (revoke.Stats{Sessions: 1, Subjects: 1}) {
		t.Fatalf("late server health %+v", h)
	}
	if err := late.Check(); err != nil {
		t.Fatal(err)
	}
}

// Bad data in the stream is refused, logged without its content, and does
// not stop the entries after it; another application's stream under the
// key is refused entry by entry.
func TestThreat21_PoisonedStream(t *testing.T) {
	t.Parallel()
	r := redistest.Start(t)
	c := r.Client(t)
	const secret = "s3cr3t-value"
	bad := []map[string]any{
		{"v": "1", "kind": "session", "id": secret},                                                                      // no exp
		{"v": "1", "kind": "session", "id": secret, "exp": "12x"},                                                        // bad number
		{"v": "1", "kind": "session", "id": secret, "exp": "-5"},                                                         // negative
		{"v": "1", "kind": "session", "id": secret, "exp": "99999999999999"},                                             // past year 9999
		{"v": "2", "kind": "session", "id": secret, "exp": "1900000000"},                                                 // other version
		{"v": "1", "kind": "session", "id": secret, "exp": "1900000000", "sub": "x"},                                     // extra field
		{"v": "1", "kind": "session", "id": strings.Repeat("a", 200), "exp": "1900000000"},                               // long id
		{"v": "1", "kind": "session", "id": "a b", "exp": "1900000000"},                                                  // bad byte
		{"v": "1", "kind": "subject", "sub": secret + "\xff", "at": strconv.FormatInt(time.Now().UnixNano(), 10)},        // not UTF-8
		{"v": "1", "kind": "subject", "sub": secret, "at": strconv.FormatInt(time.Now().UnixNano(), 10), "keep": "a,,b"}, // empty kept id
		{"v": "1", "kind": "subject", "sub": secret, "at": "4102444800000000000"},                                        // far future
		{"v": "1", "kind": "other", "id": secret, "exp": "1900000000"},                                                   // unknown kind
		{"event": "order-created", "order": secret, "total": "12.50"},                                                    // another app
		{"v": "1", "kind": "session", "id": secret, "exp": "1900000000", "pad": strings.Repeat("x", 1<<20)},              // huge
	}
	for _, v := range bad {
		if err := c.XAdd(ctx, &goredis.XAddArgs{Stream: revokeredis.DefaultStream, Values: v}).Err(); err != nil {
			t.Fatal(err)
		}
	}
	// Repeated fields need the raw command: go-redis's map would merge them.
	if err := c.Do(ctx, "XADD", revokeredis.DefaultStream, "*", "v", "1", "kind", "session",
		"id", secret, "id", newID(), "exp", "1900000000").Err(); err != nil {
		t.Fatal(err)
	}
	good := newID()
	if err := c.XAdd(ctx, &goredis.XAddArgs{Stream: revokeredis.DefaultStream,
		Values: []any{"v", "1", "kind", "session", "id", good, "exp", time.Now().Add(time.Hour).Unix()}}).Err(); err != nil {
		t.Fatal(err)
	}
	var logs logbuf.Buffer
	s, set := newStore(t, c, revokeredis.Config{Logger: logs.Logger()})
	if !s.Revoked(good, "", time.Now()) {
		t.Fatal("the good entry after the bad ones was not applied")
	}
	h := s.Health()
	if h.Refused != uint64(len(bad)+1) || h.Applied != 1 || set.Len() != (revoke.Stats{Sessions: 1}) {
		t.Fatalf("health %+v, set %+v; want %d refused, 1 applied", h, set.Len(), len(bad)+1)
	}
	out := logs.String()
	if n := strings.Count(out, "revocation stream entry refused"); n != 10 {
		t.Errorf("%d refusal lines, want the first 10", n)
	}
	if strings.Contains(out, secret) || strings.Contains(out, good) {
		t.Errorf("log holds an entry's values:\n%s", out)
	}
	// The server goes on following the stream.
	later := newID()
	s.RevokeSession(ctx, later, time.Now().Add(time.Hour))
	other, _ := newStore(t, c, revokeredis.Config{})
	if !other.Revoked(later, "", time.Now()) {
		t.Fatal("stream stopped after bad entries")
	}
}

// A key of another type under the stream's name stalls nothing: the
// follower reports it, stays stale, and the local set still works.
func TestWrongKeyType(t *testing.T) {
	t.Parallel()
	r := redistest.Start(t)
	c := r.Client(t)
	if err := c.Set(ctx, revokeredis.DefaultStream, "not a stream", 0).Err(); err != nil {
		t.Fatal(err)
	}
	var logs logbuf.Buffer
	set := newSet(t)
	s, err := revokeredis.New(c, set, revokeredis.Config{Logger: logs.Logger(), StaleAfter: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	redistest.MustWait(t, "staleness logged", 5*time.Second, func() bool {
		return strings.Contains(logs.String(), "revocations stale")
	})
	if err := s.Check(); !errors.Is(err, revokeredis.ErrStale) {
		t.Fatalf("Check = %v, want ErrStale", err)
	}
	if !strings.Contains(logs.String(), "WRONGTYPE") {
		t.Errorf("the reason is not logged:\n%s", logs.String())
	}
	id := newID()
	if err := s.RevokeSession(ctx, id, time.Now().Add(time.Hour)); err != nil || !s.Revoked(id, "", time.Now()) {
		t.Fatalf("local sign-out failed: %v", err)
	}
}

// Redis down: the server keeps serving with its set and reports staleness;
// a sign-out made meanwhile holds on its server at once, is queued, and
// reaches the other server once Redis is back. Nothing is lost across the
// Redis restart (AOF).
func TestThreat21_RedisDown(t *testing.T) {
	t.Parallel()
	r := redistest.Start(t)
	var logs logbuf.Buffer
	cfg := revokeredis.Config{Logger: logs.Logger(), StaleAfter: time.Second, PublishTimeout: 200 * time.Millisecond}
	a, _ := newStore(t, r.Client(t), cfg)
	b, _ := newStore(t, r.Client(t), revokeredis.Config{StaleAfter: time.Second})
	before := newID()
	a.RevokeSession(ctx, before, time.Now().Add(time.Hour))
	redistest.MustWait(t, "first sign-out on b", 2*time.Second, func() bool { return b.Revoked(before, "", time.Now()) })

	r.Kill()
	during := newID()
	if err := a.RevokeSession(ctx, during, time.Now().Add(time.Hour)); err != nil {
		t.Fatalf("sign-out while Redis is down: %v", err)
	}
	if !a.Revoked(during, "", time.Now()) {
		t.Fatal("sign-out made while Redis is down does not hold on its server")
	}
	if h := a.Health(); h.Pending != 1 {
		t.Fatalf("pending %d, want 1", h.Pending)
	}
	// While sign-outs wait, the next ones queue at once.
	during2 := newID()
	start := time.Now()
	if err := a.RevokeSubject(ctx, "ada", time.Now()); err != nil {
		t.Fatal(err)
	}
	if err := a.RevokeSession(ctx, during2, time.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d > 150*time.Millisecond {
		t.Errorf("queued sign-outs waited %v for Redis", d)
	}
	if h := a.Health(); h.Pending != 3 {
		t.Fatalf("pending %d, want 3", h.Pending)
	}
	redistest.MustWait(t, "staleness reported", 6*time.Second, func() bool {
		return a.Health().Stale && b.Check() != nil && strings.Contains(logs.String(), "revocations stale")
	})
	if !b.Revoked(before, "", time.Now()) {
		t.Fatal("b lost its set while Redis was down")
	}
	r.Start()
	redistest.MustWait(t, "queued sign-outs reaching b", 10*time.Second, func() bool {
		return b.Revoked(during, "", time.Now()) && b.Revoked(during2, "", time.Now()) &&
			b.Revoked("", "ada", time.Now().Add(-time.Minute))
	})
	redistest.MustWait(t, "a current again", 5*time.Second, func() bool { h := a.Health(); return h.Pending == 0 && !h.Stale })
	for _, want := range []string{"sign-out queued", "revocation stream unreachable", "revocations stale", "reachable again", "queued sign-outs published"} {
		if !strings.Contains(logs.String(), want) {
			t.Errorf("log lacks %q:\n%s", want, logs.String())
		}
	}
	if strings.Contains(logs.String(), during) {
		t.Error("log holds a session id")
	}
	// A server started now sees both, from the persisted stream.
	late, _ := newStore(t, r.Client(t), revokeredis.Config{})
	if !late.Revoked(before, "", time.Now()) || !late.Revoked(during, "", time.Now()) || !late.Revoked(during2, "", time.Now()) {
		t.Fatal("a sign-out was lost across the Redis restart")
	}
}

// Fail-closed refuses every session while the set is older than its
// bound, and recovers when Redis returns.
func TestFailClosed(t *testing.T) {
	t.Parallel()
	r := redistest.Start(t)
	s, _ := newStore(t, r.Client(t), revokeredis.Config{StaleAfter: time.Second, FailClosedAfter: 1500 * time.Millisecond})
	id := newID()
	if s.Revoked(id, "", time.Now()) {
		t.Fatal("a fresh session refused while current")
	}
	r.Kill()
	redistest.MustWait(t, "fail closed", 6*time.Second, func() bool { return s.Revoked(id, "", time.Now()) })
	if h := s.Health(); !h.FailingClosed {
		t.Fatalf("health %+v", h)
	}
	r.Start()
	redistest.MustWait(t, "open again", 10*time.Second, func() bool { return !s.Revoked(id, "", time.Now()) })
}

// A Redis that lost its data (restarted without persistence) makes the
// stream go back; followers notice and read it from the start, so the
// sign-outs made after the loss reach them.
func TestStreamReset(t *testing.T) {
	t.Parallel()
	r := redistest.Start(t)
	c := r.Client(t)
	a, _ := newStore(t, r.Client(t), revokeredis.Config{})
	b, _ := newStore(t, r.Client(t), revokeredis.Config{})
	for range 3 {
		a.RevokeSession(ctx, newID(), time.Now().Add(time.Hour))
	}
	redistest.MustWait(t, "b caught up", 2*time.Second, func() bool { return b.Health().Set.Sessions == 3 })
	// The data is lost; then the restarted Redis gets its ids from 0-1.
	if err := c.Del(ctx, revokeredis.DefaultStream).Err(); err != nil {
		t.Fatal(err)
	}
	c.ClientKillByFilter(ctx, "TYPE", "normal") // the followers see an error, as after a restart
	after := newID()
	if err := c.XAdd(ctx, &goredis.XAddArgs{Stream: revokeredis.DefaultStream, ID: "0-1",
		Values: []any{"v", "1", "kind", "session", "id", after, "exp", time.Now().Add(time.Hour).Unix()}}).Err(); err != nil {
		t.Fatal(err)
	}
	redistest.MustWait(t, "b re-reading the reset stream", 5*time.Second, func() bool { return b.Revoked(after, "", time.Now()) })
	if b.Health().Set.Sessions != 4 {
		t.Fatal("b dropped what it knew")
	}
}

// Close stops the follower promptly, even in the middle of a blocking read
// or while Redis is away.
func TestClose(t *testing.T) {
	t.Parallel()
	r := redistest.Start(t)
	s, _ := newStore(t, r.Client(t), revokeredis.Config{})
	start := time.Now()
	s.Close()
	if d := time.Since(start); d > 2*time.Second {
		t.Fatalf("Close took %v", d)
	}
	set := newSet(t)
	c := goredis.NewClient(&goredis.Options{Addr: "127.0.0.1:1", MaxRetries: -1})
	defer c.Close()
	s2, err := revokeredis.New(c, set, revokeredis.Config{})
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(100 * time.Millisecond) // let it fail and back off at least once
	start = time.Now()
	s2.Close()
	if d := time.Since(start); d > 2*time.Second {
		t.Fatalf("Close while Redis is away took %v", d)
	}
}

// A partition that drops packets (no error, no close) between one server
// and Redis: that server's reads time out, it reports staleness and keeps
// its set, and once the partition heals it catches up on the sign-outs
// made meanwhile.
func TestPartition(t *testing.T) {
	t.Parallel()
	r := redistest.Start(t)
	p := redistest.NewProxy(t, r.Addr())
	var logs logbuf.Buffer
	// No read timeout on the client, but contexts honoured: the Store
	// bounds its own reads.
	cut := goredis.NewClient(&goredis.Options{Addr: p.Addr(), DialTimeout: 200 * time.Millisecond,
		ReadTimeout: -1, ContextTimeoutEnabled: true, MaxRetries: -1})
	defer cut.Close()
	a, _ := newStore(t, r.Client(t), revokeredis.Config{})
	b, _ := newStore(t, cut, revokeredis.Config{Logger: logs.Logger(), StaleAfter: time.Second})
	before := newID()
	a.RevokeSession(ctx, before, time.Now().Add(time.Hour))
	redistest.MustWait(t, "sign-out on b", 2*time.Second, func() bool { return b.Revoked(before, "", time.Now()) })

	p.Partition(true)
	during := newID()
	a.RevokeSession(ctx, during, time.Now().Add(time.Hour))
	redistest.MustWait(t, "staleness on b", 10*time.Second, func() bool {
		return b.Check() != nil && strings.Contains(logs.String(), "revocations stale")
	})
	if !b.Revoked(before, "", time.Now()) {
		t.Fatal("b lost its set during the partition")
	}
	p.Partition(false)
	redistest.MustWait(t, "b catching up after the partition", 10*time.Second, func() bool {
		return b.Revoked(during, "", time.Now()) && b.Check() == nil
	})
}
