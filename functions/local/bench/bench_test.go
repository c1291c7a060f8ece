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

// TestScenarios runs the simulator end to end on the in-process local
// stack, each scenario shrunk: the sale, the raw limits, the report, the
// JSON and the chart.
func TestScenarios(t *testing.T) {
	for _, tc := range []struct {
		o              options
		grants, phases int
	}{
		{options{Scenario: "sale", Coupons: 30, Customers: 80, Requests: 200, Scale: 1}, 30, 1},
		{options{Scenario: "seed", Scale: 0.05}, 8 * 50, 1}, // 8 promotions of 50, 10 customers: 80 grants
		{options{Scenario: "stampede", Scale: 0.02}, 100, 3},
	} {
		t.Run(tc.o.Scenario, func(t *testing.T) {
			dir := t.TempDir()
			o := tc.o
			o.Token, o.Concurrency, o.Raw, o.WarmUp, o.Out = "dev-admin-token", 16, 64, 100, dir
			if o.Scenario == "seed" {
				tc.grants = 8 * 10 // every customer gets one of each promotion
			}
			rep, err := run(context.Background(), o)
			if err != nil {
				t.Fatal(err)
			}
			var out strings.Builder
			rep.Print(&out)
			if !rep.OK() {
				t.Fatalf("invariants failed:\n%s", out.String())
			}
			granted := 0
			for _, p := range rep.Phases {
				granted += p.Outcomes["granted"]
				if p.CallsPerAnswer < 0 {
					t.Errorf("phase %s: no calls counted", p.Name)
				}
			}
			if granted != tc.grants || len(rep.Phases) != tc.phases || len(rep.Raw) == 0 || rep.Batches == nil || len(rep.Series) < 20 {
				t.Fatalf("granted %d, want %d; %d phases; report:\n%s", granted, tc.grants, len(rep.Phases), out.String())
			}
			// What the sale would cost DynamoDB: every grant at least its
			// coupon put in a transaction (2 units) plus its share of a
			// shard decrement; a stampede's answers once the holders are
			// loaded read nothing; and a hottest key that sets a limit.
			c := rep.Capacity
			if c == nil || c.WriteUnitsPerGrant < 2 || c.WriteUnitsPerGrant > 4.5 || c.ThrottleGrantsPerSecond <= 0 || len(c.Cost) != 2 || c.Cost[0].PerMillion <= c.Cost[1].PerMillion {
				t.Fatalf("capacity: %+v\n%s", c, out.String())
			}
			if o.Scenario == "stampede" {
				if after := rep.Phases[2]; after.GrabUnits == nil || after.ReadUnitsPerAnswer != 0 || after.WriteUnitsPerAnswer != 0 {
					t.Errorf("phase after: %+v units, want none: its answers come from memory", after.GrabUnits)
				}
			}
			if last := rep.Series[len(rep.Series)-1]; last.CouponsLeft != rep.Coupons-granted {
				t.Errorf("chart ends with %d coupons left, want %d", last.CouponsLeft, rep.Coupons-granted)
			}
			if err := rep.Save(dir); err != nil {
				t.Fatal(err)
			}
			var back Report
			raw, err := os.ReadFile(filepath.Join(dir, "report.json"))
			if err != nil || json.Unmarshal(raw, &back) != nil || back.Coupons != rep.Coupons || len(back.Invariants) != 5 {
				t.Fatalf("report.json: %v %s", err, raw)
			}
			if png, err := os.ReadFile(filepath.Join(dir, "bench.png")); err != nil || len(png) < 1000 || string(png[1:4]) != "PNG" {
				t.Fatalf("bench.png: %v", err)
			}
			t.Log("\n" + out.String())
		})
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
