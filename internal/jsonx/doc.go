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
