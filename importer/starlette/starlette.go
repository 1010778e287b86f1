// Package starlette adopts the sessions of a Starlette or FastAPI
// application's SessionMiddleware, so that moving that application to
// satchel logs nobody out.
//
// Starlette keeps the whole session in its cookie, signed but not
// encrypted: the value is
//
//	base64(json.dumps(session)) "." base64url(timestamp) "." base64url(HMAC-SHA1)
//
// written by itsdangerous's TimestampSigner with the application's
// secret_key (key derivation "django-concat", salt "itsdangerous.Signer").
// An [Importer] verifies such a cookie with the standard library alone and,
// when it is authentic and younger than max_age, returns its values. Give
// it to the middleware as its Config.Import: a request that carries no
// satchel session but a Starlette cookie then gets the Starlette values as
// its session, sealed into the satchel cookie in the same response, and the
// Starlette cookie is deleted.
//
// # What is accepted
//
// Only what Starlette itself would accept: a signature made with the
// secret key, a timestamp no older than [Options.MaxAge] and not in the
// future (itsdangerous has no clock-skew allowance either), and a payload
// that is base64 of a JSON object. The importer is stricter than
// itsdangerous where a cookie that Starlette never writes is concerned:
// encodings must be canonical, the JSON must be valid UTF-8 without
// repeated names or NaN, and two cookies with the session's name are
// refused rather than letting the last one win. A payload that is signed
// but not base64 JSON, on which Starlette answers 500, is an error here.
//
// Every refusal is an error that wraps [ErrInvalid] or [ErrExpired] and
// never contains the cookie, the key or a session value; the middleware
// logs it and serves an empty session.
package starlette

import (
	"crypto/hmac"
	"crypto/sha1"
	"encoding/base64"
	"errors"
	"fmt"
	"math"
	"net/http"
	"strings"
	"time"

	"satchel.dev/importer/internal/sessionjson"
)

// Defaults of Starlette's SessionMiddleware that a zero [Options] stands for.
const (
	DefaultCookieName = "session"
	DefaultMaxAge     = 14 * 24 * time.Hour
)

// MaxCookieSize bounds the cookie value the importer reads: 4096 bytes,
// more than a browser stores for a whole cookie. A longer value is refused
// before anything is decoded.
const MaxCookieSize = 4096

// Errors wrapped by every error [Importer.Import] returns.
var (
	// ErrInvalid: the cookie is forged, altered, truncated, malformed, or
	// not a JSON object once verified; or there are two of them.
	ErrInvalid = errors.New("starlette: invalid session cookie")
	// ErrExpired: the cookie is authentic but older than MaxAge, or signed
	// in the future.
	ErrExpired = errors.New("starlette: session cookie expired")
)

// Options describe the SessionMiddleware whose cookies are adopted. Each
// field mirrors one of its parameters.
type Options struct {
	// SecretKey is the application's secret_key, exactly as the string
	// Starlette was given. Required.
	SecretKey string `json:"-"`

	// CookieName is session_cookie. Empty means "session".
	CookieName string

	// MaxAge is max_age: a cookie signed longer ago is refused. Zero means
	// 14 days, Starlette's default. It must be a whole number of seconds,
	// at least one. An application that ran with max_age=None (no limit)
	// must choose one here: the importer never adopts a cookie of any age.
	MaxAge time.Duration

	// Path and Domain are the cookie's attributes (path and domain in
	// Starlette; Path "" means "/"), used to delete it.
	Path   string
	Domain string

	// HTTPSOnly and SameSite are https_only and same_site (zero means
	// Lax), repeated on the cookie that deletes the legacy one.
	HTTPSOnly bool
	SameSite  http.SameSite

	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// Format prints the options without SecretKey, whatever the verb. Where
// fmt cannot call it (Options held in an unexported field) it prints the
// fields, SecretKey included: keep the Importer, not its Options.
func (o Options) Format(f fmt.State, verb rune) {
	fmt.Fprintf(f, "starlette.Options{CookieName:%q MaxAge:%v Path:%q Domain:%q HTTPSOnly:%v SameSite:%d}",
		o.CookieName, o.MaxAge, o.Path, o.Domain, o.HTTPSOnly, o.SameSite)
}

// Importer reads Starlette session cookies. It satisfies the middleware's
// Importer interface. It is immutable and safe for concurrent use, and it
// prints without its key in every format.
type Importer struct {
	key      *signingKey // the derived signing key, two pointers away
	name     string
	maxAge   int64 // seconds
	path     string
	domain   string
	secure   bool
	sameSite http.SameSite
	now      func() time.Time
}

// signingKey holds the derived key one more pointer away. Format cannot
// stop fmt where it walks an Importer's fields itself (an Importer held in
// an unexported field): there a plain array prints its bytes, and on a
// verb that does not fit a pointer fmt prints the pointer's target one
// level deep, where this second pointer prints as an address only.
type signingKey struct {
	k *[sha1.Size]byte
}

// New returns an Importer for cookies signed with opts.SecretKey. It
// returns an error if the key is empty, MaxAge is not a positive whole
// number of seconds, the cookie name, path or domain is not valid in a
// cookie, or a __Secure- or __Host- name lacks the attributes its prefix
// requires (the legacy cookie could not be deleted). Errors never contain
// the key.
func New(opts Options) (*Importer, error) {
	if opts.SecretKey == "" {
		return nil, errors.New("starlette: SecretKey is empty")
	}
	im := &Importer{
		name:     opts.CookieName,
		path:     opts.Path,
		domain:   opts.Domain,
		secure:   opts.HTTPSOnly,
		sameSite: opts.SameSite,
		now:      opts.Now,
	}
	if im.name == "" {
		im.name = DefaultCookieName
	}
	if im.path == "" {
		im.path = "/"
	}
	if im.sameSite == 0 {
		im.sameSite = http.SameSiteLaxMode
	}
	if im.now == nil {
		im.now = time.Now
	}
	maxAge := opts.MaxAge
	if maxAge == 0 {
		maxAge = DefaultMaxAge
	}
	if maxAge < time.Second || maxAge%time.Second != 0 {
		return nil, fmt.Errorf("starlette: MaxAge %v is not a positive whole number of seconds", opts.MaxAge)
	}
	im.maxAge = int64(maxAge / time.Second)
	if err := im.Expire().Valid(); err != nil {
		// net/http names the field and its value; none of them is secret.
		return nil, fmt.Errorf("starlette: %w", err)
	}
	if err := prefixRules(im.name, im.path, im.domain, im.secure); err != nil {
		return nil, fmt.Errorf("starlette: %w", err)
	}
	// itsdangerous's "django-concat" derivation with its default salt and
	// digest: SHA-1(salt + "signer" + secret_key). Starlette passes
	// str(secret_key), which itsdangerous encodes as UTF-8.
	sum := sha1.Sum([]byte("itsdangerous.Signer" + "signer" + opts.SecretKey))
	im.key = &signingKey{k: &sum}
	return im, nil
}

// Format prints the importer's cookie name and never its key.
func (im Importer) Format(f fmt.State, verb rune) {
	fmt.Fprintf(f, "starlette.Importer{cookie=%q}", im.name)
}

// Import reads r's Starlette session cookie. It returns found=false when r
// has none. Otherwise it returns the session's values, each a
// json.RawMessage exactly as the JSON held it, or, when the cookie is
// forged, expired, unreadable or duplicated, found=true, nil values and an
// error wrapping [ErrInvalid] or [ErrExpired] that holds no cookie bytes.
func (im *Importer) Import(r *http.Request) (values map[string]any, found bool, err error) {
	cookies := r.CookiesNamed(im.name)
	switch len(cookies) {
	case 0:
		return nil, false, nil
	case 1:
	default:
		return nil, true, fmt.Errorf("%w: %d cookies named %q", ErrInvalid, len(cookies), im.name)
	}
	values, err = im.open(cookies[0].Value, im.now())
	return values, true, err
}

// Expire returns the cookie that deletes the Starlette cookie: the same
// name, Path and Domain, MaxAge -1, and the attributes Starlette gave it.
func (im *Importer) Expire() *http.Cookie {
	return &http.Cookie{
		Name:     im.name,
		Path:     im.path,
		Domain:   im.domain,
		MaxAge:   -1,
		HttpOnly: true,
		Secure:   im.secure,
		SameSite: im.sameSite,
	}
}

// Parts of a signed value.
var (
	b64url = base64.RawURLEncoding.Strict() // signature and timestamp
	b64std = base64.StdEncoding.Strict()    // payload, as Python's b64encode
)

// sigLen is the length of a base64url HMAC-SHA1 signature.
var sigLen = b64url.EncodedLen(sha1.Size)

// open verifies and decodes one cookie value at now.
func (im *Importer) open(tainted string, now time.Time) (map[string]any, error) {
	if len(tainted) > MaxCookieSize {
		return nil, fmt.Errorf("%w: longer than %d bytes", ErrInvalid, MaxCookieSize)
	}
	// payload.timestamp.signature; the payload is standard base64, which
	// has no dot, so the value has exactly two.
	signed, sig, ok := cutLast(tainted, '.')
	if !ok || len(sig) != sigLen || strings.ContainsAny(tainted, "\r\n") {
		return nil, fmt.Errorf("%w: malformed", ErrInvalid)
	}
	var got [sha1.Size]byte
	if n, err := b64url.Decode(got[:], []byte(sig)); err != nil || n != sha1.Size {
		return nil, fmt.Errorf("%w: malformed signature", ErrInvalid)
	}
	mac := hmac.New(sha1.New, im.key.k[:])
	mac.Write([]byte(signed))
	if !hmac.Equal(mac.Sum(nil), got[:]) {
		return nil, fmt.Errorf("%w: bad signature", ErrInvalid)
	}
	// Authentic from here on: only the application could have signed it.
	payload, stamp, ok := cutLast(signed, '.')
	if !ok {
		return nil, fmt.Errorf("%w: no timestamp", ErrInvalid)
	}
	ts, ok := parseTimestamp(stamp)
	if !ok {
		return nil, fmt.Errorf("%w: malformed timestamp", ErrInvalid)
	}
	// itsdangerous: age = int(time.time()) - timestamp, refused when
	// above max_age or below zero.
	age := now.Unix() - ts
	if age > im.maxAge || age < 0 {
		return nil, ErrExpired
	}
	doc, err := b64std.DecodeString(payload)
	if err != nil {
		return nil, fmt.Errorf("%w: payload is not base64", ErrInvalid)
	}
	vals, err := sessionjson.Decode(doc)
	if err != nil {
		return nil, fmt.Errorf("%w: payload is not a strict JSON object: %w", ErrInvalid, err)
	}
	return vals, nil
}

// parseTimestamp reads itsdangerous's timestamp: the seconds since the
// epoch as big-endian bytes without leading zeros, in base64url.
func parseTimestamp(s string) (int64, bool) {
	var buf [9]byte
	if s == "" || len(s) > b64url.EncodedLen(8) {
		return 0, false
	}
	n, err := b64url.Decode(buf[:], []byte(s))
	if err != nil || n == 0 || n > 8 || buf[0] == 0 {
		return 0, false
	}
	var v uint64
	for _, b := range buf[:n] {
		v = v<<8 | uint64(b)
	}
	if v > math.MaxInt64 {
		return 0, false
	}
	return int64(v), true
}

// prefixRules checks what browsers require of a cookie named with a
// __Secure- or __Host- prefix: a browser refuses a deletion that breaks
// them, and the legacy cookie would then stay.
func prefixRules(name, path, domain string, secure bool) error {
	host := len(name) >= 7 && strings.EqualFold(name[:7], "__Host-")
	if (host || len(name) >= 9 && strings.EqualFold(name[:9], "__Secure-")) && !secure {
		return fmt.Errorf("cookie %q needs HTTPSOnly (Secure), as its prefix requires", name)
	}
	if host && (path != "/" || domain != "") {
		return fmt.Errorf("cookie %q needs Path \"/\" and no Domain, as its __Host- prefix requires", name)
	}
	return nil
}

// cutLast splits s around its last sep.
func cutLast(s string, sep byte) (before, after string, found bool) {
	if i := strings.LastIndexByte(s, sep); i >= 0 {
		return s[:i], s[i+1:], true
	}
	return s, "", false
}
