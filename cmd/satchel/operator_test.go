package main

import (
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"satchel.dev/keyring"
	"satchel.dev/middleware"
)

// unknownID is a well-formed id of no key.
const unknownID = "k4.lid.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"

// TestThreat18_ErrorsNeverEchoSecrets: a secret key, or a session token,
// pasted into the wrong place (a typed flag, a command name, a flag name,
// a path) is never printed back. The old command printed
// `invalid value "k4.local.…" for flag -timeout: parse error`.
func TestThreat18_ErrorsNeverEchoSecrets(t *testing.T) {
	e := newEnv(t)
	k, err := keyring.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	secret := k.ExportPASERK()
	path := filepath.Join(t.TempDir(), "keyring.txt")
	if r := e.run("keyring", "init", "-file", path); r.code != exitOK {
		t.Fatal(r.stderr)
	}
	tokenLike := "v4.local." + strings.Repeat("Ab9_", 30)
	for _, args := range [][]string{
		{"keyring", "rotate", "-file", path, "-timeout", secret},
		{"keyring", "revoke", "-file", path, "-id", "x", "-timeout", secret},
		{"keyring", "rotate", "-file", path, "-interval", secret},
		{"keyring", "show", "-max-age", secret},
		{"keyring", "show", "-file", secret},
		{"keyring", "init", "-from-env=" + secret, "-file", path},
		{"keygen", "-id=" + secret},
		{"keygen", secret},
		{"keygen", "-" + secret},
		{secret},
		{"keyring", secret},
		{"inspect", "-leeway", secret, "tok"},
		{"inspect", "-now", secret, "tok"},
		{"inspect", "-file", path, secret},
		{"inspect", "-file", path, "-cookie", "sid", "a=" + tokenLike},
		{"keyring", "revoke", "-file", path, "-id", secret},
		{"keyring", "revoke", "-file", path, "-id", secret[:len(secret)-2]},
		{tokenLike},
	} {
		r := e.run(args...)
		if r.code == exitOK {
			t.Errorf("%q succeeded", args)
		}
		for _, body := range []string{strings.TrimPrefix(secret, "k4.local."), strings.TrimPrefix(tokenLike, "v4.local.")} {
			for i := 0; i+8 <= len(body); i += 4 {
				if strings.Contains(r.stderr+r.stdout, body[i:i+8]) {
					t.Errorf("%q prints the secret back:\n%s%s", args, r.stdout, r.stderr)
					break
				}
			}
		}
	}
}

// TestDurationFlagsAcceptDays: every duration flag reads one syntax, days
// included. -timeout and inspect's -leeway used to refuse "1d" with
// "parse error" while the policy flags took "30d".
func TestDurationFlagsAcceptDays(t *testing.T) {
	e := newEnv(t)
	path := filepath.Join(t.TempDir(), "keyring.txt")
	if r := e.run("keyring", "init", "-file", path); r.code != exitOK {
		t.Fatal(r.stderr)
	}
	for _, args := range [][]string{
		{"keyring", "rotate", "-file", path, "-timeout", "1d", "-interval", "30d", "-max-age", "14d"},
		{"keyring", "rotate", "-file", path, "-timeout", "90s", "-dry-run"},
		{"keyring", "revoke", "-file", path, "-id", unknownID, "-timeout", "1d", "-dry-run"},
	} {
		r := e.run(args...)
		if strings.Contains(r.stderr, "invalid value") || r.code == exitUsage {
			t.Errorf("%q: exit %d %s", args, r.code, r.stderr)
		}
	}
	r := e.run("inspect", "-file", path, "-leeway", "1d", "v4.local.x")
	if r.code != exitFailure || strings.Contains(r.stderr, "invalid value") {
		t.Errorf("inspect -leeway 1d: exit %d %s; want the token's own failure", r.code, r.stderr)
	}
	r = e.run("keyring", "rotate", "-file", path, "-timeout", "soon")
	if r.code != exitUsage || !strings.Contains(r.stderr, "keyring rotate: invalid value for flag -timeout: want a duration like 30d, 12h or 90m") {
		t.Errorf("-timeout soon: exit %d %q", r.code, r.stderr)
	}
}

// TestOperatorMessages: messages name the satchel command and carry no
// Go package prefixes.
func TestOperatorMessages(t *testing.T) {
	e := newEnv(t)
	dir := t.TempDir()
	path := filepath.Join(dir, "keyring.txt")
	if r := e.run("keyring", "init", "-file", path); r.code != exitOK {
		t.Fatal(r.stderr)
	}
	r := e.run("keygen", "extra")
	if !strings.Contains(r.stderr, "Run 'satchel keygen -h' for usage.\n") {
		t.Errorf("keygen extra: %q", r.stderr)
	}
	r = e.run("keyring", "init", "-file", path)
	if want := "keyring init: " + path + " already exists; refusing to overwrite a keyring\n"; r.code != exitFailure || r.stderr != want {
		t.Errorf("init over a keyring: %q, want %q", r.stderr, want)
	}
	t.Setenv(keyring.EnvVar, "k4.local.short")
	r = e.run("keyring", "init", "-from-env", "-file", filepath.Join(dir, "fromenv.txt"))
	for _, run := range []result{r, e.run("keyring", "revoke", "-file", path, "-id", unknownID),
		e.run("keyring", "show", "-file", filepath.Join(dir, "none.txt"))} {
		if run.code != exitFailure || pkgPrefix.MatchString(run.stderr) {
			t.Errorf("exit %d, %q: a Go package prefix", run.code, run.stderr)
		}
	}
	e.now = t0.Add(time.Hour)
	r = e.run("keyring", "rotate", "-file", path, "-dry-run")
	if want := path + ": no change due now; next change at 2026-12-01T08:00:00Z\n"; r.stdout != want {
		t.Errorf("dry run with nothing due: %q, want %q", r.stdout, want)
	}
}

// TestLooseModeWarnings: show, inspect and the dry runs warn about a
// keyring file that others may read, and refuse one that anyone may
// write; the next write makes the file 0600.
func TestLooseModeWarnings(t *testing.T) {
	e, path, c := initAndSeal(t, 1)
	tok := c.Value
	if err := os.Chmod(path, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{
		{"keyring", "show", "-file", path},
		{"inspect", "-file", path, tok},
		{"keyring", "rotate", "-file", path, "-dry-run"},
	} {
		r := e.run(args...)
		if r.code != exitOK || !strings.Contains(r.stderr, "warning: "+path+": keyring file is readable or writable by group or others (mode 0644; chmod 600 it)") {
			t.Errorf("%q: exit %d, stderr %q", args, r.code, r.stderr)
		}
	}
	if err := os.Chmod(path, 0o666); err != nil {
		t.Fatal(err)
	}
	if r := e.run("keyring", "show", "-file", path); r.code != exitFailure || !strings.Contains(r.stderr, "writable by any user") {
		t.Errorf("show of a world-writable keyring: exit %d %q", r.code, r.stderr)
	}
	if err := os.Chmod(path, 0o640); err != nil {
		t.Fatal(err)
	}
	e.now = e.now.Add(30 * 24 * time.Hour)
	if r := e.run("keyring", "rotate", "-file", path); r.code != exitOK {
		t.Fatalf("rotate: %s", r.stderr)
	}
	if fi, _ := os.Stat(path); fi.Mode().Perm() != 0o600 {
		t.Errorf("after a rotation the file is %v, want 0600", fi.Mode().Perm())
	}
}

// TestInspectCookieHeader: a whole Cookie header is read with
// http.ParseCookie; with two tokens in it, -cookie chooses.
func TestInspectCookieHeader(t *testing.T) {
	e, path, c := initAndSeal(t, 7)
	header := "Cookie: theme=dark; " + c.Name + `="` + c.Value + `"; lang=en`
	if r := e.run("inspect", "-file", path, header); r.code != exitOK || !strings.Contains(r.stdout, `"n": 7`) {
		t.Errorf("one token in a header: exit %d %s%s", r.code, r.stdout, r.stderr)
	}
	two := header + "; other=v4.local.AAAA"
	if r := e.run("inspect", "-file", path, two); r.code != exitFailure || !strings.Contains(r.stderr, "name the one to open with -cookie") {
		t.Errorf("two tokens: exit %d %s", r.code, r.stderr)
	}
	if r := e.run("inspect", "-file", path, "-cookie", c.Name, two); r.code != exitOK {
		t.Errorf("two tokens and -cookie: exit %d %s", r.code, r.stderr)
	}
	if r := e.run("inspect", "-file", path, "Cookie: a=b; =c"); r.code != exitFailure || !strings.Contains(r.stderr, "neither a token") {
		t.Errorf("a malformed header: exit %d %s", r.code, r.stderr)
	}
}

// initAndSeal makes a keyring file with "keyring init" at the wall clock's
// time and seals, under that file's keys, a session holding n under "n".
func initAndSeal(t *testing.T, n int) (e *env, path string, c *http.Cookie) {
	t.Helper()
	e = newEnv(t)
	e.now = time.Now()
	path = filepath.Join(t.TempDir(), "keyring.txt")
	if r := e.run("keyring", "init", "-file", path); r.code != exitOK {
		t.Fatal(r.stderr)
	}
	m, err := middleware.New(mustLoad(t, path), middleware.Config{})
	if err != nil {
		t.Fatal(err)
	}
	rec := httptest.NewRecorder()
	m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		middleware.Get(r).Set("n", n)
	})).ServeHTTP(rec, httptest.NewRequest("GET", "https://example.test/", nil))
	cookies := rec.Result().Cookies()
	if len(cookies) == 0 {
		t.Fatal("no session cookie was set")
	}
	return e, path, cookies[0]
}
