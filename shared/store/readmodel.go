package store

import (
	"context"
	"fmt"
	"sync"

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

// batchWriteMax is DynamoDB's limit of items per BatchWriteItem.
const batchWriteMax = 25

// ProjectCoupons writes many coupons into the read model, 25 to a call,
// and returns one error per coupon (nil when written). Items DynamoDB
// leaves unprocessed are retried with backoff for as long as ctx allows;
// the writes are idempotent, so a retry or a duplicate costs nothing.
func (s *Store) ProjectCoupons(ctx context.Context, cs []sale.Coupon) []error {
	errs := make([]error, len(cs))
	var wg sync.WaitGroup
	sem := make(chan struct{}, 8)
	for from := 0; from < len(cs); from += batchWriteMax {
		to := min(from+batchWriteMax, len(cs))
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			s.projectChunk(ctx, cs[from:to], errs[from:to])
		}()
	}
	wg.Wait()
	return errs
}

func (s *Store) projectChunk(ctx context.Context, cs []sale.Coupon, errs []error) {
	ctx, cancel := s.bounded(ctx)
	defer cancel()
	// One request per key: a batch may carry the same record twice (a
	// redelivery), which BatchWriteItem refuses as duplicate keys.
	byKey := map[string][]int{}
	var reqs []types.WriteRequest
	for i, c := range cs {
		k := c.CustomerID + "\x00" + c.ID
		if _, dup := byKey[k]; !dup {
			reqs = append(reqs, types.WriteRequest{PutRequest: &types.PutRequest{Item: mustMarshal(toReadCoupon(c))}})
		}
		byKey[k] = append(byKey[k], i)
	}
	fail := func(reqs []types.WriteRequest, err error) {
		for _, r := range reqs {
			var rc readCoupon
			_ = attributevalue.UnmarshalMap(r.PutRequest.Item, &rc)
			for _, i := range byKey[rc.PK+"\x00"+rc.SK] {
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
func (s *Store) CustomerCoupons(ctx context.Context, customer sale.CustomerID, q PageQuery) ([]sale.Coupon, string, error) {
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
