// Command satchel-revoke signs sessions out across a fleet, for an
// operator responding to an incident: it appends a revocation to the Redis
// stream that every server's satchel.dev/revoke/redis Store follows.
//
// Usage:
//
//	satchel-revoke [flags] session [-expires TIME | -max-age DURATION] ID
//	satchel-revoke [flags] subject [-at TIME] SUBJECT
//
// "session" signs out one session id ("-" reads it from standard input,
// which keeps it out of the process list and shell history). "subject"
// signs a user out everywhere: every session of SUBJECT created at or
// before -at (default now) is refused.
//
// Flags:
//
//	-redis URL     the Redis to write to (default $SATCHEL_REDIS_URL, else
//	               redis://127.0.0.1:6379/0); rediss:// for TLS
//	-stream KEY    the stream key (default satchel:revocations)
//
// It prints what it did: a session id only as a short SHA-256
// fingerprint, the Redis address without credentials. It exits 0 on
// success, 1 when Redis refuses or cannot be reached, 2 on a usage error.
package main

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"satchel.dev/revoke"
	revokeredis "satchel.dev/revoke/redis"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr, os.Getenv))
}

const defaultURL = "redis://127.0.0.1:6379/0"

// errUsage marks errors that exit 2.
var errUsage = errors.New("usage")

func run(args []string, stdin io.Reader, stdout, stderr io.Writer, getenv func(string) string) int {
	err := revokeCmd(args, stdin, stdout, getenv)
	switch {
	case err == nil:
		return 0
	case errors.Is(err, flag.ErrHelp):
		return 0
	case errors.Is(err, errUsage):
		fmt.Fprintf(stderr, "satchel-revoke: %v\n", err)
		fmt.Fprintln(stderr, "usage: satchel-revoke [-redis URL] [-stream KEY] session [-expires TIME | -max-age DURATION] ID|-")
		fmt.Fprintln(stderr, "       satchel-revoke [-redis URL] [-stream KEY] subject [-at TIME] SUBJECT")
		return 2
	default:
		fmt.Fprintf(stderr, "satchel-revoke: %v\n", err)
		return 1
	}
}

func usage(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{errUsage}, args...)...)
}

func revokeCmd(args []string, stdin io.Reader, stdout io.Writer, getenv func(string) string) error {
	fs := flag.NewFlagSet("satchel-revoke", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	url := fs.String("redis", "", "Redis URL")
	stream := fs.String("stream", revokeredis.DefaultStream, "stream key")
	if err := fs.Parse(args); err != nil {
		return usage("%v", err)
	}
	if *url == "" {
		*url = getenv("SATCHEL_REDIS_URL")
	}
	if *url == "" {
		*url = defaultURL
	}
	opts, err := goredis.ParseURL(*url)
	if err != nil {
		// go-redis's message may quote the URL, password included.
		return usage("the Redis URL does not parse")
	}
	if fs.NArg() == 0 {
		return usage("no command")
	}
	var e revokeredis.Entry
	var what string
	now := time.Now()
	switch cmd, rest := fs.Arg(0), fs.Args()[1:]; cmd {
	case "session":
		sf := flag.NewFlagSet("session", flag.ContinueOnError)
		sf.SetOutput(io.Discard)
		expires := sf.String("expires", "", "the token's expiry, RFC 3339")
		maxAge := sf.Duration("max-age", revoke.DefaultMaxAge, "the sessions' MaxAge, when the expiry is unknown")
		if err := sf.Parse(rest); err != nil {
			return usage("session: %v", err)
		}
		if sf.NArg() != 1 {
			return usage("session: want one session id (or - to read it from standard input)")
		}
		id := sf.Arg(0)
		if id == "-" {
			line, err := bufio.NewReader(io.LimitReader(stdin, revoke.MaxIDLen+2)).ReadString('\n')
			if err != nil && err != io.EOF {
				return fmt.Errorf("reading the session id: %w", err)
			}
			id = strings.TrimSpace(line)
		}
		e.ID = id
		e.Expires = now.Add(*maxAge)
		if *expires != "" {
			if e.Expires, err = time.Parse(time.RFC3339, *expires); err != nil {
				return usage("session: -expires is not an RFC 3339 time")
			}
			if !e.Expires.After(now) {
				return usage("session: -expires is in the past; no copy of that token can open any more")
			}
		}
		sum := sha256.Sum256([]byte(id))
		what = fmt.Sprintf("signed out session sha256:%s until %s", hex.EncodeToString(sum[:6]), e.Expires.UTC().Format(time.RFC3339))
	case "subject":
		sf := flag.NewFlagSet("subject", flag.ContinueOnError)
		sf.SetOutput(io.Discard)
		at := sf.String("at", "", "sign out sessions created at or before this RFC 3339 time (default now)")
		if err := sf.Parse(rest); err != nil {
			return usage("subject: %v", err)
		}
		if sf.NArg() != 1 {
			return usage("subject: want one subject")
		}
		e.Subject, e.At = sf.Arg(0), now
		if *at != "" {
			if e.At, err = time.Parse(time.RFC3339, *at); err != nil {
				return usage("subject: -at is not an RFC 3339 time")
			}
			if e.At.After(now.Add(revoke.MaxLeeway)) {
				return usage("subject: -at is in the future")
			}
		}
		what = fmt.Sprintf("signed out subject %q everywhere: sessions created at or before %s",
			e.Subject, e.At.UTC().Truncate(time.Second).Format(time.RFC3339))
	default:
		return usage("unknown command %q", cmd)
	}

	client := goredis.NewClient(opts)
	defer client.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	entry, err := revokeredis.Append(ctx, client, *stream, e)
	if errors.Is(err, revoke.ErrInvalid) {
		return usage("%v", err)
	}
	if err != nil {
		return fmt.Errorf("redis at %s: %w", opts.Addr, err)
	}
	fmt.Fprintf(stdout, "%s (stream %s at %s, entry %s)\n", what, *stream, opts.Addr, entry)
	return nil
}
