//go:build unix

package keyring

import "syscall"

// openFlags makes opening a named pipe return at once instead of waiting
// for a writer. It changes nothing for a regular file.
const openFlags = syscall.O_NONBLOCK

// hasUnixModes reports whether file modes carry Unix permissions.
const hasUnixModes = true
