// Package grab is the grab function: first come, first served, one coupon
// per customer per promotion, never more than the stock.
package grab

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	lru "github.com/hashicorp/golang-lru/v2"
	"github.com/oklog/ulid/v2"
	"golang.org/x/sync/singleflight"

	"github.com/seckill/seckill/shared/sale"
	"github.com/seckill/seckill/shared/store"
)

// Service grants coupons. It remembers, per instance, what it has learned
// of each promotion's stock: a started promotion never changes and its stock
// only falls, so an upper bound of what a shard has left stays an upper
// bound, a shard seen empty stays empty, and once every shard is empty the
// holders are final and every later answer comes from memory.
type Service struct {
	store       *store.Store
	now         func() time.Time
	ttl         time.Duration
	maxAttempts int
	maxHolders  int
	batch       *batcher
	onBatch     func(grants int)

	loads   singleflight.Group
	holding singleflight.Group
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

// Defaults of what Tune sets.
const (
	// DefaultInFlight grant transactions per instance: few, so that
	// arrivals queue and go together. Measured on the local stack
	// (stampede at 0.4 scale): 1 in flight 771 grants/s, 2 933, 4 746.
	DefaultInFlight = 2
	// DefaultMaxHolders bounds the holders one promotion keeps in memory
	// (about 150 bytes each): past it, every sold-out answer costs one read.
	DefaultMaxHolders = 200_000
)

// entry is an instance's view of one promotion.
type entry struct {
	promo    sale.Promotion
	err      error // sale.ErrPromotionNotFound, remembered for ttl
	loadedAt time.Time
	// Reloads that find the same version share these.
	stock   *stock
	holders *holders
}

// stock is what the instance knows of one promotion version's shards.
type stock struct {
	mu sync.Mutex
	// left bounds from above what each shard has: the share it started
	// with or a consistent read, minus this instance's grants, lowered to
	// what a failed condition showed. Zero means empty for good.
	left  []int
	busy  []bool // in a transaction of this instance right now
	avoid int    // shard of the last conflict, or -1
}

func (st *stock) soldOut() bool {
	st.mu.Lock()
	defer st.mu.Unlock()
	for _, l := range st.left {
		if l > 0 {
			return false
		}
	}
	return true
}

// holders maps customers to the coupon they hold. Until complete it holds
// those this instance has seen, a cache of repeat asks; once complete it is
// every holder of a sold-out promotion and answers everyone.
type holders struct {
	mu       sync.Mutex
	m        map[sale.CustomerID]sale.Coupon
	complete bool
	tried    time.Time // last enumeration that did not complete
}

func (h *holders) get(customer sale.CustomerID) (c sale.Coupon, ok, complete bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	c, ok = h.m[customer]
	return c, ok, h.complete
}

func (h *holders) add(customer sale.CustomerID, c sale.Coupon, limit int) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if len(h.m) < limit {
		h.m[customer] = c
	}
}

// NewService returns a grab service. ttl bounds how long a promotion is read
// from memory; maxAttempts bounds the transactions one grab tries.
func NewService(s *store.Store, now func() time.Time, ttl time.Duration, maxAttempts int) *Service {
	found, _ := lru.New[string, *entry](MaxCached) // only a size < 1 fails
	missing, _ := lru.New[string, *entry](MaxCached)
	svc := &Service{store: s, now: now, ttl: ttl, maxAttempts: max(1, maxAttempts), found: found, missing: missing}
	return svc.Tune(DefaultInFlight, DefaultMaxHolders)
}

// Tune sets how many grant transactions the instance keeps in flight and
// how many holders of a sold-out promotion it keeps in memory; zero keeps
// the default.
func (s *Service) Tune(inFlight, maxHolders int) *Service {
	if inFlight <= 0 {
		inFlight = DefaultInFlight
	}
	if maxHolders <= 0 {
		maxHolders = DefaultMaxHolders
	}
	s.maxHolders = maxHolders
	s.batch = &batcher{svc: s, max: inFlight}
	return s
}

// OnBatch sets a function told the size of every batch committed (nil:
// none); the benchmark draws its histogram from it. Set it before serving.
func (s *Service) OnBatch(f func(grants int)) { s.onBatch = f }

// Grab grants customer a coupon of promotion id, or says why not.
func (s *Service) Grab(ctx context.Context, id string, customer sale.CustomerID) (sale.Coupon, error) {
	e, err := s.entry(ctx, id, false)
	if err != nil {
		return sale.Coupon{}, err
	}
	if err := e.promo.CheckWindow(s.now()); err != nil {
		return sale.Coupon{}, err
	}
	if c, ok, _ := e.holders.get(customer); ok {
		return sale.Coupon{}, &sale.AlreadyGrabbedError{Coupon: c}
	}
	// A grant is remembered by the batch that made it, before anyone of
	// the same customer may ask again; a coupon learnt held, here.
	c, err := s.grab(ctx, id, e, customer)
	var held *sale.AlreadyGrabbedError
	if errors.As(err, &held) {
		e.holders.add(customer, held.Coupon, s.maxHolders)
	}
	return c, err
}

// grab makes the attempts of one grant, starting from the instance's view e
// of promotion id. Each attempt joins the instance's next batch.
func (s *Service) grab(ctx context.Context, id string, e *entry, customer sale.CustomerID) (sale.Coupon, error) {
	var (
		last error
		// ambiguous holds the ids of coupons whose attempt may have been
		// applied (timeout, dropped connection): finding one of them held
		// later means this very request won.
		ambiguous []string
	)
	// Turns that only re-pack (a batch cancelled by another member, a
	// shard that had less than hoped) are not attempts, but are bounded.
	for attempt, turn := 0, 0; attempt < s.maxAttempts && turn < 4*s.maxAttempts+16; turn++ {
		if err := e.promo.CheckWindow(s.now()); err != nil {
			return sale.Coupon{}, err
		}
		var held *sale.AlreadyGrabbedError
		if e.stock.soldOut() {
			err := s.soldOut(ctx, e, customer)
			if errors.As(err, &held) && slices.Contains(ambiguous, held.Coupon.ID) {
				return held.Coupon, nil
			}
			return sale.Coupon{}, err
		}
		p := &pending{ctx: ctx, e: e, customer: customer, coupon: sale.Coupon{
			ID: ulid.Make().String(), PromotionID: id, CustomerID: string(customer), Discount: e.promo.Discount,
		}, done: make(chan error, 1)}
		err := s.batch.do(p)
		switch {
		case err == nil:
			return p.coupon, nil
		case errors.As(err, &held) && (held.Coupon.ID == p.coupon.ID || slices.Contains(ambiguous, held.Coupon.ID)):
			// This request's own coupon: an earlier try of this attempt (the
			// SDK's, after a dropped answer) or of an ambiguous one landed.
			e.holders.add(customer, held.Coupon, s.maxHolders)
			return held.Coupon, nil
		case errors.Is(err, errRepack):
			continue
		case errors.Is(err, store.ErrStale):
			attempt++
			if e, err = s.entry(ctx, id, true); err != nil {
				return sale.Coupon{}, err
			}
		case errors.Is(err, store.ErrConflict), errors.Is(err, sale.ErrUnavailable) && ctx.Err() == nil:
			// Another transaction held an item, or the store pushed back:
			// wait a jittered moment and try again. If the attempt was in
			// fact applied, the coupon put of the next one fails and the
			// customer gets the coupon already held: nothing doubles.
			last = err
			if errors.Is(err, sale.ErrUnavailable) {
				ambiguous = append(ambiguous, p.coupon.ID)
			}
			if werr := store.Pause(ctx, attempt); werr != nil {
				return sale.Coupon{}, fmt.Errorf("grab: %w: %w", sale.ErrUnavailable, werr)
			}
			attempt++
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
// holds a coupon hears about it, everyone else that it is sold out. Once the
// holders are loaded that costs nothing; until then it is a read of the
// customer's own item, never a write on a hot shard.
func (s *Service) soldOut(ctx context.Context, e *entry, customer sale.CustomerID) error {
	c, ok, complete := e.holders.get(customer)
	switch {
	case ok:
		return &sale.AlreadyGrabbedError{Coupon: c}
	case complete:
		return sale.ErrSoldOut // the answer names the promotion; no error to build
	}
	s.loadHolders(ctx, e)
	held, ok, err := s.store.Coupon(ctx, e.promo, customer)
	switch {
	case err != nil:
		return err
	case ok:
		return &sale.AlreadyGrabbedError{Coupon: held}
	}
	return fmt.Errorf("promotion %s: %w", e.promo.ID, sale.ErrSoldOut)
}

// holderRetry spaces enumerations that came back incomplete.
const holderRetry = 200 * time.Millisecond

// loadHolders starts, in the background and once per promotion, the
// enumeration of a sold-out promotion's holders. The set is exact: with
// every shard empty no grant can happen any more, and every grant wrote its
// coupon in the transaction that took its stock. It is accepted only when it
// counts exactly totalCoupons holders (all stock granted), so a coupon whose
// write a read did not yet see cannot be missed.
func (s *Service) loadHolders(ctx context.Context, e *entry) {
	h, p := e.holders, e.promo
	h.mu.Lock()
	skip := h.complete || p.TotalCoupons > s.maxHolders || s.now().Sub(h.tried) < holderRetry
	h.mu.Unlock()
	if skip {
		return
	}
	s.holding.DoChan(p.ID, func() (any, error) {
		all, err := s.store.Holders(context.WithoutCancel(ctx), p, s.maxHolders)
		h.mu.Lock()
		defer h.mu.Unlock()
		if err != nil || len(all) != p.TotalCoupons {
			h.tried = s.now()
			return nil, err
		}
		h.m, h.complete = all, true
		return nil, nil
	})
}

// entry returns the instance's view of promotion id: loaded when absent or
// when fresh is set; when merely older than ttl, the old view is used while
// one background read refreshes it. A started promotion never changes and
// every grant checks the version on the shard it writes, so a stale view is
// safe, and an instance keeps answering from memory while the store hangs
// instead of queueing every request behind one slow read. Concurrent loads
// of one id share one read. What the instance knew of the stock and the
// holders survives a reload that finds the same version.
func (s *Service) entry(ctx context.Context, id string, fresh bool) (*entry, error) {
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
		next.holders = &holders{m: map[sale.CustomerID]sale.Coupon{}}
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
