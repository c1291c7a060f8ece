package projector_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/seckill/seckill/functions/projector"
	"github.com/seckill/seckill/shared/ddblocal/ddbtest"
	"github.com/seckill/seckill/shared/store"
)

// stingy plays DynamoDB under pressure, which DynamoDB Local never is: each
// BatchWriteItem writes only the first `take` items and hands the rest back
// as unprocessed; after `calls` calls it stops writing anything.
type stingy struct {
	store.DB
	mu    sync.Mutex
	take  int
	calls int
	seen  int
}

func (s *stingy) BatchWriteItem(ctx context.Context, in *dynamodb.BatchWriteItemInput, o ...func(*dynamodb.Options)) (*dynamodb.BatchWriteItemOutput, error) {
	s.mu.Lock()
	s.seen++
	take := s.take
	if s.seen > s.calls {
		take = 0
	}
	s.mu.Unlock()
	out := &dynamodb.BatchWriteItemOutput{UnprocessedItems: map[string][]types.WriteRequest{}}
	for table, reqs := range in.RequestItems {
		n := min(take, len(reqs))
		if n > 0 {
			if _, err := s.DB.BatchWriteItem(ctx, &dynamodb.BatchWriteItemInput{RequestItems: map[string][]types.WriteRequest{table: reqs[:n]}}, o...); err != nil {
				return nil, err
			}
		}
		if n < len(reqs) {
			out.UnprocessedItems[table] = reqs[n:]
		}
	}
	return out, nil
}

// TestUnprocessedItems: unprocessed items are retried until written; items
// DynamoDB never takes are reported failed, record by record, and only they.
func TestUnprocessedItems(t *testing.T) {
	t.Parallel()
	_, db := ddbtest.Store(t)
	tables := ddbtest.Tables(t, db)
	var batch events.DynamoDBEvent
	for i := range 40 {
		batch.Records = append(batch.Records, couponRecord(fmt.Sprint(i+1), fmt.Sprintf("c%02d", i), nil))
	}

	slow := &stingy{DB: db, take: 3, calls: 1000}
	resp, err := projector.New(store.New(slow, tables, ddbtest.CallTimeout)).Handle(context.Background(), batch)
	if err != nil || len(resp.BatchItemFailures) != 0 {
		t.Fatalf("3 items a call: got %v %v, want every record written", resp.BatchItemFailures, err)
	}
	if n := len(scanReadModel(t, db, tables.Coupons)); n != 40 {
		t.Fatalf("read model holds %d, want 40", n)
	}

	// A fresh read model; DynamoDB takes 5 items in one call per chunk, then none.
	tables2 := ddbtest.Tables(t, db)
	stuck := &stingy{DB: db, take: 5, calls: 2}
	short := store.New(stuck, tables2, 300*time.Millisecond) // each chunk retries for 0.3 s, then gives up
	resp, err = projector.New(short).Handle(context.Background(), batch)
	if err != nil {
		t.Fatal(err)
	}
	var failed []string
	for _, f := range resp.BatchItemFailures {
		failed = append(failed, f.ItemIdentifier)
	}
	written := scanReadModel(t, db, tables2.Coupons)
	if len(written) != 10 || len(failed) != 30 {
		t.Fatalf("got %d written and %d failed %v, want 10 written (5 in each of 2 calls) and the other 30 reported", len(written), len(failed), failed)
	}
}
