package middleware

import (
	"encoding/json"
	"fmt"
	"math"
	"reflect"
	"slices"
	"strconv"
	"time"

	"satchel.dev/internal/jsonx"
)

// lookup returns the value under key and marks s accessed.
func (s *Session) lookup(key string) (any, bool) {
	s.mu.Lock()
	v, ok := s.vals[key]
	s.accessed = true
	s.mu.Unlock()
	return v, ok
}

// lookupRaw returns the JSON text under key. ok is false when there is
// none, or the value is one Set could not encode.
func (s *Session) lookupRaw(key string) (json.RawMessage, bool) {
	v, ok := s.lookup(key)
	if !ok {
		return nil, false
	}
	raw, ok := v.(json.RawMessage)
	return raw, ok
}

// Get returns the value under key and whether there is one, decoded from
// its JSON into map[string]any, []any, string, bool, nil, int64 for
// integers that fit (so large ids keep every digit) and float64 for other
// numbers. A value reads back the same way in the request that set it and
// in every later one: Set("n", 1) gives int64(1), Set("f", 2.0) gives
// int64(2), since JSON writes 2.0 as 2 (use [Session.GetFloat64] for a
// number that may be whole), and a struct gives map[string]any (use
// [Decode] to get the struct back). Each call returns a fresh copy, so
// changing it changes nothing until it is passed to [Session.Set].
func (s *Session) Get(key string) (any, bool) {
	v, ok := s.lookup(key)
	if !ok {
		return nil, false
	}
	if raw, isRaw := v.(json.RawMessage); isRaw {
		return decodeRaw(raw), true
	}
	return v, true // Set could not encode it; the write will report that
}

func decodeRaw(raw json.RawMessage) any {
	v, err := jsonx.Decode(string(raw), jsonx.DefaultLimits)
	if err != nil {
		// Unreachable for what Open and jsonx.Marshal produce; keep the
		// text rather than invent a value.
		return slices.Clone(raw)
	}
	return v
}

// GetString returns the string under key. ok is false if there is none or
// it is not a string.
func (s *Session) GetString(key string) (v string, ok bool) {
	raw, found := s.lookupRaw(key)
	if !found || len(raw) == 0 || raw[0] != '"' {
		return "", false
	}
	var d jsonx.Decoder
	d.Reset(string(raw), jsonx.DefaultLimits)
	str, err := d.String()
	return str, err == nil
}

// GetInt64 returns the integer under key. ok is false if there is none or
// it is not a number with an integral value that fits in an int64 (so a
// stored 3.0 or 1e3 counts, 2.5 does not).
func (s *Session) GetInt64(key string) (v int64, ok bool) {
	raw, found := s.lookupRaw(key)
	if !found || !isNumber(raw) {
		return 0, false
	}
	if n, err := strconv.ParseInt(string(raw), 10, 64); err == nil {
		return n, true
	}
	f, err := strconv.ParseFloat(string(raw), 64)
	if err != nil || f != math.Trunc(f) || f < math.MinInt64 || f >= math.MaxInt64 {
		return 0, false
	}
	return int64(f), true
}

// GetInt is [Session.GetInt64] for an int: ok is also false when the
// integer does not fit in an int.
func (s *Session) GetInt(key string) (v int, ok bool) {
	n, ok := s.GetInt64(key)
	if !ok || n < math.MinInt || n > math.MaxInt {
		return 0, false
	}
	return int(n), true
}

// GetFloat64 returns the number under key as a float64, whether it is
// written whole (2) or not (2.5). ok is false if there is none or it is
// not a number.
func (s *Session) GetFloat64(key string) (v float64, ok bool) {
	raw, found := s.lookupRaw(key)
	if !found || !isNumber(raw) {
		return 0, false
	}
	f, err := strconv.ParseFloat(string(raw), 64)
	return f, err == nil
}

func isNumber(raw json.RawMessage) bool {
	return len(raw) > 0 && (raw[0] == '-' || '0' <= raw[0] && raw[0] <= '9')
}

// GetBool returns the boolean under key. ok is false if there is none or
// it is not a boolean.
func (s *Session) GetBool(key string) (v bool, ok bool) {
	raw, _ := s.lookupRaw(key)
	switch string(raw) {
	case "true":
		return true, true
	case "false":
		return false, true
	}
	return false, false
}

// GetTime returns the time under key: a [time.Time] given to Set (which
// is stored as an RFC 3339 string) or an RFC 3339 string. ok is false if
// there is none or it is neither.
func (s *Session) GetTime(key string) (v time.Time, ok bool) {
	str, ok := s.GetString(key)
	if !ok {
		return time.Time{}, false
	}
	t, err := time.Parse(time.RFC3339Nano, str)
	return t, err == nil
}

// Decode returns the value under key as a T, decoded from its JSON with
// encoding/json's rules for struct tags and types, but strictly: object
// members match struct fields by their exact name, case included, so
// {"Role":"user","role":"admin"} decodes into a Role field as "user", never
// "admin"; repeated names and invalid UTF-8 are refused. Into any,
// map[string]any and []any it decodes as [Session.Get] does (integers as
// int64); into json.RawMessage it returns a copy of the JSON text. The
// same call gives the same result in the request that set the value and
// in every later one.
//
// Decode returns an error wrapping [ErrNoValue] when the session has no
// value under key, and [ErrType] when the value does not decode into T.
// The error names the key and the type, never the value.
func Decode[T any](s *Session, key string) (T, error) {
	var zero T
	v, ok := s.lookup(key)
	if !ok {
		return zero, fmt.Errorf("%w: %q", ErrNoValue, key)
	}
	raw, isRaw := v.(json.RawMessage)
	if !isRaw {
		// A value Set could not encode: only its own type fits.
		if t, ok := v.(T); ok {
			return t, nil
		}
		return zero, fmt.Errorf("%w: %q holds a %T, which has no JSON form", ErrType, key, v)
	}
	var out T
	if err := jsonx.Unmarshal(raw, &out); err != nil {
		// jsonx's errors never quote the input; this one names only the
		// key and the type all the same.
		return zero, fmt.Errorf("%w: %q does not decode into %v", ErrType, key, reflect.TypeFor[T]())
	}
	return out, nil
}

// Set stores v under key, replacing any value there. v is encoded as JSON
// at once (as encoding/json would, with struct tags, json.Marshaler and
// time.Time as RFC 3339; a json.RawMessage is checked and kept), so later
// changes to v do not reach the session, and [Session.Get] returns the
// decoded form right away, as a later request will see it. A value that
// has no strict JSON form (a func, a channel, NaN, invalid JSON in a
// json.RawMessage) is reported when the cookie is written, through the
// ErrorHandler. Set is safe for concurrent use.
func (s *Session) Set(key string, v any) {
	// Encoded outside the lock; json.Marshaler methods are user code.
	var stored any = v
	if b, err := jsonx.Marshal(v); err == nil {
		stored = json.RawMessage(b)
	}
	s.mu.Lock()
	if s.vals == nil {
		s.vals = make(map[string]any)
	}
	s.vals[key] = stored
	late := s.changed()
	s.mu.Unlock()
	if late {
		s.reportLate("Set", key)
	}
}

// Pop returns the value under key, decoded as [Session.Get] does, and
// removes it, so that it is read once. ok is false if there is none.
func (s *Session) Pop(key string) (v any, ok bool) {
	s.mu.Lock()
	v, ok = s.vals[key]
	s.accessed = true
	late := false
	if ok {
		delete(s.vals, key)
		late = s.changed()
	}
	s.mu.Unlock()
	if late {
		s.reportLate("Pop", key)
	}
	if raw, isRaw := v.(json.RawMessage); isRaw {
		v = decodeRaw(raw)
	}
	return v, ok
}

// Delete removes the value under key, if any.
func (s *Session) Delete(key string) {
	s.mu.Lock()
	_, ok := s.vals[key]
	late := false
	if ok {
		delete(s.vals, key)
		late = s.changed()
	}
	s.mu.Unlock()
	if late {
		s.reportLate("Delete", key)
	}
}

// Clear removes every value but keeps the session id, its subject and any
// flash messages; [Session.Destroy] ends the session. A session left with
// no value, subject or flash message is not stored: the cookie is
// deleted.
func (s *Session) Clear() {
	s.mu.Lock()
	clear(s.vals)
	late := s.changed()
	s.mu.Unlock()
	if late {
		s.reportLate("Clear", "")
	}
}

// Keys returns the keys of the session's values in sorted order. Flash
// messages and the subject are not values and are not listed.
func (s *Session) Keys() []string {
	s.mu.Lock()
	keys := make([]string, 0, len(s.vals))
	for k := range s.vals {
		keys = append(keys, k)
	}
	s.accessed = true
	s.mu.Unlock()
	slices.Sort(keys)
	return keys
}

// Len returns the number of values in the session (flash messages and the
// subject not counted).
func (s *Session) Len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.accessed = true
	return len(s.vals)
}

// Values returns a new map holding every value, decoded as [Session.Get]
// does. Changing the map does not change the session.
func (s *Session) Values() map[string]any {
	s.mu.Lock()
	out := make(map[string]any, len(s.vals))
	for k, v := range s.vals {
		out[k] = v
	}
	s.accessed = true
	s.mu.Unlock()
	for k, v := range out {
		if raw, ok := v.(json.RawMessage); ok {
			out[k] = decodeRaw(raw)
		}
	}
	return out
}
