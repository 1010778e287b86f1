package middleware

import (
	"encoding/json"
	"strconv"
	"time"

	"satchel.dev/internal/jsonx"
	"satchel.dev/internal/rfc3339"
)

// Session metadata the middleware keeps in the token, beside the
// registered claims and "data", as top-level claims (token.Claims.Extra).
// Each is written only when it differs from the default, so most tokens
// carry none. A token with a malformed one does not open.
const (
	// claimStart is when the session began, an RFC 3339 date-time string
	// in UTC with whole seconds, like exp, iat and nbf. It is written only
	// when it is earlier than nbf, which is when the current session id
	// was issued: after a [Session.Renew], which keeps the start. Absent,
	// the session began at nbf. The absolute deadline is the start plus
	// the lifetime.
	claimStart = "satchel_start"

	// claimLifetime is the session's own absolute lifetime, a JSON integer
	// number of seconds, at least 1, written when [Session.SetLifetime]
	// gave it one other than [Config.MaxAge]. Absent, the lifetime is the
	// reading server's MaxAge; present, it is capped at the reading
	// server's MaxLifetime.
	claimLifetime = "satchel_lifetime"

	// claimBrowser is the JSON literal true when the cookie is a
	// browser-session cookie ([Session.SetBrowserOnly]); absent otherwise.
	claimBrowser = "satchel_browser"

	// claimFlash holds the queued flash messages ([Session.Flash]), oldest
	// first, as a JSON array of objects {"category":C,"message":M} where
	// both are strings and category is left out when empty. Absent when
	// none wait.
	claimFlash = "satchel_flash"
)

// meta is the session metadata read from a token.
type meta struct {
	start    time.Time
	lifetime time.Duration
	browser  bool
	flashes  []FlashMessage
}

// readMeta reads the middleware's claims from extra, ignoring any other.
// ok is false when one is malformed.
func readMeta(extra map[string]json.RawMessage) (m meta, ok bool) {
	if raw, found := extra[claimStart]; found {
		var d jsonx.Decoder
		d.Reset(string(raw), jsonx.DefaultLimits)
		str, err := d.String()
		if err != nil {
			return meta{}, false
		}
		t, ok := rfc3339.Parse(str)
		if !ok {
			return meta{}, false
		}
		m.start = t
	}
	if raw, found := extra[claimLifetime]; found {
		n, err := strconv.ParseInt(string(raw), 10, 64)
		if err != nil || n < 1 || n > int64(maxLifetimeLimit/time.Second) {
			return meta{}, false
		}
		m.lifetime = time.Duration(n) * time.Second
	}
	if raw, found := extra[claimBrowser]; found {
		if string(raw) != "true" {
			return meta{}, false
		}
		m.browser = true
	}
	if raw, found := extra[claimFlash]; found {
		// A variable of its own, so that m does not escape to the heap
		// on the common path without messages.
		var flashes []FlashMessage
		if len(raw) == 0 || raw[0] != '[' || jsonx.Unmarshal(raw, &flashes) != nil || len(flashes) == 0 {
			return meta{}, false
		}
		m.flashes = flashes
	}
	return m, true
}

// writeMeta returns the claims that carry s's metadata, or nil when it
// has none but the defaults. s.mu is held.
func writeMeta(s *Session, cfg *Config) map[string]json.RawMessage {
	start := !s.start.IsZero() && s.start.Before(s.created)
	life := s.lifetime != 0 && s.life(cfg) != cfg.MaxAge
	if !start && !life && !s.browser && len(s.flashes) == 0 {
		return nil
	}
	extra := make(map[string]json.RawMessage, 4)
	if start {
		b := append([]byte{'"'}, s.start.UTC().Truncate(time.Second).Format(time.RFC3339)...)
		extra[claimStart] = append(b, '"')
	}
	if life {
		extra[claimLifetime] = strconv.AppendInt(nil, int64(s.life(cfg)/time.Second), 10)
	}
	if s.browser {
		extra[claimBrowser] = json.RawMessage("true")
	}
	if len(s.flashes) > 0 {
		// Two strings per message: nothing that cannot be encoded.
		extra[claimFlash], _ = jsonx.Marshal(s.flashes)
	}
	return extra
}
