// Package hangtest holds what the keyring and rotate tests share to show
// that a call no longer hangs: [Within], a bound on a call that the old
// code blocked on for ever, and, on Unix, [SpecialFiles], the paths whose
// read or open never ends.
package hangtest

import (
	"testing"
	"time"
)

// Within fails the test unless f returns within d of real time. It guards
// calls that the old code blocked on for ever; the bound is never waited
// out when the code is right.
func Within(t testing.TB, what string, d time.Duration, f func()) {
	t.Helper()
	done := make(chan struct{})
	go func() { defer close(done); f() }()
	select {
	case <-done:
	case <-time.After(d):
		t.Fatalf("%s did not return within %v", what, d)
	}
}
