package fuzz

import (
	"encoding/json"
	"errors"
	"math"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"satchel.dev/internal/benchfix"
	"satchel.dev/internal/jsonx"
	"satchel.dev/token"
)

// gen turns fuzz bytes into session values. It builds two trees side by
// side: the Go value handed to Seal and the value Open must give back once
// decoded (strings with invalid UTF-8 repaired, as the writer does), and it
// records whether Seal must refuse the value (NaN or an infinity, two map
// keys that become equal once repaired, a limit broken).
type gen struct {
	b     []byte
	bad   bool // Seal must fail: the value has no JSON form
	items int  // object members plus array elements, as jsonx counts them
	depth int  // deepest nesting below data, data itself being 1
}

func (g *gen) byte() byte {
	if len(g.b) == 0 {
		return 0
	}
	c := g.b[0]
	g.b = g.b[1:]
	return c
}

func (g *gen) bytes(n int) []byte {
	n = min(n, len(g.b))
	out := g.b[:n]
	g.b = g.b[n:]
	return out
}

func (g *gen) str() string { return string(g.bytes(int(g.byte() % 48))) }

// value returns a value to seal and its expected decoded form. depth is
// the nesting level of the container the value sits in.
func (g *gen) value(depth int) (in, want any) {
	g.depth = max(g.depth, depth)
	switch k := g.byte(); k % 12 {
	case 0:
		return nil, nil
	case 1:
		return k&0x80 != 0, k&0x80 != 0
	case 2:
		s := g.str()
		return s, fixUTF8(s)
	case 3:
		var n int64
		for _, c := range g.bytes(8) {
			n = n<<8 | int64(c)
		}
		return n, n
	case 4:
		var u uint64
		for _, c := range g.bytes(8) {
			u = u<<8 | uint64(c)
		}
		x := math.Float64frombits(u)
		if math.IsNaN(x) || math.IsInf(x, 0) {
			g.bad = true
		}
		return x, x
	case 5:
		n := int(g.byte() % 6)
		in, want := make([]string, n), make([]any, n)
		for i := range in {
			in[i] = g.str()
			want[i] = fixUTF8(in[i])
		}
		g.items += n
		g.depth = max(g.depth, depth+1)
		return in, want
	case 6, 7:
		n := int(g.byte() % 5)
		in, want := make([]any, n), make([]any, n)
		for i := range in {
			in[i], want[i] = g.value(depth + 1)
		}
		g.items += n
		g.depth = max(g.depth, depth+1)
		return in, want
	case 8, 9:
		in, want := g.object(depth+1, int(g.byte()%5))
		return in, want
	case 10:
		// A raw JSON value from the input, as Open hands back and a
		// handler re-seals. It must be valid under the strict reader.
		raw := g.str()
		v, err := jsonx.Decode(raw, jsonx.DefaultLimits)
		if err != nil {
			g.bad = true
			return json.RawMessage(raw), nil
		}
		st := shape(v)
		g.items += st.items
		g.depth = max(g.depth, depth+st.depth)
		return json.RawMessage(raw), v
	default:
		// Deep nesting: n levels of single-element arrays.
		n := int(g.byte() % 40)
		var in, want any = "leaf", "leaf"
		for range n {
			in, want = []any{in}, []any{want}
		}
		g.items += n
		g.depth = max(g.depth, depth+n)
		return in, want
	}
}

// object returns a map of n entries. Keys that are not valid UTF-8 make
// the value unsealable.
func (g *gen) object(depth, n int) (map[string]any, map[string]any) {
	g.depth = max(g.depth, depth)
	in, want := make(map[string]any, n), make(map[string]any, n)
	for range n {
		k := g.str()
		if _, dup := in[k]; dup {
			continue // a Go map holds one value per key
		}
		if _, dup := want[fixUTF8(k)]; dup || !utf8.ValidString(k) {
			// Seal refuses keys that are not valid UTF-8: repaired, two
			// of them could become one name.
			g.bad = true
		}
		in[k], want[fixUTF8(k)] = g.value(depth)
		g.items++
	}
	return in, want
}

// stats are the nesting depth and item count of a decoded JSON value, as
// jsonx's limits count them.
type stats struct{ depth, items int }

func shape(v any) stats {
	switch v := v.(type) {
	case map[string]any:
		s := stats{depth: 1, items: len(v)}
		for _, e := range v {
			es := shape(e)
			s.items += es.items
			s.depth = max(s.depth, 1+es.depth)
		}
		return s
	case []any:
		s := stats{depth: 1, items: len(v)}
		for _, e := range v {
			es := shape(e)
			s.items += es.items
			s.depth = max(s.depth, 1+es.depth)
		}
		return s
	}
	return stats{}
}

// sameJSON compares an expected decoded value with one jsonx decoded.
// Numbers compare by value: the writer prints an integral float without a
// fraction, which the reader returns as int64.
func sameJSON(want, got any) bool {
	switch w := want.(type) {
	case float64:
		switch g := got.(type) {
		case float64:
			return w == g
		case int64:
			return w == float64(g)
		}
		return false
	case int64:
		g, ok := got.(int64)
		return ok && g == w
	case map[string]any:
		g, ok := got.(map[string]any)
		if !ok || len(g) != len(w) {
			return false
		}
		for k, wv := range w {
			gv, ok := g[k]
			if !ok || !sameJSON(wv, gv) {
				return false
			}
		}
		return true
	case []any:
		g, ok := got.([]any)
		if !ok || len(g) != len(w) {
			return false
		}
		for i := range w {
			if !sameJSON(w[i], g[i]) {
				return false
			}
		}
		return true
	}
	return want == got
}

// FuzzSealOpen seals claims built from the fuzz input and opens them.
//
// Properties:
//   - Seal fails exactly when the data cannot be written (NaN or an
//     infinity, keys equal after UTF-8 repair, nesting or item limits) or
//     the token would exceed MaxSize, and then with ErrTooLarge; a token
//     it returns is never longer than MaxSize;
//   - Open returns what was sealed: expiry and issued-at truncated to whole
//     seconds, not-before rounded up to one, id and every data value after
//     decoding;
//   - flipping any byte of the token, or changing the implicit assertion,
//     makes Open fail (ErrInvalid, or ErrUnknownKey when the flip lands
//     in the key id).
func FuzzSealOpen(f *testing.F) {
	for _, p := range benchfix.Payloads {
		f.Add(p.JSON(), []byte("cookie=__Host-session"), uint16(0), uint8(1), uint16(0), "sid-1")
	}
	for _, p := range vectorPayloads(f) {
		f.Add(p, []byte(nil), uint16(77), uint8(0x80), uint16(512), "")
	}
	// Nesting at the depth limit (30 arrays below data: depth 32) and one
	// past it.
	f.Add([]byte{0, 1, 'k', 11, 30}, []byte(nil), uint16(0), uint8(0), uint16(0), "")
	f.Add([]byte{0, 1, 'k', 11, 31}, []byte(nil), uint16(0), uint8(0), uint16(0), "")
	f.Add([]byte{0, 1, 'k', 10, 7, '[', '[', '[', '1', ']', ']', ']'}, []byte(nil), uint16(0), uint8(0), uint16(0), "")
	f.Add([]byte{8, 3, 'k', 'e', 'y', 11, 39}, []byte("x"), uint16(9), uint8(4), uint16(0), "")
	f.Add([]byte{8, 1, 0xff, 4, 0x7f, 0xf0, 0, 0, 0, 0, 0, 0}, []byte(nil), uint16(3), uint8(1), uint16(0), "")
	f.Fuzz(func(t *testing.T, data, implicit []byte, flip uint16, mask uint8, maxSize uint16, id string) {
		g := &gen{b: data}
		in, want := g.object(1, 1+int(g.byte()%12))
		// The claims object holds exp, iat, nbf, data and maybe jti; data
		// sits at depth 2.
		g.items += 4
		if id != "" {
			g.items++
		}
		mustFail := g.bad || g.items > jsonx.DefaultLimits.MaxItems || g.depth+1 > jsonx.DefaultLimits.MaxDepth

		exp := now.Add(time.Duration(1+int(flip)) * time.Second).Add(time.Duration(mask) * time.Nanosecond)
		iat := now.Add(-time.Minute).Add(time.Duration(flip) * time.Microsecond)
		nbf := now.Add(-time.Second).Add(time.Duration(mask) * time.Nanosecond)
		c := &token.Claims{Expiry: exp, IssuedAt: iat, NotBefore: nbf, ID: id, Data: in}
		opts := withMaxSize(int(maxSize) % 8192)
		tok, err := token.Seal(keyA, c, implicit, opts)
		if mustFail {
			if err == nil {
				t.Fatalf("Seal accepted unsealable data (items %d, depth %d)", g.items, g.depth)
			}
			return
		}
		limit := opts.MaxSize
		if limit == 0 {
			limit = token.DefaultMaxSize
		}
		if err != nil {
			if !errors.Is(err, token.ErrTooLarge) {
				t.Fatalf("Seal: %v", err)
			}
			big, err := token.Seal(keyA, c, implicit, &token.Options{MaxSize: 1 << 24})
			if err != nil || len(big) <= limit {
				t.Fatalf("ErrTooLarge for a %d-byte token under limit %d (%v)", len(big), limit, err)
			}
			return
		}
		if len(tok) > limit {
			t.Fatalf("Seal returned %d bytes over the limit %d", len(tok), limit)
		}
		if !canonical(tok) {
			t.Fatalf("Seal wrote a non-canonical token %q", tok)
		}

		big := withMaxSize(1 << 24)
		got, err := token.Open(ringA, tok, implicit, big)
		if err != nil {
			t.Fatalf("Open(Seal(...)) = %v", err)
		}
		// Seal writes whole seconds: exp and iat truncated, nbf rounded
		// up, so the token is never valid longer or earlier than asked.
		wantNbf := nbf.Truncate(time.Second)
		if wantNbf.Before(nbf) {
			wantNbf = wantNbf.Add(time.Second)
		}
		if !got.Expiry.Equal(exp.Truncate(time.Second)) || !got.IssuedAt.Equal(iat.Truncate(time.Second)) || !got.NotBefore.Equal(wantNbf) {
			t.Fatalf("times: got exp %v iat %v nbf %v for %v %v %v", got.Expiry, got.IssuedAt, got.NotBefore, exp, iat, nbf)
		}
		if got.ID != fixUTF8(id) {
			t.Fatalf("jti: got %q want %q", got.ID, fixUTF8(id))
		}
		if len(got.Data) != len(want) {
			t.Fatalf("data has %d keys, want %d", len(got.Data), len(want))
		}
		for k, wv := range want {
			raw, ok := got.Data[k].(json.RawMessage)
			if !ok {
				t.Fatalf("data[%q] is %T, want json.RawMessage", k, got.Data[k])
			}
			gv, err := jsonx.Decode(string(raw), jsonx.DefaultLimits)
			if err != nil || !sameJSON(wv, gv) {
				t.Fatalf("data[%q] = %s (%v), want %#v", k, raw, err, wv)
			}
		}

		// Any flipped byte fails.
		if mask != 0 {
			pos := int(flip) % len(tok)
			b := []byte(tok)
			b[pos] ^= mask
			_, err := token.Open(ringA, string(b), implicit, big)
			if !errors.Is(err, token.ErrInvalid) && !errors.Is(err, token.ErrUnknownKey) {
				t.Fatalf("flip %#x at %d of %d: Open = %v", mask, pos, len(tok), err)
			}
			footerStart := strings.LastIndexByte(tok, '.') + 1
			if errors.Is(err, token.ErrUnknownKey) && pos < footerStart {
				t.Fatalf("flip at %d outside the footer gave ErrUnknownKey", pos)
			}
		}
		// Any other implicit assertion fails: one bit changed, one byte
		// added, one byte removed.
		others := [][]byte{append(append([]byte(nil), implicit...), 0)}
		if len(implicit) > 0 {
			x := append([]byte(nil), implicit...)
			x[int(flip)%len(x)] ^= 1 << (mask % 8)
			others = append(others, x, implicit[:len(implicit)-1])
		}
		for _, other := range others {
			if _, err := token.Open(ringA, tok, other, big); !invalidOnly(err) {
				t.Fatalf("implicit %q instead of %q: Open = %v", other, implicit, err)
			}
		}
	})
}
