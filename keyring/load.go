package keyring

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
)

// ErrLoosePermissions is wrapped by the warning that [LoadFile] and
// [Watcher.Err] give for a keyring file that group or others may read, or
// that group may write: anyone in that group, or any user of the machine,
// can read the keys and forge sessions. The keys are still loaded, since
// some deployments (a Kubernetes Secret volume, whose files are 0644
// unless the volume sets defaultMode) give no way to avoid it; the remedy
// is chmod 600, or defaultMode 0400. Every file satchel writes is 0600.
var ErrLoosePermissions = errors.New("keyring: keyring file is readable or writable by group or others")

// ErrWorldWritable is wrapped by the error of a keyring file that any
// user of the machine may write. Such a file is refused: whoever can
// write it can put in a key of their own and forge sessions with it.
var ErrWorldWritable = errors.New("keyring: keyring file is writable by any user; refusing to load it")

// ErrNotRegular is wrapped by the error of a keyring path that is not a
// regular file (after following symbolic links): a directory, a device
// such as /dev/zero, a named pipe or a socket. Such paths are refused
// without being read, so that none of them can exhaust memory or block a
// reader forever.
var ErrNotRegular = errors.New("keyring: not a regular file")

// LoadFile reads and parses the keyring file at path (see [ParseFile]).
//
// It refuses, with a nil Ring and an error naming path: a path that is
// not a regular file ([ErrNotRegular]), a file larger than [MaxFileSize]
// (before reading it), a file any user may write ([ErrWorldWritable]), a
// file that cannot be read (an [*os.PathError]) and a file that does not
// parse (a [*FileError]).
//
// A valid file that group or others may read, or group may write, is
// loaded: LoadFile then returns the Ring together with an error wrapping
// [ErrLoosePermissions], a warning for the operator. So a caller that
// treats every error as fatal refuses such a file, and one that accepts
// it writes:
//
//	r, err := keyring.LoadFile(path)
//	if r == nil {
//		return err
//	}
//	if err != nil {
//		log.Print(err) // the file's mode is too open
//	}
//
// Symbolic links are followed (a Kubernetes Secret volume is made of
// them); the mode checked is that of the file they lead to. On systems
// without Unix permissions (Windows) the mode is not checked. LoadFile is
// safe for concurrent use.
func LoadFile(path string) (*Ring, error) {
	data, warn, err := readFile(path)
	if err != nil {
		return nil, err
	}
	r, err := ParseFile(data)
	clear(data)
	if err != nil {
		return nil, withFile(err, path)
	}
	return r, warn
}

// withFile sets the file name of a *FileError.
func withFile(err error, path string) error {
	var fe *FileError
	if errors.As(err, &fe) {
		c := *fe
		c.File = path
		return &c
	}
	return err
}

// readFile reads the keyring file at path. It refuses, without opening it
// for reading, a path that is not a regular file, and, without reading
// it, a file larger than MaxFileSize or writable by others. warn is the
// ErrLoosePermissions warning, or nil.
//
// The file is opened non-blocking (where the system has the flag) and
// checked again once open, so that a named pipe swapped in between the
// two checks is refused rather than waited on.
func readFile(path string) (data []byte, warn, err error) {
	fi, err := os.Stat(path)
	if err != nil {
		return nil, nil, err
	}
	if err := checkFile(path, fi); err != nil {
		return nil, nil, err
	}
	f, err := os.OpenFile(path, os.O_RDONLY|openFlags, 0)
	if err != nil {
		return nil, nil, err
	}
	defer f.Close()
	ofi, err := f.Stat()
	if err != nil {
		return nil, nil, err
	}
	if err := checkFile(path, ofi); err != nil {
		return nil, nil, err
	}
	data, err = io.ReadAll(io.LimitReader(f, MaxFileSize+1))
	if err != nil {
		return nil, nil, &os.PathError{Op: "read", Path: path, Err: err}
	}
	if len(data) > MaxFileSize {
		clear(data)
		return nil, nil, tooLarge(path)
	}
	return data, modeWarning(path, ofi.Mode()), nil
}

// checkFile refuses what readFile must not read: a file that is not
// regular, too large or writable by anyone.
func checkFile(path string, fi fs.FileInfo) error {
	if !fi.Mode().IsRegular() {
		return &FileError{File: path, Err: fmt.Errorf("%w (it is a %s)", ErrNotRegular, kind(fi.Mode()))}
	}
	if fi.Size() > MaxFileSize {
		return tooLarge(path)
	}
	if hasUnixModes && fi.Mode().Perm()&0o002 != 0 {
		return &FileError{File: path, Err: fmt.Errorf("%w (mode %#o; chmod 600 it, then check that its keys are yours)", ErrWorldWritable, fi.Mode().Perm())}
	}
	return nil
}

// modeWarning returns the ErrLoosePermissions warning for mode, or nil.
func modeWarning(path string, mode fs.FileMode) error {
	if !hasUnixModes || mode.Perm()&0o077 == 0 {
		return nil
	}
	return &FileError{File: path, Err: fmt.Errorf("%w (mode %#o; chmod 600 it)", ErrLoosePermissions, mode.Perm())}
}

func tooLarge(path string) error {
	return &FileError{File: path, Err: syntaxErr(fmt.Sprintf("file larger than %d bytes", MaxFileSize))}
}

// kind names the type of a file that is not regular.
func kind(m fs.FileMode) string {
	switch {
	case m.IsDir():
		return "directory"
	case m&fs.ModeNamedPipe != 0:
		return "named pipe"
	case m&fs.ModeSocket != 0:
		return "socket"
	case m&fs.ModeCharDevice != 0:
		return "character device"
	case m&fs.ModeDevice != 0:
		return "device"
	}
	return "special file"
}
