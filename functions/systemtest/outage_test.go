package systemtest_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/seckill/seckill/functions/admin"
	"github.com/seckill/seckill/functions/coupons"
	"github.com/seckill/seckill/shared/contract/contracttest"
	"github.com/seckill/seckill/shared/ddblocal/ddbtest"
	"github.com/seckill/seckill/shared/faultproxy"
	"github.com/seckill/seckill/shared/identity"
	"github.com/seckill/seckill/shared/store"
	"github.com/seckill/seckill/shared/web"
)

// TestEveryFunctionAnswersThroughAnOutage: with the store blackholed, the
// admin and coupons functions answer 503 try-again within the request
// budget, /healthz answers at once, and both serve again as soon as the
// store is back, with no restart.
func TestEveryFunctionAnswersThroughAnOutage(t *testing.T) {
	direct := ddbtest.Client(t)
	tables := ddbtest.Tables(t, direct)
	proxy := ddbtest.FaultProxy(t)
	db, err := store.NewClient(context.Background(), proxy.URL())
	if err != nil {
		t.Fatal(err)
	}
	st := store.New(db, tables, 0)
	for name, h := range map[string]http.Handler{
		"admin":   admin.New(st, token, time.Now, nil).Router(),
		"coupons": coupons.New(st, time.Now, identity.Open()).Router(),
	} {
		srv := httptest.NewServer(h)
		get := func(path string) (int, string, time.Duration) {
			req, _ := http.NewRequest(http.MethodGet, srv.URL+path, nil)
			req.Header.Set("Authorization", "Bearer "+token)
			start := time.Now()
			resp, err := contracttest.Client(t, nil).Do(req)
			if err != nil {
				t.Fatalf("%s %s: %v", name, path, err)
			}
			resp.Body.Close()
			return resp.StatusCode, resp.Header.Get("Retry-After"), time.Since(start)
		}
		path := map[string]string{"admin": "/admin/promotions", "coupons": "/customers/alice/coupons"}[name]
		if status, _, _ := get(path); status != http.StatusOK {
			t.Fatalf("%s before the outage: %d", name, status)
		}
		_ = proxy.Set(faultproxy.Blackhole)
		status, retry, took := get(path)
		if status != http.StatusServiceUnavailable || retry != "1" || took > 2*web.RequestBudget {
			t.Errorf("%s during the outage: %d Retry-After %q after %v, want 503 within the %v budget", name, status, retry, took, web.RequestBudget)
		}
		if status, _, took := get("/healthz"); status != http.StatusOK || took > time.Second {
			t.Errorf("%s /healthz during the outage: %d after %v", name, status, took)
		}
		_ = proxy.Set(faultproxy.Pass)
		if status, _, _ := get(path); status != http.StatusOK {
			t.Errorf("%s after the outage: %d, want it serving again", name, status)
		}
		t.Logf("%s: 503 after %v during the outage", name, took)
		srv.Close()
	}
}
