// Package rfc3339 reads the RFC 3339 date-times of token claims strictly.
// Package token reads exp, iat and nbf with it, and package middleware its
// own time claim (satchel_start), so that every time a token carries is
// held to one grammar. time.Parse alone is laxer than the RFC: it takes a
// one-digit hour or an offset of +00:60.
package rfc3339

import "time"

// Parse reads an RFC 3339 date-time strictly, in one pass, and
// returns it in UTC. Exactly YYYY-MM-DDTHH:MM:SS, an optional fraction
// (digits past the ninth are dropped, as time.Parse does), then Z or
// ±HH:MM; every field in its range (day within its month, hour up to 23,
// minute and second up to 59, offset up to 23:59). It accepts what
// time.Parse(time.RFC3339, s) accepts once RFC 3339's grammar holds (Go's
// parser alone is laxer: a one-digit hour, an offset of +00:60), which
// the tests check on every day of several years and on random inputs.
func Parse(s string) (time.Time, bool) {
	const base = len("2006-01-02T15:04:05")
	if len(s) < base+1 || s[4] != '-' || s[7] != '-' || s[10] != 'T' || s[13] != ':' || s[16] != ':' {
		return time.Time{}, false
	}
	year, ok1 := digits(s[0:4])
	month, ok2 := digits(s[5:7])
	day, ok3 := digits(s[8:10])
	hour, ok4 := digits(s[11:13])
	minute, ok5 := digits(s[14:16])
	sec, ok6 := digits(s[17:19])
	if !(ok1 && ok2 && ok3 && ok4 && ok5 && ok6) || month < 1 || month > 12 || day < 1 ||
		day > daysIn(month, year) || hour > 23 || minute > 59 || sec > 59 {
		return time.Time{}, false
	}
	rest := s[base:]
	nsec := 0
	if rest[0] == '.' {
		n := 1
		for n < len(rest) && '0' <= rest[n] && rest[n] <= '9' {
			if n <= 9 {
				nsec = nsec*10 + int(rest[n]-'0')
			}
			n++
		}
		if n == 1 {
			return time.Time{}, false
		}
		for i := n; i <= 9; i++ {
			nsec *= 10
		}
		rest = rest[n:]
	}
	offset := 0
	switch {
	case rest == "Z":
	case len(rest) == 6 && (rest[0] == '+' || rest[0] == '-') && rest[3] == ':':
		oh, okh := digits(rest[1:3])
		om, okm := digits(rest[4:6])
		if !okh || !okm || oh > 23 || om > 59 {
			return time.Time{}, false
		}
		offset = (oh*60 + om) * 60
		if rest[0] == '-' {
			offset = -offset
		}
	default:
		return time.Time{}, false
	}
	t := time.Date(year, time.Month(month), day, hour, minute, sec, nsec, time.UTC)
	return t.Add(-time.Duration(offset) * time.Second), true
}

// digits reads s, which is all ASCII digits, as a decimal number.
func digits(s string) (int, bool) {
	n := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int(c-'0')
	}
	return n, true
}

// daysIn returns the number of days in month of year (proleptic
// Gregorian, as package time counts).
func daysIn(month, year int) int {
	switch month {
	case 2:
		if year%4 == 0 && (year%100 != 0 || year%400 == 0) {
			return 29
		}
		return 28
	case 4, 6, 9, 11:
		return 30
	}
	return 31
}
