package grab_test

import (
	"context"
	"errors"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/seckill/seckill/shared/store"
)

// faulty injects the errors DynamoDB Local never raises into the grab
// transaction, and records which shard each attempt wrote.
type faulty struct {
	store.DB
	mu     sync.Mutex
	shards []string
	// fault decides the fate of attempt n: an error to return instead of
	// calling DynamoDB, or nil; apply says to call DynamoDB and then fail.
	fault func(n int) (err error, apply bool)
}

func (f *faulty) TransactWriteItems(ctx context.Context, in *dynamodb.TransactWriteItemsInput, opts ...func(*dynamodb.Options)) (*dynamodb.TransactWriteItemsOutput, error) {
	u := in.TransactItems[0].Update
	if u == nil || f.fault == nil {
		return f.DB.TransactWriteItems(ctx, in, opts...)
	}
	f.mu.Lock()
	n := len(f.shards)
	f.shards = append(f.shards, u.Key["pk"].(*types.AttributeValueMemberS).Value)
	f.mu.Unlock()
	err, apply := f.fault(n)
	if err == nil {
		return f.DB.TransactWriteItems(ctx, in, opts...)
	}
	if apply {
		if _, realErr := f.DB.TransactWriteItems(ctx, in, opts...); realErr != nil {
			return nil, realErr
		}
	}
	return nil, err
}

func (f *faulty) attempts() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.shards...)
}

var (
	conflict = &types.TransactionCanceledException{
		Message:             aws.String("Transaction cancelled"),
		CancellationReasons: []types.CancellationReason{{Code: aws.String("TransactionConflict")}, {Code: aws.String("None")}},
	}
	throttled = &types.ProvisionedThroughputExceededException{Message: aws.String("Rate exceeded")}
	// What a connection cut after the request left looks like to the caller.
	cut = errors.New("read tcp 127.0.0.1:1->127.0.0.1:2: read: connection reset by peer")
)

func TestInjectedFaults(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name       string
		fault      func(n int) (error, bool)
		wantStatus int
		wantCode   string
		wantCalls  int // -1: do not check
		wantGrant  int
	}{
		{"conflicts then success hop shards", func(n int) (error, bool) {
			if n < 3 {
				return conflict, false
			}
			return nil, false
		}, 201, "", 4, 1},
		{"endless conflicts are bounded", func(int) (error, bool) { return conflict, false }, 503, "try-again", 8, 0},
		{"throttling answers 429", func(int) (error, bool) { return throttled, false }, 429, "try-again", 8, 0},
		{"applied but the answer was lost", func(n int) (error, bool) {
			if n == 0 {
				return cut, true
			}
			return nil, false
		}, 201, "", 2, 1},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := &faulty{fault: tc.fault}
			w := newWorld(t, func(db store.DB) store.DB { f.DB = db; return f })
			p := w.promotion(1000, time.Now().Add(-time.Second), time.Now().Add(time.Hour))
			a := grabOnce(t, w.url, p.ID, customerBody("alice"))
			if a.status != tc.wantStatus || a.code != tc.wantCode {
				t.Fatalf("got %+v, want %d %q", a, tc.wantStatus, tc.wantCode)
			}
			if a.status == 503 || a.status == 429 {
				if a.retryAfter == "" {
					t.Errorf("try-again without Retry-After")
				}
			}
			calls := f.attempts()
			if len(calls) != tc.wantCalls {
				t.Errorf("got %d attempts %v, want %d", len(calls), calls, tc.wantCalls)
			}
			for i := 1; i < len(calls); i++ {
				if calls[i] == calls[i-1] {
					t.Errorf("attempt %d retried shard %s instead of hopping: %v", i, calls[i], calls)
				}
			}
			w.checkTotals(p, tc.wantGrant)
			// Once the store behaves, a retry learns the outcome.
			f.mu.Lock()
			f.fault = nil
			f.mu.Unlock()
			again := grabOnce(t, w.url, p.ID, customerBody("alice"))
			wantAgain := http.StatusCreated
			if tc.wantGrant == 1 {
				wantAgain = http.StatusConflict
			}
			if again.status != wantAgain || (tc.wantGrant == 1 && again.couponID != a.couponID) {
				t.Errorf("retry: got %+v, want %d with coupon %q", again, wantAgain, a.couponID)
			}
			w.checkTotals(p, 1)
		})
	}
}
