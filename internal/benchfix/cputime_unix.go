//go:build unix

package benchfix

import (
	"runtime"
	"syscall"
	"time"
)

const (
	rusageSelf = syscall.RUSAGE_SELF
	// rusageThread is Linux's RUSAGE_THREAD, which package syscall does
	// not name; other systems have no per-thread figure.
	rusageThread = 1
)

func rusage(who int) time.Duration {
	if who == rusageThread && runtime.GOOS != "linux" {
		return 0
	}
	var ru syscall.Rusage
	if err := syscall.Getrusage(who, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
