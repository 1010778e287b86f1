package starlette_test

import (
	"crypto/sha1"
	"testing"

	"satchel.dev/importer/starlette"
	"satchel.dev/internal/printtest"
)

// TestImporterPrintsNoKey prints an Importer and its Options every way a
// program might log them (every fmt verb, as a value, a pointer and an
// unexported field, slog's handlers, slog.Default, encoding/json) and
// searches the output for the secret_key and for the signing key derived
// from it.
func TestImporterPrintsNoKey(t *testing.T) {
	secret := "starlette-secret-key-for-print-test"
	derived := sha1.Sum([]byte("itsdangerous.Signer" + "signer" + secret))
	secrets := [][]byte{[]byte(secret), derived[:]}
	opts := starlette.Options{SecretKey: secret, CookieName: "session"}
	im, err := starlette.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	printtest.Check(t, "*Importer", im, secrets...)
	printtest.Check(t, "Importer", *im, secrets...)
	printtest.CheckDefaultLog(t, []any{im, *im, opts, &opts}, secrets...)
}

// TestOptionsPrintsNoKey prints Options as a value, a pointer and in a
// slice. It does not print Options held in an unexported field: there fmt
// walks the fields by reflection and prints SecretKey, a plain exported
// string, and no method can stop it; only a change of SecretKey's type
// could. Options is the input to New; keep the Importer, not the Options.
func TestOptionsPrintsNoKey(t *testing.T) {
	t.Parallel()
	secret := "starlette-secret-key-for-print-test"
	opts := starlette.Options{SecretKey: secret}
	for name, v := range map[string]any{"Options": opts, "*Options": &opts, "[]Options": []starlette.Options{opts}} {
		for how, out := range printtest.Printings(v) {
			if f := printtest.Leaked(out, []byte(secret)); f != "" {
				t.Errorf("%s through %s leaks %q:\n%s", name, how, f, out)
			}
		}
	}
}
