package jsonx

import (
	"encoding"
	"encoding/base64"
	"encoding/json"
	"errors"
	"math"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
	"unsafe"
)

// Errors returned by the writer.
var (
	// ErrUnsupported is returned for values JSON cannot represent: NaN and
	// ±Inf, channels, functions, complex numbers.
	ErrUnsupported = errors.New("jsonx: value has no JSON representation")
	// ErrInvalidKey is returned for a map key that is not valid UTF-8. A
	// string value is repaired (invalid bytes become U+FFFD, as in
	// encoding/json), but repaired keys could collide and make a document
	// that the strict reader refuses as a duplicate, so keys are refused.
	ErrInvalidKey = errors.New("jsonx: map key is not valid UTF-8")
)

// Marshal returns the JSON encoding of v under [DefaultLimits], as
// [Writer.Append] writes it. The result is always accepted by [Valid] and
// [Unmarshal]. On failure it returns nil and an error that never holds
// any part of v.
func Marshal(v any) ([]byte, error) {
	b, err := AppendValue(nil, v)
	if err != nil {
		return nil, err
	}
	return b, nil
}

// AppendValue appends the JSON encoding of v to dst under [DefaultLimits];
// see [Writer.Append].
func AppendValue(dst []byte, v any) ([]byte, error) {
	var w Writer
	w.Reset(DefaultLimits)
	return w.Append(dst, v, 0)
}

// Writer encodes Go values as JSON that the strict reader accepts, and
// counts the nesting and the items it writes against one budget of
// [Limits], so that a caller assembling a document from many values (the
// token's claims) knows the whole document is within the limits without
// reading it again. The zero value is not usable; call [Writer.Reset]. A
// Writer is not safe for concurrent use.
type Writer struct {
	d    Decoder // checks raw JSON (json.RawMessage, MarshalJSON) and holds the item count
	hops int     // pointer and interface indirections on the current path
}

// Reset prepares w for a new document under lim.
func (w *Writer) Reset(lim Limits) {
	w.d.Reset("", lim)
	w.hops = 0
}

// AddItems counts n members or elements the caller writes around the
// values; it returns [ErrTooManyKeys] once the budget is exceeded.
func (w *Writer) AddItems(n int) error { return w.d.AddItems(n) }

// AppendRaw validates raw, one JSON value nested depth levels deep, and
// appends it unchanged. Its members and elements count against the budget.
func (w *Writer) AppendRaw(dst []byte, raw []byte, depth int) ([]byte, error) {
	if err := w.d.CheckValue(bytesView(raw), depth); err != nil {
		return dst, err
	}
	return append(dst, raw...), nil
}

// bytesView returns the bytes of b as a string without copying them, for
// reading only while b is not written. CheckValue keeps no part of its
// input. string(raw) would copy every value longer than 32 bytes: Seal of
// the typical payload as raw values (an opened session written back) made
// 8 allocations instead of 2 (BenchmarkSealTyped/p=typical/v=raw, Go 1.26,
// 976 vs 736 B/op; large 9 vs 2 allocs, 7041 vs 4128 B/op).
func bytesView(b []byte) string {
	return unsafe.String(unsafe.SliceData(b), len(b))
}

// Append appends the JSON encoding of v, a value nested depth levels deep
// in the document, to dst.
//
// Strings, numbers, booleans, nil, slices, arrays, maps with string keys,
// pointers, interfaces, structs (with encoding/json's field tags: names,
// "-", omitempty, omitzero), time.Time (RFC 3339 with nanoseconds) and
// []byte (standard base64) are encoded directly, with encoding/json's
// output for those types except that <, > and & are not escaped and map
// keys are sorted. json.RawMessage is validated and copied as it is (so
// a value Open returned is sealed again byte for byte); json.Marshaler and
// encoding.TextMarshaler are honoured, and a MarshalJSON result is
// validated and compacted. Other types (structs with embedded
// fields or the ",string" option, maps with other keys) go through
// encoding/json and are validated.
//
// Append refuses NaN and ±Inf, map keys that are not valid UTF-8, and
// anything past the limits (a value that contains itself among them). A
// string value that is not valid UTF-8 is repaired as encoding/json does.
// On error dst may hold a partial value; the error never holds any part
// of v.
func (w *Writer) Append(dst []byte, v any, depth int) ([]byte, error) {
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
	case float64:
		return appendFloat(dst, v, 64)
	case json.RawMessage:
		if v == nil {
			return append(dst, "null"...), nil
		}
		return w.AppendRaw(dst, v, depth)
	case []string:
		return appendList(w, dst, v, depth)
	case []any:
		return appendList(w, dst, v, depth)
	case map[string]any:
		return appendObject(w, dst, v, depth)
	case map[string]string:
		return appendObject(w, dst, v, depth)
	case time.Time:
		return appendTime(dst, v)
	case []map[string]any:
		return appendList(w, dst, v, depth)
	}
	return w.appendReflect(dst, reflect.ValueOf(v), depth)
}

// appendList writes a []string, []any or []map[string]any as a JSON
// array (null when nil), each element one level deeper.
func appendList[E any](w *Writer, dst []byte, v []E, depth int) ([]byte, error) {
	if v == nil {
		return append(dst, "null"...), nil
	}
	if err := w.open(depth, len(v)); err != nil {
		return dst, err
	}
	dst = append(dst, '[')
	for i, e := range v {
		if i > 0 {
			dst = append(dst, ',')
		}
		var err error
		if dst, err = appendItem(w, dst, e, depth+1); err != nil {
			return dst, err
		}
	}
	return append(dst, ']'), nil
}

// appendObject writes a map[string]any or map[string]string as a JSON
// object in sorted key order (null when nil), each value one level deeper.
func appendObject[V any](w *Writer, dst []byte, m map[string]V, depth int) ([]byte, error) {
	if m == nil {
		return append(dst, "null"...), nil
	}
	if err := w.open(depth, len(m)); err != nil {
		return dst, err
	}
	var inline [16]string
	keys := SortedKeys(inline[:0], m)
	dst = append(dst, '{')
	for i, k := range keys {
		var err error
		if dst, err = AppendKey(dst, k, i); err != nil {
			return dst, err
		}
		if dst, err = appendItem(w, dst, m[k], depth+1); err != nil {
			return dst, err
		}
	}
	return append(dst, '}'), nil
}

// appendItem writes one element or member value of appendList or
// appendObject: a string directly, anything else (an interface or a map,
// which convert to any without allocating) through Append. It calls
// Append rather than taking the writer as a callback: a function value
// that receives w would make every caller's Writer escape to the heap
// (one more allocation per Seal).
func appendItem[T any](w *Writer, dst []byte, v T, depth int) ([]byte, error) {
	if s, ok := any(v).(string); ok {
		return AppendString(dst, s), nil
	}
	return w.Append(dst, any(v), depth)
}

// open counts one object or array with n members at depth.
func (w *Writer) open(depth, n int) error {
	if depth+1 > w.d.lim.MaxDepth {
		return ErrTooDeep
	}
	return w.d.AddItems(n)
}

// SortedKeys appends the keys of m to keys, sorts them and returns the
// result; pass a slice over a stack array to sort small maps without an
// allocation.
func SortedKeys[V any](keys []string, m map[string]V) []string {
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// AppendKey writes the i-th member name of an object, with the comma
// before it (i > 0) and the colon after it. It returns [ErrInvalidKey],
// and dst unchanged, for a name that is not valid UTF-8: repaired names
// could collide.
func AppendKey(dst []byte, k string, i int) ([]byte, error) {
	if !utf8.ValidString(k) {
		return dst, ErrInvalidKey
	}
	if i > 0 {
		dst = append(dst, ',')
	}
	dst = AppendString(dst, k)
	return append(dst, ':'), nil
}

// appendTime writes t as encoding/json does (RFC 3339 with nanoseconds,
// through the same strict formatter), and refuses what encoding/json
// refuses: a year outside 0000 to 9999, or a zone offset of 24 hours or
// more, which RFC 3339 cannot write and time.Parse would not read back.
func appendTime(dst []byte, t time.Time) ([]byte, error) {
	out, err := t.AppendText(append(dst, '"'))
	if err != nil {
		// AppendText returns nil on error: dst is still what it was.
		return dst, ErrUnsupported
	}
	return append(out, '"'), nil
}

var (
	marshalerType     = reflect.TypeFor[json.Marshaler]()
	textMarshalerType = reflect.TypeFor[encoding.TextMarshaler]()
	timeType          = reflect.TypeFor[time.Time]()
	rawType           = reflect.TypeFor[json.RawMessage]()
	numberType        = reflect.TypeFor[json.Number]()
)

// maxHops bounds pointer and interface indirections on one path, which
// add no nesting to the output: a pointer that points to itself would
// otherwise recurse until the stack overflows.
const maxHops = 256

func (w *Writer) appendReflect(dst []byte, v reflect.Value, depth int) ([]byte, error) {
	if !v.IsValid() {
		return append(dst, "null"...), nil
	}
	t := v.Type()
	if k := t.Kind(); (reflect.Bool <= k && k <= reflect.Float64 || k == reflect.String) && t.PkgPath() == "" {
		// A predeclared type (int, string...): no methods to honour.
		return appendBasic(dst, v)
	}
	switch t.Kind() {
	case reflect.Struct:
		if fl := structFields(t); !fl.methods && fl.list != nil {
			return w.appendStruct(dst, v, fl.list, depth)
		}
	case reflect.Map:
		// The common map types have no methods: straight to the type
		// switch (a map is a pointer, so this conversion does not
		// allocate).
		if v.CanInterface() {
			switch m := v.Interface().(type) {
			case map[string]any, map[string]string:
				return w.Append(dst, m, depth)
			}
		}
	}
	switch t {
	case timeType:
		return appendTime(dst, v.Interface().(time.Time))
	case rawType:
		if v.IsNil() {
			return append(dst, "null"...), nil
		}
		return w.AppendRaw(dst, v.Bytes(), depth)
	case numberType:
		return appendNumber(dst, v.String())
	}
	// Methods first, as encoding/json does: a value method, or a pointer
	// method when the value is addressable.
	if t.Kind() != reflect.Pointer && t.Kind() != reflect.Interface {
		if v.CanAddr() && !t.Implements(marshalerType) && !t.Implements(textMarshalerType) {
			if pt := reflect.PointerTo(t); pt.Implements(marshalerType) || pt.Implements(textMarshalerType) {
				v = v.Addr()
				t = pt
			}
		}
	}
	if t.Implements(marshalerType) {
		if isNilRef(v) {
			return append(dst, "null"...), nil
		}
		b, err := v.Interface().(json.Marshaler).MarshalJSON()
		if err != nil {
			return dst, ErrUnsupported
		}
		if err := w.d.CheckValue(bytesView(b), depth); err != nil {
			return dst, err
		}
		return appendCompact(dst, b), nil
	}
	if t.Implements(textMarshalerType) {
		if isNilRef(v) {
			return append(dst, "null"...), nil
		}
		b, err := v.Interface().(encoding.TextMarshaler).MarshalText()
		if err != nil {
			return dst, ErrUnsupported
		}
		return AppendString(dst, string(b)), nil
	}

	switch t.Kind() {
	case reflect.Bool, reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr,
		reflect.Float32, reflect.Float64, reflect.String:
		return appendBasic(dst, v)
	case reflect.Pointer, reflect.Interface:
		if v.IsNil() {
			return append(dst, "null"...), nil
		}
		if w.hops++; w.hops > maxHops {
			return dst, ErrTooDeep
		}
		var err error
		if t.Kind() == reflect.Interface {
			// Back to the type switch: an any in a struct field is often
			// one of the common types.
			dst, err = w.Append(dst, v.Elem().Interface(), depth)
		} else {
			dst, err = w.appendReflect(dst, v.Elem(), depth)
		}
		w.hops--
		return dst, err
	case reflect.Slice:
		if v.IsNil() {
			return append(dst, "null"...), nil
		}
		if t.Elem().Kind() == reflect.Uint8 && !reflect.PointerTo(t.Elem()).Implements(marshalerType) && !reflect.PointerTo(t.Elem()).Implements(textMarshalerType) {
			dst = append(dst, '"')
			dst = base64.StdEncoding.AppendEncode(dst, v.Bytes())
			return append(dst, '"'), nil
		}
		return w.appendArray(dst, v, depth)
	case reflect.Array:
		return w.appendArray(dst, v, depth)
	case reflect.Map:
		if t.Key().Kind() != reflect.String || t.Key().Implements(textMarshalerType) {
			return w.appendFallback(dst, v, depth)
		}
		if v.IsNil() {
			return append(dst, "null"...), nil
		}
		return w.appendMap(dst, v, depth)
	case reflect.Struct:
		fields := structFields(t)
		if fields.list == nil {
			return w.appendFallback(dst, v, depth)
		}
		return w.appendStruct(dst, v, fields.list, depth)
	}
	// Channels, functions, complex numbers, unsafe pointers.
	return dst, ErrUnsupported
}

// appendBasic writes a boolean, number or string held in v.
func appendBasic(dst []byte, v reflect.Value) ([]byte, error) {
	switch v.Kind() {
	case reflect.Bool:
		return strconv.AppendBool(dst, v.Bool()), nil
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return strconv.AppendInt(dst, v.Int(), 10), nil
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return strconv.AppendUint(dst, v.Uint(), 10), nil
	case reflect.Float32:
		return appendFloat(dst, v.Float(), 32)
	case reflect.Float64:
		return appendFloat(dst, v.Float(), 64)
	}
	return AppendString(dst, v.String()), nil
}

// isNilRef reports whether v is a nil pointer or a nil interface, which
// encoding/json writes as null rather than calling a method on it.
func isNilRef(v reflect.Value) bool {
	k := v.Kind()
	return (k == reflect.Pointer || k == reflect.Interface) && v.IsNil()
}

func (w *Writer) appendArray(dst []byte, v reflect.Value, depth int) ([]byte, error) {
	n := v.Len()
	if err := w.open(depth, n); err != nil {
		return dst, err
	}
	dst = append(dst, '[')
	for i := range n {
		if i > 0 {
			dst = append(dst, ',')
		}
		var err error
		if dst, err = w.appendReflect(dst, v.Index(i), depth+1); err != nil {
			return dst, err
		}
	}
	return append(dst, ']'), nil
}

// appendMap writes a map with string keys in sorted key order. Keys and
// values are copied out of the map through two reused reflect.Values and
// one slice, not one allocation per entry.
func (w *Writer) appendMap(dst []byte, v reflect.Value, depth int) ([]byte, error) {
	// map[string]any and map[string]string never get here: appendReflect
	// sends them to the type switch first.
	n := v.Len()
	if err := w.open(depth, n); err != nil {
		return dst, err
	}
	type entry struct {
		k string
		i int
	}
	var inline [16]entry
	entries := inline[:0]
	t := v.Type()
	// Map values are not addressable, so encoding/json never calls a
	// pointer method on them or on what they hold by value. The copies
	// in vals are addressable; types where that would make a difference
	// take one non-addressable copy per entry instead.
	elem := t.Elem()
	copied := elem.Kind() != reflect.Struct && elem.Kind() != reflect.Array && !pointerMethods(elem)
	var vals reflect.Value
	if copied {
		vals = reflect.MakeSlice(reflect.SliceOf(elem), n, n)
	}
	key := reflect.New(t.Key()).Elem()
	var it reflect.MapIter
	it.Reset(v)
	for i := 0; it.Next() && i < n; i++ {
		key.SetIterKey(&it)
		if copied {
			vals.Index(i).SetIterValue(&it)
		}
		entries = append(entries, entry{key.String(), i})
	}
	slices.SortFunc(entries, func(a, b entry) int { return strings.Compare(a.k, b.k) })
	dst = append(dst, '{')
	for i, e := range entries {
		var err error
		if dst, err = AppendKey(dst, e.k, i); err != nil {
			return dst, err
		}
		var ev reflect.Value
		if copied {
			ev = vals.Index(e.i)
		} else {
			key.SetString(e.k)
			ev = v.MapIndex(key)
		}
		if dst, err = w.appendReflect(dst, ev, depth+1); err != nil {
			return dst, err
		}
	}
	return append(dst, '}'), nil
}

func (w *Writer) appendStruct(dst []byte, v reflect.Value, fields []field, depth int) ([]byte, error) {
	if depth+1 > w.d.lim.MaxDepth {
		return dst, ErrTooDeep
	}
	dst = append(dst, '{')
	n := 0
	for i := range fields {
		f := &fields[i]
		fv := v.Field(f.index)
		if f.omitEmpty && isEmpty(fv) || f.omitZero && isZero(fv) {
			continue
		}
		if err := w.d.AddItems(1); err != nil {
			return dst, err
		}
		if n > 0 {
			dst = append(dst, ',')
		}
		n++
		dst = append(dst, f.key...)
		var err error
		if f.basic {
			dst, err = appendBasic(dst, fv)
		} else {
			dst, err = w.appendReflect(dst, fv, depth+1)
		}
		if err != nil {
			return dst, err
		}
	}
	return append(dst, '}'), nil
}

// appendFallback encodes v with encoding/json and checks the result.
func (w *Writer) appendFallback(dst []byte, v reflect.Value, depth int) ([]byte, error) {
	b, err := json.Marshal(v.Interface())
	if err != nil {
		return dst, ErrUnsupported
	}
	return w.AppendRaw(dst, b, depth)
}

// pointerMethods reports whether only *t, not t, has a marshaling method.
func pointerMethods(t reflect.Type) bool {
	pt := reflect.PointerTo(t)
	return !t.Implements(marshalerType) && !t.Implements(textMarshalerType) &&
		(pt.Implements(marshalerType) || pt.Implements(textMarshalerType))
}

// appendCompact appends valid JSON without the white space between
// tokens, as encoding/json does with MarshalJSON output.
func appendCompact(dst, src []byte) []byte {
	inString := false
	for i := 0; i < len(src); i++ {
		c := src[i]
		switch {
		case inString:
			dst = append(dst, c)
			if c == '\\' {
				i++
				dst = append(dst, src[i])
			} else if c == '"' {
				inString = false
			}
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
		default:
			inString = c == '"'
			dst = append(dst, c)
		}
	}
	return dst
}

// appendNumber writes a json.Number after checking it is a JSON number
// (an empty one is refused, where encoding/json would write 0).
func appendNumber(dst []byte, s string) ([]byte, error) {
	var d Decoder
	d.Reset(s, DefaultLimits)
	if _, err := d.number(); err != nil || d.pos != len(s) {
		return dst, ErrSyntax
	}
	return append(dst, s...), nil
}

// isEmpty is encoding/json's omitempty test.
func isEmpty(v reflect.Value) bool {
	switch v.Kind() {
	case reflect.Array, reflect.Map, reflect.Slice, reflect.String:
		return v.Len() == 0
	case reflect.Bool, reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr,
		reflect.Float32, reflect.Float64, reflect.Interface, reflect.Pointer:
		return v.IsZero()
	}
	return false
}

// isZero is encoding/json's omitzero test: an IsZero() bool method if the
// type has one, the zero value otherwise.
func isZero(v reflect.Value) bool {
	if z, ok := v.Interface().(interface{ IsZero() bool }); ok {
		if v.Kind() == reflect.Pointer && v.IsNil() {
			return true
		}
		return z.IsZero()
	}
	if v.CanAddr() {
		if z, ok := v.Addr().Interface().(interface{ IsZero() bool }); ok {
			return z.IsZero()
		}
	}
	return v.IsZero()
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

// AppendString appends s as a JSON string, as encoding/json writes it
// without HTML escaping: control characters, quotes and backslashes are
// escaped (\b \f \n \r \t by name), as are U+2028 and U+2029 (which break
// some JavaScript parsers); invalid UTF-8 becomes U+FFFD.
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
			case '\b':
				dst = append(dst, '\\', 'b')
			case '\f':
				dst = append(dst, '\\', 'f')
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
