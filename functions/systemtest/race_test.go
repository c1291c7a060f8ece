package systemtest_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/seckill/seckill/functions/admin"
	"github.com/seckill/seckill/functions/grab"
	"github.com/seckill/seckill/functions/local/issuer/issuertest"
	"github.com/seckill/seckill/shared/contract/contracttest"
	"github.com/seckill/seckill/shared/ddblocal/ddbtest"
	"github.com/seckill/seckill/shared/store"
)

// lateWrites holds each admin transaction back for up to max before it
// leaves, as a slow network or a paused instance would, so that a change
// computed before the start reaches DynamoDB after it.
type lateWrites struct {
	store.DB
	max time.Duration
}

func (d lateWrites) TransactWriteItems(ctx context.Context, in *dynamodb.TransactWriteItemsInput, o ...func(*dynamodb.Options)) (*dynamodb.TransactWriteItemsOutput, error) {
	time.Sleep(rand.N(d.max))
	return d.DB.TransactWriteItems(ctx, in, o...)
}

var raceTransport = &http.Transport{MaxIdleConnsPerHost: 64}

func call(t *testing.T, method, url, body string) (int, map[string]any) {
	return callAs(t, method, url, body, token)
}

// callAs is call with another bearer token: a customer's.
func callAs(t *testing.T, method, url, body, bearer string) (int, map[string]any) {
	req, _ := http.NewRequest(method, url, bytes.NewBufferString(body))
	req.Header.Set("Authorization", "Bearer "+bearer)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := contracttest.Client(t, raceTransport).Do(req)
	if err != nil {
		t.Errorf("%s %s: %v", method, url, err)
		return 0, nil
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var out map[string]any
	_ = json.Unmarshal(raw, &out)
	return resp.StatusCode, out
}

// TestAdminChangesRaceTheStart is the hostile test of the admin boundary,
// over real HTTP against DynamoDB Local: promotions of 5 coupons whose
// publishAt is a few seconds ahead; PUTs of an unchanged body (or DELETEs)
// sent from 2 s before the start to 1 s after it, each held back in flight
// for up to 1.2 s, beside 8 grabbing loops. Afterwards, for every round:
// holders ≤ 5, the stock and the coupon items agree exactly, every 201 is a
// coupon in the table, and a deleted promotion has no coupon.
func TestAdminChangesRaceTheStart(t *testing.T) {
	t.Parallel()
	direct := ddbtest.Client(t)
	tables := ddbtest.Tables(t, direct)
	adminStore := store.New(lateWrites{DB: direct, max: 1200 * time.Millisecond}, tables, ddbtest.CallTimeout)
	grabStore := store.New(direct, tables, ddbtest.CallTimeout)
	adminSrv := httptest.NewServer(admin.New(adminStore, token, time.Now, nil).Router().SetBudget(ddbtest.TestBudget))
	defer adminSrv.Close()
	// Creates and the final reads go through an admin without delays.
	setupSrv := httptest.NewServer(admin.New(grabStore, token, time.Now, nil).Router().SetBudget(ddbtest.TestBudget))
	defer setupSrv.Close()
	grabSrv := httptest.NewServer(grab.New(grab.NewService(grabStore, time.Now, grab.Options{PromotionTTL: 2 * time.Second, MaxAttempts: 8}), issuertest.SharedGuard(t)).Router().SetBudget(ddbtest.TestBudget))
	defer grabSrv.Close()

	const rounds = 8 // half PUT, half DELETE, all at once
	publish := time.Now().Add(4 * time.Second).UTC().Truncate(time.Millisecond)
	body := fmt.Sprintf(`{"name":"race","discount":0.7,"totalCoupons":5,"publishAt":%q,"finishAt":%q}`,
		publish.Format(time.RFC3339Nano), publish.Add(time.Hour).Format(time.RFC3339Nano))
	type round struct {
		id                   string
		deleting             bool
		granted              atomic.Int64
		changed, refused     atomic.Int64
		otherChange, badGrab atomic.Int64
	}
	rs := make([]*round, rounds)
	for i := range rs {
		status, p := call(t, "POST", setupSrv.URL+"/admin/promotions", body)
		if status != http.StatusCreated {
			t.Fatalf("create: %d %v", status, p)
		}
		rs[i] = &round{id: p["id"].(string), deleting: i%2 == 1}
	}
	var wg sync.WaitGroup
	for _, r := range rs {
		path := "/admin/promotions/" + r.id
		for w := range 4 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				time.Sleep(time.Until(publish.Add(-2*time.Second + time.Duration(w)*50*time.Millisecond)))
				for time.Now().Before(publish.Add(time.Second)) {
					var status int
					if r.deleting {
						status, _ = call(t, "DELETE", adminSrv.URL+path, "")
					} else {
						status, _ = call(t, "PUT", adminSrv.URL+path, body)
					}
					switch status {
					case http.StatusOK, http.StatusNoContent:
						r.changed.Add(1)
					case http.StatusConflict:
						r.refused.Add(1)
					case http.StatusNotFound:
					case http.StatusServiceUnavailable:
						// try-again: allowed by the contract under contention.
					default:
						r.otherChange.Add(1)
					}
					time.Sleep(20 * time.Millisecond)
				}
			}()
		}
		for g := range 8 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				time.Sleep(time.Until(publish.Add(-200 * time.Millisecond)))
				for i := 0; time.Now().Before(publish.Add(2500 * time.Millisecond)); i++ {
					status, out := callAs(t, "POST", grabSrv.URL+"/promotions/"+r.id+"/coupons", "{}", issuertest.TokenFor(fmt.Sprintf("c%d-%d", g, i)))
					switch {
					case status == http.StatusCreated:
						r.granted.Add(1)
					case status == http.StatusConflict && (out["code"] == "not-started" || out["code"] == "sold-out"):
					case status == http.StatusNotFound:
					case status == http.StatusServiceUnavailable && out["code"] == "try-again":
						// A grab that kept meeting new versions may give up;
						// the contract lets it, and the client retries.
					default:
						r.badGrab.Add(1)
					}
					time.Sleep(10 * time.Millisecond)
				}
			}()
		}
	}
	wg.Wait()

	refused := 0
	for i, r := range rs {
		held := ddbtest.CouponCount(t, direct, tables.Sale, r.id)
		status, view := call(t, "GET", setupSrv.URL+"/admin/promotions/"+r.id, "")
		t.Logf("round %d (delete=%v): %d granted over HTTP, %d coupons held, %d changes landed, %d refused as started; view %d %v/%v",
			i, r.deleting, r.granted.Load(), held, r.changed.Load(), r.refused.Load(), status, view["couponsLeft"], view["couponsGranted"])
		refused += int(r.refused.Load())
		if r.otherChange.Load() > 0 || r.badGrab.Load() > 0 {
			t.Errorf("round %d: %d changes and %d grabs answered outside the contract's outcomes", i, r.otherChange.Load(), r.badGrab.Load())
		}
		if held > 5 || int64(held) != r.granted.Load() {
			t.Errorf("round %d: %d coupons held, %d answered 201; want them equal and at most 5", i, held, r.granted.Load())
		}
		switch status {
		case http.StatusNotFound:
			if held > 0 {
				t.Errorf("round %d: promotion deleted with %d coupons granted", i, held)
			}
		case http.StatusOK:
			left, granted := int(view["couponsLeft"].(float64)), int(view["couponsGranted"].(float64))
			if left+granted != 5 || granted != held {
				t.Errorf("round %d: left %d + granted %d with %d coupons held; want 5 in all and granted == held", i, left, granted, held)
			}
		default:
			t.Errorf("round %d: reading the promotion: %d", i, status)
		}
	}
	if refused == 0 {
		t.Error("no change was refused as started: the race never straddled the start")
	}
}
