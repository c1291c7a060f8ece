// Package store keeps SecKill's state in DynamoDB: promotions, their
// inventory shards, coupons, the read model and the stream checkpoints.
// Conditional writes and transactions enforce the invariants; nothing here
// trusts a read that a later write does not check.
package store

import (
	"context"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	lru "github.com/hashicorp/golang-lru/v2"

	"github.com/seckill/seckill/shared/metrics"

	"github.com/seckill/seckill/shared/sale"
)

// DB is the part of the DynamoDB API the store uses. *dynamodb.Client
// satisfies it; tests wrap it to inject the faults DynamoDB Local never
// raises (transaction conflicts, throttling).
type DB interface {
	GetItem(context.Context, *dynamodb.GetItemInput, ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error)
	PutItem(context.Context, *dynamodb.PutItemInput, ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error)
	DeleteItem(context.Context, *dynamodb.DeleteItemInput, ...func(*dynamodb.Options)) (*dynamodb.DeleteItemOutput, error)
	Query(context.Context, *dynamodb.QueryInput, ...func(*dynamodb.Options)) (*dynamodb.QueryOutput, error)
	BatchGetItem(context.Context, *dynamodb.BatchGetItemInput, ...func(*dynamodb.Options)) (*dynamodb.BatchGetItemOutput, error)
	TransactWriteItems(context.Context, *dynamodb.TransactWriteItemsInput, ...func(*dynamodb.Options)) (*dynamodb.TransactWriteItemsOutput, error)
	BatchWriteItem(context.Context, *dynamodb.BatchWriteItemInput, ...func(*dynamodb.Options)) (*dynamodb.BatchWriteItemOutput, error)
}

var _ DB = (*dynamodb.Client)(nil)

// DefaultTimeout bounds every call to DynamoDB, SDK retries included, so that
// a store that hangs turns into a prompt "try again" rather than a hung
// request.
const DefaultTimeout = 2 * time.Second

// Store reads and writes SecKill's tables.
type Store struct {
	db      DB
	tables  Tables
	timeout time.Duration
	// final remembers the stock of promotions long finished, which no
	// grant or change can touch any more, so that lists read it once.
	final *lru.Cache[string, sale.Stock]
}

// maxFinal bounds the finished promotions whose stock a store remembers.
const maxFinal = 10_000

// New returns a store over db. timeout bounds each DynamoDB call; zero means
// DefaultTimeout.
func New(db DB, tables Tables, timeout time.Duration) *Store {
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	final, _ := lru.New[string, sale.Stock](maxFinal) // only a size < 1 fails
	return &Store{db: db, tables: tables, timeout: timeout, final: final}
}

// Tables returns the names of the tables the store works on.
func (s *Store) Tables() Tables { return s.tables }

// bounded is where every call to DynamoDB starts: it gets its deadline,
// and is counted for the request's metrics.
func (s *Store) bounded(ctx context.Context) (context.Context, context.CancelFunc) {
	metrics.CountCall(ctx)
	return context.WithTimeout(ctx, s.timeout)
}
