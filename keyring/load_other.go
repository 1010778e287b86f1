//go:build !unix

package keyring

// openFlags adds nothing where there is no O_NONBLOCK.
const openFlags = 0

// hasUnixModes reports whether file modes carry Unix permissions; they
// are synthesized on Windows, so they are not checked there.
const hasUnixModes = false
