package grab_test

import (
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/seckill/seckill/shared/ddblocal/ddbtest"
	"github.com/seckill/seckill/shared/proctest"
)

// TestCrashMidSale runs the grab function's real binary, SIGKILLs it while
// 32 clients are grabbing, starts it again and lets every customer retry
// until they get a definite answer. The tables must then show exactly the
// stock granted, nobody twice, and left + granted == total.
func TestCrashMidSale(t *testing.T) {
	t.Parallel()
	w := newWorld(t, nil)
	bin := proctest.Build(t, "./cmd")
	tables := w.store.Tables()
	start := func() (*proctest.Process, string) {
		port := proctest.FreePort(t)
		cmd := proctest.Start(t, bin,
			"PORT="+port,
			"AWS_ENDPOINT_URL_DYNAMODB="+ddbtest.Endpoint(t),
			"SECKILL_SALE_TABLE="+tables.Sale,
			"SECKILL_COUPONS_TABLE="+tables.Coupons,
		)
		url := "http://127.0.0.1:" + port
		proctest.WaitHTTP(t, url+"/healthz")
		return cmd, url
	}
	const total, customers = 400, 600
	p := w.promotion(total, time.Now().Add(-time.Second), time.Now().Add(time.Hour))

	cmd, url := start()
	var (
		current   atomic.Value
		granted   atomic.Int64
		refused   atomic.Int64
		mu        sync.Mutex
		winners   = map[string]string{}
		crashOnce sync.Once
		restarted = make(chan struct{})
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
						crashOnce.Do(func() {
							go func() {
								_ = cmd.Process.Signal(syscall.SIGKILL)
								_ = cmd.Wait(t, 10*time.Second)
								var next string
								cmd, next = start()
								current.Store(next)
								close(restarted)
							}()
						})
					}
					break
				}
			}
		}()
	}
	for i := range customers {
		jobs <- fmt.Sprintf("crash-%04d", i)
	}
	close(jobs)
	wg.Wait()
	<-restarted

	if len(winners) != total {
		t.Errorf("got %d customers holding a coupon, want %d", len(winners), total)
	}
	w.checkTotals(p, total)
	t.Logf("granted answers %d, holders %d, failed requests during the crash %d", granted.Load(), len(winners), refused.Load())
}

// quiet lets grabOnce report transport errors, expected while the server is
// down, without failing the test.
type quiet struct{ testing.TB }

func (quiet) Errorf(string, ...any) {}
