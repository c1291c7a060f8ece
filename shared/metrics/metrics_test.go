package metrics_test

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"slices"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

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
	var e metrics.EMF
	line := emfLine(t, append([]any{"status", 409}, e.Answer("grab", "POST /promotions/{promotionId}/coupons", "sold-out", 2500*time.Microsecond, metrics.Calls{Calls: 2, Attempts: 3})...))
	checkEMF(t, line, "Answers", "Latency", "DynamoDBCalls", "DynamoDBRetries")
	if line["Code"] != "sold-out" || line["Function"] != "grab" || line["Latency"] != 2.5 || line["DynamoDBRetries"] != 1.0 {
		t.Errorf("values: %v", line)
	}
	checkEMF(t, emfLine(t, e.Projected("projector", 25, 1, 300*time.Millisecond)), "ProjectedRecords", "ProjectorFailures", "ProjectionLag")
}

func TestPrometheus(t *testing.T) {
	t.Parallel()
	p := metrics.NewPrometheus()
	for range 3 {
		p.Answer("grab", "POST /x", "sold-out", time.Millisecond, metrics.Calls{Calls: 1, Attempts: 1})
	}
	p.Answer("grab", "POST /x", "ok", time.Millisecond, metrics.Calls{Calls: 1, Attempts: 2})
	p.Projected("projector", 10, 2, time.Second)
	p.StreamRecordAge(time.Second)
	if got := testutil.ToFloat64(p.Answers("grab", "POST /x", "sold-out")); got != 3 {
		t.Errorf("sold-out answers: got %v, want 3", got)
	}
	if n, err := testutil.GatherAndCount(p.Registry()); err != nil || n < 8 {
		t.Errorf("got %d series (%v), want the whole vocabulary", n, err)
	}
}
