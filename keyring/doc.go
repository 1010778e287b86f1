// Package keyring holds satchel's key material: 32-byte v4.local keys
// named by their PASERK k4.lid ids, and immutable Rings of them.
//
// # Keys
//
// [GenerateKey] makes a key from crypto/rand; [ParseKey] reads the PASERK
// form "k4.local.<base64url>" strictly and refuses other versions and
// types, non-canonical encodings, the all-zero key and the example keys
// published with the PASETO test vectors. A [Key] prints as its id in every
// format ([fmt], JSON, text, slog), so a key logged by mistake reveals
// nothing; the secret leaves a Key only through [Key.ExportSecret],
// [Key.ExportPASERK] and [Key.ExportSubkeyStates] (state derived from
// it, for package token): grep for "Export" to find every such place.
//
// # Rings
//
// A [Ring] is one primary key, which seals, and any number of staged and
// retired keys, which only open. Tokens name their key by id, so opening
// looks a key up in constant time and never tries the others. A Ring never
// changes after [New]; a new set of keys is a new Ring, published through a
// [Source]. A *Ring is a Source of itself.
//
// # Loading
//
// [ParseKeys] and [FromEnv] read the short form for environments and CI:
// PASERKs separated by commas or white space, the first one primary
// (conventionally in $SATCHEL_KEYS). Errors name the position of a bad key
// and never echo key material.
//
// # Keyring files
//
// A keyring file holds each key with its state and the times rotation
// needs, one key per line, between a version line and an end line that
// counts the keys:
//
//	satchel-keyring v1
//	secret=k4.local.… state=primary created=2026-11-01T09:00:00Z promoted=2026-11-01T09:00:00Z
//	secret=k4.local.… state=retired created=2026-10-01T09:00:00Z promoted=2026-10-01T09:00:00Z retired=2026-11-01T09:00:00Z
//	end keys=2
//
// [ParseFile] reads it strictly and [FormatFile] writes it; the format is
// canonical, so a file ParseFile accepts is written back byte for byte.
// The end line makes a file self-delimiting: one cut short, even at a line
// boundary, is refused rather than read as a keyring with fewer keys.
// Errors name the line and field ("keyring.txt:3: field "state": ...")
// and never echo the file's bytes. [LoadFile] reads a path. The rotate
// package and the satchel command create and rotate such files, always
// with mode 0600.
//
// LoadFile, the [Watcher] and the rotate package read at most
// [MaxFileSize] bytes, refuse a path that is not a regular file (a
// directory, a named pipe, /dev/zero) without reading it, and refuse a
// file that any user may write ([ErrWorldWritable]). A file that group or
// others may read is loaded with a warning wrapping
// [ErrLoosePermissions].
//
// # Following a file
//
// [NewWatcher] returns a [Watcher], a Source that polls a keyring file and
// publishes each new valid Ring atomically. It follows a rename into place
// and a Kubernetes Secret's symlink swap; a corrupt, truncated, unreadable
// or hand-edited-wrong file never replaces the running Ring: the Watcher
// keeps the last good one and reports the error. It never holds a lock
// while it reads the file or calls back, so a hung file system cannot
// block [Watcher.Err] in a health check.
//
// # Printing
//
// Every type of the package that holds keys ([Key], [Entry], [Ring],
// [Watcher]) prints as key ids and states with every fmt verb, through
// slog and through encoding/json; no secret leaves a Key except through
// its Export methods.
package keyring
