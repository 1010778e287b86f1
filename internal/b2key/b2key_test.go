package b2key

import (
	"bytes"
	"fmt"
	"strings"
	"testing"

	"golang.org/x/crypto/blake2b"
	"satchel.dev/internal/benchfix"
	"satchel.dev/internal/printtest"
)

// TestFast guards the benchmark figures: if an x/crypto update changed
// its state layout, everything would still work through the fallback, but
// this test says the fast path is gone.
func TestFast(t *testing.T) {
	t.Parallel()
	if !Fast() {
		t.Fatal("the allocation-free keyed BLAKE2b path failed its known-answer check")
	}
}

// TestKeyedMatchesBlake2bNew: for every key length and both output sizes,
// the reloaded digest computes what blake2b.New computes, and keys
// blake2b.New refuses are never hashed by the fast path.
func TestKeyedMatchesBlake2bNew(t *testing.T) {
	t.Parallel()
	Fast() // run the start-up check before calling rekey directly
	msg := bytes.Repeat([]byte("paseto"), 50)
	var d Digest
	for _, size := range []int{32, 56} {
		for n := 0; n <= 70; n++ {
			key := bytes.Repeat([]byte{0x5a}, n)
			if n > 0 {
				key[0] = byte(n)
			}
			want, err := blake2b.New(size, key)
			if err != nil {
				if _, ok := d.rekey(size, key); ok {
					t.Errorf("size %d key %d: blake2b.New refuses (%v) but rekey accepts", size, n, err)
				}
				if Precompute(size, key) != nil {
					t.Errorf("size %d key %d: blake2b.New refuses (%v) but Precompute accepts", size, n, err)
				}
				continue
			}
			got := d.Keyed(size, key)
			got.Write(msg)
			want.Write(msg)
			if !bytes.Equal(got.Sum(nil), want.Sum(nil)) {
				t.Errorf("size %d key %d: MAC differs from blake2b.New", size, n)
			}
		}
	}
}

// TestResumeMatchesBlake2bNew: a hash resumed from the precomputed state
// equals blake2b.New's keyed hash for every message length from 1 to 300
// bytes (across block boundaries), written in one piece or byte by byte,
// and the state is not changed by use.
func TestResumeMatchesBlake2bNew(t *testing.T) {
	t.Parallel()
	key := []byte("0123456789abcdef0123456789abcdef")
	var d Digest
	for _, size := range []int{32, 56} {
		s := Precompute(size, key)
		if s == nil {
			t.Fatal("Precompute returned nil on the fast path")
		}
		before := *s.m.b
		for n := 1; n <= 300; n++ {
			msg := bytes.Repeat([]byte{byte(n)}, n)
			want, _ := blake2b.New(size, key)
			want.Write(msg)
			h := d.Resume(s)
			h.Write(msg)
			if !bytes.Equal(h.Sum(nil), want.Sum(nil)) {
				t.Fatalf("size %d, %d bytes: resumed hash differs", size, n)
			}
			h = d.Resume(s)
			for i := range msg {
				h.Write(msg[i : i+1])
			}
			if !bytes.Equal(h.Sum(nil), want.Sum(nil)) {
				t.Fatalf("size %d, %d bytes written one by one: resumed hash differs", size, n)
			}
		}
		if *s.m.b != before {
			t.Fatal("using a State changed it")
		}
	}
	// Wipe leaves no key material in the digest or the buffer.
	d.Keyed(32, key)
	d.Wipe()
	st, _ := d.d.MarshalBinary()
	if bytes.Contains(st, key[:16]) || bytes.Contains(d.state[:], key[:16]) {
		t.Fatal("Wipe left the key in the digest")
	}
}

// TestStateNeverPrinted: a State prints as a placeholder with every verb,
// directly, through pointers and as an unexported field, where fmt walks
// the fields by reflection.
func TestStateNeverPrinted(t *testing.T) {
	t.Parallel()
	s := Precompute(56, bytes.Repeat([]byte{0x42}, 32))
	h := s.m.b[stateH0 : stateH0+8]
	forbidden := []string{fmt.Sprint(h[2:6])[1:12], fmt.Sprintf("%x", h[:4])}
	type holder struct {
		s  *State
		v  State
		S  *State
		sl []*State
	}
	values := []any{s, *s, holder{s, *s, s, []*State{s}}, &holder{s, *s, s, nil}, map[string]*State{"k": s}}
	for c := 'A'; c <= 'z'; c++ {
		for _, flags := range []string{"", "+", "#"} {
			for _, v := range values {
				out := fmt.Sprintf("%"+flags+string(c), v)
				for _, f := range forbidden {
					if strings.Contains(out, f) {
						t.Fatalf("%%%s%c printed the state: %s", flags, c, out)
					}
				}
			}
		}
	}
}

// BenchmarkKeyedHash derives one v4.local subkey (BLAKE2b-448 keyed with
// a 32-byte key over the 21-byte domain and a 32-byte nonce): re-keyed,
// resumed from the precomputed state, and with blake2b.New.
func BenchmarkKeyedHash(b *testing.B) {
	key := bytes.Repeat([]byte{0xa5}, 32)
	msg := bytes.Repeat([]byte{0x3c}, 21+32)
	var out [56]byte
	b.Run("impl=rekey", func(b *testing.B) {
		var d Digest
		b.ReportAllocs()
		report := benchfix.MeasureCPU(b)
		for b.Loop() {
			h := d.Keyed(56, key)
			h.Write(msg)
			h.Sum(out[:0])
		}
		report()
	})
	b.Run("impl=precomputed", func(b *testing.B) {
		var d Digest
		s := Precompute(56, key)
		b.ReportAllocs()
		report := benchfix.MeasureCPU(b)
		for b.Loop() {
			h := d.Resume(s)
			h.Write(msg)
			h.Sum(out[:0])
		}
		report()
	})
	b.Run("impl=new", func(b *testing.B) {
		b.ReportAllocs()
		report := benchfix.MeasureCPU(b)
		for b.Loop() {
			h, _ := blake2b.New(56, key)
			h.Write(msg)
			h.Sum(out[:0])
		}
		report()
	})
}

// TestStatePrintsNoSecretAnywhere extends TestStateNeverPrinted to slog's
// Text and JSON handlers, slog.Default's output and encoding/json, with
// the shared helper: the state's bytes, in any encoding, must not appear.
func TestStatePrintsNoSecretAnywhere(t *testing.T) {
	s := Precompute(56, bytes.Repeat([]byte{0x42}, 32))
	if s == nil {
		t.Skip("no fast path on this platform")
	}
	secret := s.m.b[stateH0 : stateH0+16]
	printtest.Check(t, "*State", s, secret)
	printtest.Check(t, "State", *s, secret)
	printtest.CheckDefaultLog(t, []any{s, *s}, secret)
}
