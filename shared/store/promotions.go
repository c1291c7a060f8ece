package store

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"golang.org/x/sync/errgroup"

	"github.com/seckill/seckill/shared/sale"
)

// CreatePromotion stores p and its inventory shards in one transaction.
func (s *Store) CreatePromotion(ctx context.Context, p sale.Promotion) error {
	items := []types.TransactWriteItem{{Put: &types.Put{
		TableName:           aws.String(s.tables.Sale),
		Item:                mustMarshal(toPromotionItem(p)),
		ConditionExpression: aws.String("attribute_not_exists(pk)"),
	}}}
	items = append(items, s.putShards(p)...)
	ctx, cancel := s.bounded(ctx)
	defer cancel()
	_, err := s.db.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: items})
	return classify("create promotion", err)
}

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

// batchGetAll reads keys consistently, retrying the ones DynamoDB leaves
// unprocessed.
func (s *Store) batchGetAll(ctx context.Context, keys []map[string]types.AttributeValue) ([]map[string]types.AttributeValue, error) {
	var items []map[string]types.AttributeValue
	for attempt := 0; len(keys) > 0; attempt++ {
		if attempt > 0 {
			if err := Pause(ctx, attempt); err != nil {
				return nil, classify("read stock", err)
			}
		}
		out, err := s.batchGet(ctx, keys)
		if err != nil {
			return nil, classify("read stock", err)
		}
		items = append(items, out.Responses[s.tables.Sale]...)
		keys = out.UnprocessedKeys[s.tables.Sale].Keys
	}
	return items, nil
}

func (s *Store) batchGet(ctx context.Context, keys []map[string]types.AttributeValue) (*dynamodb.BatchGetItemOutput, error) {
	ctx, cancel := s.bounded(ctx)
	defer cancel()
	// Only what a sum needs: less for DynamoDB to send and for us to decode.
	return s.db.BatchGetItem(ctx, &dynamodb.BatchGetItemInput{
		RequestItems: map[string]types.KeysAndAttributes{s.tables.Sale: {
			Keys: keys, ConsistentRead: aws.Bool(true),
			ProjectionExpression:     aws.String("#p, #s, #l, #g, #v"),
			ExpressionAttributeNames: map[string]string{"#p": "promotionId", "#s": "shard", "#l": "left", "#g": "granted", "#v": "version"},
		}},
	})
}

// UpdatePromotion replaces promotion id with what change makes of it at the
// moment of each attempt. change sees the stored promotion and the clock
// read for that attempt, and decides (the domain's rules). The write lands
// only if, when DynamoDB applies it, the promotion is still at the version
// read, publishAt is more than sale.ChangeFreeze ahead of that clock, and
// no inventory shard has granted a coupon: a change racing the start either
// lands before the first grant or is refused, whatever the clocks say.
// Shards are rewritten in the same transaction with the new version, so a
// grab working from the old version can never grant from the new stock.
//
// expect is the versions the caller admits (If-Match), or sale.AnyVersion.
// Without one, losing a race with another change means computing it again
// from the newer version, until ctx ends.
func (s *Store) UpdatePromotion(ctx context.Context, id string, expect sale.Versions, clock func() time.Time, change func(old sale.Promotion, now time.Time) (sale.Promotion, error)) (sale.Promotion, error) {
	for attempt := 0; ; attempt++ {
		old, err := s.current(ctx, id, expect)
		if err != nil {
			return sale.Promotion{}, err
		}
		now := clock()
		next, err := change(old, now)
		if err != nil {
			return sale.Promotion{}, err
		}
		items := []types.TransactWriteItem{{Put: &types.Put{
			TableName:                           aws.String(s.tables.Sale),
			Item:                                mustMarshal(toPromotionItem(next)),
			ConditionExpression:                 aws.String(unstartedCondition),
			ExpressionAttributeValues:           unstartedValues(old.Version, now),
			ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureAllOld,
		}}}
		items = append(items, s.replaceShards(old, next)...)
		err = s.guardedWrite(ctx, "update promotion", id, now, items)
		if err == nil {
			return next, nil
		}
		if err := waitStale(ctx, err, attempt); err != nil {
			return sale.Promotion{}, err
		}
	}
}

// DeletePromotion removes a promotion that may still change, with its
// shards, under the same conditions as UpdatePromotion.
func (s *Store) DeletePromotion(ctx context.Context, id string, expect sale.Versions, clock func() time.Time) error {
	for attempt := 0; ; attempt++ {
		old, err := s.current(ctx, id, expect)
		if err != nil {
			return err
		}
		now := clock()
		if err := old.CheckChange(now); err != nil {
			return err
		}
		items := []types.TransactWriteItem{{Delete: &types.Delete{
			TableName:                           aws.String(s.tables.Sale),
			Key:                                 keyOf(promotionKey(id), promotionSK),
			ConditionExpression:                 aws.String(unstartedCondition),
			ExpressionAttributeValues:           unstartedValues(old.Version, now),
			ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureAllOld,
		}}}
		items = append(items, s.deleteShards(id, 0, old.Shards)...)
		err = s.guardedWrite(ctx, "delete promotion", id, now, items)
		if err == nil {
			return nil
		}
		if err := waitStale(ctx, err, attempt); err != nil {
			return err
		}
	}
}

// current reads the promotion a change starts from, refusing it when the
// caller requires another version.
func (s *Store) current(ctx context.Context, id string, expect sale.Versions) (sale.Promotion, error) {
	p, err := s.Promotion(ctx, id)
	if err != nil {
		return sale.Promotion{}, err
	}
	if !expect.Admit(p.Version) {
		return sale.Promotion{}, fmt.Errorf("promotion %s is at version %d, not %v: %w", id, p.Version, []int(expect), sale.ErrPreconditionFailed)
	}
	return p, nil
}

// waitStale lets a change that lost a race with another change be computed
// again after a jittered pause: without If-Match the last writer wins, so
// every writer keeps its turn until its request budget (ctx) runs out. Any
// other error ends the change.
func waitStale(ctx context.Context, err error, attempt int) error {
	if !errors.Is(err, ErrStale) {
		return err
	}
	// Short waits: the winner's write is done, so the next try is likely
	// to land; only a crowd of writers needs the jitter.
	if werr := Pause(ctx, min(attempt, 3)); werr != nil {
		return fmt.Errorf("promotion keeps changing: %w: %w", sale.ErrUnavailable, werr)
	}
	return nil
}

// The condition on the promotion item of every change: the version the
// change was computed from, and a publishAt at least sale.ChangeFreeze
// ahead of the clock read for this attempt.
const unstartedCondition = "version = :v AND publishAt > :freeze"

func unstartedValues(version int, now time.Time) map[string]types.AttributeValue {
	return map[string]types.AttributeValue{
		":v":      &types.AttributeValueMemberN{Value: strconv.Itoa(version)},
		":freeze": &types.AttributeValueMemberN{Value: strconv.FormatInt(millis(now.Add(sale.ChangeFreeze)), 10)},
	}
}

// The condition on every inventory shard a change overwrites or deletes:
// it has granted nothing. This, not any clock, is what keeps a change from
// landing after the first grant.
const untouchedShard = "granted = :zero"

var zeroValues = map[string]types.AttributeValue{":zero": &types.AttributeValueMemberN{Value: "0"}}

// guardedWrite runs a change's transaction (the promotion item first, then
// shards) and explains a cancellation from the items DynamoDB hands back:
// a shard that granted a coupon means the promotion started; a promotion
// item at another version means the change is stale.
func (s *Store) guardedWrite(ctx context.Context, op, id string, now time.Time, items []types.TransactWriteItem) error {
	ctx, cancel := s.bounded(ctx)
	defer cancel()
	_, err := s.db.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: items})
	var canceled *types.TransactionCanceledException
	if !errors.As(err, &canceled) || len(canceled.CancellationReasons) == 0 {
		return classify(op, err)
	}
	reasons := canceled.CancellationReasons
	if aws.ToString(reasons[0].Code) == "ConditionalCheckFailed" && reasons[0].Item == nil {
		return fmt.Errorf("promotion %s: %w", id, sale.ErrPromotionNotFound)
	}
	for _, r := range reasons[1:] {
		if aws.ToString(r.Code) != "ConditionalCheckFailed" || r.Item == nil {
			continue
		}
		var sh shardItem
		if err := attributevalue.UnmarshalMap(r.Item, &sh); err != nil {
			return fmt.Errorf("decode shard: %w", err)
		}
		if sh.Granted > 0 {
			return fmt.Errorf("promotion %s has granted coupons: %w", id, sale.ErrPromotionStarted)
		}
	}
	for _, r := range reasons {
		switch aws.ToString(r.Code) {
		case "ConditionalCheckFailed":
			if r.Item == nil {
				return ErrStale // a shard went with a concurrent change
			}
		case "TransactionConflict":
			return ErrStale
		case "ThrottlingError", "ProvisionedThroughputExceeded":
			return fmt.Errorf("%s: %w: %w: %w", op, sale.ErrThrottled, sale.ErrUnavailable, err)
		}
	}
	if aws.ToString(reasons[0].Code) == "ConditionalCheckFailed" {
		current, derr := decodePromotion(reasons[0].Item)
		if derr != nil {
			return derr
		}
		if err := current.CheckChange(now); err != nil {
			return err
		}
		return ErrStale
	}
	return classify(op, err)
}

// replaceShards writes the shards of next over those of old: shards that
// stay are overwritten and shards past next's count deleted, each only if
// it has granted nothing; shards past old's count must not exist yet.
func (s *Store) replaceShards(old, next sale.Promotion) []types.TransactWriteItem {
	var out []types.TransactWriteItem
	for i, sh := range shardItems(next) {
		put := &types.Put{
			TableName:                           aws.String(s.tables.Sale),
			Item:                                mustMarshal(sh),
			ConditionExpression:                 aws.String("attribute_not_exists(pk)"),
			ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureAllOld,
		}
		if i < old.Shards {
			put.ConditionExpression = aws.String(untouchedShard)
			put.ExpressionAttributeValues = zeroValues
		}
		out = append(out, types.TransactWriteItem{Put: put})
	}
	return append(out, s.deleteShards(next.ID, next.Shards, old.Shards)...)
}

func (s *Store) putShards(p sale.Promotion) []types.TransactWriteItem {
	var out []types.TransactWriteItem
	for _, sh := range shardItems(p) {
		out = append(out, types.TransactWriteItem{Put: &types.Put{
			TableName: aws.String(s.tables.Sale),
			Item:      mustMarshal(sh),
		}})
	}
	return out
}

// deleteShards deletes shards [from, to) of promotion id, each only if it
// has granted nothing.
func (s *Store) deleteShards(id string, from, to int) []types.TransactWriteItem {
	var out []types.TransactWriteItem
	for i := from; i < to; i++ {
		out = append(out, types.TransactWriteItem{Delete: &types.Delete{
			TableName:                           aws.String(s.tables.Sale),
			Key:                                 keyOf(shardKey(id, i), shardSK),
			ConditionExpression:                 aws.String(untouchedShard),
			ExpressionAttributeValues:           zeroValues,
			ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureAllOld,
		}})
	}
	return out
}

func decodePromotion(item map[string]types.AttributeValue) (sale.Promotion, error) {
	var it promotionItem
	if err := attributevalue.UnmarshalMap(item, &it); err != nil {
		return sale.Promotion{}, fmt.Errorf("decode promotion: %w", err)
	}
	return it.promotion()
}

func keyOf(pk, sk string) map[string]types.AttributeValue {
	return map[string]types.AttributeValue{
		attrPK: &types.AttributeValueMemberS{Value: pk},
		attrSK: &types.AttributeValueMemberS{Value: sk},
	}
}

// mustMarshal encodes one of the store's own item structs, which cannot fail
// to encode; a failure is a programming error.
func mustMarshal(v any) map[string]types.AttributeValue {
	m, err := attributevalue.MarshalMap(v)
	if err != nil {
		panic(fmt.Sprintf("store: marshal %T: %v", v, err))
	}
	return m
}
