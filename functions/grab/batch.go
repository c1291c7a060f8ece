package grab

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/seckill/seckill/shared/metrics"
	"github.com/seckill/seckill/shared/sale"
	"github.com/seckill/seckill/shared/store"
)

// errStockGone tells a waiting grab that no shard of its promotion has
// stock left: nothing was sent, and its next turn hears sold-out.
var errStockGone = errors.New("no shard has stock left")

// pending is one grab waiting for a batch.
type pending struct {
	ctx      context.Context
	e        *cachedPromotion
	customer sale.CustomerID
	coupon   sale.Coupon // GrabbedAt and shard are set when packed
	shard    int
	done     chan error // buffered: the batcher never waits for a reader
}

// batcher is group commit: the grants an instance has pending go to
// DynamoDB together, one transaction for many. There is no timer: a grant
// that finds fewer than max transactions in flight starts one at once;
// otherwise it queues, and the next transaction to go takes everything
// queued that fits. So a lone grant pays no added latency, and under load
// batches grow with the queue. Under Lambda, with one request per
// instance, every batch is a batch of one.
type batcher struct {
	now     func() time.Time
	store   *store.Store
	max     int              // transactions in flight
	onBatch func(grants int) // told each batch's size, if set

	mu       sync.Mutex
	queue    []*pending
	inflight int
	// sending counts, per customer and promotion, the grants in a
	// transaction now. Another ask of theirs waits for the outcome instead
	// of going beside it: should the first win, the second's coupon put
	// would cancel a whole batch of others.
	sending map[holderKey]int
}

type holderKey struct {
	promo    string
	customer sale.CustomerID
}

// answer is the outcome of a grab that pack settles without a write.
type answer struct {
	p   *pending
	err error
}

// do queues p and waits for its outcome: nil (granted), a
// *sale.AlreadyGrabbedError, store.ErrCancelled or store.ErrShort (go
// again), errStockGone, store.ErrStale, store.ErrConflict, or an error
// wrapping sale.ErrUnavailable.
func (b *batcher) do(p *pending) error {
	b.mu.Lock()
	b.queue = append(b.queue, p)
	start := b.inflight < b.max
	if start {
		b.inflight++
	}
	b.mu.Unlock()
	if start {
		go b.run()
	}
	select {
	case err := <-p.done:
		return err
	case <-p.ctx.Done():
		// Still queued, it will be dropped; already sent, it may land, and
		// the customer's next ask finds the coupon held.
		return fmt.Errorf("grab: %w: %w", sale.ErrUnavailable, p.ctx.Err())
	}
}

// run commits batches until nothing it can send is queued.
func (b *batcher) run() {
	for {
		b.mu.Lock()
		batch, answered := b.pack(b.now())
		if len(batch.members) == 0 {
			b.inflight--
		}
		b.mu.Unlock()
		for _, a := range answered {
			a.p.done <- a.err
		}
		if len(batch.members) == 0 {
			return
		}
		b.commit(batch)
	}
}

// batch is one transaction's worth of grants.
type batch struct {
	now     time.Time
	members []*pending
	groups  []group // one per shard touched
}

type group struct {
	stock *stock
	ref   store.ShardRef
	n     int // grants from this shard
}

// pack takes from the queue what goes in the next transaction: at most
// store.MaxBatchItems items (one per shard touched, one per coupon), each
// customer once per promotion, grants of a promotion packed onto shards not
// already in a transaction of this instance (which could only conflict) in
// numbers their stock can take. A customer already seen to hold a coupon
// is answered with it; one whose grant is in a transaction now waits for
// its outcome. Grabs whose promotion has no stock left at all are answered
// too, to go again and hear sold-out; grabs whose caller left are dropped;
// the rest stays queued, in order. It runs under b.mu.
func (b *batcher) pack(now time.Time) (bt batch, answered []answer) {
	bt.now = now
	type open struct {
		g   int // index into bt.groups
		cap int
	}
	opened := map[*stock]*open{}
	seen := map[holderKey]bool{}
	items := 0
	keep := b.queue[:0]
	for _, p := range b.queue {
		if p.ctx.Err() != nil {
			continue
		}
		if c, ok, _ := p.e.holders.get(p.customer); ok {
			answered = append(answered, answer{p, &sale.AlreadyGrabbedError{Coupon: c}})
			continue
		}
		k := holderKey{p.e.promo.ID, p.customer}
		if seen[k] || b.sending[k] > 0 || items >= store.MaxBatchItems {
			keep = append(keep, p)
			continue
		}
		st := p.e.stock
		o := opened[st]
		if o == nil || o.cap == 0 {
			if items+2 > store.MaxBatchItems {
				keep = append(keep, p)
				continue
			}
			shard, left, state := st.reserve()
			switch state {
			case stockGone:
				answered = append(answered, answer{p, errStockGone})
				continue
			case stockBusy:
				keep = append(keep, p)
				continue
			}
			bt.groups = append(bt.groups, group{stock: st, ref: store.ShardRef{PromotionID: p.e.promo.ID, Shard: shard}})
			o = &open{g: len(bt.groups) - 1, cap: left}
			opened[st] = o
			items++
		}
		g := &bt.groups[o.g]
		g.n++
		o.cap--
		items++
		seen[k] = true
		p.shard = g.ref.Shard
		p.coupon.GrabbedAt = now.Truncate(time.Millisecond).UTC()
		bt.members = append(bt.members, p)
	}
	if b.sending == nil {
		b.sending = map[holderKey]int{}
	}
	for _, p := range bt.members {
		b.sending[holderKey{p.e.promo.ID, p.customer}]++
	}
	clear(b.queue[len(keep):])
	b.queue = keep
	return bt, answered
}

// commit sends one batch and tells every member its outcome.
func (b *batcher) commit(bt batch) {
	grants := make([]store.Grant, len(bt.members))
	for i, p := range bt.members {
		grants[i] = store.Grant{Promotion: p.e.promo, Shard: p.shard, Coupon: p.coupon}
		// Each member's metrics count the call it took part in.
		metrics.CountCall(p.ctx)
	}
	if f := b.onBatch; f != nil {
		f(len(grants))
	}
	// The transaction belongs to no one request: a member that gives up
	// must not cancel it for the others. The store bounds it. Each member's
	// answer costs its part of the units the transaction consumed.
	ctx, used := metrics.WithCalls(context.Background())
	err := b.store.GrabBatch(ctx, grants, bt.now)
	if c := used(); len(c.Units) > 0 {
		members := make([]context.Context, len(bt.members))
		for i, p := range bt.members {
			members[i] = p.ctx
		}
		metrics.Share(c, members)
	}
	var be *store.BatchError
	switch {
	case err == nil:
		for _, g := range bt.groups {
			g.stock.take(g.ref.Shard, g.n)
		}
		for _, p := range bt.members {
			p.e.holders.add(p.customer, p.coupon)
		}
		b.sent(bt)
		for _, p := range bt.members {
			p.done <- nil
		}
	case errors.As(err, &be):
		for _, g := range bt.groups {
			if s, ok := be.Shards[g.ref]; ok && !s.Stale {
				g.stock.settle(g.ref.Shard, s.Left)
			} else {
				g.stock.release(g.ref.Shard, be.Conflict)
			}
		}
		b.sent(bt)
		for i, p := range bt.members {
			p.done <- be.Outcome(i, store.ShardRef{PromotionID: p.e.promo.ID, Shard: p.shard})
		}
	default:
		// Unknown outcome: every member learns it by trying again. The
		// shards' bounds stay as they were, still upper bounds. A throttled
		// or slow shard is likely a hot partition: the next try hops.
		for _, g := range bt.groups {
			g.stock.release(g.ref.Shard, true)
		}
		b.sent(bt)
		for _, p := range bt.members {
			p.done <- err
		}
	}
}

// sent lets the members' customers ask again: their outcome is known, and
// a grant that landed is among the holders.
func (b *batcher) sent(bt batch) {
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, p := range bt.members {
		k := holderKey{p.e.promo.ID, p.customer}
		if b.sending[k]--; b.sending[k] <= 0 {
			delete(b.sending, k)
		}
	}
}
