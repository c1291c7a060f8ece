package main

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/seckill/seckill/shared/capacity"
	"github.com/seckill/seckill/shared/contract/contracttest"
	"github.com/seckill/seckill/shared/store"
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
			// Beside DynamoDB Local's own figures: grants are transactions,
			// whose figure Local gets wrong, and the reason is said.
			var grants *OpCompare
			for i, op := range c.Compare {
				if op.Function == "grab" && op.Operation == "TransactWriteItems" {
					grants = &c.Compare[i]
				}
			}
			if grants == nil || grants.Calls == 0 || grants.Reported.Write <= 0 || grants.Rules.Write <= grants.Reported.Write || !strings.Contains(grants.Why, "does not follow its items") {
				t.Errorf("grab's transactions against DynamoDB Local's figure: %+v", grants)
			}
			if c.StreamReads <= 0 || c.StreamReadsCost <= 0 {
				t.Errorf("stream reads: %d, $%v; the runner read the stream", c.StreamReads, c.StreamReadsCost)
			}
			hot := 0.0
			for _, p := range rep.Series {
				hot = max(hot, p.HotBucketWCU, p.HotShardWCU)
			}
			if hot <= 0 || hot > max(c.Hottest["S"].PeakWrite, c.Hottest["C"].PeakWrite) {
				t.Errorf("the chart's hottest keys peak at %v WCU/s; the meter's peaks are %+v", hot, c.Hottest)
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

// TestWhy: the count and DynamoDB Local's figure agree within half a
// percent, and where they part the reason is said, or its absence.
func TestWhy(t *testing.T) {
	t.Parallel()
	op := func(name string, rules, reported capacity.Units) OpCompare {
		return OpCompare{Op: store.Op{Operation: name}, Compared: store.Compared{Calls: 1, Rules: rules, Reported: reported}}
	}
	indexed := op("TransactWriteItems", capacity.Units{Write: 5}, capacity.Units{Write: 6})
	indexed.Indexed = true
	empty := op("Query", capacity.Units{Read: 3}, capacity.Units{Read: 2})
	empty.Empty = 2
	for _, tc := range []struct {
		name string
		c    OpCompare
		want string
	}{
		{"equal", op("Query", capacity.Units{Read: 10}, capacity.Units{Read: 10}), "agree"},
		{"within half a percent", op("Query", capacity.Units{Read: 1000}, capacity.Units{Read: 996}), "agree"},
		{"beyond it", op("Query", capacity.Units{Read: 1000}, capacity.Units{Read: 994}), "not explained"},
		{"transactions", op("TransactWriteItems", capacity.Units{Write: 8}, capacity.Units{Write: 2}), "does not follow its items"},
		{"indexed", indexed, "to the index at 2 units"},
		{"empty queries", empty, "2 read nothing"},
	} {
		if got := why(tc.c); !strings.Contains(got, tc.want) {
			t.Errorf("%s: got %q, want %q in it", tc.name, got, tc.want)
		}
	}
}

// TestAddHeat: each second stands on every slice it overlaps, a slice
// keeps its busiest second, and seconds outside the run are left out.
func TestAddHeat(t *testing.T) {
	t.Parallel()
	start := time.Date(2026, 12, 5, 0, 0, 0, 0, time.UTC)
	points := []Point{{At: 2}, {At: 4}, {At: 6}}
	at := func(s float64) time.Time { return start.Add(time.Duration(s * float64(time.Second))) }
	addHeat(points, start, map[string][]store.Second{
		"S": {{At: at(0), Write: 5}, {At: at(1), Write: 7}, {At: at(4.6), Write: 3}, {At: at(6), Write: 99}, {At: at(-1), Write: 99}},
		"C": {{At: at(2), Write: 11}, {At: at(3.5), Write: 4}},
		"P": {{At: at(0), Write: 50}},
	})
	want := []Point{{At: 2, HotShardWCU: 7}, {At: 4, HotBucketWCU: 11}, {At: 6, HotShardWCU: 3, HotBucketWCU: 4}}
	if !slices.Equal(points, want) {
		t.Errorf("got %+v, want %+v", points, want)
	}
	// Slices narrower than a second: a run of half a second, started
	// mid-second, gets the second it lies in on every slice.
	narrow := []Point{{At: 0.25}, {At: 0.5}}
	addHeat(narrow, at(0.4), map[string][]store.Second{"S": {{At: at(0), Write: 8}}})
	if narrow[0].HotShardWCU != 8 || narrow[1].HotShardWCU != 8 {
		t.Errorf("narrow slices: got %+v, want 8 on both", narrow)
	}
}
