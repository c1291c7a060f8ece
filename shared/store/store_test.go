package store_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

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
	if err := s.Grab(ctx, p, 0, c, now); err != nil {
		t.Fatal(err)
	}
	var held *sale.AlreadyGrabbedError
	if err := s.Grab(ctx, p, 0, sale.Coupon{ID: "c2", PromotionID: p.ID, CustomerID: "alice"}, now); !errors.As(err, &held) || held.Coupon != c {
		t.Fatalf("second grab by alice: got %v, want already grabbed with %+v", err, c)
	}
	if err := s.Grab(ctx, p, 0, sale.Coupon{ID: "c3", PromotionID: p.ID, CustomerID: "bob"}, now); !errors.Is(err, store.ErrShardEmpty) {
		t.Fatalf("grab from empty shard: got %v, want ErrShardEmpty", err)
	}
	stale := p
	stale.Version++
	if err := s.Grab(ctx, stale, 0, sale.Coupon{ID: "c4", PromotionID: p.ID, CustomerID: "carol"}, now); !errors.Is(err, store.ErrStale) {
		t.Fatalf("grab with stale version: got %v, want ErrStale", err)
	}
	if err := s.Grab(ctx, p, 5, sale.Coupon{ID: "c5", PromotionID: p.ID, CustomerID: "dave"}, now); !errors.Is(err, store.ErrStale) {
		t.Fatalf("grab from missing shard: got %v, want ErrStale", err)
	}
	if err := s.Grab(ctx, p, 0, sale.Coupon{ID: "c6", PromotionID: p.ID, CustomerID: "erin"}, now.Add(2*time.Hour)); !errors.Is(err, store.ErrStale) && !errors.Is(err, store.ErrShardEmpty) {
		t.Fatalf("grab after finish: got %v", err)
	}
	got, ok, err := s.Coupon(ctx, p.ID, "alice")
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

// TestUpdateRacesStart runs many concurrent replacements against a promotion
// that starts in the middle of them: none may land at or after publishAt.
func TestUpdateRacesStart(t *testing.T) {
	t.Parallel()
	s, _ := ddbtest.Store(t)
	ctx := context.Background()
	start := time.Now().Add(time.Second).Truncate(time.Millisecond)
	p := newPromotion(t, s, "01C", 10, start, start.Add(time.Hour), time.Now())
	var (
		wg      sync.WaitGroup
		mu      sync.Mutex
		landed  []time.Time
		refused int
	)
	for g := range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			// Two seconds past the start: a cold or loaded DynamoDB Local can take
			// most of a second per contended transaction.
			for i := 0; time.Now().Before(start.Add(2 * time.Second)); i++ {
				now := time.Now()
				_, err := s.UpdatePromotion(ctx, p.ID, now, func(old sale.Promotion) (sale.Promotion, error) {
					return old.Replace(sale.Draft{Name: "v", Discount: 0.5, TotalCoupons: 10 + g, PublishAt: start, FinishAt: start.Add(time.Hour)}, now)
				})
				mu.Lock()
				switch {
				case err == nil:
					landed = append(landed, now)
				case errors.Is(err, sale.ErrPromotionStarted):
					refused++
				case errors.Is(err, sale.ErrUnavailable):
					// lost to the other writers too often; a client retries
				default:
					mu.Unlock()
					t.Errorf("update: %v", err)
					return
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	for _, at := range landed {
		if !at.Before(start) {
			t.Errorf("an update computed at %v landed after the start %v", at, start)
		}
	}
	if len(landed) == 0 || refused == 0 {
		t.Fatalf("got %d landed and %d refused; the race did not straddle the start", len(landed), refused)
	}
	final, err := s.Promotion(ctx, p.ID)
	if err != nil {
		t.Fatal(err)
	}
	st, err := s.Stock(ctx, final)
	if err != nil {
		t.Fatal(err)
	}
	if st[p.ID].Left != final.TotalCoupons {
		t.Fatalf("got %d left in shards, want totalCoupons %d", st[p.ID].Left, final.TotalCoupons)
	}
	if err := s.DeletePromotion(ctx, p.ID, time.Now()); !errors.Is(err, sale.ErrPromotionStarted) {
		t.Fatalf("delete after start: got %v, want ErrPromotionStarted", err)
	}
	t.Logf("%d updates landed before the start, %d refused after it", len(landed), refused)
}
