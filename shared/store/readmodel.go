package store

import (
	"context"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/seckill/seckill/shared/sale"
)

// readCoupon is a coupon in the read model: keyed by customer, sorted by
// coupon id, and ids are ULIDs, so a descending query is newest first.
type readCoupon struct {
	PK          string  `dynamodbav:"pk"`
	SK          string  `dynamodbav:"sk"`
	PromotionID string  `dynamodbav:"promotionId"`
	Discount    float64 `dynamodbav:"discount"`
	GrabbedAt   int64   `dynamodbav:"grabbedAt"`
}

func toReadCoupon(c sale.Coupon) readCoupon {
	return readCoupon{PK: c.CustomerID, SK: c.ID, PromotionID: c.PromotionID, Discount: c.Discount, GrabbedAt: millis(c.GrabbedAt)}
}

// ProjectCoupon writes c into the read model. The item is keyed by the
// coupon's own id and holds only what the coupon holds, so writing it again
// (a replayed or duplicated stream record) changes nothing.
func (s *Store) ProjectCoupon(ctx context.Context, c sale.Coupon) error {
	ctx, cancel := s.bounded(ctx)
	defer cancel()
	_, err := s.db.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(s.tables.Coupons), Item: mustMarshal(toReadCoupon(c))})
	return classify("project coupon", err)
}

// Writes says how ProjectCoupons groups the read model's writes.
type Writes int

const (
	// Batched writes 25 coupons to a BatchWriteItem call: one write unit
	// a coupon, as suits DynamoDB.
	Batched Writes = iota
	// Transacted writes 100 coupons to a TransactWriteItems call. DynamoDB
	// charges two write units a coupon for that; DynamoDB Local commits a
	// transaction to its data file at once but each item of a
	// BatchWriteItem alone, so on disk it writes several times as many
	// coupons a second this way (functions/projector/README.md). The local stack
	// uses it.
	Transacted
)

// Largest writes DynamoDB takes in one call.
const (
	batchWriteMax    = 25
	transactWriteMax = MaxBatchItems
)

// ProjectCoupons writes many coupons into the read model, grouped as w
// says, 8 calls at once, and returns one error per coupon (nil when
// written). Items DynamoDB leaves unprocessed are retried with backoff for
// as long as ctx allows; the writes are idempotent, so a retry or a
// duplicate costs nothing.
func (s *Store) ProjectCoupons(ctx context.Context, cs []sale.Coupon, w Writes) []error {
	errs := make([]error, len(cs))
	size, write := batchWriteMax, s.projectBatch
	if w == Transacted {
		size, write = transactWriteMax, s.projectTransaction
	}
	var wg sync.WaitGroup
	sem := make(chan struct{}, 8)
	for from := 0; from < len(cs); from += size {
		to := min(from+size, len(cs))
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			ctx, cancel := s.bounded(ctx)
			defer cancel()
			write(ctx, cs[from:to], errs[from:to])
		}()
	}
	wg.Wait()
	return errs
}

// distinct returns one read-model item per coupon of cs, and by each
// item's key (keyString) where its coupons are in cs: a batch may carry the
// same record twice (a redelivery), and DynamoDB refuses a call that
// writes one key twice.
func distinct(cs []sale.Coupon) (items []map[string]types.AttributeValue, at map[string][]int) {
	at = make(map[string][]int, len(cs))
	for i, c := range cs {
		k := readKey(c.CustomerID, c.ID)
		if _, seen := at[k]; !seen {
			items = append(items, mustMarshal(toReadCoupon(c)))
		}
		at[k] = append(at[k], i)
	}
	return items, at
}

func (s *Store) projectTransaction(ctx context.Context, cs []sale.Coupon, errs []error) {
	items, _ := distinct(cs)
	puts := make([]types.TransactWriteItem, len(items))
	for i, item := range items {
		puts[i] = types.TransactWriteItem{Put: &types.Put{TableName: aws.String(s.tables.Coupons), Item: item}}
	}
	_, err := s.db.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: puts})
	if err != nil {
		err = classify("project coupons", err)
		for i := range errs {
			errs[i] = err
		}
	}
}

func (s *Store) projectBatch(ctx context.Context, cs []sale.Coupon, errs []error) {
	items, at := distinct(cs)
	reqs := make([]types.WriteRequest, len(items))
	for i, item := range items {
		reqs[i] = types.WriteRequest{PutRequest: &types.PutRequest{Item: item}}
	}
	fail := func(reqs []types.WriteRequest, err error) {
		for _, r := range reqs {
			for _, i := range at[keyString(r.PutRequest.Item)] {
				errs[i] = err
			}
		}
	}
	for attempt := 0; len(reqs) > 0; attempt++ {
		out, err := s.db.BatchWriteItem(ctx, &dynamodb.BatchWriteItemInput{RequestItems: map[string][]types.WriteRequest{s.tables.Coupons: reqs}})
		if err != nil {
			fail(reqs, classify("project coupons", err))
			return
		}
		reqs = out.UnprocessedItems[s.tables.Coupons]
		if len(reqs) > 0 {
			if err := Pause(ctx, attempt); err != nil {
				fail(reqs, fmt.Errorf("project coupons: %w: unprocessed: %w", sale.ErrUnavailable, err))
				return
			}
		}
	}
}

// CustomerCoupons lists the coupons customer owns, newest first, from the
// read model, one page at a time.
func (s *Store) CustomerCoupons(ctx context.Context, customer sale.CustomerID, q sale.PageQuery) ([]sale.Coupon, string, error) {
	in := &dynamodb.QueryInput{
		TableName:                 aws.String(s.tables.Coupons),
		KeyConditionExpression:    aws.String("pk = :c"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":c": &types.AttributeValueMemberS{Value: string(customer)}},
		ScanIndexForward:          aws.Bool(false),
	}
	items, next, err := s.queryPage(ctx, in, q, attrSK, func(id string) map[string]types.AttributeValue {
		return map[string]types.AttributeValue{
			attrPK: &types.AttributeValueMemberS{Value: string(customer)},
			attrSK: &types.AttributeValueMemberS{Value: id},
		}
	})
	if err != nil {
		return nil, "", fmt.Errorf("list coupons: %w", err)
	}
	out := make([]sale.Coupon, 0, len(items))
	for _, item := range items {
		var rc readCoupon
		if err := attributevalue.UnmarshalMap(item, &rc); err != nil {
			return nil, "", fmt.Errorf("decode read-model coupon: %w", err)
		}
		out = append(out, sale.Coupon{
			ID: rc.SK, PromotionID: rc.PromotionID, CustomerID: rc.PK,
			Discount: rc.Discount, GrabbedAt: fromMillis(rc.GrabbedAt),
		})
	}
	return out, next, nil
}

// readKey is a read-model item's key (customer, coupon id) as one string.
func readKey(customer, couponID string) string { return customer + "\x00" + couponID }

// keyString is readKey of an item as written.
func keyString(item map[string]types.AttributeValue) string {
	pk, _ := item[attrPK].(*types.AttributeValueMemberS)
	sk, _ := item[attrSK].(*types.AttributeValueMemberS)
	if pk == nil || sk == nil {
		return ""
	}
	return readKey(pk.Value, sk.Value)
}

// GrantTime reads a coupon's grant time from its item in the sale table (a
// stream record's new image): the moment the grant took effect, by the grab
// function's clock. ok is false for any other item.
func GrantTime(item map[string]types.AttributeValue) (time.Time, bool) {
	kind, _ := item["kind"].(*types.AttributeValueMemberS)
	at, _ := item["grabbedAt"].(*types.AttributeValueMemberN)
	if kind == nil || kind.Value != KindCoupon || at == nil {
		return time.Time{}, false
	}
	ms, err := strconv.ParseInt(at.Value, 10, 64)
	if err != nil {
		return time.Time{}, false
	}
	return fromMillis(ms), true
}
