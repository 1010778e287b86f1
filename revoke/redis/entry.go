package redis

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	goredis "github.com/redis/go-redis/v9"

	"satchel.dev/revoke"
)

// The stream entry format, version 1. A session sign-out is
//
//	v=1 kind=session id=<session id> exp=<token expiry, unix seconds>
//
// and a subject's sign-out everywhere is
//
//	v=1 kind=subject sub=<subject> at=<unix nanoseconds> [keep=<id>,<id>...]
//
// Fields appear in this order when written; a reader accepts any order but
// no other field, no repeated field and nothing beyond these sizes.
const (
	formatVersion = "1"
	kindSession   = "session"
	kindSubject   = "subject"

	maxFields     = 5
	maxFieldValue = revoke.MaxKeep*(revoke.MaxIDLen+1) + 1 // the longest keep list
	maxEntryBytes = 2 * maxFieldValue
)

// Entry is one revocation as it travels through the stream: either a
// session (ID and Expires) or a subject (Subject, At and Keep).
type Entry struct {
	ID      string    // session id signed out
	Expires time.Time // the session token's expiry
	Subject string    // subject signed out everywhere
	At      time.Time // as of this moment (to the nanosecond)
	Keep    []string  // session ids of Subject exempted (see revoke.Set.RevokeSubject)
}

// errEntry is the reason an entry in the stream is refused. Its messages
// name the field at fault, never a value.
var errEntry = errors.New("malformed revocation entry")

// args returns e as XADD field-value pairs.
func (e Entry) args() []any {
	if e.Subject != "" {
		a := []any{"v", formatVersion, "kind", kindSubject, "sub", e.Subject, "at", strconv.FormatInt(e.At.UnixNano(), 10)}
		if len(e.Keep) > 0 {
			a = append(a, "keep", strings.Join(e.Keep, ","))
		}
		return a
	}
	return []any{"v", formatVersion, "kind", kindSession, "id", e.ID, "exp", strconv.FormatInt(e.Expires.Unix(), 10)}
}

// apply records e in set. The Set validates the values.
func (e Entry) apply(set *revoke.Set) error {
	if e.Subject != "" {
		return set.RevokeSubject(context.Background(), e.Subject, e.At, e.Keep...)
	}
	return set.RevokeSession(context.Background(), e.ID, e.Expires)
}

// parseEntry reads one stream entry's field-value list, strictly.
func parseEntry(fields []any) (Entry, error) {
	var e Entry
	if len(fields)%2 != 0 || len(fields) > 2*maxFields {
		return e, fmt.Errorf("%w: %d field items", errEntry, len(fields))
	}
	seen := map[string]string{}
	total := 0
	for i := 0; i < len(fields); i += 2 {
		name, ok1 := fields[i].(string)
		value, ok2 := fields[i+1].(string)
		if !ok1 || !ok2 {
			return e, fmt.Errorf("%w: a field is not a string", errEntry)
		}
		total += len(name) + len(value)
		if len(value) > maxFieldValue || total > maxEntryBytes {
			return e, fmt.Errorf("%w: too large", errEntry)
		}
		switch name {
		case "v", "kind", "id", "exp", "sub", "at", "keep":
		default:
			return e, fmt.Errorf("%w: unknown field", errEntry)
		}
		if _, dup := seen[name]; dup {
			return e, fmt.Errorf("%w: repeated field %s", errEntry, name)
		}
		seen[name] = value
	}
	if seen["v"] != formatVersion {
		return e, fmt.Errorf("%w: not format version %s", errEntry, formatVersion)
	}
	want := func(names ...string) error {
		if len(seen) != len(names)+2 {
			return fmt.Errorf("%w: wrong fields for its kind", errEntry)
		}
		for _, n := range names {
			if _, ok := seen[n]; !ok {
				return fmt.Errorf("%w: missing field %s", errEntry, n)
			}
		}
		return nil
	}
	switch seen["kind"] {
	case kindSession:
		if err := want("id", "exp"); err != nil {
			return e, err
		}
		exp, err := parseUnix(seen["exp"])
		if err != nil {
			return e, err
		}
		e.ID, e.Expires = seen["id"], exp
		if !validID(e.ID) {
			return e, fmt.Errorf("%w: bad id", errEntry)
		}
	case kindSubject:
		names := []string{"sub", "at"}
		if _, ok := seen["keep"]; ok {
			names = append(names, "keep")
		}
		if err := want(names...); err != nil {
			return e, err
		}
		at, err := parseUnixNano(seen["at"])
		if err != nil {
			return e, err
		}
		e.Subject, e.At = seen["sub"], at
		if e.Subject == "" || len(e.Subject) > revoke.MaxSubjectLen || !utf8.ValidString(e.Subject) {
			return e, fmt.Errorf("%w: bad subject", errEntry)
		}
		if k, ok := seen["keep"]; ok {
			e.Keep = strings.Split(k, ",")
			if len(e.Keep) > revoke.MaxKeep {
				return e, fmt.Errorf("%w: too many kept ids", errEntry)
			}
			for _, id := range e.Keep {
				if !validID(id) {
					return e, fmt.Errorf("%w: bad kept id", errEntry)
				}
			}
		}
	default:
		return e, fmt.Errorf("%w: unknown kind", errEntry)
	}
	return e, nil
}

// validID reports whether id can be written into an entry: 1 to
// revoke.MaxIDLen printable ASCII bytes other than a comma (the keep
// separator).
func validID(id string) bool {
	if id == "" || len(id) > revoke.MaxIDLen {
		return false
	}
	for i := 0; i < len(id); i++ {
		if c := id[i]; c <= ' ' || c > '~' || c == ',' {
			return false
		}
	}
	return true
}

// parseUnixNano reads a positive count of nanoseconds, plain decimal
// digits without a leading zero (so before the year 2262).
func parseUnixNano(s string) (time.Time, error) {
	if s == "" || len(s) > 19 || s[0] == '0' || strings.Trim(s, "0123456789") != "" {
		return time.Time{}, fmt.Errorf("%w: bad time", errEntry)
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return time.Time{}, fmt.Errorf("%w: bad time", errEntry)
	}
	return time.Unix(0, n), nil
}

// parseUnix reads a positive count of seconds, plain decimal digits
// without a leading zero, before the year 10000.
func parseUnix(s string) (time.Time, error) {
	if s == "" || len(s) > 12 || s[0] == '0' || strings.Trim(s, "0123456789") != "" {
		return time.Time{}, fmt.Errorf("%w: bad time", errEntry)
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n <= 0 || n > 253402300799 {
		return time.Time{}, fmt.Errorf("%w: bad time", errEntry)
	}
	return time.Unix(n, 0), nil
}

// Append checks e as a follower would and appends it to stream in client
// ([DefaultStream] when empty), for tools that sign sessions out without
// running a [Store] (the satchel-revoke command). It returns the new
// entry's stream id. It returns an error wrapping [revoke.ErrInvalid] for
// an entry that every follower would refuse (both or neither of ID and
// Subject set, bad lengths or bytes, a time out of range), or Redis's
// error. The error holds no id or subject.
func Append(ctx context.Context, client goredis.UniversalClient, stream string, e Entry) (string, error) {
	if stream == "" {
		stream = DefaultStream
	}
	if (e.ID == "") == (e.Subject == "") {
		return "", fmt.Errorf("%w: exactly one of a session id and a subject", revoke.ErrInvalid)
	}
	if _, err := parseEntry(e.args()); err != nil {
		return "", fmt.Errorf("%w: %w", revoke.ErrInvalid, err)
	}
	return client.XAdd(ctx, &goredis.XAddArgs{Stream: stream, Values: e.args()}).Result()
}
