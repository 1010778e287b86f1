package keyring

import (
	"bytes"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
)

// fileHeader is the first line of every keyring file (without its newline).
// The version number changes only when the format does.
const fileHeader = "satchel-keyring v1"

// trailerPrefix begins the last line of every keyring file, which closes
// the file and counts its keys: "end keys=3" after three key lines. A file
// that lacks it, or whose count is wrong, is refused, so that a file read
// while it is being rewritten in place is never taken for a smaller
// keyring.
const trailerPrefix = "end keys="

// MaxFileSize bounds the size of a keyring file that [LoadFile], the
// [Watcher] and the rotate package read: 1 MiB, room for several thousand
// keys. Larger files are refused without being read.
const MaxFileSize = 1 << 20

// ErrMalformedFile is wrapped by the [*FileError] of every keyring file
// that breaks the syntax of the format (as opposed to [ErrInvalidRing],
// which is wrapped for files that parse but describe an invalid keyring).
var ErrMalformedFile = errors.New("keyring: malformed keyring file")

// FileError describes a problem in a keyring file. Its text has the form
//
//	keyring.txt:4: field "state": unknown state (want staged, primary or retired)
//
// and never contains key material, nor any other bytes of the file: a
// secret pasted in the wrong place must not reach a log.
type FileError struct {
	File  string // file name, set by LoadFile and the Watcher; empty for ParseFile
	Line  int    // 1-based line number, or 0 when the error concerns the whole file
	Field string // name of the field, or "" when the error concerns the whole line
	Err   error  // what is wrong; wraps ErrMalformedFile, ErrInvalidRing, ErrMalformedKey, ErrWeakKey, ErrNotRegular, ErrWorldWritable or ErrLoosePermissions
}

// Error returns "file:line: field "name": problem", leaving out the parts
// that are unknown.
func (e *FileError) Error() string {
	var b strings.Builder
	switch {
	case e.File != "" && e.Line > 0:
		fmt.Fprintf(&b, "%s:%d: ", e.File, e.Line)
	case e.File != "":
		fmt.Fprintf(&b, "%s: ", e.File)
	case e.Line > 0:
		fmt.Fprintf(&b, "line %d: ", e.Line)
	}
	if e.Field != "" {
		fmt.Fprintf(&b, "field %q: ", e.Field)
	}
	b.WriteString(e.Err.Error())
	return b.String()
}

// Unwrap returns the underlying error, so that errors.Is finds
// [ErrMalformedFile], [ErrInvalidRing], [ErrMalformedKey], [ErrWeakKey]
// or the errors of [LoadFile] about the file itself.
func (e *FileError) Unwrap() error { return e.Err }

// The fields of an entry line, in their one allowed order.
const (
	fieldSecret   = "secret"
	fieldState    = "state"
	fieldCreated  = "created"
	fieldPromoted = "promoted"
	fieldRetired  = "retired"
)

var fieldOrder = [...]string{fieldSecret, fieldState, fieldCreated, fieldPromoted, fieldRetired}

// syntaxErr is a problem that wraps ErrMalformedFile. Its message must be a
// constant text or built only from values the parser produced itself.
type syntaxErr string

func (e syntaxErr) Error() string { return string(e) }
func (e syntaxErr) Unwrap() error { return ErrMalformedFile }

// ringErr is a file that parses but breaks a rule of New; it wraps
// ErrInvalidRing. The same constraints on its text apply.
type ringErr string

func (e ringErr) Error() string { return string(e) }
func (e ringErr) Unwrap() error { return ErrInvalidRing }

// ParseFile parses a keyring file in the canonical v1 format that
// [FormatFile] writes:
//
//	satchel-keyring v1
//	secret=k4.local.… state=primary created=2026-11-01T09:00:00Z promoted=2026-11-01T09:00:00Z
//	secret=k4.local.… state=staged created=2026-11-29T08:00:00Z
//	secret=k4.local.… state=retired created=2026-10-01T09:00:00Z promoted=2026-10-01T10:00:00Z retired=2026-11-01T09:00:00Z
//	end keys=3
//
// The first line is "satchel-keyring v1". Each line between it and the last is one
// key: fields of the form name=value separated by one space, in the order
// secret, state, created, promoted, retired. secret (a k4.local PASERK)
// and state (staged, primary or retired) are required; each time is
// present exactly when it is known, as an RFC 3339 UTC time in the
// shortest form Go's time.RFC3339Nano writes (a "Z" suffix, no trailing
// zeros in the fraction). The last line is "end keys=N", N the number of key lines in decimal without
// leading zeros. Every line ends with "\n", the last one included.
//
// The end line makes a file self-delimiting: a file cut short, even at a
// line boundary (as a reader may see it while the file is rewritten in
// place), lacks it and is refused, rather than read as a keyring without
// its last keys. A file without the end line, or whose count does not
// match, is refused with an error wrapping [ErrMalformedFile]. Errors about
// a key line come first, in file order, then those about the keyring as a
// whole ([ErrInvalidRing]: no keys, no primary), then the end line's.
//
// The format is canonical: there are no comments, blank lines, other
// spellings of a time, extra spaces or CR characters, so that any file
// ParseFile accepts is reproduced byte for byte by FormatFile of the
// result. Hand edits are welcome as long as they keep that shape;
// anything else is refused with an error that names the line and field.
//
// On failure ParseFile returns a nil Ring and a [*FileError] (whose File
// is empty). Errors never contain bytes of the input. The Ring rules of
// [New] apply: exactly one primary and no key twice. ParseFile is safe for
// concurrent use.
func ParseFile(data []byte) (*Ring, error) {
	if len(data) > MaxFileSize {
		return nil, &FileError{Err: syntaxErr(fmt.Sprintf("file larger than %d bytes", MaxFileSize))}
	}
	if len(data) == 0 {
		return nil, &FileError{Line: 1, Err: syntaxErr("empty file (first line must be " + strconv.Quote(fileHeader) + ")")}
	}
	if data[len(data)-1] != '\n' {
		n := bytes.Count(data, []byte{'\n'}) + 1
		return nil, &FileError{Line: n, Err: syntaxErr("missing newline at the end of the file (truncated?)")}
	}
	lines := bytes.Split(data[:len(data)-1], []byte{'\n'})
	if err := checkHeader(lines[0]); err != nil {
		return nil, &FileError{Line: 1, Err: err}
	}
	body := lines[1:]
	trailerLine := 0 // line number of the end line, 0 if the file has none
	count := -1      // the count the end line gives
	if last := len(lines) - 1; last > 0 && isTrailer(lines[last]) {
		n, field, err := parseTrailer(lines[last])
		if err != nil {
			return nil, &FileError{Line: last + 1, Field: field, Err: err}
		}
		body, trailerLine, count = lines[1:last], last+1, n
	}
	entries := make([]Entry, 0, len(body))
	seen := make(map[string]int, len(body))
	primaryLine := 0
	for i, line := range body {
		n := i + 2
		if isTrailer(line) {
			return nil, &FileError{Line: n, Err: syntaxErr(`an "end" line before the last line (it closes the file; is a second file appended?)`)}
		}
		e, field, err := parseEntry(line)
		if err != nil {
			return nil, &FileError{Line: n, Field: field, Err: err}
		}
		if prev, dup := seen[e.Key.ID()]; dup {
			return nil, &FileError{Line: n, Field: fieldSecret,
				Err: ringErr(fmt.Sprintf("the same key as line %d (id %s)", prev, e.Key.ID()))}
		}
		seen[e.Key.ID()] = n
		if e.State == Primary {
			if primaryLine != 0 {
				return nil, &FileError{Line: n, Field: fieldState,
					Err: ringErr(fmt.Sprintf("a second primary key (line %d is primary)", primaryLine))}
			}
			primaryLine = n
		}
		entries = append(entries, e)
	}
	if len(entries) == 0 {
		return nil, &FileError{Err: ringErr("no keys")}
	}
	if primaryLine == 0 {
		return nil, &FileError{Err: ringErr("no primary key (exactly one key needs state=primary)")}
	}
	if trailerLine == 0 {
		return nil, &FileError{Line: len(lines),
			Err: syntaxErr(`the file ends without its last line "` + trailerPrefix + `N" (truncated, or still being written?)`)}
	}
	if count != len(entries) {
		return nil, &FileError{Line: trailerLine, Field: fieldKeys,
			Err: syntaxErr(fmt.Sprintf("wrong key count: the file has %d key lines (truncated, or a line added or removed by hand?)", len(entries)))}
	}
	r, err := New(entries)
	if err != nil {
		// The checks above cover every rule of New; this is a safety net.
		return nil, &FileError{Err: err}
	}
	return r, nil
}

// fieldKeys names the count of the end line in errors.
const fieldKeys = "keys"

// isTrailer reports whether line is meant as the end line: "end" alone or
// followed by a space. Key lines start with "secret=".
func isTrailer(line []byte) bool {
	rest, ok := bytes.CutPrefix(line, []byte("end"))
	return ok && (len(rest) == 0 || rest[0] == ' ')
}

// parseTrailer parses the end line, "end keys=N", and returns N. The
// number is canonical: decimal digits, no sign, no leading zero.
func parseTrailer(line []byte) (int, string, error) {
	if bytes.IndexByte(line, '\r') >= 0 {
		return 0, "", syntaxErr("carriage return (line endings must be \\n alone)")
	}
	digits, ok := bytes.CutPrefix(line, []byte(trailerPrefix))
	if !ok {
		return 0, "", syntaxErr(`not of the form "` + trailerPrefix + `N"`)
	}
	// MaxFileSize bounds the number of keys far below 10^8.
	if len(digits) == 0 || len(digits) > 8 {
		return 0, fieldKeys, syntaxErr("not a count of keys like 3")
	}
	n := 0
	for _, c := range digits {
		if c < '0' || c > '9' {
			return 0, fieldKeys, syntaxErr("not a count of keys like 3")
		}
		n = n*10 + int(c-'0')
	}
	if digits[0] == '0' && len(digits) > 1 {
		return 0, fieldKeys, syntaxErr("not in canonical form (no leading zeros)")
	}
	return n, "", nil
}

func checkHeader(line []byte) error {
	if string(line) == fileHeader {
		return nil
	}
	if bytes.IndexByte(line, '\r') >= 0 {
		return syntaxErr("carriage return (line endings must be \\n alone)")
	}
	if bytes.HasPrefix(line, []byte("satchel-keyring ")) {
		return syntaxErr("unsupported keyring file version (this program reads " + strconv.Quote(fileHeader) + ")")
	}
	return syntaxErr("not a satchel keyring file (the first line must be " + strconv.Quote(fileHeader) + ")")
}

// parseEntry parses one entry line. It returns the name of the field at
// fault with any error; the field name is one of the known names, never
// input bytes.
func parseEntry(line []byte) (Entry, string, error) {
	var e Entry
	if len(line) == 0 {
		return e, "", syntaxErr("blank line (one key per line, no blank lines)")
	}
	if i := bytes.IndexByte(line, '\r'); i >= 0 {
		return e, "", syntaxErr("carriage return (line endings must be \\n alone)")
	}
	if line[0] == '#' {
		return e, "", syntaxErr("comments are not part of the format")
	}
	parts := bytes.Split(line, []byte{' '})
	next := 0 // index into fieldOrder of the next allowed field
	have := [len(fieldOrder)]bool{}
	for pi, p := range parts {
		if len(p) == 0 {
			return e, "", syntaxErr(fmt.Sprintf("empty field %d (fields are separated by exactly one space, with none at the ends)", pi+1))
		}
		name, value, ok := bytes.Cut(p, []byte{'='})
		if !ok {
			return e, "", syntaxErr(fmt.Sprintf("field %d is not of the form name=value", pi+1))
		}
		fi := slices.Index(fieldOrder[:], string(name))
		if fi < 0 {
			return e, "", syntaxErr(fmt.Sprintf("field %d has an unknown name (want secret, state, created, promoted or retired)", pi+1))
		}
		fname := fieldOrder[fi]
		if have[fi] {
			return e, fname, syntaxErr("appears twice")
		}
		if fi < next {
			return e, fname, syntaxErr("out of order (fields go in the order secret, state, created, promoted, retired)")
		}
		if fi > 1 && !have[0] {
			return e, fieldSecret, syntaxErr("missing (every line starts with secret=k4.local.…)")
		}
		if fi > 1 && !have[1] {
			return e, fieldState, syntaxErr("missing (the second field is state=primary, staged or retired)")
		}
		have[fi] = true
		next = fi + 1
		switch fname {
		case fieldSecret:
			k, err := ParseKey(string(value))
			if err != nil {
				// ParseKey's errors never contain the input.
				return e, fname, err
			}
			e.Key = k
		case fieldState:
			s, err := ParseState(string(value))
			if err != nil {
				// ParseState's error quotes the value: keep it out.
				return e, fname, syntaxErr("unknown state (want staged, primary or retired)")
			}
			e.State = s
		default:
			t, err := parseTime(value)
			if err != nil {
				return e, fname, err
			}
			switch fname {
			case fieldCreated:
				e.Created = t
			case fieldPromoted:
				e.Promoted = t
			case fieldRetired:
				e.Retired = t
			}
		}
	}
	if !have[0] {
		return e, fieldSecret, syntaxErr("missing (every line starts with secret=k4.local.…)")
	}
	if !have[1] {
		return e, fieldState, syntaxErr("missing (the second field is state=primary, staged or retired)")
	}
	return e, "", nil
}

// parseTime accepts exactly the text formatTime writes.
func parseTime(b []byte) (time.Time, error) {
	// The longest canonical time is 30 bytes
	// (2006-01-02T15:04:05.999999999Z); refuse anything longer before
	// handing it to the time parser.
	const maxLen = len("2006-01-02T15:04:05.999999999Z")
	if len(b) == 0 {
		return time.Time{}, syntaxErr("empty time (leave the field out when the time is unknown)")
	}
	if len(b) > maxLen {
		return time.Time{}, syntaxErr("not an RFC 3339 UTC time like 2026-11-01T09:00:00Z")
	}
	t, err := time.Parse(time.RFC3339Nano, string(b))
	if err != nil {
		return time.Time{}, syntaxErr("not an RFC 3339 UTC time like 2026-11-01T09:00:00Z")
	}
	if t.IsZero() {
		return time.Time{}, syntaxErr("the zero time (leave the field out when the time is unknown)")
	}
	if string(appendTime(nil, t)) != string(b) {
		return time.Time{}, syntaxErr("not in canonical form (UTC with a Z suffix, no trailing zeros in the fraction, like 2026-11-01T09:00:00Z)")
	}
	return t.UTC(), nil
}

func appendTime(dst []byte, t time.Time) []byte {
	return t.UTC().AppendFormat(dst, time.RFC3339Nano)
}

// FormatFile returns r in the canonical keyring file format that
// [ParseFile] reads: the header line, one line per key in the Ring's
// order, and the end line "end keys=N". The result holds the secret keys:
// write it to a file only readable by its owner.
//
// Times are written in UTC; a zero time is left out. ParseFile of the
// result returns a Ring with the same keys, states and instants (times
// come back in UTC and without a monotonic clock reading). Times outside
// the years 0000 to 9999 cannot be written in RFC 3339 and make ParseFile
// refuse the result. FormatFile returns nil for a nil Ring.
func FormatFile(r *Ring) []byte {
	if r == nil {
		return nil
	}
	b := make([]byte, 0, len(fileHeader)+len(trailerPrefix)+10+r.Len()*200)
	b = append(b, fileHeader...)
	b = append(b, '\n')
	for _, e := range r.entries {
		b = append(b, fieldSecret+"="...)
		b = append(b, e.Key.ExportPASERK()...)
		b = append(b, " "+fieldState+"="...)
		b = append(b, e.State.String()...)
		for _, f := range [...]struct {
			name string
			t    time.Time
		}{{fieldCreated, e.Created}, {fieldPromoted, e.Promoted}, {fieldRetired, e.Retired}} {
			if f.t.IsZero() {
				continue
			}
			b = append(b, ' ')
			b = append(b, f.name...)
			b = append(b, '=')
			b = appendTime(b, f.t)
		}
		b = append(b, '\n')
	}
	b = append(b, trailerPrefix...)
	b = strconv.AppendInt(b, int64(r.Len()), 10)
	b = append(b, '\n')
	return b
}
