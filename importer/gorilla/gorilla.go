// Package gorilla adopts the sessions of an application that used
// gorilla/sessions' CookieStore (or gorilla/securecookie directly), so
// that moving it to satchel logs nobody out.
//
// It lives in its own module, so that satchel's main module never depends
// on gorilla. An [Importer] verifies the legacy cookie with the real
// gorilla/securecookie, configured as the application configured its store:
// the same key pairs in the same order (key rotation lists included), the
// same MaxAge, hash keys for HMAC-SHA256 and optional AES block keys.
// Only a cookie that securecookie itself accepts is adopted. Give the
// Importer to the middleware as its Config.Import: a request that carries
// no satchel session but a gorilla cookie then gets the gorilla values as
// its session, sealed into the satchel cookie in the same response, and the
// gorilla cookie is deleted.
//
// # Gob values
//
// CookieStore encodes Session.Values, a map[interface{}]interface{}, with
// encoding/gob by default. satchel keeps sessions as JSON, so the importer
// converts:
//
//   - Register the types your application stored, with gob.Register, as
//     it already had to for gorilla (gob cannot decode an interface value
//     of an unregistered type). Basic types and slices of them need no
//     registration.
//   - Keys must be strings. Values become their encoding/json form: a
//     struct by its json tags, time.Time as an RFC 3339 string, []byte as
//     base64, map[interface{}]interface{} with string keys as an object,
//     []interface{} (the flashes under "_flash") as an array. Read them
//     back with the middleware's typed getters or Decode into the same
//     struct.
//   - A cookie holding anything that does not convert (a non-string key, a
//     value encoding/json refuses such as NaN or a channel, an
//     unregistered type) is refused whole: never partial data. Set
//     [Options.Convert] to handle such sessions yourself.
//
// [JSON] reads cookies that securecookie wrote with its JSONEncoder. A
// CookieStore cannot use that encoder (encoding/json refuses its
// map[interface{}]interface{}), but applications that called
// securecookie's Encode with their own map or struct can; the value must
// be a JSON object.
//
// # Failures
//
// A forged, expired, truncated or undecodable cookie, and two cookies with
// the session's name, give found=true and an error wrapping [ErrInvalid]
// or [ErrExpired], which never contains the cookie, a key or a value. The
// middleware logs it and serves an empty session.
package gorilla

import (
	"bytes"
	"encoding/gob"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/gorilla/securecookie"

	"satchel.dev/importer/internal/sessionjson"
)

// DefaultMaxAge is gorilla/sessions' default MaxAge: 30 days.
const DefaultMaxAge = 30 * 24 * time.Hour

// Errors wrapped by every error [Importer.Import] returns.
var (
	// ErrInvalid: the cookie is forged, altered, truncated, malformed or
	// cannot be converted; or there are two of them.
	ErrInvalid = errors.New("gorilla: invalid session cookie")
	// ErrExpired: the cookie is authentic but older than MaxAge.
	ErrExpired = errors.New("gorilla: session cookie expired")
)

// Encoding is the serializer the application's securecookie used.
type Encoding int

const (
	// Gob is securecookie's default, and what CookieStore uses.
	Gob Encoding = iota
	// JSON is securecookie's JSONEncoder.
	JSON
)

// KeyPair is one pair of keys as passed to sessions.NewCookieStore or
// securecookie.CodecsFromPairs.
type KeyPair struct {
	// Hash authenticates the cookie (HMAC-SHA256). Required.
	Hash []byte
	// Block encrypts it (AES-128, -192 or -256 by its length), or is nil
	// when the application only signed its cookies.
	Block []byte
}

// Format prints a KeyPair without its keys, whatever the verb. Where fmt
// cannot call it (a KeyPair, or Options, held in an unexported field) it
// prints the fields, keys included: keep the Importer, not its Options.
func (KeyPair) Format(f fmt.State, verb rune) { fmt.Fprint(f, "gorilla.KeyPair{…}") }

// MarshalJSON encodes a KeyPair without its keys, so that encoding/json
// and slog's JSONHandler do not write them as base64. It does not affect
// decoding.
func (KeyPair) MarshalJSON() ([]byte, error) { return []byte(`"gorilla.KeyPair{…}"`), nil }

// Options describe the store whose cookies are adopted.
type Options struct {
	// Keys are the store's key pairs in the order the store had them:
	// sessions.NewCookieStore(hash1, block1, hash2, block2) is
	// []KeyPair{{hash1, block1}, {hash2, block2}}. Each is tried in turn,
	// as securecookie does. At least one is required.
	Keys []KeyPair `json:"-"`

	// CookieName is the session name the application passed to
	// store.Get(r, name). Required.
	CookieName string

	// Encoding is the store's serializer; the zero value is [Gob].
	Encoding Encoding

	// MaxAge is the store's MaxAge (securecookie refuses older cookies).
	// Zero means [DefaultMaxAge]; it must be a positive whole number of
	// seconds: an application whose store had no limit must choose one.
	MaxAge time.Duration

	// Path, Domain, Secure, HttpOnly and SameSite are the store's cookie
	// Options, repeated on the cookie that deletes the legacy one. Path ""
	// means "/".
	Path     string
	Domain   string
	Secure   bool
	HttpOnly bool
	SameSite http.SameSite

	// Convert, when set, turns the decoded gob values into the session's
	// values instead of the conversion described in the package
	// documentation; the values it returns must be JSON-encodable. An
	// error refuses the cookie; its text is logged, so it must hold no
	// value. It must be safe for concurrent use. Ignored for [JSON].
	Convert func(values map[any]any) (map[string]any, error)
}

// Format prints the options without their keys, whatever the verb.
func (o Options) Format(f fmt.State, verb rune) {
	fmt.Fprintf(f, "gorilla.Options{Keys:%d pairs CookieName:%q Encoding:%d MaxAge:%v Path:%q Domain:%q Secure:%v HttpOnly:%v SameSite:%d}",
		len(o.Keys), o.CookieName, o.Encoding, o.MaxAge, o.Path, o.Domain, o.Secure, o.HttpOnly, o.SameSite)
}

// Importer reads gorilla session cookies. It satisfies the middleware's
// Importer interface. It is immutable and safe for concurrent use, and it
// prints without its keys in every format.
type Importer struct {
	codecs   *codecs // the keys, two pointers away
	name     string
	encoding Encoding
	convert  func(map[any]any) (map[string]any, error)
	expire   http.Cookie
}

// codecs holds the securecookie codecs, which hold the keys, one more
// pointer away. Format cannot stop fmt where it walks an Importer's fields
// itself (an Importer held in an unexported field): on a verb that does
// not fit a pointer (%s, %q, %t...) fmt prints the pointer's target one
// level deep, which for a plain slice of codecs was each codec's hash and
// block key; here that level is this struct, whose pointer prints as an
// address only.
type codecs struct {
	list *[]*securecookie.SecureCookie
}

// len is the number of codecs; zero for the zero Importer, which prints.
func (c *codecs) len() int {
	if c == nil {
		return 0
	}
	return len(*c.list)
}

// New returns an Importer for cookies of the store opts describes. It
// returns an error if there is no key pair or no cookie name, a hash key
// is empty, a block key is not 16, 24 or 32 bytes long, MaxAge is not a
// positive whole number of seconds, the encoding is unknown, the cookie
// name, path or domain is not valid in a cookie, or a __Secure- or __Host-
// name lacks the attributes its prefix requires (the legacy cookie could
// not be deleted). Errors never contain keys.
func New(opts Options) (*Importer, error) {
	if len(opts.Keys) == 0 {
		return nil, errors.New("gorilla: no key pairs")
	}
	if opts.CookieName == "" {
		return nil, errors.New("gorilla: CookieName is empty")
	}
	if opts.Encoding != Gob && opts.Encoding != JSON {
		return nil, fmt.Errorf("gorilla: unknown Encoding %d", opts.Encoding)
	}
	maxAge := opts.MaxAge
	if maxAge == 0 {
		maxAge = DefaultMaxAge
	}
	if maxAge < time.Second || maxAge%time.Second != 0 {
		return nil, fmt.Errorf("gorilla: MaxAge %v is not a positive whole number of seconds", opts.MaxAge)
	}
	im := &Importer{name: opts.CookieName, encoding: opts.Encoding, convert: opts.Convert}
	var list []*securecookie.SecureCookie
	for i, kp := range opts.Keys {
		if len(kp.Hash) == 0 {
			return nil, fmt.Errorf("gorilla: key pair %d has no hash key", i+1)
		}
		switch len(kp.Block) {
		case 0, 16, 24, 32:
		default:
			return nil, fmt.Errorf("gorilla: key pair %d: block key is %d bytes, want 16, 24 or 32", i+1, len(kp.Block))
		}
		var block []byte
		if len(kp.Block) > 0 {
			block = bytes.Clone(kp.Block)
		}
		c := securecookie.New(bytes.Clone(kp.Hash), block)
		c.MaxAge(int(maxAge / time.Second))
		c.SetSerializer(rawSerializer{})
		list = append(list, c)
	}
	im.codecs = &codecs{list: &list}
	path := opts.Path
	if path == "" {
		path = "/"
	}
	im.expire = http.Cookie{
		Name:     opts.CookieName,
		Path:     path,
		Domain:   opts.Domain,
		MaxAge:   -1,
		Secure:   opts.Secure,
		HttpOnly: opts.HttpOnly,
		SameSite: opts.SameSite,
	}
	if err := im.expire.Valid(); err != nil {
		// net/http names the field and its value; none of them is secret.
		return nil, fmt.Errorf("gorilla: %w", err)
	}
	if err := prefixRules(opts.CookieName, path, opts.Domain, opts.Secure); err != nil {
		return nil, fmt.Errorf("gorilla: %w", err)
	}
	return im, nil
}

// Format prints the importer's cookie name and never its keys.
func (im Importer) Format(f fmt.State, verb rune) {
	fmt.Fprintf(f, "gorilla.Importer{cookie=%q keys=%d}", im.name, im.codecs.len())
}

// Expire returns the cookie that deletes the gorilla cookie: the same
// name, Path and Domain, MaxAge -1, and the store's other attributes.
func (im *Importer) Expire() *http.Cookie {
	c := im.expire
	return &c
}

// Import reads r's gorilla session cookie. It returns found=false when r
// has none. Otherwise it returns the session's values as json.RawMessage,
// or, when the cookie is forged, expired, unreadable, not convertible or
// duplicated, found=true, nil values and an error wrapping [ErrInvalid] or
// [ErrExpired] that holds no cookie bytes, key or value.
func (im *Importer) Import(r *http.Request) (values map[string]any, found bool, err error) {
	cookies := r.CookiesNamed(im.name)
	switch len(cookies) {
	case 0:
		return nil, false, nil
	case 1:
	default:
		return nil, true, fmt.Errorf("%w: %d cookies named %q", ErrInvalid, len(cookies), im.name)
	}
	values, err = im.open(cookies[0].Value)
	return values, true, err
}

// expiredText is how securecookie v1.1.2 reports an authentic cookie past
// MaxAge (its error value is unexported). TestGorillaExpired pins it.
const expiredText = "securecookie: expired timestamp"

// open verifies tainted with each key pair in turn, as securecookie's
// DecodeMulti does, and converts the payload.
func (im *Importer) open(tainted string) (map[string]any, error) {
	var payload []byte
	expired := false
	ok := false
	for _, c := range *im.codecs.list {
		// securecookie checks the length, the MAC (in constant time),
		// then the timestamp, then decrypts: nothing unauthenticated is
		// decrypted or decoded.
		err := c.Decode(im.name, tainted, &payload)
		if err == nil {
			ok = true
			break
		}
		if err.Error() == expiredText {
			expired = true
		}
	}
	switch {
	case ok:
	case expired:
		return nil, ErrExpired
	default:
		// securecookie's own errors are not passed on: some quote a
		// position in the input, and none helps an operator more.
		return nil, fmt.Errorf("%w: not authentic under any key pair", ErrInvalid)
	}
	if im.encoding == JSON {
		vals, err := sessionjson.Decode(payload)
		if err != nil {
			return nil, fmt.Errorf("%w: JSON payload is not a strict JSON object: %w", ErrInvalid, err)
		}
		return vals, nil
	}
	var decoded map[any]any
	if err := gob.NewDecoder(bytes.NewReader(payload)).Decode(&decoded); err != nil {
		return nil, fmt.Errorf("%w: gob payload cannot be decoded (%s)", ErrInvalid, gobHint(err))
	}
	var vals map[string]any
	if im.convert != nil {
		var err error
		if vals, err = im.convert(decoded); err != nil {
			return nil, fmt.Errorf("%w: Convert: %w", ErrInvalid, err)
		}
	} else {
		var err error
		if vals, err = convert(decoded); err != nil {
			return nil, fmt.Errorf("%w: %w", ErrInvalid, err)
		}
	}
	return sealable(vals)
}

// gobHint describes a gob decoding error for the log. Only the error of an
// unregistered type, which names a type and holds no data, is passed on.
func gobHint(err error) string {
	const unregistered = "not registered for interface"
	if msg := err.Error(); strings.Contains(msg, unregistered) && len(msg) < 200 {
		return msg + "; register the type with gob.Register"
	}
	return "a type the program does not know, or corrupt data"
}

// convert turns gorilla's values into JSON-encodable ones (see the package
// documentation). Errors name the key and the Go type, never a value.
func convert(in map[any]any) (map[string]any, error) {
	out := make(map[string]any, len(in))
	for k, v := range in {
		key, ok := k.(string)
		if !ok {
			return nil, fmt.Errorf("session key of type %T is not a string", k)
		}
		cv, err := convertValue(v, 0)
		if err != nil {
			return nil, fmt.Errorf("value %q: %w", key, err)
		}
		out[key] = cv
	}
	return out, nil
}

// maxDepth bounds the recursion over nested maps and slices; the strict
// reader refuses deeper sessions anyway.
const maxDepth = 32

func convertValue(v any, depth int) (any, error) {
	if depth > maxDepth {
		return nil, errors.New("nested too deep")
	}
	switch v := v.(type) {
	case map[any]any:
		out := make(map[string]any, len(v))
		for k, e := range v {
			key, ok := k.(string)
			if !ok {
				return nil, fmt.Errorf("map key of type %T is not a string", k)
			}
			ce, err := convertValue(e, depth+1)
			if err != nil {
				return nil, err
			}
			out[key] = ce
		}
		return out, nil
	case []any:
		out := make([]any, len(v))
		for i, e := range v {
			ce, err := convertValue(e, depth+1)
			if err != nil {
				return nil, err
			}
			out[i] = ce
		}
		return out, nil
	}
	return v, nil
}

// sealable encodes each value with encoding/json and reads the whole
// session back strictly, so that the middleware can seal what it gets.
func sealable(vals map[string]any) (map[string]any, error) {
	var doc bytes.Buffer
	doc.WriteByte('{')
	first := true
	for k, v := range vals {
		enc, err := json.Marshal(v)
		if err != nil {
			// encoding/json's message may quote the value (NaN, a
			// MarshalJSON error): only the key and type are reported.
			return nil, fmt.Errorf("%w: value %q (%T) cannot be encoded as JSON", ErrInvalid, k, v)
		}
		name, _ := json.Marshal(k)
		if !first {
			doc.WriteByte(',')
		}
		first = false
		doc.Write(name)
		doc.WriteByte(':')
		doc.Write(enc)
	}
	doc.WriteByte('}')
	out, err := sessionjson.Decode(doc.Bytes())
	if err != nil {
		return nil, fmt.Errorf("%w: session breaks the session limits: %w", ErrInvalid, err)
	}
	return out, nil
}

// prefixRules checks what browsers require of a cookie named with a
// __Secure- or __Host- prefix: a browser refuses a deletion that breaks
// them, and the legacy cookie would then stay.
func prefixRules(name, path, domain string, secure bool) error {
	host := len(name) >= 7 && strings.EqualFold(name[:7], "__Host-")
	if (host || len(name) >= 9 && strings.EqualFold(name[:9], "__Secure-")) && !secure {
		return fmt.Errorf("cookie %q needs Secure, as its prefix requires", name)
	}
	if host && (path != "/" || domain != "") {
		return fmt.Errorf("cookie %q needs Path \"/\" and no Domain, as its __Host- prefix requires", name)
	}
	return nil
}

// rawSerializer hands securecookie's verified, decrypted payload over
// as it is; the importer decodes it itself.
type rawSerializer struct{}

func (rawSerializer) Serialize(any) ([]byte, error) {
	return nil, errors.New("gorilla: the importer never writes cookies")
}

func (rawSerializer) Deserialize(src []byte, dst any) error {
	p, ok := dst.(*[]byte)
	if !ok {
		return errors.New("gorilla: internal: unexpected destination")
	}
	*p = append((*p)[:0], src...)
	return nil
}
