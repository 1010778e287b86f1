package main

import (
	"bytes"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"satchel.dev/keyring"
	"satchel.dev/middleware"
	"satchel.dev/token"
)

// fileHeader is the first line of a keyring file.
const fileHeader = "satchel-keyring v1"

var t0 = time.Date(2026, 11, 1, 9, 0, 0, 0, time.UTC)

// env is an in-process command environment with a settable clock.
type env struct {
	t     *testing.T
	now   time.Time
	stdin string
	seq   int
}

type result struct {
	code           int
	stdout, stderr string
}

func (e *env) run(args ...string) result {
	var out, errb bytes.Buffer
	c := &cli{
		stdin: strings.NewReader(e.stdin), stdout: &out, stderr: &errb,
		now: func() time.Time { return e.now },
		newKey: func() (keyring.Key, error) {
			e.seq++
			b := make([]byte, keyring.KeySize)
			for i := range b {
				b[i] = byte(e.seq*13 + i*5 + 3)
			}
			return keyring.NewKey(b)
		},
	}
	code := c.run(args)
	return result{code, out.String(), errb.String()}
}

func newEnv(t *testing.T) *env {
	t.Setenv(keyring.EnvVar, "")
	return &env{t: t, now: t0}
}

// noSecrets fails if any 8-character piece of a secret of ring r appears
// in the text.
func noSecrets(t *testing.T, text string, keys ...keyring.Key) {
	t.Helper()
	for _, k := range keys {
		body := strings.TrimPrefix(k.ExportPASERK(), "k4.local.")
		for i := 0; i+8 <= len(body); i += 4 {
			if strings.Contains(text, body[i:i+8]) {
				t.Fatalf("output contains key material:\n%s", text)
			}
		}
	}
}

func ringKeys(t *testing.T, path string) []keyring.Key {
	t.Helper()
	r, err := keyring.LoadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var ks []keyring.Key
	for _, e := range r.Entries() {
		ks = append(ks, e.Key)
	}
	return ks
}

func TestHelpEverywhere(t *testing.T) {
	e := newEnv(t)
	for _, args := range [][]string{
		{"-h"}, {"--help"}, {"help"}, {"help", "keygen"},
		{"keygen", "-h"}, {"keygen", "--help"},
		{"keyring", "-h"}, {"keyring", "--help"},
		{"keyring", "init", "-h"}, {"keyring", "init", "--help"},
		{"keyring", "show", "-h"}, {"keyring", "show", "--help"},
		{"keyring", "rotate", "-h"}, {"keyring", "rotate", "--help"},
		{"keyring", "revoke", "-h"}, {"keyring", "revoke", "--help"},
		{"inspect", "-h"}, {"inspect", "--help"},
	} {
		r := e.run(args...)
		if r.code != exitOK || !strings.Contains(r.stdout, "Usage") || r.stderr != "" {
			t.Errorf("%v: exit %d, stdout %q, stderr %q", args, r.code, r.stdout, r.stderr)
		}
	}
}

func TestUsageErrors(t *testing.T) {
	e := newEnv(t)
	for _, args := range [][]string{
		{},
		{"frobnicate"},
		{"keygen", "extra"},
		{"keygen", "-bogus"},
		{"keyring"},
		{"keyring", "frobnicate"},
		{"keyring", "init"},
		{"keyring", "rotate"},
		{"keyring", "rotate", "-file", "x", "-interval", "1h", "-propagation", "2h"},
		{"keyring", "rotate", "-file", "x", "-interval", "soon"},
		{"keyring", "show", "-propagation", "40d"},
		{"keyring", "revoke", "-id", "k4.lid.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"},
		{"keyring", "revoke", "-file", "x"},
		{"keyring", "revoke", "-file", "x", "-id", "k4.lid.short"},
		{"keyring", "revoke", "-file", "x", "-id", "k4.lid.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", "extra"},
		{"inspect"},
		{"inspect", "a", "b"},
		{"inspect", "-implicit", "x", "-cookie", "y", "tok"},
		{"inspect", "-now", "yesterday", "tok"},
	} {
		r := e.run(args...)
		if r.code != exitUsage || r.stderr == "" {
			t.Errorf("%v: exit %d, stderr %q; want exit 2 and a message", args, r.code, r.stderr)
		}
	}
}

// TestMissingFileHints checks that rotate and revoke, with and without
// -dry-run, say what to do when the keyring file does not exist.
func TestMissingFileHints(t *testing.T) {
	e := newEnv(t)
	path := filepath.Join(t.TempDir(), "keys")
	id := "k4.lid.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
	for _, tc := range []struct {
		args []string
		hint string
	}{
		{[]string{"keyring", "rotate", "-file", path}, "create it with satchel keyring init -file " + path},
		{[]string{"keyring", "rotate", "-file", path, "-dry-run"}, "create it with satchel keyring init -file " + path},
		{[]string{"keyring", "revoke", "-file", path, "-id", id}, "is -file the keyring the servers load?"},
		{[]string{"keyring", "revoke", "-file", path, "-id", id, "-dry-run"}, "is -file the keyring the servers load?"},
	} {
		r := e.run(tc.args...)
		if r.code != exitFailure || !strings.Contains(r.stderr, tc.hint) {
			t.Errorf("%v: exit %d, stderr %q; want exit %d and %q", tc.args, r.code, r.stderr, exitFailure, tc.hint)
		}
	}
	if _, err := os.Stat(path); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a failed rotate or revoke created %s (stat: %v)", path, err)
	}
}

func TestKeygen(t *testing.T) {
	var out, errb bytes.Buffer
	if code := run([]string{"keygen", "-id"}, &out, &errb); code != exitOK {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	lines := strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n")
	if len(lines) != 2 {
		t.Fatalf("output %q", out.String())
	}
	k, err := keyring.ParseKey(lines[0])
	if err != nil {
		t.Fatalf("keygen printed an invalid key: %v", err)
	}
	if k.ID() != lines[1] {
		t.Errorf("id %q, want %q", lines[1], k.ID())
	}
	out.Reset()
	run([]string{"keygen"}, &out, &errb)
	if out.String() == lines[0]+"\n" || !strings.HasPrefix(out.String(), "k4.local.") || strings.Count(out.String(), "\n") != 1 {
		t.Errorf("second key %q", out.String())
	}
}

// TestKeyringLifecycle drives init, show and rotate through a whole
// rotation with a fake clock.
func TestKeyringLifecycle(t *testing.T) {
	e := newEnv(t)
	path := filepath.Join(t.TempDir(), "keyring.txt")
	policy := []string{"-interval", "10h", "-propagation", "1h", "-max-age", "5h", "-leeway", "1m"}
	rotate := func(at time.Duration) result {
		e.now = t0.Add(at)
		r := e.run(append([]string{"keyring", "rotate", "-file", path}, policy...)...)
		if r.code != exitOK {
			t.Fatalf("rotate at %v: exit %d: %s", at, r.code, r.stderr)
		}
		return r
	}

	r := e.run("keyring", "init", "-file", path)
	if r.code != exitOK || !strings.Contains(r.stdout, "created with 1 key(s)") {
		t.Fatalf("init: %d %q %q", r.code, r.stdout, r.stderr)
	}
	if fi, _ := os.Stat(path); fi.Mode().Perm() != 0o600 {
		t.Errorf("mode %v", fi.Mode().Perm())
	}
	if r := e.run("keyring", "init", "-file", path); r.code != exitFailure || !strings.Contains(r.stderr, "exists") {
		t.Fatalf("second init: %d %q", r.code, r.stderr)
	}
	k1 := ringKeys(t, path)[0]

	if r := rotate(time.Hour); !strings.Contains(r.stdout, ": no change\n") || !strings.Contains(r.stdout, "next change at 2026-11-01T18:00:00Z") {
		t.Fatalf("early rotate: %q", r.stdout)
	}
	if r := rotate(9 * time.Hour); !strings.Contains(r.stdout, ": staged k4.lid.") {
		t.Fatalf("staging: %q", r.stdout)
	}
	ks := ringKeys(t, path)
	if len(ks) != 2 {
		t.Fatalf("%d keys", len(ks))
	}
	k2 := ks[1]

	show := e.run("keyring", "show", "-file", path, "-interval", "10h", "-propagation", "1h", "-max-age", "5h")
	if show.code != exitOK {
		t.Fatalf("show: %d %s", show.code, show.stderr)
	}
	for _, want := range []string{
		path + ": 2 key(s)",
		k1.ID() + "  primary  2026-11-01T09:00:00Z  2026-11-01T09:00:00Z  -",
		k2.ID() + "  staged   2026-11-01T18:00:00Z  -",
		"next change: 2026-11-01T19:00:00Z: promote " + k2.ID() + "; retire " + k1.ID(),
	} {
		if !strings.Contains(show.stdout, want) {
			t.Errorf("show lacks %q:\n%s", want, show.stdout)
		}
	}
	noSecrets(t, show.stdout+show.stderr, k1, k2)

	e.now = t0.Add(10 * time.Hour)
	dry := e.run(append([]string{"keyring", "rotate", "-file", path, "-dry-run"}, policy...)...)
	if dry.code != exitOK || !strings.Contains(dry.stdout, ": would promote "+k2.ID()+"; retire "+k1.ID()+" now; next change after that at ") {
		t.Fatalf("dry run: %q %q", dry.stdout, dry.stderr)
	}
	if ringState(t, path, k2) != "staged" {
		t.Fatal("dry run wrote the file")
	}
	if r := rotate(10 * time.Hour); !strings.Contains(r.stdout, "promoted "+k2.ID()+"; retired "+k1.ID()) {
		t.Fatalf("promotion: %q", r.stdout)
	}
	if r := rotate(16*time.Hour + time.Minute); !strings.Contains(r.stdout, "deleted "+k1.ID()) {
		t.Fatalf("deletion: %q", r.stdout)
	}
	if ks := ringKeys(t, path); len(ks) != 1 || ks[0].ID() != k2.ID() {
		t.Fatalf("after deletion: %v", ks)
	}
}

// TestKeyringRevoke revokes a staged key, then the primary, with a dry run
// first, and checks the messages, the file, and that inspect no longer
// opens a cookie sealed with the revoked primary.
func TestKeyringRevoke(t *testing.T) {
	e := newEnv(t)
	path := filepath.Join(t.TempDir(), "keyring.txt")
	if r := e.run("keyring", "init", "-file", path); r.code != exitOK {
		t.Fatal(r.stderr)
	}
	e.now = t0.Add(9 * time.Hour)
	if r := e.run("keyring", "rotate", "-file", path, "-interval", "10h", "-propagation", "1h", "-max-age", "5h"); r.code != exitOK {
		t.Fatal(r.stderr)
	}
	ks := ringKeys(t, path)
	k1, k2 := ks[0], ks[1]
	leakedTok, err := token.Seal(k1, &token.Claims{Expiry: t0.Add(12 * time.Hour)}, middleware.ImplicitAssertion("sid", ""), nil)
	if err != nil {
		t.Fatal(err)
	}
	var out strings.Builder
	record := func(r result) result { out.WriteString(r.stdout + r.stderr); return r }

	e.now = t0.Add(9*time.Hour + 30*time.Minute)
	before, _ := os.ReadFile(path)
	r := record(e.run("keyring", "revoke", "-file", path, "-id", k1.ID(), "-dry-run"))
	if r.code != exitOK || r.stdout != path+": would revoke "+k1.ID()+" (primary), remove "+k2.ID()+" (staged) and make a new key primary; 1 key(s) would remain\n" {
		t.Fatalf("dry run: %d %q %q", r.code, r.stdout, r.stderr)
	}
	if after, _ := os.ReadFile(path); !bytes.Equal(after, before) {
		t.Fatal("dry run wrote the file")
	}

	r = record(e.run("keyring", "revoke", "-file", path, "-id", k2.ID()))
	if r.code != exitOK || r.stdout != path+": revoked "+k2.ID()+" (was staged); 1 key(s) remain\n" {
		t.Fatalf("revoking the staged key: %d %q %q", r.code, r.stdout, r.stderr)
	}
	for _, want := range []string{
		"warning: every session sealed with " + k2.ID() + " ends",
		"next keyring reload; until then they still accept " + k2.ID() + ".\n",
		"note: kept " + k1.ID() + " (primary); if the whole keyring leaked, revoke each of them too.",
	} {
		if !strings.Contains(r.stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, r.stderr)
		}
	}
	if ringState(t, path, k2) != "absent" || ringState(t, path, k1) != "primary" {
		t.Fatal("the file does not reflect the revocation")
	}
	r = record(e.run("keyring", "revoke", "-file", path, "-id", k2.ID()))
	if r.code != exitFailure || !strings.Contains(r.stderr, "no such key in the keyring: "+k2.ID()) || !strings.Contains(r.stderr, "satchel keyring show -file "+path) {
		t.Fatalf("revoking it again: %d %q", r.code, r.stderr)
	}

	e.now = t0.Add(9*time.Hour + 40*time.Minute)
	r = record(e.run("keyring", "revoke", "-file", path, "-id", k1.ID()))
	ks = ringKeys(t, path)
	if len(ks) != 1 || ks[0].ID() == k1.ID() || ks[0].ID() == k2.ID() {
		t.Fatalf("after revoking the primary: %v", ks)
	}
	k3 := ks[0]
	if r.code != exitOK || r.stdout != path+": revoked "+k1.ID()+" (was primary); new primary "+k3.ID()+"; 1 key(s) remain\n" {
		t.Fatalf("revoking the primary: %d %q %q", r.code, r.stdout, r.stderr)
	}
	if !strings.Contains(r.stderr, "still accept "+k1.ID()+" and seal new sessions with it.") || !strings.Contains(r.stderr, "note: staged keys, if any, were removed with it") || strings.Contains(r.stderr, "note: kept") {
		t.Errorf("stderr:\n%s", r.stderr)
	}
	if ent, _ := mustLoad(t, path).Entry(k3.ID()); !ent.Promoted.Equal(e.now) || !ent.Created.Equal(e.now) {
		t.Errorf("new primary %+v, want created and promoted now", ent)
	}
	if fi, _ := os.Stat(path); fi.Mode().Perm() != 0o600 {
		t.Errorf("mode %v", fi.Mode().Perm())
	}

	// A cookie sealed with the revoked key no longer opens; one sealed
	// with the new primary does.
	r = record(e.run("inspect", "-file", path, "sid="+leakedTok))
	if r.code != exitFailure || !strings.Contains(r.stderr, "the key that sealed it is not in "+path) {
		t.Fatalf("inspect of the revoked key's cookie: %d %q", r.code, r.stderr)
	}
	newTok, _ := token.Seal(k3, &token.Claims{Expiry: t0.Add(12 * time.Hour)}, middleware.ImplicitAssertion("sid", ""), nil)
	if r := record(e.run("inspect", "-file", path, "sid="+newTok)); r.code != exitOK {
		t.Fatalf("inspect of the new primary's cookie: %d %q", r.code, r.stderr)
	}

	// The secret key given in place of its id is refused, not repeated.
	r = record(e.run("keyring", "revoke", "-file", path, "-id", k3.ExportPASERK()))
	if r.code != exitUsage || !strings.Contains(r.stderr, "that is the secret key itself, not its id") || !strings.Contains(r.stderr, "its id is "+k3.ID()) {
		t.Fatalf("secret as id: %d %q", r.code, r.stderr)
	}
	if r := e.run("keyring", "revoke", "-file", path+".missing", "-id", k3.ID()); r.code != exitFailure || !strings.Contains(r.stderr, "no such file") {
		t.Fatalf("missing file: %d %q", r.code, r.stderr)
	}
	if ringState(t, path, k3) != "primary" {
		t.Fatal("a refused revocation changed the file")
	}
	noSecrets(t, out.String(), k1, k2, k3)
}

// TestKeyringRevokePrimaryRemovesStaged revokes the primary while a key
// is staged: the staged key goes too, and the next rotate stages a fresh
// one instead of promoting it.
func TestKeyringRevokePrimaryRemovesStaged(t *testing.T) {
	e := newEnv(t)
	path := filepath.Join(t.TempDir(), "keyring.txt")
	if r := e.run("keyring", "init", "-file", path); r.code != exitOK {
		t.Fatal(r.stderr)
	}
	rotateArgs := []string{"keyring", "rotate", "-file", path, "-interval", "10h", "-propagation", "1h", "-max-age", "5h"}
	e.now = t0.Add(9 * time.Hour)
	if r := e.run(rotateArgs...); r.code != exitOK {
		t.Fatal(r.stderr)
	}
	ks := ringKeys(t, path)
	k1, k2 := ks[0], ks[1]
	if ringState(t, path, k2) != "staged" {
		t.Fatal("no staged key")
	}
	e.now = t0.Add(9*time.Hour + 30*time.Minute)
	r := e.run("keyring", "revoke", "-file", path, "-id", k1.ID())
	ks = ringKeys(t, path)
	if len(ks) != 1 || ks[0].ID() == k1.ID() || ks[0].ID() == k2.ID() {
		t.Fatalf("after revoking the primary: %v", ks)
	}
	if r.code != exitOK || r.stdout != path+": revoked "+k1.ID()+" (was primary); new primary "+ks[0].ID()+"; 1 key(s) remain\n" {
		t.Fatalf("revoking the primary: %d %q %q", r.code, r.stdout, r.stderr)
	}
	if !strings.Contains(r.stderr, "note: staged keys, if any, were removed with it") || strings.Contains(r.stderr, k2.ID()) {
		t.Errorf("stderr:\n%s", r.stderr)
	}
	// Rotations go on with fresh keys; k2 never comes back.
	for h := 10; h <= 40; h++ {
		e.now = t0.Add(time.Duration(h) * time.Hour)
		if r := e.run(rotateArgs...); r.code != exitOK || strings.Contains(r.stdout, k2.ID()) {
			t.Fatalf("rotate at %dh: %d %q %q", h, r.code, r.stdout, r.stderr)
		}
		if ringState(t, path, k2) != "absent" {
			t.Fatalf("the removed staged key is back at %dh", h)
		}
	}
	noSecrets(t, r.stdout+r.stderr, k1, k2)
}

func mustLoad(t *testing.T, path string) *keyring.Ring {
	t.Helper()
	r, err := keyring.LoadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func ringState(t *testing.T, path string, k keyring.Key) string {
	e, ok := mustLoad(t, path).Entry(k.ID())
	if !ok {
		return "absent"
	}
	return e.State.String()
}

// TestRefusesInvalidKeyrings: the CLI never writes a keyring with no
// primary or a duplicate id, and names the line and field of a bad file.
func TestRefusesInvalidKeyrings(t *testing.T) {
	e := newEnv(t)
	dir := t.TempDir()
	k1 := strings.TrimSpace(e.run("keygen").stdout)
	k2 := strings.TrimSpace(e.run("keygen").stdout)

	t.Run("init from env with a duplicate", func(t *testing.T) {
		path := filepath.Join(dir, "dup.txt")
		t.Setenv(keyring.EnvVar, k1+","+k2+","+k1)
		r := e.run("keyring", "init", "-from-env", "-file", path)
		if r.code != exitFailure || !strings.Contains(r.stderr, "appears twice") {
			t.Fatalf("exit %d %q", r.code, r.stderr)
		}
		if _, err := os.Stat(path); err == nil {
			t.Fatal("file written")
		}
		noSecrets(t, r.stderr, mustKey(t, k1), mustKey(t, k2))
	})
	t.Run("init from env", func(t *testing.T) {
		path := filepath.Join(dir, "env.txt")
		t.Setenv(keyring.EnvVar, k1+","+k2)
		if r := e.run("keyring", "init", "-from-env", "-file", path); r.code != exitOK {
			t.Fatalf("exit %d %q", r.code, r.stderr)
		}
		r := mustLoad(t, path)
		if r.Primary().ID() != mustKey(t, k1).ID() || ringState(t, path, mustKey(t, k2)) != "retired" {
			t.Fatalf("imported %v", r)
		}
		if e, _ := r.Entry(mustKey(t, k2).ID()); !e.Retired.Equal(t0) {
			t.Fatalf("retired key not stamped: %+v", e)
		}
	})
	t.Run("init from empty env", func(t *testing.T) {
		t.Setenv(keyring.EnvVar, "")
		if r := e.run("keyring", "init", "-from-env", "-file", filepath.Join(dir, "none.txt")); r.code != exitFailure {
			t.Fatalf("exit %d", r.code)
		}
	})
	for _, tc := range []struct{ name, file, want string }{
		{"no primary", fileHeader + "\nsecret=" + k1 + " state=retired\nsecret=" + k2 + " state=staged\n", "nokey.txt: no primary key"},
		{"duplicate id", fileHeader + "\nsecret=" + k1 + " state=primary\nsecret=" + k1 + " state=retired\n", `dupid.txt:3: field "secret": the same key as line 2`},
		{"hand-edited state", fileHeader + "\nsecret=" + k1 + " state=primary\nsecret=" + k2 + " state=old\n", `state.txt:3: field "state": unknown state`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(dir, strings.SplitN(tc.want, ":", 2)[0])
			if err := os.WriteFile(path, []byte(tc.file), 0o600); err != nil {
				t.Fatal(err)
			}
			e.now = t0.Add(1000 * time.Hour)
			for _, args := range [][]string{
				{"keyring", "rotate", "-file", path},
				{"keyring", "show", "-file", path},
			} {
				r := e.run(args...)
				if r.code != exitFailure || !strings.Contains(r.stderr, tc.want) {
					t.Fatalf("%v: exit %d, stderr %q, want %q", args, r.code, r.stderr, tc.want)
				}
				noSecrets(t, r.stdout+r.stderr, mustKey(t, k1), mustKey(t, k2))
			}
			if b, _ := os.ReadFile(path); string(b) != tc.file {
				t.Fatal("an invalid keyring was rewritten")
			}
		})
	}
}

func mustKey(t *testing.T, s string) keyring.Key {
	t.Helper()
	k, err := keyring.ParseKey(s)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func TestShowFromEnv(t *testing.T) {
	e := newEnv(t)
	k1, k2 := mustKey(t, strings.TrimSpace(e.run("keygen").stdout)), mustKey(t, strings.TrimSpace(e.run("keygen").stdout))
	t.Setenv(keyring.EnvVar, k1.ExportPASERK()+" "+k2.ExportPASERK())
	r := e.run("keyring", "show")
	if r.code != exitOK || !strings.Contains(r.stdout, "$SATCHEL_KEYS: 2 key(s)") || !strings.Contains(r.stdout, k2.ID()+"  retired") {
		t.Fatalf("exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	noSecrets(t, r.stdout, k1, k2)
	t.Setenv(keyring.EnvVar, "")
	if r := e.run("keyring", "show"); r.code != exitFailure || !strings.Contains(r.stderr, "pass -file PATH or set $SATCHEL_KEYS") {
		t.Fatalf("no keys: %d %q", r.code, r.stderr)
	}
}

func TestInspect(t *testing.T) {
	e := newEnv(t)
	path := filepath.Join(t.TempDir(), "keyring.txt")
	if r := e.run("keyring", "init", "-file", path); r.code != exitOK {
		t.Fatal(r.stderr)
	}
	ring := mustLoad(t, path)
	claims := &token.Claims{Expiry: t0.Add(time.Hour), IssuedAt: t0, ID: "sess-1", Data: map[string]any{"user": "ada", "n": 7}}
	tok, err := token.Seal(ring.Primary(), claims, middleware.ImplicitAssertion("sid", "shop"), nil)
	if err != nil {
		t.Fatal(err)
	}
	e.now = t0.Add(time.Minute)
	check := func(r result) {
		t.Helper()
		if r.code != exitOK {
			t.Fatalf("exit %d: %s", r.code, r.stderr)
		}
		for _, want := range []string{
			"key:        " + ring.Primary().ID() + " (primary in " + path + ")",
			"expires:    2026-11-01T10:00:00Z (in 59m0s)",
			"issued:     2026-11-01T09:00:00Z",
			"id:         sess-1",
			`"n": 7`, `"user": "ada"`,
		} {
			if !strings.Contains(r.stdout, want) {
				t.Errorf("output lacks %q:\n%s", want, r.stdout)
			}
		}
	}
	check(e.run("inspect", "-file", path, "-cookie", "sid", "-audience", "shop", tok))
	check(e.run("inspect", tok, "-file", path, "-audience", "shop", "-cookie", "sid"))
	check(e.run("inspect", "-file", path, "-audience", "shop", "sid="+tok))
	check(e.run("inspect", "-file", path, "-implicit", `{"satchel":"session","cookie":"sid","aud":"shop"}`, tok))
	check(e.run("inspect", "-file", path, "-audience", "shop", "Cookie: theme=dark; sid="+tok+"; lang=en"))
	e.stdin = "  " + tok + "\n"
	check(e.run("inspect", "-file", path, "-cookie", "sid", "-audience", "shop", "-"))

	fails := []struct {
		name string
		args []string
		want string
	}{
		{"wrong cookie", []string{"-cookie", "other", "-audience", "shop", tok}, "sealed under another implicit assertion"},
		{"wrong audience", []string{"-cookie", "sid", tok}, "invalid token"},
		{"tampered", []string{"-cookie", "sid", "-audience", "shop", tok[:20] + "A" + tok[21:]}, "invalid token"},
		{"expired", []string{"-cookie", "sid", "-audience", "shop", "-now", "2026-11-01T10:01:00Z", tok}, "use -now"},
		{"expired, no leeway", []string{"-cookie", "sid", "-audience", "shop", "-leeway", "-1s", "-now", "2026-11-01T10:00:00Z", tok}, "use -now"},
	}
	for _, f := range fails {
		r := e.run(append([]string{"inspect", "-file", path}, f.args...)...)
		if r.code != exitFailure || !strings.Contains(r.stderr, f.want) {
			t.Errorf("%s: exit %d %q", f.name, r.code, r.stderr)
		}
		if strings.Contains(r.stderr, tok[10:30]) {
			t.Errorf("%s: error echoes the token", f.name)
		}
	}
	// -now opens a token as of an earlier time.
	r := e.run("inspect", "-file", path, "-cookie", "sid", "-audience", "shop", "-now", "2026-11-01T09:30:00Z", tok)
	if r.code != exitOK || !strings.Contains(r.stdout, "(in 30m0s)") {
		t.Errorf("-now: %d %q %q", r.code, r.stdout, r.stderr)
	}
	// Another keyring does not hold the key.
	t.Setenv(keyring.EnvVar, strings.TrimSpace(e.run("keygen").stdout))
	if r := e.run("inspect", "-cookie", "sid", "-audience", "shop", tok); r.code != exitFailure || !strings.Contains(r.stderr, "not in $SATCHEL_KEYS") {
		t.Errorf("unknown key: %d %q", r.code, r.stderr)
	}
}

// TestInspectMiddlewareCookie seals a session through the real middleware
// and opens its cookie with inspect: -cookie and -audience, the name of a
// NAME=VALUE cookie and the default name (the middleware's default,
// middleware.DefaultName) reach middleware.ImplicitAssertion as the
// middleware passes them.
func TestInspectMiddlewareCookie(t *testing.T) {
	e := newEnv(t)
	e.now = time.Now()
	path := filepath.Join(t.TempDir(), "keyring.txt")
	if r := e.run("keyring", "init", "-file", path); r.code != exitOK {
		t.Fatal(r.stderr)
	}
	for _, cfg := range []middleware.Config{
		{}, // the default name: inspect needs no -cookie
		{Insecure: true, Name: "sid", Audience: "shop"},
		{Name: "__Host-session", Audience: `a "quoted" app`},
	} {
		m, err := middleware.New(mustLoad(t, path), cfg)
		if err != nil {
			t.Fatal(err)
		}
		h := m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			middleware.Get(r).Set("counter", 41)
		}))
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest("GET", "https://example.test/", nil))
		cookies := rec.Result().Cookies()
		if len(cookies) != 1 {
			t.Fatalf("%d cookies", len(cookies))
		}
		c := cookies[0]
		args := []string{"inspect", "-file", path}
		if cfg.Audience != "" {
			args = append(args, "-audience", cfg.Audience)
		}
		if cfg.Name != "" {
			args = append(args, "-cookie", cfg.Name)
		}
		r := e.run(append(args, c.Value)...)
		if r.code != exitOK || !strings.Contains(r.stdout, `"counter": 41`) {
			t.Fatalf("config %+v: exit %d\n%s%s", cfg, r.code, r.stdout, r.stderr)
		}
		// The cookie as "NAME=VALUE" supplies the name itself.
		r = e.run("inspect", "-file", path, "-audience", cfg.Audience, c.Name+"="+c.Value)
		if r.code != exitOK {
			t.Fatalf("NAME=VALUE: exit %d %s", r.code, r.stderr)
		}
	}
}

// TestBinary builds the command and runs it as a cron job would, checking
// exit codes and that a second, concurrent rotation changes nothing.
func TestBinary(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	dir := t.TempDir()
	bin := filepath.Join(dir, "satchel")
	if runtime.GOOS == "windows" {
		bin += ".exe"
	}
	build := exec.Command("go", "build", "-o", bin, ".")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	path := filepath.Join(dir, "keyring.txt")
	exitCode := func(args ...string) (int, string) {
		cmd := exec.Command(bin, args...)
		cmd.Env = append(os.Environ(), keyring.EnvVar+"=")
		out, err := cmd.CombinedOutput()
		if ee, ok := err.(*exec.ExitError); ok {
			return ee.ExitCode(), string(out)
		} else if err != nil {
			t.Fatal(err)
		}
		return 0, string(out)
	}
	for _, tc := range []struct {
		args []string
		code int
	}{
		{[]string{"--help"}, 0},
		{[]string{"keyring", "rotate", "--help"}, 0},
		{[]string{"nope"}, 2},
		{[]string{"keyring", "rotate", "-file", path}, 1}, // no file yet: "create it with satchel keyring init"
		{[]string{"keyring", "init", "-file", path}, 0},
		{[]string{"keyring", "init", "-file", path}, 1},
		{[]string{"keyring", "rotate", "-file", path, "-interval", "2h", "-propagation", "3h"}, 2},
		{[]string{"keyring", "rotate", "-file", path, "-interval", "2h", "-propagation", "1h"}, 0},
		{[]string{"keyring", "show", "-file", path}, 0},
		{[]string{"keyring", "revoke", "-file", path}, 2},
		{[]string{"keyring", "revoke", "-file", path, "-id", "k4.lid.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"}, 1},
	} {
		if code, out := exitCode(tc.args...); code != tc.code {
			t.Errorf("%v: exit %d, want %d\n%s", tc.args, code, tc.code, out)
		}
	}
}
