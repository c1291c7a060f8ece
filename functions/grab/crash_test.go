//go:build !mutation

package grab_test

import (
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/seckill/seckill/functions/local/issuer/issuertest"
	"github.com/seckill/seckill/shared/ddblocal/ddbtest"
	"github.com/seckill/seckill/shared/proctest"
)

// TestCrashMidSale runs the grab function's real binary, SIGKILLs it while
// 32 clients are grabbing, starts it again and lets every customer retry
// until they get a definite answer. The kill must have cut requests short;
// afterwards the tables show exactly the stock granted, nobody twice,
// left + granted == total, and every coupon a customer was told of is the
// one the table holds for them.
func TestCrashMidSale(t *testing.T) {
	t.Parallel()
	w := newWorld(t, nil)
	bin := proctest.Build(t, "./cmd")
	tables := w.store.Tables()
	start := func() (*proctest.Process, string, error) {
		port := proctest.FreePort(t)
		// Token mode, as deployed: every customer grabs with a token.
		cmd := proctest.Start(t, bin, append(issuertest.Shared().Env(),
			"PORT="+port,
			"AWS_ENDPOINT_URL_DYNAMODB="+ddbtest.Endpoint(t),
			"SECKILL_SALE_TABLE="+tables.Sale,
			"SECKILL_COUPONS_TABLE="+tables.Coupons,
		)...)
		url := "http://127.0.0.1:" + port
		return cmd, url, waitHTTP(url + "/healthz")
	}
	const total, customers = 400, 600
	p := w.promotion(total, time.Now().Add(-time.Second), time.Now().Add(time.Hour))

	cmd, url, err := start()
	if err != nil {
		t.Fatal(err)
	}
	var (
		current  atomic.Value
		granted  atomic.Int64
		refused  atomic.Int64
		mu       sync.Mutex
		winners  = map[string]string{}
		killOnce sync.Once
		kill     = make(chan struct{})
		abort    = make(chan struct{})
	)
	current.Store(url)
	var wg sync.WaitGroup
	jobs := make(chan string)
	for range 32 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for c := range jobs {
				for try := 0; ; try++ {
					select {
					case <-abort:
						return
					default:
					}
					if try > 200 {
						t.Errorf("customer %s never got an answer", c)
						break
					}
					a := grabOnce(quiet{t}, current.Load().(string), p.ID, customerBody(c))
					if a.status == 0 || a.status >= 500 {
						refused.Add(1)
						time.Sleep(50 * time.Millisecond)
						continue
					}
					if a.status == http.StatusCreated || a.code == "already-grabbed" {
						mu.Lock()
						if prev, ok := winners[c]; ok && prev != a.couponID {
							t.Errorf("customer %s saw coupons %s and %s", c, prev, a.couponID)
						}
						winners[c] = a.couponID
						mu.Unlock()
					}
					if a.status == http.StatusCreated && granted.Add(1) == total/3 {
						killOnce.Do(func() { close(kill) })
					}
					break
				}
			}
		}()
	}
	go func() {
		defer close(jobs)
		for i := range customers {
			select {
			case jobs <- fmt.Sprintf("crash-%04d", i):
			case <-abort:
				return
			}
		}
	}()
	// The kill and the restart happen here, on the test's own goroutine,
	// so that a failed restart fails the test instead of hanging it.
	select {
	case <-kill:
	case <-time.After(2 * time.Minute):
		close(abort)
		wg.Wait()
		t.Fatalf("only %d of %d grants before the kill was due", granted.Load(), total/3)
	}
	_ = cmd.Process.Signal(syscall.SIGKILL)
	_ = cmd.Wait(t, 10*time.Second)
	cmd, url, err = start()
	if err != nil {
		close(abort)
		wg.Wait()
		t.Fatalf("restart after the kill: %v\n%s", err, cmd.Log())
	}
	current.Store(url)
	wg.Wait()

	if refused.Load() == 0 {
		t.Error("the kill interrupted no request: the test did not crash anything mid-sale")
	}
	if len(winners) != total {
		t.Errorf("got %d customers holding a coupon, want %d", len(winners), total)
	}
	w.checkTotals(p, total)
	held := map[string]string{}
	for _, c := range w.couponsInTable(p.ID) {
		held[c.CustomerID] = c.CouponID
	}
	for c, id := range winners {
		if held[c] != id {
			t.Errorf("customer %s was told of coupon %s, the table holds %q", c, id, held[c])
		}
	}
	t.Logf("granted answers %d, holders %d, failed requests during the crash %d", granted.Load(), len(winners), refused.Load())
}

// waitHTTP waits up to 20 s for url to answer.
func waitHTTP(url string) error {
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if resp, err := http.Get(url); err == nil {
			resp.Body.Close()
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s never answered", url)
		}
	}
}
