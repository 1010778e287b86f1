package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"satchel.dev/revoke"
	revokeredis "satchel.dev/revoke/redis"
	"satchel.dev/revoke/redis/redistest"
)

func runCLI(env map[string]string, stdin string, args ...string) (code int, stdout, stderr string) {
	var out, errb bytes.Buffer
	code = run(args, strings.NewReader(stdin), &out, &errb, func(k string) string { return env[k] })
	return code, out.String(), errb.String()
}

// The command's sign-outs reach a running server; its output names what
// it did but never the session id or the Redis password.
func TestRevokeThroughCLI(t *testing.T) {
	r := redistest.Start(t)
	set, err := revoke.New(revoke.Config{})
	if err != nil {
		t.Fatal(err)
	}
	store, err := revokeredis.New(r.Client(t), set, revokeredis.Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := store.Wait(ctx); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{"SATCHEL_REDIS_URL": "redis://:hunter2@" + r.Addr() + "/0"}
	plain := map[string]string{"SATCHEL_REDIS_URL": "redis://" + r.Addr() + "/0"}

	const id = "Zm9vYmFyYmF6cXV4cXV1eA"
	code, out, errs := runCLI(plain, "", "session", id)
	if code != 0 {
		t.Fatalf("session: exit %d: %s", code, errs)
	}
	if strings.Contains(out, id) || !strings.Contains(out, "signed out session sha256:") {
		t.Fatalf("session output %q", out)
	}
	code, out, errs = runCLI(plain, id2+"\n", "session", "-expires", time.Now().Add(time.Hour).UTC().Format(time.RFC3339), "-")
	if code != 0 || strings.Contains(out, id2) {
		t.Fatalf("session from stdin: exit %d, out %q, err %s", code, out, errs)
	}
	code, out, errs = runCLI(plain, "", "-redis", "redis://"+r.Addr(), "subject", "ada")
	if code != 0 || !strings.Contains(out, `subject "ada" everywhere`) {
		t.Fatalf("subject: exit %d, out %q, err %s", code, out, errs)
	}
	redistest.MustWait(t, "the CLI's sign-outs on a server", 2*time.Second, func() bool {
		return store.Revoked(id, "", time.Now()) && store.Revoked(id2, "", time.Now()) &&
			store.Revoked("", "ada", time.Now().Add(-time.Minute))
	})

	// Redis refusing (the password is wrong) is exit 1 without the password.
	if err := r.Client(t).ConfigSet(ctx, "requirepass", "the-right-one").Err(); err != nil {
		t.Fatal(err)
	}
	code, out, errs = runCLI(env, "", "subject", "ada")
	if code != 1 || strings.Contains(errs+out, "hunter2") {
		t.Fatalf("bad password: exit %d, out %q, err %q", code, out, errs)
	}
}

const id2 = "cXV1eGZvb2JhcmJhenF1eA"

func TestUsage(t *testing.T) {
	t.Parallel()
	// Port 1 is never Redis; usage errors stop before any connection.
	env := map[string]string{"SATCHEL_REDIS_URL": "redis://:hunter2@127.0.0.1:1/0"}
	for _, args := range [][]string{
		{},
		{"nope"},
		{"session"},
		{"session", "a", "b"},
		{"session", "-expires", "tomorrow", "x"},
		{"session", "-expires", "2001-01-01T00:00:00Z", "x"},
		{"session", "has space"},
		{"subject"},
		{"subject", "-at", "2999-01-01T00:00:00Z", "ada"},
		{"subject", "bad\xffutf8"},
		{"-redis", "http://[::1", "subject", "ada"},
		{"-bogus"},
	} {
		code, out, errs := runCLI(env, "", args...)
		if code != 2 || out != "" || !strings.Contains(errs, "usage:") || strings.Contains(errs, "hunter2") {
			t.Errorf("%q: exit %d, out %q, err %q", args, code, out, errs)
		}
	}
	code, _, errs := runCLI(env, "", "subject", "ada")
	if code != 1 || strings.Contains(errs, "hunter2") || !strings.Contains(errs, "127.0.0.1:1") {
		t.Errorf("unreachable: exit %d, err %q", code, errs)
	}
}
