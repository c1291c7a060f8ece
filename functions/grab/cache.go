package grab

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/seckill/seckill/shared/sale"
)

// cachedPromotion is what an instance knows of one promotion: the
// promotion as read, and what it learned since of its stock and holders.
type cachedPromotion struct {
	promo    sale.Promotion
	err      error // sale.ErrPromotionNotFound, remembered for ttl
	loadedAt time.Time
	// Reloads that find the same version share these.
	stock   *stock
	holders *holders
}

// entry returns the instance's view of promotion id: loaded when absent or
// when fresh is set; when merely older than ttl, the old view is used while
// one background read refreshes it. A started promotion never changes and
// every grant checks the version on the shard it writes, so a stale view is
// safe, and an instance keeps answering from memory while the store hangs
// instead of queueing every request behind one slow read. Concurrent loads
// of one id share one read. What the instance knew of the stock and the
// holders survives a reload that finds the same version.
func (s *Service) entry(ctx context.Context, id string, fresh bool) (*cachedPromotion, error) {
	e, ok := s.found.Get(id)
	if !ok {
		e, ok = s.missing.Get(id)
	}
	if ok && !fresh {
		// A sold-out promotion is final (it has granted, so it can no
		// longer change): no refresh, so its answers cost no call at all.
		if s.now().Sub(e.loadedAt) >= s.ttl && (e.err != nil || !e.stock.soldOut()) {
			if e.err != nil {
				return s.load(ctx, id)
			}
			s.loads.DoChan(id, func() (any, error) { return s.read(context.WithoutCancel(ctx), id) })
		}
		return e, e.err
	}
	return s.load(ctx, id)
}

// load reads promotion id, sharing the read with concurrent callers.
func (s *Service) load(ctx context.Context, id string) (*cachedPromotion, error) {
	// The shared read outlives any one caller's cancellation; the store's
	// own deadline bounds it.
	ch := s.loads.DoChan(id, func() (any, error) { return s.read(context.WithoutCancel(ctx), id) })
	select {
	case <-ctx.Done():
		return nil, fmt.Errorf("load promotion: %w: %w", sale.ErrUnavailable, ctx.Err())
	case r := <-ch:
		if r.Err != nil {
			return nil, r.Err
		}
		e := r.Val.(*cachedPromotion)
		return e, e.err
	}
}

func (s *Service) read(ctx context.Context, id string) (any, error) {
	p, err := s.store.Promotion(ctx, id)
	if err != nil && !errors.Is(err, sale.ErrPromotionNotFound) {
		return nil, err // not remembered: the store may answer next time
	}
	next := &cachedPromotion{promo: p, err: err, loadedAt: s.now()}
	if err != nil {
		s.mu.Lock()
		defer s.mu.Unlock()
		s.found.Remove(id)
		s.missing.Add(id, next)
		return next, nil
	}
	s.mu.Lock()
	old, ok := s.found.Peek(id)
	s.mu.Unlock()
	if ok && old.promo.Version == p.Version {
		next.stock, next.holders = old.stock, old.holders
	} else {
		left := sale.SplitStock(p.TotalCoupons, p.Shards)
		// An instance that meets a promotion already on sale learns its
		// stock from one consistent read instead of from failed writes;
		// after a sell-out that is all it takes to answer from memory.
		if p.Started(s.now()) {
			if read, ok, err := s.store.ShardsLeft(ctx, p); err == nil && ok {
				left = read
			}
		}
		next.stock = &stock{left: left, busy: make([]bool, p.Shards), avoid: -1}
		next.holders = &holders{m: map[sale.CustomerID]sale.Coupon{}, limit: s.maxHolders}
	}
	// One writer at a time, so that a reload carries over what the entry
	// it replaces knew.
	s.mu.Lock()
	defer s.mu.Unlock()
	if cur, ok := s.found.Peek(id); ok && cur.promo.Version == p.Version && cur.stock != next.stock {
		next.stock, next.holders = cur.stock, cur.holders // a concurrent read won
	}
	s.missing.Remove(id)
	s.found.Add(id, next)
	return next, nil
}

// Cached tells how many promotions, and apart how many ids that name none,
// the instance remembers.
func (s *Service) Cached() (found, missing int) { return s.found.Len(), s.missing.Len() }
