package grab_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/oklog/ulid/v2"

	"github.com/seckill/seckill/functions/grab"
	"github.com/seckill/seckill/functions/local/issuer/issuertest"
	"github.com/seckill/seckill/shared/contract/contracttest"
	"github.com/seckill/seckill/shared/ddblocal/ddbtest"
	"github.com/seckill/seckill/shared/sale"
	"github.com/seckill/seckill/shared/store"
)

func TestMain(m *testing.M) {
	slog.SetDefault(slog.New(slog.NewTextHandler(io.Discard, nil)))
	ddbtest.Main(contracttest.Runner{M: m})
}

// world is one test's world: fresh tables, a grab server over real HTTP.
type world struct {
	t     testing.TB
	store *store.Store
	db    *dynamodb.Client
	url   string
}

func newWorld(t testing.TB, wrap func(store.DB) store.DB) *world {
	t.Helper()
	db := ddbtest.Client(t)
	tables := ddbtest.Tables(t, db)
	var api store.DB = db
	if wrap != nil {
		api = wrap(db)
	}
	s := store.New(api, tables, ddbtest.CallTimeout)
	// These tests are about exact outcomes under contention, not outages: a
	// loaded machine may stretch a grab past the production budget, which
	// the outage tests hold to.
	srv := httptest.NewServer(grab.New(grab.NewService(s, time.Now, grab.Options{PromotionTTL: time.Second, MaxAttempts: 8}), issuertest.SharedGuard(t)).Router().SetBudget(ddbtest.TestBudget))
	t.Cleanup(srv.Close)
	return &world{t: t, store: store.New(db, tables, ddbtest.CallTimeout), db: db, url: srv.URL}
}

func (w *world) promotion(total int, publish, finish time.Time) sale.Promotion {
	w.t.Helper()
	p, err := sale.NewPromotion(ulid.Make().String(), sale.Draft{
		Name: "sale", Discount: 0.7, TotalCoupons: total, PublishAt: publish, FinishAt: finish,
	}, time.Now())
	if err != nil {
		w.t.Fatal(err)
	}
	if err := w.store.CreatePromotion(context.Background(), p); err != nil {
		w.t.Fatal(err)
	}
	return p
}

type answer struct {
	status     int
	code       string
	couponID   string
	customer   string
	retryAfter string
}

var grabTransport = &http.Transport{MaxIdleConnsPerHost: 128}

func grabOnce(t testing.TB, base, promotionID, body string) answer {
	client := contracttest.Client(t, grabTransport)
	if q, ok := t.(quiet); ok {
		// The server may be killed under this request: a cut answer is
		// expected, a contract breach still fails the test.
		client.Transport = &contracttest.Transport{Base: grabTransport, T: q.TB, Killable: true}
	}
	req, err := http.NewRequest(http.MethodPost, base+"/promotions/"+promotionID+"/coupons", bytes.NewBufferString(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+issuertest.TokenFor(tokenSubject(body)))
	resp, err := client.Do(req)
	if err != nil {
		t.Errorf("grab: %v", err)
		return answer{}
	}
	defer resp.Body.Close()
	var out struct {
		Code   string `json:"code"`
		Coupon *struct {
			ID         string `json:"id"`
			CustomerID string `json:"customerId"`
		} `json:"coupon"`
	}
	raw, _ := io.ReadAll(resp.Body)
	if err := json.Unmarshal(raw, &out); err != nil {
		t.Errorf("grab answered %d with non-JSON %q", resp.StatusCode, raw)
	}
	a := answer{status: resp.StatusCode, code: out.Code, retryAfter: resp.Header.Get("Retry-After")}
	if out.Coupon != nil {
		a.couponID, a.customer = out.Coupon.ID, out.Coupon.CustomerID
	}
	return a
}

func customerBody(c string) string { return fmt.Sprintf(`{"customerId":%q}`, c) }

// tokenSubject is whom grabOnce's token names: the customer the body names
// (the grab function runs in token mode, as deployed), or a bystander for
// a body that names none, so that the body, not the token, is what such a
// request is judged by.
func tokenSubject(body string) string {
	var b struct {
		CustomerID string `json:"customerId"`
	}
	if json.Unmarshal([]byte(body), &b) != nil {
		return "bystander"
	}
	if _, err := sale.ParseCustomerID(b.CustomerID); err != nil {
		return "bystander"
	}
	return b.CustomerID
}

// couponsInTable reads every coupon straight from the sale table.
func (w *world) couponsInTable(promotionID string) []store.CouponItem {
	w.t.Helper()
	var out []store.CouponItem
	p := dynamodb.NewScanPaginator(w.db, &dynamodb.ScanInput{
		TableName:                 aws.String(w.store.Tables().Sale),
		FilterExpression:          aws.String("kind = :k AND promotionId = :p"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":k": &types.AttributeValueMemberS{Value: store.KindCoupon}, ":p": &types.AttributeValueMemberS{Value: promotionID}},
		ConsistentRead:            aws.Bool(true),
	})
	for p.HasMorePages() {
		page, err := p.NextPage(context.Background())
		if err != nil {
			w.t.Fatal(err)
		}
		var items []store.CouponItem
		if err := attributevalue.UnmarshalListOfMaps(page.Items, &items); err != nil {
			w.t.Fatal(err)
		}
		out = append(out, items...)
	}
	return out
}

// checkTotals asserts invariants 1, 2 and 6 from the tables themselves.
func (w *world) checkTotals(p sale.Promotion, wantGranted int) {
	w.t.Helper()
	coupons := w.couponsInTable(p.ID)
	seen := map[string]bool{}
	for _, c := range coupons {
		if seen[c.CustomerID] {
			w.t.Errorf("customer %s holds two coupons of %s", c.CustomerID, p.ID)
		}
		seen[c.CustomerID] = true
	}
	st, err := w.store.Stock(context.Background(), p)
	if err != nil {
		w.t.Fatal(err)
	}
	got := st[p.ID]
	if got.Left+got.Granted != p.TotalCoupons {
		w.t.Errorf("left %d + granted %d != total %d", got.Left, got.Granted, p.TotalCoupons)
	}
	if got.Granted != len(coupons) {
		w.t.Errorf("shards count %d granted, table holds %d coupons", got.Granted, len(coupons))
	}
	if wantGranted >= 0 && len(coupons) != wantGranted {
		w.t.Errorf("got %d coupons, want %d", len(coupons), wantGranted)
	}
}

// TestStampede: 64 clients, 3,000 requests from 1,200 customers (each asking
// two or three times, in shuffled order) for 500 coupons.
func TestStampede(t *testing.T) {
	t.Parallel()
	w := newWorld(t, nil)
	p := w.promotion(500, time.Now().Add(-time.Second), time.Now().Add(time.Hour))
	var requests []string
	for i := range 1200 {
		asks := 2
		if i < 600 {
			asks = 3
		}
		for range asks {
			requests = append(requests, fmt.Sprintf("cust-%04d", i))
		}
	}
	shuffle(requests)
	answers := make([]answer, len(requests))
	var wg sync.WaitGroup
	next := make(chan int)
	for range 64 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				answers[i] = grabOnce(t, w.url, p.ID, customerBody(requests[i]))
			}
		}()
	}
	for i := range requests {
		next <- i
	}
	close(next)
	wg.Wait()

	winners := map[string]string{}
	counts := map[string]int{}
	for i, a := range answers {
		switch {
		case a.status == http.StatusCreated:
			counts["granted"]++
			if _, dup := winners[requests[i]]; dup {
				t.Errorf("customer %s granted twice", requests[i])
			}
			winners[requests[i]] = a.couponID
		case a.status == http.StatusConflict && (a.code == "sold-out" || a.code == "already-grabbed"):
			counts[a.code]++
		default:
			t.Errorf("request %d: unexpected answer %+v", i, a)
		}
	}
	for i, a := range answers {
		if a.code == "already-grabbed" && winners[requests[i]] != a.couponID {
			t.Errorf("already-grabbed for %s carries coupon %q, want %q", requests[i], a.couponID, winners[requests[i]])
		}
	}
	if counts["granted"] != 500 {
		t.Errorf("got %d grants, want 500", counts["granted"])
	}
	w.checkTotals(p, 500)
	t.Logf("answers: %v", counts)
}

// TestPromotionsStayIndependent grabs three promotions at once.
func TestPromotionsStayIndependent(t *testing.T) {
	t.Parallel()
	w := newWorld(t, nil)
	totals := []int{7, 60, 150}
	var promos []sale.Promotion
	for _, n := range totals {
		promos = append(promos, w.promotion(n, time.Now().Add(-time.Second), time.Now().Add(time.Hour)))
	}
	granted := make([]int, len(promos))
	var mu sync.Mutex
	var wg sync.WaitGroup
	for g := range 32 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 30 {
				k := (g + i) % len(promos)
				a := grabOnce(t, w.url, promos[k].ID, customerBody(fmt.Sprintf("c%d-%d", g, i)))
				if a.status == http.StatusCreated {
					mu.Lock()
					granted[k]++
					mu.Unlock()
				} else if a.code != "sold-out" {
					t.Errorf("unexpected %+v", a)
				}
			}
		}()
	}
	wg.Wait()
	for k, p := range promos {
		// 960 requests spread over three promotions: 320 each, more than any stock.
		if granted[k] != totals[k] {
			t.Errorf("promotion %d: got %d grants, want %d", k, granted[k], totals[k])
		}
		w.checkTotals(p, totals[k])
	}
}

func TestWindowAndBadInput(t *testing.T) {
	t.Parallel()
	w := newWorld(t, nil)
	upcoming := w.promotion(5, time.Now().Add(time.Hour), time.Now().Add(2*time.Hour))
	// A second of margin: a loaded CI machine can take hundreds of milliseconds between here and the create.
	ending := w.promotion(5, time.Now().Add(-time.Second), time.Now().Add(time.Second))
	active := w.promotion(1, time.Now().Add(-time.Second), time.Now().Add(time.Hour))
	if a := grabOnce(t, w.url, active.ID, customerBody("alice")); a.status != 201 {
		t.Fatalf("grant: got %+v", a)
	}
	time.Sleep(time.Until(ending.FinishAt) + 50*time.Millisecond)
	for _, tc := range []struct {
		name, id, body string
		status         int
		code           string
	}{
		{"not started", upcoming.ID, customerBody("a"), 409, "not-started"},
		{"finished", ending.ID, customerBody("a"), 409, "finished"},
		{"unknown", "01ARZ3NDEKTSV4RRFFQ69G5FAV", customerBody("a"), 404, "promotion-not-found"},
		{"bad id", "nope", customerBody("a"), 400, "invalid-request"},
		{"no body, with a token", active.ID, "", 409, "sold-out"},
		{"bad json", active.ID, "{", 400, "invalid-request"},
		{"bad customer", active.ID, customerBody("a b"), 400, "invalid-request"},
		{"long customer", active.ID, customerBody(string(bytes.Repeat([]byte("x"), 129))), 400, "invalid-request"},
		{"customer number", active.ID, `{"customerId":5}`, 400, "invalid-request"},
		{"customer dot", active.ID, customerBody("."), 400, "invalid-request"},
		{"customer dot dot", active.ID, customerBody(".."), 400, "invalid-request"},
		{"name in upper case", active.ID, `{"CUSTOMERID":"carol"}`, 400, "invalid-request"},
		{"name in other case", active.ID, `{"customerID":"carol"}`, 400, "invalid-request"},
		{"name twice", active.ID, `{"customerId":"carol","customerId":"dave"}`, 400, "invalid-request"},
		{"trailing data", active.ID, `{"customerId":"carol"} x`, 400, "invalid-request"},
		{"too large", active.ID, `{"customerId":"` + string(bytes.Repeat([]byte("x"), 70<<10)) + `"}`, 413, "invalid-request"},
		{"sold out", active.ID, customerBody("bob"), 409, "sold-out"},
		{"held after sold out", active.ID, customerBody("alice"), 409, "already-grabbed"},
	} {
		if a := grabOnce(t, w.url, tc.id, tc.body); a.status != tc.status || a.code != tc.code {
			t.Errorf("%s: got %+v, want %d %s", tc.name, a, tc.status, tc.code)
		}
	}
	w.checkTotals(active, 1)
	w.checkTotals(ending, 0)
}

// quiet lets grabOnce report transport errors, expected while the server is
// down, without failing the test.
type quiet struct{ testing.TB }

func (quiet) Errorf(string, ...any) {}
