package main

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/oklog/ulid/v2"
	"github.com/schollz/progressbar/v3"

	"github.com/seckill/seckill/shared/sale"
	"github.com/seckill/seckill/shared/store"
)

// plan orders r requests from u customers: every customer asks once
// (when r allows), the rest are customers asking again, all shuffled.
func plan(u, r int, rng *rand.Rand) []string {
	if rng == nil {
		rng = rand.New(rand.NewPCG(1, 2))
	}
	out := make([]string, r)
	for i := range out {
		if i < u {
			out[i] = customerName(i)
		} else {
			out[i] = customerName(rng.IntN(u))
		}
	}
	rng.Shuffle(len(out), func(i, j int) { out[i], out[j] = out[j], out[i] })
	return out
}

func customerName(i int) string { return fmt.Sprintf("cust-%06d", i) }

// forEach runs f on 0..n-1 from k goroutines.
func forEach(k, n int, f func(i int)) {
	next := make(chan int)
	var wg sync.WaitGroup
	for range k {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				f(i)
			}
		}()
	}
	for i := range n {
		next <- i
	}
	close(next)
	wg.Wait()
}

func warmUp(ctx context.Context, c *client, k int) error {
	const n = 200
	p, err := c.createPromotion(ctx, "warm-up", n)
	if err != nil {
		return err
	}
	forEach(k, n, func(i int) { c.grab(ctx, p.ID, fmt.Sprintf("warm-%d", i)) })
	return nil
}

// RawResult is the store's own limit: the grant's write pattern (shard
// decrement and coupon put in one transaction) issued straight to DynamoDB.
type RawResult struct {
	Transactions int     `json:"transactions"`
	Seconds      float64 `json:"seconds"`
	PerSecond    float64 `json:"perSecond"`
}

func rawRate(ctx context.Context, st *store.Store, n, k int) (RawResult, error) {
	now := time.Now()
	p, err := sale.NewPromotion(ulid.Make().String(), sale.Draft{Name: "raw", Discount: 0.7, TotalCoupons: n,
		PublishAt: now.Add(-time.Second), FinishAt: now.Add(time.Hour)}, now)
	if err != nil {
		return RawResult{}, err
	}
	if err := st.CreatePromotion(ctx, p); err != nil {
		return RawResult{}, err
	}
	var failed sync.Once
	var ferr error
	start := time.Now()
	forEach(k, n, func(i int) {
		c := sale.Coupon{ID: ulid.Make().String(), PromotionID: p.ID, CustomerID: fmt.Sprintf("raw-%d", i), Discount: p.Discount, GrabbedAt: time.Now()}
		// The same shard choice the grab function makes: random, until one
		// takes it (a shard may run dry before the others).
		for try := 0; ; try++ {
			err := st.Grab(ctx, p, rand.IntN(p.Shards), c, time.Now())
			if err == nil {
				return
			}
			if try > 1000 {
				failed.Do(func() { ferr = fmt.Errorf("raw transaction: %w", err) })
				return
			}
		}
	})
	secs := time.Since(start).Seconds()
	return RawResult{Transactions: n, Seconds: secs, PerSecond: float64(n) / secs}, ferr
}

// sell runs the sale and the read-model watch, then checks the invariants.
func sell(ctx context.Context, c *client, o options, rep *Report) error {
	p, err := c.createPromotion(ctx, "bench", o.Coupons)
	if err != nil {
		return err
	}
	rep.PromotionID = p.ID
	requests := plan(o.Customers, o.Requests, rand.New(rand.NewPCG(1, uint64(time.Now().UnixNano()))))
	rec := newRecorder()
	watch := newWatcher(c, p.ID, 8)

	var bar *progressbar.ProgressBar
	if o.Progress != nil {
		bar = progressbar.NewOptions(len(requests), progressbar.OptionSetWriter(o.Progress),
			progressbar.OptionSetDescription("flash sale"), progressbar.OptionShowCount(), progressbar.OptionShowIts(),
			progressbar.OptionSetItsString("req"), progressbar.OptionThrottle(100*time.Millisecond),
			progressbar.OptionClearOnFinish())
	}
	start := time.Now()
	rec.start = start
	forEach(o.Concurrency, len(requests), func(i int) {
		t0 := time.Now()
		a := c.grab(ctx, p.ID, requests[i])
		rec.add(requests[i], a, t0, time.Now())
		if a.Outcome() == "granted" {
			watch.add(requests[i], a.Coupon.ID, time.Now())
		}
		if bar != nil {
			_ = bar.Add(1)
		}
	})
	rep.SaleSeconds = time.Since(start).Seconds()
	if bar != nil {
		_ = bar.Finish()
	}
	lags, unseen := watch.wait(60 * time.Second)
	rep.fill(rec, lags, unseen)
	return rep.check(ctx, c, rec, o)
}
