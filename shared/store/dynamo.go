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

// Helpers every part of the store uses to speak DynamoDB.

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
