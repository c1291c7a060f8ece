package metrics_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/seckill/seckill/shared/capacity"
	"github.com/seckill/seckill/shared/metrics"
)

// emfLine writes attrs as the JSON log line slog writes under Lambda and
// decodes it.
func emfLine(t *testing.T, attrs []any) map[string]any {
	t.Helper()
	var buf bytes.Buffer
	slog.New(slog.NewJSONHandler(&buf, nil)).Info("request", attrs...)
	var line map[string]any
	if err := json.Unmarshal(buf.Bytes(), &line); err != nil {
		t.Fatalf("%v: %s", err, buf.Bytes())
	}
	return line
}

// checkEMF holds a log line to the Embedded Metric Format: a directive whose
// every dimension and metric is a top-level field, metrics numeric.
func checkEMF(t *testing.T, line map[string]any, wantMetrics ...string) {
	t.Helper()
	aws, _ := line["_aws"].(map[string]any)
	if _, ok := aws["Timestamp"].(float64); !ok {
		t.Fatalf("no _aws.Timestamp in %v", line)
	}
	directives, _ := aws["CloudWatchMetrics"].([]any)
	var names []string
	for _, d := range directives {
		d := d.(map[string]any)
		if d["Namespace"] != metrics.Namespace {
			t.Errorf("namespace %v", d["Namespace"])
		}
		for _, set := range d["Dimensions"].([]any) {
			for _, dim := range set.([]any) {
				if _, ok := line[dim.(string)].(string); !ok {
					t.Errorf("dimension %v is not a top-level string in %v", dim, line)
				}
			}
		}
		for _, m := range d["Metrics"].([]any) {
			name := m.(map[string]any)["Name"].(string)
			names = append(names, name)
			if _, ok := line[name].(float64); !ok {
				t.Errorf("metric %s is not a top-level number in %v", name, line)
			}
		}
	}
	slices.Sort(names)
	slices.Sort(wantMetrics)
	if !slices.Equal(names, wantMetrics) {
		t.Errorf("got metrics %v, want %v", names, wantMetrics)
	}
}

func TestEMF(t *testing.T) {
	t.Parallel()
	var ops bytes.Buffer
	e := metrics.EMF{Log: slog.New(slog.NewJSONHandler(&ops, nil))}
	calls := metrics.Calls{Calls: 2, Attempts: 3, Units: map[string]capacity.Units{
		"TransactWriteItems": {Write: 4}, "BatchGetItem": {Read: 1.5}}}
	line := emfLine(t, append([]any{"status", 409}, e.Answer("grab", "POST /promotions/{promotionId}/coupons", "sold-out", 2500*time.Microsecond, calls)...))
	checkEMF(t, line, "Answers", "Latency", "DynamoDBCalls", "DynamoDBRetries", "ReadUnits", "WriteUnits")
	if line["Code"] != "sold-out" || line["Function"] != "grab" || line["Latency"] != 2.5 || line["DynamoDBRetries"] != 1.0 ||
		line["ReadUnits"] != 1.5 || line["WriteUnits"] != 4.0 {
		t.Errorf("values: %v", line)
	}
	// DynamoDBCapacityUnits: a line of its own per operation, in order.
	var got []string
	for _, raw := range bytes.Split(bytes.TrimSpace(ops.Bytes()), []byte("\n")) {
		var op map[string]any
		if err := json.Unmarshal(raw, &op); err != nil {
			t.Fatalf("%v: %s", err, raw)
		}
		checkEMF(t, op, "DynamoDBCapacityUnits")
		got = append(got, fmt.Sprintf("%v %v %v", op["Function"], op["Operation"], op["DynamoDBCapacityUnits"]))
	}
	if want := []string{"grab BatchGetItem 1.5", "grab TransactWriteItems 4"}; !slices.Equal(got, want) {
		t.Errorf("got capacity lines %q, want %q", got, want)
	}

	ops.Reset()
	line = emfLine(t, e.Answer("grab", "POST /x", "already-grabbed", time.Millisecond, metrics.Calls{}))
	if line["ReadUnits"] != 0.0 || line["WriteUnits"] != 0.0 || ops.Len() != 0 {
		t.Errorf("an answer from memory: got %v and capacity lines %q, want 0 units and none", line, ops.String())
	}
	checkEMF(t, emfLine(t, e.Projected("projector", 25, 1, 300*time.Millisecond, metrics.Calls{Units: map[string]capacity.Units{"BatchWriteItem": {Write: 25}}})),
		"ProjectedRecords", "ProjectorFailures", "ProjectionLag", "ReadUnits", "WriteUnits")
	if !strings.Contains(ops.String(), `"Operation":"BatchWriteItem","DynamoDBCapacityUnits":25`) {
		t.Errorf("the projector's capacity line: got %q", ops.String())
	}
}

func TestPrometheus(t *testing.T) {
	t.Parallel()
	p := metrics.NewPrometheus()
	for range 3 {
		p.Answer("grab", "POST /x", "sold-out", time.Millisecond, metrics.Calls{Calls: 1, Attempts: 1})
	}
	grant := metrics.Calls{Calls: 1, Attempts: 2, Units: map[string]capacity.Units{"TransactWriteItems": {Write: 2.25}, "BatchGetItem": {Read: 0.5}}}
	p.Answer("grab", "POST /x", "ok", time.Millisecond, grant)
	p.Answer("grab", "POST /x", "ok", time.Millisecond, grant)
	p.Projected("projector", 10, 2, time.Second, metrics.Calls{Units: map[string]capacity.Units{"BatchWriteItem": {Write: 10}}})
	p.StreamRecordAge(time.Second)
	p.StreamReads(3)
	if got := testutil.ToFloat64(p.Answers("grab", "POST /x", "sold-out")); got != 3 {
		t.Errorf("sold-out answers: got %v, want 3", got)
	}
	want := `
# HELP seckill_dynamodb_capacity_units_total DynamoDB capacity units consumed, by function and operation: as DynamoDB reports them (ReturnConsumedCapacity) in a deployment, by its published rules in the local stack, whose DynamoDB Local reports wrong figures.
# TYPE seckill_dynamodb_capacity_units_total counter
seckill_dynamodb_capacity_units_total{function="grab",operation="BatchGetItem"} 1
seckill_dynamodb_capacity_units_total{function="grab",operation="TransactWriteItems"} 4.5
seckill_dynamodb_capacity_units_total{function="projector",operation="BatchWriteItem"} 10
# HELP seckill_answer_capacity_units_total The same units by the answer (or projected batch) they were spent for: divided by seckill_answers_total, the read or write units an answer of each code costs.
# TYPE seckill_answer_capacity_units_total counter
seckill_answer_capacity_units_total{code="batch",function="projector",kind="read",route="stream"} 0
seckill_answer_capacity_units_total{code="batch",function="projector",kind="write",route="stream"} 10
seckill_answer_capacity_units_total{code="ok",function="grab",kind="read",route="POST /x"} 1
seckill_answer_capacity_units_total{code="ok",function="grab",kind="write",route="POST /x"} 4.5
# HELP seckill_stream_read_requests_total GetRecords calls of the stream runner: DynamoDB Streams read requests, billed outside a Lambda trigger.
# TYPE seckill_stream_read_requests_total counter
seckill_stream_read_requests_total 3
`
	if err := testutil.GatherAndCompare(p.Registry(), strings.NewReader(want),
		"seckill_dynamodb_capacity_units_total", "seckill_answer_capacity_units_total", "seckill_stream_read_requests_total"); err != nil {
		t.Error(err)
	}
	if n, err := testutil.GatherAndCount(p.Registry()); err != nil || n < 8 {
		t.Errorf("got %d series (%v), want the whole vocabulary", n, err)
	}
}

// TestShare: a group commit's units are split among its members, none
// lost and none counted twice, and a context that counts nothing takes
// nothing.
func TestShare(t *testing.T) {
	t.Parallel()
	batch, used := metrics.WithCalls(t.Context())
	metrics.AddUnits(batch, "TransactWriteItems", capacity.Units{Write: 6})
	metrics.AddUnits(batch, "TransactWriteItems", capacity.Units{Write: 3})
	metrics.AddUnits(batch, "GetItem", capacity.Units{Read: 1.5})
	a, ofA := metrics.WithCalls(t.Context())
	b, ofB := metrics.WithCalls(t.Context())
	metrics.AddUnits(b, "Query", capacity.Units{Read: 0.5})
	metrics.Share(used(), []context.Context{a, b, t.Context()})
	if got, want := ofA().Units, map[string]capacity.Units{"TransactWriteItems": {Write: 3}, "GetItem": {Read: 0.5}}; !maps.Equal(got, want) {
		t.Errorf("a: got %v, want %v", got, want)
	}
	if got, want := ofB().Total(), (capacity.Units{Read: 1, Write: 3}); got != want {
		t.Errorf("b: got %v, want %v", got, want)
	}
	metrics.Share(used(), nil) // no members: nothing to share, no panic
}
