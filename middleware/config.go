package middleware

import (
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"
	"unicode/utf8"

	"satchel.dev/token"
)

// Defaults that a zero [Config] stands for.
const (
	// DefaultName is the cookie name on HTTPS. The __Host- prefix makes a
	// browser refuse the cookie unless it is Secure, has Path=/ and no
	// Domain, so a sibling subdomain cannot plant or shadow it.
	DefaultName = "__Host-session"
	// DefaultInsecureName is the cookie name when [Config.Insecure] is set,
	// which a __Host- cookie cannot be. It matches Starlette's default.
	DefaultInsecureName = "session"
	// DefaultMaxAge is the absolute lifetime of a session, as in Starlette.
	DefaultMaxAge = 14 * 24 * time.Hour
	// DefaultLeeway is the clock skew between servers that a zero
	// [Config.Leeway] tolerates: [token.DefaultLeeway], one minute.
	// Servers in a fleet disagree by milliseconds to seconds even under
	// NTP; without leeway a cookie sealed by a server whose clock runs
	// ahead would be refused, as not yet valid, by one whose clock runs
	// behind, logging the user out.
	DefaultLeeway = token.DefaultLeeway
	// CookieLimit is 4096 bytes, the largest "name=value" that browsers
	// keep for one cookie (RFC 6265bis; the same number as
	// [token.DefaultMaxSize]). A longer cookie is dropped without a word.
	// The middleware keeps a wider margin: each cookie's whole Set-Cookie
	// header line, "Set-Cookie: " and the attributes included, stays
	// within CookieLimit, because some front-end proxies drop every cookie
	// of a response with a longer line. A session that does not fit is
	// never sent: the ErrorHandler receives [ErrTooLarge].
	CookieLimit = 4096
	// MaxChunksLimit bounds [Config.MaxChunks].
	MaxChunksLimit = 8

	// maxLifetimeLimit bounds MaxAge and MaxLifetime: browsers cap a
	// cookie's lifetime at 400 days (RFC 6265bis), so a longer session
	// would be lost from the browser before its token expires.
	maxLifetimeLimit = 400 * 24 * time.Hour
)

// Config configures a [Manager]. The zero value is the secure default:
// a __Host-session cookie that is HttpOnly, Secure, SameSite=Lax and
// Path=/, lives at most 14 days, tolerates a minute of clock skew between
// servers and is written only when needed. [New]
// validates a Config and keeps a copy, so changing it afterwards has no
// effect.
type Config struct {
	// Name is the cookie name. Empty means [DefaultName], or
	// [DefaultInsecureName] when Insecure is set. A name starting with
	// __Host- requires Path "/", no Domain and no Insecure; one starting
	// with __Secure- requires no Insecure.
	Name string

	// Path is the cookie's Path attribute. Empty means "/".
	Path string

	// Domain is the cookie's Domain attribute. Empty (the default) makes a
	// host-only cookie, which is what __Host- requires; setting it shares
	// the session with every subdomain of Domain.
	Domain string

	// SameSite is the cookie's SameSite attribute. The zero value means
	// [http.SameSiteLaxMode]; [http.SameSiteStrictMode] and
	// [http.SameSiteNoneMode] (which needs Secure) are accepted.
	// [http.SameSiteDefaultMode] is refused: it omits the attribute and
	// leaves the choice to each browser.
	SameSite http.SameSite

	// Insecure drops the Secure attribute, for plain-HTTP development on a
	// host that browsers do not treat as a secure context. It also changes
	// the default name to [DefaultInsecureName]. Never set it in
	// production: the cookie then travels in clear text.
	Insecure bool

	// MaxAge is the absolute lifetime of a session, counted from its
	// start: its first save, or the last [Session.Restart]. No activity
	// extends it, and [Session.Renew] keeps it. [Session.SetLifetime]
	// gives one session another lifetime, up to MaxLifetime. Zero means
	// [DefaultMaxAge]. It must be at least one second and at most 400 days,
	// the longest a browser keeps a cookie (RFC 6265bis). Shortening it also
	// ends sessions sealed earlier that are already older.
	MaxAge time.Duration

	// MaxLifetime bounds the lifetime [Session.SetLifetime] may give one
	// session, for "remember me" sessions that outlive MaxAge. Zero means
	// MaxAge: SetLifetime can then only shorten a session. It must not be
	// below MaxAge nor above 400 days. Lowering it also ends sessions sealed earlier with a
	// longer lifetime that are already older.
	MaxLifetime time.Duration

	// IdleTimeout, when positive, also ends a session that saw no request
	// for this long, counted from the last time its cookie was written
	// (the token's iat), so it applies to cookies sealed before it was
	// set or shortened too. Each request that finds the idle window half
	// used refreshes the cookie, never past the absolute deadline. Zero
	// turns idle expiry off. It must not exceed MaxAge.
	IdleTimeout time.Duration

	// Leeway tolerates clock skew between servers when checking a token's
	// times: a token sealed by a server whose clock runs up to Leeway
	// ahead opens (its iat and nbf may be Leeway in the future), and exp
	// and MaxAge are enforced up to Leeway late. Zero means
	// [DefaultLeeway]; set a negative value, e.g. -1, to allow no skew at
	// all. Keep it at least the worst skew between your servers, and use
	// the same value as the rotation policy's Leeway. [New] refuses a
	// value above [token.MaxLeeway] (five minutes): a larger one would keep
	// expired cookies alive for longer than clock skew explains.
	Leeway time.Duration

	// Now is the clock; nil means [time.Now]. Tests inject a fake one.
	Now func() time.Time

	// Audience names the application or purpose the sessions belong to.
	// It is bound, with the cookie name, into every token's implicit
	// assertion, so a token taken from another cookie or from an app with
	// another Audience does not open even under the same keys.
	Audience string

	// Revocations, when set, is consulted for every session opened from a
	// valid cookie, before the handler runs, and again just before the
	// response writes that session back (renewed or not), so that a
	// logout recorded meanwhile wins over every request still in flight.
	// A revoked session gives the handler an empty one, and a revoked
	// session about to be written back is dropped and its cookie deleted.
	// When a request destroys or renews a session it opened, the old id is
	// recorded with RevokeSession before the response is written; if that
	// fails, the response carries no cookie change and the ErrorHandler
	// receives an error wrapping [ErrRevocation]. Nil means sessions end
	// only when their token expires.
	Revocations Revocations

	// Import, when set, adopts a session cookie written by another library
	// (see [Importer]) when the request carries no valid session of this
	// Manager and does carry a cookie named as the one [Importer.Expire]
	// deletes. Adopted values become the session and are sealed into this
	// Manager's cookie in the same response, which also deletes the legacy
	// cookie. A legacy cookie that is forged, expired or unreadable gives
	// an empty session and a log line, and is deleted too. Import never
	// causes an error response and never adopts part of a session. The
	// legacy cookie is also deleted from any request that carries it next
	// to a valid session of this Manager, so that a logout cannot bring the
	// legacy session back.
	Import Importer

	// MaxChunks, when greater than one, lets a session that does not fit
	// in one cookie spread over up to MaxChunks cookies named Name,
	// Name.1, Name.2 and so on. Zero or one means a single cookie, the
	// default. At most [MaxChunksLimit]. Many proxies limit the whole
	// Cookie header to 8 KB, so more than two chunks is rarely wise.
	MaxChunks int

	// ErrorHandler is called when the session cannot be saved: the sealed
	// session exceeds the cookie size ([ErrTooLarge]), a value cannot be
	// encoded, the sign-out of a destroyed or renewed session could not be
	// recorded ([ErrRevocation]), or a change arrived after the response
	// headers were sent ([ErrLateChange]). For every error but ErrLateChange the headers can
	// still change: if the ErrorHandler writes a response, whatever the
	// handler writes afterwards is discarded; if it writes nothing, the
	// handler's response goes out without the cookie. For ErrLateChange it
	// must only report. The error never contains session values, tokens or
	// keys. Nil means a handler that logs to Logger and answers 500 when
	// it still can.
	ErrorHandler func(w http.ResponseWriter, r *http.Request, err error)

	// Logger receives the middleware's reports: errors at LevelError and
	// rejected cookies at LevelDebug. Nil means [slog.Default] at the time
	// of logging. Nothing logged contains session values, tokens or keys.
	Logger *slog.Logger
}

// normalize fills in the defaults and checks every rule; it returns the
// completed copy.
func (c Config) normalize() (Config, error) {
	bad := func(format string, args ...any) (Config, error) {
		return Config{}, fmt.Errorf("%w: "+format, append([]any{ErrConfig}, args...)...)
	}
	if c.Name == "" {
		c.Name = DefaultName
		if c.Insecure {
			c.Name = DefaultInsecureName
		}
	}
	if c.Path == "" {
		c.Path = "/"
	}
	if !strings.HasPrefix(c.Path, "/") {
		return bad("Path %q must start with /", c.Path)
	}
	probe := http.Cookie{Name: c.Name, Value: "v", Path: c.Path, Domain: c.Domain}
	if err := probe.Valid(); err != nil {
		// net/http's message names the offending field and its value; the
		// config holds no secrets, so it is safe to pass on.
		return bad("%v", err)
	}
	switch {
	case hasPrefixFold(c.Name, "__Host-"):
		if c.Domain != "" {
			return bad("cookie %q has the __Host- prefix, which forbids a Domain", c.Name)
		}
		if c.Path != "/" {
			return bad("cookie %q has the __Host- prefix, which requires Path \"/\"", c.Name)
		}
		if c.Insecure {
			return bad("cookie %q has the __Host- prefix, which requires Secure (Insecure is set)", c.Name)
		}
	case hasPrefixFold(c.Name, "__Secure-"):
		if c.Insecure {
			return bad("cookie %q has the __Secure- prefix, which requires Secure (Insecure is set)", c.Name)
		}
	}
	switch c.SameSite {
	case 0:
		c.SameSite = http.SameSiteLaxMode
	case http.SameSiteLaxMode, http.SameSiteStrictMode:
	case http.SameSiteNoneMode:
		if c.Insecure {
			return bad("SameSite=None requires Secure (Insecure is set)")
		}
	case http.SameSiteDefaultMode:
		return bad("SameSiteDefaultMode omits the attribute; choose Lax, Strict or None")
	default:
		return bad("unknown SameSite value %d", c.SameSite)
	}
	if c.MaxAge == 0 {
		c.MaxAge = DefaultMaxAge
	}
	if c.MaxAge < time.Second {
		return bad("MaxAge %v is below one second", c.MaxAge)
	}
	if c.MaxAge > maxLifetimeLimit {
		return bad("MaxAge %v exceeds %v, the longest browsers keep a cookie", c.MaxAge, maxLifetimeLimit)
	}
	if c.MaxLifetime == 0 {
		c.MaxLifetime = c.MaxAge
	}
	if c.MaxLifetime < c.MaxAge {
		return bad("MaxLifetime %v is below MaxAge %v", c.MaxLifetime, c.MaxAge)
	}
	if c.MaxLifetime > maxLifetimeLimit {
		return bad("MaxLifetime %v exceeds %v", c.MaxLifetime, maxLifetimeLimit)
	}
	if c.IdleTimeout < 0 {
		return bad("IdleTimeout %v is negative", c.IdleTimeout)
	}
	if c.IdleTimeout > 0 && c.IdleTimeout < 2*time.Second {
		return bad("IdleTimeout %v is below two seconds", c.IdleTimeout)
	}
	if c.IdleTimeout > c.MaxAge {
		return bad("IdleTimeout %v exceeds MaxAge %v", c.IdleTimeout, c.MaxAge)
	}
	switch {
	case c.Leeway == 0:
		c.Leeway = DefaultLeeway
	case c.Leeway < 0:
		c.Leeway = 0 // none, as asked
	case c.Leeway > token.MaxLeeway:
		return bad("Leeway %v exceeds token.MaxLeeway (%v)", c.Leeway, token.MaxLeeway)
	}
	// A record of sign-outs that forgets sooner than a session can live
	// would let a signed-out cookie open again: refuse it when it says how
	// long it remembers.
	if w, ok := c.Revocations.(interface{ Window() time.Duration }); ok && w.Window() < c.MaxLifetime+c.Leeway {
		return bad("Revocations keep a sign-out for %v, less than the longest session lifetime (MaxLifetime %v) plus Leeway: give the revocation set a MaxAge of at least %v", w.Window(), c.MaxLifetime, c.MaxLifetime)
	}
	if !utf8.ValidString(c.Audience) {
		return bad("Audience is not valid UTF-8")
	}
	if c.MaxChunks < 0 || c.MaxChunks > MaxChunksLimit {
		return bad("MaxChunks %d is outside 0..%d", c.MaxChunks, MaxChunksLimit)
	}
	if c.MaxChunks == 0 {
		c.MaxChunks = 1
	}
	return c, nil
}

func hasPrefixFold(s, prefix string) bool {
	return len(s) >= len(prefix) && strings.EqualFold(s[:len(prefix)], prefix)
}
