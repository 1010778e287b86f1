//go:build unix

package hangtest

import (
	"os"
	"path/filepath"
	"syscall"
	"testing"
)

// SpecialFiles makes two paths in dir that a reader must refuse before
// reading: zero.txt, a symlink to /dev/zero (read without end), and
// fifo.txt, a named pipe that nobody writes (its open for reading blocks
// until a writer comes).
func SpecialFiles(t testing.TB, dir string) (zero, fifo string) {
	t.Helper()
	zero = filepath.Join(dir, "zero.txt")
	if err := os.Symlink("/dev/zero", zero); err != nil {
		t.Fatal(err)
	}
	fifo = filepath.Join(dir, "fifo.txt")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	return zero, fifo
}
