package revoke_test

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	mrand "math/rand/v2"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"satchel.dev/revoke"
)

var ctx = context.Background()

// clock is a fake clock tests advance by hand.
type clock struct{ ns atomic.Int64 }

func newClock(t time.Time) *clock { c := &clock{}; c.ns.Store(t.UnixNano()); return c }
func (c *clock) Now() time.Time   { return time.Unix(0, c.ns.Load()).UTC() }
func (c *clock) Advance(d time.Duration) {
	c.ns.Add(int64(d))
}

var t0 = time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)

func newSet(t testing.TB, cfg revoke.Config) (*revoke.Set, *clock) {
	t.Helper()
	c := newClock(t0)
	cfg.Now = c.Now
	s, err := revoke.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return s, c
}

// newID returns an id of the middleware's form.
func newID() string {
	var b [16]byte
	rand.Read(b[:])
	return base64.RawURLEncoding.EncodeToString(b[:])
}

func TestNewConfig(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		cfg    revoke.Config
		window time.Duration
		ok     bool
	}{
		{"zero", revoke.Config{}, revoke.DefaultMaxAge + revoke.DefaultLeeway, true},
		{"no leeway", revoke.Config{MaxAge: time.Hour, Leeway: -1}, time.Hour, true},
		{"fractions round up", revoke.Config{MaxAge: 1500 * time.Millisecond, Leeway: 10 * time.Millisecond}, 3 * time.Second, true},
		{"max leeway", revoke.Config{Leeway: revoke.MaxLeeway}, revoke.DefaultMaxAge + revoke.MaxLeeway, true},
		{"leeway too large", revoke.Config{Leeway: revoke.MaxLeeway + 1}, 0, false},
		{"max age too small", revoke.Config{MaxAge: time.Second - 1}, 0, false},
		{"negative max age", revoke.Config{MaxAge: -time.Hour}, 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := revoke.New(tt.cfg)
			if !tt.ok {
				if !errors.Is(err, revoke.ErrInvalid) {
					t.Fatalf("New = %v, want ErrInvalid", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := s.Window(); got != tt.window {
				t.Errorf("Window = %v, want %v", got, tt.window)
			}
		})
	}
}

// A session id is revoked until its token's expiry plus the leeway, and
// dropped after.
func TestRevokeSessionExpiry(t *testing.T) {
	t.Parallel()
	s, c := newSet(t, revoke.Config{MaxAge: time.Hour, Leeway: 30 * time.Second})
	id, other := newID(), newID()
	exp := t0.Add(20 * time.Minute)
	if err := s.RevokeSession(ctx, id, exp); err != nil {
		t.Fatal(err)
	}
	if !s.Revoked(id, "", t0) {
		t.Fatal("revoked id not reported")
	}
	if s.Revoked(other, "", t0) {
		t.Fatal("another id reported revoked")
	}
	c.Advance(20*time.Minute + 29*time.Second)
	if n := s.Sweep(); n != 0 || !s.Revoked(id, "", t0) {
		t.Fatalf("entry dropped within the leeway after exp (swept %d)", n)
	}
	c.Advance(time.Second)
	if n := s.Sweep(); n != 1 {
		t.Fatalf("Sweep dropped %d entries at exp+leeway, want 1", n)
	}
	if got := s.Len(); got != (revoke.Stats{}) {
		t.Fatalf("Len after expiry = %+v", got)
	}
}

func TestRevokeSessionClampsExpiry(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		expires time.Time
		kept    time.Duration // how long the entry must last at least
		dropped time.Duration // when it must be gone
	}{
		// now + MaxAge + 2*leeway: the latest any token of a session that
		// began by now can open, even sealed by a clock a leeway ahead.
		{"zero means longest", time.Time{}, time.Hour + 2*time.Minute - time.Second, time.Hour + 2*time.Minute},
		{"far future clamped", t0.Add(1000 * time.Hour), time.Hour + 2*time.Minute - time.Second, time.Hour + 2*time.Minute},
		{"fraction rounds up", t0.Add(10*time.Second + time.Millisecond), 70 * time.Second, 71 * time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s, c := newSet(t, revoke.Config{MaxAge: time.Hour})
			id := newID()
			if err := s.RevokeSession(ctx, id, tt.expires); err != nil {
				t.Fatal(err)
			}
			c.Advance(tt.kept)
			if s.Sweep(); !s.Revoked(id, "", t0) {
				t.Fatalf("entry gone after %v", tt.kept)
			}
			c.Advance(tt.dropped - tt.kept)
			if s.Sweep(); s.Revoked(id, "", t0) {
				t.Fatalf("entry still there after %v", tt.dropped)
			}
		})
	}
}

func TestRevokeSessionAlreadyExpired(t *testing.T) {
	t.Parallel()
	s, _ := newSet(t, revoke.Config{Leeway: -1})
	id := newID()
	if err := s.RevokeSession(ctx, id, t0.Add(-time.Second)); err != nil {
		t.Fatal(err)
	}
	if s.Revoked(id, "", t0) || s.Len().Sessions != 0 {
		t.Fatal("an expired token's id was stored")
	}
}

// The later of two expiries for one id wins, whatever the order.
func TestRevokeSessionKeepsLaterExpiry(t *testing.T) {
	t.Parallel()
	s, c := newSet(t, revoke.Config{Leeway: -1})
	id := newID()
	s.RevokeSession(ctx, id, t0.Add(time.Hour))
	s.RevokeSession(ctx, id, t0.Add(time.Minute))
	c.Advance(30 * time.Minute)
	if s.Sweep(); !s.Revoked(id, "", t0) {
		t.Fatal("an earlier expiry shortened the entry")
	}
}

// Ids of the middleware's form and any other string are both exact: a
// non-canonical spelling of a canonical id, a prefix or a longer string
// is another id.
func TestIDsAreExact(t *testing.T) {
	t.Parallel()
	s, _ := newSet(t, revoke.Config{})
	canon := "AAAAAAAAAAAAAAAAAAAAAA" // 16 zero bytes
	odd := "operator-typed id"
	for _, id := range []string{canon, odd, strings.Repeat("x", revoke.MaxIDLen)} {
		if err := s.RevokeSession(ctx, id, time.Time{}); err != nil {
			t.Fatal(err)
		}
	}
	for _, id := range []string{canon, odd, strings.Repeat("x", revoke.MaxIDLen)} {
		if !s.Revoked(id, "", t0) {
			t.Errorf("Revoked(%q) = false", id)
		}
	}
	for _, id := range []string{
		"AAAAAAAAAAAAAAAAAAAAAB", // same 16 bytes in non-strict base64
		"AAAAAAAAAAAAAAAAAAAAA",
		"AAAAAAAAAAAAAAAAAAAAAAA",
		"operator-typed id ",
		strings.Repeat("x", revoke.MaxIDLen+1),
	} {
		if s.Revoked(id, "", t0) {
			t.Errorf("Revoked(%q) = true", id)
		}
	}
}

func TestInvalidArguments(t *testing.T) {
	t.Parallel()
	s, _ := newSet(t, revoke.Config{})
	long := strings.Repeat("s", revoke.MaxSubjectLen+1)
	tooMany := make([]string, revoke.MaxKeep+1)
	for i := range tooMany {
		tooMany[i] = newID()
	}
	tests := []struct {
		name string
		err  error
	}{
		{"empty id", s.RevokeSession(ctx, "", t0.Add(time.Hour))},
		{"long id", s.RevokeSession(ctx, strings.Repeat("i", revoke.MaxIDLen+1), t0.Add(time.Hour))},
		{"empty subject", s.RevokeSubject(ctx, "", t0)},
		{"long subject", s.RevokeSubject(ctx, long, t0)},
		{"subject not UTF-8", s.RevokeSubject(ctx, "ada\xff", t0)},
		{"zero time", s.RevokeSubject(ctx, "ada", time.Time{})},
		{"far future", s.RevokeSubject(ctx, "ada", t0.Add(revoke.MaxLeeway+time.Second))},
		{"too many kept", s.RevokeSubject(ctx, "ada", t0, tooMany...)},
		{"empty kept id", s.RevokeSubject(ctx, "ada", t0, "")},
	}
	for _, tt := range tests {
		if !errors.Is(tt.err, revoke.ErrInvalid) {
			t.Errorf("%s: err = %v, want ErrInvalid", tt.name, tt.err)
		}
		if tt.err != nil && strings.Contains(tt.err.Error(), "ada") {
			t.Errorf("%s: error %q holds the subject", tt.name, tt.err)
		}
	}
	if got := s.Len(); got != (revoke.Stats{}) {
		t.Fatalf("refused calls stored entries: %+v", got)
	}
}

// A subject's mark revokes the sessions created at or before its second,
// the same second included; later ones and other subjects are untouched.
func TestRevokeSubject(t *testing.T) {
	t.Parallel()
	s, c := newSet(t, revoke.Config{MaxAge: time.Hour, Leeway: -1})
	c.Advance(10*time.Minute + 400*time.Millisecond)
	at := c.Now()
	if err := s.RevokeSubject(ctx, "ada", at); err != nil {
		t.Fatal(err)
	}
	sec := at.Truncate(time.Second)
	tests := []struct {
		subject string
		created time.Time
		want    bool
	}{
		{"ada", t0, true},
		{"ada", sec.Add(-time.Second), true},
		{"ada", sec, true}, // same second: may have begun before the mark
		{"ada", sec.Add(time.Second), false},
		{"bob", t0, false},
		{"", t0, false},
	}
	for _, tt := range tests {
		if got := s.Revoked(newID(), tt.subject, tt.created); got != tt.want {
			t.Errorf("Revoked(subject %q, created %v) = %v, want %v", tt.subject, tt.created.Sub(t0), got, tt.want)
		}
	}
	// The mark lasts MaxAge past its second, then goes.
	c.Advance(time.Hour)
	if s.Sweep(); !s.Revoked("", "ada", sec) {
		t.Fatal("mark gone before MaxAge after it")
	}
	c.Advance(time.Second)
	if s.Sweep(); s.Revoked("", "ada", sec) || s.Len().Subjects != 0 {
		t.Fatal("mark outlived MaxAge after it")
	}
}

// A password change: sign out everywhere, keeping the session just renewed
// in the same second. The kept session survives, a stolen one from that
// second does not, and a mark a second later revokes the kept one too.
func TestRevokeSubjectKeep(t *testing.T) {
	t.Parallel()
	s, c := newSet(t, revoke.Config{})
	kept, stolen := newID(), newID()
	if err := s.RevokeSubject(ctx, "ada", t0, kept); err != nil {
		t.Fatal(err)
	}
	if s.Revoked(kept, "ada", t0) {
		t.Fatal("kept session revoked")
	}
	if !s.Revoked(stolen, "ada", t0) {
		t.Fatal("other session of the same second not revoked")
	}
	if !s.Revoked("", "ada", t0) {
		t.Fatal("session without id not revoked")
	}
	c.Advance(time.Second)
	if err := s.RevokeSubject(ctx, "ada", c.Now()); err != nil {
		t.Fatal(err)
	}
	if !s.Revoked(kept, "ada", t0) {
		t.Fatal("a later mark did not revoke the previously kept session")
	}
}

// Marks combine the same way in any order: the later one wins with its
// keep list, and of two at the same instant only ids both keep stay kept.
func TestRevokeSubjectCombine(t *testing.T) {
	t.Parallel()
	a, b, both := newID(), newID(), newID()
	type call struct {
		at   time.Time
		keep []string
	}
	tests := []struct {
		name  string
		calls []call
		alive map[string]bool // id -> not revoked, for a session created at t0
	}{
		{"same instant", []call{{t0, []string{a, both}}, {t0, []string{b, both}}},
			map[string]bool{a: false, b: false, both: true}},
		{"same second, later wins", []call{{t0, []string{a, both}}, {t0.Add(500 * time.Millisecond), []string{b}}},
			map[string]bool{a: false, b: true, both: false}},
		{"later second wins", []call{{t0.Add(-time.Second), []string{a}}, {t0, []string{b}}},
			map[string]bool{a: false, b: true, both: false}},
	}
	for _, tt := range tests {
		for _, reverse := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/reverse=%v", tt.name, reverse), func(t *testing.T) {
				s, _ := newSet(t, revoke.Config{})
				calls := tt.calls
				if reverse {
					calls = []call{calls[1], calls[0]}
				}
				for _, c := range calls {
					if err := s.RevokeSubject(ctx, "ada", c.at, c.keep...); err != nil {
						t.Fatal(err)
					}
				}
				for id, alive := range tt.alive {
					if got := !s.Revoked(id, "ada", t0); got != alive {
						t.Errorf("id %s alive = %v, want %v", id[:4], got, alive)
					}
				}
			})
		}
	}
}

// A mark too old to cover a session that can still open is not stored.
func TestRevokeSubjectTooOld(t *testing.T) {
	t.Parallel()
	s, _ := newSet(t, revoke.Config{MaxAge: time.Hour, Leeway: -1})
	if err := s.RevokeSubject(ctx, "ada", t0.Add(-time.Hour-time.Second)); err != nil {
		t.Fatal(err)
	}
	if s.Len().Subjects != 0 {
		t.Fatal("stale mark stored")
	}
	// Within the leeway of the clock is accepted (another server's clock).
	if err := s.RevokeSubject(ctx, "ada", t0.Add(revoke.MaxLeeway)); err != nil {
		t.Fatal(err)
	}
}

// Writes alone keep the Set bounded: with sign-outs arriving steadily and
// no Sweep call, the Set never holds much more than the entries of one
// window plus the sweep interval.
func TestWritesKeepStateBounded(t *testing.T) {
	t.Parallel()
	const perMinute = 200
	s, c := newSet(t, revoke.Config{MaxAge: 10 * time.Minute, Leeway: -1})
	peak := 0
	for minute := range 60 {
		for range perMinute {
			exp := c.Now().Add(10 * time.Minute)
			if err := s.RevokeSession(ctx, newID(), exp); err != nil {
				t.Fatal(err)
			}
			c.Advance(time.Minute / perMinute)
		}
		n := s.Len().Sessions
		peak = max(peak, n)
		if minute > 15 && n < 10*perMinute {
			t.Fatalf("minute %d: %d entries, fewer than the live ones", minute, n)
		}
	}
	// 10 minutes live plus up to a minute (plus a little) unswept.
	if limit := 12 * perMinute; peak > limit {
		t.Fatalf("peak %d entries, want at most %d", peak, limit)
	}
}

// The Set agrees with a plain model (a map from id to expiry, a map from
// subject to marks) over random operations, clocks and queries.
func TestModel(t *testing.T) {
	t.Parallel()
	const maxAge = 100 * time.Second
	for seed := range uint64(8) {
		r := mrand.New(mrand.NewPCG(seed, 42))
		s, c := newSet(t, revoke.Config{MaxAge: maxAge, Leeway: -1})
		ids := make([]string, 30)
		for i := range ids {
			ids[i] = newID()
		}
		subjects := []string{"ada", "bob", "eve"}
		type mk struct {
			sec, at int64
			keep    map[string]bool
		}
		sessUntil := map[string]int64{}
		marks := map[string]mk{}
		for step := range 2000 {
			now := c.Now()
			switch r.IntN(4) {
			case 0:
				id := ids[r.IntN(len(ids))]
				exp := now.Add(time.Duration(r.IntN(120)-20) * time.Second)
				if err := s.RevokeSession(ctx, id, exp); err != nil {
					t.Fatal(err)
				}
				ceil := exp.Unix()
				if exp.Nanosecond() > 0 {
					ceil++
				}
				until := min(ceil, now.Unix()+int64(maxAge/time.Second))
				if until > now.Unix() && until > sessUntil[id] {
					sessUntil[id] = until
				}
			case 1:
				sub := subjects[r.IntN(len(subjects))]
				// Whole seconds back, so that two marks often share a
				// second and sometimes an instant.
				at := now.Add(-time.Duration(r.IntN(150)) * time.Second)
				if r.IntN(2) == 0 {
					at = at.Truncate(time.Second)
				}
				var keep []string
				for range r.IntN(3) {
					keep = append(keep, ids[r.IntN(len(ids))])
				}
				if err := s.RevokeSubject(ctx, sub, at, keep...); err != nil {
					t.Fatal(err)
				}
				sec := at.Unix()
				if sec+1+int64(maxAge/time.Second) <= now.Unix() {
					break
				}
				k := map[string]bool{}
				for _, id := range keep {
					k[id] = true
				}
				old, ok := marks[sub]
				switch {
				case !ok || at.UnixNano() > old.at:
					marks[sub] = mk{sec, at.UnixNano(), k}
				case at.UnixNano() == old.at:
					for id := range old.keep {
						if !k[id] {
							delete(old.keep, id)
						}
					}
				}
			case 2:
				c.Advance(time.Duration(r.IntN(5000)) * time.Millisecond)
			case 3:
				if r.IntN(10) == 0 {
					s.Sweep()
				}
			}
			// Query a few ids against a random subject and creation time;
			// compare only where the model's entry is live (an expired
			// entry may or may not have been swept, and no token it
			// covered can open any more).
			nowSec := c.Now().Unix()
			for range 8 {
				id := ids[r.IntN(len(ids))]
				sub := subjects[r.IntN(len(subjects))]
				created := c.Now().Add(-time.Duration(r.IntN(100)) * time.Second).Truncate(time.Second)
				want, sure := false, true
				if u, ok := sessUntil[id]; ok {
					if u > nowSec {
						want = true
					} else {
						sure = false
					}
				}
				if m, ok := marks[sub]; ok && !want && created.Unix() <= m.sec && !m.keep[id] {
					if m.sec+1+int64(maxAge/time.Second) > nowSec {
						want = true
					} else {
						sure = false
					}
				}
				if got := s.Revoked(id, sub, created); sure && got != want {
					t.Fatalf("seed %d step %d: Revoked(%s, %s, %v) = %v, want %v",
						seed, step, id[:4], sub, created.Sub(t0), got, want)
				}
			}
		}
	}
}

// Concurrent revokes, checks and sweeps: every writer sees its own writes
// at once, and readers never see a revoked entry disappear while it is
// live. Run with -race.
func TestConcurrent(t *testing.T) {
	// Not parallel: its readers spin for as long as the writers run.
	s, c := newSet(t, revoke.Config{MaxAge: time.Hour})
	var writersWG, othersWG sync.WaitGroup
	var revokedIDs sync.Map
	const writers, perWriter = 4, 1000
	stop := make(chan struct{})
	for w := range writers {
		writersWG.Go(func() {
			for i := range perWriter {
				id := newID()
				if err := s.RevokeSession(ctx, id, c.Now().Add(time.Hour)); err != nil {
					t.Error(err)
					return
				}
				revokedIDs.Store(id, true)
				if !s.Revoked(id, "", t0) {
					t.Errorf("writer %d: own revocation %d not visible", w, i)
					return
				}
				sub := fmt.Sprintf("user-%d-%d", w, i%50)
				if err := s.RevokeSubject(ctx, sub, c.Now()); err != nil {
					t.Error(err)
					return
				}
				if !s.Revoked("", sub, c.Now().Add(-time.Second)) {
					t.Errorf("writer %d: own subject mark not visible", w)
					return
				}
			}
		})
	}
	for range 2 {
		othersWG.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				revokedIDs.Range(func(k, _ any) bool {
					if !s.Revoked(k.(string), "", t0) {
						t.Errorf("a live revocation vanished")
						return false
					}
					return true
				})
				runtime.Gosched()
			}
		})
	}
	othersWG.Go(func() {
		for {
			select {
			case <-stop:
				return
			default:
				s.Sweep()
				c.Advance(time.Millisecond)
				runtime.Gosched()
			}
		}
	})
	writersWG.Wait()
	close(stop)
	othersWG.Wait()
	if got := s.Len(); got.Sessions != writers*perWriter || got.Subjects != writers*50 {
		t.Fatalf("Len = %+v, want %d sessions and %d subjects", got, writers*perWriter, writers*50)
	}
}

// The request path allocates nothing.
func TestRevokedDoesNotAllocate(t *testing.T) {
	s, _ := newSet(t, revoke.Config{})
	id := newID()
	s.RevokeSession(ctx, id, time.Time{})
	s.RevokeSubject(ctx, "ada", t0, newID())
	other := newID()
	odd := "an id of another form"
	if n := testing.AllocsPerRun(100, func() {
		s.Revoked(id, "ada", t0)
		s.Revoked(other, "ada", t0)
		s.Revoked(odd, "bob", t0)
	}); n != 0 {
		t.Fatalf("Revoked allocates %v times", n)
	}
}
