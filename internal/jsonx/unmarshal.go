package jsonx

import (
	"encoding/json"
	"errors"

	jsonv2 "github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"
	jsonv1 "github.com/go-json-experiment/json/v1"
)

// ErrType is returned by [Unmarshal] for JSON that is well formed but does
// not fit the target type (a string into an int, say). It never holds any
// part of the input.
var ErrType = errors.New("jsonx: value does not fit the target type")

// unmarshalOptions keep encoding/json's semantics for struct tags,
// omitempty, durations and the rest (so that what the writer and
// encoding/json write reads back as before), but with the strict choices:
// member names match struct fields exactly, case included; a repeated name
// and invalid UTF-8 are errors. Values decoded into an interface type
// (any, including inside maps, slices and struct fields) are read as
// [Decoder.Value] reads them, so an integer keeps every digit as an int64.
var unmarshalOptions = jsonv2.JoinOptions(
	jsonv1.DefaultOptionsV1(),
	jsonv2.MatchCaseInsensitiveNames(false),
	jsonv1.MatchCaseSensitiveDelimiter(true),
	jsontext.AllowDuplicateNames(false),
	jsontext.AllowInvalidUTF8(false),
	jsonv2.WithUnmarshalers(jsonv2.UnmarshalFromFunc(unmarshalAny)),
)

// unmarshalAny decodes into an interface value with the reader's own Go
// types (int64 for integers that fit).
func unmarshalAny(dec *jsontext.Decoder, v *any) error {
	raw, err := dec.ReadValue()
	if err != nil {
		return err
	}
	// The whole document passed Valid under the limits already.
	x, err := Decode(string(raw), DefaultLimits)
	if err != nil {
		return err
	}
	*v = x
	return nil
}

// Unmarshal decodes data, one JSON value, into v, which must be a non-nil
// pointer. It is strict where encoding/json is lenient: data must satisfy
// [Valid] under [DefaultLimits] (no repeated member name at any depth,
// valid UTF-8, bounded depth and size), and object members match struct
// fields by exact name, case included, so {"Role":"user","role":"admin"}
// sets a Role field to "user" and ignores "role". Members with no field
// are ignored. A field tagged `case:ignore` (encoding/json/v2's option)
// opts out of the exact match for itself.
//
// Otherwise it follows encoding/json: struct tags, json.Unmarshaler and
// encoding.TextUnmarshaler, time.Time from RFC 3339, []byte from base64.
// Into an interface (any, and any inside maps, slices and structs) it
// decodes as [Decode] does: map[string]any, []any, string, bool, nil,
// int64 for integers that fit and float64 for other numbers.
//
// On failure it returns [ErrSyntax], [ErrDuplicateKey], [ErrTooDeep],
// [ErrTooManyKeys], [ErrNumberRange] or [ErrType], never an error holding
// any part of data; v may then be partly filled. It is safe for concurrent
// use.
func Unmarshal(data []byte, v any) error {
	if err := Valid(string(data), DefaultLimits); err != nil {
		return err
	}
	switch p := v.(type) {
	case *json.RawMessage:
		if p == nil {
			return ErrType
		}
		*p = append((*p)[:0], data...)
		return nil
	}
	if err := jsonv2.Unmarshal(data, v, unmarshalOptions); err != nil {
		return ErrType
	}
	return nil
}
