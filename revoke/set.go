package revoke

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"hash/maphash"
	"slices"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"
)

// Defaults that a zero [Config] stands for. They equal the middleware's
// defaults, so a Set and a Manager configured with zero values agree.
const (
	// DefaultMaxAge is the absolute session lifetime a zero
	// [Config.MaxAge] stands for: 14 days.
	DefaultMaxAge = 14 * 24 * time.Hour
	// DefaultLeeway is the clock skew a zero [Config.Leeway] stands for.
	DefaultLeeway = time.Minute
	// MaxLeeway bounds [Config.Leeway], as the token package bounds its own.
	MaxLeeway = 5 * time.Minute
)

// Limits on what a Set accepts. Session ids sealed by the middleware are
// 22 characters and subjects are user ids, so these leave ample room while
// keeping one entry's cost bounded whatever its source.
const (
	// MaxIDLen is the longest session id accepted, in bytes.
	MaxIDLen = 128
	// MaxSubjectLen is the longest subject accepted, in bytes.
	MaxSubjectLen = 256
	// MaxKeep is the most session ids one [Set.RevokeSubject] may exempt.
	MaxKeep = 8
)

// ErrInvalid is returned (wrapped) for an argument a Set refuses: an empty
// or overlong id or subject, a subject that is not UTF-8, too many kept
// ids, or a time that is not plausible. The error never holds the id or
// the subject.
var ErrInvalid = errors.New("revoke: invalid revocation")

// Config configures a [Set]. Use the MaxLifetime (or MaxAge) and Leeway
// of the middleware the Set serves: they decide how long an entry must be
// kept.
type Config struct {
	// MaxAge is the longest absolute lifetime a session can have
	// ([DefaultMaxAge] when zero): the middleware's MaxLifetime, which is
	// its MaxAge unless "remember me" sessions may live longer. A
	// subject's mark is kept for MaxAge after it, since no session created
	// before it can outlive that; the middleware refuses a Set whose
	// MaxAge is shorter than its MaxLifetime.
	MaxAge time.Duration
	// Leeway is the tolerated clock skew between servers. Zero means
	// [DefaultLeeway]; a negative value means none. At most [MaxLeeway].
	// Entries are kept this much longer than the tokens they cover, since
	// a token opens up to Leeway after its expiry.
	Leeway time.Duration
	// Now is the clock; nil means [time.Now].
	Now func() time.Time
}

// shardCount is the number of independently locked parts of a Set. A
// read locks one part for reading, so readers never wait on each other;
// a write blocks only the readers of its part, for the length of one map
// assignment (or, once a minute per part, one sweep of that part).
const shardCount = 64

// sweepEvery is how often a write sweeps the expired entries of its part.
const sweepEvery = time.Minute

// idKey is the 16 bytes a session id is stored as: the id itself decoded
// when it has the middleware's form (16 random bytes, base64url), else its
// SHA-256 truncated to 16 bytes. Neither holds a pointer, so the garbage
// collector never scans a million entries.
type idKey [16]byte

// mark is a subject's "sign out everywhere": every session of the subject
// created at or before second sec is revoked, except those in keep.
type mark struct {
	sec   int64 // unix seconds
	at    int64 // unix nanoseconds: orders two marks of one second
	until int64 // unix seconds: dropped from then on
	keep  []idKey
}

type shard struct {
	mu        sync.RWMutex
	ids       map[idKey]int64 // unix seconds the entry is needed until
	subs      map[string]mark
	nextSweep int64 // unix seconds
	_         [64]byte
}

// Set is an in-memory revocation set: session ids signed out before their
// expiry, and subjects signed out everywhere before a moment. It is the
// record the middleware consults on every request (through its Revocations
// hook) and the state one server needs for correct sign-out; a fleet
// shares it through a backend such as satchel.dev/revoke/redis.
//
// Every entry is dropped once no token it covers can still open, so the
// state is bounded by the sign-outs of the last MaxAge (the middleware
// records a session id until its start plus MaxLifetime, the latest any
// copy of its cookie can open).
//
// A Set is safe for concurrent use. Its methods never do I/O.
type Set struct {
	maxAge, leeway int64 // seconds, leeway rounded up
	now            func() time.Time
	seed           maphash.Seed
	subjects       atomic.Int64 // number of subject marks, to skip the lookup when 0
	shards         [shardCount]shard
}

// New returns an empty Set configured by cfg. It returns an error wrapping
// [ErrInvalid] if MaxAge is below one second or Leeway above [MaxLeeway].
func New(cfg Config) (*Set, error) {
	if cfg.MaxAge == 0 {
		cfg.MaxAge = DefaultMaxAge
	}
	if cfg.MaxAge < time.Second {
		return nil, fmt.Errorf("%w: MaxAge %v is below one second", ErrInvalid, cfg.MaxAge)
	}
	switch {
	case cfg.Leeway == 0:
		cfg.Leeway = DefaultLeeway
	case cfg.Leeway < 0:
		cfg.Leeway = 0
	case cfg.Leeway > MaxLeeway:
		return nil, fmt.Errorf("%w: Leeway %v exceeds %v", ErrInvalid, cfg.Leeway, MaxLeeway)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	s := &Set{
		maxAge: ceilSeconds(cfg.MaxAge),
		leeway: ceilSeconds(cfg.Leeway),
		now:    cfg.Now,
		seed:   maphash.MakeSeed(),
	}
	for i := range s.shards {
		s.shards[i].ids = make(map[idKey]int64)
		s.shards[i].subs = make(map[string]mark)
	}
	return s, nil
}

func ceilSeconds(d time.Duration) int64 {
	return int64((d + time.Second - 1) / time.Second)
}

// Window returns how long an entry can matter: MaxAge plus the leeway, the
// longest any token stays open after the moment its session began. A
// backend may forget entries older than this.
func (s *Set) Window() time.Duration {
	return time.Duration(s.maxAge+s.leeway) * time.Second
}

// canonicalID decodes session ids of the middleware's form; Strict refuses
// the non-canonical spellings of the last character, so one id has one key.
var canonicalID = base64.RawURLEncoding.Strict()

func keyOf(id string) idKey {
	var k idKey
	if len(id) == 22 {
		var src [22]byte
		copy(src[:], id)
		if n, err := canonicalID.Decode(k[:], src[:]); err == nil && n == len(k) {
			return k
		}
	}
	// Callers pass at most MaxIDLen bytes, so this stays on the stack.
	var buf [len(idDomain) + MaxIDLen]byte
	sum := sha256.Sum256(append(append(buf[:0], idDomain...), id...))
	copy(k[:], sum[:])
	return k
}

// idDomain separates the hash of an id from any other use of SHA-256.
const idDomain = "satchel revoke id\x00"

// Revoked reports whether a session is revoked: its id was signed out, or
// its subject was signed out everywhere at or after the second it was
// created (and its id was not kept). It reads local memory only, takes one
// or two read locks on independent parts of the Set, does not allocate,
// and is safe for concurrent use. It has the signature of the middleware's
// Revocations.Revoked.
func (s *Set) Revoked(id, subject string, created time.Time) bool {
	var k idKey
	if len(id) > MaxIDLen {
		// Never stored (RevokeSession refuses it); only a subject mark
		// can cover it.
		id = ""
	}
	if id != "" {
		k = keyOf(id)
		sh := &s.shards[k[0]%shardCount]
		sh.mu.RLock()
		_, ok := sh.ids[k]
		sh.mu.RUnlock()
		if ok {
			return true
		}
	}
	if subject == "" || s.subjects.Load() == 0 {
		return false
	}
	sh := s.subjectShard(subject)
	sh.mu.RLock()
	m, ok := sh.subs[subject]
	sh.mu.RUnlock()
	if !ok || created.Unix() > m.sec {
		return false
	}
	// keep is immutable once stored: a change replaces the slice.
	return id == "" || !slices.Contains(m.keep, k)
}

func (s *Set) subjectShard(subject string) *shard {
	return &s.shards[maphash.String(s.seed, subject)%shardCount]
}

// RevokeSession records the sign-out of session id, whose token expires at
// expires, so that [Set.Revoked] reports it until no copy of the token can
// open (expires plus the leeway). A zero expires, or one further ahead than
// any session of this Set can live, is taken as the longest lifetime; one
// already past needs no entry and returns nil. It returns an error
// wrapping [ErrInvalid] if id is empty or longer than [MaxIDLen]; ctx is
// not used (the Set does no I/O) and is there for the middleware's
// interface. It is safe for concurrent use.
func (s *Set) RevokeSession(_ context.Context, id string, expires time.Time) error {
	if id == "" || len(id) > MaxIDLen {
		return fmt.Errorf("%w: session id must be 1 to %d bytes", ErrInvalid, MaxIDLen)
	}
	now := s.now().Unix()
	// A session began no later than now, so its token expires by
	// now+MaxAge by our clock, by now+MaxAge+Leeway by that of a server
	// whose clock runs ahead, and opens until a further Leeway.
	longest := now + s.maxAge + 2*s.leeway
	until := longest
	if !expires.IsZero() {
		until = min(ceilUnix(expires)+s.leeway, longest)
	}
	if until <= now {
		return nil
	}
	k := keyOf(id)
	sh := &s.shards[k[0]%shardCount]
	sh.mu.Lock()
	if old, ok := sh.ids[k]; !ok || old < until {
		sh.ids[k] = until
	}
	s.sweepLocked(sh, now)
	sh.mu.Unlock()
	return nil
}

func ceilUnix(t time.Time) int64 {
	u := t.Unix()
	if t.Nanosecond() > 0 {
		u++
	}
	return u
}

// RevokeSubject signs subject out everywhere as of at: [Set.Revoked]
// reports every session of subject created at or before at's second,
// except the sessions whose ids are listed in keep, until no such session
// can still be open (MaxAge plus twice the leeway after at).
//
// Session creation times are whole seconds, so a session created in the
// same second as at may have begun just before the sign-out or just after;
// the Set takes the safe side and revokes it. A handler that signs a user
// out everywhere but keeps the current session (after a password change,
// say) notes the session's id, calls
// [satchel.dev/middleware.Session.Renew], and passes both the old and the
// new id in keep: the middleware checks the session the request opened
// before writing the renewed one, and signs the old id out itself once it
// has. A fresh login later in the mark's second is refused once; the next
// one is not.
//
// Two marks for one subject combine to the later one, with its keep list
// (the keep list of a mark names the sessions it meant to spare; a later
// mark in the same second revokes every other session of that second);
// two marks at the same instant keep only the ids both keep. It returns an error wrapping
// [ErrInvalid] if subject is empty, longer than [MaxSubjectLen] or not
// UTF-8, if keep has more than [MaxKeep] ids or an invalid one, or if at is
// zero or more than [MaxLeeway] ahead of the clock. A mark too old to
// cover any open session returns nil and is not stored. It is safe for
// concurrent use.
func (s *Set) RevokeSubject(_ context.Context, subject string, at time.Time, keep ...string) error {
	if subject == "" || len(subject) > MaxSubjectLen || !utf8.ValidString(subject) {
		return fmt.Errorf("%w: subject must be 1 to %d bytes of UTF-8", ErrInvalid, MaxSubjectLen)
	}
	if len(keep) > MaxKeep {
		return fmt.Errorf("%w: at most %d kept sessions", ErrInvalid, MaxKeep)
	}
	now := s.now()
	if at.IsZero() || at.After(now.Add(MaxLeeway)) {
		return fmt.Errorf("%w: the time of a sign-out must be set and not in the future", ErrInvalid)
	}
	m := mark{sec: at.Unix(), at: at.UnixNano()}
	m.until = m.sec + 1 + s.maxAge + 2*s.leeway
	if m.until <= now.Unix() {
		return nil
	}
	for _, id := range keep {
		if id == "" || len(id) > MaxIDLen {
			return fmt.Errorf("%w: session id must be 1 to %d bytes", ErrInvalid, MaxIDLen)
		}
		if k := keyOf(id); !slices.Contains(m.keep, k) {
			m.keep = append(m.keep, k)
		}
	}
	sh := s.subjectShard(subject)
	sh.mu.Lock()
	old, ok := sh.subs[subject]
	switch {
	case !ok:
		sh.subs[subject] = m
		s.subjects.Add(1)
	case m.at > old.at:
		sh.subs[subject] = m
	case m.at == old.at:
		// Either may have come first; keep only what both vouch for.
		both := slices.DeleteFunc(slices.Clone(old.keep), func(k idKey) bool {
			return !slices.Contains(m.keep, k)
		})
		sh.subs[subject] = mark{sec: m.sec, at: m.at, until: m.until, keep: both}
	}
	s.sweepLocked(sh, now.Unix())
	sh.mu.Unlock()
	return nil
}

// sweepLocked drops sh's expired entries if its sweep is due. sh.mu is
// held for writing.
func (s *Set) sweepLocked(sh *shard, now int64) {
	if now < sh.nextSweep {
		return
	}
	sh.nextSweep = now + int64(sweepEvery/time.Second)
	s.dropExpiredLocked(sh, now)
}

func (s *Set) dropExpiredLocked(sh *shard, now int64) int {
	n := 0
	for k, until := range sh.ids {
		if until <= now {
			delete(sh.ids, k)
			n++
		}
	}
	for sub, m := range sh.subs {
		if m.until <= now {
			delete(sh.subs, sub)
			s.subjects.Add(-1)
			n++
		}
	}
	return n
}

// Sweep drops every entry that no longer covers a token that can open and
// returns how many it dropped. Writes already sweep their part of the Set
// once a minute, so calling Sweep is needed only to free memory promptly
// after sign-outs stop. It is safe for concurrent use.
func (s *Set) Sweep() int {
	now := s.now().Unix()
	n := 0
	for i := range s.shards {
		sh := &s.shards[i]
		sh.mu.Lock()
		n += s.dropExpiredLocked(sh, now)
		sh.mu.Unlock()
	}
	return n
}

// Stats counts a Set's entries.
type Stats struct {
	Sessions int // revoked session ids
	Subjects int // subjects signed out everywhere
}

// Len returns the number of entries in the Set, including expired ones not
// yet swept. It is safe for concurrent use.
func (s *Set) Len() Stats {
	var st Stats
	for i := range s.shards {
		sh := &s.shards[i]
		sh.mu.RLock()
		st.Sessions += len(sh.ids)
		st.Subjects += len(sh.subs)
		sh.mu.RUnlock()
	}
	return st
}
