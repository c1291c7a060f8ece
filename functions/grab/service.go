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

	loads   singleflight.Group
	holding singleflight.Group
	// What the instance knows of promotions, bounded in count whatever ids
	// clients send: found ones and ids that name none are kept apart, so a
	// flood of made-up ids cannot push out the promotions on sale. Time is
	// bounded by ttl: an entry older than that is read again before use
	// (not found) or while it is used (found).
	mu      sync.Mutex
	found   *lru.Cache[string, *cachedPromotion]
	missing *lru.Cache[string, *cachedPromotion]
}

// MaxCached bounds, per instance, the promotions remembered and, apart, the
// ids remembered to name no promotion.
const MaxCached = 4096

// Defaults of Options.
const (
	// DefaultInFlight grant transactions per instance: few, so that
	// arrivals queue and go together (more in flight did not help on the
	// local stack: functions/local/bench/README.md).
	DefaultInFlight = 2
	// DefaultMaxHolders bounds the holders one promotion keeps in memory
	// (about 150 bytes each): past it, every sold-out answer costs one read.
	DefaultMaxHolders = 200_000
)

// Options tune a Service; zero values take the defaults.
type Options struct {
	// PromotionTTL bounds how long a promotion is read from memory.
	PromotionTTL time.Duration
	// MaxAttempts bounds the transactions one grab tries.
	MaxAttempts int
	// InFlight bounds the grant transactions in flight at once.
	InFlight int
	// MaxHolders bounds the holders of a sold-out promotion kept in memory.
	MaxHolders int
	// OnBatch, when set, is told the size of every batch committed (the
	// benchmark draws its histogram from it).
	OnBatch func(grants int)
}

// NewService returns a grab service over s with the clock now.
func NewService(s *store.Store, now func() time.Time, o Options) *Service {
	if o.InFlight <= 0 {
		o.InFlight = DefaultInFlight
	}
	if o.MaxHolders <= 0 {
		o.MaxHolders = DefaultMaxHolders
	}
	found, _ := lru.New[string, *cachedPromotion](MaxCached) // only a size < 1 fails
	missing, _ := lru.New[string, *cachedPromotion](MaxCached)
	return &Service{
		store: s, now: now, ttl: o.PromotionTTL, maxAttempts: max(1, o.MaxAttempts), maxHolders: o.MaxHolders,
		found: found, missing: missing,
		batch: &batcher{now: now, store: s, max: o.InFlight, onBatch: o.OnBatch},
	}
}

// OnBatch sets the function told the size of every batch committed (nil:
// none); set it before serving.
func (s *Service) OnBatch(f func(grants int)) { s.batch.onBatch = f }

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
		e.holders.add(customer, held.Coupon)
	}
	return c, err
}

// grab makes the attempts of one grant, starting from the instance's view e
// of promotion id. Each attempt joins the instance's next batch.
func (s *Service) grab(ctx context.Context, id string, e *cachedPromotion, customer sale.CustomerID) (sale.Coupon, error) {
	var (
		last error
		// ambiguous holds the ids of coupons whose attempt may have been
		// applied (timeout, dropped connection): finding one of them held
		// later means this very request won.
		ambiguous []string
	)
	// Turns that only re-pack (a batch cancelled by another member, a
	// shard that had less than hoped) are not attempts, but are bounded.
	for attempt, turn := 0, 0; attempt < s.maxAttempts && turn < maxTurns(s.maxAttempts); turn++ {
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
			e.holders.add(customer, held.Coupon)
			return held.Coupon, nil
		case errors.Is(err, store.ErrCancelled), errors.Is(err, store.ErrShort), errors.Is(err, errStockGone):
			// Nothing was written for this grant: go again, in the next
			// batch or, with no stock left, to hear sold-out.
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
func (s *Service) soldOut(ctx context.Context, e *cachedPromotion, customer sale.CustomerID) error {
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

// maxTurns bounds the turns of one grab, attempts and re-packs together.
// A re-pack costs no attempt (nothing was written for the grant), but
// batches cancelled by others one after another must not hold a request
// for ever: allow a few re-packs per attempt, and a few more for the
// turns that only learn the stock is gone before sold-out is heard.
func maxTurns(attempts int) int { return repacksPerAttempt*attempts + repackSlack }

const (
	repacksPerAttempt = 4
	repackSlack       = 16
)

// holderRetry spaces enumerations that came back incomplete.
const holderRetry = 200 * time.Millisecond

// loadHolders starts, in the background and once per promotion, the
// enumeration of a sold-out promotion's holders. The set is exact: with
// every shard empty no grant can happen any more, and every grant wrote its
// coupon in the transaction that took its stock. It is accepted only when it
// counts exactly totalCoupons holders (all stock granted), so a coupon whose
// write a read did not yet see cannot be missed.
func (s *Service) loadHolders(ctx context.Context, e *cachedPromotion) {
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
