package keyring

import "io"

// Test seams for the official vectors, whose keys ParseKey refuses as weak.
var (
	DecodePASERK    = decodePASERK
	EncodePASERK    = encodePASERK
	LID             = lid
	GenerateKeyFrom = func(r io.Reader) (Key, error) { return generateKey(r) }
)

// NewWatcherLoader is NewWatcher reading the file through load instead of
// LoadFile, so that a test can make a read hang as a dead network mount
// would.
func NewWatcherLoader(path string, opts WatchOptions, load func(string) (*Ring, error)) (*Watcher, error) {
	return newWatcher(path, opts, load)
}
