package middleware

import (
	"net/http"
	"net/textproto"
	"strconv"
	"strings"
)

// Cookie layout. Without chunking the session is one cookie whose value is
// the token. With chunking, a token that does not fit in one cookie is cut
// into n pieces: the first cookie (Name) holds "<n>~" and the first piece,
// cookie Name.i holds piece i. The count in the first cookie means a stale
// extra chunk left behind by a lost response cannot corrupt the token.

// headerPrefix starts every Set-Cookie header line on the wire.
const headerPrefix = "Set-Cookie: "

// chunkMark is the prefix of a chunked session's first cookie.
func chunkMark(n string) string { return n + "~" }

// readCookies scans the Cookie headers for the session's cookies without
// parsing the others. It returns the token (empty if there is none or it
// is ambiguous), a bit set of which of the session's cookie names were
// present, and, when the cookies were unusable, why.
func (m *Manager) readCookies(h http.Header) (tok string, present uint16, why string) {
	var vals [MaxChunksLimit]string
	var counts [MaxChunksLimit]uint8
	name := m.cfg.Name
	chunked := m.cfg.MaxChunks > 1
	for _, line := range h["Cookie"] {
		for line != "" {
			var part string
			part, line, _ = strings.Cut(line, ";")
			part = textproto.TrimString(part)
			if len(part) < len(name) || part[:len(name)] != name {
				continue
			}
			k, v, _ := strings.Cut(part, "=")
			i := 0
			if k != name {
				if !chunked || len(k) != len(name)+2 || k[len(name)] != '.' {
					continue
				}
				d := k[len(name)+1]
				if d < '1' || int(d-'0') >= m.cfg.MaxChunks {
					continue
				}
				i = int(d - '0')
			}
			vals[i] = v
			if counts[i] < 2 {
				counts[i]++
			}
		}
	}
	for i, c := range counts {
		if c > 0 {
			present |= 1 << i
		}
	}
	if counts[0] == 0 {
		return "", present, ""
	}
	if counts[0] > 1 {
		return "", present, "duplicate cookie"
	}
	first := vals[0]
	if !chunked || len(first) < 2 || first[1] != '~' {
		return first, present, ""
	}
	n := int(first[0] - '0')
	if n < 2 || n > m.cfg.MaxChunks {
		return "", present, "invalid"
	}
	size := len(first) - 2
	for i := 1; i < n; i++ {
		if counts[i] != 1 {
			return "", present, "missing or duplicate chunk"
		}
		size += len(vals[i])
	}
	if size > m.limit {
		return "", present, "too large"
	}
	var b strings.Builder
	b.Grow(size)
	b.WriteString(first[2:])
	for i := 1; i < n; i++ {
		b.WriteString(vals[i])
	}
	return b.String(), present, ""
}

// hasCookie reports whether the Cookie headers h hold a cookie named name.
func hasCookie(h http.Header, name string) bool {
	for _, line := range h["Cookie"] {
		for line != "" {
			var part string
			part, line, _ = strings.Cut(line, ";")
			k, _, _ := strings.Cut(textproto.TrimString(part), "=")
			if k == name {
				return true
			}
		}
	}
	return false
}

// addTokenCookies adds to h the Set-Cookie values that store tok for
// maxAge seconds, and those that remove any of the request's chunk
// cookies that the new token no longer uses. The caller has checked
// len(tok) <= m.limit.
func (m *Manager) addTokenCookies(w *responseWriter, h http.Header, tok string, maxAge int64, present uint16) {
	if len(tok) <= m.room[0] {
		addValue(h, "Set-Cookie", m.setCookie(m.names[0], "", tok, maxAge), &w.setCookie)
		m.addRemovals(w, h, present, 1)
		return
	}
	// Cut the token into pieces that each fit one cookie.
	var pieces [MaxChunksLimit]string
	n := 0
	for rest := tok; rest != ""; n++ {
		room := m.room[n]
		if n == 0 {
			room -= len(chunkMark("2"))
		}
		room = min(room, len(rest))
		pieces[n], rest = rest[:room], rest[room:]
	}
	mark := chunkMark(strconv.Itoa(n))
	for i, p := range pieces[:n] {
		prefix := ""
		if i == 0 {
			prefix = mark
		}
		addValue(h, "Set-Cookie", m.setCookie(m.names[i], prefix, p, maxAge), &w.setCookie)
	}
	m.addRemovals(w, h, present, n)
}

// setCookie returns the Set-Cookie value "name=prefix+value; Max-Age=N"
// followed by the cookie attributes, built in one allocation. A negative
// maxAge leaves Max-Age out: a browser-session cookie.
func (m *Manager) setCookie(name, prefix, value string, maxAge int64) string {
	const ageAttr = "; Max-Age="
	var num [20]byte
	var age []byte
	if maxAge >= 0 {
		age = strconv.AppendInt(num[:0], maxAge, 10)
	}
	var b strings.Builder
	b.Grow(len(name) + 1 + len(prefix) + len(value) + len(ageAttr) + len(age) + len(m.attrs))
	b.WriteString(name)
	b.WriteByte('=')
	b.WriteString(prefix)
	b.WriteString(value)
	if maxAge >= 0 {
		b.WriteString(ageAttr)
		b.Write(age)
	}
	b.WriteString(m.attrs)
	return b.String()
}

// addRemovals adds to h the Set-Cookie values that delete the session's
// cookies with index from and above that the request carried. The first
// cookie (from == 0) is always deleted.
func (m *Manager) addRemovals(w *responseWriter, h http.Header, present uint16, from int) {
	for i := from; i < len(m.names); i++ {
		if i == 0 || present&(1<<i) != 0 {
			addValue(h, "Set-Cookie", m.removals[i], &w.setCookie)
		}
	}
}
