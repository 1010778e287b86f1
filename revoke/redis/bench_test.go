package redis_test

import (
	"context"
	"strconv"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	revokeredis "satchel.dev/revoke/redis"
	"satchel.dev/revoke/redis/redistest"
)

// BenchmarkCatchUp measures how long a server starting late takes to read
// a stream of 100,000 live sign-outs into its set (New to Wait), the cost
// of a restart or a new server joining a fleet; entries/s is the rate.
func BenchmarkCatchUp(b *testing.B) {
	const n = 100_000
	r := redistest.Start(b)
	c := r.Client(b)
	exp := strconv.FormatInt(time.Now().Add(time.Hour).Unix(), 10)
	for i := 0; i < n; i += 1000 {
		pipe := c.Pipeline()
		for range 1000 {
			pipe.XAdd(ctx, &goredis.XAddArgs{Stream: revokeredis.DefaultStream,
				Values: []any{"v", "1", "kind", "session", "id", newID(), "exp", exp}})
		}
		if _, err := pipe.Exec(ctx); err != nil {
			b.Fatal(err)
		}
	}
	b.ResetTimer()
	for b.Loop() {
		set := newSet(b)
		s, err := revokeredis.New(c, set, revokeredis.Config{})
		if err != nil {
			b.Fatal(err)
		}
		wctx, cancel := context.WithTimeout(ctx, time.Minute)
		err = s.Wait(wctx)
		cancel()
		// Close waits out the follower's blocking read (up to half a
		// second), which is not catch-up time.
		b.StopTimer()
		s.Close()
		b.StartTimer()
		if err != nil {
			b.Fatal(err)
		}
		if got := set.Len().Sessions; got != n {
			b.Fatalf("caught up on %d entries, want %d", got, n)
		}
	}
	b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "entries/s")
}
