//go:build !mutation

package grab_test

import (
	"fmt"
	"net"
	"net/http"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/seckill/seckill/functions/local/issuer/issuertest"
	"github.com/seckill/seckill/shared/ddblocal/ddbtest"
	"github.com/seckill/seckill/shared/faultproxy"
	"github.com/seckill/seckill/shared/proctest"
)

// TestSIGTERMFinishesInFlight holds 20 grabs inside the real grab binary
// (the store is blackholed under them), sends SIGTERM, then lets the store
// answer: the binary stops accepting at once, every held grab still gets its
// coupon, and the process exits 0.
func TestSIGTERMFinishesInFlight(t *testing.T) {
	t.Parallel()
	w := newWorld(t, nil)
	p := w.promotion(100, time.Now().Add(-time.Second), time.Now().Add(time.Hour))
	proxy := ddbtest.FaultProxy(t)
	port := proctest.FreePort(t)
	tables := w.store.Tables()
	proc := proctest.Start(t, proctest.Build(t, "./cmd"), append(issuertest.Shared().Env(),
		"PORT="+port,
		"AWS_ENDPOINT_URL_DYNAMODB="+proxy.URL(),
		"SECKILL_SALE_TABLE="+tables.Sale,
		"SECKILL_COUPONS_TABLE="+tables.Coupons,
		"SECKILL_REQUEST_TIMEOUT=20s", // the held grabs must outlive the blackhole, on any machine
	)...)
	base := "http://127.0.0.1:" + port
	proctest.WaitHTTP(t, base+"/healthz")
	// Warm the promotion cache, so the held requests wait on the grant itself.
	if a := grabOnce(t, base, p.ID, customerBody("warm")); a.status != http.StatusCreated {
		t.Fatalf("warm-up: %+v", a)
	}

	_ = proxy.Set(faultproxy.Blackhole)
	var wg sync.WaitGroup
	answers := make([]answer, 20)
	for i := range answers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			answers[i] = grabOnce(t, base, p.ID, customerBody(fmt.Sprintf("held-%02d", i)))
		}()
	}
	time.Sleep(300 * time.Millisecond)
	if err := proc.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	time.Sleep(200 * time.Millisecond)
	if c, err := net.DialTimeout("tcp", "127.0.0.1:"+port, time.Second); err == nil {
		c.Close()
		t.Error("the binary still accepts connections after SIGTERM")
	}
	_ = proxy.Set(faultproxy.Pass)
	wg.Wait()
	if err := proc.Wait(t, 30*time.Second); err != nil {
		t.Fatalf("exit: %v\n%s", err, proc.Log())
	}
	for i, a := range answers {
		if a.status != http.StatusCreated {
			t.Errorf("held grab %d: got %+v, want its coupon", i, a)
		}
	}
	w.checkTotals(p, 21)
}
