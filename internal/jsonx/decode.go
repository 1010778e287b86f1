// Package jsonx is satchel's strict, allocation-lean JSON reader and writer.
//
// The reader accepts only RFC 8259 JSON with the I-JSON restrictions that
// matter for parser differentials: no duplicate member names at any level
// (compared after unescaping), valid UTF-8, no lone surrogates, no number
// beyond float64's range, and bounded nesting depth and member count. It
// works on a string and hands back substrings, so reading a claims set
// costs no allocation per value.
//
// The writer ([Writer], [Marshal]) encodes any Go value as encoding/json
// would, with the common session types (strings, numbers, bools, nil,
// []any, map[string]any, json.RawMessage) on a path without reflection,
// structs, typed slices and maps, pointers and time.Time by reflection
// over a cached field list, and the rest through encoding/json. It counts
// depth and items as it writes, so its output always satisfies the
// reader's limits without a second pass.
//
// [Unmarshal] decodes into any Go value with encoding/json's tag rules but
// the reader's strictness, and matches member names case-exactly.
package jsonx

import (
	"errors"
	"strconv"
	"unicode/utf16"
	"unicode/utf8"
)

// Errors returned by the reader. Callers that must not reveal why input was
// refused (the token package) fold them into one opaque error.
var (
	ErrSyntax       = errors.New("jsonx: invalid JSON")
	ErrDuplicateKey = errors.New("jsonx: duplicate object member name")
	ErrTooDeep      = errors.New("jsonx: nesting too deep")
	ErrTooManyKeys  = errors.New("jsonx: too many object members or array elements")
	ErrNumberRange  = errors.New("jsonx: number out of float64 range")
)

// Limits bound the work the reader does on one document.
type Limits struct {
	MaxDepth int // deepest nesting of objects and arrays; the top-level object is depth 1
	MaxItems int // object members plus array elements in the whole document
}

// DefaultLimits suit session cookies: a 4 KiB cookie holds far fewer than
// 1024 items, and nothing a session needs nests 32 deep.
var DefaultLimits = Limits{MaxDepth: 32, MaxItems: 1024}

// Decoder reads one JSON document from a string. The zero value is not
// usable; call [Decoder.Reset]. A Decoder is not safe for concurrent use.
type Decoder struct {
	src   string
	pos   int
	depth int
	items int
	lim   Limits
}

// Reset prepares d to read src under lim.
func (d *Decoder) Reset(src string, lim Limits) {
	*d = Decoder{src: src, lim: lim}
}

// Pos returns the offset of the next unread byte.
func (d *Decoder) Pos() int { return d.pos }

func (d *Decoder) skipSpace() {
	for d.pos < len(d.src) {
		switch d.src[d.pos] {
		case ' ', '\t', '\n', '\r':
			d.pos++
		default:
			return
		}
	}
}

// End checks that only white space is left.
func (d *Decoder) End() error {
	d.skipSpace()
	if d.pos != len(d.src) {
		return ErrSyntax
	}
	return nil
}

func (d *Decoder) enter() error {
	d.depth++
	if d.depth > d.lim.MaxDepth {
		return ErrTooDeep
	}
	return nil
}

func (d *Decoder) countItem() error {
	d.items++
	if d.items > d.lim.MaxItems {
		return ErrTooManyKeys
	}
	return nil
}

// inlineSeen is how many member names an object tracks on the stack before
// it switches to a map for duplicate detection.
const inlineSeen = 16

// Object reads an object and calls each with every member name, unescaped;
// each must consume the member's value with one of the reading methods
// (String, Skip, Value, Object). Duplicate names are an error.
func (d *Decoder) Object(each func(key string) error) error {
	d.skipSpace()
	if d.pos >= len(d.src) || d.src[d.pos] != '{' {
		return ErrSyntax
	}
	if err := d.enter(); err != nil {
		return err
	}
	d.pos++
	var inline [inlineSeen]string
	seen := inline[:0]
	var overflow map[string]struct{}
	d.skipSpace()
	if d.pos < len(d.src) && d.src[d.pos] == '}' {
		d.pos++
		d.depth--
		return nil
	}
	for {
		if err := d.countItem(); err != nil {
			return err
		}
		d.skipSpace()
		key, err := d.String()
		if err != nil {
			return err
		}
		if overflow != nil {
			if _, dup := overflow[key]; dup {
				return ErrDuplicateKey
			}
			overflow[key] = struct{}{}
		} else {
			for _, k := range seen {
				if k == key {
					return ErrDuplicateKey
				}
			}
			if len(seen) < inlineSeen {
				seen = append(seen, key)
			} else {
				overflow = make(map[string]struct{}, 2*inlineSeen)
				for _, k := range seen {
					overflow[k] = struct{}{}
				}
				overflow[key] = struct{}{}
			}
		}
		d.skipSpace()
		if d.pos >= len(d.src) || d.src[d.pos] != ':' {
			return ErrSyntax
		}
		d.pos++
		if err := each(key); err != nil {
			return err
		}
		d.skipSpace()
		if d.pos >= len(d.src) {
			return ErrSyntax
		}
		switch d.src[d.pos] {
		case ',':
			d.pos++
		case '}':
			d.pos++
			d.depth--
			return nil
		default:
			return ErrSyntax
		}
	}
}

// Array reads an array and calls each once per element; each must consume
// the element with one of the reading methods.
func (d *Decoder) Array(each func() error) error {
	d.skipSpace()
	if d.pos >= len(d.src) || d.src[d.pos] != '[' {
		return ErrSyntax
	}
	if err := d.enter(); err != nil {
		return err
	}
	d.pos++
	d.skipSpace()
	if d.pos < len(d.src) && d.src[d.pos] == ']' {
		d.pos++
		d.depth--
		return nil
	}
	for {
		if err := d.countItem(); err != nil {
			return err
		}
		if err := each(); err != nil {
			return err
		}
		d.skipSpace()
		if d.pos >= len(d.src) {
			return ErrSyntax
		}
		switch d.src[d.pos] {
		case ',':
			d.pos++
		case ']':
			d.pos++
			d.depth--
			return nil
		default:
			return ErrSyntax
		}
	}
}

// String reads a string and returns it unescaped. A string without escapes
// is returned as a substring of the source, without allocating.
func (d *Decoder) String() (string, error) {
	d.skipSpace()
	if d.pos >= len(d.src) || d.src[d.pos] != '"' {
		return "", ErrSyntax
	}
	start := d.pos + 1
	for i := start; i < len(d.src); {
		c := d.src[i]
		if plain[c] {
			i++
			continue
		}
		switch {
		case c == '"':
			d.pos = i + 1
			return d.src[start:i], nil
		case c == '\\':
			return d.unescape(start, i)
		case c < 0x20:
			return "", ErrSyntax
		case c < utf8.RuneSelf:
			i++
		default:
			r, size := utf8.DecodeRuneInString(d.src[i:])
			if r == utf8.RuneError && size == 1 {
				return "", ErrSyntax
			}
			i += size
		}
	}
	return "", ErrSyntax
}

// plain marks the bytes a string may hold as they are: printable ASCII but
// the quote and the backslash.
var plain = func() (t [256]bool) {
	for c := 0x20; c < utf8.RuneSelf; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()

// unescape finishes reading a string that has an escape at offset esc.
func (d *Decoder) unescape(start, esc int) (string, error) {
	buf := make([]byte, 0, esc-start+16)
	buf = append(buf, d.src[start:esc]...)
	i := esc
	for i < len(d.src) {
		c := d.src[i]
		switch {
		case c == '"':
			d.pos = i + 1
			return string(buf), nil
		case c == '\\':
			if i+1 >= len(d.src) {
				return "", ErrSyntax
			}
			switch d.src[i+1] {
			case '"', '\\', '/':
				buf = append(buf, d.src[i+1])
			case 'b':
				buf = append(buf, '\b')
			case 'f':
				buf = append(buf, '\f')
			case 'n':
				buf = append(buf, '\n')
			case 'r':
				buf = append(buf, '\r')
			case 't':
				buf = append(buf, '\t')
			case 'u':
				r, n, ok := d.unicodeEscape(i)
				if !ok {
					return "", ErrSyntax
				}
				buf = utf8.AppendRune(buf, r)
				i += n
				continue
			default:
				return "", ErrSyntax
			}
			i += 2
		case c < 0x20:
			return "", ErrSyntax
		case c < utf8.RuneSelf:
			buf = append(buf, c)
			i++
		default:
			r, size := utf8.DecodeRuneInString(d.src[i:])
			if r == utf8.RuneError && size == 1 {
				return "", ErrSyntax
			}
			buf = append(buf, d.src[i:i+size]...)
			i += size
		}
	}
	return "", ErrSyntax
}

// unicodeEscape decodes \uXXXX (or a surrogate pair of them) at offset i
// and returns the rune and the bytes consumed. Lone surrogates are refused.
func (d *Decoder) unicodeEscape(i int) (rune, int, bool) {
	r1, ok := hex4(d.src, i+2)
	if !ok {
		return 0, 0, false
	}
	if !utf16.IsSurrogate(r1) {
		return r1, 6, true
	}
	if r1 >= 0xDC00 || i+12 > len(d.src) || d.src[i+6] != '\\' || d.src[i+7] != 'u' {
		return 0, 0, false
	}
	r2, ok := hex4(d.src, i+8)
	if !ok {
		return 0, 0, false
	}
	r := utf16.DecodeRune(r1, r2)
	if r == utf8.RuneError {
		return 0, 0, false
	}
	return r, 12, true
}

func hex4(s string, i int) (rune, bool) {
	if i+4 > len(s) {
		return 0, false
	}
	var r rune
	for _, c := range []byte(s[i : i+4]) {
		switch {
		case '0' <= c && c <= '9':
			c -= '0'
		case 'a' <= c && c <= 'f':
			c -= 'a' - 10
		case 'A' <= c && c <= 'F':
			c -= 'A' - 10
		default:
			return 0, false
		}
		r = r<<4 | rune(c)
	}
	return r, true
}

// number reads a number and returns its text.
func (d *Decoder) number() (string, error) {
	s, i := d.src, d.pos
	start := i
	if i < len(s) && s[i] == '-' {
		i++
	}
	switch {
	case i < len(s) && s[i] == '0':
		i++
	case i < len(s) && '1' <= s[i] && s[i] <= '9':
		for i < len(s) && '0' <= s[i] && s[i] <= '9' {
			i++
		}
	default:
		return "", ErrSyntax
	}
	if i < len(s) && s[i] == '.' {
		i++
		if i >= len(s) || s[i] < '0' || s[i] > '9' {
			return "", ErrSyntax
		}
		for i < len(s) && '0' <= s[i] && s[i] <= '9' {
			i++
		}
	}
	exponent := i < len(s) && (s[i] == 'e' || s[i] == 'E')
	if exponent {
		i++
		if i < len(s) && (s[i] == '+' || s[i] == '-') {
			i++
		}
		if i >= len(s) || s[i] < '0' || s[i] > '9' {
			return "", ErrSyntax
		}
		for i < len(s) && '0' <= s[i] && s[i] <= '9' {
			i++
		}
	}
	text := s[start:i]
	// A number beyond float64's range (1e400) is valid JSON that no Go
	// decoder can hold: encoding/json and Value both refuse it. Refusing it
	// here too keeps validation and decoding in agreement, so a value
	// that passes Valid always decodes. Only an exponent or a long literal
	// can reach that range, so common numbers skip the parse.
	if exponent || len(text) >= longNumber {
		if _, err := strconv.ParseFloat(text, 64); err != nil {
			return "", ErrNumberRange
		}
	}
	d.pos = i
	return text, nil
}

// longNumber is the length from which a number without an exponent may
// exceed float64's range: the largest float64 is about 1.8e308, 309 integer
// digits, so every shorter literal is below 1e308.
const longNumber = 309

func (d *Decoder) literal(word string) error {
	if len(d.src)-d.pos < len(word) || d.src[d.pos:d.pos+len(word)] != word {
		return ErrSyntax
	}
	d.pos += len(word)
	return nil
}

// Skip reads and validates one value of any kind and returns the offsets
// of its raw text in the source (without surrounding white space).
func (d *Decoder) Skip() (start, end int, err error) {
	d.skipSpace()
	start = d.pos
	if err := d.skip(); err != nil {
		return 0, 0, err
	}
	return start, d.pos, nil
}

func (d *Decoder) skip() error {
	if d.pos >= len(d.src) {
		return ErrSyntax
	}
	switch c := d.src[d.pos]; {
	case c == '{':
		return d.Object(func(string) error { d.skipSpace(); return d.skip() })
	case c == '[':
		return d.Array(func() error { d.skipSpace(); return d.skip() })
	case c == '"':
		_, err := d.String()
		return err
	case c == 't':
		return d.literal("true")
	case c == 'f':
		return d.literal("false")
	case c == 'n':
		return d.literal("null")
	case c == '-' || ('0' <= c && c <= '9'):
		_, err := d.number()
		return err
	}
	return ErrSyntax
}

// Value reads one value into Go types: map[string]any, []any, string,
// bool, nil, and for numbers int64 when the literal is an integer that fits
// (so 9007199254740993 survives exactly) and float64 otherwise.
func (d *Decoder) Value() (any, error) {
	d.skipSpace()
	if d.pos >= len(d.src) {
		return nil, ErrSyntax
	}
	switch c := d.src[d.pos]; {
	case c == '{':
		m := map[string]any{}
		err := d.Object(func(key string) error {
			v, err := d.Value()
			m[key] = v
			return err
		})
		return m, err
	case c == '[':
		a := []any{}
		err := d.Array(func() error {
			v, err := d.Value()
			a = append(a, v)
			return err
		})
		return a, err
	case c == '"':
		return d.String()
	case c == 't':
		return true, d.literal("true")
	case c == 'f':
		return false, d.literal("false")
	case c == 'n':
		return nil, d.literal("null")
	case c == '-' || ('0' <= c && c <= '9'):
		text, err := d.number()
		if err != nil {
			return nil, err
		}
		if n, err := strconv.ParseInt(text, 10, 64); err == nil {
			return n, nil
		}
		f, err := strconv.ParseFloat(text, 64)
		if err != nil {
			// Unreachable: number refused what is out of range. Kept so
			// that a change there cannot turn into a silent +Inf here.
			return nil, ErrNumberRange
		}
		return f, nil
	}
	return nil, ErrSyntax
}

// Valid reports whether src is exactly one valid JSON value under lim,
// with nothing but white space around it.
func Valid(src string, lim Limits) error {
	var d Decoder
	d.Reset(src, lim)
	if err := d.skip0(); err != nil {
		return err
	}
	return d.End()
}

// CheckValue validates src, one value nested depth levels deep in a larger
// document, against the limits and the item count that d has accumulated
// so far (see [Decoder.AddItems]). It lets a writer validate the values it
// assembles one by one, with the limits of the whole document, in one pass.
func (d *Decoder) CheckValue(src string, depth int) error {
	d.src, d.pos, d.depth = src, 0, depth
	if err := d.skip0(); err != nil {
		return err
	}
	return d.End()
}

// AddItems counts n members or elements that the caller wrote around the
// values it checks.
func (d *Decoder) AddItems(n int) error {
	d.items += n
	if d.items > d.lim.MaxItems {
		return ErrTooManyKeys
	}
	return nil
}

func (d *Decoder) skip0() error {
	d.skipSpace()
	return d.skip()
}

// Decode parses src, one JSON value, into Go types as [Decoder.Value] does.
func Decode(src string, lim Limits) (any, error) {
	var d Decoder
	d.Reset(src, lim)
	v, err := d.Value()
	if err != nil {
		return nil, err
	}
	if err := d.End(); err != nil {
		return nil, err
	}
	return v, nil
}
