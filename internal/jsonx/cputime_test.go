package jsonx_test

import (
	"runtime"
	"syscall"
	"testing"
	"time"
)

// The benchmarks also report cpu-ns/op: the CPU time of the benchmark's
// own thread per operation. On a shared machine wall time (ns/op) counts
// the time other processes hold the cores; thread CPU time does not, so
// cpu-ns/op is the figure to compare there.

// rusageThread is Linux's RUSAGE_THREAD (syscall has no name for it).
const rusageThread = 1

// threadCPU returns the CPU time the calling thread has used, or 0 where
// the platform does not say.
func threadCPU() time.Duration {
	if runtime.GOOS != "linux" {
		return 0
	}
	var ru syscall.Rusage
	if err := syscall.Getrusage(rusageThread, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// measureCPU pins the benchmark to its thread and returns the function to
// call after the loop, which reports cpu-ns/op.
func measureCPU(b *testing.B) (report func()) {
	runtime.LockOSThread()
	start := threadCPU()
	return func() {
		used := threadCPU() - start
		runtime.UnlockOSThread()
		if used > 0 && b.N > 0 {
			b.ReportMetric(float64(used.Nanoseconds())/float64(b.N), "cpu-ns/op")
		}
	}
}
