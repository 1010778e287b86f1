package middleware_test

import (
	"strings"
	"testing"

	"satchel.dev/internal/printtest"
	"satchel.dev/keyring"
	"satchel.dev/middleware"
)

// keySecrets are the forms of k's secret a printing must not show: its
// bytes and the body of its PASERK.
func keySecrets(k keyring.Key) [][]byte {
	s := k.ExportSecret()
	return [][]byte{s[:], []byte(strings.TrimPrefix(k.ExportPASERK(), "k4.local."))}
}

// TestThreat18_ManagerPrintsNoKey prints a Manager, which holds the
// keyring source, every way a program might log it: every fmt verb, as a
// value, a pointer and an unexported field, slog's handlers and
// encoding/json. None may show a key.
func TestThreat18_ManagerPrintsNoKey(t *testing.T) {
	t.Parallel()
	k1, k2 := newKey(t), newKey(t)
	ring, err := keyring.FromKeys(k1, k2)
	if err != nil {
		t.Fatal(err)
	}
	m, err := middleware.New(newSource(ring), middleware.Config{})
	if err != nil {
		t.Fatal(err)
	}
	secrets := append(keySecrets(k1), keySecrets(k2)...)
	printtest.Check(t, "*Manager", m, secrets...)
	printtest.Check(t, "Manager", *m, secrets...)
	printtest.Check(t, "[]*Manager", []*middleware.Manager{m}, secrets...)
}

// TestManagerDefaultLoggerPrintsNoKey logs a Manager through slog.Default,
// which writes through the log package. It changes the log package's
// output, so it does not run in parallel.
func TestManagerDefaultLoggerPrintsNoKey(t *testing.T) {
	k := newKey(t)
	ring, _ := keyring.FromKeys(k)
	m, err := middleware.New(newSource(ring), middleware.Config{})
	if err != nil {
		t.Fatal(err)
	}
	printtest.CheckDefaultLog(t, []any{m, *m}, keySecrets(k)...)
}
