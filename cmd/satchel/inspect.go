package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
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
data. TOKEN may also be a cookie as a browser shows it (NAME=TOKEN), a
whole Cookie header ("Cookie: a=1; NAME=TOKEN"), or "-" to read any of
these from standard input, which keeps it out of the shell history.

A token is authenticated together with an implicit assertion that it
does not carry: the middleware binds the cookie name and its
Config.Audience there. -cookie and -audience rebuild it; the cookie name
defaults to the NAME of a NAME=TOKEN argument, else "__Host-session" (the
middleware's default name; with Config.Insecure it is "session").
-implicit gives the exact bytes instead. Chunked cookies (MaxChunks > 1)
must be joined first.

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
	leeway := middleware.DefaultLeeway
	fs.Var(duration{&leeway}, "leeway", "clock-skew leeway for exp, nbf and iat; 0 means the middleware's default, a negative value none")
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
	tok, name, err := cookieValue(tok, *cookie)
	if err != nil {
		return c.fail("inspect", err)
	}
	imp := []byte(*implicit)
	if !setImplicit {
		n := *cookie
		if n == "" {
			n = name // the cookie's own name, when given as NAME=TOKEN
		}
		if n == "" {
			n = middleware.DefaultName
		}
		imp = middleware.ImplicitAssertion(n, *audience)
	}

	r, src, err := c.loadRing(*path)
	if err != nil {
		return c.fail("inspect", err)
	}
	switch {
	case leeway == 0:
		leeway = middleware.DefaultLeeway
	case leeway < 0:
		leeway = -1 // none, in the convention of token.Options
	}
	claims, err := token.Open(r, tok, imp, &token.Options{Now: func() time.Time { return now }, Leeway: leeway})
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

// cookieValue finds the token in s: a bare token, "NAME=TOKEN", or a
// Cookie header ("Cookie: a=1; NAME=TOKEN"), which http.ParseCookie
// reads. It returns the token and the cookie's name ("" for a bare
// token). Among several cookies it takes the one named want, or else the
// only one whose value is a v4 token. Errors never contain s.
func cookieValue(s, want string) (tok, name string, err error) {
	s = strings.TrimSpace(s)
	if t := strings.Trim(s, `"`); strings.HasPrefix(t, "v4.") {
		return t, "", nil
	}
	if h, ok := strings.CutPrefix(s, "Cookie:"); ok {
		s = strings.TrimSpace(h)
	}
	cookies, err := http.ParseCookie(s)
	if err != nil {
		return "", "", errors.New("TOKEN is neither a token, nor NAME=TOKEN, nor a Cookie header")
	}
	var found *http.Cookie
	for _, c := range cookies {
		switch {
		case want != "" && c.Name == want:
			return c.Value, c.Name, nil
		case want == "" && strings.HasPrefix(c.Value, "v4."):
			if found != nil {
				return "", "", errors.New("several cookies hold tokens: name the one to open with -cookie")
			}
			found = c
		}
	}
	if found == nil {
		if want != "" {
			return "", "", fmt.Errorf("no cookie named %q", want)
		}
		return "", "", errors.New("no cookie holds a v4 token")
	}
	return found.Value, found.Name, nil
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
