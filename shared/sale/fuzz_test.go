package sale_test

import (
	"strings"
	"testing"

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
				return !strings.ContainsRune("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._:@-", r)
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
