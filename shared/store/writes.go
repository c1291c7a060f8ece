package store

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/seckill/seckill/shared/sale"
)

// Guarded writes of promotions: every change is one transaction of the
// promotion item and its inventory shards, under conditions that decide
// its race with the first grant (invariant 5, functions/grab/README.md).

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
