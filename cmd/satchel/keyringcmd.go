package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	iofs "io/fs"
	"strings"
	"text/tabwriter"
	"time"

	"satchel.dev/keyring"
	"satchel.dev/rotate"
)

const keyringUsage = `Usage: satchel keyring COMMAND [flags]

Commands:
  init    create a keyring file with one primary key
  show    list key ids, states and times (never secrets)
  rotate  apply the rotation policy once (what a cron job runs)

Run "satchel keyring COMMAND -h" for a command's flags.
`

func (c *cli) keyring(args []string) int {
	if len(args) == 0 {
		fmt.Fprint(c.stderr, keyringUsage)
		return exitUsage
	}
	switch args[0] {
	case "-h", "-help", "--help", "help":
		fmt.Fprint(c.stdout, keyringUsage)
		return exitOK
	case "init":
		return c.keyringInit(args[1:])
	case "show":
		return c.keyringShow(args[1:])
	case "rotate":
		return c.keyringRotate(args[1:])
	}
	fmt.Fprintf(c.stderr, "satchel keyring: unknown command %q\n\n%s", args[0], keyringUsage)
	return exitUsage
}

// policyFlags registers the rotation policy's flags on fs, with defaults
// that match the middleware's (a 14-day session lifetime).
func policyFlags(fs *flag.FlagSet) *rotate.Policy {
	p := &rotate.Policy{
		Interval:    30 * 24 * time.Hour,
		Propagation: time.Hour,
		MaxAge:      14 * 24 * time.Hour, // middleware.DefaultMaxAge
		Leeway:      time.Minute,
	}
	fs.Var(duration{&p.Interval}, "interval", "how long a key stays primary")
	fs.Var(duration{&p.Propagation}, "propagation", "how long a new key is staged before promotion;\nmust exceed the slowest time a server takes to reload the keyring")
	fs.Var(duration{&p.MaxAge}, "max-age", "the longest session lifetime (the middleware's MaxAge)")
	fs.Var(duration{&p.Leeway}, "leeway", "the clock-skew leeway the servers allow")
	return p
}

const initUsage = `Usage: satchel keyring init -file PATH [-from-env]

Creates the keyring file PATH (mode 0600) holding one new primary key,
created and promoted now. With -from-env, it imports the keys of
$SATCHEL_KEYS instead: the first one primary, the others retired, all
stamped with the current time. It never overwrites an existing file, and
refuses a keyring with no primary key or a key listed twice.
`

func (c *cli) keyringInit(args []string) int {
	fs := c.flagSet("keyring init", initUsage)
	path := fs.String("file", "", "the keyring file to create (required)")
	fromEnv := fs.Bool("from-env", false, "import the keys of $"+keyring.EnvVar)
	rest, code, done := c.parse(fs, args)
	if done {
		return code
	}
	if len(rest) > 0 {
		return c.usageErr(fs, "unexpected argument")
	}
	if *path == "" {
		return c.usageErr(fs, "-file is required")
	}
	now := c.now().Round(0).UTC()
	var r *keyring.Ring
	var err error
	if *fromEnv {
		r, err = importEnv(now)
	} else {
		r, err = rotate.Initial(now, c.newKey)
	}
	if err != nil {
		return c.fail("keyring init", err)
	}
	if err := rotate.NewStore(*path).Create(context.Background(), r); err != nil {
		return c.fail("keyring init", err)
	}
	fmt.Fprintf(c.stdout, "%s: created with %d key(s); primary %s\n", *path, r.Len(), r.Primary().ID())
	return exitOK
}

// importEnv reads $SATCHEL_KEYS and stamps its keys with now.
func importEnv(now time.Time) (*keyring.Ring, error) {
	env, err := keyring.FromEnv(keyring.EnvVar)
	if err != nil {
		return nil, err
	}
	es := env.Entries()
	for i := range es {
		es[i].Created = now
		switch es[i].State {
		case keyring.Primary:
			es[i].Promoted = now
		case keyring.Retired:
			es[i].Retired = now
		}
	}
	return keyring.New(es)
}

const showUsage = `Usage: satchel keyring show [-file PATH] [policy flags]

Lists the keys of the keyring file PATH, or of $SATCHEL_KEYS without
-file: their public k4.lid ids, states and times, never the secrets.
Given any policy flag, it also prints when the policy will next change
the keyring and how.
`

func (c *cli) keyringShow(args []string) int {
	fs := c.flagSet("keyring show", showUsage)
	path := fs.String("file", "", "the keyring file (default: $"+keyring.EnvVar+")")
	p := policyFlags(fs)
	rest, code, done := c.parse(fs, args)
	if done {
		return code
	}
	if len(rest) > 0 {
		return c.usageErr(fs, "unexpected argument")
	}
	withPolicy := false
	fs.Visit(func(f *flag.Flag) { withPolicy = withPolicy || f.Name != "file" })
	if withPolicy {
		if err := p.Validate(); err != nil {
			return c.usageErr(fs, "%v", err)
		}
	}
	r, src, err := loadRing(*path)
	if err != nil {
		return c.fail("keyring show", err)
	}
	fmt.Fprintf(c.stdout, "%s: %d key(s)\n", src, r.Len())
	tw := tabwriter.NewWriter(c.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tSTATE\tCREATED\tPROMOTED\tRETIRED")
	for _, e := range r.Entries() {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", e.Key.ID(), e.State, formatTime(e.Created), formatTime(e.Promoted), formatTime(e.Retired))
	}
	tw.Flush()
	if withPolicy {
		c.printNext(*p, r)
	}
	return exitOK
}

// printNext says when and how the policy will next change r.
func (c *cli) printNext(p rotate.Policy, r *keyring.Ring) {
	at := p.NextChange(r)
	if at.IsZero() {
		at = c.now()
	}
	// A throwaway key stands in for the one the rotator will generate.
	_, ch, err := p.Next(r, at, keyring.GenerateKey)
	if err != nil {
		fmt.Fprintf(c.stdout, "next change: unknown (%v)\n", err)
		return
	}
	fmt.Fprintf(c.stdout, "next change: %s: %s\n", formatTime(at), describe(ch))
}

// describe says what the policy would do, in the imperative, hiding the
// id of a key that is not generated yet.
func describe(ch rotate.Changes) string {
	var parts []string
	for _, id := range ch.Stamped {
		parts = append(parts, "stamp missing times of "+id)
	}
	for _, id := range ch.Deleted {
		parts = append(parts, "delete "+id)
	}
	if ch.Promoted != "" {
		parts = append(parts, "promote "+ch.Promoted, "retire "+ch.Retired)
	}
	if ch.Staged != "" {
		parts = append(parts, "stage a new key")
	}
	if len(parts) == 0 {
		return "nothing"
	}
	return strings.Join(parts, "; ")
}

const rotateUsage = `Usage: satchel keyring rotate -file PATH [policy flags] [-dry-run]

Applies the rotation policy to the keyring file PATH once, as a cron job
or Kubernetes CronJob does: it locks the file (PATH.lock), loads it, stages,
promotes, retires and deletes keys as due, and replaces the file atomically
only when something changed. Run it more often than -propagation (every
few minutes), with the same flags every time. A keyring file that is
invalid (no primary key, a key listed twice, a syntax error) is never
rewritten: the command fails and names the line and field.
`

func (c *cli) keyringRotate(args []string) int {
	fs := c.flagSet("keyring rotate", rotateUsage)
	path := fs.String("file", "", "the keyring file (required)")
	p := policyFlags(fs)
	dry := fs.Bool("dry-run", false, "print what would change without writing")
	timeout := fs.Duration("timeout", time.Minute, "how long to wait for another rotator's lock")
	rest, code, done := c.parse(fs, args)
	if done {
		return code
	}
	if len(rest) > 0 {
		return c.usageErr(fs, "unexpected argument")
	}
	if *path == "" {
		return c.usageErr(fs, "-file is required")
	}
	if err := p.Validate(); err != nil {
		return c.usageErr(fs, "%v", err)
	}
	now := c.now()
	if *dry {
		r, err := keyring.LoadFile(*path)
		if err != nil {
			return c.fail("keyring rotate", err)
		}
		next, ch, err := p.Next(r, now, keyring.GenerateKey)
		if err != nil {
			return c.fail("keyring rotate", err)
		}
		fmt.Fprintf(c.stdout, "%s: would do: %s\n", *path, describe(ch))
		fmt.Fprintf(c.stdout, "next change after that: %s\n", formatTime(p.NextChange(next)))
		return exitOK
	}
	ctx, cancel := context.WithTimeout(context.Background(), *timeout)
	defer cancel()
	r, ch, err := rotate.NewStore(*path).Rotate(ctx, *p, c.now, c.newKey)
	if err != nil {
		switch {
		case errors.Is(err, context.DeadlineExceeded):
			err = fmt.Errorf("%w (another rotator holds the lock)", err)
		case errors.Is(err, iofs.ErrNotExist):
			err = fmt.Errorf("%w (create it with satchel keyring init -file %s)", err, *path)
		}
		return c.fail("keyring rotate", err)
	}
	fmt.Fprintf(c.stdout, "%s: %s\n", *path, ch)
	fmt.Fprintf(c.stdout, "primary %s; %d key(s); next change at %s\n", r.Primary().ID(), r.Len(), formatTime(p.NextChange(r)))
	return exitOK
}
