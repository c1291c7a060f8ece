package grab_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/oklog/ulid/v2"

	"github.com/seckill/seckill/functions/local/issuer/issuertest"
	"github.com/seckill/seckill/shared/ddblocal/ddbtest"
	"github.com/seckill/seckill/shared/identity"
	"github.com/seckill/seckill/shared/sale"
)

// BenchmarkGrabPath measures, in one run on the same DynamoDB Local:
//   - raw: the grant's write pattern (shard decrement + coupon put in one
//     transaction) issued straight to DynamoDB with the SDK;
//   - http: grants through the grab function over real HTTP;
//   - sold-out: rejections once the promotion is sold out;
//
// and reports http/raw and sold-out/http. Run it with `make bench-grab`
// (-benchtime 1x: each phase has a fixed size, so one pass is the figure).
func BenchmarkGrabPath(b *testing.B) {
	const (
		grants      = 1500
		rejections  = 6000
		concurrency = 32
	)
	w := newWorld(b, nil)
	ctx := context.Background()
	for b.Loop() {
		// Warm DynamoDB Local's JVM so that the phase measured first is not
		// penalised.
		warm := w.promotion(300, time.Now().Add(-time.Second), time.Now().Add(time.Hour))
		run(concurrency, 300, func(i int) bool {
			return grabOnce(b, w.url, warm.ID, customerBody(fmt.Sprintf("warm-%d", i))).status == http.StatusCreated
		})
		rawPromo := w.promotion(grants, time.Now().Add(-time.Second), time.Now().Add(time.Hour))
		rawRate := run(concurrency, grants, func(i int) bool {
			// The same shard choice the service makes: random among shards.
			c := sale.Coupon{ID: ulid.Make().String(), PromotionID: rawPromo.ID, CustomerID: fmt.Sprintf("raw-%d", i), Discount: 0.7, GrabbedAt: time.Now()}
			for {
				err := ddbtest.Grab(ctx, w.store, rawPromo, rand.IntN(rawPromo.Shards), c, time.Now())
				if err == nil {
					return true
				}
			}
		})
		httpPromo := w.promotion(grants, time.Now().Add(-time.Second), time.Now().Add(time.Hour))
		httpRate := run(concurrency, grants, func(i int) bool {
			return grabOnce(b, w.url, httpPromo.ID, customerBody(fmt.Sprintf("http-%d", i))).status == http.StatusCreated
		})
		soldOutRate := run(concurrency, rejections, func(i int) bool {
			return grabOnce(b, w.url, httpPromo.ID, customerBody(fmt.Sprintf("late-%d", i))).code == "sold-out"
		})
		b.ReportMetric(rawRate, "raw-grants/s")
		b.ReportMetric(httpRate, "http-grants/s")
		b.ReportMetric(httpRate/rawRate, "http/raw")
		b.ReportMetric(soldOutRate, "sold-outs/s")
		b.ReportMetric(soldOutRate/httpRate, "sold-out/grant")
	}
}

// run calls op n times from c goroutines and returns successes per second;
// it fails the benchmark's numbers loudly if any op fails.
func run(c, n int, op func(i int) bool) float64 {
	var wg sync.WaitGroup
	next := make(chan int)
	var mu sync.Mutex
	ok := 0
	start := time.Now()
	for range c {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				if op(i) {
					mu.Lock()
					ok++
					mu.Unlock()
				}
			}
		}()
	}
	for i := range n {
		next <- i
	}
	close(next)
	wg.Wait()
	return float64(ok) / time.Since(start).Seconds()
}

// BenchmarkAnswerFromMemory is the Go side of a rejection once a
// promotion is sold out and its holders are loaded: router, token, body
// decoding, the service, the problem or coupon answer and the request's log
// line, with no network and no DynamoDB call; in open mode (the body names
// the customer) and in token mode, where each customer's token was verified
// once and is answered from the cache of verified tokens. `go test -bench
// AnswerFromMemory -cpuprofile` shows where the time goes.
func BenchmarkAnswerFromMemory(b *testing.B) {
	for _, mode := range []string{"open", "jwt"} {
		b.Run(mode, func(b *testing.B) {
			w := newWorld(b, nil)
			o := &observed{}
			url := w.instance(o)
			p := w.promotion(20, time.Now().Add(-time.Second), time.Now().Add(time.Hour))
			for i := range 40 {
				grabOnce(b, url, p.ID, customerBody(fmt.Sprintf("c-%d", i)))
			}
			guard := identity.Open()
			if mode == "jwt" {
				guard = issuertest.SharedGuard(b)
			}
			h := w.handlerWith(o, guard)
			tokens := make([]string, 40)
			for i := range tokens {
				tokens[i] = issuertest.TokenFor(fmt.Sprintf("c-%d", i))
			}
			ask := func(i int) int {
				return serveAs(h, p.ID, fmt.Sprintf("c-%d", i), tokens[i])
			}
			// Until the holders are in memory, an answer costs a read; the
			// first answer of each token verifies it.
			for i := range tokens {
				ask(i)
			}
			for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); {
				before := o.Calls.Load()
				ask(0)
				ask(39)
				if o.Calls.Load() == before {
					break
				}
				time.Sleep(10 * time.Millisecond)
			}
			b.ReportAllocs()
			calls := o.Calls.Load()
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				i := 0
				for pb.Next() {
					i++
					if code := ask(i % 40); code != http.StatusConflict {
						b.Fatalf("answered %d", code)
					}
				}
			})
			b.StopTimer()
			b.ReportMetric(float64(o.Calls.Load()-calls)/float64(b.N), "dynamodb-calls/op")
		})
	}
}
