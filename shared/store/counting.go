package store

import (
	"context"
	"sync/atomic"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
)

// CountingDB counts every call made through it: the benchmark's DynamoDB
// calls per answer, and the tests that prove an answer from memory costs
// none, read Calls.
type CountingDB struct {
	DB
	Calls atomic.Int64
}

func (c *CountingDB) GetItem(ctx context.Context, in *dynamodb.GetItemInput, o ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error) {
	c.Calls.Add(1)
	return c.DB.GetItem(ctx, in, o...)
}

func (c *CountingDB) PutItem(ctx context.Context, in *dynamodb.PutItemInput, o ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error) {
	c.Calls.Add(1)
	return c.DB.PutItem(ctx, in, o...)
}

func (c *CountingDB) DeleteItem(ctx context.Context, in *dynamodb.DeleteItemInput, o ...func(*dynamodb.Options)) (*dynamodb.DeleteItemOutput, error) {
	c.Calls.Add(1)
	return c.DB.DeleteItem(ctx, in, o...)
}

func (c *CountingDB) Query(ctx context.Context, in *dynamodb.QueryInput, o ...func(*dynamodb.Options)) (*dynamodb.QueryOutput, error) {
	c.Calls.Add(1)
	return c.DB.Query(ctx, in, o...)
}

func (c *CountingDB) BatchGetItem(ctx context.Context, in *dynamodb.BatchGetItemInput, o ...func(*dynamodb.Options)) (*dynamodb.BatchGetItemOutput, error) {
	c.Calls.Add(1)
	return c.DB.BatchGetItem(ctx, in, o...)
}

func (c *CountingDB) TransactWriteItems(ctx context.Context, in *dynamodb.TransactWriteItemsInput, o ...func(*dynamodb.Options)) (*dynamodb.TransactWriteItemsOutput, error) {
	c.Calls.Add(1)
	return c.DB.TransactWriteItems(ctx, in, o...)
}

func (c *CountingDB) BatchWriteItem(ctx context.Context, in *dynamodb.BatchWriteItemInput, o ...func(*dynamodb.Options)) (*dynamodb.BatchWriteItemOutput, error) {
	c.Calls.Add(1)
	return c.DB.BatchWriteItem(ctx, in, o...)
}
