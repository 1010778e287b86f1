package fuzz

import (
	"satchel.dev/internal/vectors"

	"encoding/hex"
	"errors"
	"strings"
	"testing"

	"golang.org/x/crypto/blake2b"

	"satchel.dev/keyring"
)

// paserkVector is one case of testdata/paseto/k4.local.json or k4.lid.json.
type paserkVector struct {
	Name       string `json:"name"`
	ExpectFail bool   `json:"expect-fail"`
	Key        string `json:"key"`
	Paserk     string `json:"paserk"`
}

func paserkVectors(tb testing.TB, name string) []paserkVector {
	var out []paserkVector
	for _, v := range vectors.LoadPASERK(tb, name) {
		pv := paserkVector{Name: v.Name, ExpectFail: v.ExpectFail}
		if v.Key != nil {
			pv.Key = *v.Key
		}
		if v.Paserk != nil {
			pv.Paserk = *v.Paserk
		}
		out = append(out, pv)
	}
	return out
}

// weakKeys returns the key material ParseKey must refuse as weak: the
// all-zero key and every k4.local key published in the vectors.
func weakKeys(tb testing.TB) map[[32]byte]bool {
	weak := map[[32]byte]bool{{}: true}
	for _, v := range paserkVectors(tb, "k4.local.json") {
		if b, err := hex.DecodeString(v.Key); err == nil && len(b) == 32 {
			weak[[32]byte(b)] = true
		}
	}
	for _, v := range v4Vectors(tb) {
		if b, err := hex.DecodeString(v.Key); err == nil && len(b) == 32 {
			weak[[32]byte(b)] = true
		}
	}
	return weak
}

// lidOf computes a k4.lid id from the PASERK text, independently of
// keyring: base64url(BLAKE2b-264("k4.lid." || paserk)).
func lidOf(paserk string) string {
	h, _ := blake2b.New(33, nil)
	h.Write([]byte("k4.lid." + paserk))
	return "k4.lid." + b64.EncodeToString(h.Sum(nil))
}

// FuzzParseKey parses arbitrary strings as k4.local PASERKs.
//
// Properties:
//   - ParseKey accepts exactly the canonical encodings of non-weak 32-byte
//     keys ("k4.local." + 43 strict base64url characters, checked here
//     with encoding/base64 and a re-encode), and refuses every published
//     example key and the zero key with ErrWeakKey;
//   - an accepted key exports to exactly its input (ExportPASERK), and its
//     ID is the PASERK k4.lid of that input;
//   - errors wrap ErrMalformedKey or ErrWeakKey and never contain the
//     input's key material.
func FuzzParseKey(f *testing.F) {
	for _, v := range paserkVectors(f, "k4.local.json") {
		f.Add(v.Paserk)
	}
	for _, v := range paserkVectors(f, "k4.lid.json") {
		f.Add(v.Paserk)
	}
	good := keyA.ExportPASERK()
	for _, s := range []string{
		good, keyB.ExportPASERK(), good + "=", good + "\n", " " + good, good[:len(good)-1],
		strings.Replace(good, "k4.local.", "k4.public.", 1), strings.Replace(good, "k4.local.", "k3.local.", 1),
		strings.Replace(good, "k4.local.", "K4.LOCAL.", 1), good[:20] + "\r\n" + good[20:],
		"k4.local." + strings.Repeat("_", 43), "k4.local." + strings.Repeat("A", 42) + "B",
	} {
		f.Add(s)
	}
	weak := weakKeys(f)
	f.Fuzz(func(t *testing.T, s string) {
		k, err := keyring.ParseKey(s)

		// The oracle.
		material, isLocal := strings.CutPrefix(s, "k4.local.")
		raw, decErr := b64.DecodeString(material)
		canon := isLocal && decErr == nil && len(raw) == 32 && b64.EncodeToString(raw) == material
		isWeak := canon && weak[[32]byte(raw)]

		if err != nil {
			if !k.IsZero() {
				t.Fatal("ParseKey returned a key with an error")
			}
			if !errors.Is(err, keyring.ErrMalformedKey) && !errors.Is(err, keyring.ErrWeakKey) {
				t.Fatalf("ParseKey error %v wraps neither sentinel", err)
			}
			if canon && !isWeak {
				t.Fatalf("refused a canonical non-weak key: %v", err)
			}
			if isWeak != errors.Is(err, keyring.ErrWeakKey) {
				t.Fatalf("weak %v but error %v", isWeak, err)
			}
			if isLocal && len(material) >= 16 && strings.Contains(err.Error(), material) {
				t.Fatal("error text contains the key material")
			}
			return
		}
		if !canon || isWeak {
			t.Fatalf("accepted %q (canonical %v, weak %v)", s, canon, isWeak)
		}
		if got := k.ExportPASERK(); got != s {
			t.Fatalf("ExportPASERK = %q, want the input %q", got, s)
		}
		if sec := k.ExportSecret(); string(sec[:]) != string(raw) {
			t.Fatal("secret differs from the decoded input")
		}
		if k.ID() != lidOf(s) {
			t.Fatalf("ID %q, want %q", k.ID(), lidOf(s))
		}
		for _, printed := range []string{k.String(), k.GoString()} {
			if strings.Contains(printed, material) {
				t.Fatal("printing the key shows its secret")
			}
		}
	})
}

// TestLidVectors pins lidOf, the oracle FuzzParseKey uses, to the official
// k4.lid vectors.
func TestLidVectors(t *testing.T) {
	vs := paserkVectors(t, "k4.lid.json")
	local := map[string]string{}
	for _, v := range paserkVectors(t, "k4.local.json") {
		local[v.Key] = v.Paserk
	}
	ran := 0
	for _, v := range vs {
		if v.ExpectFail {
			continue
		}
		paserk, ok := local[v.Key]
		if !ok {
			continue
		}
		ran++
		if got := lidOf(paserk); got != v.Paserk {
			t.Errorf("%s: lidOf = %q, want %q", v.Name, got, v.Paserk)
		}
	}
	if ran == 0 {
		t.Fatal("no k4.lid vector matched a k4.local vector")
	}
}
