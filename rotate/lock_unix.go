//go:build unix

package rotate

import (
	"errors"
	"io/fs"
	"os"
	"syscall"
)

// tryLock takes an exclusive flock(2) on f without blocking and reports
// whether it got it. The lock belongs to the open file description, so
// two descriptors in one process exclude each other too.
func tryLock(f *os.File) (bool, error) {
	for {
		err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		switch {
		case err == nil:
			return true, nil
		case errors.Is(err, syscall.EWOULDBLOCK):
			return false, nil
		case errors.Is(err, syscall.EINTR):
			continue
		}
		return false, err
	}
}

// syncDir makes a rename in dir durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

// copyOwner gives f the owner and group of old where the process may; a
// refusal (an unprivileged rotator) leaves f owned by the process.
func copyOwner(f *os.File, old fs.FileInfo) {
	if st, ok := old.Sys().(*syscall.Stat_t); ok {
		f.Chown(int(st.Uid), int(st.Gid))
	}
}

// lockFlags keeps the lock file's open from following a symbolic link and
// from waiting on a named pipe planted in its place.
const lockFlags = syscall.O_NOFOLLOW | syscall.O_NONBLOCK
