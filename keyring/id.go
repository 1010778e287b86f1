package keyring

// ValidID reports whether id has the form of a PASERK k4.lid id as
// [Key.ID] returns it: "k4.lid." followed by 44 characters of canonical,
// unpadded base64url (the 33 bytes of a BLAKE2b-264 digest). It says
// nothing about whether any keyring holds such a key. It is safe for
// concurrent use.
//
// Callers use it to decide whether a string may be repeated in an error
// message (an id is public, while a string of another shape may be a
// secret pasted in the wrong place), and package token uses it on the
// footer of untrusted tokens, which is why it also takes bytes: checking
// them costs no conversion and no allocation.
func ValidID[T ~string | ~[]byte](id T) bool {
	if len(id) != idLen || string(id[:len(lidPrefix)]) != lidPrefix {
		return false
	}
	// 44 characters carry exactly the 264 bits of the digest, with no
	// padding and no spare bits, so every string of the alphabet is the
	// one canonical spelling of its bytes: checking the alphabet is
	// checking canonical base64url.
	for i := len(lidPrefix); i < len(id); i++ {
		c := id[i]
		if !('A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}
