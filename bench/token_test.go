package bench

import (
	"bytes"
	"encoding/json"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"satchel.dev/internal/benchfix"

	"satchel.dev/token"
)

// normalize turns session values of any codec into one comparable form:
// encoded by encoding/json, decoded with numbers as json.Number.
func normalize(t testing.TB, v map[string]any) any {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatalf("marshal: %v", err)
	}
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	var out any
	if err := d.Decode(&out); err != nil {
		t.Fatalf("decode: %v", err)
	}
	return out
}

func mustKeys(tb testing.TB) *Keys {
	tb.Helper()
	k, err := NewKeys()
	if err != nil {
		tb.Fatal(err)
	}
	return k
}

// TestCodecsRoundTrip checks that every peer seals and opens every payload
// to the same values, so the benchmarks compare codecs that do the same
// job, and that each refuses a tampered value (they all authenticate).
func TestCodecsRoundTrip(t *testing.T) {
	k := mustKeys(t)
	for _, p := range Payloads {
		want := normalize(t, p.Values())
		for _, c := range Codecs(k) {
			t.Run("p="+p.Name+"/lib="+c.Name, func(t *testing.T) {
				s, err := c.Seal(p.Values())
				if err != nil {
					t.Fatalf("Seal: %v", err)
				}
				got, err := c.Open(s)
				if err != nil {
					t.Fatalf("Open: %v", err)
				}
				if g := normalize(t, got); !reflect.DeepEqual(g, want) {
					t.Fatalf("round trip changed the values:\n got %v\nwant %v", g, want)
				}
				// Flip one character in the middle of the value.
				b := []byte(s)
				i := len(b) / 2
				if b[i] == 'A' {
					b[i] = 'B'
				} else {
					b[i] = 'A'
				}
				if _, err := c.Open(string(b)); err == nil {
					t.Fatal("opened a tampered value")
				}
			})
		}
	}
}

// TestSealRaw checks that satchel-raw seals the same session: its token
// opens to the same values as the typed values' token.
func TestSealRaw(t *testing.T) {
	k := mustKeys(t)
	c := Codecs(k)[1] // satchel+decode
	for _, p := range Payloads {
		s, err := c.Seal(p.Raw())
		if err != nil {
			t.Fatalf("%s: Seal(Raw): %v", p.Name, err)
		}
		got, err := c.Open(s)
		if err != nil {
			t.Fatalf("%s: Open: %v", p.Name, err)
		}
		if g, w := normalize(t, got), normalize(t, p.Values()); !reflect.DeepEqual(g, w) {
			t.Fatalf("%s: raw seal holds %v, want %v", p.Name, g, w)
		}
	}
}

// TestFloorIsV4Local checks that the floor encrypts exactly what satchel
// would: its token opens with token.Open (empty implicit assertion) to the
// payload, and FloorOpen returns the plaintext.
func TestFloorIsV4Local(t *testing.T) {
	k := mustKeys(t)
	for _, p := range Payloads {
		f, err := NewFloor(k, p)
		if err != nil {
			t.Fatal(err)
		}
		c, err := token.Open(k.Ring, f.Seal(), nil, &token.Options{MaxSize: MaxSize})
		if err != nil {
			t.Fatalf("%s: satchel cannot open the floor's token: %v", p.Name, err)
		}
		if g, w := normalize(t, c.Data), normalize(t, p.Values()); !reflect.DeepEqual(g, w) {
			t.Fatalf("%s: floor token holds %v, want %v", p.Name, g, w)
		}
		if got := f.Open(); !bytes.Equal(got, f.Plaintext) {
			t.Fatalf("%s: FloorOpen = %q", p.Name, got)
		}
	}
}

// TestSizes logs the cookie value each codec writes per payload; the
// numbers go into BENCHMARKS.md.
func TestSizes(t *testing.T) {
	k := mustKeys(t)
	for _, p := range Payloads {
		var row []string
		for _, c := range Codecs(k) {
			s, err := c.Seal(p.Values())
			if err != nil {
				t.Fatal(err)
			}
			row = append(row, c.Name+"="+strconv.Itoa(len(s)))
		}
		t.Logf("p=%s json=%d %s", p.Name, len(p.JSON()), strings.Join(row, " "))
	}
}

// BenchmarkSeal measures sealing each payload: every codec, satchel with
// the same values pre-encoded (satchel-raw) and the floor, side by side.
// Names: BenchmarkSeal/p=<payload>/lib=<codec>.
func BenchmarkSeal(b *testing.B) {
	k := mustKeys(b)
	for _, p := range Payloads {
		b.Run("p="+p.Name, func(b *testing.B) {
			for _, c := range Codecs(k) {
				if c.Name == "satchel+decode" {
					continue // same Seal as satchel
				}
				b.Run("lib="+c.Name, func(b *testing.B) {
					v := p.Values()
					b.SetBytes(int64(len(p.JSON())))
					b.ReportAllocs()
					for b.Loop() {
						if _, err := c.Seal(v); err != nil {
							b.Fatal(err)
						}
					}
				})
			}
			b.Run("lib=satchel-raw", func(b *testing.B) {
				seal := Codecs(k)[0].Seal
				v := p.Raw()
				b.SetBytes(int64(len(p.JSON())))
				b.ReportAllocs()
				for b.Loop() {
					if _, err := seal(v); err != nil {
						b.Fatal(err)
					}
				}
			})
			b.Run("lib=floor", func(b *testing.B) {
				f, err := NewFloor(k, p)
				if err != nil {
					b.Fatal(err)
				}
				b.SetBytes(int64(len(p.JSON())))
				b.ReportAllocs()
				for b.Loop() {
					f.Seal()
				}
			})
		})
	}
}

// BenchmarkOpen measures opening each payload into session values. Names:
// BenchmarkOpen/p=<payload>/lib=<codec>.
func BenchmarkOpen(b *testing.B) {
	k := mustKeys(b)
	for _, p := range Payloads {
		b.Run("p="+p.Name, func(b *testing.B) {
			for _, c := range Codecs(k) {
				b.Run("lib="+c.Name, func(b *testing.B) {
					s, err := c.Seal(p.Values())
					if err != nil {
						b.Fatal(err)
					}
					b.SetBytes(int64(len(p.JSON())))
					b.ReportAllocs()
					for b.Loop() {
						if _, err := c.Open(s); err != nil {
							b.Fatal(err)
						}
					}
				})
			}
			b.Run("lib=floor", func(b *testing.B) {
				f, err := NewFloor(k, p)
				if err != nil {
					b.Fatal(err)
				}
				b.SetBytes(int64(len(p.JSON())))
				b.ReportAllocs()
				for b.Loop() {
					if f.Open() == nil {
						b.Fatal("floor refused its own token")
					}
				}
			})
		})
	}
}

// mustPayload returns the fixture named name.
func mustPayload(name string) benchfix.Payload {
	for _, p := range Payloads {
		if p.Name == name {
			return p
		}
	}
	panic("bench: no payload " + name)
}
