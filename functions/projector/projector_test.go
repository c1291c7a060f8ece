package projector_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"sort"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodbstreams"
	"github.com/oklog/ulid/v2"

	"github.com/seckill/seckill/functions/projector"
	"github.com/seckill/seckill/shared/ddblocal/ddbtest"
	"github.com/seckill/seckill/shared/sale"
	"github.com/seckill/seckill/shared/store"
	"github.com/seckill/seckill/shared/streams"
)

func TestMain(m *testing.M) {
	slog.SetDefault(slog.New(slog.NewTextHandler(io.Discard, nil)))
	ddbtest.Main(m)
}

func couponRecord(seq, customer string, extra map[string]events.DynamoDBAttributeValue) events.DynamoDBEventRecord {
	img := map[string]events.DynamoDBAttributeValue{
		"pk":          events.NewStringAttribute("C#P#" + customer),
		"kind":        events.NewStringAttribute(store.KindCoupon),
		"couponId":    events.NewStringAttribute("coupon-" + seq),
		"promotionId": events.NewStringAttribute("01ARZ3NDEKTSV4RRFFQ69G5FAV"),
		"customerId":  events.NewStringAttribute(customer),
		"discount":    events.NewNumberAttribute("0.7"),
		"grabbedAt":   events.NewNumberAttribute("1790000000000"),
	}
	for k, v := range extra {
		img[k] = v
	}
	return events.DynamoDBEventRecord{EventName: "INSERT", EventID: "e" + seq, Change: events.DynamoDBStreamRecord{SequenceNumber: seq, NewImage: img}}
}

func TestPoisonRecordIsReportedAlone(t *testing.T) {
	t.Parallel()
	s, _ := ddbtest.Store(t)
	p := projector.New(s)
	batch := events.DynamoDBEvent{Records: []events.DynamoDBEventRecord{
		couponRecord("1", "alice", nil),
		couponRecord("2", "bob", map[string]events.DynamoDBAttributeValue{"customerId": events.NewStringAttribute("not a customer")}),
		{EventName: "INSERT", Change: events.DynamoDBStreamRecord{SequenceNumber: "3", NewImage: map[string]events.DynamoDBAttributeValue{"kind": events.NewStringAttribute(store.KindPromotion)}}},
		{EventName: "MODIFY", Change: events.DynamoDBStreamRecord{SequenceNumber: "4", NewImage: map[string]events.DynamoDBAttributeValue{"kind": events.NewStringAttribute(store.KindShard)}}},
		couponRecord("5", "carol", map[string]events.DynamoDBAttributeValue{"couponId": events.NewBooleanAttribute(true)}),
		couponRecord("6", "alice", nil),
	}}
	for round := range 2 { // the second round is a replay
		resp, err := p.Handle(context.Background(), batch)
		if err != nil {
			t.Fatal(err)
		}
		var failed []string
		for _, f := range resp.BatchItemFailures {
			failed = append(failed, f.ItemIdentifier)
		}
		if want := []string{"2", "5"}; !slices.Equal(failed, want) {
			t.Fatalf("round %d: got failures %v, want %v", round, failed, want)
		}
		got, _, err := s.CustomerCoupons(context.Background(), "alice", sale.PageQuery{Limit: 100})
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 2 || got[0].ID != "coupon-6" || got[1].ID != "coupon-1" {
			t.Fatalf("round %d: got %+v, want coupons 6 then 1", round, got)
		}
	}
}

// TestStreamToReadModel grants coupons concurrently, lets the local runner
// project them, measures grant-to-visible lag, stops the runner mid-sale,
// restarts it from its checkpoint, and finally replays the whole stream
// from scratch: every coupon appears exactly once, and the replay changes
// nothing.
func TestStreamToReadModel(t *testing.T) {
	t.Parallel()
	s, db := ddbtest.Store(t)
	ctx := context.Background()
	sc := streamsClient(t)
	tables := s.Tables()
	var coupons atomic.Int64 // coupon records handed to the projector
	handle := func(ctx context.Context, ev events.DynamoDBEvent) (events.DynamoDBEventResponse, error) {
		for _, rec := range ev.Records {
			if k, ok := rec.Change.NewImage["kind"]; ok && k.String() == store.KindCoupon {
				coupons.Add(1)
			}
		}
		return projector.New(s).Handle(ctx, ev)
	}
	startRunner := func(checkpoints string) (*streams.Runner, func()) {
		r := streams.New(db, sc, tables.Sale, checkpoints, handle, streams.Options{Poll: 50 * time.Millisecond})
		rctx, cancel := context.WithCancel(ctx)
		done := make(chan struct{})
		go func() { _ = r.Run(rctx); close(done) }()
		return r, func() { cancel(); <-done }
	}
	p := activePromotion(t, s, 1000)
	grantAndWait := func(prefix string, n int, wait bool) []time.Duration {
		var mu sync.Mutex
		var lags []time.Duration
		var wg sync.WaitGroup
		for g := range 8 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := g; i < n; i += 8 {
					customer := sale.CustomerID(fmt.Sprintf("%s-%d", prefix, i))
					c := sale.Coupon{ID: ulid.Make().String(), PromotionID: p.ID, CustomerID: string(customer), Discount: p.Discount, GrabbedAt: time.Now().Truncate(time.Millisecond).UTC()}
					if err := grabUntil(ctx, s, p, i%p.Shards, c); err != nil {
						t.Error(err)
						return
					}
					granted := time.Now()
					if !wait {
						continue
					}
					for {
						got, _, err := s.CustomerCoupons(ctx, customer, sale.PageQuery{Limit: 100})
						if err == nil && len(got) == 1 {
							break
						}
						if time.Since(granted) > 20*time.Second {
							t.Errorf("coupon of %s never became visible", customer)
							return
						}
						time.Sleep(5 * time.Millisecond)
					}
					mu.Lock()
					lags = append(lags, time.Since(granted))
					mu.Unlock()
				}
			}()
		}
		wg.Wait()
		return lags
	}

	_, stop := startRunner(tables.Checkpoints)
	lags := grantAndWait("a", 160, true)
	stop()
	grantAndWait("b", 40, false) // granted while the runner is down
	_, stop = startRunner(tables.Checkpoints)
	waitForCount(t, db, tables.Coupons, 200)
	stop()
	before := scanReadModel(t, db, tables.Coupons)

	// Replay everything with a fresh checkpoint table.
	replay := tables.Checkpoints + "-replay"
	replayTables := tables
	replayTables.Checkpoints = replay
	if err := store.CreateTables(ctx, db, replayTables); err != nil {
		t.Fatal(err)
	}
	coupons.Store(0)
	_, stop = startRunner(replay)
	for deadline := time.Now().Add(30 * time.Second); coupons.Load() < 200; time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			stop()
			t.Fatalf("the replay handed over %d of the 200 coupon records", coupons.Load())
		}
	}
	stop()
	after := scanReadModel(t, db, tables.Coupons)
	if !slices.Equal(before, after) {
		t.Fatalf("replay changed the read model: %d items before, %d after", len(before), len(after))
	}
	if len(after) != 200 {
		t.Fatalf("got %d read-model items, want 200", len(after))
	}
	sort.Slice(lags, func(i, j int) bool { return lags[i] < lags[j] })
	p50, p99 := lags[len(lags)/2], lags[len(lags)*99/100]
	t.Logf("grant-to-visible lag over %d coupons: p50 %v, p99 %v, max %v", len(lags), p50, p99, lags[len(lags)-1])
}

// grabUntil grants c, trying again on conflicts and empty shards for at
// most 30 s, so that broken grabs fail the test instead of hanging it.
func grabUntil(ctx context.Context, s *store.Store, p sale.Promotion, shard int, c sale.Coupon) error {
	var err error
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); shard = (shard + 1) % p.Shards {
		if err = ddbtest.Grab(ctx, s, p, shard, c, time.Now()); err == nil {
			return nil
		}
		time.Sleep(time.Millisecond)
	}
	return fmt.Errorf("grant of %s never landed: %w", c.CustomerID, err)
}

// activePromotion stores a promotion of total coupons that is on sale now.
func activePromotion(t *testing.T, s *store.Store, total int) sale.Promotion {
	t.Helper()
	now := time.Now()
	p, err := sale.NewPromotion(ulid.Make().String(), sale.Draft{Name: "s", Discount: 0.8, TotalCoupons: total, PublishAt: now.Add(-time.Second), FinishAt: now.Add(time.Hour)}, now)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.CreatePromotion(context.Background(), p); err != nil {
		t.Fatal(err)
	}
	return p
}

func waitForCount(t *testing.T, db *dynamodb.Client, table string, n int) {
	t.Helper()
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if len(scanReadModel(t, db, table)) >= n {
			return
		}
	}
	t.Fatalf("read model never reached %d items", n)
}

// scanReadModel returns "customer/coupon" for every read-model item, sorted;
// duplicates would show as repeated entries, which keys make impossible, so
// the count is the check.
func scanReadModel(t *testing.T, db *dynamodb.Client, table string) []string {
	t.Helper()
	var out []string
	p := dynamodb.NewScanPaginator(db, &dynamodb.ScanInput{TableName: aws.String(table), ConsistentRead: aws.Bool(true)})
	for p.HasMorePages() {
		page, err := p.NextPage(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		for _, it := range page.Items {
			out = append(out, fmt.Sprint(it["pk"], "/", it["sk"], "/", it["grabbedAt"]))
		}
	}
	sort.Strings(out)
	return out
}

// TestFailedRecordRedeliveredPastReadAhead: the runner reads a batch ahead
// while it hands over the one before; when a record of that one fails, the
// batch read ahead must be dropped and delivery resume at the failed
// record, or every record after it in its batch would be skipped.
func TestFailedRecordRedeliveredPastReadAhead(t *testing.T) {
	t.Parallel()
	s, db := ddbtest.Store(t)
	ctx := context.Background()
	sc := streamsClient(t)
	tables := s.Tables()
	p := activePromotion(t, s, 300)
	for i := range 300 { // all on the stream before the runner starts: every batch is full
		c := sale.Coupon{ID: ulid.Make().String(), PromotionID: p.ID, CustomerID: fmt.Sprintf("c-%03d", i), Discount: p.Discount, GrabbedAt: time.Now().Truncate(time.Millisecond).UTC()}
		if err := grabUntil(ctx, s, p, i%p.Shards, c); err != nil {
			t.Fatal(err)
		}
	}
	var mu sync.Mutex
	calls, failedSeq, seen := 0, "", 0
	handle := func(ctx context.Context, ev events.DynamoDBEvent) (events.DynamoDBEventResponse, error) {
		mu.Lock()
		calls++
		fail := -1
		for i, rec := range ev.Records {
			k, ok := rec.Change.NewImage["kind"]
			if !ok || k.String() != store.KindCoupon {
				continue
			}
			if calls == 3 && fail < 0 && failedSeq == "" {
				fail, failedSeq = i, rec.Change.SequenceNumber
			}
			if rec.Change.SequenceNumber == failedSeq {
				seen++
			}
		}
		mu.Unlock()
		if fail < 0 {
			return projector.New(s).Handle(ctx, ev)
		}
		// As a failure does: what comes before the record is done, it and
		// what follows are not.
		resp, err := projector.New(s).Handle(ctx, events.DynamoDBEvent{Records: ev.Records[:fail]})
		resp.BatchItemFailures = append(resp.BatchItemFailures, events.DynamoDBBatchItemFailure{ItemIdentifier: failedSeq})
		return resp, err
	}
	r := streams.New(db, sc, tables.Sale, tables.Checkpoints, handle, streams.Options{Poll: 20 * time.Millisecond, BatchSize: 50})
	rctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { _ = r.Run(rctx); close(done) }()
	defer func() { cancel(); <-done }()

	waitForCount(t, db, tables.Coupons, 300)
	mu.Lock()
	defer mu.Unlock()
	if failedSeq == "" || seen < 2 {
		t.Fatalf("record %q was handed over %d times, want a failure and a redelivery", failedSeq, seen)
	}
}

func streamsClient(t *testing.T) *dynamodbstreams.Client {
	t.Helper()
	sc, err := store.NewStreamsClient(context.Background(), ddbtest.Endpoint(t))
	if err != nil {
		t.Fatal(err)
	}
	return sc
}
