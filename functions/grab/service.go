// Package grab is the grab function: first come, first served, one coupon
// per customer per promotion, never more than the stock.
package grab

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"time"

	lru "github.com/hashicorp/golang-lru/v2"
	"github.com/oklog/ulid/v2"
	"golang.org/x/sync/singleflight"

	"github.com/seckill/seckill/shared/sale"
	"github.com/seckill/seckill/shared/store"
)

// Service grants coupons. It remembers, per instance, which promotions and
// shards it has seen empty: a started promotion never changes and its stock
// only falls, so that knowledge stays true and most rejections of a stampede
// cost no write at all.
type Service struct {
	store       *store.Store
	now         func() time.Time
	ttl         time.Duration
	maxAttempts int

	loads singleflight.Group
	// What the instance knows of promotions, bounded in count whatever ids
	// clients send: found ones and ids that name none are kept apart, so a
	// flood of made-up ids cannot push out the promotions on sale. Time is
	// bounded by ttl: an entry older than that is read again before use
	// (not found) or while it is used (found).
	mu      sync.Mutex
	found   *lru.Cache[string, *entry]
	missing *lru.Cache[string, *entry]
}

// MaxCached bounds, per instance, the promotions remembered and, apart, the
// ids remembered to name no promotion.
const MaxCached = 4096

// entry is an instance's view of one promotion.
type entry struct {
	promo    sale.Promotion
	err      error // sale.ErrPromotionNotFound, remembered for ttl
	loadedAt time.Time

	mu      sync.Mutex
	empty   []bool // shards seen empty, for promo.Version
	soldOut bool
	// holders are customers this instance has seen hold a coupon. A coupon
	// is never taken back, so a customer asking again is answered from
	// here, without a transaction that would fail on the coupon anyway.
	// Reloads of the same version share the set.
	holders *holders
}

// holders maps customers to the coupon they hold, up to maxHolders.
type holders struct {
	mu sync.Mutex
	m  map[sale.CustomerID]sale.Coupon
}

// maxHolders bounds the memory one promotion's holders take (about 100
// bytes each); past it, repeat asks cost a transaction again.
const maxHolders = 200_000

func (h *holders) get(customer sale.CustomerID) (sale.Coupon, bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	c, ok := h.m[customer]
	return c, ok
}

func (h *holders) add(customer sale.CustomerID, c sale.Coupon) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if len(h.m) < maxHolders {
		h.m[customer] = c
	}
}

// NewService returns a grab service. ttl bounds how long a promotion is read
// from memory; maxAttempts bounds the transactions one grab tries.
func NewService(s *store.Store, now func() time.Time, ttl time.Duration, maxAttempts int) *Service {
	found, _ := lru.New[string, *entry](MaxCached) // only a size < 1 fails
	missing, _ := lru.New[string, *entry](MaxCached)
	return &Service{store: s, now: now, ttl: ttl, maxAttempts: max(1, maxAttempts), found: found, missing: missing}
}

// Grab grants customer a coupon of promotion id, or says why not.
func (s *Service) Grab(ctx context.Context, id string, customer sale.CustomerID) (sale.Coupon, error) {
	e, err := s.entry(ctx, id, false)
	if err != nil {
		return sale.Coupon{}, err
	}
	if err := e.promo.CheckWindow(s.now()); err != nil {
		return sale.Coupon{}, err
	}
	if c, ok := e.holders.get(customer); ok {
		return sale.Coupon{}, &sale.AlreadyGrabbedError{Coupon: c}
	}
	c, err := s.grab(ctx, id, e, customer)
	var held *sale.AlreadyGrabbedError
	switch {
	case err == nil:
		e.holders.add(customer, c)
	case errors.As(err, &held):
		e.holders.add(customer, held.Coupon)
	}
	return c, err
}

// grab makes the attempts of one grant, starting from the instance's view e
// of promotion id.
func (s *Service) grab(ctx context.Context, id string, e *entry, customer sale.CustomerID) (sale.Coupon, error) {
	var (
		last      error
		lastShard = -1
		// ambiguous holds the ids of coupons whose attempt may have been
		// applied (timeout, dropped connection): finding one of them held
		// later means this very request won.
		ambiguous []string
	)
	for attempt := 0; attempt < s.maxAttempts; attempt++ {
		now := s.now()
		if err := e.promo.CheckWindow(now); err != nil {
			return sale.Coupon{}, err
		}
		var held *sale.AlreadyGrabbedError
		shard, ok := e.pick(lastShard)
		lastShard = shard
		if !ok {
			err := s.soldOut(ctx, e.promo, customer)
			if errors.As(err, &held) && slices.Contains(ambiguous, held.Coupon.ID) {
				return held.Coupon, nil
			}
			return sale.Coupon{}, err
		}
		c := sale.Coupon{
			ID: ulid.Make().String(), PromotionID: id, CustomerID: string(customer),
			Discount: e.promo.Discount, GrabbedAt: now.Truncate(time.Millisecond).UTC(),
		}
		err := s.store.Grab(ctx, e.promo, shard, c, now)
		switch {
		case err == nil:
			return c, nil
		case errors.As(err, &held) && (held.Coupon.ID == c.ID || slices.Contains(ambiguous, held.Coupon.ID)):
			// This request's own coupon: an earlier try of this attempt (the
			// SDK's, after a dropped answer) or of an ambiguous one landed.
			return held.Coupon, nil
		case errors.Is(err, store.ErrShardEmpty):
			e.markEmpty(shard)
			continue // another shard may have stock; no wait needed
		case errors.Is(err, store.ErrStale):
			if e, err = s.entry(ctx, id, true); err != nil {
				return sale.Coupon{}, err
			}
		case errors.Is(err, store.ErrConflict), errors.Is(err, sale.ErrUnavailable):
			// Another transaction held the shard, or the store pushed back:
			// wait a jittered moment and try another shard. If the attempt
			// was in fact applied, the coupon put of the next one fails and
			// the customer gets the coupon already held: nothing doubles.
			last = err
			if errors.Is(err, sale.ErrUnavailable) {
				ambiguous = append(ambiguous, c.ID)
			}
			if werr := store.Pause(ctx, attempt); werr != nil {
				return sale.Coupon{}, fmt.Errorf("grab: %w: %w", sale.ErrUnavailable, werr)
			}
		default:
			return sale.Coupon{}, err
		}
	}
	if last == nil {
		last = errors.New("too many attempts")
	}
	if errors.Is(last, sale.ErrUnavailable) {
		return sale.Coupon{}, last
	}
	return sale.Coupon{}, fmt.Errorf("grab gave up after %d attempts: %w: %w", s.maxAttempts, sale.ErrUnavailable, last)
}

// soldOut answers a grab of a promotion with nothing left: a customer who
// holds a coupon hears about it, everyone else that it is sold out. This is
// a read of the customer's own item, never a write on a hot shard.
func (s *Service) soldOut(ctx context.Context, p sale.Promotion, customer sale.CustomerID) error {
	held, ok, err := s.store.Coupon(ctx, p.ID, customer)
	switch {
	case err != nil:
		return err
	case ok:
		return &sale.AlreadyGrabbedError{Coupon: held}
	}
	return fmt.Errorf("promotion %s: %w", p.ID, sale.ErrSoldOut)
}

// entry returns the instance's view of promotion id: loaded when absent or
// when fresh is set; when merely older than ttl, the old view is used while
// one background read refreshes it. A started promotion never changes and
// every grant checks the version on the shard it writes, so a stale view is
// safe, and an instance keeps answering from memory while the store hangs
// instead of queueing every request behind one slow read. Concurrent loads
// of one id share one read. What the instance knew of empty shards and
// holders survives a reload that finds the same version.
func (s *Service) entry(ctx context.Context, id string, fresh bool) (*entry, error) {
	e, ok := s.found.Get(id)
	if !ok {
		e, ok = s.missing.Get(id)
	}
	if ok && !fresh {
		if s.now().Sub(e.loadedAt) >= s.ttl {
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
func (s *Service) load(ctx context.Context, id string) (*entry, error) {
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
		e := r.Val.(*entry)
		return e, e.err
	}
}

func (s *Service) read(ctx context.Context, id string) (any, error) {
	p, err := s.store.Promotion(ctx, id)
	if err != nil && !errors.Is(err, sale.ErrPromotionNotFound) {
		return nil, err // not remembered: the store may answer next time
	}
	next := &entry{promo: p, err: err, loadedAt: s.now()}
	// One writer at a time, so that a reload carries over what the entry
	// it replaces knew.
	s.mu.Lock()
	defer s.mu.Unlock()
	if err != nil {
		s.found.Remove(id)
		s.missing.Add(id, next)
		return next, nil
	}
	if old, ok := s.found.Peek(id); ok && old.promo.Version == p.Version {
		old.mu.Lock()
		next.empty, next.soldOut, next.holders = slices.Clone(old.empty), old.soldOut, old.holders
		old.mu.Unlock()
	}
	if next.empty == nil {
		next.empty = make([]bool, p.Shards)
	}
	if next.holders == nil {
		next.holders = &holders{m: map[sale.CustomerID]sale.Coupon{}}
	}
	s.missing.Remove(id)
	s.found.Add(id, next)
	return next, nil
}

// pick chooses a shard at random among those not known to be empty, so
// that concurrent grabs spread over the shards' partitions. It avoids the
// shard just tried when another is left: after a conflict, that shard is
// the one most likely busy.
func (e *entry) pick(avoid int) (int, bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.soldOut {
		return 0, false
	}
	n := 0
	for _, empty := range e.empty {
		if !empty {
			n++
		}
	}
	if n == 0 {
		e.soldOut = true
		return 0, false
	}
	if avoid >= 0 && avoid < len(e.empty) && !e.empty[avoid] && n > 1 {
		n--
	} else {
		avoid = -1
	}
	k := rand.IntN(n)
	for i, empty := range e.empty {
		if !empty && i != avoid {
			if k == 0 {
				return i, true
			}
			k--
		}
	}
	panic("unreachable")
}

func (e *entry) markEmpty(shard int) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.empty[shard] = true
}

// Cached tells how many promotions, and apart how many ids that name none,
// the instance remembers.
func (s *Service) Cached() (found, missing int) { return s.found.Len(), s.missing.Len() }
