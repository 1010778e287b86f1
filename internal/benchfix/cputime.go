package benchfix

import (
	"runtime"
	"testing"
	"time"
)

// MeasureCPU locks the calling goroutine to its OS thread and returns the
// function to call right after the benchmark's b.Loop loop: it reports the
// thread's own CPU time per iteration as "cpu-ns/op" and unlocks the
// thread. On a shared machine ns/op also counts the time other processes
// hold the cores, and moved by more than 100% between rounds here; the
// thread's CPU time does not count that. It reports nothing where the
// platform gives no per-thread figure (see [ThreadCPU]). Not for
// benchmarks whose work runs on other goroutines.
func MeasureCPU(b *testing.B) (report func()) {
	runtime.LockOSThread()
	start := ThreadCPU()
	return func() {
		used := ThreadCPU() - start
		runtime.UnlockOSThread()
		if start > 0 && used > 0 && b.N > 0 {
			b.ReportMetric(float64(used.Nanoseconds())/float64(b.N), "cpu-ns/op")
		}
	}
}

// ProcessCPU returns the user plus system CPU time the whole process has
// used, or 0 where the platform does not say.
func ProcessCPU() time.Duration { return rusage(rusageSelf) }

// ThreadCPU returns the user plus system CPU time the calling OS thread has
// used (Linux only: 0 elsewhere). Lock the goroutine to its thread around
// the two readings, as MeasureCPU does.
func ThreadCPU() time.Duration { return rusage(rusageThread) }
