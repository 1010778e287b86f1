package fuzz

import (
	"bytes"
	"errors"
	"regexp"
	"strings"
	"testing"

	"satchel.dev/internal/benchfix"
	"satchel.dev/token"
)

// kidShape is the one footer satchel accepts, written as a regular
// expression independently of token's hand-written parser.
var kidShape = regexp.MustCompile(`^\{"kid":"k4\.lid\.[A-Za-z0-9_-]{44}"\}$`)

// footerBody is the payload segment the footer targets pair with: a real
// token body sealed under keyA, so that a footer naming a key the ring
// holds reaches the MAC check and fails there.
func footerBody(tb testing.TB) string {
	tok := sealed(tb, keyA, benchfix.Small(), nil)
	body, _, _ := strings.Cut(strings.TrimPrefix(tok, "v4.local."), ".")
	return body
}

// footerSeeds are hostile footers (a path-like kid, a kid that is an
// object or repeated, other key-id prefixes, text that is not JSON) and
// near misses of the exact shape: a footer is read before the token is
// authenticated.
func footerSeeds() [][]byte {
	lidB := keyB.ID()
	return [][]byte{
		footerFor(keyA),
		footerFor(keyB),
		[]byte(`{"kid":"k4.lid.` + strings.Repeat("A", 44) + `"}`),
		[]byte(`{"kid":"../../x"}`),
		[]byte(`{"kid":{}}`),
		[]byte(`{"kid":"` + lidB + `","kid":"` + lidB + `"}`),
		[]byte(`{"kid":"` + lidB + `" }`),
		[]byte(`{ "kid":"` + lidB + `"}`),
		[]byte(`{"kid":"` + strings.Replace(lidB, "k4.lid.", "k4.pid.", 1) + `"}`),
		[]byte(`{"kid":"` + strings.Replace(lidB, "k4.lid.", "k3.lid.", 1) + `"}`),
		[]byte(`{"kid":"` + lidB[:len(lidB)-1] + `+"}`),
		[]byte(`{"kid":"` + lidB[:len(lidB)-1] + `\u0041"}`),
		[]byte(`{"kid":"zVhMiPBP9fRf2snEcT7gFTioeA9COcNy9DfgL1W60haN"}`),
		[]byte("arbitrary-string-that-isn't-json"),
		bytes.Repeat([]byte("A"), 100),
		{},
	}
}

// FuzzFooter attacks the pre-authentication footer parser.
//
// The ring holds only keyB and the token body is sealed under keyA, so no
// input can open; what differs is where Open stops:
//   - a footer of exactly the kid shape (kidShape above), canonically
//     encoded, that names an id other than keyB's gives ErrUnknownKey: the
//     key was looked up and nothing else was tried;
//   - one that names keyB's id reaches the MAC check and gives ErrInvalid;
//   - anything else gives ErrInvalid: refused before any key lookup;
//   - footers repeated up to 64 KiB give ErrTooLarge under the default
//     limit and, with the limit raised past them, still ErrInvalid. That
//     the refusal costs bounded work, whatever the footer's length, is
//     checked without a clock by TestFooterBoundedWork below.
//
// raw selects whether seg is used as the footer segment verbatim (to reach
// non-canonical base64) or footer is encoded canonically.
func FuzzFooter(f *testing.F) {
	for _, fb := range footerSeeds() {
		f.Add(fb, "", false, uint16(0))
	}
	enc := b64.EncodeToString(footerFor(keyA))
	for _, seg := range []string{enc, enc + "=", enc + "\n", enc[:len(enc)-1] + "+", " " + enc, enc + ".", strings.ToUpper(enc)} {
		f.Add([]byte(nil), seg, true, uint16(0))
	}
	f.Add([]byte(`{"kid":"`), "", false, uint16(40000))
	body := footerBody(f)
	f.Fuzz(func(t *testing.T, footer []byte, seg string, raw bool, repeat uint16) {
		if !raw {
			seg = b64.EncodeToString(footer)
		}
		tok := "v4.local." + body + "." + seg
		if repeat > 0 && len(seg) > 0 {
			n := min(int(repeat), (64<<10)/len(seg))
			tok = "v4.local." + body + "." + strings.Repeat(seg, n)
		}

		_, err := token.Open(ringB, tok, nil, openOpts)
		if len(tok) > token.DefaultMaxSize {
			if !errors.Is(err, token.ErrTooLarge) {
				t.Fatalf("%d-byte token: Open = %v, want ErrTooLarge", len(tok), err)
			}
			_, err = token.Open(ringB, tok, nil, &token.Options{MaxSize: len(tok), Now: openOpts.Now})
		}

		seg = strings.TrimPrefix(tok, "v4.local."+body+".")
		fb, decErr := b64.DecodeString(seg)
		wellFormed := decErr == nil && canonical("v4.local."+seg) && kidShape.Match(fb)
		switch {
		case wellFormed && string(fb) == string(footerFor(keyB)):
			if !invalidOnly(err) {
				t.Fatalf("footer naming keyB on a keyA body: Open = %v, want ErrInvalid (MAC)", err)
			}
		case wellFormed:
			if !errors.Is(err, token.ErrUnknownKey) {
				t.Fatalf("well-formed footer %q with an unknown kid: Open = %v, want ErrUnknownKey", fb, err)
			}
		default:
			if !invalidOnly(err) {
				t.Fatalf("malformed footer segment %q: Open = %v, want ErrInvalid before any key lookup", seg, err)
			}
		}
	})
}

// TestFooterBoundedWork checks that the work done on a footer before
// authentication, and on an oversized token, is bounded, deterministically: refusing a malformed footer costs the same number of
// allocations whether the footer is 20 bytes or a megabyte, and an
// oversized token is refused without allocating at all.
func TestFooterBoundedWork(t *testing.T) {
	body := footerBody(t)
	big := &token.Options{MaxSize: 4 << 20, Now: openOpts.Now}
	allocs := func(tok string, opts *token.Options) float64 {
		return testing.AllocsPerRun(20, func() {
			if _, err := token.Open(ringB, tok, nil, opts); err == nil {
				t.Fatal("opened")
			}
		})
	}
	small := allocs("v4.local."+body+"."+b64.EncodeToString([]byte(`{"kid":{}}`)), big)
	for _, n := range []int{10 << 10, 1 << 20} {
		tok := "v4.local." + body + "." + b64.EncodeToString(bytes.Repeat([]byte(`{"kid":{}}`), n/10))
		if got := allocs(tok, big); got != small {
			t.Errorf("%d-byte footer: %v allocations, a 10-byte one %v", n, got, small)
		}
		if got := allocs(tok, nil); got != 0 {
			t.Errorf("%d-byte token over the default limit: %v allocations, want 0", len(tok), got)
		}
	}
}
