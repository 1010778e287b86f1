package rotate

import (
	"cmp"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"satchel.dev/keyring"
)

// The defaults that the satchel command uses for a policy flag left out.
// DefaultMaxAge equals the middleware's default session lifetime.
const (
	DefaultInterval    = 30 * 24 * time.Hour
	DefaultPropagation = time.Hour
	DefaultMaxAge      = 14 * 24 * time.Hour
)

// DefaultLeeway is the leeway of a Policy whose Leeway is zero, and
// MaxLeeway the largest one [Policy.Validate] accepts. They have the
// values of the token package's constants of the same names (one minute
// and five minutes), which a test checks: the policy must allow for the
// leeway the servers apply when they check a token's expiry.
const (
	DefaultLeeway = time.Minute
	MaxLeeway     = 5 * time.Minute
)

// Policy is a key rotation schedule. Interval, Propagation and MaxAge are
// required; see [Policy.Validate] for the rules and the package
// documentation for how to choose them.
type Policy struct {
	// Interval is how long a key stays primary: a key promoted at t is
	// replaced at t+Interval.
	Interval time.Duration

	// Propagation is how long before its promotion a new key is staged
	// (added to the ring as decrypt-only). It must exceed the slowest time
	// any server takes to pick up a changed keyring, so that every server
	// can open a key's tokens before any server seals with it. It must be
	// shorter than Interval.
	Propagation time.Duration

	// MaxAge is the longest lifetime of a token: the session lifetime the
	// middleware is configured with (its absolute MaxAge).
	MaxAge time.Duration

	// Leeway is the clock-skew allowance servers apply when checking
	// expiry: the middleware's and token.Options' Leeway, with the same
	// convention. Zero means DefaultLeeway, a negative value means no
	// leeway at all, and a value above MaxLeeway is invalid.
	Leeway time.Duration
}

// ErrInvalidPolicy is wrapped by the errors of [Policy.Validate].
var ErrInvalidPolicy = errors.New("rotate: invalid policy")

// Validate reports whether the policy can be applied: Interval,
// Propagation and MaxAge must be positive, Leeway must not exceed
// [MaxLeeway], and Propagation must be shorter than Interval (a key must
// be staged after the previous one was promoted). Errors wrap
// [ErrInvalidPolicy].
func (p Policy) Validate() error {
	var errs []string
	if p.Interval <= 0 {
		errs = append(errs, "Interval must be positive")
	}
	if p.Propagation <= 0 {
		errs = append(errs, "Propagation must be positive")
	}
	if p.MaxAge <= 0 {
		errs = append(errs, "MaxAge must be positive")
	}
	if p.Leeway > MaxLeeway {
		errs = append(errs, fmt.Sprintf("Leeway (%v) must not exceed %v", p.Leeway, MaxLeeway))
	}
	if p.Interval > 0 && p.Propagation > 0 && p.Propagation >= p.Interval {
		errs = append(errs, fmt.Sprintf("Propagation (%v) must be shorter than Interval (%v)", p.Propagation, p.Interval))
	}
	if len(errs) > 0 {
		return fmt.Errorf("%w: %s", ErrInvalidPolicy, strings.Join(errs, "; "))
	}
	return nil
}

// leeway returns the leeway the policy allows for: Leeway, DefaultLeeway
// for zero, none for a negative value.
func (p Policy) leeway() time.Duration {
	switch {
	case p.Leeway == 0:
		return DefaultLeeway
	case p.Leeway < 0:
		return 0
	}
	return p.Leeway
}

// DeleteAt returns the instant from which the retired key of entry e may
// be deleted: e.Retired + Propagation + MaxAge + leeway, where leeway is
// Leeway, [DefaultLeeway] when Leeway is zero, and nothing when it is
// negative.
//
// Every token sealed with the key expires by then. A server seals with a
// key until it picks up the ring that retired it, which Propagation
// bounds; a token lives at most MaxAge; and a server still accepts it for
// Leeway after its expiry. So a token sealed with the key at the last
// moment expires, leeway included, by this instant, and no server will
// accept it afterwards anyway. The result is the zero Time for an entry
// with no retirement time.
func (p Policy) DeleteAt(e keyring.Entry) time.Time {
	if e.Retired.IsZero() {
		return time.Time{}
	}
	return e.Retired.Add(p.Propagation + p.MaxAge + p.leeway())
}

// Changes lists what one application of the policy did. Key ids are
// public; no field holds key material.
type Changes struct {
	// Stamped lists the keys whose missing times (created, promoted for
	// the primary, retired for a retired key) were set to the current
	// time: the policy never guesses that a key is older than it knows.
	Stamped []string
	// Staged is the id of the new staged key, or "".
	Staged string
	// Promoted is the id of the staged key made primary, or "".
	Promoted string
	// Retired is the id of the former primary, or "".
	Retired string
	// Deleted lists the retired keys deleted because every token they
	// sealed has expired.
	Deleted []string
}

// Empty reports whether nothing changed.
func (c Changes) Empty() bool {
	return len(c.Stamped) == 0 && c.Staged == "" && c.Promoted == "" && c.Retired == "" && len(c.Deleted) == 0
}

// String describes the changes on one line, for logs, for example
// "promoted k4.lid.x; retired k4.lid.y", or "no change".
func (c Changes) String() string {
	var parts []string
	for _, id := range c.Stamped {
		parts = append(parts, "stamped missing times of "+id)
	}
	for _, id := range c.Deleted {
		parts = append(parts, "deleted "+id)
	}
	if c.Promoted != "" {
		parts = append(parts, "promoted "+c.Promoted)
	}
	if c.Retired != "" {
		parts = append(parts, "retired "+c.Retired)
	}
	if c.Staged != "" {
		parts = append(parts, "staged "+c.Staged)
	}
	if len(parts) == 0 {
		return "no change"
	}
	return strings.Join(parts, "; ")
}

// Next applies the policy to ring r at time now and returns the next ring
// with what changed. It is a pure function of its arguments: it reads no
// clock and generates keys only through newKey (nil means
// [keyring.GenerateKey]), which it calls at most once, only to stage a
// key.
//
// Next does every step that is due at now, in this order:
//
//  1. Stamp: a missing created time, a primary's missing promoted time
//     and a retired key's missing retired time are set to now.
//  2. Delete every retired key whose [Policy.DeleteAt] is not after now.
//  3. Promote when the primary has served Interval (now is not before
//     its Promoted + Interval) and a staged key has been in the ring for
//     at least Propagation (now is not before its Created + Propagation;
//     the oldest such key is taken). The new primary's Promoted and the
//     old primary's Retired become now; the old primary becomes Retired.
//  4. Stage a new key (Created = now) when no key is staged and the
//     primary's promotion is due within Propagation.
//
// Consequences the tests check: the primary is never deleted (only
// retired keys are); a staged key is never promoted, and so never seals,
// before it has been in the ring for Propagation, even when the rotation
// is overdue; and applying Next twice at the same instant changes nothing
// the second time.
//
// When something changed the result lists the keys in the order primary,
// staged (oldest first), retired (most recently retired first); when
// nothing changed Next returns r itself and empty Changes. It returns an
// error, and no ring, if the policy is invalid, r is nil, newKey fails, or
// the result would not be a valid ring (for example a generated key that
// is already in the ring).
func (p Policy) Next(r *keyring.Ring, now time.Time, newKey func() (keyring.Key, error)) (*keyring.Ring, Changes, error) {
	var ch Changes
	if err := p.Validate(); err != nil {
		return nil, ch, err
	}
	if r == nil {
		return nil, ch, errors.New("rotate: nil ring")
	}
	if newKey == nil {
		newKey = keyring.GenerateKey
	}
	now = now.Round(0).UTC()
	es := r.Entries()

	// 1. Stamp missing times.
	for i := range es {
		e := &es[i]
		stamped := false
		if e.Created.IsZero() {
			e.Created, stamped = now, true
		}
		if e.State == keyring.Primary && e.Promoted.IsZero() {
			e.Promoted, stamped = now, true
		}
		if e.State == keyring.Retired && e.Retired.IsZero() {
			e.Retired, stamped = now, true
		}
		if stamped {
			ch.Stamped = append(ch.Stamped, e.Key.ID())
		}
	}

	// 2. Delete retired keys whose tokens have all expired.
	es = slices.DeleteFunc(es, func(e keyring.Entry) bool {
		if e.State == keyring.Retired && !now.Before(p.DeleteAt(e)) {
			ch.Deleted = append(ch.Deleted, e.Key.ID())
			return true
		}
		return false
	})

	// 3. Promote.
	pi := slices.IndexFunc(es, func(e keyring.Entry) bool { return e.State == keyring.Primary })
	if pi < 0 {
		return nil, Changes{}, fmt.Errorf("rotate: %w: no primary key", keyring.ErrInvalidRing)
	}
	if !now.Before(es[pi].Promoted.Add(p.Interval)) {
		if si := p.candidate(es, now); si >= 0 {
			es[pi].State, es[pi].Retired = keyring.Retired, now
			es[si].State, es[si].Promoted = keyring.Primary, now
			ch.Retired, ch.Promoted = es[pi].Key.ID(), es[si].Key.ID()
			pi = si
		}
	}

	// 4. Stage.
	staged := slices.ContainsFunc(es, func(e keyring.Entry) bool { return e.State == keyring.Staged })
	if !staged && !now.Before(es[pi].Promoted.Add(p.Interval-p.Propagation)) {
		k, err := newKey()
		if err != nil {
			return nil, Changes{}, fmt.Errorf("rotate: generating a key: %w", err)
		}
		es = append(es, keyring.Entry{Key: k, State: keyring.Staged, Created: now})
		ch.Staged = k.ID()
	}

	if ch.Empty() {
		return r, ch, nil
	}
	sortEntries(es)
	next, err := keyring.New(es)
	if err != nil {
		return nil, Changes{}, fmt.Errorf("rotate: %w", err)
	}
	return next, ch, nil
}

// candidate returns the index of the oldest staged key that has been in
// the ring for Propagation at now, or -1.
func (p Policy) candidate(es []keyring.Entry, now time.Time) int {
	best := -1
	for i, e := range es {
		if e.State != keyring.Staged || now.Before(e.Created.Add(p.Propagation)) {
			continue
		}
		if best < 0 || e.Created.Before(es[best].Created) {
			best = i
		}
	}
	return best
}

// sortEntries orders entries primary, staged (oldest first), retired
// (most recently retired first), keeping the given order among equals.
func sortEntries(es []keyring.Entry) {
	rank := func(s keyring.State) int {
		switch s {
		case keyring.Primary:
			return 0
		case keyring.Staged:
			return 1
		}
		return 2
	}
	slices.SortStableFunc(es, func(a, b keyring.Entry) int {
		if c := cmp.Compare(rank(a.State), rank(b.State)); c != 0 {
			return c
		}
		switch a.State {
		case keyring.Staged:
			return a.Created.Compare(b.Created)
		case keyring.Retired:
			return b.Retired.Compare(a.Retired)
		}
		return 0
	})
}

// NextChange returns the earliest instant at which [Policy.Next] would
// change r: a key's deletion, the promotion of a staged key, or the
// staging of a new one. It returns the zero Time when r has missing times
// (Next would change it at once) and for a nil ring. The policy is assumed
// valid. A rotator sleeps until this instant.
func (p Policy) NextChange(r *keyring.Ring) time.Time {
	if r == nil {
		return time.Time{}
	}
	es := r.Entries()
	var next time.Time
	earliest := func(t time.Time) {
		if next.IsZero() || t.Before(next) {
			next = t
		}
	}
	var primary keyring.Entry
	var oldestStaged time.Time
	for _, e := range es {
		if e.Created.IsZero() ||
			e.State == keyring.Primary && e.Promoted.IsZero() ||
			e.State == keyring.Retired && e.Retired.IsZero() {
			return time.Time{}
		}
		switch e.State {
		case keyring.Primary:
			primary = e
		case keyring.Staged:
			if oldestStaged.IsZero() || e.Created.Before(oldestStaged) {
				oldestStaged = e.Created
			}
		case keyring.Retired:
			earliest(p.DeleteAt(e))
		}
	}
	due := primary.Promoted.Add(p.Interval)
	if oldestStaged.IsZero() {
		earliest(due.Add(-p.Propagation))
	} else {
		earliest(latest(due, oldestStaged.Add(p.Propagation)))
	}
	return next
}

func latest(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

// Initial returns a new ring of one fresh primary key, created and
// promoted at now, for a new keyring file. newKey nil means
// [keyring.GenerateKey].
func Initial(now time.Time, newKey func() (keyring.Key, error)) (*keyring.Ring, error) {
	if newKey == nil {
		newKey = keyring.GenerateKey
	}
	k, err := newKey()
	if err != nil {
		return nil, fmt.Errorf("rotate: generating a key: %w", err)
	}
	now = now.Round(0).UTC()
	return keyring.New([]keyring.Entry{{Key: k, State: keyring.Primary, Created: now, Promoted: now}})
}
