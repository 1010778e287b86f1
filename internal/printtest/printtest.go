// Package printtest is a test helper: it prints a value every way a
// program might log it and searches the outputs for secret bytes. The
// packages whose types hold keys (middleware, the importers, the Redis
// revocation store, b2key) share it, so that each proves the same thing:
// no fmt verb, slog handler or encoding/json shows a secret.
package printtest

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"log"
	"log/slog"
	"strings"
	"testing"
)

// Verbs are the fmt verbs a program might log a value with, the misused
// ones included: %d, %x and %z reach fmt's bad-verb path, which
// dereferences a pointer once.
var Verbs = []string{"%s", "%q", "%v", "%+v", "%#v", "%d", "%x", "%X", "%o", "%b", "%e", "%t", "%z", "%10.3v", "%-x", "% x"}

// Printings formats v with every verb, Sprint and Sprintln, through
// slog's Text and JSON handlers, and through encoding/json (when it
// encodes at all).
func Printings(v any) map[string]string {
	out := map[string]string{}
	for _, verb := range Verbs {
		out["fmt "+verb] = fmt.Sprintf(verb, v)
	}
	out["Sprint"] = fmt.Sprint(v)
	out["Sprintln"] = fmt.Sprintln(v)
	var text, js bytes.Buffer
	slog.New(slog.NewTextHandler(&text, nil)).Info("m", "v", v, slog.Group("g", "v", v))
	slog.New(slog.NewJSONHandler(&js, nil)).Info("m", "v", v, slog.Group("g", "v", v))
	out["slog text"], out["slog json"] = text.String(), js.String()
	if b, err := json.Marshal(v); err == nil {
		out["encoding/json"] = string(b)
	}
	return out
}

// Forms returns the text a secret shows as when printed: its raw bytes,
// lower and upper hex (spaced too), base64 (standard and URL, padded or not), Go's
// decimal list ("[1 2 3]") and its %#v list ("0x1, 0x2"). Each is of a
// prefix, long enough not to match by chance.
func Forms(secret []byte) []string {
	n := min(len(secret), 9)
	p := secret[:n]
	forms := []string{
		hex.EncodeToString(p),
		strings.ToUpper(hex.EncodeToString(p)),
		fmt.Sprintf("% x", p[:min(n, 6)]),
		base64.RawStdEncoding.EncodeToString(p),
		base64.RawURLEncoding.EncodeToString(p),
		strings.Trim(fmt.Sprint(p[:min(n, 6)]), "[]"),
		strings.Trim(fmt.Sprintf("%#v", p[:min(n, 6)]), "[]byte{}"),
	}
	if len(secret) >= 6 {
		forms = append(forms, string(secret[:min(len(secret), 12)]))
	}
	return forms
}

// Leaked returns the first form of one of secrets found in out, or "".
func Leaked(out string, secrets ...[]byte) string {
	for _, s := range secrets {
		for _, f := range Forms(s) {
			if strings.Contains(out, f) {
				return f
			}
		}
	}
	return ""
}

// holder keeps a value in an unexported field, where fmt can call none of
// its methods and walks its fields itself.
type holder struct{ v any }

// Check prints v, v held in an unexported field of a struct, and a
// pointer to that struct, every way [Printings] does, and fails t when
// any output shows one of secrets. Pass values and pointers both.
func Check(t testing.TB, name string, v any, secrets ...[]byte) {
	t.Helper()
	for how, x := range map[string]any{"": v, " in an unexported field": holder{v}, " in an unexported field behind a pointer": &holder{v}} {
		for out, s := range Printings(x) {
			if f := Leaked(s, secrets...); f != "" {
				t.Errorf("%s%s through %s leaks %q:\n%s", name, how, out, f, s)
			}
		}
	}
}

// DefaultLog runs f with the log package's output, which slog.Default
// writes through, captured, and returns what was written. It changes
// global state: tests that call it must not run in parallel.
func DefaultLog(f func()) string {
	var buf bytes.Buffer
	w, flags := log.Writer(), log.Flags()
	defer func() { log.SetOutput(w); log.SetFlags(flags) }()
	log.SetOutput(&buf)
	f()
	return buf.String()
}

// CheckDefaultLog logs values through slog.Default and log.Printf and
// fails t when the output shows one of secrets. Not for parallel tests.
func CheckDefaultLog(t testing.TB, values []any, secrets ...[]byte) string {
	t.Helper()
	out := DefaultLog(func() {
		args := make([]any, 0, 2*len(values))
		for i, v := range values {
			args = append(args, fmt.Sprint("v", i), v)
		}
		slog.Info("m", args...)
		for _, v := range values {
			log.Printf("%v %+v %s", v, v, v)
		}
	})
	if f := Leaked(out, secrets...); f != "" {
		t.Errorf("slog.Default leaks %q:\n%s", f, out)
	}
	return out
}
