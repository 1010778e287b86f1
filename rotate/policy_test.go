package rotate_test

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"satchel.dev/keyring"
	"satchel.dev/rotate"
	"satchel.dev/token"
)

// fileHeader is the first line of a keyring file.
const fileHeader = "satchel-keyring v1"

var t0 = time.Date(2026, 11, 1, 9, 0, 0, 0, time.UTC)

// keys is a deterministic key generator for the policy's newKey.
type keys struct{ n int }

func (g *keys) next() (keyring.Key, error) {
	g.n++
	b := make([]byte, keyring.KeySize)
	for i := range b {
		b[i] = byte(g.n*31 + i*7 + 1)
	}
	b[0], b[1] = byte(g.n), byte(g.n>>8)
	return keyring.NewKey(b)
}

func (g *keys) key(t testing.TB) keyring.Key {
	t.Helper()
	k, err := g.next()
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// day is the policy most tests use: keys live 10h as primary, are staged
// 1h ahead, tokens live 5h, and servers allow 1m of clock skew.
var day = rotate.Policy{Interval: 10 * time.Hour, Propagation: time.Hour, MaxAge: 5 * time.Hour, Leeway: time.Minute}

func mustNext(t testing.TB, p rotate.Policy, r *keyring.Ring, now time.Time, g *keys) (*keyring.Ring, rotate.Changes) {
	t.Helper()
	next, ch, err := p.Next(r, now, g.next)
	if err != nil {
		t.Fatalf("Next at %v: %v", now, err)
	}
	return next, ch
}

func stateOf(r *keyring.Ring, k keyring.Key) string {
	e, ok := r.Entry(k.ID())
	if !ok {
		return "absent"
	}
	return e.State.String()
}

// TestLeewayConvention: zero means DefaultLeeway, negative means none,
// as in the token and middleware packages.
func TestLeewayConvention(t *testing.T) {
	t.Parallel()
	e := keyring.Entry{Retired: t0}
	base := rotate.Policy{Interval: 10 * time.Hour, Propagation: time.Hour, MaxAge: 5 * time.Hour}
	for _, tc := range []struct {
		leeway, want time.Duration
	}{
		{0, rotate.DefaultLeeway},
		{-1, 0},
		{-time.Hour, 0},
		{30 * time.Second, 30 * time.Second},
		{rotate.MaxLeeway, rotate.MaxLeeway},
	} {
		p := base
		p.Leeway = tc.leeway
		if got := p.DeleteAt(e).Sub(t0) - 6*time.Hour; got != tc.want {
			t.Errorf("Leeway %v: DeleteAt allows %v, want %v", tc.leeway, got, tc.want)
		}
	}
}

func TestPolicyValidate(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		p    rotate.Policy
		ok   bool
	}{
		{"day", day, true},
		{"zero leeway", rotate.Policy{Interval: 2, Propagation: 1, MaxAge: 1}, true},
		{"zero", rotate.Policy{}, false},
		{"no interval", rotate.Policy{Propagation: 1, MaxAge: 1}, false},
		{"no propagation", rotate.Policy{Interval: 2, MaxAge: 1}, false},
		{"no max age", rotate.Policy{Interval: 2, Propagation: 1}, false},
		{"negative leeway (none)", rotate.Policy{Interval: 2, Propagation: 1, MaxAge: 1, Leeway: -1}, true},
		{"max leeway", rotate.Policy{Interval: 2, Propagation: 1, MaxAge: 1, Leeway: rotate.MaxLeeway}, true},
		{"leeway above max", rotate.Policy{Interval: 2, Propagation: 1, MaxAge: 1, Leeway: rotate.MaxLeeway + 1}, false},
		{"propagation equals interval", rotate.Policy{Interval: 2, Propagation: 2, MaxAge: 1}, false},
		{"propagation exceeds interval", rotate.Policy{Interval: time.Hour, Propagation: 2 * time.Hour, MaxAge: 1}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.p.Validate()
			if (err == nil) != tc.ok {
				t.Fatalf("Validate() = %v, want ok=%v", err, tc.ok)
			}
			if err != nil && !errors.Is(err, rotate.ErrInvalidPolicy) {
				t.Errorf("error does not wrap ErrInvalidPolicy: %v", err)
			}
			if !tc.ok {
				g := &keys{}
				r, _ := keyring.FromKeys(g.key(t))
				if _, _, err := tc.p.Next(r, t0, g.next); !errors.Is(err, rotate.ErrInvalidPolicy) {
					t.Errorf("Next with an invalid policy: %v", err)
				}
			}
		})
	}
}

// TestLifecycle walks one key through every step with a fake clock.
func TestLifecycle(t *testing.T) {
	t.Parallel()
	g := &keys{}
	r, err := rotate.Initial(t0, g.next)
	if err != nil {
		t.Fatal(err)
	}
	k1 := r.Primary()
	k2, _ := (&keys{n: g.n}).next() // the next key g will generate
	at := func(d time.Duration) time.Time { return t0.Add(d) }

	steps := []struct {
		name    string
		now     time.Time
		changes string
		k1, k2  string
	}{
		{"fresh primary", at(0), "no change", "primary", "absent"},
		{"just before staging", at(9*time.Hour - 1), "no change", "primary", "absent"},
		{"stage Propagation before due", at(9 * time.Hour), "staged " + k2.ID(), "primary", "staged"},
		{"staged, not due", at(10*time.Hour - 1), "no change", "primary", "staged"},
		{"promote when due", at(10 * time.Hour), "promoted " + k2.ID() + "; retired " + k1.ID(), "retired", "primary"},
		{"retired key kept", at(16*time.Hour + time.Minute - 1), "no change", "retired", "primary"},
		{"retired key deleted", at(16*time.Hour + time.Minute), "deleted " + k1.ID(), "absent", "primary"},
	}
	for _, s := range steps {
		next, ch := mustNext(t, day, r, s.now, g)
		if ch.String() != s.changes {
			t.Errorf("%s: changes %q, want %q", s.name, ch, s.changes)
		}
		if ch.Empty() != (s.changes == "no change") || ch.Empty() != (next == r) {
			t.Errorf("%s: Empty()=%v, same ring=%v", s.name, ch.Empty(), next == r)
		}
		if got := stateOf(next, k1); got != s.k1 {
			t.Errorf("%s: k1 %s, want %s", s.name, got, s.k1)
		}
		if got := stateOf(next, k2); got != s.k2 {
			t.Errorf("%s: k2 %s, want %s", s.name, got, s.k2)
		}
		r = next
	}
	e1 := r.Entries()[0]
	if !e1.Key.Equal(k2) || !e1.Created.Equal(at(9*time.Hour)) || !e1.Promoted.Equal(at(10*time.Hour)) || !e1.Retired.IsZero() {
		t.Errorf("k2 entry %+v", e1)
	}
}

// TestOverduePromotionWaitsForPropagation: a rotator that was down past the
// due time stages a key and still waits Propagation before promoting it.
func TestOverduePromotionWaitsForPropagation(t *testing.T) {
	t.Parallel()
	g := &keys{}
	r, _ := rotate.Initial(t0, g.next)
	late := t0.Add(100 * time.Hour)
	r, ch := mustNext(t, day, r, late, g)
	if ch.Staged == "" || ch.Promoted != "" {
		t.Fatalf("overdue: %v", ch)
	}
	staged := ch.Staged
	_, ch = mustNext(t, day, r, late.Add(day.Propagation-1), g)
	if !ch.Empty() {
		t.Fatalf("promoted a key staged less than Propagation ago: %v", ch)
	}
	_, ch = mustNext(t, day, r, late.Add(day.Propagation), g)
	if ch.Promoted != staged {
		t.Fatalf("not promoted after Propagation: %v", ch)
	}
}

// TestStagedKeyNeverSeals simulates rotation for 20 intervals in uneven
// steps, sealing a token with the ring's primary at each step. Every key
// that seals must have been in every ring since at least Propagation
// earlier, and no token is ever sealed with a staged key.
func TestStagedKeyNeverSeals(t *testing.T) {
	t.Parallel()
	g := &keys{}
	r, _ := rotate.Initial(t0, g.next)
	firstSeen := map[string]time.Time{r.Primary().ID(): t0.Add(-day.Propagation)}
	rng := rand.New(rand.NewPCG(3, 4))
	now := t0
	promotions := 0
	for now.Before(t0.Add(20 * day.Interval)) {
		now = now.Add(time.Duration(rng.Int64N(int64(40 * time.Minute))))
		next, ch := mustNext(t, day, r, now, g)
		if ch.Promoted != "" {
			promotions++
		}
		for _, e := range next.Entries() {
			if _, ok := firstSeen[e.Key.ID()]; !ok {
				if e.State != keyring.Staged {
					t.Fatalf("%v: key %s entered the ring as %v, not staged", now, e.Key.ID(), e.State)
				}
				firstSeen[e.Key.ID()] = now
			}
		}
		r = next
		p := r.Primary()
		if age := now.Sub(firstSeen[p.ID()]); age < day.Propagation {
			t.Fatalf("%v: primary %s has been in the ring for only %v", now, p.ID(), age)
		}
		tok, err := token.Seal(p, &token.Claims{Expiry: now.Add(day.MaxAge)}, nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		c, err := token.Open(r, tok, nil, &token.Options{Now: func() time.Time { return now }})
		if err != nil {
			t.Fatal(err)
		}
		if e, _ := r.Entry(c.KeyID); e.State != keyring.Primary {
			t.Fatalf("token sealed with a %v key", e.State)
		}
	}
	if promotions < 18 {
		t.Fatalf("only %d promotions in 20 intervals", promotions)
	}
}

// TestRetiredKeyOpensUntilExpiry seals tokens with a key at the last
// moments it can seal (just before its retirement, and on a lagging server
// that has not reloaded yet) and opens them, with the ring of the moment,
// at every instant up to their expiry plus leeway: they open until then
// and not after.
func TestRetiredKeyOpensUntilExpiry(t *testing.T) {
	t.Parallel()
	g := &keys{}
	r, _ := rotate.Initial(t0, g.next)
	k1 := r.Primary()
	// The rotator runs every minute; the ring of an instant is the one of
	// the last run.
	var rings []*keyring.Ring
	for now := t0; now.Before(t0.Add(30 * time.Hour)); now = now.Add(time.Minute) {
		r, _ = mustNext(t, day, r, now, g)
		rings = append(rings, r)
	}
	ringAt := func(now time.Time) *keyring.Ring { return rings[now.Sub(t0)/time.Minute] }
	retire := t0.Add(day.Interval)
	for _, sealAt := range []time.Time{
		retire.Add(-time.Nanosecond),                  // the primary, just before its retirement
		retire.Add(day.Propagation - time.Second),     // a server that has not yet seen the retirement
		retire.Add(day.Propagation - time.Nanosecond), // ... at the last instant it may
	} {
		t.Run(sealAt.Sub(retire).String(), func(t *testing.T) {
			tok, err := token.Seal(k1, &token.Claims{Expiry: sealAt.Add(day.MaxAge)}, []byte("session"), nil)
			if err != nil {
				t.Fatal(err)
			}
			open := func(now time.Time) error {
				_, err := token.Open(ringAt(now), tok, []byte("session"),
					&token.Options{Now: func() time.Time { return now }, Leeway: day.Leeway})
				return err
			}
			// The expiry the token carries: Seal may shorten it to a whole
			// second, never lengthen it.
			c, err := token.Open(ringAt(sealAt), tok, []byte("session"), &token.Options{Now: func() time.Time { return sealAt }})
			if err != nil {
				t.Fatal(err)
			}
			exp := c.Expiry
			if exp.After(sealAt.Add(day.MaxAge)) {
				t.Fatalf("the token expires at %v, after seal+MaxAge", exp)
			}
			for now := sealAt; now.Before(exp.Add(day.Leeway)); now = now.Add(7 * time.Minute) {
				if err := open(now); err != nil {
					t.Fatalf("at seal+%v (k1 %s): %v", now.Sub(sealAt), stateOf(ringAt(now), k1), err)
				}
			}
			if err := open(exp.Add(day.Leeway - 1)); err != nil {
				t.Fatalf("at the last instant: %v", err)
			}
			if err := open(exp.Add(day.Leeway)); !errors.Is(err, token.ErrExpired) {
				t.Fatalf("at exp+leeway: %v, want ErrExpired", err)
			}
		})
	}
	// Once deleted, the key's tokens are refused as unknown.
	del := day.DeleteAt(keyring.Entry{Retired: retire})
	if stateOf(ringAt(del.Add(-time.Minute)), k1) != "retired" || stateOf(ringAt(del), k1) != "absent" {
		t.Fatalf("k1 not deleted at %v", del)
	}
	tok, _ := token.Seal(k1, &token.Claims{Expiry: del.Add(time.Hour)}, nil, nil)
	if _, err := token.Open(ringAt(del), tok, nil, &token.Options{Now: func() time.Time { return del }}); !errors.Is(err, token.ErrUnknownKey) {
		t.Fatalf("deleted key: %v, want ErrUnknownKey", err)
	}
}

// TestPrimaryNeverDeleted: a primary older than any deletion horizon, with
// a broken key generator, stays primary.
func TestPrimaryNeverDeleted(t *testing.T) {
	t.Parallel()
	g := &keys{}
	k := g.key(t)
	r, _ := keyring.New([]keyring.Entry{{Key: k, State: keyring.Primary, Created: t0, Promoted: t0}})
	fail := func() (keyring.Key, error) { return keyring.Key{}, errors.New("no entropy") }
	if _, _, err := day.Next(r, t0.Add(1000*time.Hour), fail); err == nil {
		t.Fatal("a failing key generator was not reported")
	}
	next, _ := mustNext(t, day, r, t0.Add(1000*time.Hour), g)
	if next.Primary().ID() != k.ID() {
		t.Fatalf("primary replaced without propagation: %v", next)
	}
	for now := t0.Add(1000 * time.Hour); now.Before(t0.Add(1000*time.Hour + day.Propagation)); now = now.Add(time.Minute) {
		next, _ = mustNext(t, day, next, now, g)
		if next.Primary().ID() != k.ID() {
			t.Fatalf("primary changed at %v", now)
		}
	}
}

// TestMissingTimesAreStamped: a ring from SATCHEL_KEYS has no times; the
// policy stamps them with now instead of guessing.
func TestMissingTimesAreStamped(t *testing.T) {
	t.Parallel()
	g := &keys{}
	k1, k2, k3 := g.key(t), g.key(t), g.key(t)
	r, _ := keyring.New([]keyring.Entry{
		{Key: k1, State: keyring.Primary},
		{Key: k2, State: keyring.Retired},
		{Key: k3, State: keyring.Staged},
	})
	if !day.NextChange(r).IsZero() {
		t.Errorf("NextChange of an unstamped ring: %v", day.NextChange(r))
	}
	next, ch := mustNext(t, day, r, t0, g)
	if len(ch.Stamped) != 3 || ch.Staged != "" || ch.Promoted != "" || len(ch.Deleted) != 0 {
		t.Fatalf("changes %v", ch)
	}
	for _, e := range next.Entries() {
		if !e.Created.Equal(t0) {
			t.Errorf("%v created %v", e.Key, e.Created)
		}
	}
	if e, _ := next.Entry(k1.ID()); !e.Promoted.Equal(t0) {
		t.Errorf("primary promoted %v", e.Promoted)
	}
	if e, _ := next.Entry(k2.ID()); !e.Retired.Equal(t0) {
		t.Errorf("retired key retired %v", e.Retired)
	}
	// The hand-staged key waits Propagation from the stamp.
	_, ch = mustNext(t, day, next, t0.Add(day.Interval), g)
	if ch.Promoted != k3.ID() {
		t.Fatalf("staged key not promoted when due: %v", ch)
	}
}

// TestNextProperties runs random policies over random schedules and checks
// the invariants at every step.
func TestNextProperties(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewPCG(5, 6))
	for trial := range 200 {
		interval := time.Duration(1+rng.IntN(100)) * time.Minute
		p := rotate.Policy{
			Interval:    interval,
			Propagation: time.Duration(1 + rng.Int64N(int64(interval-1))),
			MaxAge:      time.Duration(1+rng.IntN(300)) * time.Minute,
			Leeway:      time.Duration(rng.IntN(120)) * time.Second,
		}
		g := &keys{n: trial * 1000}
		r, _ := rotate.Initial(t0, g.next)
		now := t0
		retiredAt := map[string]time.Time{}
		for step := range 300 {
			now = now.Add(time.Duration(rng.Int64N(int64(interval / 3))))
			next, ch, err := p.Next(r, now, g.next)
			if err != nil {
				t.Fatalf("trial %d step %d: %v", trial, step, err)
			}
			if r.Primary().ID() != next.Primary().ID() {
				if ch.Retired != r.Primary().ID() || ch.Promoted != next.Primary().ID() {
					t.Fatalf("primary changed without promotion: %v", ch)
				}
				if e, _ := next.Entry(r.Primary().ID()); e.State != keyring.Retired {
					t.Fatalf("old primary is %v", e.State)
				}
			}
			for _, id := range ch.Deleted {
				e, _ := r.Entry(id)
				if e.State != keyring.Retired || now.Before(p.DeleteAt(e)) {
					t.Fatalf("deleted %v key %s early", e.State, id)
				}
			}
			for _, e := range next.Entries() {
				if e.State == keyring.Retired {
					retiredAt[e.Key.ID()] = e.Retired
				}
			}
			again, ch2, err := p.Next(next, now, g.next)
			if err != nil || again != next || !ch2.Empty() {
				t.Fatalf("Next is not idempotent at one instant: %v %v", ch2, err)
			}
			if nc := p.NextChange(next); !nc.After(now) {
				t.Fatalf("NextChange %v not after now %v", nc, now)
			}
			r = next
		}
		if len(retiredAt) == 0 {
			t.Fatalf("trial %d: no rotation happened", trial)
		}
	}
}

// TestNextChange checks that NextChange names the first instant at which
// Next changes the ring, scanning in small steps.
func TestNextChange(t *testing.T) {
	t.Parallel()
	p := rotate.Policy{Interval: 10 * time.Second, Propagation: 3 * time.Second, MaxAge: 7 * time.Second, Leeway: time.Second}
	g := &keys{}
	r, _ := rotate.Initial(t0, g.next)
	for range 20 {
		nc := p.NextChange(r)
		for now := nc.Add(-time.Second); now.Before(nc); now = now.Add(100 * time.Millisecond) {
			if _, ch := mustNext(t, p, r, now, g); !ch.Empty() {
				t.Fatalf("change at %v before NextChange %v: %v", now, nc, ch)
			}
		}
		next, ch := mustNext(t, p, r, nc, g)
		if ch.Empty() {
			t.Fatalf("no change at NextChange %v", nc)
		}
		r = next
	}
}

func TestNextIsPure(t *testing.T) {
	t.Parallel()
	g1, g2 := &keys{}, &keys{}
	r, _ := rotate.Initial(t0, g1.next)
	rotate.Initial(t0, g2.next)
	before := keyring.FormatFile(r)
	now := t0.Add(9 * time.Hour)
	a, ca, _ := day.Next(r, now, g1.next)
	b, cb, _ := day.Next(r, now, g2.next)
	if string(keyring.FormatFile(a)) != string(keyring.FormatFile(b)) || ca.String() != cb.String() {
		t.Fatal("same inputs, different results")
	}
	if string(keyring.FormatFile(r)) != string(before) {
		t.Fatal("Next changed its input")
	}
	// A generator that repeats a key in the ring is an error, not a ring
	// with a duplicate.
	dup := func() (keyring.Key, error) { return r.Primary(), nil }
	if _, _, err := day.Next(r, now, dup); !errors.Is(err, keyring.ErrInvalidRing) {
		t.Fatalf("duplicate key: %v", err)
	}
	if _, _, err := day.Next(nil, now, dup); err == nil {
		t.Fatal("nil ring accepted")
	}
}

func ExamplePolicy_Next() {
	p := rotate.Policy{
		Interval:    30 * 24 * time.Hour, // a new primary every 30 days
		Propagation: time.Hour,           // staged an hour ahead
		MaxAge:      14 * 24 * time.Hour, // sessions live 14 days
		Leeway:      time.Minute,
	}
	start := time.Date(2026, 11, 1, 9, 0, 0, 0, time.UTC)
	r, _ := rotate.Initial(start, nil)
	for _, d := range []time.Duration{
		29 * 24 * time.Hour,                // nothing due
		30*24*time.Hour - time.Hour,        // stage
		30 * 24 * time.Hour,                // promote
		(30+14)*24*time.Hour + 2*time.Hour, // delete the retired key
	} {
		next, ch, err := p.Next(r, start.Add(d), nil)
		if err != nil {
			panic(err)
		}
		fmt.Printf("hour %4.0f: staged=%v promoted=%v retired=%v deleted=%d keys=%d\n",
			d.Hours(), ch.Staged != "", ch.Promoted != "", ch.Retired != "", len(ch.Deleted), next.Len())
		r = next
	}
	// Output:
	// hour  696: staged=false promoted=false retired=false deleted=0 keys=1
	// hour  719: staged=true promoted=false retired=false deleted=0 keys=2
	// hour  720: staged=false promoted=true retired=true deleted=0 keys=2
	// hour 1058: staged=false promoted=false retired=false deleted=1 keys=1
}
