// Package b2key provides keyed BLAKE2b for the v4.local construction
// without an allocation per hash, and the per-key precomputed state that
// lets a hash under a long-lived key skip its key block.
//
// blake2b.New(size, key) allocates a digest every call, and v4.local needs
// three keyed hashes per token, one of them under a key derived from the
// nonce. x/crypto refuses to marshal a keyed digest, but an unkeyed digest
// can be unmarshaled into any state, including the initial state of a keyed
// one: parameter block with the key length, counter zero, the key padded to
// a full block as pending input. So a [Digest] keeps one unkeyed digest and
// loads that state into it.
//
// A keyed hash compresses the padded key as its first block, the same
// for every message under that key. [Precompute] runs that compression
// once and keeps the state after it; [Digest.Resume] loads it, so each
// hash under the key costs one compression less. For v4.local, whose
// subkey hashes cover 53 and 56 bytes (one block), that halves the work
// of both.
//
// This leans on the layout of x/crypto's marshaled state, so it is checked
// once against blake2b.New on known inputs; if the check fails (a future
// x/crypto changing the layout), [Digest.Keyed] falls back to blake2b.New
// and [Precompute] returns nil, which callers treat as "hash with the key".
//
// What it buys (Go 1.26, x/crypto v0.59.0, cpu-ns/op, n=10): a subkey
// hash costs 272 ns re-keyed, 332 ns and one 384-byte allocation with
// blake2b.New, 145 ns resumed from the precomputed state
// (BenchmarkKeyedHash). Per token, three allocations fewer than
// blake2b.New (Seal 2 instead of 5).
package b2key

import (
	"bytes"
	"encoding"
	"fmt"
	"hash"
	"io"
	"sync"

	"golang.org/x/crypto/blake2b"
)

const (
	stateMagic  = "b2b"
	stateSize   = len(stateMagic) + 8*8 + 2*8 + 1 + blake2b.BlockSize + 1
	stateH0     = len(stateMagic)         // h[0], big-endian
	stateBlock  = stateH0 + 8*8 + 2*8 + 1 // the pending block
	stateOffset = stateBlock + blake2b.BlockSize
)

var (
	checkOnce sync.Once
	fastOK    bool
	// templates[size] is the marshaled initial state of an unkeyed digest
	// of that output size, for the sizes v4.local uses.
	templates = map[int]*[stateSize]byte{32: nil, 56: nil}
)

// rekeyable is the part of x/crypto's digest that Digest needs.
type rekeyable interface {
	hash.Hash
	encoding.BinaryMarshaler
	encoding.BinaryUnmarshaler
}

// Fast reports whether the allocation-free path passed its known-answer
// check and is in use (with x/crypto v0.59.0 it is).
func Fast() bool {
	checkOnce.Do(check)
	return fastOK
}

func check() {
	for size := range templates {
		h, err := blake2b.New(size, nil)
		if err != nil {
			return
		}
		st, err := h.(encoding.BinaryMarshaler).MarshalBinary()
		if err != nil || len(st) != stateSize || string(st[:len(stateMagic)]) != stateMagic {
			return
		}
		templates[size] = (*[stateSize]byte)(st)
	}
	// Known-answer check against the library's own keyed hash, started
	// fresh and resumed from a precomputed state.
	key := bytes.Repeat([]byte{0xa5}, 32)
	msg := bytes.Repeat([]byte("satchel"), 40)
	var d Digest
	for size := range templates {
		want, _ := blake2b.New(size, key)
		want.Write(msg)
		sum := want.Sum(nil)
		got, ok := d.rekey(size, key)
		if !ok {
			return
		}
		got.Write(msg)
		if !bytes.Equal(got.Sum(nil), sum) {
			return
		}
		st, ok := d.precompute(size, key)
		if !ok || d.d.UnmarshalBinary(st.m.b[:]) != nil {
			return
		}
		d.d.Write(msg)
		if !bytes.Equal(d.d.Sum(nil), sum) {
			return
		}
	}
	d.Wipe()
	fastOK = true
}

// Digest is one reusable BLAKE2b digest plus the buffer its state is built
// in. The zero value is ready to use. A Digest holds key material between
// a hash and [Digest.Wipe]; it is not safe for concurrent use.
type Digest struct {
	d     rekeyable
	state [stateSize]byte
}

// Keyed returns a hash equivalent to blake2b.New(size, key), where key is
// at most 64 bytes and size is 32 or 56. It reuses d's digest when the fast
// path is available; the hash is valid until the next call on d.
func (d *Digest) Keyed(size int, key []byte) hash.Hash {
	if Fast() {
		if h, ok := d.rekey(size, key); ok {
			return h
		}
	}
	h, err := blake2b.New(size, key)
	if err != nil {
		panic("b2key: blake2b rejected a fixed-size key or output: " + err.Error())
	}
	return h
}

// Resume returns a hash equivalent to blake2b.New(size, key) for the size
// and key s was precomputed from. At least one byte must be written
// before Sum (s has compressed the key block on the understanding that
// more input follows). The hash is valid until the next call on d.
func (d *Digest) Resume(s *State) hash.Hash {
	if !d.init() || d.d.UnmarshalBinary(s.m.b[:]) != nil {
		// Precompute made s with this digest's layout, which was checked
		// at start-up: unreachable.
		panic("b2key: precomputed state refused")
	}
	return d.d
}

// init makes d's digest, and reports whether x/crypto's digest can be
// marshaled and unmarshaled.
func (d *Digest) init() bool {
	if d.d == nil {
		h, err := blake2b.New(blake2b.Size, nil)
		if err != nil {
			return false
		}
		r, ok := h.(rekeyable)
		if !ok {
			return false
		}
		d.d = r
	}
	return true
}

// rekey loads the initial keyed state into d's digest.
func (d *Digest) rekey(size int, key []byte) (hash.Hash, bool) {
	// Only keys of 1 to 64 bytes are keyed hashes; leave anything else to
	// blake2b.New, which says what is wrong with it.
	tmpl := templates[size]
	if len(key) == 0 || len(key) > blake2b.Size || tmpl == nil {
		return nil, false
	}
	if !d.init() {
		return nil, false
	}
	st := &d.state
	*st = *tmpl
	// The parameter block's second byte is the key length: h[0] is stored
	// big-endian, so that byte sits seventh of h[0]'s eight.
	st[stateH0+6] ^= byte(len(key))
	copy(st[stateBlock:stateOffset], key)
	st[stateOffset] = blake2b.BlockSize
	if err := d.d.UnmarshalBinary(st[:]); err != nil {
		return nil, false
	}
	return d.d, true
}

// precompute compresses the key block of a keyed hash and returns the
// state after it, with nothing pending.
func (d *Digest) precompute(size int, key []byte) (*State, bool) {
	h, ok := d.rekey(size, key)
	if !ok {
		return nil, false
	}
	// One more byte makes the digest compress the pending key block.
	h.Write([]byte{0})
	st, err := d.d.MarshalBinary()
	if err != nil || len(st) != stateSize {
		return nil, false
	}
	b := new([stateSize]byte)
	copy(b[:], st)
	clear(st)
	clear(b[stateBlock:stateOffset])
	b[stateOffset] = 0
	s := &State{m: &stateBytes{b: b}}
	d.Wipe()
	return s, true
}

// Wipe clears the key material left in d's state buffer and digest.
func (d *Digest) Wipe() {
	clear(d.state[:])
	if d.d != nil && templates[32] != nil {
		// Loading the unkeyed template also zeroes the pending block,
		// which Reset would leave as it was.
		d.d.UnmarshalBinary(templates[32][:])
	}
}

// State is a keyed BLAKE2b state after its key block: as secret as the key
// it was computed from (with it, anyone can compute that keyed hash of any
// message). It prints as "b2key.State(secret)" with every fmt verb, and
// holds its bytes two pointers away, as keyring.Key holds its secret:
// where fmt cannot call Format (a State in an unexported field) it walks
// the fields, and on a verb that does not fit a pointer it prints the
// pointer's target, one level deep only, where the next pointer prints as
// an address.
type State struct {
	m *stateBytes
}

type stateBytes struct {
	b *[stateSize]byte
}

// Precompute returns the state of blake2b.New(size, key) after its key
// block, or nil when the fast path is not available (the caller then
// hashes with the key). size is 32 or 56 and key 1 to 64 bytes.
func Precompute(size int, key []byte) *State {
	if !Fast() {
		return nil
	}
	var d Digest
	s, ok := d.precompute(size, key)
	if !ok {
		return nil
	}
	return s
}

// Format prints a placeholder, never the state.
func (State) Format(f fmt.State, _ rune) { io.WriteString(f, "b2key.State(secret)") }

// GoString prints a placeholder, never the state.
func (State) GoString() string { return "b2key.State(secret)" }
