package main

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/oklog/ulid/v2"
	"github.com/schollz/progressbar/v3"

	"github.com/seckill/seckill/shared/capacity"
	"github.com/seckill/seckill/shared/sale"
	"github.com/seckill/seckill/shared/store"
)

// forEach runs f on 0..n-1 from k goroutines.
func forEach(k, n int, f func(i int)) {
	var next atomic.Int64
	var wg sync.WaitGroup
	for range min(k, n) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1) - 1)
				if i >= n {
					return
				}
				f(i)
			}
		}()
	}
	wg.Wait()
}

// warmUp sells a promotion of its own before the measured run. DynamoDB
// Local is a JVM: its first few thousand transactions run at about half
// speed while the JIT compiles them (README), which a sale against real
// DynamoDB would never see.
func warmUp(ctx context.Context, c *client, k, n int) error {
	p, err := c.createPromotion(ctx, "warm-up", n)
	if err != nil {
		return err
	}
	warm := make([]string, n)
	for i := range warm {
		warm[i] = fmt.Sprintf("warm-%d", i)
	}
	if _, err := c.login(ctx, warm, k); err != nil {
		return err
	}
	forEach(k, n, func(i int) { c.grab(ctx, p.ID, warm[i]) })
	// Let the read model take in the warm-up's coupons first, so that the
	// run's lag is its own.
	deadline := time.Now().Add(time.Minute)
	for i := max(0, n-20); i < n; i++ {
		for time.Now().Before(deadline) {
			if got, err := c.couponPage(ctx, fmt.Sprintf("warm-%d", i)); err == nil && len(got) > 0 {
				break
			}
			time.Sleep(pollEvery)
		}
	}
	return nil
}

// RawResult is the store's own limit for one write pattern: transactions
// of k grants, from workers at once, issued straight to DynamoDB. The k
// grants go to one shard (one decrement by k and k coupon puts), as in a
// sale of one promotion, or to k shards (k decrements by one and k puts),
// as when a batch serves many promotions.
type RawResult struct {
	GrantsPerTransaction int     `json:"grantsPerTransaction"`
	ShardsPerTransaction int     `json:"shardsPerTransaction"`
	Workers              int     `json:"workers"`
	Transactions         int     `json:"transactions"`
	Seconds              float64 `json:"seconds"`
	TransactionsPerSec   float64 `json:"transactionsPerSecond"`
	GrantsPerSecond      float64 `json:"grantsPerSecond"`
}

func rawRate(ctx context.Context, st *store.Store, n, k, workers int, spread bool) (RawResult, error) {
	const shards = sale.MaxShards
	n = (n + shards - 1) / shards * shards // every shard takes n/shards transactions of k
	now := time.Now()
	p, err := sale.NewPromotion(ulid.Make().String(), sale.Draft{Name: "raw", Discount: 0.7, TotalCoupons: n * k,
		PublishAt: now.Add(-time.Second), FinishAt: now.Add(time.Hour)}, now)
	if err != nil {
		return RawResult{}, err
	}
	p.Shards = shards
	if err := st.CreatePromotion(ctx, p); err != nil {
		return RawResult{}, err
	}
	var failed sync.Once
	var ferr error
	start := time.Now()
	forEach(workers, n, func(i int) {
		grants := make([]store.Grant, k)
		for j := range grants {
			shard := i % shards
			if spread {
				// Over all transactions every shard takes n*k/shards grants.
				shard = (i*k + j) % shards
			}
			grants[j] = store.Grant{Promotion: p, Shard: shard, Coupon: sale.Coupon{ID: ulid.Make().String(), PromotionID: p.ID,
				CustomerID: fmt.Sprintf("raw-%d-%d", i, j), Discount: p.Discount, GrabbedAt: time.Now().Truncate(time.Millisecond)}}
		}
		for try := 0; ; try++ {
			err := st.GrabBatch(ctx, grants, time.Now())
			var be *store.BatchError
			if err == nil || errors.As(err, &be) && len(be.Held) > 0 { // held: an earlier try landed
				return
			}
			if try > 100 {
				failed.Do(func() { ferr = fmt.Errorf("raw transaction: %w", err) })
				return
			}
		}
	})
	secs := time.Since(start).Seconds()
	shardsPer := 1
	if spread {
		shardsPer = min(k, shards)
	}
	return RawResult{GrantsPerTransaction: k, ShardsPerTransaction: shardsPer, Workers: workers, Transactions: n, Seconds: secs,
		TransactionsPerSec: float64(n) / secs, GrantsPerSecond: float64(n*k) / secs}, ferr
}

// counter tells how many DynamoDB calls the grab function has made so far;
// ok is false when the run cannot know.
type counter func() (calls int64, ok bool)

// sell runs the scenario's phases, watches the read model, and checks the
// invariants.
func sell(ctx context.Context, c *client, o options, sc scenario, calls counter, rep *Report) error {
	promos := make([]promotion, len(sc.Promotions))
	var cerr error
	var once sync.Once
	forEach(16, len(promos), func(i int) {
		p, err := c.createPromotion(ctx, fmt.Sprintf("%s %d", sc.Name, i), sc.Promotions[i])
		if err != nil {
			once.Do(func() { cerr = err })
		}
		promos[i] = p
	})
	if cerr != nil {
		return cerr
	}
	rec := newRecorder(time.Now())
	watch := newWatcher(c, 4)
	total := 0
	for _, ph := range sc.Phases {
		total += len(ph.Asks)
	}
	var bar *progressbar.ProgressBar
	if o.Progress != nil {
		bar = progressbar.NewOptions(total, progressbar.OptionSetWriter(o.Progress),
			progressbar.OptionSetDescription(sc.Name), progressbar.OptionShowCount(), progressbar.OptionShowIts(),
			progressbar.OptionSetItsString("req"), progressbar.OptionThrottle(100*time.Millisecond),
			progressbar.OptionClearOnFinish())
	}
	for _, ph := range sc.Phases {
		before, known := calls()
		var unitsBefore capacity.Units
		if o.Meter != nil {
			unitsBefore = o.Meter.Total("grab")
		}
		pr := rec.begin(ph.Name)
		forEach(o.Concurrency, len(ph.Asks), func(i int) {
			a := ph.Asks[i]
			t0 := time.Now()
			ans := c.grab(ctx, promos[a.Promo].ID, a.Customer)
			end := time.Now()
			rec.add(pr, a, ans, t0, end)
			if ans.Outcome() == "granted" {
				watch.add(a.Customer, promos[a.Promo].ID, ans.Coupon.ID, end)
			}
			if bar != nil {
				_ = bar.Add(1)
			}
		})
		pr.end = time.Now()
		if after, ok := calls(); ok && known {
			pr.calls = after - before
		} else {
			pr.calls = -1
		}
		if o.Meter != nil {
			after := o.Meter.Total("grab")
			pr.units = &capacity.Units{Read: after.Read - unitsBefore.Read, Write: after.Write - unitsBefore.Write}
		}
	}
	if bar != nil {
		_ = bar.Finish()
	}
	lags, unseen := watch.wait(60 * time.Second)
	rep.fill(sc, rec, lags, unseen)
	err := rep.check(ctx, c, rec, sc, promos, o)
	// After the check every coupon is in the read model, so every lag is
	// known; the chart draws them all rather than the sample.
	if o.AllLags != nil {
		if all := o.AllLags(); len(all) > 0 {
			rep.Series = series(rec, all, rep.Coupons)
		}
	}
	if o.Meter != nil {
		addHeat(rep.Series, rec.start, o.Meter.Busiest())
	}
	return err
}
