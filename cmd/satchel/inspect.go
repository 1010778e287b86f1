package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"time"

	"satchel.dev/keyring"
	"satchel.dev/middleware"
	"satchel.dev/token"
)

const inspectUsage = `Usage: satchel inspect [-file PATH] [-cookie NAME [-audience AUD] | -implicit BYTES] TOKEN

Opens TOKEN, a v4.local token, with the keyring file PATH (or the keys of
$SATCHEL_KEYS without -file) and prints the id and state of the key that
sealed it and its claims: expiry, issue time, not-before, id and session
data. TOKEN may also be a cookie as a browser shows it (NAME=TOKEN) or "-"
to read it from standard input, which keeps it out of the shell history.

A token is authenticated together with an implicit assertion that it
does not carry: the middleware binds the cookie name and its
Config.Audience there. -cookie and -audience rebuild it; the cookie name
defaults to the NAME of a NAME=TOKEN argument, else "session" (the
middleware's name with Config.Insecure). -implicit gives the exact bytes
instead. Chunked cookies (MaxChunks > 1) must be joined first.

Exits 1 if the token does not open: malformed or tampered, sealed under
another assertion, expired, not yet valid or sealed with a key the keyring
does not hold.
`

func (c *cli) inspect(args []string) int {
	fs := c.flagSet("inspect", inspectUsage)
	path := fs.String("file", "", "the keyring file (default: $"+keyring.EnvVar+")")
	cookie := fs.String("cookie", "", "the cookie name the middleware used (its Config.Name, e.g. __Host-session)")
	audience := fs.String("audience", "", "the middleware's Config.Audience")
	implicit := fs.String("implicit", "", "the exact implicit assertion, instead of -cookie and -audience")
	at := fs.String("now", "", "open the token as of this RFC 3339 time instead of now")
	leeway := fs.Duration("leeway", middleware.DefaultLeeway, "clock-skew leeway for exp, nbf and iat (the middleware's default)")
	rest, code, done := c.parse(fs, args)
	if done {
		return code
	}
	if len(rest) != 1 {
		return c.usageErr(fs, "want exactly one TOKEN (or - for standard input)")
	}
	setImplicit, setCookie := false, false
	fs.Visit(func(f *flag.Flag) {
		switch f.Name {
		case "implicit":
			setImplicit = true
		case "cookie", "audience":
			setCookie = true
		}
	})
	if setImplicit && setCookie {
		return c.usageErr(fs, "-implicit excludes -cookie and -audience")
	}
	now := c.now()
	if *at != "" {
		t, err := time.Parse(time.RFC3339Nano, *at)
		if err != nil {
			return c.usageErr(fs, "-now: want an RFC 3339 time like 2026-11-01T09:00:00Z")
		}
		now = t
	}
	tok := rest[0]
	if tok == "-" {
		line, err := bufio.NewReader(io.LimitReader(c.stdin, 64<<10)).ReadString('\n')
		if err != nil && !errors.Is(err, io.EOF) {
			return c.fail("inspect", err)
		}
		tok = line
	}
	tok, name := cookieValue(tok)
	imp := []byte(*implicit)
	if !setImplicit {
		n := *cookie
		if n == "" {
			n = name // the cookie's own name, when given as NAME=TOKEN
		}
		if n == "" {
			n = middleware.DefaultInsecureName
		}
		imp = middleware.ImplicitAssertion(n, *audience)
	}

	r, src, err := loadRing(*path)
	if err != nil {
		return c.fail("inspect", err)
	}
	claims, err := token.Open(r, tok, imp, &token.Options{Now: func() time.Time { return now }, Leeway: *leeway})
	if err != nil {
		return c.fail("inspect", explain(err, src))
	}
	e, _ := r.Entry(claims.KeyID)
	fmt.Fprintf(c.stdout, "key:        %s (%s in %s)\n", claims.KeyID, e.State, src)
	fmt.Fprintf(c.stdout, "expires:    %s (in %s)\n", formatTime(claims.Expiry), claims.Expiry.Sub(now).Round(time.Second))
	if !claims.IssuedAt.IsZero() {
		fmt.Fprintf(c.stdout, "issued:     %s\n", formatTime(claims.IssuedAt))
	}
	if !claims.NotBefore.IsZero() {
		fmt.Fprintf(c.stdout, "not before: %s\n", formatTime(claims.NotBefore))
	}
	if claims.ID != "" {
		fmt.Fprintf(c.stdout, "id:         %s\n", claims.ID)
	}
	data, err := json.MarshalIndent(claims.Data, "", "  ")
	if err != nil {
		return c.fail("inspect", err)
	}
	fmt.Fprintf(c.stdout, "data:       %s\n", data)
	return exitOK
}

// cookieValue trims white space and quotes and splits a "NAME=TOKEN"
// cookie into the token and the name. From a whole Cookie header
// ("Cookie: a=1; session=v4.local...") it takes the cookie whose value is
// a v4 token.
func cookieValue(s string) (tok, name string) {
	s = strings.TrimSpace(s)
	s = strings.TrimSpace(strings.TrimPrefix(s, "Cookie:"))
	if strings.Contains(s, ";") {
		for part := range strings.SplitSeq(s, ";") {
			if strings.Contains(part, "v4.") {
				s = strings.TrimSpace(part)
				break
			}
		}
	}
	if !strings.HasPrefix(s, "v4.") {
		if n, v, ok := strings.Cut(s, "="); ok {
			name, s = strings.TrimSpace(n), v
		}
	}
	return strings.Trim(s, `"`), name
}

// explain adds a hint to a token error; it never includes the token.
func explain(err error, src string) error {
	switch {
	case errors.Is(err, token.ErrExpired):
		return fmt.Errorf("%w (use -now to open it as of an earlier time)", err)
	case errors.Is(err, token.ErrUnknownKey):
		return fmt.Errorf("%w: the key that sealed it is not in %s (deleted by rotation, or another keyring)", err, src)
	case errors.Is(err, token.ErrInvalid):
		return fmt.Errorf("%w: malformed, tampered with, or sealed under another implicit assertion (check -cookie, -audience or -implicit)", err)
	}
	return err
}
