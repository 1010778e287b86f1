package printtest

import "testing"

// TestFindsLeaks: a helper that finds nothing proves nothing. A value that
// holds its key in plain sight must be caught in every output.
func TestFindsLeaks(t *testing.T) {
	key := []byte("0123456789abcdef-not-random-key!")
	type leaky struct{ Key []byte }
	for how, out := range Printings(leaky{key}) {
		if how == "fmt %t" || how == "fmt %e" || how == "fmt %z" || how == "fmt %10.3v" || how == "fmt %o" || how == "fmt %b" {
			continue // bytes in bad-verb, octal or binary form: not every verb shows them
		}
		if Leaked(out, key) == "" {
			t.Errorf("%s: no leak found in %s", how, out)
		}
	}
}
