package keyring

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"time"
)

// State is the role of a key in a [Ring].
type State uint8

// The states of a key's life, in order. Exactly one key of a Ring is
// Primary; Staged and Retired keys only open tokens.
const (
	// Staged keys were added ahead of their promotion so that every server
	// can open tokens sealed with them before any server seals with them.
	Staged State = iota + 1
	// Primary is the one key that seals new tokens (and opens tokens).
	Primary
	// Retired keys were primary once; they open the tokens they sealed
	// until those expire, then the rotation policy deletes them.
	Retired
)

// String returns "staged", "primary" or "retired".
func (s State) String() string {
	switch s {
	case Staged:
		return "staged"
	case Primary:
		return "primary"
	case Retired:
		return "retired"
	}
	return fmt.Sprintf("State(%d)", uint8(s))
}

// ParseState is the inverse of [State.String].
func ParseState(s string) (State, error) {
	switch s {
	case "staged":
		return Staged, nil
	case "primary":
		return Primary, nil
	case "retired":
		return Retired, nil
	}
	return 0, fmt.Errorf("keyring: unknown key state %q (want staged, primary or retired)", s)
}

// Entry is one key of a Ring with its state and the times the rotation
// policy reads. Times that have not happened are zero.
type Entry struct {
	Key      Key
	State    State
	Created  time.Time // when the key was generated
	Promoted time.Time // when it became primary; zero while staged
	Retired  time.Time // when it stopped being primary; zero unless retired
}

// ErrInvalidRing is wrapped by every error of [New] and the loaders that
// describes a keyring that breaks the rules: no primary, two primaries,
// duplicate ids, a zero key or an unknown state.
var ErrInvalidRing = errors.New("keyring: invalid keyring")

// Ring is an immutable snapshot of the keys a server uses: exactly one
// primary key, which seals and opens, and any number of staged and retired
// keys, which only open. Lookups by id take constant time.
//
// A Ring never changes after [New] returns it, so it is safe for concurrent
// use; a new set of keys is a new Ring, published through a [Source].
type Ring struct {
	entries []Entry
	index   map[string]int
	primary int
}

// New validates entries and returns a Ring holding a copy of them, in the
// order given. It returns an error wrapping [ErrInvalidRing] unless exactly
// one entry is Primary, every key is non-zero with a known state, and no id
// appears twice.
func New(entries []Entry) (*Ring, error) {
	if len(entries) == 0 {
		return nil, fmt.Errorf("%w: no keys", ErrInvalidRing)
	}
	r := &Ring{
		entries: append([]Entry(nil), entries...),
		index:   make(map[string]int, len(entries)),
		primary: -1,
	}
	for i, e := range r.entries {
		if e.Key.IsZero() {
			return nil, fmt.Errorf("%w: entry %d has no key", ErrInvalidRing, i+1)
		}
		if e.State < Staged || e.State > Retired {
			return nil, fmt.Errorf("%w: key %s has unknown state %d", ErrInvalidRing, e.Key.ID(), e.State)
		}
		if _, dup := r.index[e.Key.ID()]; dup {
			return nil, fmt.Errorf("%w: key %s appears twice", ErrInvalidRing, e.Key.ID())
		}
		r.index[e.Key.ID()] = i
		if e.State == Primary {
			if r.primary >= 0 {
				return nil, fmt.Errorf("%w: two primary keys (%s and %s)", ErrInvalidRing,
					r.entries[r.primary].Key.ID(), e.Key.ID())
			}
			r.primary = i
		}
	}
	if r.primary < 0 {
		return nil, fmt.Errorf("%w: no primary key", ErrInvalidRing)
	}
	return r, nil
}

// FromKeys returns a Ring whose primary is primary and whose other keys are
// retired (open only). It is the short form for tests, environment
// variables and single-server setups; the errors are those of [New].
func FromKeys(primary Key, others ...Key) (*Ring, error) {
	entries := make([]Entry, 0, 1+len(others))
	entries = append(entries, Entry{Key: primary, State: Primary})
	for _, k := range others {
		entries = append(entries, Entry{Key: k, State: Retired})
	}
	return New(entries)
}

// Primary returns the key that seals new tokens.
func (r *Ring) Primary() Key { return r.entries[r.primary].Key }

// Lookup returns the key with the given k4.lid id, whatever its state, and
// whether the ring has it.
func (r *Ring) Lookup(id string) (Key, bool) {
	i, ok := r.index[id]
	if !ok {
		return Key{}, false
	}
	return r.entries[i].Key, true
}

// Entry returns the entry of the key with the given id and whether the ring
// has it.
func (r *Ring) Entry(id string) (Entry, bool) {
	i, ok := r.index[id]
	if !ok {
		return Entry{}, false
	}
	return r.entries[i], true
}

// Entries returns a copy of the ring's entries in their order.
func (r *Ring) Entries() []Entry { return append([]Entry(nil), r.entries...) }

// Len returns the number of keys in the ring.
func (r *Ring) Len() int { return len(r.entries) }

// Current returns r itself: a Ring is a [Source] that never changes.
func (r *Ring) Current() *Ring { return r }

// String lists the ids and states of the keys, never their secrets.
func (r *Ring) String() string {
	if r == nil {
		return "keyring.Ring(nil)"
	}
	var b strings.Builder
	b.WriteString("keyring.Ring{")
	for i, e := range r.entries {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(e.Key.ID())
		b.WriteByte(' ')
		b.WriteString(e.State.String())
	}
	b.WriteByte('}')
	return b.String()
}

// Format implements [fmt.Formatter]: every verb prints [Ring.String], so no
// formatting path reaches the secrets. It has a value receiver so that a
// Ring held by value (a dereferenced *Ring, a struct field) prints the same.
func (r Ring) Format(f fmt.State, verb rune) { io.WriteString(f, r.String()) }

// LogValue implements [slog.LogValuer]: a Ring logs as [Ring.String],
// with every handler.
func (r *Ring) LogValue() slog.Value { return slog.StringValue(r.String()) }

// sameRing reports whether a and b hold the same keys in the same order,
// with the same states and times. Ids stand for keys: two keys with one
// id would be a BLAKE2b collision.
func sameRing(a, b *Ring) bool {
	if a == nil || b == nil {
		return a == b
	}
	if len(a.entries) != len(b.entries) {
		return false
	}
	for i, x := range a.entries {
		y := b.entries[i]
		if x.Key.ID() != y.Key.ID() || x.State != y.State ||
			!x.Created.Equal(y.Created) || !x.Promoted.Equal(y.Promoted) || !x.Retired.Equal(y.Retired) {
			return false
		}
	}
	return true
}

// Source supplies the current Ring. Implementations publish new Rings
// atomically, so that Current never returns nil or a partial Ring, and must
// be safe for concurrent use. A *Ring is a Source of itself.
type Source interface {
	Current() *Ring
}
