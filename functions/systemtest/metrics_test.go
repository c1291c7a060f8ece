package systemtest_test

import (
	"fmt"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/oklog/ulid/v2"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/seckill/seckill/functions/grab"
	"github.com/seckill/seckill/shared/contract/contracttest"
	"github.com/seckill/seckill/shared/ddblocal/ddbtest"
	"github.com/seckill/seckill/shared/identity"
	"github.com/seckill/seckill/shared/metrics"
	"github.com/seckill/seckill/shared/sale"
	"github.com/seckill/seckill/shared/store"
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

// TestGrabUnits: a stampede over real HTTP, with the group commit packing
// many grants into one transaction: the units of the grab function's
// transactions, as DynamoDB reports them (a deployment) or as the rules
// count them (the local stack), are all spent by its grants, split among
// each batch's members so that none is lost and none counted twice; and
// the answers from memory that follow cost none.
func TestGrabUnits(t *testing.T) {
	t.Parallel()
	for _, source := range []struct {
		name string
		db   func(t *testing.T) store.DB
	}{
		{"reported by DynamoDB", func(t *testing.T) store.DB { return ddbtest.Client(t, store.WithCapacity(store.Reported)) }},
		{"counted by the rules", func(t *testing.T) store.DB { return store.NewLiveMeter().Wrap("grab", ddbtest.Client(t)) }},
	} {
		t.Run(source.name, func(t *testing.T) {
			t.Parallel()
			db := source.db(t)
			st := store.New(db, ddbtest.Tables(t, ddbtest.Client(t)), ddbtest.CallTimeout)
			grabUnits(t, st)
		})
	}
}

func grabUnits(t *testing.T, st *store.Store) {
	p := metrics.NewPrometheus()
	batches := 0
	var mu sync.Mutex
	svc := grab.NewService(st, time.Now, grab.Options{PromotionTTL: time.Minute, MaxAttempts: 8, InFlight: 1,
		OnBatch: func(n int) { mu.Lock(); defer mu.Unlock(); batches++ }})
	srv := httptest.NewServer(grab.New(svc, identity.Open()).Router().SetBudget(ddbtest.TestBudget).SetMetrics(p))
	defer srv.Close()
	now := time.Now()
	const coupons, customers = 40, 60
	promo, err := sale.NewPromotion(ulid.Make().String(), sale.Draft{Name: "u", Discount: 0.5, TotalCoupons: coupons, PublishAt: now.Add(-time.Second), FinishAt: now.Add(time.Hour)}, now)
	if err != nil {
		t.Fatal(err)
	}
	if err := st.CreatePromotion(t.Context(), promo); err != nil {
		t.Fatal(err)
	}
	client := contracttest.Client(t, nil)
	grabAll := func() {
		var wg sync.WaitGroup
		for i := range customers {
			wg.Go(func() {
				resp, err := client.Post(srv.URL+"/promotions/"+promo.ID+"/coupons", "application/json", strings.NewReader(fmt.Sprintf(`{"customerId":"c%d"}`, i)))
				if err != nil {
					t.Error(err)
					return
				}
				resp.Body.Close()
			})
		}
		wg.Wait()
	}
	grabAll()
	const route = "POST /promotions/{promotionId}/coupons"
	if got := testutil.ToFloat64(p.Answers("grab", route, "ok")); got != coupons {
		t.Fatalf("got %v grants, want %d", got, coupons)
	}
	mu.Lock()
	if batches >= coupons {
		t.Logf("%d batches for %d grants: no transaction was shared", batches, coupons)
	}
	mu.Unlock()
	consumed := sumOf(t, p, "seckill_dynamodb_capacity_units_total", map[string]string{"function": "grab", "operation": "TransactWriteItems"})
	spent := 0.0
	for _, code := range []string{"ok", "sold-out", "already-grabbed"} {
		spent += sumOf(t, p, "seckill_answer_capacity_units_total", map[string]string{"function": "grab", "code": code, "kind": "write"})
	}
	if consumed <= 0 || math.Abs(spent-consumed) > 1e-6 {
		t.Errorf("the transactions consumed %v write units, the answers spent %v", consumed, spent)
	}
	// Everyone again: holders and stock are known, so no answer costs a unit.
	before := sumOf(t, p, "seckill_answer_capacity_units_total", nil)
	grabAll()
	if after := sumOf(t, p, "seckill_answer_capacity_units_total", nil); after != before {
		t.Errorf("answers from memory cost %v units, want none", after-before)
	}
}

// sumOf adds up the values of the series of name whose labels hold want.
func sumOf(t *testing.T, p *metrics.Prometheus, name string, want map[string]string) float64 {
	t.Helper()
	families, err := p.Registry().Gather()
	if err != nil {
		t.Fatal(err)
	}
	sum := 0.0
	for _, f := range families {
		if f.GetName() != name {
			continue
		}
	series:
		for _, m := range f.GetMetric() {
			labels := map[string]string{}
			for _, l := range m.GetLabel() {
				labels[l.GetName()] = l.GetValue()
			}
			for k, v := range want {
				if labels[k] != v {
					continue series
				}
			}
			sum += m.GetCounter().GetValue()
		}
	}
	return sum
}
