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
  revoke  remove a leaked key at once (a new primary replaces a leaked primary)

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
	case "revoke":
		return c.keyringRevoke(args[1:])
	}
	fmt.Fprintf(c.stderr, "satchel keyring: unknown command %q\n\n%s", args[0], keyringUsage)
	return exitUsage
}

// policyFlags registers the rotation policy's flags on fs, with the
// rotate package's defaults (which match the middleware's).
func policyFlags(fs *flag.FlagSet) *rotate.Policy {
	p := &rotate.Policy{
		Interval:    rotate.DefaultInterval,
		Propagation: rotate.DefaultPropagation,
		MaxAge:      rotate.DefaultMaxAge,
		Leeway:      rotate.DefaultLeeway,
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
	if code, done := c.parseNoArgs(fs, args, "file"); done {
		return code
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
	if err := c.store(*path).Create(context.Background(), r); err != nil {
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
	if code, done := c.parseNoArgs(fs, args); done {
		return code
	}
	withPolicy := false
	fs.Visit(func(f *flag.Flag) { withPolicy = withPolicy || f.Name != "file" })
	if withPolicy {
		if err := p.Validate(); err != nil {
			return c.usageErr(fs, "%v", err)
		}
	}
	r, src, err := c.loadRing(*path)
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
	timeout := time.Minute
	fs.Var(duration{&timeout}, "timeout", "how long to wait for another rotator's lock")
	if code, done := c.parseNoArgs(fs, args, "file"); done {
		return code
	}
	if err := p.Validate(); err != nil {
		return c.usageErr(fs, "%v", err)
	}
	now := c.now()
	r, err := c.loadFile(*path) // warns about a file others can read
	if err != nil {
		return c.fail("keyring rotate", rotateHint(err, *path))
	}
	if *dry {
		next, ch, err := p.Next(r, now, keyring.GenerateKey)
		if err != nil {
			return c.fail("keyring rotate", err)
		}
		if ch.Empty() {
			fmt.Fprintf(c.stdout, "%s: no change due now; next change at %s\n", *path, formatTime(p.NextChange(r)))
		} else {
			fmt.Fprintf(c.stdout, "%s: would %s now; next change after that at %s\n", *path, describe(ch), formatTime(p.NextChange(next)))
		}
		return exitOK
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	r, ch, err := c.store(*path).Rotate(ctx, *p)
	if err != nil {
		return c.fail("keyring rotate", rotateHint(err, *path))
	}
	fmt.Fprintf(c.stdout, "%s: %s\n", *path, ch)
	fmt.Fprintf(c.stdout, "primary %s; %d key(s); next change at %s\n", r.Primary().ID(), r.Len(), formatTime(p.NextChange(r)))
	return exitOK
}

const revokeUsage = `Usage: satchel keyring revoke -file PATH -id k4.lid.ID [-dry-run]

Removes the key whose id is ID from the keyring file PATH at once, for a
key that leaked. If it is the primary key, a new key generated now becomes
primary in the same change, with no staging, and every staged key is
removed too: it sat in the same file and may have leaked with it, so it is
neither promoted nor kept (satchel keyring rotate stages a fresh key when
one is due). Retired keys are kept. The file is locked and replaced
atomically, as rotate does. Give the key's
public k4.lid id (satchel keyring show lists them), never the secret key.

Every session sealed with the revoked key ends: its users sign in again.
Servers apply the change at their next reload of the keyring (the
watcher's poll plus the time the file takes to reach them). Until then a
server still accepts the revoked key; if it was the primary, the server
also still seals new sessions with it (they end too when it reloads) and
refuses sessions that servers already on the new primary sealed.

Keep running satchel keyring rotate as before: the next rotation is due
-interval after the new primary's promotion.
`

func (c *cli) keyringRevoke(args []string) int {
	fs := c.flagSet("keyring revoke", revokeUsage)
	path := fs.String("file", "", "the keyring file (required)")
	id := fs.String("id", "", "the k4.lid id of the key to revoke (required)")
	dry := fs.Bool("dry-run", false, "print what would change without writing")
	timeout := time.Minute
	fs.Var(duration{&timeout}, "timeout", "how long to wait for a rotator's lock")
	if code, done := c.parseNoArgs(fs, args, "file"); done {
		return code
	}
	if msg := checkID(*id); msg != "" {
		return c.usageErr(fs, "-id: %s", msg)
	}
	if *dry {
		r, err := c.loadFile(*path)
		if err != nil {
			return c.fail("keyring revoke", revokeHint(err, *path))
		}
		// A throwaway key stands in for the new primary; its id is not
		// shown, since the real run generates another.
		next, err := rotate.Revoke(r, *id, c.now(), keyring.GenerateKey)
		if err != nil {
			return c.fail("keyring revoke", revokeHint(err, *path))
		}
		e, _ := r.Entry(*id)
		what := "revoke " + *id + " (" + e.State.String() + ")"
		if e.State == keyring.Primary {
			for _, s := range r.Entries() {
				if s.State == keyring.Staged {
					what += ", remove " + s.Key.ID() + " (staged)"
				}
			}
			what += " and make a new key primary"
		}
		fmt.Fprintf(c.stdout, "%s: would %s; %d key(s) would remain\n", *path, what, next.Len())
		return exitOK
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	r, state, err := c.store(*path).Revoke(ctx, *id)
	if err != nil {
		return c.fail("keyring revoke", revokeHint(err, *path))
	}
	fmt.Fprintf(c.stdout, "%s: revoked %s (was %s)", *path, *id, state)
	if state == keyring.Primary {
		fmt.Fprintf(c.stdout, "; new primary %s", r.Primary().ID())
	}
	fmt.Fprintf(c.stdout, "; %d key(s) remain\n", r.Len())

	fmt.Fprintf(c.stderr, "warning: every session sealed with %s ends: its users must sign in again.\n", *id)
	if state == keyring.Primary {
		fmt.Fprintf(c.stderr, "warning: servers apply this at their next keyring reload; until then they still accept %s and seal new sessions with it.\n", *id)
	} else {
		fmt.Fprintf(c.stderr, "warning: servers apply this at their next keyring reload; until then they still accept %s.\n", *id)
	}
	var kept []string
	for _, e := range r.Entries() {
		if e.State == keyring.Primary && state == keyring.Primary {
			continue // the new key
		}
		kept = append(kept, e.Key.ID()+" ("+e.State.String()+")")
	}
	if state == keyring.Primary {
		fmt.Fprintf(c.stderr, "note: staged keys, if any, were removed with it, since they may have leaked too; keyring rotate stages a fresh key when one is due.\n")
	}
	if len(kept) > 0 {
		fmt.Fprintf(c.stderr, "note: kept %s; if the whole keyring leaked, revoke each of them too.\n", strings.Join(kept, ", "))
	}
	return exitOK
}

// checkID returns what is wrong with id as a key id, or "". It never
// repeats id: a secret key pasted in its place must not reach a terminal
// log.
func checkID(id string) string {
	switch {
	case id == "":
		return "required: the k4.lid id that satchel keyring show lists"
	case strings.HasPrefix(id, "k4.local."):
		if k, err := keyring.ParseKey(id); err == nil {
			return "that is the secret key itself, not its id (clear it from your shell history); its id is " + k.ID()
		}
		return "that looks like a secret key, not its id; pass the k4.lid id that satchel keyring show lists"
	}
	if !keyring.ValidID(id) {
		return "want a k4.lid id as satchel keyring show lists it"
	}
	return ""
}

// rotateHint adds what to do next to an error of rotate.
func rotateHint(err error, path string) error {
	switch {
	case errors.Is(err, context.DeadlineExceeded):
		return fmt.Errorf("%w (another rotator holds the lock)", err)
	case errors.Is(err, iofs.ErrNotExist):
		return fmt.Errorf("%w (create it with satchel keyring init -file %s)", err, path)
	}
	return err
}

// revokeHint adds what to do next to an error of revoke.
func revokeHint(err error, path string) error {
	switch {
	case errors.Is(err, context.DeadlineExceeded):
		return fmt.Errorf("%w (a rotator holds the lock)", err)
	case errors.Is(err, iofs.ErrNotExist):
		return fmt.Errorf("%w (is -file the keyring the servers load?)", err)
	case errors.Is(err, rotate.ErrKeyNotFound):
		return fmt.Errorf("%w (satchel keyring show -file %s lists its keys)", err, path)
	}
	return err
}
