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

// The shard condition proves, on the item the grant writes anyway, that there
// is stock, that the caller's copy of the promotion is current, and that now
// lies in the window. Invariants 1 and 4 rest on it, not on any read.
const shardCondition = "#left > :zero AND version = :v AND publishAt <= :now AND finishAt > :now"

// GrabInput builds the transaction of one grant: decrement one inventory
// shard and put the coupon, atomically. It is exported so that the benchmark
// can issue exactly this write pattern straight to DynamoDB.
func (s *Store) GrabInput(p sale.Promotion, shard int, c sale.Coupon, now time.Time) *dynamodb.TransactWriteItemsInput {
	return &dynamodb.TransactWriteItemsInput{TransactItems: []types.TransactWriteItem{
		{Update: &types.Update{
			TableName:                aws.String(s.tables.Sale),
			Key:                      keyOf(shardKey(p.ID, shard)),
			UpdateExpression:         aws.String("SET #left = #left - :one, granted = granted + :one"),
			ConditionExpression:      aws.String(shardCondition),
			ExpressionAttributeNames: map[string]string{"#left": "left"},
			ExpressionAttributeValues: map[string]types.AttributeValue{
				":one":  &types.AttributeValueMemberN{Value: "1"},
				":zero": &types.AttributeValueMemberN{Value: "0"},
				":v":    &types.AttributeValueMemberN{Value: strconv.Itoa(p.Version)},
				":now":  &types.AttributeValueMemberN{Value: strconv.FormatInt(millis(now), 10)},
			},
			ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureAllOld,
		}},
		{Put: &types.Put{
			TableName:                           aws.String(s.tables.Sale),
			Item:                                mustMarshal(toCouponItem(c, shard)),
			ConditionExpression:                 aws.String("attribute_not_exists(pk)"),
			ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureAllOld,
		}},
	}}
}

// Grab makes one attempt to grant coupon c from the given shard of p at now.
// Besides nil it returns a *sale.AlreadyGrabbedError carrying the coupon held,
// ErrShardEmpty, ErrStale, ErrConflict, or an error wrapping
// sale.ErrUnavailable. The SDK retries a transaction with the same client
// token, so its own retries never apply it twice.
func (s *Store) Grab(ctx context.Context, p sale.Promotion, shard int, c sale.Coupon, now time.Time) error {
	ctx, cancel := s.bounded(ctx)
	defer cancel()
	_, err := s.db.TransactWriteItems(ctx, s.GrabInput(p, shard, c, now))
	if err == nil {
		return nil
	}
	var canceled *types.TransactionCanceledException
	if !errors.As(err, &canceled) || len(canceled.CancellationReasons) != 2 {
		return classify("grab", err)
	}
	shardReason, couponReason := canceled.CancellationReasons[0], canceled.CancellationReasons[1]
	// A held coupon answers the customer whatever the shard says.
	if aws.ToString(couponReason.Code) == "ConditionalCheckFailed" {
		held, err := decodeCoupon(couponReason.Item)
		if err != nil {
			return err
		}
		return &sale.AlreadyGrabbedError{Coupon: held}
	}
	switch aws.ToString(shardReason.Code) {
	case "ConditionalCheckFailed":
		var sh shardItem
		if shardReason.Item == nil {
			return ErrStale
		}
		if err := attributevalue.UnmarshalMap(shardReason.Item, &sh); err != nil {
			return fmt.Errorf("decode shard: %w", err)
		}
		if sh.Version != p.Version || sh.PublishAt != millis(p.PublishAt) || sh.FinishAt != millis(p.FinishAt) {
			return ErrStale
		}
		if sh.Left <= 0 {
			return ErrShardEmpty
		}
		// Same version, stock left: only the window can have failed, which
		// the caller checked against the same promotion and clock.
		return ErrStale
	case "TransactionConflict":
		return ErrConflict
	}
	for _, r := range canceled.CancellationReasons {
		switch aws.ToString(r.Code) {
		case "TransactionConflict":
			return ErrConflict
		case "ThrottlingError", "ProvisionedThroughputExceeded":
			return fmt.Errorf("grab: %w: %w: %w", sale.ErrThrottled, sale.ErrUnavailable, err)
		}
	}
	return fmt.Errorf("grab: %w: %w", sale.ErrUnavailable, err)
}

// Coupon reads the coupon customer holds of promotionID, consistently; ok
// is false when the customer holds none.
func (s *Store) Coupon(ctx context.Context, promotionID string, customer sale.CustomerID) (sale.Coupon, bool, error) {
	ctx, cancel := s.bounded(ctx)
	defer cancel()
	out, err := s.db.GetItem(ctx, &dynamodb.GetItemInput{
		TableName:      aws.String(s.tables.Sale),
		Key:            keyOf(couponKey(promotionID, customer)),
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
