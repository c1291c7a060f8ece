package store

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"golang.org/x/sync/errgroup"

	"github.com/seckill/seckill/shared/sale"
)

// Consistent views: a promotion with its stock, read as one snapshot.

// Promotion reads one promotion, consistently.
func (s *Store) Promotion(ctx context.Context, id string) (sale.Promotion, error) {
	ctx, cancel := s.bounded(ctx)
	defer cancel()
	out, err := s.db.GetItem(ctx, &dynamodb.GetItemInput{
		TableName:      aws.String(s.tables.Sale),
		Key:            keyOf(promotionKey(id), promotionSK),
		ConsistentRead: aws.Bool(true),
	})
	if err != nil {
		return sale.Promotion{}, classify("get promotion", err)
	}
	if out.Item == nil {
		return sale.Promotion{}, fmt.Errorf("promotion %s: %w", id, sale.ErrPromotionNotFound)
	}
	return decodePromotion(out.Item)
}

// Stock sums the inventory shards of each promotion with consistent reads.
// Each shard keeps left + granted equal to its share, so the sums hold
// left + granted == total whenever the shards read are those of the
// promotion's version; View checks that they are.
func (s *Store) Stock(ctx context.Context, promos ...sale.Promotion) (map[string]sale.Stock, error) {
	sums, err := s.readShards(ctx, promos)
	if err != nil {
		return nil, err
	}
	out := make(map[string]sale.Stock, len(sums))
	for id, sum := range sums {
		out[id] = sum.Stock
	}
	return out, nil
}

// View is a promotion and its stock, read as one snapshot.
type View struct {
	Promotion sale.Promotion
	Stock     sale.Stock
}

// PromotionView reads promotion id and its stock as one snapshot: the
// shards summed are exactly those written with the promotion read. A change
// landing between the two reads makes them disagree, and the pair is read
// again.
func (s *Store) PromotionView(ctx context.Context, id string) (View, error) {
	for attempt := 0; ; attempt++ {
		p, err := s.Promotion(ctx, id)
		if err != nil {
			return View{}, err
		}
		sums, err := s.readShards(ctx, []sale.Promotion{p})
		if err != nil {
			return View{}, err
		}
		if sum := sums[p.ID]; sum.matches(p) {
			return View{Promotion: p, Stock: sum.Stock}, nil
		}
		if err := retrySnapshot(ctx, id, attempt); err != nil {
			return View{}, err
		}
	}
}

// FinalAfter is how long after finishAt a promotion's stock is taken as
// final. A grant carries the clock of the grab that made it, so one may land
// after finishAt by as much as a store call can take, plus the skew between
// clocks; a minute is far past both.
const FinalAfter = time.Minute

// Views gives each promotion of a page its stock, consistently: a promotion
// whose shards were rewritten since it was listed is read again, and left
// out if it has been deleted since. Shards are read only where grants can
// have moved them: a promotion more than sale.ChangeFreeze from its start
// has granted nothing (only a grab whose clock runs that far ahead could
// have), and one finished more than FinalAfter ago is read once per store.
func (s *Store) Views(ctx context.Context, promos []sale.Promotion, now time.Time) ([]View, error) {
	// One look at the cache per promotion: what is final now stays so for
	// the rest of this call, even if the cache drops it meanwhile.
	final := map[string]sale.Stock{}
	var live []sale.Promotion
	for _, p := range promos {
		if !p.Frozen(now) {
			continue
		}
		if st, ok := s.final.Get(p.ID); ok {
			final[p.ID] = st
		} else {
			live = append(live, p)
		}
	}
	sums, err := s.readShards(ctx, live)
	if err != nil {
		return nil, err
	}
	out := make([]View, 0, len(promos))
	for _, p := range promos {
		if !p.Frozen(now) {
			out = append(out, View{Promotion: p, Stock: sale.Stock{Left: p.TotalCoupons}})
			continue
		}
		if st, ok := final[p.ID]; ok {
			out = append(out, View{Promotion: p, Stock: st})
			continue
		}
		v := View{Promotion: p, Stock: sums[p.ID].Stock}
		if !sums[p.ID].matches(p) {
			v, err = s.PromotionView(ctx, p.ID)
			switch {
			case errors.Is(err, sale.ErrPromotionNotFound):
				continue
			case err != nil:
				return nil, err
			}
		}
		if now.After(v.Promotion.FinishAt.Add(FinalAfter)) {
			s.final.Add(p.ID, v.Stock)
		}
		out = append(out, v)
	}
	return out, nil
}

// retrySnapshot waits before reading a promotion and its shards again; a
// promotion changing without pause for that long is answered try-again.
func retrySnapshot(ctx context.Context, id string, attempt int) error {
	if attempt >= 8 {
		return fmt.Errorf("promotion %s keeps changing: %w", id, sale.ErrUnavailable)
	}
	if err := Pause(ctx, attempt); err != nil {
		return classify("read promotion", err)
	}
	return nil
}

// shardSum is what the shards of one promotion add up to, and which
// versions they carry.
type shardSum struct {
	sale.Stock
	count    int
	versions map[int]int
}

func (s shardSum) matches(p sale.Promotion) bool {
	return s.count == p.Shards && s.versions[p.Version] == p.Shards
}

// shardReaders bounds the BatchGetItem calls one read runs at once.
const shardReaders = 8

func (s *Store) readShards(ctx context.Context, promos []sale.Promotion) (map[string]shardSum, error) {
	var keys []map[string]types.AttributeValue
	for _, p := range promos {
		for i := range p.Shards {
			keys = append(keys, keyOf(shardKey(p.ID, i), shardSK))
		}
	}
	const batch = 100 // BatchGetItem's limit
	var (
		mu   sync.Mutex
		sums = make(map[string]shardSum, len(promos))
	)
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(shardReaders)
	for from := 0; from < len(keys); from += batch {
		chunk := keys[from:min(from+batch, len(keys))]
		g.Go(func() error {
			items, err := s.batchGetAll(gctx, chunk)
			if err != nil {
				return err
			}
			mu.Lock()
			defer mu.Unlock()
			for _, item := range items {
				var sh shardItem
				if err := attributevalue.UnmarshalMap(item, &sh); err != nil {
					return fmt.Errorf("decode shard: %w", err)
				}
				sum := sums[sh.PromotionID]
				if sum.versions == nil {
					sum.versions = map[int]int{}
				}
				sum.Left += sh.Left
				sum.Granted += sh.Granted
				sum.count++
				sum.versions[sh.Version]++
				sums[sh.PromotionID] = sum
			}
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	return sums, nil
}
