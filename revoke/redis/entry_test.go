package redis

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"
)

func fields(kv ...string) []any {
	out := make([]any, len(kv))
	for i, s := range kv {
		out[i] = s
	}
	return out
}

func TestParseEntry(t *testing.T) {
	t.Parallel()
	id := "AAAAAAAAAAAAAAAAAAAAAA"
	good := []struct {
		name string
		in   []any
		want Entry
	}{
		{"session", fields("v", "1", "kind", "session", "id", id, "exp", "1900000000"),
			Entry{ID: id, Expires: time.Unix(1900000000, 0)}},
		{"any order", fields("exp", "1900000000", "id", id, "kind", "session", "v", "1"),
			Entry{ID: id, Expires: time.Unix(1900000000, 0)}},
		{"subject", fields("v", "1", "kind", "subject", "sub", "ada@example.com", "at", "1800000000000000000"),
			Entry{Subject: "ada@example.com", At: time.Unix(1800000000, 0)}},
		{"subject keep", fields("v", "1", "kind", "subject", "sub", "ada", "at", "1800000000000000000", "keep", id+",x"),
			Entry{Subject: "ada", At: time.Unix(1800000000, 0), Keep: []string{id, "x"}}},
	}
	for _, tt := range good {
		got, err := parseEntry(tt.in)
		if err != nil {
			t.Errorf("%s: %v", tt.name, err)
			continue
		}
		if got.ID != tt.want.ID || !got.Expires.Equal(tt.want.Expires) || got.Subject != tt.want.Subject ||
			!got.At.Equal(tt.want.At) || !slices.Equal(got.Keep, tt.want.Keep) {
			t.Errorf("%s: got %+v, want %+v", tt.name, got, tt.want)
		}
	}
	bad := map[string][]any{
		"empty":          nil,
		"odd":            fields("v", "1", "kind"),
		"not strings":    {"v", 1, "kind", "session", "id", id, "exp", "1900000000"},
		"no version":     fields("kind", "session", "id", id, "exp", "1900000000"),
		"version 2":      fields("v", "2", "kind", "session", "id", id, "exp", "1900000000"),
		"repeated":       fields("v", "1", "kind", "session", "id", id, "id", "x", "exp", "1900000000"),
		"mixed kinds":    fields("v", "1", "kind", "session", "id", id, "exp", "1900000000", "sub", "a"),
		"missing exp":    fields("v", "1", "kind", "session", "id", id, "at", "1900000000"),
		"leading zero":   fields("v", "1", "kind", "session", "id", id, "exp", "01900000000"),
		"plus sign":      fields("v", "1", "kind", "session", "id", id, "exp", "+1900000000"),
		"zero time":      fields("v", "1", "kind", "session", "id", id, "exp", "0"),
		"year 10000":     fields("v", "1", "kind", "session", "id", id, "exp", "253402300800"),
		"empty id":       fields("v", "1", "kind", "session", "id", "", "exp", "1900000000"),
		"space in id":    fields("v", "1", "kind", "session", "id", "a b", "exp", "1900000000"),
		"comma in id":    fields("v", "1", "kind", "session", "id", "a,b", "exp", "1900000000"),
		"long id":        fields("v", "1", "kind", "session", "id", strings.Repeat("a", 129), "exp", "1900000000"),
		"empty subject":  fields("v", "1", "kind", "subject", "sub", "", "at", "1800000000000000000"),
		"subject UTF-8":  fields("v", "1", "kind", "subject", "sub", "\xc3", "at", "1800000000000000000"),
		"long subject":   fields("v", "1", "kind", "subject", "sub", strings.Repeat("a", 257), "at", "1800000000000000000"),
		"empty keep":     fields("v", "1", "kind", "subject", "sub", "a", "at", "1800000000000000000", "keep", ""),
		"keep too many":  fields("v", "1", "kind", "subject", "sub", "a", "at", "1800000000000000000", "keep", strings.Repeat("a,", 8)+"a"),
		"unknown kind":   fields("v", "1", "kind", "Session", "id", id, "exp", "1900000000"),
		"unknown field":  fields("v", "1", "kind", "session", "id", id, "exp", "1900000000", "x", "y"),
		"huge value":     fields("v", "1", "kind", "session", "id", id, "exp", "1900000000", "keep", strings.Repeat("a", 1<<20)),
		"too many items": fields("v", "1", "kind", "session", "id", id, "exp", "1", "a", "b", "c", "d"),
	}
	for name, in := range bad {
		if _, err := parseEntry(in); !errors.Is(err, errEntry) {
			t.Errorf("%s: err = %v, want errEntry", name, err)
		}
	}
}

// FuzzParseEntry: no input crashes the parser, and an accepted entry
// written back reads as the same entry.
func FuzzParseEntry(f *testing.F) {
	f.Add("v", "1", "kind", "session", "id", "AAAAAAAAAAAAAAAAAAAAAA", "exp", "1900000000")
	f.Add("v", "1", "kind", "subject", "sub", "ada", "at", "1800000000000000000")
	f.Add("v", "1", "kind", "subject", "keep", "a,b", "at", "1800000000000000000")
	f.Fuzz(func(t *testing.T, a, b, c, d, e, g, h, i string) {
		for n := 2; n <= 8; n += 2 {
			in := fields(a, b, c, d, e, g, h, i)[:n]
			if n == 6 {
				in = append(in, "sub", "x")
			}
			got, err := parseEntry(in)
			if err != nil {
				continue
			}
			again, err := parseEntry(got.args())
			if err != nil {
				t.Fatalf("written entry refused: %v", err)
			}
			if again.ID != got.ID || !again.Expires.Equal(got.Expires) || again.Subject != got.Subject ||
				!again.At.Equal(got.At) || !slices.Equal(again.Keep, got.Keep) {
				t.Fatalf("round trip changed the entry: %+v, then %+v", got, again)
			}
		}
	})
}
