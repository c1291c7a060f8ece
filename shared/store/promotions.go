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
		Key:            keyOf(promotionKey(id)),
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

// Promotions lists every promotion, newest first. Ids are ULIDs, so the
// index's sort key orders by creation time.
func (s *Store) Promotions(ctx context.Context) ([]sale.Promotion, error) {
	var out []sale.Promotion
	p := dynamodb.NewQueryPaginator(s.db, &dynamodb.QueryInput{
		TableName:                 aws.String(s.tables.Sale),
		IndexName:                 aws.String(IndexByCreate),
		KeyConditionExpression:    aws.String("listPk = :p"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":p": &types.AttributeValueMemberS{Value: listPartition}},
		ScanIndexForward:          aws.Bool(false),
	})
	for p.HasMorePages() {
		page, err := s.page(ctx, p)
		if err != nil {
			return nil, classify("list promotions", err)
		}
		for _, item := range page.Items {
			promo, err := decodePromotion(item)
			if err != nil {
				return nil, err
			}
			out = append(out, promo)
		}
	}
	return out, nil
}

func (s *Store) page(ctx context.Context, p *dynamodb.QueryPaginator) (*dynamodb.QueryOutput, error) {
	ctx, cancel := s.bounded(ctx)
	defer cancel()
	return p.NextPage(ctx)
}

// Stock sums the inventory shards of each promotion with consistent reads,
// so that left + granted == total holds in every answer even while grabs run.
func (s *Store) Stock(ctx context.Context, promos ...sale.Promotion) (map[string]sale.Stock, error) {
	var keys []map[string]types.AttributeValue
	for _, p := range promos {
		for i := range p.Shards {
			keys = append(keys, keyOf(shardKey(p.ID, i)))
		}
	}
	stock := make(map[string]sale.Stock, len(promos))
	const batch = 100 // BatchGetItem's limit
	for len(keys) > 0 {
		n := min(batch, len(keys))
		pending := keys[:n]
		keys = keys[n:]
		for attempt := 0; len(pending) > 0; attempt++ {
			if attempt > 0 {
				if err := sleep(ctx, Backoff(attempt)); err != nil {
					return nil, classify("read stock", err)
				}
			}
			out, err := s.batchGet(ctx, pending)
			if err != nil {
				return nil, classify("read stock", err)
			}
			for _, item := range out.Responses[s.tables.Sale] {
				var sh shardItem
				if err := attributevalue.UnmarshalMap(item, &sh); err != nil {
					return nil, fmt.Errorf("decode shard: %w", err)
				}
				st := stock[sh.PromotionID]
				st.Left += sh.Left
				st.Granted += sh.Granted
				stock[sh.PromotionID] = st
			}
			pending = out.UnprocessedKeys[s.tables.Sale].Keys
		}
	}
	return stock, nil
}

func (s *Store) batchGet(ctx context.Context, keys []map[string]types.AttributeValue) (*dynamodb.BatchGetItemOutput, error) {
	ctx, cancel := s.bounded(ctx)
	defer cancel()
	return s.db.BatchGetItem(ctx, &dynamodb.BatchGetItemInput{
		RequestItems: map[string]types.KeysAndAttributes{s.tables.Sale: {Keys: keys, ConsistentRead: aws.Bool(true)}},
	})
}

// UpdatePromotion replaces promotion id with what change makes of it. change
// sees the stored promotion and decides (the domain's rules); the write is
// conditional on the version read and on publishAt still being in the future
// at now, so a change racing the promotion's start, or another change, never
// lands on a started promotion. Shards are rewritten in the same transaction.
func (s *Store) UpdatePromotion(ctx context.Context, id string, now time.Time, change func(sale.Promotion) (sale.Promotion, error)) (sale.Promotion, error) {
	for attempt := 0; ; attempt++ {
		old, err := s.Promotion(ctx, id)
		if err != nil {
			return sale.Promotion{}, err
		}
		next, err := change(old)
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
		items = append(items, s.putShards(next)...)
		items = append(items, s.deleteShards(id, next.Shards, old.Shards)...)
		err = s.guardedWrite(ctx, "update promotion", id, now, items)
		if retry, err := retryStale(ctx, err, attempt); retry {
			continue
		} else if err != nil {
			return sale.Promotion{}, err
		}
		return next, nil
	}
}

// DeletePromotion removes a promotion that has not started, with its shards.
func (s *Store) DeletePromotion(ctx context.Context, id string, now time.Time) error {
	for attempt := 0; ; attempt++ {
		old, err := s.Promotion(ctx, id)
		if err != nil {
			return err
		}
		if old.Started(now) {
			return fmt.Errorf("promotion %s: %w", id, sale.ErrPromotionStarted)
		}
		items := []types.TransactWriteItem{{Delete: &types.Delete{
			TableName:                           aws.String(s.tables.Sale),
			Key:                                 keyOf(promotionKey(id)),
			ConditionExpression:                 aws.String(unstartedCondition),
			ExpressionAttributeValues:           unstartedValues(old.Version, now),
			ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureAllOld,
		}}}
		items = append(items, s.deleteShards(id, 0, old.Shards)...)
		err = s.guardedWrite(ctx, "delete promotion", id, now, items)
		if retry, err := retryStale(ctx, err, attempt); !retry {
			return err
		}
	}
}

// retryStale decides whether a change that lost a race with another change
// should be computed again. After a few tries the caller is told to try
// again later rather than kept waiting.
func retryStale(ctx context.Context, err error, attempt int) (bool, error) {
	if !errors.Is(err, ErrStale) {
		return false, err
	}
	if attempt >= 4 {
		return false, fmt.Errorf("promotion keeps changing: %w", sale.ErrUnavailable)
	}
	return sleep(ctx, Backoff(attempt)) == nil, classify("wait to retry", ctx.Err())
}

// The condition every change of a promotion carries: the version the change
// was computed from, and a publishAt that has not passed.
const unstartedCondition = "version = :v AND publishAt > :now"

func unstartedValues(version int, now time.Time) map[string]types.AttributeValue {
	return map[string]types.AttributeValue{
		":v":   &types.AttributeValueMemberN{Value: strconv.Itoa(version)},
		":now": &types.AttributeValueMemberN{Value: strconv.FormatInt(millis(now), 10)},
	}
}

// guardedWrite runs a transaction whose first item carries unstartedCondition
// and explains a failed condition from the item DynamoDB hands back.
func (s *Store) guardedWrite(ctx context.Context, op, id string, now time.Time, items []types.TransactWriteItem) error {
	ctx, cancel := s.bounded(ctx)
	defer cancel()
	_, err := s.db.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: items})
	var canceled *types.TransactionCanceledException
	if !errors.As(err, &canceled) || len(canceled.CancellationReasons) == 0 {
		return classify(op, err)
	}
	reason := canceled.CancellationReasons[0]
	switch aws.ToString(reason.Code) {
	case "ConditionalCheckFailed":
		if reason.Item == nil {
			return fmt.Errorf("promotion %s: %w", id, sale.ErrPromotionNotFound)
		}
		current, derr := decodePromotion(reason.Item)
		if derr != nil {
			return derr
		}
		if current.Started(now) {
			return fmt.Errorf("promotion %s: %w", id, sale.ErrPromotionStarted)
		}
		return ErrStale
	case "TransactionConflict":
		return ErrStale
	}
	return classify(op, err)
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

// deleteShards deletes shards [from, to) of promotion id.
func (s *Store) deleteShards(id string, from, to int) []types.TransactWriteItem {
	var out []types.TransactWriteItem
	for i := from; i < to; i++ {
		out = append(out, types.TransactWriteItem{Delete: &types.Delete{
			TableName: aws.String(s.tables.Sale),
			Key:       keyOf(shardKey(id, i)),
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

func keyOf(pk string) map[string]types.AttributeValue {
	return map[string]types.AttributeValue{attrPK: &types.AttributeValueMemberS{Value: pk}}
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
