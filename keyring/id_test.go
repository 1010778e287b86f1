package keyring_test

import (
	"strings"
	"testing"

	"satchel.dev/keyring"
)

func TestValidID(t *testing.T) {
	t.Parallel()
	k := testKey(t, 1)
	if !keyring.ValidID(k.ID()) {
		t.Fatalf("ValidID(%s) = false", k.ID())
	}
	body := strings.TrimPrefix(k.ID(), "k4.lid.")
	for name, id := range map[string]string{
		"empty":             "",
		"prefix only":       "k4.lid.",
		"secret key":        k.ExportPASERK(),
		"k3 id":             "k3.lid." + body,
		"short":             k.ID()[:len(k.ID())-1],
		"long":              k.ID() + "A",
		"padding":           "k4.lid." + body[:43] + "=",
		"std alphabet":      "k4.lid." + body[:43] + "+",
		"white space":       k.ID() + "\n",
		"upper-case prefix": "K4.LID." + body,
		// 44 characters hold 264 bits, exactly 33 bytes: every
		// character is significant, so only alphabet and length matter.
		"non-alphabet": "k4.lid." + strings.Repeat("!", 44),
	} {
		if keyring.ValidID(id) {
			t.Errorf("%s: ValidID(%q) = true", name, id)
		}
	}
}
