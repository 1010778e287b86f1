package keyring

import "strings"

// ValidID reports whether id has the form of a PASERK k4.lid id as
// [Key.ID] returns it: "k4.lid." followed by 44 characters of canonical,
// unpadded base64url (the 33 bytes of a BLAKE2b-264 digest). It says
// nothing about whether any keyring holds such a key. It is safe for
// concurrent use.
//
// Callers use it to decide whether a string may be repeated in an error
// message: an id is public, while a string of another shape may be a
// secret pasted in the wrong place.
func ValidID(id string) bool {
	enc, ok := strings.CutPrefix(id, lidPrefix)
	if !ok || len(enc) != idLen-len(lidPrefix) {
		return false
	}
	var digest [33]byte
	n, err := b64.Decode(digest[:], []byte(enc))
	return err == nil && n == len(digest)
}
