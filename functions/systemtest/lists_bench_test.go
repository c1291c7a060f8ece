package systemtest_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/oklog/ulid/v2"

	"github.com/seckill/seckill/functions/admin"
	"github.com/seckill/seckill/functions/coupons"
	"github.com/seckill/seckill/shared/ddblocal/ddbtest"
	"github.com/seckill/seckill/shared/identity"
	"github.com/seckill/seckill/shared/sale"
	"github.com/seckill/seckill/shared/store"
)

// BenchmarkFirstPage times the first page of each list over real HTTP with
// 10,000 promotions stored (a third finished, a third active, a third
// upcoming, each of up to 32 shards) and a customer holding 10,000 coupons.
// A page must cost in proportion to itself: the target is p99 < 100 ms on
// DynamoDB Local. Run with `make bench-lists`.
func BenchmarkFirstPage(b *testing.B) {
	s, _ := ddbtest.Store(b)
	ctx := context.Background()
	now := time.Now()
	const n = 10_000
	var wg sync.WaitGroup
	next := make(chan int)
	for range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				publish := []time.Time{now.Add(-2 * time.Hour), now.Add(-time.Minute), now.Add(time.Hour)}[i%3]
				finish := []time.Time{now.Add(-time.Hour), now.Add(time.Hour), now.Add(2 * time.Hour)}[i%3]
				total := []int{50, 1000, 10_000_000}[i%3]
				p := sale.Promotion{ID: ulid.Make().String(), Name: fmt.Sprint("p", i), Discount: 0.7, TotalCoupons: total,
					PublishAt: publish.Truncate(time.Millisecond).UTC(), FinishAt: finish.Truncate(time.Millisecond).UTC(),
					CreatedAt: now.UTC(), Version: 1, Shards: sale.ShardCount(total)}
				if err := s.CreatePromotion(ctx, p); err != nil {
					b.Error(err)
					return
				}
			}
		}()
	}
	for i := range n {
		next <- i
	}
	close(next)
	wg.Wait()
	var cs []sale.Coupon
	for range n {
		cs = append(cs, sale.Coupon{ID: ulid.Make().String(), PromotionID: "P", CustomerID: "carol", Discount: 0.7, GrabbedAt: now.UTC()})
	}
	for _, err := range s.ProjectCoupons(ctx, cs, store.Batched) {
		if err != nil {
			b.Fatal(err)
		}
	}
	adminSrv := httptest.NewServer(admin.New(s, token, time.Now, nil).Router())
	defer adminSrv.Close()
	couponsSrv := httptest.NewServer(coupons.New(s, time.Now, identity.Open()).Router())
	defer couponsSrv.Close()
	client := &http.Client{Timeout: 10 * time.Second}
	for _, tc := range []struct{ name, url string }{
		{"admin-all", adminSrv.URL + "/admin/promotions"},
		{"admin-active", adminSrv.URL + "/admin/promotions?status=active"},
		{"admin-finished", adminSrv.URL + "/admin/promotions?status=finished"},
		{"promotions", couponsSrv.URL + "/promotions"},
		{"coupons", couponsSrv.URL + "/customers/carol/coupons"},
	} {
		b.Run(tc.name, func(b *testing.B) {
			var took []time.Duration
			for b.Loop() {
				req, _ := http.NewRequest(http.MethodGet, tc.url, nil)
				req.Header.Set("Authorization", "Bearer "+token)
				start := time.Now()
				resp, err := client.Do(req)
				if err != nil || resp.StatusCode != 200 {
					b.Fatalf("%s: %v %v", tc.url, resp, err)
				}
				resp.Body.Close()
				took = append(took, time.Since(start))
			}
			slices.Sort(took)
			b.ReportMetric(float64(took[len(took)/2].Microseconds())/1000, "p50-ms")
			b.ReportMetric(float64(took[len(took)*99/100].Microseconds())/1000, "p99-ms")
		})
	}
	_ = sale.PageQuery{}
}
