package coupons_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/oklog/ulid/v2"

	"github.com/seckill/seckill/functions/coupons"
	"github.com/seckill/seckill/functions/local/issuer/issuertest"
	"github.com/seckill/seckill/shared/contract/contracttest"
	"github.com/seckill/seckill/shared/ddblocal/ddbtest"
	"github.com/seckill/seckill/shared/identity"
	"github.com/seckill/seckill/shared/sale"
)

func TestMain(m *testing.M) {
	slog.SetDefault(slog.New(slog.NewTextHandler(io.Discard, nil)))
	ddbtest.Main(contracttest.Runner{M: m})
}

func get(t *testing.T, url string) (int, map[string]any) {
	t.Helper()
	resp, err := contracttest.Client(t, nil).Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, out
}

func TestCouponsAndPromotions(t *testing.T) {
	t.Parallel()
	s, _ := ddbtest.Store(t)
	// A clock the test moves, so "finished" does not depend on how fast a shared machine runs.
	var offset atomic.Int64
	clock := func() time.Time { return time.Now().Add(time.Duration(offset.Load())) }
	srv := httptest.NewServer(coupons.New(s, clock, identity.Open()).Router().SetBudget(ddbtest.TestBudget))
	defer srv.Close()
	ctx := context.Background()
	now := time.Now()

	older := sale.Coupon{ID: ulid.Make().String(), PromotionID: "P1", CustomerID: "alice", Discount: 0.7, GrabbedAt: now.Add(-time.Minute).Truncate(time.Millisecond).UTC()}
	time.Sleep(2 * time.Millisecond)
	newer := sale.Coupon{ID: ulid.Make().String(), PromotionID: "P2", CustomerID: "alice", Discount: 0.5, GrabbedAt: now.Truncate(time.Millisecond).UTC()}
	for _, c := range []sale.Coupon{older, newer, older} { // the repeat is a replayed record
		if err := s.ProjectCoupon(ctx, c); err != nil {
			t.Fatal(err)
		}
	}
	status, body := get(t, srv.URL+"/customers/alice/coupons")
	list := body["coupons"].([]any)
	if status != 200 || len(list) != 2 || list[0].(map[string]any)["id"] != newer.ID || list[1].(map[string]any)["discount"] != 0.7 {
		t.Fatalf("alice: got %d %v, want newer then older", status, body)
	}
	if status, body := get(t, srv.URL+"/customers/nobody/coupons"); status != 200 || body["coupons"] == nil || len(body["coupons"].([]any)) != 0 {
		t.Fatalf("nobody: got %d %v, want an empty list", status, body)
	}
	if status, body := get(t, srv.URL+"/openapi.json"); status != 200 || body["openapi"] != "3.0.3" {
		t.Fatalf("openapi.json: got %d %.80v", status, body)
	}
	if status, body := get(t, srv.URL+"/customers/bad%20id/coupons"); status != 400 || body["code"] != "invalid-request" {
		t.Fatalf("bad id: got %d %v", status, body)
	}

	mk := func(name string, publish, finish time.Time) sale.Promotion {
		p, err := sale.NewPromotion(ulid.Make().String(), sale.Draft{Name: name, Discount: 0.9, TotalCoupons: 10, PublishAt: publish, FinishAt: finish}, clock())
		if err != nil {
			t.Fatal(err)
		}
		if err := s.CreatePromotion(ctx, p); err != nil {
			t.Fatal(err)
		}
		return p
	}
	mk("ending", now.Add(-time.Second), now.Add(time.Minute))
	active := mk("active", now.Add(-time.Second), now.Add(time.Hour))
	upcoming := mk("upcoming", now.Add(time.Hour), now.Add(2*time.Hour))
	offset.Store(int64(2 * time.Minute))
	status, body = get(t, srv.URL+"/promotions")
	var ids []string
	for _, p := range body["promotions"].([]any) {
		ids = append(ids, p.(map[string]any)["id"].(string))
	}
	if status != 200 || len(ids) != 2 || ids[0] != upcoming.ID || ids[1] != active.ID {
		t.Fatalf("promotions: got %d %v, want upcoming then active (newest first), not the finished one", status, ids)
	}
}

// TestPages: a customer's coupons and the open promotions come in pages of
// limit items, newest first, each once, the last page without next; a
// cursor that this API did not give out is a 400.
func TestPages(t *testing.T) {
	t.Parallel()
	s, _ := ddbtest.Store(t)
	srv := httptest.NewServer(coupons.New(s, time.Now, identity.Open()).Router().SetBudget(ddbtest.TestBudget))
	defer srv.Close()
	ctx := context.Background()
	var coupons, promos []string
	for i := range 7 {
		c := sale.Coupon{ID: ulid.Make().String(), PromotionID: "P", CustomerID: "bob", Discount: 0.7, GrabbedAt: time.Now().Truncate(time.Millisecond).UTC()}
		if err := s.ProjectCoupon(ctx, c); err != nil {
			t.Fatal(err)
		}
		coupons = append([]string{c.ID}, coupons...)
		finish := time.Now().Add(time.Hour)
		if i%3 == 0 {
			finish = time.Now().Add(-time.Second) // finished: never listed
		}
		p := sale.Promotion{ID: ulid.Make().String(), Name: "p", Discount: 0.9, TotalCoupons: 10, PublishAt: finish.Add(-2 * time.Hour),
			FinishAt: finish.Truncate(time.Millisecond).UTC(), Version: 1, Shards: 1}
		if err := s.CreatePromotion(ctx, p); err != nil {
			t.Fatal(err)
		}
		if i%3 != 0 {
			promos = append([]string{p.ID}, promos...)
		}
	}
	walk := func(path, name string, limit int) []string {
		var ids []string
		cursor := ""
		for range 20 {
			url := fmt.Sprintf("%s%s?limit=%d", srv.URL, path, limit)
			if cursor != "" {
				url += "&cursor=" + cursor
			}
			status, body := get(t, url)
			if status != 200 {
				t.Fatalf("%s: got %d %v", url, status, body)
			}
			items := body[name].([]any)
			if len(items) > limit {
				t.Fatalf("%s: %d items over the limit", url, len(items))
			}
			for _, it := range items {
				ids = append(ids, it.(map[string]any)["id"].(string))
			}
			next, _ := body["next"].(string)
			if next == "" {
				return ids
			}
			cursor = next
		}
		t.Fatalf("%s: more than 20 pages", path)
		return nil
	}
	for _, limit := range []int{1, 2, 3, 100} {
		if got := walk("/customers/bob/coupons", "coupons", limit); strings.Join(got, ",") != strings.Join(coupons, ",") {
			t.Errorf("coupons by %d: got %v, want %v", limit, got, coupons)
		}
		if got := walk("/promotions", "promotions", limit); strings.Join(got, ",") != strings.Join(promos, ",") {
			t.Errorf("promotions by %d: got %v, want %v", limit, got, promos)
		}
	}
	for _, q := range []string{"limit=0", "limit=101", "limit=x", "cursor=!", "cursor=bm9wZQ"} {
		for _, path := range []string{"/customers/bob/coupons", "/promotions"} {
			if status, body := get(t, srv.URL+path+"?"+q); status != 400 || body["code"] != "invalid-request" {
				t.Errorf("%s?%s: got %d %v, want 400 invalid-request", path, q, status, body)
			}
		}
	}
}

// TestOnlyOwnCoupons: in token mode a customer reads their own coupons and
// nobody else's; without a token nobody reads any, and the open
// promotions stay public.
func TestOnlyOwnCoupons(t *testing.T) {
	t.Parallel()
	s, _ := ddbtest.Store(t)
	iss := issuertest.Start(t)
	srv := httptest.NewServer(coupons.New(s, time.Now, iss.Guard(t)).Router().SetBudget(ddbtest.TestBudget))
	defer srv.Close()
	c := sale.Coupon{ID: ulid.Make().String(), PromotionID: "P", CustomerID: "auth0|alice", Discount: 0.7, GrabbedAt: time.Now().Truncate(time.Millisecond).UTC()}
	if err := s.ProjectCoupon(context.Background(), c); err != nil {
		t.Fatal(err)
	}
	alice, bob := iss.Token(t, "auth0|alice"), iss.Token(t, "bob")
	for _, tc := range []struct {
		name, path, token string
		status            int
		code              string
	}{
		{"own", "/customers/auth0%7Calice/coupons", alice, 200, ""},
		{"another's", "/customers/auth0%7Calice/coupons", bob, 403, "forbidden"},
		{"no token", "/customers/auth0%7Calice/coupons", "", 401, "unauthorized"},
		{"bad token", "/customers/auth0%7Calice/coupons", "x.y.z", 401, "unauthorized"},
		{"bad id with a token", "/customers/a%20b/coupons", alice, 400, "invalid-request"},
		{"public promotions", "/promotions", "", 200, ""},
	} {
		req, _ := http.NewRequest(http.MethodGet, srv.URL+tc.path, nil)
		if tc.token != "" {
			req.Header.Set("Authorization", "Bearer "+tc.token)
		}
		resp, err := contracttest.Client(t, nil).Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var out struct {
			Code    string `json:"code"`
			Coupons []struct {
				ID string `json:"id"`
			} `json:"coupons"`
		}
		_ = json.NewDecoder(resp.Body).Decode(&out)
		resp.Body.Close()
		if resp.StatusCode != tc.status || out.Code != tc.code {
			t.Errorf("%s: got %d %s, want %d %s", tc.name, resp.StatusCode, out.Code, tc.status, tc.code)
		}
		if tc.name == "own" && (len(out.Coupons) != 1 || out.Coupons[0].ID != c.ID) {
			t.Errorf("own: got %+v, want the one coupon", out.Coupons)
		}
		if tc.status == 401 && !strings.HasPrefix(resp.Header.Get("WWW-Authenticate"), "Bearer") {
			t.Errorf("%s: WWW-Authenticate %q", tc.name, resp.Header.Get("WWW-Authenticate"))
		}
	}
}
