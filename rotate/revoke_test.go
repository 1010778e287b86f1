package rotate_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"satchel.dev/keyring"
	"satchel.dev/rotate"
	"satchel.dev/token"
)

// leakRing is a ring in the middle of a rotation: k1 primary since t0, k2
// staged, k0 retired at t0. now is when the leak is found.
func leakRing(t *testing.T, g *keys) (r *keyring.Ring, k0, k1, k2 keyring.Key) {
	t.Helper()
	k0, k1, k2 = g.key(t), g.key(t), g.key(t)
	r, err := keyring.New([]keyring.Entry{
		{Key: k1, State: keyring.Primary, Created: t0.Add(-time.Hour), Promoted: t0},
		{Key: k2, State: keyring.Staged, Created: t0.Add(9 * time.Hour)},
		{Key: k0, State: keyring.Retired, Created: t0.Add(-11 * time.Hour), Promoted: t0.Add(-10 * time.Hour), Retired: t0},
	})
	if err != nil {
		t.Fatal(err)
	}
	return r, k0, k1, k2
}

// row is an entry as the tests compare it: id, state and times.
type row struct {
	ID                         string
	State                      string
	Created, Promoted, Retired time.Time
}

func rows(r *keyring.Ring) []row {
	var out []row
	for _, e := range r.Entries() {
		out = append(out, row{e.Key.ID(), e.State.String(), e.Created, e.Promoted, e.Retired})
	}
	return out
}

func TestRevoke(t *testing.T) {
	t.Parallel()
	// Like day, with tokens that outlive the retired k0's first 9 hours.
	long := rotate.Policy{Interval: 10 * time.Hour, Propagation: time.Hour, MaxAge: 14 * time.Hour, Leeway: time.Minute}
	now := t0.Add(9*time.Hour + 30*time.Minute)
	g := &keys{}
	r, k0, k1, k2 := leakRing(t, g)
	fresh, _ := (&keys{n: g.n}).next() // the key g generates next
	single, _ := keyring.New([]keyring.Entry{{Key: k1, State: keyring.Primary, Created: t0, Promoted: t0}})

	primary := row{fresh.ID(), "primary", now, now, time.Time{}}
	r0 := row{k0.ID(), "retired", t0.Add(-11 * time.Hour), t0.Add(-10 * time.Hour), t0}
	r1 := row{k1.ID(), "primary", t0.Add(-time.Hour), t0, time.Time{}}
	r2 := row{k2.ID(), "staged", t0.Add(9 * time.Hour), time.Time{}, time.Time{}}

	for _, tc := range []struct {
		name     string
		ring     *keyring.Ring
		id       string
		want     []row
		generate bool   // whether newKey must be called
		policy   string // what the policy does right after, at now
	}{
		// The staged k2 is neither promoted nor kept (it may have leaked
		// with k1): a fresh key is promoted at once, and the next rotation
		// is due Interval after it.
		{"primary", r, k1.ID(), []row{primary, r0}, true, "no change"},
		// k1's rotation is near: the policy stages a replacement for k2 at
		// once, and promotes it no sooner than Propagation later.
		{"staged", r, k2.ID(), []row{r1, r0}, false, "staged " + fresh.ID()},
		{"retired", r, k0.ID(), []row{r1, r2}, false, "no change"},
		{"last key", single, k1.ID(), []row{primary}, true, "no change"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := rows(tc.ring)
			gen := &keys{n: g.n}
			calls := 0
			next, err := rotate.Revoke(tc.ring, tc.id, now, func() (keyring.Key, error) { calls++; return gen.next() })
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, rows(next)); diff != "" {
				t.Errorf("ring (-want +got):\n%s", diff)
			}
			if _, ok := next.Lookup(tc.id); ok {
				t.Error("the revoked key is still in the ring")
			}
			if want := map[bool]int{true: 1, false: 0}[tc.generate]; calls != want {
				t.Errorf("newKey called %d times, want %d", calls, want)
			}
			if diff := cmp.Diff(before, rows(tc.ring)); diff != "" {
				t.Errorf("Revoke changed its input (-before +after):\n%s", diff)
			}
			// The result is a valid keyring file the policy carries on
			// from.
			back, err := keyring.ParseFile(keyring.FormatFile(next))
			if err != nil {
				t.Fatalf("result does not survive its file form: %v", err)
			}
			if diff := cmp.Diff(rows(next), rows(back)); diff != "" {
				t.Errorf("file round trip (-want +got):\n%s", diff)
			}
			if _, ch, err := long.Next(next, now, gen.next); err != nil || ch.String() != tc.policy {
				t.Errorf("policy right after the revocation: %v %v, want %s", ch, err, tc.policy)
			}
		})
	}

	t.Run("unknown id", func(t *testing.T) {
		other := g.key(t)
		_, err := rotate.Revoke(r, other.ID(), now, g.next)
		if !errors.Is(err, rotate.ErrKeyNotFound) || !strings.Contains(err.Error(), other.ID()) {
			t.Fatalf("got %v, want ErrKeyNotFound naming the id", err)
		}
	})
	t.Run("secret instead of id", func(t *testing.T) {
		for _, id := range []string{k1.ExportPASERK(), "", "k4.lid.short", strings.Repeat("x", 100)} {
			_, err := rotate.Revoke(r, id, now, g.next)
			if !errors.Is(err, rotate.ErrKeyNotFound) {
				t.Fatalf("%q: got %v, want ErrKeyNotFound", id, err)
			}
			if id != "" && strings.Contains(err.Error(), id) {
				t.Fatalf("the error repeats what was passed as the id: %v", err)
			}
		}
	})
	t.Run("failing key generator", func(t *testing.T) {
		fail := func() (keyring.Key, error) { return keyring.Key{}, errors.New("no entropy") }
		if next, err := rotate.Revoke(r, k1.ID(), now, fail); err == nil || next != nil {
			t.Fatalf("got %v, %v; want an error and no ring", next, err)
		}
		// Removing a staged or retired key needs no new key.
		if _, err := rotate.Revoke(r, k0.ID(), now, fail); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("generator returns the revoked key", func(t *testing.T) {
		same := func() (keyring.Key, error) { return k1, nil }
		if _, err := rotate.Revoke(r, k1.ID(), now, same); err == nil {
			t.Fatal("the revoked key came back as primary")
		}
	})
	t.Run("generator returns a key of the ring", func(t *testing.T) {
		// k2 is removed with k1, k0 is kept: neither may become primary.
		for _, k := range []keyring.Key{k2, k0} {
			dup := func() (keyring.Key, error) { return k, nil }
			if next, err := rotate.Revoke(r, k1.ID(), now, dup); !errors.Is(err, keyring.ErrInvalidRing) || next != nil {
				t.Fatalf("%s: got %v, %v; want ErrInvalidRing and no ring", k.ID(), next, err)
			}
		}
	})
	t.Run("nil ring", func(t *testing.T) {
		if _, err := rotate.Revoke(nil, k1.ID(), now, g.next); err == nil {
			t.Fatal("no error")
		}
	})
}

// TestRevokedKeyTokensRefused: after a revocation, a token sealed with the
// revoked key is refused as sealed with an unknown key, whatever the key's
// state was, and so is one sealed with a staged key when the primary was
// revoked; tokens of the new primary and of the keys kept still open.
func TestRevokedKeyTokensRefused(t *testing.T) {
	t.Parallel()
	now := t0.Add(9*time.Hour + 30*time.Minute)
	opts := &token.Options{Now: func() time.Time { return now }}
	imp := []byte("session")
	seal := func(k keyring.Key) string {
		t.Helper()
		tok, err := token.Seal(k, &token.Claims{Expiry: now.Add(time.Hour)}, imp, nil)
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	g := &keys{}
	r, k0, k1, k2 := leakRing(t, g)
	for _, leaked := range []keyring.Key{k1, k2, k0} {
		e, _ := r.Entry(leaked.ID())
		t.Run(e.State.String(), func(t *testing.T) {
			tok := seal(leaked)
			if _, err := token.Open(r, tok, imp, opts); err != nil {
				t.Fatalf("before the revocation: %v", err)
			}
			next, err := rotate.Revoke(r, leaked.ID(), now, g.next)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := token.Open(next, tok, imp, opts); !errors.Is(err, token.ErrUnknownKey) {
				t.Fatalf("token of the revoked key: %v, want ErrUnknownKey", err)
			}
			if _, err := token.Open(next, seal(next.Primary()), imp, opts); err != nil {
				t.Fatalf("token of the new primary: %v", err)
			}
			for _, k := range []keyring.Key{k0, k1, k2} {
				if k.ID() == leaked.ID() {
					continue
				}
				_, err := token.Open(next, seal(k), imp, opts)
				if k.ID() == k2.ID() && e.State == keyring.Primary {
					if !errors.Is(err, token.ErrUnknownKey) {
						t.Errorf("token of the staged key removed with the primary: %v, want ErrUnknownKey", err)
					}
					continue
				}
				if err != nil {
					t.Errorf("token of the kept key %s: %v", k.ID(), err)
				}
			}
		})
	}
}

// TestRevokePrimaryDropsStaged: the staged key of a ring whose primary is
// revoked is gone at once: its tokens are refused as sealed with an
// unknown key, and the policy, run from the result for several rotations,
// never brings it back or promotes it; it stages and promotes fresh keys.
func TestRevokePrimaryDropsStaged(t *testing.T) {
	t.Parallel()
	now := t0.Add(9*time.Hour + 30*time.Minute)
	g := &keys{}
	r, k0, k1, k2 := leakRing(t, g)
	imp := []byte("session")
	opts := &token.Options{Now: func() time.Time { return now }}
	tok, err := token.Seal(k2, &token.Claims{Expiry: now.Add(time.Hour)}, imp, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := token.Open(r, tok, imp, opts); err != nil {
		t.Fatalf("before the revocation the staged key opens: %v", err)
	}

	next, err := rotate.Revoke(r, k1.ID(), now, g.next)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := next.Lookup(k2.ID()); ok {
		t.Fatal("the staged key is still in the ring")
	}
	if _, err := token.Open(next, tok, imp, opts); !errors.Is(err, token.ErrUnknownKey) {
		t.Fatalf("token of the staged key after the revocation: %v, want ErrUnknownKey", err)
	}
	if _, ok := next.Lookup(k0.ID()); !ok {
		t.Error("the retired key was not kept")
	}

	p := rotate.Policy{Interval: 10 * time.Hour, Propagation: time.Hour, MaxAge: 14 * time.Hour, Leeway: time.Minute}
	cur, promotions := next, 0
	for at := now; at.Before(now.Add(5 * p.Interval)); at = at.Add(10 * time.Minute) {
		n, ch, err := p.Next(cur, at, g.next)
		if err != nil {
			t.Fatal(err)
		}
		if ch.Promoted == k2.ID() || ch.Staged == k2.ID() {
			t.Fatalf("at %v the policy brought back the staged key: %v", at, ch)
		}
		if _, ok := n.Lookup(k2.ID()); ok {
			t.Fatalf("at %v the staged key is back in the ring", at)
		}
		if ch.Promoted != "" {
			promotions++
		}
		cur = n
	}
	if promotions < 4 {
		t.Errorf("%d promotions in 5 intervals; the policy did not carry on", promotions)
	}
}
