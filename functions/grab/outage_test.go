//go:build !mutation

package grab_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/seckill/seckill/functions/grab"
	"github.com/seckill/seckill/functions/local/issuer/issuertest"
	"github.com/seckill/seckill/functions/projector"
	"github.com/seckill/seckill/shared/ddblocal/ddbtest"
	"github.com/seckill/seckill/shared/faultproxy"
	"github.com/seckill/seckill/shared/sale"
	"github.com/seckill/seckill/shared/store"
	"github.com/seckill/seckill/shared/streams"
	"github.com/seckill/seckill/shared/web"
)

// phase is one stretch of a faulty sale: the proxy's mode for a while.
type phase struct {
	mode faultproxy.Mode
	for_ time.Duration
}

// timed is one answer with when its request started and how long it took.
type timed struct {
	answer
	customer string
	start    time.Time
	took     time.Duration
}

// faultySale runs a sale of total coupons for customers over real HTTP,
// with the grab function, the stream runner and the projector all reaching
// DynamoDB Local through a fault proxy that goes through phases once
// `after` grants have landed. Each customer retries until it hears a
// definite answer, honouring Retry-After (shortened), as real clients do.
// It returns every answer, when each phase began, and checks the
// invariants from the tables and the read model.
func faultySale(t *testing.T, total, customers int, every time.Duration, phases []phase) (answers, probes []timed, marks []time.Time) {
	ctx := context.Background()
	direct := ddbtest.Client(t)
	tables := ddbtest.Tables(t, direct)
	proxy := ddbtest.FaultProxy(t)
	viaProxy, err := store.NewClient(ctx, proxy.URL())
	if err != nil {
		t.Fatal(err)
	}
	streamsViaProxy, err := store.NewStreamsClient(ctx, proxy.URL())
	if err != nil {
		t.Fatal(err)
	}
	st := store.New(viaProxy, tables, 0)
	srv := httptest.NewServer(grab.New(grab.NewService(st, time.Now, grab.Options{PromotionTTL: time.Second, MaxAttempts: 8}), issuertest.SharedGuard(t)).Router())
	defer srv.Close()
	runnerCtx, stopRunner := context.WithCancel(ctx)
	runnerDone := make(chan error, 1)
	go func() {
		runnerDone <- streams.New(viaProxy, streamsViaProxy, tables.Sale, tables.Checkpoints, projector.New(st).Handle,
			streams.Options{Poll: 50 * time.Millisecond, PollTimeout: 3 * time.Second}).Run(runnerCtx)
	}()
	defer func() { stopRunner(); <-runnerDone }()

	w := &world{t: t, store: store.New(direct, tables, ddbtest.CallTimeout), db: direct, url: srv.URL}
	p := w.promotion(total, time.Now().Add(-time.Second), time.Now().Add(time.Hour))

	var (
		mu      sync.Mutex
		granted int
	)
	faultsBegin := make(chan struct{})
	var begun sync.Once
	queue := make(chan string)
	var wg sync.WaitGroup
	for range 32 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for c := range queue {
				for {
					start := time.Now()
					a := grabOnce(t, w.url, p.ID, customerBody(c))
					mu.Lock()
					answers = append(answers, timed{a, c, start, time.Since(start)})
					if a.status == http.StatusCreated {
						granted++
						if granted == total/5 {
							begun.Do(func() { close(faultsBegin) })
						}
					}
					mu.Unlock()
					if a.status != http.StatusServiceUnavailable && a.status != http.StatusTooManyRequests {
						break
					}
					time.Sleep(100 * time.Millisecond) // Retry-After says 1 s; the test is in a hurry
				}
			}
		}()
	}
	// A prober plays a fresh client arriving every 50 ms, from the first
	// fault to the end of the last: what it hears tells when the function
	// recovered, whatever the busy workers are stuck in.
	stopProbe := make(chan struct{})
	probeDone := make(chan struct{})
	go func() {
		defer close(probeDone)
		<-faultsBegin
		var probing sync.WaitGroup
		defer probing.Wait()
		for i := 0; ; i++ {
			select {
			case <-stopProbe:
				return
			case <-time.After(50 * time.Millisecond):
			}
			probing.Add(1)
			go func() { // each probe on its own: one stuck probe must not delay the next
				defer probing.Done()
				c := fmt.Sprintf("probe-%04d", i)
				start := time.Now()
				a := grabOnce(t, w.url, p.ID, customerBody(c))
				mu.Lock()
				probes = append(probes, timed{a, c, start, time.Since(start)})
				mu.Unlock()
			}()
		}
	}()
	phasesDone := make(chan struct{})
	go func() {
		defer close(phasesDone)
		select {
		case <-faultsBegin:
		case <-time.After(30 * time.Second):
			t.Error("the sale never reached the fault")
		}
		for _, ph := range phases {
			marks = append(marks, time.Now())
			if err := proxy.Set(ph.mode); err != nil {
				t.Error(err)
			}
			time.Sleep(ph.for_)
		}
		marks = append(marks, time.Now())
		_ = proxy.Set(faultproxy.Pass)
		time.Sleep(web.RequestBudget) // the probe sees the recovery from the last fault
		close(stopProbe)
	}()
	for i := range customers {
		queue <- fmt.Sprintf("cust-%04d", i)
		time.Sleep(every)
	}
	close(queue)
	wg.Wait()
	<-phasesDone
	<-probeDone

	// Invariants, from the tables: stock exact, nobody twice, and every
	// customer told of a coupon holds exactly that one.
	w.checkTotals(p, -1)
	holders := map[string]string{}
	for _, it := range w.couponsInTable(p.ID) {
		holders[it.CustomerID] = it.CouponID
	}
	final := map[string]timed{}
	for _, a := range append(slices.Clone(answers), probes...) {
		switch {
		case a.status == http.StatusCreated, a.status == http.StatusConflict && (a.code == "sold-out" || a.code == "already-grabbed"):
			final[a.customer] = a
		case (a.status == http.StatusServiceUnavailable || a.status == http.StatusTooManyRequests) && a.code == "try-again" && a.retryAfter == "1":
		default:
			t.Errorf("%s: unexpected answer %+v", a.customer, a.answer)
		}
	}
	for c, a := range final {
		if a.code == "sold-out" && holders[c] != "" {
			t.Errorf("%s was told sold-out but holds %s", c, holders[c])
		}
		if (a.status == http.StatusCreated || a.code == "already-grabbed") && holders[c] != a.couponID {
			t.Errorf("%s was told of coupon %q, holds %q", c, a.couponID, holders[c])
		}
	}
	definite := 0
	for c := range final {
		if strings.HasPrefix(c, "cust-") {
			definite++
		}
	}
	if definite != customers {
		t.Errorf("%d of %d customers heard a definite answer", definite, customers)
	}
	// Probes may give up on a 503; customers never do. So either the stock
	// is all granted or every customer holds a coupon.
	customersHolding := 0
	for c := range holders {
		if strings.HasPrefix(c, "cust-") {
			customersHolding++
		}
	}
	if len(holders) != total && customersHolding != customers {
		t.Errorf("%d of %d coupons granted, %d of %d customers hold one", len(holders), total, customersHolding, customers)
	}

	// The read model converges: every holder's coupon exactly once.
	deadline := time.Now().Add(30 * time.Second)
	for c, id := range holders {
		for {
			got, _, err := w.store.CustomerCoupons(ctx, sale.CustomerID(c), sale.PageQuery{Limit: 100})
			if err == nil && len(got) == 1 && got[0].ID == id {
				break
			}
			if err == nil && len(got) > 1 {
				t.Fatalf("%s has %d coupons in the read model", c, len(got))
			}
			if time.Now().After(deadline) {
				t.Fatalf("the coupon of %s never reached the read model", c)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	return answers, probes, marks
}

// outageFigures reports, for requests under way at some time in [from,
// to), the answer-time p99 and the count of each status, and the recovery
// time: from `to` until a probe started after it heard a definite answer.
func outageFigures(answers, probes []timed, from, to time.Time) (p99 time.Duration, statuses map[int]int, recovery time.Duration) {
	statuses = map[int]int{}
	var took []time.Duration
	recovery = -1
	for _, a := range append(slices.Clone(answers), probes...) {
		if a.start.Before(to) && a.start.Add(a.took).After(from) {
			took = append(took, a.took)
			statuses[a.status]++
		}
	}
	for _, a := range probes {
		if !a.start.Before(to) && a.status != http.StatusServiceUnavailable && a.status != http.StatusTooManyRequests {
			if r := a.start.Add(a.took).Sub(to); recovery < 0 || r < recovery {
				recovery = r
			}
		}
	}
	slices.Sort(took)
	if len(took) > 0 {
		p99 = took[(len(took)*99)/100]
	}
	return p99, statuses, recovery
}

// TestStoreOutage blackholes the store for four seconds mid-sale, then,
// three seconds later, refuses connections for three: clients get try-again in bounded time, the
// functions recover on their own, and nothing is lost or doubled.
//
// Not parallel: the answer times it reports are cleaner alone.
func TestStoreOutage(t *testing.T) {
	// Customers arrive at 200 a second for 10 s, with stock for all of
	// them and the probes, so that the sale still runs when the second fault
	// comes: a sold-out promotion is answered from memory, without the store.
	answers, probes, marks := faultySale(t, 3000, 2000, 5*time.Millisecond, []phase{
		{faultproxy.Blackhole, 4 * time.Second},
		// Longer than the request budget, so requests stuck in the blackhole
		// have answered and new ones show the recovery before the next fault.
		{faultproxy.Pass, 3 * time.Second},
		// Longer than the budget too: a grab retries through a shorter one.
		{faultproxy.Refuse, 3 * time.Second},
	})
	for i, name := range []string{"blackhole", "pass", "refuse"} {
		if name == "pass" {
			continue
		}
		p99, statuses, recovery := outageFigures(answers, probes, marks[i], marks[i+1])
		t.Logf("%s: %v answers, p99 %v, recovery after it %v", name, statuses, p99, recovery)
		if statuses[http.StatusServiceUnavailable] == 0 {
			t.Errorf("%s: no request saw the fault", name)
		}
		// Bounded, not fast: the budget is 2.5 s; a hung request would take 30.
		if p99 > 2*web.RequestBudget {
			t.Errorf("%s: p99 answer time %v, want it bounded by the request budget %v", name, p99, web.RequestBudget)
		}
		checkRecovery(t, name, recovery)
	}
}

// TestConnectionsCut cuts every connection after its request reached
// DynamoDB and before the answer came back, for three seconds mid-sale:
// transactions land without their callers knowing. Retries must find those
// coupons (201 or already-grabbed with them) and never grant a second.
func TestConnectionsCut(t *testing.T) {
	answers, probes, marks := faultySale(t, 150, 400, 0, []phase{{faultproxy.Cut, 3 * time.Second}})
	p99, statuses, recovery := outageFigures(answers, probes, marks[0], marks[1])
	t.Logf("cut: %v answers, p99 %v, recovery after it %v", statuses, p99, recovery)
	if statuses[http.StatusServiceUnavailable] == 0 {
		t.Error("no request saw the cut")
	}
	checkRecovery(t, "cut", recovery)
}

// checkRecovery: a fresh client heard a definite answer soon after the
// fault ended, from the same process: no restart, no repair.
func checkRecovery(t *testing.T, fault string, recovery time.Duration) {
	t.Helper()
	if recovery < 0 || recovery > 2*web.RequestBudget {
		t.Errorf("%s: no definite answer within %v of the store's return (got %v)", fault, 2*web.RequestBudget, recovery)
	}
}
