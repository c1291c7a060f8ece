package systemtest_test

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/oklog/ulid/v2"

	"github.com/seckill/seckill/functions/grab"
	"github.com/seckill/seckill/shared/contract/contracttest"
	"github.com/seckill/seckill/shared/ddblocal/ddbtest"
	"github.com/seckill/seckill/shared/identity"
	"github.com/seckill/seckill/shared/metrics"
	"github.com/seckill/seckill/shared/sale"
)

// TestGrabMetrics: over real HTTP and DynamoDB Local, every grab answer is
// counted by its code, with its answer time and the DynamoDB calls it
// made, and the Prometheus text at /metrics says so.
func TestGrabMetrics(t *testing.T) {
	t.Parallel()
	st, _ := ddbtest.Store(t)
	p := metrics.NewPrometheus()
	srv := httptest.NewServer(grab.New(grab.NewService(st, time.Now, grab.Options{PromotionTTL: time.Second, MaxAttempts: 8}), identity.Open()).Router().SetBudget(ddbtest.TestBudget).SetMetrics(p))
	defer srv.Close()
	now := time.Now()
	promo, err := sale.NewPromotion(ulid.Make().String(), sale.Draft{Name: "m", Discount: 0.5, TotalCoupons: 1, PublishAt: now.Add(-time.Second), FinishAt: now.Add(time.Hour)}, now)
	if err != nil {
		t.Fatal(err)
	}
	if err := st.CreatePromotion(t.Context(), promo); err != nil {
		t.Fatal(err)
	}
	client := contracttest.Client(t, nil)
	for _, c := range []struct{ id, customer string }{{promo.ID, "alice"}, {promo.ID, "alice"}, {promo.ID, "bob"}, {ulid.Make().String(), "carol"}} {
		resp, err := client.Post(srv.URL+"/promotions/"+c.id+"/coupons", "application/json", strings.NewReader(fmt.Sprintf(`{"customerId":%q}`, c.customer)))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}
	scrape := httptest.NewServer(p.Handler())
	defer scrape.Close()
	// /metrics is an operator's endpoint, outside the contract.
	resp, err := (&http.Client{Transport: &http.Transport{}}).Get(scrape.URL)
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	text := string(raw)
	for _, code := range []string{"ok", "already-grabbed", "sold-out", "promotion-not-found"} {
		want := fmt.Sprintf(`seckill_answers_total{code=%q,function="grab",route="POST /promotions/{promotionId}/coupons"} 1`, code)
		if !strings.Contains(text, want) {
			t.Errorf("no %s in the scrape", want)
		}
	}
	for _, want := range []string{`seckill_latency_seconds_count{function="grab"} 4`, `seckill_dynamodb_calls_per_request_count{function="grab"} 4`} {
		if !strings.Contains(text, want) {
			t.Errorf("no %s in the scrape", want)
		}
	}
	if strings.Contains(text, `seckill_dynamodb_calls_per_request_sum{function="grab"} 0`) {
		t.Error("the grabs made no DynamoDB call that was counted")
	}
}
