package admin_test

import (
	"errors"
	"testing"
	"time"

	"github.com/seckill/seckill/functions/admin"
	"github.com/seckill/seckill/shared/sale"
	"github.com/seckill/seckill/shared/web"
)

// FuzzParseDraft: any body either becomes a draft that the domain validates,
// or an invalid-request problem; never a panic, never another error.
func FuzzParseDraft(f *testing.F) {
	f.Add([]byte(`{"name":"Double 11","discount":0.7,"totalCoupons":1000,"publishAt":"2026-11-11T00:00:00Z","finishAt":"2026-11-11T02:00:00Z"}`))
	f.Add([]byte(`{"name":"","discount":-1,"totalCoupons":1e99}`))
	f.Add([]byte(`{"finishAt":"9999-12-31T23:59:59.999999999+14:00"}`))
	f.Add([]byte(`[1,2,3]`))
	now := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, body []byte) {
		d, err := admin.ParseDraft(body, now)
		if err == nil {
			_, err = sale.NewPromotion("01ARZ3NDEKTSV4RRFFQ69G5FAV", d, now)
		}
		if err == nil {
			return
		}
		p := web.ProblemFor(err)
		if p.Code != web.CodeInvalidRequest || p.Status != 400 {
			t.Fatalf("body %q: got problem %d %s (%v), want 400 invalid-request", body, p.Status, p.Code, err)
		}
		if !errors.Is(err, sale.ErrInvalid) && p.Detail == "" {
			t.Fatalf("problem without detail for %q", body)
		}
	})
}
