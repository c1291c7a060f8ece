package sale_test

import (
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/seckill/seckill/shared/sale"
)

// FuzzPathAndQuery: path ids and the status filter accept exactly what
// the contract allows and reject the rest with a field error.
func FuzzPathAndQuery(f *testing.F) {
	for _, s := range []string{"alice", "a@b.c:_-.", "", "01ARZ3NDEKTSV4RRFFQ69G5FAV", "8ZZZZZZZZZZZZZZZZZZZZZZZZZ", "active", "all", "a b", "ü", strings.Repeat("x", 129)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if c, err := sale.ParseCustomerID(s); err == nil {
			if len(c) < 1 || len(c) > 128 || strings.IndexFunc(string(c), func(r rune) bool {
				return !strings.ContainsRune("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._:@-|", r)
			}) >= 0 {
				t.Fatalf("customer id %q accepted", s)
			}
		} else if !isField(err, "customerId") {
			t.Fatalf("customer id %q: %v", s, err)
		}
		if id, err := sale.ParsePromotionID(s); err == nil {
			if len(id) != 26 || id[0] > '7' || strings.ToUpper(id) != id {
				t.Fatalf("promotion id %q accepted", s)
			}
		} else if !isField(err, "promotionId") {
			t.Fatalf("promotion id %q: %v", s, err)
		}
		if f, err := sale.ParseFilter(s); err == nil {
			if f != sale.FilterAll && f != sale.FilterActive && f != sale.FilterUpcoming && f != sale.FilterFinished {
				t.Fatalf("filter %q accepted as %q", s, f)
			}
		} else if !isField(err, "status") {
			t.Fatalf("filter %q: %v", s, err)
		}
	})
}

func isField(err error, field string) bool {
	fe, ok := err.(*sale.FieldError)
	return ok && fe.Field == field
}

// rfc3339 is the contract's shape of a date-time, written independently of
// ParseTime's hand-written check.
var rfc3339 = regexp.MustCompile(`^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-](0\d|1\d|2[0-3]):[0-5]\d)$`)

// FuzzParseTime: an accepted time has the contract's shape, lies in its
// range in UTC and writes back as RFC 3339 to the same instant.
func FuzzParseTime(f *testing.F) {
	for _, s := range []string{"2026-11-11T00:00:00Z", "9999-12-31T23:59:59-23:59", "2027-01-01T00:00:00,5Z", "2027-01-01T00:00:00+24:00",
		"1970-01-01t00:00:00.000000001z", "2026-02-29T00:00:00Z", "0000-01-01T00:00:00Z"} {
		f.Add(s)
	}
	lo, hi := time.Unix(0, 0), time.Date(9999, 12, 31, 23, 59, 59, 0, time.UTC)
	f.Fuzz(func(t *testing.T, s string) {
		got, err := sale.ParseTime("publishAt", s)
		if err != nil {
			if !isField(err, "publishAt") {
				t.Fatalf("%q: %v", s, err)
			}
			return
		}
		if !rfc3339.MatchString(s) || got.Location() != time.UTC || got.Before(lo) || got.After(hi) {
			t.Fatalf("%q: accepted as %v", s, got)
		}
		back, err := time.Parse(time.RFC3339Nano, got.Format(time.RFC3339Nano))
		if err != nil || !back.Equal(got) {
			t.Fatalf("%q: %v does not write back (%v)", s, got, err)
		}
	})
}
