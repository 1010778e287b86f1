// Command shop is a small web shop that keeps its whole state (who is
// logged in, the cart, the theme, a gift note, flash messages) in a satchel
// session cookie. It is the README's first command:
//
//	go run ./examples/shop
//
// then open http://localhost:8080.
//
// # Keys
//
// The shop reads its keyring from $SATCHEL_KEYS: k4.local PASERKs
// separated by commas or spaces, the first one primary. When the variable
// is unset it generates a random development key at start and says so on
// stderr; sessions then end when the server stops.
//
// # Sign-out that sticks
//
// Signing out revokes the session, so a copy of the cookie stops working;
// "Sign out everywhere" ends every session of the user. By default the
// record of sign-outs lives in this process (satchel.dev/revoke). Set
// $SATCHEL_REDIS to a redis://host:port URL to share it through Redis
// (satchel.dev/revoke/redis): then any number of shop processes that share
// $SATCHEL_KEYS and $SATCHEL_REDIS enforce each other's sign-outs, e.g.
//
//	SATCHEL_KEYS=$(go run ./cmd/satchel keygen) SATCHEL_REDIS=redis://127.0.0.1:6379 go run ./examples/shop -addr 127.0.0.1:8081
//
// and the same with -addr 127.0.0.1:8082.
//
// # Plain HTTP
//
// The session cookie keeps its production attributes (__Host- prefix,
// Secure, HttpOnly, SameSite=Lax) even over plain HTTP, because browsers
// treat http://localhost and http://127.0.0.1 as secure contexts and keep
// Secure cookies there (Chromium and Firefox do; Safari does not). For a
// browser that refuses them, or a non-loopback address without TLS, run
// with -insecure, which drops Secure and the __Host- prefix.
//
// Flags:
//
//	-addr      listen address (default 127.0.0.1:8080)
//	-insecure  cookie without Secure, for browsers that refuse Secure cookies over http
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"satchel.dev/keyring"
	"satchel.dev/middleware"
	"satchel.dev/revoke"
	revokeredis "satchel.dev/revoke/redis"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Getenv, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "shop:", err)
		os.Exit(1)
	}
}

// run parses args, loads the keys, and serves until ctx ends. It reports
// on stderr and returns an error when it cannot start.
func run(ctx context.Context, args []string, getenv func(string) string, stderr io.Writer) error {
	fs := flag.NewFlagSet("shop", flag.ContinueOnError)
	fs.SetOutput(stderr)
	addr := fs.String("addr", "127.0.0.1:8080", "listen `address`")
	insecure := fs.Bool("insecure", false, "send the session cookie without Secure (and without the __Host- prefix), for browsers that refuse Secure cookies over plain http")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}

	ring, err := loadKeys(getenv, stderr)
	if err != nil {
		return err
	}
	logger := slog.New(slog.NewTextHandler(stderr, nil))
	revoked, closeRevoked, err := loadRevocations(ctx, getenv, logger, stderr)
	if err != nil {
		return err
	}
	defer closeRevoked()
	handler, err := newApp(ring, options{Insecure: *insecure, Logger: logger, Revocations: revoked})
	if err != nil {
		return err
	}

	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return err
	}
	tcp, _ := ln.Addr().(*net.TCPAddr)
	if !*insecure && (tcp == nil || !tcp.IP.IsLoopback()) {
		fmt.Fprintln(stderr, "shop: warning: browsers send Secure cookies over plain http only to localhost; "+
			"on this address logins will not stick unless you run with -insecure or put TLS in front")
	}
	// The server's own pid: `go run` starts the shop as a child process,
	// so stopping the go tool's pid would leave the server running.
	fmt.Fprintf(stderr, "shop: listening on http://%s (pid %d)\n", ln.Addr(), os.Getpid())

	srv := &http.Server{
		Handler:           handler,
		ReadHeaderTimeout: 10 * time.Second,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		<-ctx.Done()
		shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		srv.Shutdown(shutdown)
	}()
	err = srv.Serve(ln)
	if errors.Is(err, http.ErrServerClosed) {
		<-done
		return nil
	}
	return err
}

// loadKeys reads the keyring from $SATCHEL_KEYS or, when it is unset,
// makes a one-off development key and says so on stderr.
func loadKeys(getenv func(string) string, stderr io.Writer) (*keyring.Ring, error) {
	v := getenv(keyring.EnvVar)
	if strings.TrimSpace(v) != "" {
		ring, err := keyring.ParseKeys(v)
		if err != nil {
			return nil, fmt.Errorf("$%s: %w", keyring.EnvVar, err)
		}
		return ring, nil
	}
	key, err := keyring.GenerateKey()
	if err != nil {
		return nil, err
	}
	fmt.Fprintf(stderr, "shop: $%s is not set: using a random development key (%s); "+
		"sessions will not survive a restart\n", keyring.EnvVar, key.ID())
	return keyring.FromKeys(key)
}

// redisEnv names the variable that points the shop at a shared Redis.
const redisEnv = "SATCHEL_REDIS"

// loadRevocations returns the record of sign-outs: shared through the Redis
// at $SATCHEL_REDIS when it is set, else nil, which makes the app keep an
// in-process one. With Redis it waits (a few seconds at most) until every
// sign-out still in force has been read, so that a copied cookie is
// refused from the first request on. The returned func releases it.
func loadRevocations(ctx context.Context, getenv func(string) string, logger *slog.Logger, stderr io.Writer) (revocations, func(), error) {
	raw := strings.TrimSpace(getenv(redisEnv))
	if raw == "" {
		fmt.Fprintf(stderr, "shop: $%s is not set: sign-outs are recorded in this process only\n", redisEnv)
		return nil, func() {}, nil
	}
	opts, err := goredis.ParseURL(raw)
	if err != nil {
		// The URL may hold a password: name the variable, not its value.
		return nil, nil, fmt.Errorf("$%s is not a redis:// URL", redisEnv)
	}
	client := goredis.NewClient(opts)
	set, err := revoke.New(revoke.Config{MaxAge: middleware.DefaultMaxAge})
	if err != nil {
		client.Close()
		return nil, nil, err
	}
	store, err := revokeredis.New(client, set, revokeredis.Config{Logger: logger})
	if err != nil {
		client.Close()
		return nil, nil, err
	}
	release := func() {
		store.Close()
		client.Close()
	}
	wait, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if err := store.Wait(wait); err != nil {
		release()
		return nil, nil, fmt.Errorf("reading sign-outs from Redis at %s: %w", opts.Addr, err)
	}
	fmt.Fprintf(stderr, "shop: sign-outs are shared through Redis at %s\n", opts.Addr)
	return store, release, nil
}
