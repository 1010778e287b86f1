package jsonx

import (
	"reflect"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"
)

// field is one struct field the writer encodes directly.
type field struct {
	index     int    // in reflect.Type.Field
	key       []byte // the quoted member name and the colon
	omitEmpty bool
	omitZero  bool
	basic     bool // a boolean, number or string type with no marshaling methods
}

// fieldList is the cached layout of a struct type; list is nil for a type
// the writer leaves to encoding/json. methods reports whether the type or
// its pointer has a marshaling method.
type fieldList struct {
	list    []field
	methods bool
}

// fieldCache maps a struct reflect.Type to its *fieldList. Types are few
// and live as long as the program, as in encoding/json's own cache.
var fieldCache sync.Map

// structFields returns the fields of struct type t as encoding/json names
// them. Its list is nil when t uses something the writer leaves to
// encoding/json: embedded fields (whose promotion rules it does not
// reimplement), the ",string" option, or two fields with the same name.
func structFields(t reflect.Type) *fieldList {
	if f, ok := fieldCache.Load(t); ok {
		return f.(*fieldList)
	}
	fl := computeFields(t)
	if fl == nil {
		fl = &fieldList{} // list nil: use the fallback
	}
	fl.methods = hasMethods(t)
	actual, _ := fieldCache.LoadOrStore(t, fl)
	return actual.(*fieldList)
}

// hasMethods reports whether t or *t has a marshaling method.
func hasMethods(t reflect.Type) bool {
	pt := reflect.PointerTo(t)
	return t.Implements(marshalerType) || t.Implements(textMarshalerType) ||
		pt.Implements(marshalerType) || pt.Implements(textMarshalerType)
}

func computeFields(t reflect.Type) *fieldList {
	fl := &fieldList{list: []field{}}
	seen := map[string]bool{}
	for i := range t.NumField() {
		sf := t.Field(i)
		if sf.Anonymous {
			return nil
		}
		if !sf.IsExported() {
			continue
		}
		tag := sf.Tag.Get("json")
		if tag == "-" {
			continue
		}
		name, opts, _ := strings.Cut(tag, ",")
		if !validTagName(name) {
			name = sf.Name
		}
		f := field{index: i}
		if k := sf.Type.Kind(); (reflect.Bool <= k && k <= reflect.Float64 || k == reflect.String) && !hasMethods(sf.Type) {
			f.basic = true
		}
		for opt := range strings.SplitSeq(opts, ",") {
			switch opt {
			case "omitempty":
				f.omitEmpty = true
			case "omitzero":
				f.omitZero = true
			case "string":
				return nil
			}
		}
		if seen[name] || !utf8.ValidString(name) {
			return nil
		}
		seen[name] = true
		f.key = append(AppendString(nil, name), ':')
		fl.list = append(fl.list, f)
	}
	return fl
}

// validTagName reports whether encoding/json would use name from a tag:
// not empty, and only letters, digits and some punctuation.
func validTagName(name string) bool {
	if name == "" {
		return false
	}
	for _, c := range name {
		switch {
		case strings.ContainsRune("!#$%&()*+-./:;<=>?@[]^_{|}~ ", c):
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		case c > utf8.RuneSelf && (unicode.IsLetter(c) || unicode.IsDigit(c)):
		default:
			return false
		}
	}
	return true
}
