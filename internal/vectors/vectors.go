// Package vectors loads the official PASETO v4 and PASERK k4 test vectors
// that satchel's tests, fuzz seeds and benchmarks share. The files live in
// testdata/paseto at the module root, copied unchanged from the public
// paseto-standard/test-vectors repository (see SOURCES.md there); each is
// pinned by its SHA-256, so a changed file fails every test that reads it.
package vectors

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"runtime"
	"testing"
)

// pins are the SHA-256 sums of the vector files, as SOURCES.md lists them.
var pins = map[string]string{
	"v4.json":       "0b72948b65d1f73f574c9ad2aa3481ec27bf8c632f5f6e1596cd41f5b9703387",
	"k4.lid.json":   "893dc77e6b2a82a6e98ed683293a541fae50fd5447713ce89a2e9c7efd54529b",
	"k4.local.json": "71c76cafab9cbeb5223425105f08900b245048a9a2a7d573b9a3f1f3d4633ebc",
}

// V4 is one case of v4.json. Payload is nil for the must-fail cases.
type V4 struct {
	Name       string  `json:"name"`
	ExpectFail bool    `json:"expect-fail"`
	Key        string  `json:"key"`
	Nonce      string  `json:"nonce"`
	Token      string  `json:"token"`
	Payload    *string `json:"payload"`
	Footer     string  `json:"footer"`
	Implicit   string  `json:"implicit-assertion"`
}

// PASERK is one case of k4.local.json or k4.lid.json; Key and Paserk are
// nil where the case has none.
type PASERK struct {
	Name       string  `json:"name"`
	ExpectFail bool    `json:"expect-fail"`
	Key        *string `json:"key"`
	Paserk     *string `json:"paserk"`
}

// dir is testdata/paseto at the module root, found from this file's own
// path so that tests in any package read the same copy.
func dir() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..", "testdata", "paseto")
}

// load decodes the tests of the named file after checking its SHA-256.
func load(tb testing.TB, name string, tests any) {
	tb.Helper()
	b, err := os.ReadFile(filepath.Join(dir(), name))
	if err != nil {
		tb.Fatal(err)
	}
	sum := sha256.Sum256(b)
	if got := hex.EncodeToString(sum[:]); got != pins[name] {
		tb.Fatalf("%s: SHA-256 %s, want %s (SOURCES.md)", name, got, pins[name])
	}
	file := struct{ Tests any }{tests}
	if err := json.Unmarshal(b, &file); err != nil {
		tb.Fatalf("%s: %v", name, err)
	}
}

// LoadV4 returns every case of v4.json.
func LoadV4(tb testing.TB) []V4 {
	var tests []V4
	load(tb, "v4.json", &tests)
	return tests
}

// LoadPASERK returns every case of k4.local.json or k4.lid.json.
func LoadPASERK(tb testing.TB, name string) []PASERK {
	var tests []PASERK
	load(tb, name, &tests)
	return tests
}
