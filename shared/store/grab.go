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

// The shard condition proves, on the item the grant writes anyway, that
// there is stock for every coupon the transaction puts, that the caller's
// copy of the promotion is current, and that now lies in the window.
// Invariants 1 and 4 rest on it, not on any read.
const shardCondition = "#left >= :k AND version = :v AND publishAt <= :now AND finishAt > :now"

// Grant is one coupon to grant from one inventory shard.
type Grant struct {
	Promotion sale.Promotion
	Shard     int
	Coupon    sale.Coupon
}

// ShardRef names one inventory shard.
type ShardRef struct {
	PromotionID string
	Shard       int
}

// ShardState is what a cancelled transaction showed of a shard whose
// condition failed: Stale when the caller's promotion is not the stored one
// (or the window is shut), else the stock it had left.
type ShardState struct {
	Left  int
	Stale bool
}

// BatchError says why DynamoDB cancelled a batch of grants. Nothing of the
// batch was applied. Held names, by index into the batch, the grants whose
// customer already holds a coupon, with that coupon; Shards the shards that
// lacked stock or were stale. A grant named in neither was cancelled only
// because of the others, and can go again as it is.
type BatchError struct {
	Held     map[int]sale.Coupon
	Shards   map[ShardRef]ShardState
	Conflict bool // another transaction held an item: try again shortly
}

// Outcome is the one place a cancelled batch becomes the outcome of each
// of its grants: for the grant at index i of the batch, on shard ref,
// *sale.AlreadyGrabbedError with the coupon its customer holds, ErrStale
// (its shard's version or window is not the caller's: reload), ErrConflict
// (another transaction held an item: pause and try again), ErrShort (its
// shard had less than the batch asked of it: Shards says what it had), or
// ErrCancelled (only the others' outcomes cancelled it). Nothing of the
// batch was written, so all but the first two may go again as they are.
func (e *BatchError) Outcome(i int, ref ShardRef) error {
	s, onShard := e.Shards[ref]
	held, isHeld := e.Held[i]
	switch {
	case isHeld:
		return &sale.AlreadyGrabbedError{Coupon: held}
	case onShard && s.Stale:
		return ErrStale
	case e.Conflict:
		return ErrConflict
	case onShard:
		return ErrShort
	}
	return ErrCancelled
}

func (e *BatchError) Error() string {
	return fmt.Sprintf("grant batch cancelled: %d held, %d shards short or stale, conflict %v", len(e.Held), len(e.Shards), e.Conflict)
}

// shardGroup is one shard a batch touches: its promotion and how many of
// the batch's grants it serves.
type shardGroup struct {
	ref   ShardRef
	promo sale.Promotion
	k     int
}

// batchInput builds the one transaction of a batch of grants: per shard
// touched one decrement by the number of its grants, then every coupon put,
// each only if the customer holds none. index maps each of the
// transaction's items to its grant (coupon puts) or to -1-i for the i-th
// of groups.
func (s *Store) batchInput(grants []Grant, now time.Time) (in *dynamodb.TransactWriteItemsInput, groups []shardGroup, index []int) {
	groupOf := map[ShardRef]int{} // into groups
	for _, g := range grants {
		ref := ShardRef{g.Promotion.ID, g.Shard}
		i, ok := groupOf[ref]
		if !ok {
			i = len(groups)
			groupOf[ref] = i
			groups = append(groups, shardGroup{ref: ref, promo: g.Promotion})
		}
		groups[i].k++
	}
	items := make([]types.TransactWriteItem, 0, len(groups)+len(grants))
	index = make([]int, 0, len(groups)+len(grants))
	at := strconv.FormatInt(millis(now), 10)
	for i, g := range groups {
		items = append(items, types.TransactWriteItem{Update: &types.Update{
			TableName:                aws.String(s.tables.Sale),
			Key:                      keyOf(shardKey(g.ref.PromotionID, g.ref.Shard), shardSK),
			UpdateExpression:         aws.String("SET #left = #left - :k, granted = granted + :k"),
			ConditionExpression:      aws.String(shardCondition),
			ExpressionAttributeNames: map[string]string{"#left": "left"},
			ExpressionAttributeValues: map[string]types.AttributeValue{
				":k":   &types.AttributeValueMemberN{Value: strconv.Itoa(g.k)},
				":v":   &types.AttributeValueMemberN{Value: strconv.Itoa(g.promo.Version)},
				":now": &types.AttributeValueMemberN{Value: at},
			},
			ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureAllOld,
		}})
		index = append(index, -1-i)
	}
	for i, g := range grants {
		items = append(items, types.TransactWriteItem{Put: &types.Put{
			TableName:                           aws.String(s.tables.Sale),
			Item:                                mustMarshal(toCouponItem(g.Promotion, g.Coupon, g.Shard)),
			ConditionExpression:                 aws.String("attribute_not_exists(pk)"),
			ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureAllOld,
		}})
		index = append(index, i)
	}
	return &dynamodb.TransactWriteItemsInput{TransactItems: items}, groups, index
}

// MaxBatchItems is DynamoDB's limit of items in one transaction.
const MaxBatchItems = 100

// GrabBatch grants every coupon of grants in one transaction, or none.
// Besides nil it returns a *BatchError, or an error wrapping
// sale.ErrUnavailable (possibly with sale.ErrThrottled) when the outcome
// may be unknown: the transaction may have been applied. The SDK retries a
// transaction with the same client token, so its own retries never apply
// it twice.
func (s *Store) GrabBatch(ctx context.Context, grants []Grant, now time.Time) error {
	// DynamoDB refuses a transaction touching one item twice (DynamoDB
	// Local instead reports one put as failing on the other): a caller's bug
	// either way, refused here the same on both.
	type holder struct{ promotion, customer string }
	seen := make(map[holder]bool, len(grants))
	for _, g := range grants {
		k := holder{g.Promotion.ID, g.Coupon.CustomerID}
		if seen[k] {
			return fmt.Errorf("grab batch: customer %q twice for promotion %s", g.Coupon.CustomerID, g.Promotion.ID)
		}
		seen[k] = true
	}
	in, groups, index := s.batchInput(grants, now)
	ctx, cancel := s.bounded(ctx)
	defer cancel()
	_, err := s.db.TransactWriteItems(ctx, in)
	if err == nil {
		return nil
	}
	var canceled *types.TransactionCanceledException
	if !errors.As(err, &canceled) || len(canceled.CancellationReasons) != len(index) {
		return classify("grab", err)
	}
	out := &BatchError{Held: map[int]sale.Coupon{}, Shards: map[ShardRef]ShardState{}}
	for i, r := range canceled.CancellationReasons {
		switch code := aws.ToString(r.Code); code {
		case "None", "":
		case "ConditionalCheckFailed":
			if index[i] >= 0 {
				held, err := decodeCoupon(r.Item)
				if err != nil {
					return err
				}
				out.Held[index[i]] = held
				continue
			}
			g := groups[-1-index[i]]
			state, err := shardState(r.Item, g)
			if err != nil {
				return err
			}
			out.Shards[g.ref] = state
		case "TransactionConflict":
			out.Conflict = true
		case "ThrottlingError", "ProvisionedThroughputExceeded":
			return fmt.Errorf("grab: %w: %w: %w", sale.ErrThrottled, sale.ErrUnavailable, err)
		default:
			return fmt.Errorf("grab: %s: %w: %w", code, sale.ErrUnavailable, err)
		}
	}
	return out
}

// shardState reads a shard's old image from a failed condition.
func shardState(item map[string]types.AttributeValue, g shardGroup) (ShardState, error) {
	if item == nil {
		return ShardState{Stale: true}, nil // deleted: the promotion went
	}
	var sh shardItem
	if err := attributevalue.UnmarshalMap(item, &sh); err != nil {
		return ShardState{}, fmt.Errorf("decode shard: %w", err)
	}
	p := g.promo
	if sh.Version != p.Version || sh.PublishAt != millis(p.PublishAt) || sh.FinishAt != millis(p.FinishAt) {
		return ShardState{Stale: true}, nil
	}
	// Same version: the stock was short, or else only the window can have
	// failed, which the caller checked against the same promotion and clock.
	if sh.Left < g.k {
		return ShardState{Left: max(0, sh.Left)}, nil
	}
	return ShardState{Stale: true}, nil
}

// Coupon reads the coupon customer holds of p, consistently; ok is false
// when the customer holds none.
func (s *Store) Coupon(ctx context.Context, p sale.Promotion, customer sale.CustomerID) (sale.Coupon, bool, error) {
	ctx, cancel := s.bounded(ctx)
	defer cancel()
	out, err := s.db.GetItem(ctx, &dynamodb.GetItemInput{
		TableName:      aws.String(s.tables.Sale),
		Key:            keyOf(couponPK(p, customer), string(customer)),
		ConsistentRead: aws.Bool(true),
	})
	if err != nil {
		return sale.Coupon{}, false, classify("get coupon", err)
	}
	if out.Item == nil {
		return sale.Coupon{}, false, nil
	}
	c, err := decodeCoupon(out.Item)
	return c, err == nil, err
}

func decodeCoupon(item map[string]types.AttributeValue) (sale.Coupon, error) {
	var it CouponItem
	if err := attributevalue.UnmarshalMap(item, &it); err != nil {
		return sale.Coupon{}, fmt.Errorf("decode coupon: %w", err)
	}
	return it.Coupon()
}

// ShardsLeft reads what each inventory shard of p has left, consistently,
// in one call for up to 100 shards. ok is false when a shard is missing or
// of another version than p: the caller's promotion is stale.
func (s *Store) ShardsLeft(ctx context.Context, p sale.Promotion) (left []int, ok bool, err error) {
	keys := make([]map[string]types.AttributeValue, p.Shards)
	for i := range keys {
		keys[i] = keyOf(shardKey(p.ID, i), shardSK)
	}
	items, err := s.batchGetAll(ctx, keys)
	if err != nil {
		return nil, false, err
	}
	left = make([]int, p.Shards)
	seen := 0
	for _, item := range items {
		var sh shardItem
		if err := attributevalue.UnmarshalMap(item, &sh); err != nil {
			return nil, false, fmt.Errorf("decode shard: %w", err)
		}
		if sh.Version != p.Version || sh.Shard < 0 || sh.Shard >= p.Shards {
			return nil, false, nil
		}
		left[sh.Shard] = sh.Left
		seen++
	}
	return left, seen == p.Shards, nil
}

// holderReaders bounds the bucket queries one enumeration runs at once.
const holderReaders = 8

// Holders enumerates the coupons of promotion id with strongly consistent
// queries, one per bucket of its item collections. It stops early, with a
// nil map, once more than limit coupons are found. Only once no grant can
// happen any more (every shard empty) is the answer the complete and final
// set of holders: every grant wrote its coupon in the transaction that
// took its stock.
func (s *Store) Holders(ctx context.Context, p sale.Promotion, limit int) (map[sale.CustomerID]sale.Coupon, error) {
	var (
		mu  sync.Mutex
		out = map[sale.CustomerID]sale.Coupon{}
	)
	errTooMany := errors.New("too many holders")
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(holderReaders)
	for b := range CouponBuckets(p) {
		g.Go(func() error {
			in := &dynamodb.QueryInput{
				TableName:                 aws.String(s.tables.Sale),
				KeyConditionExpression:    aws.String("pk = :pk"),
				ExpressionAttributeValues: map[string]types.AttributeValue{":pk": &types.AttributeValueMemberS{Value: couponBucketPK(p.ID, b)}},
				ConsistentRead:            aws.Bool(true),
			}
			for {
				page, err := s.query(gctx, in)
				if err != nil {
					return fmt.Errorf("read holders: %w", err)
				}
				mu.Lock()
				for _, item := range page.Items {
					c, err := decodeCoupon(item)
					if err != nil {
						mu.Unlock()
						return err
					}
					out[sale.CustomerID(c.CustomerID)] = c
				}
				n := len(out)
				mu.Unlock()
				if n > limit {
					return errTooMany
				}
				if len(page.LastEvaluatedKey) == 0 {
					return nil
				}
				in.ExclusiveStartKey = page.LastEvaluatedKey
			}
		})
	}
	switch err := g.Wait(); {
	case errors.Is(err, errTooMany):
		return nil, nil
	case err != nil:
		return nil, err
	}
	return out, nil
}
