package grab

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/seckill/seckill/shared/sale"
	"github.com/seckill/seckill/shared/store"
)

// These test the packing of a batch alone, in memory: which grants go
// together is pure logic over what the instance knows of the stock.

func testEntry(id string, left ...int) *cachedPromotion {
	return &cachedPromotion{
		promo:   sale.Promotion{ID: id, TotalCoupons: 1000, Shards: len(left)},
		stock:   &stock{left: left, busy: make([]bool, len(left)), avoid: -1},
		holders: &holders{m: map[sale.CustomerID]sale.Coupon{}, limit: DefaultMaxHolders},
	}
}

func queued(ctx context.Context, e *cachedPromotion, customer string) *pending {
	return &pending{ctx: ctx, e: e, customer: sale.CustomerID(customer), done: make(chan error, 1)}
}

func TestPack(t *testing.T) {
	ctx := context.Background()
	now := time.Now()

	t.Run("a customer once per promotion, the rest stays queued in order", func(t *testing.T) {
		a, b := testEntry("A", 50), testEntry("B", 50)
		bt := &batcher{queue: []*pending{queued(ctx, a, "x"), queued(ctx, a, "x"), queued(ctx, b, "x"), queued(ctx, a, "y"), queued(ctx, a, "x")}}
		got, answered := bt.pack(now)
		if len(got.members) != 3 || len(answered) != 0 || len(bt.queue) != 2 || len(got.groups) != 2 {
			t.Fatalf("packed %d in %d groups, queue %d", len(got.members), len(got.groups), len(bt.queue))
		}
		for _, p := range bt.queue {
			if p.e != a || p.customer != "x" {
				t.Fatalf("left queued: %s/%s", p.e.promo.ID, p.customer)
			}
		}
	})

	t.Run("no more than a shard is believed to hold; then another shard", func(t *testing.T) {
		e := testEntry("A", 2, 0, 3)
		var q []*pending
		for i := range 7 {
			q = append(q, queued(ctx, e, fmt.Sprint(i)))
		}
		bt := &batcher{queue: q}
		got, _ := bt.pack(now)
		per := map[int]int{}
		for _, p := range got.members {
			per[p.shard]++
		}
		if len(got.members) != 5 || per[0] != 2 || per[2] != 3 || len(bt.queue) != 2 {
			t.Fatalf("packed %v, queue %d", per, len(bt.queue))
		}
		// Both shards with stock are now in flight: the rest waits.
		again, answered := bt.pack(now)
		if len(again.members) != 0 || len(answered) != 0 || len(bt.queue) != 2 {
			t.Fatalf("with every shard busy: packed %d, answered %d, queue %d", len(again.members), len(answered), len(bt.queue))
		}
	})

	t.Run("at most 100 items", func(t *testing.T) {
		var q []*pending
		for i := range 300 {
			q = append(q, queued(ctx, testEntry(fmt.Sprint("P", i%7), 1000), fmt.Sprint(i)))
		}
		bt := &batcher{queue: q}
		got, _ := bt.pack(now)
		if items := len(got.members) + len(got.groups); items > store.MaxBatchItems || items < store.MaxBatchItems-1 {
			t.Fatalf("%d items", items)
		}
	})

	t.Run("sold out is answered, a caller gone is dropped", func(t *testing.T) {
		gone, cancel := context.WithCancel(ctx)
		cancel()
		e := testEntry("A", 0, 0)
		bt := &batcher{queue: []*pending{queued(ctx, e, "x"), queued(gone, testEntry("B", 5), "y")}}
		got, answered := bt.pack(now)
		if len(got.members) != 0 || len(answered) != 1 || answered[0].p.customer != "x" || len(bt.queue) != 0 {
			t.Fatalf("packed %d, answered %d, queue %d", len(got.members), len(answered), len(bt.queue))
		}
	})

	t.Run("a holder is answered; a customer in a transaction now waits for it", func(t *testing.T) {
		e := testEntry("A", 50)
		e.holders.add("held", sale.Coupon{ID: "C1"})
		bt := &batcher{queue: []*pending{queued(ctx, e, "held"), queued(ctx, e, "x")}}
		first, answered := bt.pack(now)
		var ag *sale.AlreadyGrabbedError
		if len(first.members) != 1 || len(answered) != 1 || !errors.As(answered[0].err, &ag) || ag.Coupon.ID != "C1" {
			t.Fatalf("packed %d, answered %+v", len(first.members), answered)
		}
		bt.queue = append(bt.queue, queued(ctx, e, "x"))
		e.stock.release(first.groups[0].ref.Shard, false)
		if again, _ := bt.pack(now); len(again.members) != 0 || len(bt.queue) != 1 {
			t.Fatalf("x asked again while its grant was sent: packed %d, queue %d", len(again.members), len(bt.queue))
		}
		bt.sent(first)
		if again, _ := bt.pack(now); len(again.members) != 1 {
			t.Fatalf("after the outcome: packed %d", len(again.members))
		}
	})
}
