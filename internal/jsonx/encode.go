package jsonx

import (
	"encoding/json"
	"errors"
	"math"
	"slices"
	"strconv"
	"unicode/utf8"
	"unsafe"
)

// Errors returned by the writer.
var (
	// ErrUnsupported is returned for values JSON cannot represent (NaN, ±Inf).
	ErrUnsupported = errors.New("jsonx: value has no JSON representation")
	// ErrInvalidKey is returned for a map key that is not valid UTF-8. A
	// string value is repaired (invalid bytes become U+FFFD, as in
	// encoding/json), but repaired keys could collide and make a document
	// that the strict reader refuses as a duplicate, so keys are refused.
	ErrInvalidKey = errors.New("jsonx: map key is not valid UTF-8")
)

// AppendValue appends the JSON encoding of v to dst. Common session types
// are encoded directly; json.RawMessage is validated strictly and copied;
// other types go through encoding/json. Map keys must be valid UTF-8. Map keys are written in sorted
// order so that equal values encode to equal bytes.
func AppendValue(dst []byte, v any) ([]byte, error) {
	return appendValue(dst, v, 0)
}

// appendValue is AppendValue at a nesting depth. Past DefaultLimits'
// depth it stops with ErrTooDeep: no reader would accept the result, and a
// value that contains itself would otherwise recurse until the stack
// overflows, which kills the process.
func appendValue(dst []byte, v any, depth int) ([]byte, error) {
	switch v.(type) {
	case []any, map[string]any:
		if depth++; depth > DefaultLimits.MaxDepth {
			return dst, ErrTooDeep
		}
	}
	switch v := v.(type) {
	case nil:
		return append(dst, "null"...), nil
	case string:
		return AppendString(dst, v), nil
	case bool:
		return strconv.AppendBool(dst, v), nil
	case int:
		return strconv.AppendInt(dst, int64(v), 10), nil
	case int64:
		return strconv.AppendInt(dst, v, 10), nil
	case int32:
		return strconv.AppendInt(dst, int64(v), 10), nil
	case uint:
		return strconv.AppendUint(dst, uint64(v), 10), nil
	case uint64:
		return strconv.AppendUint(dst, v, 10), nil
	case uint32:
		return strconv.AppendUint(dst, uint64(v), 10), nil
	case float64:
		return appendFloat(dst, v, 64)
	case float32:
		return appendFloat(dst, float64(v), 32)
	case json.RawMessage:
		if err := Valid(unsafe.String(unsafe.SliceData(v), len(v)), DefaultLimits); err != nil {
			return dst, err
		}
		return append(dst, v...), nil
	case json.Number:
		var d Decoder
		d.Reset(string(v), DefaultLimits)
		if _, err := d.number(); err != nil || d.pos != len(v) {
			return dst, ErrSyntax
		}
		return append(dst, v...), nil
	case []string:
		if v == nil {
			return append(dst, "null"...), nil
		}
		dst = append(dst, '[')
		for i, s := range v {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = AppendString(dst, s)
		}
		return append(dst, ']'), nil
	case []any:
		if v == nil {
			return append(dst, "null"...), nil
		}
		dst = append(dst, '[')
		for i, e := range v {
			if i > 0 {
				dst = append(dst, ',')
			}
			var err error
			if dst, err = appendValue(dst, e, depth); err != nil {
				return dst, err
			}
		}
		return append(dst, ']'), nil
	case map[string]any:
		if v == nil {
			return append(dst, "null"...), nil
		}
		return appendMap(dst, v, depth)
	case map[string]string:
		if v == nil {
			return append(dst, "null"...), nil
		}
		keys := sortedKeys(v)
		dst = append(dst, '{')
		for i, k := range keys {
			if !utf8.ValidString(k) {
				return dst, ErrInvalidKey
			}
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = AppendString(dst, k)
			dst = append(dst, ':')
			dst = AppendString(dst, v[k])
		}
		return append(dst, '}'), nil
	}
	b, err := json.Marshal(v)
	if err != nil {
		return dst, err
	}
	// A custom MarshalJSON may emit what the strict reader refuses (a
	// repeated name, say); catch that here rather than sealing it.
	if err := Valid(string(b), DefaultLimits); err != nil {
		return dst, err
	}
	return append(dst, b...), nil
}

func appendMap(dst []byte, m map[string]any, depth int) ([]byte, error) {
	dst = append(dst, '{')
	// Up to 16 keys are sorted in a stack array; larger maps allocate.
	var inline [16]string
	keys := inline[:0]
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for i, k := range keys {
		if !utf8.ValidString(k) {
			return dst, ErrInvalidKey
		}
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = AppendString(dst, k)
		dst = append(dst, ':')
		var err error
		if dst, err = appendValue(dst, m[k], depth); err != nil {
			return dst, err
		}
	}
	return append(dst, '}'), nil
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// appendFloat formats like encoding/json: shortest representation, plain
// notation for 1e-6 <= |f| < 1e21, exponent notation otherwise.
func appendFloat(dst []byte, f float64, bits int) ([]byte, error) {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return dst, ErrUnsupported
	}
	abs := math.Abs(f)
	format := byte('f')
	if abs != 0 {
		if bits == 64 && (abs < 1e-6 || abs >= 1e21) || bits == 32 && (float32(abs) < 1e-6 || float32(abs) >= 1e21) {
			format = 'e'
		}
	}
	dst = strconv.AppendFloat(dst, f, format, -1, bits)
	if format == 'e' {
		// Clean up e-09 to e-9, as encoding/json does.
		n := len(dst)
		if n >= 4 && dst[n-4] == 'e' && dst[n-3] == '-' && dst[n-2] == '0' {
			dst[n-2] = dst[n-1]
			dst = dst[:n-1]
		}
	}
	return dst, nil
}

const hexDigits = "0123456789abcdef"

// AppendString appends s as a JSON string. Control characters, quotes and
// backslashes are escaped, as are U+2028 and U+2029 (which break some
// JavaScript parsers); invalid UTF-8 becomes U+FFFD, as in encoding/json.
func AppendString(dst []byte, s string) []byte {
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			dst = append(dst, s[start:i]...)
			switch c {
			case '"', '\\':
				dst = append(dst, '\\', c)
			case '\n':
				dst = append(dst, '\\', 'n')
			case '\r':
				dst = append(dst, '\\', 'r')
			case '\t':
				dst = append(dst, '\\', 't')
			default:
				dst = append(dst, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xF])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			dst = append(dst, s[start:i]...)
			dst = append(dst, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			dst = append(dst, s[start:i]...)
			dst = append(dst, '\\', 'u', '2', '0', '2', hexDigits[r&0xF])
			i += size
			start = i
			continue
		}
		i += size
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}
