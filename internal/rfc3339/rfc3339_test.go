package rfc3339

import (
	"fmt"
	"math/rand/v2"
	"regexp"
	"testing"
	"time"
)

// rfc3339 is RFC 3339's date-time grammar, the reference for what
// Parse accepts before time.Parse checks the ranges.
var rfc3339 = regexp.MustCompile(`^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]+)?(Z|[+-]([01][0-9]|2[0-3]):[0-5][0-9])$`)

// referenceTime is the slow, obviously right reading: the grammar, then
// time.Parse.
func referenceTime(s string) (time.Time, bool) {
	if !rfc3339.MatchString(s) {
		return time.Time{}, false
	}
	t, err := time.Parse(time.RFC3339, s)
	return t, err == nil
}

func checkParseTime(t *testing.T, s string) {
	t.Helper()
	got, ok := Parse(s)
	want, wantOK := referenceTime(s)
	if ok != wantOK || !got.Equal(want) || ok && got.Location() != time.UTC {
		t.Fatalf("Parse(%q) = %v, %v; reference %v, %v", s, got, ok, want, wantOK)
	}
}

// TestParseTimeMatchesReference: Parse's one-pass reading agrees (as
// an instant, in UTC) with RFC 3339's grammar followed by time.Parse on every day of
// leap and common years (and past each month's end), on the edges of every
// field, and on random date-times with out-of-range fields, fractions up
// to 12 digits and offsets.
func TestParseTimeMatchesReference(t *testing.T) {
	t.Parallel()
	for _, year := range []int{0, 1900, 2000, 2024, 2026, 2100, 9999} {
		for month := 0; month <= 13; month++ {
			for day := 0; day <= 32; day++ {
				checkParseTime(t, fmt.Sprintf("%04d-%02d-%02dT12:00:00Z", year, month, day))
			}
		}
	}
	for _, s := range []string{
		"2026-11-27T00:00:00Z", "2026-11-27T23:59:59Z", "2026-11-27T24:00:00Z",
		"2026-11-27T23:60:00Z", "2026-11-27T23:59:60Z", "2026-11-27T99:99:99Z",
		"2026-11-27T13:00:00.5Z", "2026-11-27T13:00:00.123456789Z",
		"2026-11-27T13:00:00.1234567891Z", "2026-11-27T13:00:00.Z",
		"2026-11-27T13:00:00.000000000Z", "2026-11-27T13:00:00+01:00",
		"2026-11-27T13:00:00-00:00", "2026-11-27T13:00:00z", "2026-11-27t13:00:00Z",
		"2026-11-27T13:00:00ZZ", "2026-11-27T13:00:00", "2026-11-27T1:00:00Z",
		"2026-11-27T13:00:00+23:59", "2026-11-27T13:00:00-23:59", "0000-01-01T00:00:00+01:00",
		"9999-12-31T23:59:59-01:00", "2026-11-27T13:00:00+1:00", "2026-11-27T13:00:00+01:0a",
		"2026-11-27T13:00:00+01-00", "-026-11-27T13:00:00Z", "2026-+1-27T13:00:00Z",
	} {
		checkParseTime(t, s)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for range 50000 {
		s := fmt.Sprintf("%04d-%02d-%02dT%02d:%02d:%02d", rng.IntN(10000), rng.IntN(20), rng.IntN(40), rng.IntN(30), rng.IntN(70), rng.IntN(70))
		if n := rng.IntN(13); n > 0 {
			s += "."
			for range n {
				s += string(rune('0' + rng.IntN(10)))
			}
		}
		if rng.IntN(4) == 0 {
			s += fmt.Sprintf("%c%02d:%02d", "+-"[rng.IntN(2)], rng.IntN(30), rng.IntN(70))
		} else {
			s += "Z"
		}
		checkParseTime(t, s)
	}
}

// TestParseTimeRoundTrip: every time Seal can write reads back equal.
func TestParseTimeRoundTrip(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewPCG(3, 4))
	for range 100000 {
		want := time.Unix(rng.Int64N(253402300800), rng.Int64N(1e9)).UTC()
		s := want.Format(time.RFC3339Nano)
		got, ok := Parse(s)
		if !ok || !got.Equal(want) {
			t.Fatalf("Parse(%q) = %v, %v; want %v", s, got, ok, want)
		}
	}
}
