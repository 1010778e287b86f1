package keyring

import "io"

// Test seams for the official vectors, whose keys ParseKey refuses as weak.
var (
	DecodePASERK    = decodePASERK
	EncodePASERK    = encodePASERK
	LID             = lid
	GenerateKeyFrom = func(r io.Reader) (Key, error) { return generateKey(r) }
)
