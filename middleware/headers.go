package middleware

import (
	"net/http"
	"net/textproto"
	"strings"
)

// addValue appends v to h[key]. When h holds no value under key, v goes
// into slot, one of the response's own one-element arrays, rather than
// into a new slice; the capacity of one makes any later append copy it.
func addValue(h http.Header, key, v string, slot *[1]string) {
	if old := h[key]; len(old) > 0 {
		h[key] = append(old, v)
		return
	}
	slot[0] = v
	h[key] = slot[:]
}

// addVary adds "Cookie" to the Vary header unless it is there already.
func addVary(h http.Header, slot *[1]string) {
	for _, v := range h["Vary"] {
		safe := false
		eachDirective(v, func(name, _ string, _ bool) bool {
			safe = strings.EqualFold(name, "Cookie") || name == "*"
			return !safe
		})
		if safe {
			return
		}
	}
	addValue(h, "Vary", "Cookie", slot)
}

// addNoCache makes sure no shared cache stores the response's Set-Cookie
// and hands it to another visitor, keeping any caching policy the handler
// chose.
//
// The response is already safe when the handler's Cache-Control holds an
// unqualified private, no-store or no-cache, or a no-cache whose field
// list names Set-Cookie. A qualified private="X" or no-cache="X" that
// names other fields is not: it leaves Set-Cookie storable, so it counts
// for nothing here.
//
// When the handler chose no caching policy at all, the middleware adds
// "private" rather than no-cache="Set-Cookie". Every shared cache
// understands private and will not store the response, while the
// qualified no-cache form is, by RFC 9111's own account, not widely
// implemented: a cache that ignores the field list may store the
// response, cookie included. Forbidding shared storage costs nothing
// worth keeping, since a response that sets one visitor's session is
// personal anyway (and already varies on Cookie); the browser's own
// cache may still keep it. When the handler did choose a policy (public,
// max-age and so on), it is kept and no-cache="Set-Cookie" is appended,
// the one directive that removes the cookie without overruling the
// handler; a handler that lets shared caches store responses that set
// the session should set private itself on those routes.
func addNoCache(h http.Header, slot *[1]string) {
	vals := h["Cache-Control"]
	for _, v := range vals {
		if cacheSafe(v) {
			return
		}
	}
	for _, v := range vals {
		if textproto.TrimString(v) != "" {
			addValue(h, "Cache-Control", `no-cache="Set-Cookie"`, slot)
			return
		}
	}
	delete(h, "Cache-Control") // drop empty values
	addValue(h, "Cache-Control", "private", slot)
}

// cacheSafe reports whether the Cache-Control value v keeps shared caches
// from storing a Set-Cookie header.
func cacheSafe(v string) bool {
	safe := false
	eachDirective(v, func(name, arg string, hasArg bool) bool {
		switch {
		case strings.EqualFold(name, "no-store"):
			safe = true
		case strings.EqualFold(name, "private"), strings.EqualFold(name, "no-cache"):
			if !hasArg {
				safe = true
				break
			}
			if strings.EqualFold(name, "no-cache") {
				// The argument is a list of field names.
				for f := range strings.SplitSeq(arg, ",") {
					if strings.EqualFold(textproto.TrimString(f), "Set-Cookie") {
						safe = true
					}
				}
			}
		}
		return !safe
	})
	return safe
}

// eachDirective calls f with each directive of the comma-separated header
// value v (RFC 9110 list syntax): its name, its argument with any quotes
// and backslash escapes removed, and whether it has one. A comma inside a
// quoted argument does not end the directive. It stops when f returns
// false. Malformed input ends the list at the fault; nothing is invented.
func eachDirective(v string, f func(name, arg string, hasArg bool) bool) {
	for v != "" {
		i := strings.IndexAny(v, ",=")
		if i < 0 {
			i = len(v)
		}
		name := textproto.TrimString(v[:i])
		if i == len(v) || v[i] == ',' {
			if name != "" && !f(name, "", false) {
				return
			}
			if i == len(v) {
				return
			}
			v = v[i+1:]
			continue
		}
		// An argument: a quoted string or a token up to the next comma.
		rest := strings.TrimLeft(v[i+1:], " \t")
		var arg string
		if strings.HasPrefix(rest, `"`) {
			var b strings.Builder
			j, closed := 1, false
			for ; j < len(rest); j++ {
				c := rest[j]
				if c == '\\' && j+1 < len(rest) {
					j++
					b.WriteByte(rest[j])
					continue
				}
				if c == '"' {
					closed = true
					break
				}
				b.WriteByte(c)
			}
			if !closed {
				return
			}
			arg = b.String()
			rest = rest[j+1:]
			k := strings.IndexByte(rest, ',')
			if k < 0 {
				k = len(rest)
			}
			if textproto.TrimString(rest[:k]) != "" {
				return // garbage after the closing quote
			}
			rest = rest[k:]
		} else {
			k := strings.IndexByte(rest, ',')
			if k < 0 {
				k = len(rest)
			}
			arg, rest = textproto.TrimString(rest[:k]), rest[k:]
		}
		if !f(name, arg, true) {
			return
		}
		v = strings.TrimPrefix(rest, ",")
	}
}
