package store_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/seckill/seckill/shared/capacity"
	"github.com/seckill/seckill/shared/ddblocal/ddbtest"
	"github.com/seckill/seckill/shared/metrics"
	"github.com/seckill/seckill/shared/sale"
	"github.com/seckill/seckill/shared/store"
)

// TestMeter: the units a sale's calls cost on DynamoDB, counted from real
// calls to DynamoDB Local: a promotion's creation (a transaction of the
// promotion, on the index too, and its shard), a batch of three grants on
// one shard (2 + 2 × 3 write units), a grant refused by its condition
// (charged all the same), the holders' Query and a customer's coupon read;
// and the busiest second of each partition.
func TestMeter(t *testing.T) {
	t.Parallel()
	db := ddbtest.Client(t, store.WithCapacity(store.Reported))
	tables := ddbtest.Tables(t, db)
	m := store.NewMeter(time.Now)
	admin := store.New(m.Wrap("admin", db), tables, ddbtest.CallTimeout)
	grab := store.New(m.Wrap("grab", db), tables, ddbtest.CallTimeout)
	ctx := context.Background()
	now := time.Now()
	p, err := sale.NewPromotion("01ARZ3NDEKTSV4RRFFQ69G5FAV", sale.Draft{Name: "m", Discount: 0.5, TotalCoupons: 3,
		PublishAt: now.Add(-time.Second), FinishAt: now.Add(time.Hour)}, now)
	if err != nil {
		t.Fatal(err)
	}
	if err := admin.CreatePromotion(ctx, p); err != nil {
		t.Fatal(err)
	}
	if p.Shards != 1 {
		t.Fatalf("%d shards; the figures below are for one", p.Shards)
	}
	// Promotion put ×2 (transaction) + its index write ×1 + the shard put ×2.
	if got := m.Total("admin"); got != (capacity.Units{Write: 5}) {
		t.Errorf("creation: got %+v, want 5 write units", got)
	}
	var grants []store.Grant
	for i, c := range []string{"a", "b", "c"} {
		grants = append(grants, store.Grant{Promotion: p, Shard: 0, Coupon: sale.Coupon{ID: "C" + string(rune('0'+i)), PromotionID: p.ID, CustomerID: c, Discount: 0.5, GrabbedAt: now}})
	}
	if err := grab.GrabBatch(ctx, grants, time.Now()); err != nil {
		t.Fatal(err)
	}
	if got := m.Total("grab"); got != (capacity.Units{Write: 8}) {
		t.Errorf("a batch of 3: got %+v, want 2 + 2 × 3 = 8 write units", got)
	}
	again := []store.Grant{{Promotion: p, Shard: 0, Coupon: sale.Coupon{ID: "C9", PromotionID: p.ID, CustomerID: "a", Discount: 0.5, GrabbedAt: now}}}
	var be *store.BatchError
	if err := grab.GrabBatch(ctx, again, time.Now()); !errors.As(err, &be) {
		t.Fatalf("a held customer again: got %v, want a cancelled batch", err)
	}
	if got := m.Total("grab"); got != (capacity.Units{Write: 12}) {
		t.Errorf("after a refused grant: got %+v, want 8 + 4 write units (a failed condition is charged)", got)
	}
	if _, err := grab.Holders(ctx, p, 100); err != nil {
		t.Fatal(err)
	}
	if _, _, err := grab.Coupon(ctx, p, "b"); err != nil {
		t.Fatal(err)
	}
	if got := m.Total("grab").Read; got != 2 {
		t.Errorf("the holders' Query (3 small coupons: one unit) and one coupon read: got %v read units, want 2", got)
	}
	hot := m.Hottest()
	if h := hot["S"]; h.PeakWrite < 2 || h.TotalWrite != 2+2+2 {
		t.Errorf("the shard: %+v, want 6 write units in all (its put, two decrements)", h)
	}
	if h := hot["C"]; h.TotalWrite != 8 || h.PeakRead < 1 {
		t.Errorf("the coupon bucket: %+v, want 8 write units in all and reads", h)
	}
	if h := hot["index"]; h.TotalWrite != 1 {
		t.Errorf("the index: %+v, want 1 write unit", h)
	}
	// Second by second, the busiest shard's units reach its peak.
	busiest := 0.0
	for _, s := range m.Busiest()["S"] {
		busiest = max(busiest, s.Write)
	}
	if busiest != hot["S"].PeakWrite {
		t.Errorf("the busiest shard's seconds peak at %v, its hottest second is %v", busiest, hot["S"].PeakWrite)
	}
	if got := m.Refused(); len(got) != 1 || got[store.Op{Function: "grab", Operation: "TransactWriteItems"}] != 1 {
		t.Errorf("refused: got %v, want the one cancelled grant", got)
	}
	// Where DynamoDB Local was asked (every call here), what it said of a
	// call is kept beside what the rules say of the same call: the batch of
	// three, not the refused grant, which reports nothing.
	if got, want := m.Compared()[store.Op{Function: "grab", Operation: "TransactWriteItems"}],
		(store.Compared{Calls: 1, Rules: capacity.Units{Write: 8}, Reported: capacity.Units{Write: 2}}); got != want {
		t.Errorf("grab's transactions compared: got %+v, want %+v", got, want)
	}
	if got := m.Compared()[store.Op{Function: "grab", Operation: "Query"}]; got.Calls != 1 || got.Rules != got.Reported {
		t.Errorf("the holders' Query compared: got %+v, want one call on which both agree", got)
	}
}

// TestMeterFeedsRequests: each call's units, by the rules, are noted for
// the request it was made for, its index writes under its own operation;
// and a live meter keeps no state per key, charging an update of an item
// it never saw as the 1 KB every SecKill item fits in.
func TestMeterFeedsRequests(t *testing.T) {
	t.Parallel()
	_, db := ddbtest.Store(t)
	tables := ddbtest.Tables(t, db)
	live := store.NewLiveMeter()
	admin := store.New(live.Wrap("admin", db), tables, ddbtest.CallTimeout)
	grab := store.New(live.Wrap("grab", db), tables, ddbtest.CallTimeout)
	now := time.Now()
	p, err := sale.NewPromotion("01ARZ3NDEKTSV4RRFFQ69G5FAV", sale.Draft{Name: "m", Discount: 0.5, TotalCoupons: 3,
		PublishAt: now.Add(-time.Second), FinishAt: now.Add(time.Hour)}, now)
	if err != nil {
		t.Fatal(err)
	}
	ctx, calls := metrics.WithCalls(context.Background())
	if err := admin.CreatePromotion(ctx, p); err != nil {
		t.Fatal(err)
	}
	if got := calls().Units; got["TransactWriteItems"] != (capacity.Units{Write: 5}) || len(got) != 1 {
		t.Errorf("creation: got %v, want TransactWriteItems' 5 write units, the index's included", got)
	}
	ctx, calls = metrics.WithCalls(context.Background())
	grants := []store.Grant{{Promotion: p, Shard: 0, Coupon: sale.Coupon{ID: "C1", PromotionID: p.ID, CustomerID: "a", Discount: 0.5, GrabbedAt: now}}}
	if err := grab.GrabBatch(ctx, grants, time.Now()); err != nil {
		t.Fatal(err)
	}
	if got := calls().Units["TransactWriteItems"]; got != (capacity.Units{Write: 4}) {
		t.Errorf("a grant: got %+v, want 4 write units (the shard's update as 1 KB, the coupon put)", got)
	}
	if hot := live.Hottest(); len(hot) != 0 {
		t.Errorf("a live meter kept keys: %v", hot)
	}
}
