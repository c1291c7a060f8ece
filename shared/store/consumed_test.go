package store_test

import (
	"context"
	"errors"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/seckill/seckill/shared/capacity"
	"github.com/seckill/seckill/shared/ddblocal/ddbtest"
	"github.com/seckill/seckill/shared/metrics"
)

// TestConsumedCapacity: every client of NewClient asks DynamoDB (here
// DynamoDB Local) what each call consumed and notes it for the request's
// metrics, by operation, without changing the caller's input; a write
// refused by its condition reports nothing.
func TestConsumedCapacity(t *testing.T) {
	t.Parallel()
	db := ddbtest.Client(t)
	tables := ddbtest.Tables(t, db)
	ctx, calls := metrics.WithCalls(context.Background())
	item := map[string]types.AttributeValue{"pk": &types.AttributeValueMemberS{Value: "X#1"}, "sk": &types.AttributeValueMemberS{Value: "x"}}
	put := &dynamodb.PutItemInput{TableName: aws.String(tables.Sale), Item: item, ConditionExpression: aws.String("attribute_not_exists(pk)")}
	if _, err := db.PutItem(ctx, put); err != nil {
		t.Fatal(err)
	}
	if put.ReturnConsumedCapacity != "" {
		t.Errorf("the caller's input was changed: ReturnConsumedCapacity %q", put.ReturnConsumedCapacity)
	}
	var refused *types.ConditionalCheckFailedException
	if _, err := db.PutItem(ctx, put); !errors.As(err, &refused) {
		t.Fatalf("the same put again: got %v, want its condition to fail", err)
	}
	// A caller that asks for the indexes' share keeps its question, and
	// the total is noted all the same.
	get := &dynamodb.GetItemInput{TableName: aws.String(tables.Sale), Key: item, ConsistentRead: aws.Bool(true),
		ReturnConsumedCapacity: types.ReturnConsumedCapacityIndexes}
	out, err := db.GetItem(ctx, get)
	if err != nil {
		t.Fatal(err)
	}
	if out.ConsumedCapacity == nil || out.ConsumedCapacity.Table == nil {
		t.Errorf("asked for INDEXES, got %+v", out.ConsumedCapacity)
	}
	got := calls().Units
	want := map[string]capacity.Units{"PutItem": {Write: 1}, "GetItem": {Read: 1}}
	if len(got) != len(want) || got["PutItem"] != want["PutItem"] || got["GetItem"] != want["GetItem"] {
		t.Errorf("got units %v, want %v (the refused put reports none)", got, want)
	}
}
