package store

import (
	"context"
	"fmt"

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

// ProjectCoupon writes c into the read model. The item is keyed by the
// coupon's own id and holds only what the coupon holds, so writing it again
// (a replayed or duplicated stream record) changes nothing.
func (s *Store) ProjectCoupon(ctx context.Context, c sale.Coupon) error {
	ctx, cancel := s.bounded(ctx)
	defer cancel()
	_, err := s.db.PutItem(ctx, &dynamodb.PutItemInput{
		TableName: aws.String(s.tables.Coupons),
		Item: mustMarshal(readCoupon{
			PK: c.CustomerID, SK: c.ID, PromotionID: c.PromotionID,
			Discount: c.Discount, GrabbedAt: millis(c.GrabbedAt),
		}),
	})
	return classify("project coupon", err)
}

// CustomerCoupons lists the coupons customer owns, newest first, from the
// read model.
func (s *Store) CustomerCoupons(ctx context.Context, customer sale.CustomerID) ([]sale.Coupon, error) {
	out := []sale.Coupon{}
	p := dynamodb.NewQueryPaginator(s.db, &dynamodb.QueryInput{
		TableName:                 aws.String(s.tables.Coupons),
		KeyConditionExpression:    aws.String("pk = :c"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":c": &types.AttributeValueMemberS{Value: string(customer)}},
		ScanIndexForward:          aws.Bool(false),
	})
	for p.HasMorePages() {
		page, err := s.page(ctx, p)
		if err != nil {
			return nil, classify("list coupons", err)
		}
		for _, item := range page.Items {
			var rc readCoupon
			if err := attributevalue.UnmarshalMap(item, &rc); err != nil {
				return nil, fmt.Errorf("decode read-model coupon: %w", err)
			}
			out = append(out, sale.Coupon{
				ID: rc.SK, PromotionID: rc.PromotionID, CustomerID: rc.PK,
				Discount: rc.Discount, GrabbedAt: fromMillis(rc.GrabbedAt),
			})
		}
	}
	return out, nil
}
