package main

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/seckill/seckill/shared/contract/contracttest"
)

// TestMain holds every exchange of the simulator with the stack against the
// OpenAPI document.
func TestMain(m *testing.M) {
	slog.SetDefault(slog.New(slog.NewTextHandler(io.Discard, nil)))
	next := transport
	transport = func(conns int) http.RoundTripper { return contracttest.Wrap(next(conns)) }
	os.Exit(contracttest.Runner{M: m}.Run())
}

// TestSmallSale runs the simulator end to end on the in-process local
// stack: a small sale, the raw limit, the report, the JSON and the chart.
func TestSmallSale(t *testing.T) {
	dir := t.TempDir()
	o := options{Token: "dev-admin-token", Coupons: 30, Customers: 80, Concurrency: 8, Requests: 200, Raw: 30, Out: dir}
	rep, err := run(context.Background(), o)
	if err != nil {
		if os.Getenv("CI") != "true" && strings.Contains(err.Error(), "DynamoDB Local") {
			t.Skip(err)
		}
		t.Fatal(err)
	}
	var out strings.Builder
	rep.Print(&out)
	if !rep.OK() {
		t.Fatalf("invariants failed:\n%s", out.String())
	}
	if rep.Outcomes["granted"] != 30 || rep.Raw == nil || rep.RatioToRaw <= 0 || len(rep.Series) == 0 {
		t.Fatalf("report:\n%s", out.String())
	}
	if err := rep.Save(dir); err != nil {
		t.Fatal(err)
	}
	var back Report
	raw, err := os.ReadFile(filepath.Join(dir, "report.json"))
	if err != nil || json.Unmarshal(raw, &back) != nil || back.Coupons != 30 || len(back.Invariants) != 5 {
		t.Fatalf("report.json: %v %s", err, raw)
	}
	if png, err := os.ReadFile(filepath.Join(dir, "bench.png")); err != nil || len(png) < 1000 || string(png[1:4]) != "PNG" {
		t.Fatalf("bench.png: %v", err)
	}
}

func TestPlan(t *testing.T) {
	for _, tc := range []struct{ u, r, distinct int }{{10, 30, 10}, {50, 20, 20}, {1, 5, 1}} {
		seen := map[string]bool{}
		p := plan(tc.u, tc.r, nil)
		for _, c := range p {
			seen[c] = true
		}
		if len(p) != tc.r || len(seen) != tc.distinct {
			t.Errorf("plan(%d, %d): %d requests from %d customers, want %d from %d", tc.u, tc.r, len(p), len(seen), tc.r, tc.distinct)
		}
	}
}
