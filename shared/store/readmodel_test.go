package store_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/oklog/ulid/v2"

	"github.com/seckill/seckill/shared/ddblocal/ddbtest"
	"github.com/seckill/seckill/shared/sale"
	"github.com/seckill/seckill/shared/store"
)

// TestProjectCouponsWrites: batched, 25 coupons go to a call; transacted,
// 100. Either way a coupon delivered twice in one batch (a redelivery) is
// written once, and every coupon lands.
func TestProjectCouponsWrites(t *testing.T) {
	t.Parallel()
	db := ddbtest.Client(t)
	ctx := context.Background()
	for _, c := range []struct {
		name   string
		writes store.Writes
		calls  int
	}{
		{"batched", store.Batched, 10},      // 250 records in 25s
		{"transacted", store.Transacted, 3}, // 100 + 100 + 50
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			counted := &store.CountingDB{DB: db}
			tables := ddbtest.Tables(t, db)
			s := store.New(counted, tables, 0)
			cs := make([]sale.Coupon, 250)
			for i := range cs {
				cs[i] = sale.Coupon{ID: ulid.Make().String(), PromotionID: "p", CustomerID: fmt.Sprintf("c-%04d", i),
					Discount: 0.5, GrabbedAt: time.Now().Truncate(time.Millisecond)}
			}
			cs[7] = cs[3] // in one call: DynamoDB refuses a key twice in one call
			for i, err := range s.ProjectCoupons(ctx, cs, c.writes) {
				if err != nil {
					t.Fatalf("coupon %d: %v", i, err)
				}
			}
			if got := counted.Calls.Load(); got != int64(c.calls) {
				t.Errorf("%d calls, want %d", got, c.calls)
			}
			out, err := db.Scan(ctx, &dynamodb.ScanInput{TableName: aws.String(tables.Coupons), Select: types.SelectCount, ConsistentRead: aws.Bool(true)})
			if err != nil {
				t.Fatal(err)
			}
			if out.Count != 249 || out.LastEvaluatedKey != nil {
				t.Errorf("read model holds %d items (more: %v), want 249", out.Count, out.LastEvaluatedKey != nil)
			}
		})
	}
}
