package store

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/seckill/seckill/shared/sale"
)

// scanFactor bounds what one page may read: at most scanFactor items
// evaluated per item it can carry, so that a filter that matches little
// (finished promotions among thousands of upcoming ones) answers a short
// page with a cursor instead of reading the whole list.
const scanFactor = 10

// queryPage runs in from q.After and collects up to q.Limit items. It asks
// for one item more than it needs, so that a full page knows whether more
// remain. It returns the items and the id to continue after, "" when the
// list is done. idAttr names the attribute holding an item's id; startKey
// rebuilds the key DynamoDB continues from.
func (s *Store) queryPage(ctx context.Context, in *dynamodb.QueryInput, q sale.PageQuery, idAttr string, startKey func(id string) map[string]types.AttributeValue) ([]map[string]types.AttributeValue, string, error) {
	if q.After != "" {
		in.ExclusiveStartKey = startKey(q.After)
	}
	budget := int32(scanFactor * (q.Limit + 1))
	var out []map[string]types.AttributeValue
	for {
		want := q.Limit - len(out)
		in.Limit = aws.Int32(int32(want + 1))
		page, err := s.query(ctx, in)
		if err != nil {
			return nil, "", err
		}
		budget -= page.ScannedCount
		if len(page.Items) > want {
			out = append(out, page.Items[:want]...)
			return out, idOf(out[len(out)-1], idAttr), nil
		}
		out = append(out, page.Items...)
		if page.LastEvaluatedKey == nil {
			return out, "", nil
		}
		if len(out) == q.Limit || budget <= 0 {
			return out, idOf(page.LastEvaluatedKey, idAttr), nil
		}
		in.ExclusiveStartKey = page.LastEvaluatedKey
	}
}

func (s *Store) query(ctx context.Context, in *dynamodb.QueryInput) (*dynamodb.QueryOutput, error) {
	ctx, cancel := s.bounded(ctx)
	defer cancel()
	out, err := s.db.Query(ctx, in)
	if err != nil {
		return nil, classify("query", err)
	}
	return out, nil
}

func idOf(item map[string]types.AttributeValue, attr string) string {
	if v, ok := item[attr].(*types.AttributeValueMemberS); ok {
		return v.Value
	}
	return ""
}

// PromotionsPage lists promotions that pass filter at now, newest first (ids
// are ULIDs, so the index's sort key orders by creation), one page at a
// time. The filter runs in DynamoDB on the times each promotion carries.
func (s *Store) PromotionsPage(ctx context.Context, filter sale.Filter, now time.Time, q sale.PageQuery) ([]sale.Promotion, string, error) {
	in := &dynamodb.QueryInput{
		TableName:                 aws.String(s.tables.Sale),
		IndexName:                 aws.String(IndexByCreate),
		KeyConditionExpression:    aws.String("listPk = :p"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":p": &types.AttributeValueMemberS{Value: listPartition}},
		ScanIndexForward:          aws.Bool(false),
	}
	if expr := filterExpression(filter); expr != "" {
		in.FilterExpression = aws.String(expr)
		in.ExpressionAttributeValues[":now"] = &types.AttributeValueMemberN{Value: strconv.FormatInt(millis(now), 10)}
	}
	items, next, err := s.queryPage(ctx, in, q, attrID, func(id string) map[string]types.AttributeValue {
		return map[string]types.AttributeValue{
			attrListPK: &types.AttributeValueMemberS{Value: listPartition},
			attrID:     &types.AttributeValueMemberS{Value: id},
			attrPK:     &types.AttributeValueMemberS{Value: promotionKey(id)},
			attrSK:     &types.AttributeValueMemberS{Value: promotionSK},
		}
	})
	if err != nil {
		return nil, "", fmt.Errorf("list promotions: %w", err)
	}
	out := make([]sale.Promotion, 0, len(items))
	for _, item := range items {
		p, err := decodePromotion(item)
		if err != nil {
			return nil, "", err
		}
		out = append(out, p)
	}
	return out, next, nil
}

// filterExpression is sale.Filter.Match written for DynamoDB over the
// stored Unix-millisecond times.
func filterExpression(f sale.Filter) string {
	switch f {
	case sale.FilterActive:
		return "publishAt <= :now AND finishAt > :now"
	case sale.FilterUpcoming:
		return "publishAt > :now"
	case sale.FilterFinished:
		return "finishAt <= :now"
	case sale.FilterOpen:
		return "finishAt > :now"
	}
	return ""
}
