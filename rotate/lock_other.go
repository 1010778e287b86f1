//go:build !unix

package rotate

import (
	"errors"
	"io/fs"
	"os"
)

// tryLock reports that file locking is not supported: the Store needs
// flock(2), which only Unix systems have.
func tryLock(f *os.File) (bool, error) {
	return false, errors.ErrUnsupported
}

// syncDir is a no-op where directories cannot be synced.
func syncDir(dir string) error { return nil }

// copyOwner is a no-op where files have no Unix owner.
func copyOwner(f *os.File, old fs.FileInfo) {}

// lockFlags adds nothing where the flags do not exist; locking fails
// there anyway.
const lockFlags = 0
