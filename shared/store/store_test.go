package store_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/seckill/seckill/shared/ddblocal/ddbtest"
	"github.com/seckill/seckill/shared/sale"
	"github.com/seckill/seckill/shared/store"
)

func TestMain(m *testing.M) { ddbtest.Main(m) }

func newPromotion(t *testing.T, s *store.Store, id string, total int, publish, finish time.Time, now time.Time) sale.Promotion {
	t.Helper()
	p, err := sale.NewPromotion(id, sale.Draft{Name: "p " + id, Discount: 0.7, TotalCoupons: total, PublishAt: publish, FinishAt: finish}, now)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.CreatePromotion(context.Background(), p); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestPromotionRoundTripAndStock(t *testing.T) {
	t.Parallel()
	s, _ := ddbtest.Store(t)
	ctx := context.Background()
	now := time.Now()
	p := newPromotion(t, s, "01A", 250, now.Add(time.Hour), now.Add(2*time.Hour), now)
	got, err := s.Promotion(ctx, p.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got != p {
		t.Fatalf("got %+v, want %+v", got, p)
	}
	st, err := s.Stock(ctx, p)
	if err != nil {
		t.Fatal(err)
	}
	if want := (sale.Stock{Left: 250}); st[p.ID] != want {
		t.Fatalf("got stock %+v, want %+v", st[p.ID], want)
	}
	if _, err := s.Promotion(ctx, "nope"); !errors.Is(err, sale.ErrPromotionNotFound) {
		t.Fatalf("got %v, want ErrPromotionNotFound", err)
	}
}

func TestGrabOutcomes(t *testing.T) {
	t.Parallel()
	s, _ := ddbtest.Store(t)
	ctx := context.Background()
	now := time.Now()
	p := newPromotion(t, s, "01B", 1, now.Add(-time.Minute), now.Add(time.Hour), now)
	c := sale.Coupon{ID: "c1", PromotionID: p.ID, CustomerID: "alice", Discount: p.Discount, GrabbedAt: now.Truncate(time.Millisecond).UTC()}
	if err := ddbtest.Grab(ctx, s, p, 0, c, now); err != nil {
		t.Fatal(err)
	}
	var held *sale.AlreadyGrabbedError
	if err := ddbtest.Grab(ctx, s, p, 0, sale.Coupon{ID: "c2", PromotionID: p.ID, CustomerID: "alice"}, now); !errors.As(err, &held) || held.Coupon != c {
		t.Fatalf("second grab by alice: got %v, want already grabbed with %+v", err, c)
	}
	if err := ddbtest.Grab(ctx, s, p, 0, sale.Coupon{ID: "c3", PromotionID: p.ID, CustomerID: "bob"}, now); !errors.Is(err, store.ErrShort) {
		t.Fatalf("grab from empty shard: got %v, want ErrShort", err)
	}
	stale := p
	stale.Version++
	if err := ddbtest.Grab(ctx, s, stale, 0, sale.Coupon{ID: "c4", PromotionID: p.ID, CustomerID: "carol"}, now); !errors.Is(err, store.ErrStale) {
		t.Fatalf("grab with stale version: got %v, want ErrStale", err)
	}
	if err := ddbtest.Grab(ctx, s, p, 5, sale.Coupon{ID: "c5", PromotionID: p.ID, CustomerID: "dave"}, now); !errors.Is(err, store.ErrStale) {
		t.Fatalf("grab from missing shard: got %v, want ErrStale", err)
	}
	if err := ddbtest.Grab(ctx, s, p, 0, sale.Coupon{ID: "c6", PromotionID: p.ID, CustomerID: "erin"}, now.Add(2*time.Hour)); !errors.Is(err, store.ErrStale) && !errors.Is(err, store.ErrShort) {
		t.Fatalf("grab after finish: got %v", err)
	}
	got, ok, err := s.Coupon(ctx, p, "alice")
	if err != nil || !ok || got != c {
		t.Fatalf("got %+v %v %v, want %+v", got, ok, err, c)
	}
	st, err := s.Stock(ctx, p)
	if err != nil {
		t.Fatal(err)
	}
	if want := (sale.Stock{Left: 0, Granted: 1}); st[p.ID] != want {
		t.Fatalf("got stock %+v, want %+v", st[p.ID], want)
	}
}

// rename is a change that skips the domain's own checks, so that these tests
// see what the store alone enforces.
func rename(name string) func(sale.Promotion, time.Time) (sale.Promotion, error) {
	return func(old sale.Promotion, _ time.Time) (sale.Promotion, error) {
		old.Name = name
		old.Version++
		return old, nil
	}
}

func at(t time.Time) func() time.Time { return func() time.Time { return t } }

// TestChangeAfterGrantRefused: a change whose clock says the promotion has
// not started (a skewed clock, or a write delayed in flight) is still
// refused once a shard has granted a coupon, and leaves the stock alone.
func TestChangeAfterGrantRefused(t *testing.T) {
	t.Parallel()
	s, _ := ddbtest.Store(t)
	ctx := context.Background()
	now := time.Now()
	publish := now.Add(time.Hour)
	p := newPromotion(t, s, "01D", 250, publish, publish.Add(time.Hour), now)
	c := sale.Coupon{ID: "c1", PromotionID: p.ID, CustomerID: "alice", Discount: p.Discount, GrabbedAt: publish}
	if err := ddbtest.Grab(ctx, s, p, 2, c, publish); err != nil {
		t.Fatal(err)
	}
	if _, err := s.UpdatePromotion(ctx, p.ID, sale.AnyVersion, at(now), rename("late")); !errors.Is(err, sale.ErrPromotionStarted) {
		t.Fatalf("update after a grant: got %v, want ErrPromotionStarted", err)
	}
	if err := s.DeletePromotion(ctx, p.ID, sale.AnyVersion, at(now)); !errors.Is(err, sale.ErrPromotionStarted) {
		t.Fatalf("delete after a grant: got %v, want ErrPromotionStarted", err)
	}
	v, err := s.PromotionView(ctx, p.ID)
	if err != nil {
		t.Fatal(err)
	}
	if v.Promotion != p || v.Stock != (sale.Stock{Left: 249, Granted: 1}) {
		t.Fatalf("after refused changes: got %+v, want %+v with 249 left, 1 granted", v, p)
	}
}

// TestChangeFreeze: the store refuses a change within sale.ChangeFreeze of
// publishAt by the clock of the attempt, whatever the change function says.
func TestChangeFreeze(t *testing.T) {
	t.Parallel()
	s, _ := ddbtest.Store(t)
	ctx := context.Background()
	now := time.Now()
	publish := now.Add(time.Hour)
	p := newPromotion(t, s, "01E", 10, publish, publish.Add(time.Hour), now)
	for _, tc := range []struct {
		name string
		now  time.Time
		ok   bool
	}{
		{"just inside the freeze", publish.Add(-sale.ChangeFreeze), false},
		{"after the start", publish.Add(time.Millisecond), false},
		{"just before the freeze", publish.Add(-sale.ChangeFreeze - time.Millisecond), true},
	} {
		_, err := s.UpdatePromotion(ctx, p.ID, sale.AnyVersion, at(tc.now), rename(tc.name))
		if tc.ok != (err == nil) || (!tc.ok && !errors.Is(err, sale.ErrPromotionStarted)) {
			t.Errorf("%s: got %v, want ok=%v or ErrPromotionStarted", tc.name, err, tc.ok)
		}
	}
	if err := s.DeletePromotion(ctx, p.ID, sale.AnyVersion, at(publish.Add(-sale.ChangeFreeze/2))); !errors.Is(err, sale.ErrPromotionStarted) {
		t.Fatalf("delete inside the freeze: got %v, want ErrPromotionStarted", err)
	}
}

// TestIfMatch: a change that names a version applies only to it.
func TestIfMatch(t *testing.T) {
	t.Parallel()
	s, _ := ddbtest.Store(t)
	ctx := context.Background()
	now := time.Now()
	p := newPromotion(t, s, "01F", 10, now.Add(time.Hour), now.Add(2*time.Hour), now)
	next, err := s.UpdatePromotion(ctx, p.ID, sale.Versions{p.Version}, time.Now, rename("one"))
	if err != nil || next.Version != p.Version+1 {
		t.Fatalf("update at the current version: got %+v %v", next, err)
	}
	if _, err := s.UpdatePromotion(ctx, p.ID, sale.Versions{p.Version}, time.Now, rename("two")); !errors.Is(err, sale.ErrPreconditionFailed) {
		t.Fatalf("update at an old version: got %v, want ErrPreconditionFailed", err)
	}
	if err := s.DeletePromotion(ctx, p.ID, sale.Versions{p.Version}, time.Now); !errors.Is(err, sale.ErrPreconditionFailed) {
		t.Fatalf("delete at an old version: got %v, want ErrPreconditionFailed", err)
	}
	if err := s.DeletePromotion(ctx, p.ID, sale.Versions{next.Version}, time.Now); err != nil {
		t.Fatalf("delete at the current version: %v", err)
	}
}

// slowWrites holds every transaction back for a random while before it
// leaves, as a slow network or a paused process would: the clock a change
// was computed with is then older than the moment it lands.
// It also notes when each change that succeeded was sent.
type slowWrites struct {
	store.DB
	min, max time.Duration

	mu     sync.Mutex
	landed map[string]time.Time // promotion key → latest send of a change that succeeded
}

func (d *slowWrites) TransactWriteItems(ctx context.Context, in *dynamodb.TransactWriteItemsInput, o ...func(*dynamodb.Options)) (*dynamodb.TransactWriteItemsOutput, error) {
	time.Sleep(d.min + rand.N(d.max-d.min))
	sent := time.Now()
	out, err := d.DB.TransactWriteItems(ctx, in, o...)
	if err == nil {
		var key map[string]types.AttributeValue
		switch first := in.TransactItems[0]; {
		case first.Put != nil:
			key = first.Put.Item
		case first.Delete != nil:
			key = first.Delete.Key
		}
		pk := key["pk"].(*types.AttributeValueMemberS).Value
		d.mu.Lock()
		if sent.After(d.landed[pk]) {
			d.landed[pk] = sent
		}
		d.mu.Unlock()
	}
	return out, err
}

func (d *slowWrites) lastSent(promotionID string) time.Time {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.landed["P#"+promotionID]
}

// TestLateChangesRaceGrants: changes computed before the freeze but held
// back in flight until grants have begun, several promotions at once. What
// is measured is when each successful change was sent against when the
// first grant had returned (so the change landed after it), and what the
// tables hold afterwards: the stock and the coupons agree exactly.
func TestLateChangesRaceGrants(t *testing.T) {
	t.Parallel()
	s, db := ddbtest.Store(t)
	// Updates are sent from well before the freeze to its start and arrive
	// from before the start to after it; deletes are sent just before the
	// freeze and arrive 0.2-0.8 s after the start, once grants have begun.
	updates := &slowWrites{DB: db, max: 1500 * time.Millisecond, landed: map[string]time.Time{}}
	deletes := &slowWrites{DB: db, min: 1250 * time.Millisecond, max: 1850 * time.Millisecond, landed: map[string]time.Time{}}
	var refusedUpdates, refusedDeletes atomic.Int64
	ctx := context.Background()
	const rounds = 6
	publish := time.Now().Add(2500 * time.Millisecond).Truncate(time.Millisecond)
	var wg sync.WaitGroup
	for r := range rounds {
		p := newPromotion(t, s, fmt.Sprintf("01R%d", r), 5, publish, publish.Add(time.Hour), time.Now())
		deleting := r%2 == 1
		writes := updates
		if deleting {
			writes = deletes
		}
		slow := store.New(writes, s.Tables(), ddbtest.CallTimeout)
		var (
			mu         sync.Mutex
			firstGrant time.Time // when the first successful grant returned
			grants     int
			late       int // changes sent after the first grant returned
		)
		for g := range 4 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if deleting {
					time.Sleep(time.Until(publish.Add(-sale.ChangeFreeze - 50*time.Millisecond)))
				}
				for time.Now().Before(publish.Add(-sale.ChangeFreeze)) {
					var err error
					if deleting {
						err = slow.DeletePromotion(ctx, p.ID, sale.AnyVersion, time.Now)
					} else {
						_, err = slow.UpdatePromotion(ctx, p.ID, sale.AnyVersion, time.Now, func(old sale.Promotion, now time.Time) (sale.Promotion, error) {
							return old.Replace(sale.Draft{Name: fmt.Sprint("v", g), Discount: 0.5, TotalCoupons: 5, PublishAt: publish, FinishAt: publish.Add(time.Hour)}, now)
						})
					}
					if err == nil && deleting {
						return
					}
					if errors.Is(err, sale.ErrPromotionStarted) {
						mu.Lock()
						late++
						mu.Unlock()
						if deleting {
							refusedDeletes.Add(1)
						} else {
							refusedUpdates.Add(1)
						}
					}
				}
			}()
		}
		for g := range 6 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				view := p
				for i := 0; time.Now().Before(publish.Add(2500 * time.Millisecond)); i++ {
					now := time.Now()
					c := sale.Coupon{ID: fmt.Sprintf("c%d-%d-%d", r, g, i), PromotionID: p.ID, CustomerID: fmt.Sprintf("cust-%d-%d", g, i), Discount: view.Discount, GrabbedAt: now}
					err := ddbtest.Grab(ctx, s, view, i%view.Shards, c, now)
					switch {
					case err == nil:
						returned := time.Now()
						mu.Lock()
						grants++
						if firstGrant.IsZero() || returned.Before(firstGrant) {
							firstGrant = returned
						}
						mu.Unlock()
					case errors.Is(err, store.ErrStale):
						fresh, err := s.Promotion(ctx, p.ID)
						if errors.Is(err, sale.ErrPromotionNotFound) {
							time.Sleep(20 * time.Millisecond)
							continue
						}
						if err != nil {
							t.Error(err)
							return
						}
						view = fresh
					}
				}
			}()
		}
		t.Cleanup(func() {
			stock, err := s.Stock(ctx, p)
			if err != nil {
				t.Fatal(err)
			}
			st, held := stock[p.ID], ddbtest.CouponCount(t, db, s.Tables().Sale, p.ID)
			_, err = s.Promotion(ctx, p.ID)
			gone := errors.Is(err, sale.ErrPromotionNotFound)
			lastSent := writes.lastSent(p.ID)
			t.Logf("round %d (delete=%v): %d granted, %d held, stock %+v, gone=%v, %d changes refused as started",
				r, deleting, grants, held, st, gone, late)
			if !lastSent.IsZero() && !firstGrant.IsZero() {
				t.Logf("round %d: the last change that succeeded was sent %v before the first grant returned", r, firstGrant.Sub(lastSent))
			}
			switch {
			case gone && held > 0:
				t.Errorf("round %d: promotion deleted with %d coupons granted", r, held)
			case !gone && (st.Granted != held || st.Left+st.Granted != 5 || held > 5):
				t.Errorf("round %d: stock %+v with %d coupons held; want granted == held <= 5 and left+granted == 5", r, st, held)
			}
			if held != grants {
				t.Errorf("round %d: %d grants answered, %d coupons held", r, grants, held)
			}
			if !firstGrant.IsZero() && lastSent.After(firstGrant) {
				t.Errorf("round %d: a change sent %v after the first grant returned succeeded", r, lastSent.Sub(firstGrant))
			}
		})
	}
	wg.Wait()
	// Without refusals the race never straddled the start, and the test
	// proved nothing.
	if refusedUpdates.Load() == 0 || refusedDeletes.Load() == 0 {
		t.Errorf("%d updates and %d deletes refused as started; want some of each", refusedUpdates.Load(), refusedDeletes.Load())
	}
}

// counting notes what a store reads: items a Query evaluated and keys a
// BatchGetItem asked for.
type counting struct {
	store.DB
	evaluated, keys atomic.Int64
}

func (c *counting) Query(ctx context.Context, in *dynamodb.QueryInput, o ...func(*dynamodb.Options)) (*dynamodb.QueryOutput, error) {
	out, err := c.DB.Query(ctx, in, o...)
	if err == nil {
		c.evaluated.Add(int64(out.ScannedCount))
	}
	return out, err
}

func (c *counting) BatchGetItem(ctx context.Context, in *dynamodb.BatchGetItemInput, o ...func(*dynamodb.Options)) (*dynamodb.BatchGetItemOutput, error) {
	for _, ka := range in.RequestItems {
		c.keys.Add(int64(len(ka.Keys)))
	}
	return c.DB.BatchGetItem(ctx, in, o...)
}

// TestPageCost: a page of a list reads in proportion to the page, not to
// the promotions stored: with 150 stored, a page of 5 evaluates at most
// 10 × (5 + 1) promotions and reads the shards of at most the 5 it carries.
func TestPageCost(t *testing.T) {
	t.Parallel()
	s, db := ddbtest.Store(t)
	ctx := context.Background()
	now := time.Now()
	for i := range 150 {
		// Active promotions of 3 shards each: their stock must be read.
		newPromotion(t, s, fmt.Sprintf("01P%03d", i), 250, now.Add(-time.Minute), now.Add(time.Hour), now)
	}
	c := &counting{DB: db}
	cs := store.New(c, s.Tables(), ddbtest.CallTimeout)
	for _, f := range []sale.Filter{sale.FilterAll, sale.FilterActive, sale.FilterFinished} {
		c.evaluated.Store(0)
		c.keys.Store(0)
		page, next, err := cs.PromotionsPage(ctx, f, now, sale.PageQuery{Limit: 5})
		if err != nil {
			t.Fatal(err)
		}
		views, err := cs.Views(ctx, page, now)
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("%s: %d promotions on the page, next=%q, %d evaluated, %d shard keys read", f, len(views), next, c.evaluated.Load(), c.keys.Load())
		if c.evaluated.Load() > 10*6 || c.keys.Load() > 5*3 {
			t.Errorf("%s: a page of 5 evaluated %d promotions and read %d shard keys; want at most 60 and 15", f, c.evaluated.Load(), c.keys.Load())
		}
		if f != sale.FilterFinished && (len(views) != 5 || next == "") {
			t.Errorf("%s: got %d promotions and next %q, want 5 and a cursor", f, len(views), next)
		}
	}
}
