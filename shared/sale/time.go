package sale

import (
	"strings"
	"time"
)

// The instants a promotion's times may name, in UTC: the range the contract
// gives, which also keeps every time writable back as RFC 3339.
var (
	minTime = time.Date(1970, 1, 1, 0, 0, 0, 0, time.UTC)
	maxTime = time.Date(9999, 12, 31, 23, 59, 59, 0, time.UTC)
)

// ParseTime reads an RFC 3339 date-time exactly as the contract allows it:
// `T` and `Z` in either case, an optional fraction after a dot, a numeric
// offset within ±23:59, and an instant in UTC between 1970-01-01 and
// 9999-12-31T23:59:59Z. Go's own parser is laxer (a comma before the
// fraction, offsets of 24 hours), so the shape is checked here first.
func ParseTime(field, s string) (time.Time, error) {
	bad := func() (time.Time, error) {
		return time.Time{}, invalid(field, "must be an RFC 3339 date-time such as 2026-11-11T00:00:00Z")
	}
	if !rfc3339Shape(s) {
		return bad()
	}
	norm := strings.ToUpper(s)
	t, err := time.Parse(time.RFC3339Nano, norm)
	if err != nil {
		return bad()
	}
	t = t.UTC()
	if t.Before(minTime) || t.After(maxTime) {
		return time.Time{}, invalid(field, "must lie between 1970-01-01T00:00:00Z and 9999-12-31T23:59:59Z")
	}
	return t, nil
}

// rfc3339Shape checks the characters of YYYY-MM-DDTHH:MM:SS[.F+](Z|±HH:MM),
// and that an offset's hours and minutes are in range.
func rfc3339Shape(s string) bool {
	const date = "dddd-dd-ddTdd:dd:dd"
	if len(s) < len(date)+1 {
		return false
	}
	for i := 0; i < len(date); i++ {
		switch c := s[i]; date[i] {
		case 'd':
			if c < '0' || c > '9' {
				return false
			}
		case 'T':
			if c != 'T' && c != 't' {
				return false
			}
		default:
			if c != date[i] {
				return false
			}
		}
	}
	rest := s[len(date):]
	if rest[0] == '.' {
		n := 1
		for n < len(rest) && '0' <= rest[n] && rest[n] <= '9' {
			n++
		}
		if n == 1 {
			return false
		}
		rest = rest[n:]
	}
	if rest == "Z" || rest == "z" {
		return true
	}
	if len(rest) != 6 || rest[0] != '+' && rest[0] != '-' || rest[3] != ':' {
		return false
	}
	h, m := twoDigits(rest[1:3]), twoDigits(rest[4:6])
	return h >= 0 && h <= 23 && m >= 0 && m <= 59
}

func twoDigits(s string) int {
	if s[0] < '0' || s[0] > '9' || s[1] < '0' || s[1] > '9' {
		return -1
	}
	return int(s[0]-'0')*10 + int(s[1]-'0')
}
