package store_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/seckill/seckill/shared/capacity"
	"github.com/seckill/seckill/shared/ddblocal/ddbtest"
	"github.com/seckill/seckill/shared/metrics"
	"github.com/seckill/seckill/shared/store"
)

// TestConsumedCapacity: a Reported client (what a deployment's functions
// get against DynamoDB) asks what each call consumed and notes it for the
// request's metrics, by operation, without changing the caller's input; a
// write refused by its condition reports nothing.
func TestConsumedCapacity(t *testing.T) {
	t.Parallel()
	db := ddbtest.Client(t, store.WithCapacity(store.Reported))
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

// TestDynamoDBLocalFigures pins down where DynamoDB Local's consumed
// capacity parts from DynamoDB's published rules (shared/capacity), which
// the bench's comparison explains: its figure for a transaction does not
// follow the items (1 and 4 small puts both report 2 units, where DynamoDB
// charges 2 per item), it prices a transaction's write to an index at 2
// units (the rules: 1, as a plain write), and a Query that reads nothing
// reports 0 (the rules: a minimum read). Should a new DynamoDB Local
// change any of it, this fails, and the bench's explanation must follow.
func TestDynamoDBLocalFigures(t *testing.T) {
	t.Parallel()
	db := ddbtest.Client(t, store.WithCapacity(store.Reported))
	tables := ddbtest.Tables(t, db)
	s := func(v string) types.AttributeValue { return &types.AttributeValueMemberS{Value: v} }
	put := func(pk string, indexed bool) types.TransactWriteItem {
		item := map[string]types.AttributeValue{"pk": s(pk), "sk": s("a")}
		if indexed { // the promotions index's keys, as a promotion item has them
			item["listPk"], item["id"] = s("L"), s(pk)
		}
		return types.TransactWriteItem{Put: &types.Put{TableName: aws.String(tables.Sale), Item: item}}
	}
	for _, tc := range []struct {
		name         string
		items        []types.TransactWriteItem
		rules, local float64
	}{
		{"one put", []types.TransactWriteItem{put("T#1", false)}, 2, 2},
		{"four puts", []types.TransactWriteItem{put("T#2", false), put("T#3", false), put("T#4", false), put("T#5", false)}, 8, 2},
		{"one indexed put", []types.TransactWriteItem{put("T#6", true)}, 2 + 1, 2 + 2},
	} {
		ctx, calls := metrics.WithCalls(context.Background())
		if _, err := db.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: tc.items}); err != nil {
			t.Fatal(err)
		}
		rules := 0.0
		for _, it := range tc.items {
			rules += capacity.WriteUnits(capacity.ItemSize(it.Put.Item), true)
			if _, ok := it.Put.Item["listPk"]; ok {
				rules += capacity.WriteUnits(capacity.ItemSize(it.Put.Item), false)
			}
		}
		if rules != tc.rules {
			t.Fatalf("%s: the rules say %v units, the case says %v", tc.name, rules, tc.rules)
		}
		if got := calls().Units["TransactWriteItems"].Write; got != tc.local {
			t.Errorf("%s: DynamoDB Local reported %v write units, want %v (DynamoDB: %v)", tc.name, got, tc.local, tc.rules)
		}
	}
	ctx, calls := metrics.WithCalls(context.Background())
	if _, err := db.Query(ctx, &dynamodb.QueryInput{TableName: aws.String(tables.Coupons), KeyConditionExpression: aws.String("pk = :p"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":p": s("nobody")}}); err != nil {
		t.Fatal(err)
	}
	if got, ok := calls().Units["Query"]; !ok || got.Read != 0 || capacity.QueryUnits(nil, capacity.Eventual) != 0.5 {
		t.Errorf("a Query of nothing: DynamoDB Local reported %+v (noted: %v), want 0; the rules charge %v", got, ok, capacity.QueryUnits(nil, capacity.Eventual))
	}
}

// TestCapacityModes: against DynamoDB Local a client asks nothing unless
// told (its figures are wrong, and asking slows it); a Sampled client asks
// about the first call of an operation and then one at most every
// store.SampleInterval, and notes none of it for the request, whose units
// the local stack counts by the rules instead.
func TestCapacityModes(t *testing.T) {
	t.Parallel()
	const calls = 40
	for _, tc := range []struct {
		name                 string
		opts                 []store.ClientOption
		asked, noted, spaced int
	}{
		{"default", nil, 0, 0, 0},
		{"not asked", []store.ClientOption{store.WithCapacity(store.NotAsked)}, 0, 0, 0},
		{"sampled", []store.ClientOption{store.WithCapacity(store.Sampled)}, 1, 0, 2},
		{"reported", []store.ClientOption{store.WithCapacity(store.Reported)}, calls, calls, calls},
	} {
		db := ddbtest.Client(t, tc.opts...)
		tables := ddbtest.Tables(t, db)
		ctx, noted := metrics.WithCalls(context.Background())
		put := func(sk string) bool {
			out, err := db.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(tables.Sale), Item: map[string]types.AttributeValue{
				"pk": &types.AttributeValueMemberS{Value: "M#1"}, "sk": &types.AttributeValueMemberS{Value: sk}}})
			if err != nil {
				t.Fatal(err)
			}
			return out.ConsumedCapacity != nil
		}
		// Calls in a burst: a sampled client asks about the first only
		// (the burst is far shorter than the interval on any machine that
		// runs it in under 250 ms; one that does not asks once more).
		start := time.Now()
		asked := 0
		for i := range calls {
			if put(fmt.Sprint("a", i)) {
				asked++
			}
		}
		burst := time.Since(start)
		if got := noted().Units["PutItem"].Write; int(got) != tc.noted {
			t.Errorf("%s: noted %v units for the request, want %d", tc.name, got, tc.noted)
		}
		if asked != tc.asked && !(tc.name == "sampled" && burst >= store.SampleInterval && asked <= 1+int(burst/store.SampleInterval)) {
			t.Errorf("%s: asked about %d of %d calls in %v, want %d", tc.name, asked, calls, burst, tc.asked)
		}
		// Calls an interval apart are each asked about.
		spaced := 0
		for i := range 2 {
			time.Sleep(store.SampleInterval)
			if put(fmt.Sprint("b", i)) {
				spaced++
			}
		}
		if spaced != min(tc.spaced, 2) {
			t.Errorf("%s: asked about %d of 2 calls an interval apart, want %d", tc.name, spaced, min(tc.spaced, 2))
		}
	}
}
