package gorilla_test

import (
	"bytes"
	"fmt"
	"testing"

	"satchel.dev/importer/gorilla"
	"satchel.dev/internal/printtest"
)

// printKeys returns two key pairs whose bytes are easy to tell apart.
func printKeys() []gorilla.KeyPair {
	return []gorilla.KeyPair{
		{Hash: bytes.Repeat([]byte("hash-key-one-"), 3), Block: []byte("block-key-one-0123456789abcdef!!")},
		{Hash: bytes.Repeat([]byte("hash-key-two-"), 3)},
	}
}

func printSecrets(keys []gorilla.KeyPair) [][]byte {
	var s [][]byte
	for _, k := range keys {
		s = append(s, k.Hash)
		if k.Block != nil {
			s = append(s, k.Block)
		}
	}
	return s
}

// TestImporterPrintsNoKey prints an Importer every way a program might log
// it (every fmt verb, as a value, a pointer and an unexported field,
// slog's handlers, slog.Default, encoding/json) and searches the output
// for the hash and block keys.
func TestImporterPrintsNoKey(t *testing.T) {
	keys := printKeys()
	secrets := printSecrets(keys)
	opts := gorilla.Options{Keys: keys, CookieName: "session"}
	im, err := gorilla.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	printtest.Check(t, "*Importer", im, secrets...)
	printtest.Check(t, "Importer", *im, secrets...)
	printtest.CheckDefaultLog(t, []any{im, *im, opts, &opts, keys[0], keys}, secrets...)
}

// TestOptionsAndKeyPairPrintNoKey prints Options and KeyPair as values,
// pointers and in slices and maps. It does not print them held in an
// unexported field: there fmt walks the fields by reflection and prints
// KeyPair.Hash and Block, plain exported byte slices, and no method can
// stop it; only a change of their types could. Both are the input to New;
// keep the Importer, not the Options.
func TestOptionsAndKeyPairPrintNoKey(t *testing.T) {
	t.Parallel()
	keys := printKeys()
	secrets := printSecrets(keys)
	opts := gorilla.Options{Keys: keys, CookieName: "session"}
	for name, v := range map[string]any{
		"Options": opts, "*Options": &opts, "[]Options": []gorilla.Options{opts},
		"KeyPair": keys[0], "*KeyPair": &keys[0], "[]KeyPair": keys, "map of KeyPair": map[string]gorilla.KeyPair{"k": keys[1]},
	} {
		for how, out := range printtest.Printings(v) {
			if f := printtest.Leaked(out, secrets...); f != "" {
				t.Errorf("%s through %s leaks %q:\n%s", name, how, f, out)
			}
		}
	}
}

// TestZeroImporterPrints: a zero Importer prints, without panicking.
func TestZeroImporterPrints(t *testing.T) {
	t.Parallel()
	var im gorilla.Importer
	if out := fmt.Sprint(im); out != `gorilla.Importer{cookie="" keys=0}` {
		t.Errorf("zero Importer prints %s", out)
	}
}
