package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	iofs "io/fs"
	"os"
	"regexp"
	"strconv"
	"strings"
	"time"

	"satchel.dev/keyring"
	"satchel.dev/rotate"
)

// Exit codes.
const (
	exitOK      = 0
	exitFailure = 1
	exitUsage   = 2
)

// cli holds a command's environment, so tests can run commands in-process
// with their own clock and standard input.
type cli struct {
	stdin          io.Reader
	stdout, stderr io.Writer
	now            func() time.Time
	newKey         func() (keyring.Key, error)
}

// run runs the command line args (without the program name) and returns
// the exit code.
func run(args []string, stdout, stderr io.Writer) int {
	c := &cli{stdin: os.Stdin, stdout: stdout, stderr: stderr, now: time.Now, newKey: keyring.GenerateKey}
	return c.run(args)
}

// secretLike matches what looks like a secret PASERK (k4.local.…,
// k4.secret.…, wrapped and password-protected keys, sealed keys) or a
// v4.local token (a session cookie): text that must never reach a
// terminal or a log through an error message.
var secretLike = regexp.MustCompile(`k[1-4]\.(?:local|secret|local-wrap|secret-wrap|local-pw|secret-pw|seal)\.[A-Za-z0-9_.-]*|v[1-4]\.local\.[A-Za-z0-9_.-]*`)

// redact replaces every secret-looking part of s with its prefix and
// "[redacted]".
func redact(s string) string {
	return secretLike.ReplaceAllStringFunc(s, func(m string) string {
		i := strings.IndexByte(m, '.')
		j := strings.IndexByte(m[i+1:], '.')
		return m[:i+1+j+1] + "[redacted]"
	})
}

// redactWriter is the command's standard error: whatever a message quotes
// back (an argument, a flag's value as the flag package repeats it), a
// secret pasted in the wrong place never gets through. Every message is
// written with one Write call, so a secret is never split across two.
type redactWriter struct{ w io.Writer }

func (r redactWriter) Write(p []byte) (int, error) {
	if !secretLike.Match(p) {
		return r.w.Write(p)
	}
	if _, err := io.WriteString(r.w, redact(string(p))); err != nil {
		return 0, err
	}
	return len(p), nil
}

const mainUsage = `satchel manages the keys of satchel session cookies.

Usage:
  satchel keygen                       print a new k4.local key (a secret)
  satchel keyring init   -file PATH    create a keyring file with one primary key
  satchel keyring show   [-file PATH]  list key ids, states and times (never secrets)
  satchel keyring rotate -file PATH    apply the rotation policy once (run it from cron)
  satchel keyring revoke -file PATH -id ID
                                       remove a leaked key at once; a leaked primary
                                       is replaced by a new key
  satchel inspect [-file PATH] TOKEN   open a token or cookie value and print its claims

Run "satchel COMMAND -h" for a command's flags. Without -file, show and
inspect read the keys from $SATCHEL_KEYS (k4.local keys separated by
commas, the first one primary).

Exit codes: 0 success, 1 failure, 2 usage error.
`

func (c *cli) run(args []string) int {
	if _, ok := c.stderr.(redactWriter); !ok {
		c.stderr = redactWriter{c.stderr}
	}
	if len(args) == 0 {
		fmt.Fprint(c.stderr, mainUsage)
		return exitUsage
	}
	switch args[0] {
	case "-h", "-help", "--help", "help":
		if len(args) > 1 && args[0] == "help" {
			return c.run(append(args[1:2], "-h"))
		}
		fmt.Fprint(c.stdout, mainUsage)
		return exitOK
	case "keygen":
		return c.keygen(args[1:])
	case "keyring":
		return c.keyring(args[1:])
	case "inspect":
		return c.inspect(args[1:])
	}
	fmt.Fprintf(c.stderr, "satchel: unknown command %q\n\n%s", args[0], mainUsage)
	return exitUsage
}

// flagSet returns a FlagSet for a command whose usage text is usage.
func (c *cli) flagSet(name, usage string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(c.stderr)
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), usage)
		if hasFlags(fs) {
			fmt.Fprint(fs.Output(), "\nFlags:\n")
			fs.PrintDefaults()
		}
	}
	return fs
}

func hasFlags(fs *flag.FlagSet) bool {
	n := 0
	fs.VisitAll(func(*flag.Flag) { n++ })
	return n > 0
}

// parse parses args with fs. It returns done=true with the exit code when
// the command must stop: after -h (usage on stdout, exit 0) or a flag
// error (usage on stderr, exit 2). Flags may follow positional arguments.
func (c *cli) parse(fs *flag.FlagSet, args []string) (rest []string, code int, done bool) {
	for {
		fs.SetOutput(io.Discard) // errors and usage are printed below, once
		err := fs.Parse(args)
		if errors.Is(err, flag.ErrHelp) {
			fs.SetOutput(c.stdout)
			fs.Usage()
			return nil, exitOK, true
		}
		if err != nil {
			fmt.Fprintf(c.stderr, "%s: %s\n", fs.Name(), flagError(err))
			fs.SetOutput(c.stderr)
			fs.Usage()
			return nil, exitUsage, true
		}
		// Allow flags after positional arguments: "inspect TOKEN -file x".
		if fs.NArg() == 0 {
			return rest, 0, false
		}
		rest = append(rest, fs.Arg(0))
		args = fs.Args()[1:]
	}
}

// flagValue matches the value that the flag package quotes back in its
// errors ("invalid value "x" for flag -timeout: ...").
var flagValue = regexp.MustCompile(`^invalid (boolean )?value ".*" for (flag )?(-\S+): `)

// flagError returns the text of a flag package error without the value
// given, which may be a secret pasted into the wrong flag.
func flagError(err error) string {
	return flagValue.ReplaceAllString(err.Error(), "invalid value for flag $3: ")
}

// parseNoArgs parses a command that takes flags only: it refuses
// positional arguments and requires each flag named in required to be set
// to a non-empty value. done and code are as for parse.
func (c *cli) parseNoArgs(fs *flag.FlagSet, args []string, required ...string) (code int, done bool) {
	rest, code, done := c.parse(fs, args)
	if done {
		return code, true
	}
	if len(rest) > 0 {
		return c.usageErr(fs, "unexpected argument"), true
	}
	for _, name := range required {
		if fs.Lookup(name).Value.String() == "" {
			return c.usageErr(fs, "-%s is required", name), true
		}
	}
	return 0, false
}

// usageErr reports a usage problem found after parsing and returns 2.
func (c *cli) usageErr(fs *flag.FlagSet, format string, a ...any) int {
	fmt.Fprintf(c.stderr, "%s: %s\n", fs.Name(), fmt.Sprintf(format, a...))
	fmt.Fprintf(c.stderr, "Run 'satchel %s -h' for usage.\n", fs.Name())
	return exitUsage
}

// fail reports a failure and returns 1.
func (c *cli) fail(cmd string, err error) int {
	fmt.Fprintf(c.stderr, "%s: %s\n", cmd, operatorText(err))
	return exitFailure
}

// warn prints a warning, such as a keyring file's too open mode.
func (c *cli) warn(err error) {
	fmt.Fprintf(c.stderr, "warning: %s\n", operatorText(err))
}

// operatorText is the text of err for an operator: the Go package names
// that prefix the library's errors ("rotate: ", "keyring: ") are left
// out, and an existing file is said plainly.
func operatorText(err error) string {
	var pe *iofs.PathError
	if errors.As(err, &pe) && errors.Is(err, iofs.ErrExist) {
		return pe.Path + " already exists; refusing to overwrite a keyring"
	}
	return pkgPrefix.ReplaceAllString(err.Error(), "$1")
}

// pkgPrefix matches the package name that begins a library error or one
// it wraps ("rotate: keyring: ...").
var pkgPrefix = regexp.MustCompile(`(^|: )(?:(?:keyring|rotate|token|middleware): )+`)

// duration is a flag.Value for a time.Duration that also accepts whole
// days ("30d", "14d").
type duration struct{ d *time.Duration }

func (v duration) String() string {
	if v.d == nil {
		return ""
	}
	return formatDuration(*v.d)
}

func (v duration) Set(s string) error {
	d, err := parseDuration(s)
	if err != nil {
		return err
	}
	*v.d = d
	return nil
}

// parseDuration reads a duration as Go writes it ("90m", "1h30m") or a
// whole number of days ("30d"). Every duration flag of the command reads
// its value with it. Errors never repeat s.
func parseDuration(s string) (time.Duration, error) {
	if days, ok := strings.CutSuffix(s, "d"); ok {
		n, err := strconv.ParseUint(days, 10, 16)
		if err != nil {
			return 0, errors.New("want a duration like 30d, 12h or 90m")
		}
		return time.Duration(n) * 24 * time.Hour, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		return 0, errors.New("want a duration like 30d, 12h or 90m")
	}
	return d, nil
}

// formatDuration writes whole days as "Nd" and other durations as Go does.
func formatDuration(d time.Duration) string {
	if d > 0 && d%(24*time.Hour) == 0 {
		return strconv.FormatInt(int64(d/(24*time.Hour)), 10) + "d"
	}
	return d.String()
}

// loadFile is keyring.LoadFile, printing its warning about a file whose
// mode is too open rather than failing.
func (c *cli) loadFile(path string) (*keyring.Ring, error) {
	r, err := keyring.LoadFile(path)
	if r != nil && err != nil {
		c.warn(err)
		err = nil
	}
	return r, err
}

// store returns the Store of the keyring file at path, with the command's
// clock and key generator.
func (c *cli) store(path string) *rotate.Store {
	s := rotate.NewStore(path)
	s.Now, s.NewKey = c.now, c.newKey
	return s
}

// loadRing reads the keyring file at path, or $SATCHEL_KEYS when path is
// empty. A file whose mode lets others read it is loaded with a warning.
func (c *cli) loadRing(path string) (*keyring.Ring, string, error) {
	if path != "" {
		r, err := c.loadFile(path)
		return r, path, err
	}
	r, err := keyring.FromEnv(keyring.EnvVar)
	if errors.Is(err, keyring.ErrNoKeys) {
		return nil, "", errors.New("no keyring: pass -file PATH or set $" + keyring.EnvVar)
	}
	return r, "$" + keyring.EnvVar, err
}

func formatTime(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.UTC().Format(time.RFC3339Nano)
}
