package redis_test

import (
	"fmt"
	"log/slog"
	"strings"
	"testing"

	goredis "github.com/redis/go-redis/v9"

	"satchel.dev/internal/logbuf"
	"satchel.dev/internal/printtest"
	revokeredis "satchel.dev/revoke/redis"
)

// TestStorePrintsNoPassword prints a Store whose go-redis client carries
// a password, and its Config, every way a program might log them (every
// fmt verb, as a pointer and in an unexported field, slog's handlers,
// slog.Default, encoding/json), and searches the output, and the Store's
// own log, for the password. The client points at 127.0.0.1:1, so no
// server is needed: the follower fails to connect and says so in the log.
func TestStorePrintsNoPassword(t *testing.T) {
	password := "redis-password-for-print-test"
	c := goredis.NewClient(&goredis.Options{Addr: "127.0.0.1:1", Username: "satchel", Password: password})
	defer c.Close()
	var logs logbuf.Buffer
	cfg := revokeredis.Config{Logger: slog.New(slog.NewTextHandler(&logs, nil))}
	s, err := revokeredis.New(c, newSet(t), cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	secret := []byte(password)
	printtest.Check(t, "*Store", s, secret)
	printtest.Check(t, "Config", cfg, secret)
	printtest.Check(t, "*Config", &cfg, secret)
	out := printtest.CheckDefaultLog(t, []any{s, cfg}, secret)
	if !strings.Contains(out, revokeredis.DefaultStream) {
		t.Errorf("a Store prints without its stream key: %s", out)
	}
	if got := fmt.Sprintf("%+v", s); got != `redis.Store{stream="`+revokeredis.DefaultStream+`"}` {
		t.Errorf("a Store prints as %s", got)
	}
	s.Close()
	if f := printtest.Leaked(logs.String(), secret); f != "" {
		t.Errorf("the Store's log leaks %q:\n%s", f, logs.String())
	}
}
