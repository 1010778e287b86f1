package benchfix_test

import (
	"crypto/sha256"
	"runtime"
	"testing"

	"satchel.dev/internal/benchfix"
)

// TestThreadCPU checks that the thread's CPU time grows with work done on
// it, and never exceeds the whole process's.
func TestThreadCPU(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("per-thread CPU time is read on Linux only")
	}
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	start := benchfix.ThreadCPU()
	if start <= 0 {
		t.Fatalf("ThreadCPU = %v", start)
	}
	sum := sha256.Sum256(nil)
	grew := false
	for range 1_000_000 { // bounded: a few hundred ms at most
		sum = sha256.Sum256(sum[:])
		if benchfix.ThreadCPU() > start {
			grew = true
			break
		}
	}
	if !grew {
		t.Fatal("ThreadCPU did not grow with work on the thread")
	}
	if th, pr := benchfix.ThreadCPU(), benchfix.ProcessCPU(); th > pr {
		t.Fatalf("thread CPU %v above the process's %v", th, pr)
	}
}

// BenchmarkMeasureCPU shows MeasureCPU's report: cpu-ns/op close to ns/op
// on an idle machine.
func BenchmarkMeasureCPU(b *testing.B) {
	sum := sha256.Sum256(nil)
	report := benchfix.MeasureCPU(b)
	for b.Loop() {
		sum = sha256.Sum256(sum[:])
	}
	report()
}
