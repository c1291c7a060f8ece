package admin_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"strconv"
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
	// The admin boundary's findings: each was accepted once.
	f.Add([]byte(`{"name":"a","discount":0.7,"totalCoupons":1,"finishAt":"9999-12-31T23:59:59-23:59"}`))
	f.Add([]byte(`{"name":"a","discount":1e-300,"totalCoupons":1,"finishAt":"2027-01-01T00:00:00Z"}`))
	f.Add([]byte(`{"NAME":"a","discount":0.7,"totalCoupons":1,"finishAt":"2027-01-01T00:00:00Z"}`))
	f.Add([]byte(`{"name":"a","name":"b","discount":0.7,"totalCoupons":1,"finishAt":"2027-01-01T00:00:00Z"}`))
	f.Add([]byte(`{"name":"a","discount":0.7,"totalCoupons":1,"finishAt":"2027-01-01T00:00:00,5Z"}`))
	f.Add([]byte(`{"name":"a","discount":0.7,"totalCoupons":1,"finishAt":"2027-01-01T00:00:00+24:00"}`))
	f.Add([]byte(`{"name":"a","discount":0.12345,"totalCoupons":1,"finishAt":"2027-01-01t00:00:00z"}`))
	now := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	fields := map[string]bool{"name": true, "discount": true, "totalCoupons": true, "publishAt": true, "finishAt": true}
	f.Fuzz(func(t *testing.T, body []byte) {
		d, err := admin.ParseDraft(body, now)
		var p sale.Promotion
		if err == nil {
			p, err = sale.NewPromotion("01ARZ3NDEKTSV4RRFFQ69G5FAV", d, now)
		}
		if err == nil {
			// What is accepted can be written back, and was written exactly.
			if _, err := json.Marshal(web.PromotionJSON(p, sale.Stock{Left: p.TotalCoupons}, now)); err != nil {
				t.Fatalf("body %q: accepted a promotion that cannot be encoded: %v", body, err)
			}
			if p.FinishAt.Year() > 9999 || p.PublishAt.Year() < 1970 || p.Discount < 0.0001 || p.Discount > 1 {
				t.Fatalf("body %q: accepted out-of-range %+v", body, p)
			}
			if frac := strconv.FormatFloat(p.Discount, 'f', -1, 64); len(frac) > len("0.1234") {
				t.Fatalf("body %q: accepted discount %s", body, frac)
			}
			dec := json.NewDecoder(bytes.NewReader(body))
			_, _ = dec.Token()
			seen := map[string]bool{}
			for dec.More() {
				tok, _ := dec.Token()
				name, _ := tok.(string)
				if seen[name] || !fields[name] {
					t.Fatalf("body %q: accepted member %q (duplicate or not exact)", body, name)
				}
				seen[name] = true
				var skip json.RawMessage
				_ = dec.Decode(&skip)
			}
			return
		}
		prob := web.ProblemFor(err)
		if prob.Code != web.CodeInvalidRequest || prob.Status != 400 {
			t.Fatalf("body %q: got problem %d %s (%v), want 400 invalid-request", body, prob.Status, prob.Code, err)
		}
		if !errors.Is(err, sale.ErrInvalid) && prob.Detail == "" {
			t.Fatalf("problem without detail for %q", body)
		}
	})
}
