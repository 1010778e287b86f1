package fuzz

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"testing"
	"time"

	"satchel.dev/keyring"
)

// fileHeader is the first line of a keyring file.
const fileHeader = "satchel-keyring v1"

// ringFromSpec builds a valid Ring from fuzz bytes: up to 16 keys derived
// from 12-byte chunks, each with a state and up to three times (second
// and nanosecond resolution, years 2000 to about 2136), the primary chosen
// by the first byte.
func ringFromSpec(spec []byte) *keyring.Ring {
	if len(spec) == 0 {
		return mustRing(keyA)
	}
	var entries []keyring.Entry
	primary := int(spec[0])
	for i, rest := 0, spec[1:]; i < 16 && len(rest) > 0; i++ {
		chunk := rest[:min(12, len(rest))]
		rest = rest[len(chunk):]
		sum := sha256.Sum256(append([]byte{byte(i)}, chunk...))
		k, err := keyring.NewKey(sum[:])
		if err != nil {
			continue
		}
		var buf [12]byte
		copy(buf[:], chunk)
		e := keyring.Entry{Key: k, State: keyring.Staged}
		if buf[0]&1 != 0 {
			e.State = keyring.Retired
		}
		at := func(b []byte, nanos bool) time.Time {
			s := int64(binary.LittleEndian.Uint32(b))
			t := time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC).Add(time.Duration(s) * time.Second)
			if nanos {
				t = t.Add(time.Duration(binary.LittleEndian.Uint32(b)%1e9) * time.Nanosecond)
			}
			return t
		}
		if buf[0]&2 != 0 {
			e.Created = at(buf[1:5], buf[0]&16 != 0)
		}
		if buf[0]&4 != 0 {
			e.Promoted = at(buf[5:9], buf[0]&32 != 0)
		}
		if buf[0]&8 != 0 {
			e.Retired = at(append(buf[9:12:12], buf[0]), buf[0]&64 != 0)
		}
		entries = append(entries, e)
	}
	if len(entries) == 0 {
		return mustRing(keyA)
	}
	entries[primary%len(entries)].State = keyring.Primary
	r, err := keyring.New(entries)
	if err != nil {
		panic("fuzz: ringFromSpec built an invalid ring: " + err.Error())
	}
	return r
}

// FuzzParseKeyring parses arbitrary bytes as a keyring file and formats
// generated Rings.
//
// Properties:
//   - ParseFile never panics; any input it accepts, FormatFile writes back
//     byte for byte (the format is canonical), and the Ring has exactly
//     one primary;
//   - a refusal is a nil Ring and a *keyring.FileError wrapping one of
//     ErrMalformedFile, ErrInvalidRing, ErrMalformedKey or ErrWeakKey,
//     whose text contains none of the key material in the input;
//   - every Ring (built from spec) survives FormatFile then ParseFile with
//     the same keys, states and instants, in the same order.
func FuzzParseKeyring(f *testing.F) {
	for _, spec := range [][]byte{
		nil,
		{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12},
		bytes.Repeat([]byte{0xff, 0x7e, 3, 0, 9, 1}, 8),
		bytes.Repeat([]byte{0x5a}, 60),
	} {
		f.Add(keyring.FormatFile(ringFromSpec(spec)), spec)
	}
	file := string(keyring.FormatFile(ringFromSpec([]byte{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25})))
	for _, s := range []string{
		fileHeader + "\n",
		fileHeader + "\r\n" + file[len(fileHeader)+1:],
		"satchel-keyring v2\n" + file[len(fileHeader)+1:],
		file + "\n",
		file[:len(file)-1],
		file + "# comment\n",
		file + file[len(fileHeader)+1:],
		fileHeader + "\nsecret=" + keyA.ExportPASERK() + " state=primary created=2026-11-01T09:00:00+00:00\n",
		fileHeader + "\nsecret=" + keyA.ExportPASERK() + " state=primary created=2026-11-01T09:00:00.500Z\n",
		fileHeader + "\nsecret=" + keyA.ExportPASERK() + " state=primary created=2026-11-01T09:00:00.5Z\n",
		fileHeader + "\nstate=primary secret=" + keyA.ExportPASERK() + "\n",
		fileHeader + "\nsecret=" + keyA.ExportPASERK() + "  state=primary\n",
		fileHeader + "\nsecret=k4.local.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA state=primary\n",
		fileHeader + "\nsecret=" + keyA.ExportPASERK() + " state=staged\n",
	} {
		f.Add([]byte(s), []byte(nil))
	}
	f.Fuzz(func(t *testing.T, data, spec []byte) {
		r, err := keyring.ParseFile(data)
		if err == nil {
			if out := keyring.FormatFile(r); !bytes.Equal(out, data) {
				t.Fatalf("FormatFile(ParseFile(x)) != x:\n got %q\nwant %q", out, data)
			}
			primaries := 0
			for _, e := range r.Entries() {
				if e.State == keyring.Primary {
					primaries++
				}
			}
			if primaries != 1 || r.Primary().IsZero() {
				t.Fatalf("accepted a ring with %d primaries", primaries)
			}
		} else {
			if r != nil {
				t.Fatal("ParseFile returned a ring with an error")
			}
			var fe *keyring.FileError
			if !errors.As(err, &fe) {
				t.Fatalf("error %T is not a *keyring.FileError", err)
			}
			if !errors.Is(err, keyring.ErrMalformedFile) && !errors.Is(err, keyring.ErrInvalidRing) &&
				!errors.Is(err, keyring.ErrMalformedKey) && !errors.Is(err, keyring.ErrWeakKey) {
				t.Fatalf("error wraps no documented sentinel: %v", err)
			}
			msg := []byte(err.Error())
			for rest := data; ; {
				i := bytes.Index(rest, []byte("k4.local."))
				if i < 0 {
					break
				}
				rest = rest[i+len("k4.local."):]
				material := rest[:min(len(rest), 43)]
				if len(material) >= 16 && bytes.Contains(msg, material) {
					t.Fatalf("error text %q contains key material", msg)
				}
			}
		}

		want := ringFromSpec(spec)
		text := keyring.FormatFile(want)
		got, err := keyring.ParseFile(text)
		if err != nil {
			t.Fatalf("ParseFile(FormatFile(ring)) = %v", err)
		}
		we, ge := want.Entries(), got.Entries()
		if len(we) != len(ge) {
			t.Fatalf("%d entries back, want %d", len(ge), len(we))
		}
		for i := range we {
			w, g := we[i], ge[i]
			if !w.Key.Equal(g.Key) || w.State != g.State || !w.Created.Equal(g.Created) ||
				!w.Promoted.Equal(g.Promoted) || !w.Retired.Equal(g.Retired) {
				t.Fatalf("entry %d: got %+v, want %+v", i, g, w)
			}
		}
		if !bytes.Equal(keyring.FormatFile(got), text) {
			t.Fatal("FormatFile is not stable across a round trip")
		}
	})
}
