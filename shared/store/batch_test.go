package store_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/oklog/ulid/v2"

	"github.com/seckill/seckill/shared/ddblocal/ddbtest"
	"github.com/seckill/seckill/shared/sale"
	"github.com/seckill/seckill/shared/store"
)

func grant(p sale.Promotion, shard int, customer string, now time.Time) store.Grant {
	return store.Grant{Promotion: p, Shard: shard, Coupon: sale.Coupon{
		ID: ulid.Make().String(), PromotionID: p.ID, CustomerID: customer, Discount: p.Discount, GrabbedAt: now.Truncate(time.Millisecond).UTC(),
	}}
}

func stock(t *testing.T, s *store.Store, p sale.Promotion) sale.Stock {
	t.Helper()
	st, err := s.Stock(context.Background(), p)
	if err != nil {
		t.Fatal(err)
	}
	return st[p.ID]
}

// TestGrabBatch: one transaction grants across promotions and shards, or
// nothing; a cancellation says exactly which grant or shard was at fault.
func TestGrabBatch(t *testing.T) {
	t.Parallel()
	s, _ := ddbtest.Store(t)
	ctx := context.Background()
	now := time.Now()
	a := newPromotion(t, s, ulid.Make().String(), 250, now.Add(-time.Second), now.Add(time.Hour), now) // 3 shards: 84, 83, 83
	b := newPromotion(t, s, ulid.Make().String(), 5, now.Add(-time.Second), now.Add(time.Hour), now)   // 1 shard

	batch := []store.Grant{grant(a, 0, "x", now), grant(a, 0, "y", now), grant(a, 2, "z", now), grant(b, 0, "x", now)}
	if err := s.GrabBatch(ctx, batch, now); err != nil {
		t.Fatal(err)
	}
	if got := stock(t, s, a); got != (sale.Stock{Left: 247, Granted: 3}) {
		t.Fatalf("a: %+v", got)
	}
	left, ok, err := s.ShardsLeft(ctx, a)
	if err != nil || !ok || fmt.Sprint(left) != "[82 83 82]" {
		t.Fatalf("shards of a: %v %v %v", left, ok, err)
	}

	// One customer twice in a batch is the caller's bug, refused before
	// DynamoDB sees it.
	err = s.GrabBatch(ctx, []store.Grant{grant(a, 1, "twice", now), grant(a, 1, "twice", now)}, now)
	if err == nil || errors.Is(err, sale.ErrUnavailable) || !strings.Contains(err.Error(), "twice") {
		t.Fatalf("same customer twice: %v", err)
	}

	// A customer who holds a coupon cancels the batch: nothing lands, and
	// the error names that grant with the coupon held.
	held := grant(a, 1, "y", now)
	err = s.GrabBatch(ctx, []store.Grant{grant(a, 1, "v", now), held, grant(b, 0, "w", now)}, now)
	var be *store.BatchError
	if !errors.As(err, &be) || len(be.Held) != 1 || be.Held[1].ID != batch[1].Coupon.ID || len(be.Shards) != 0 || be.Conflict {
		t.Fatalf("holder inside: %v %+v", err, be)
	}
	if got := stock(t, s, b); got != (sale.Stock{Left: 4, Granted: 1}) {
		t.Fatalf("b after a cancelled batch: %+v", got)
	}

	// More grants than the shard has: the shard is named with what it has.
	var many []store.Grant
	for i := range 5 {
		many = append(many, grant(b, 0, fmt.Sprintf("m%d", i), now))
	}
	err = s.GrabBatch(ctx, append(many, grant(a, 1, "q", now)), now)
	if !errors.As(err, &be) || len(be.Held) != 0 || be.Shards[store.ShardRef{PromotionID: b.ID, Shard: 0}] != (store.ShardState{Left: 4}) || len(be.Shards) != 1 {
		t.Fatalf("short shard: %v %+v", err, be)
	}
	if err := s.GrabBatch(ctx, many[:4], now); err != nil {
		t.Fatal(err)
	}
	if got := stock(t, s, b); got != (sale.Stock{Left: 0, Granted: 5}) {
		t.Fatalf("b sold out: %+v", got)
	}

	// A stale promotion (another version) or a shut window is Stale.
	stale := b
	stale.Version++
	err = s.GrabBatch(ctx, []store.Grant{grant(stale, 0, "s", now), grant(a, 0, "s", now)}, now)
	if !errors.As(err, &be) || !be.Shards[store.ShardRef{PromotionID: b.ID, Shard: 0}].Stale {
		t.Fatalf("stale: %v %+v", err, be)
	}
	err = s.GrabBatch(ctx, []store.Grant{grant(a, 0, "late", now)}, now.Add(2*time.Hour))
	if !errors.As(err, &be) || !be.Shards[store.ShardRef{PromotionID: a.ID, Shard: 0}].Stale {
		t.Fatalf("after the window: %v %+v", err, be)
	}

	// Holders: every coupon, each customer once, through the buckets.
	for _, p := range []sale.Promotion{a, b} {
		all, err := s.Holders(ctx, p, 1000)
		if err != nil {
			t.Fatal(err)
		}
		if want := stock(t, s, p).Granted; len(all) != want {
			t.Fatalf("holders of %s: %d, granted %d", p.ID, len(all), want)
		}
		for c, coupon := range all {
			got, ok, err := s.Coupon(ctx, p, c)
			if err != nil || !ok || got != coupon {
				t.Fatalf("holder %s: %+v, stored %+v %v %v", c, coupon, got, ok, err)
			}
		}
	}
	if all, err := s.Holders(ctx, a, 2); err != nil || all != nil {
		t.Fatalf("over the limit: %v %v", all, err)
	}
}

// TestHoldersSpreadOverBuckets: a promotion's coupons land in as many item
// collections as it has shards, never one, and Holders finds all of them.
func TestHoldersSpreadOverBuckets(t *testing.T) {
	t.Parallel()
	s, db := ddbtest.Store(t)
	ctx := context.Background()
	now := time.Now()
	p := newPromotion(t, s, ulid.Make().String(), 500, now.Add(-time.Second), now.Add(time.Hour), now)
	for from := 0; from < 500; from += 50 { // 5 shards of 100
		var batch []store.Grant
		for i := from; i < from+50; i++ {
			batch = append(batch, grant(p, from/50%p.Shards, fmt.Sprintf("cust-%04d", i), now))
		}
		if err := s.GrabBatch(ctx, batch, now); err != nil {
			t.Fatal(err)
		}
	}
	all, err := s.Holders(ctx, p, 1000)
	if err != nil || len(all) != 500 {
		t.Fatalf("holders: %d %v", len(all), err)
	}
	parts := map[string]int{}
	out, err := db.Scan(ctx, &dynamodb.ScanInput{
		TableName: aws.String(s.Tables().Sale), ConsistentRead: aws.Bool(true),
		FilterExpression:          aws.String("kind = :k"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":k": &types.AttributeValueMemberS{Value: store.KindCoupon}},
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, it := range out.Items {
		parts[it["pk"].(*types.AttributeValueMemberS).Value]++
	}
	if want := store.CouponBuckets(p); len(parts) != want || want != 5 {
		t.Fatalf("500 coupons in %d partitions, want %d", len(parts), want)
	}
}

// TestOldTableLayoutRefused: a sale table kept from before the sort key
// fails at start, naming the fix, instead of failing every request.
func TestOldTableLayoutRefused(t *testing.T) {
	t.Parallel()
	db := ddbtest.Client(t)
	tables := store.TablesWithPrefix("old-" + ulid.Make().String())
	def := store.Definitions(tables)[0]
	def.KeySchema = def.KeySchema[:1]
	def.AttributeDefinitions = append(def.AttributeDefinitions[:1], def.AttributeDefinitions[2:]...)
	if _, err := db.CreateTable(context.Background(), def); err != nil {
		t.Fatal(err)
	}
	err := store.CreateTables(context.Background(), db, tables)
	if err == nil || !strings.Contains(err.Error(), "make clean") {
		t.Fatalf("got %v, want a refusal naming make clean", err)
	}
}
