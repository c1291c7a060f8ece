package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"sync"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"
)

// Report is what a run measured; it is printed and saved as report.json.
type Report struct {
	Options     options   `json:"-"`
	Started     time.Time `json:"started"`
	URL         string    `json:"url"`
	Coupons     int       `json:"coupons"`
	Customers   int       `json:"customers"`
	Concurrency int       `json:"concurrency"`
	Requests    int       `json:"requests"`
	PromotionID string    `json:"promotionId"`

	SaleSeconds float64 `json:"saleSeconds"`
	// RequestsPerSecond is over the whole sale; GrantsPerSecond over the
	// time to sell out; RejectionsPerSecond (sold-out and already-grabbed)
	// from the first rejection to the end.
	RequestsPerSecond   float64                `json:"requestsPerSecond"`
	GrantsPerSecond     float64                `json:"grantsPerSecond"`
	RejectionsPerSecond float64                `json:"rejectionsPerSecond"`
	Outcomes            map[string]int         `json:"outcomes"`
	Latency             map[string]Percentiles `json:"latencyMs"`
	Unexpected          []string               `json:"unexpected,omitempty"`

	Lag        Percentiles `json:"readModelLagMs"`
	LagSamples int         `json:"readModelLagSamples"`
	Unseen     int         `json:"readModelUnseen"`
	// ConvergedSeconds is how long after the sale's last answer every
	// holder's coupon was visible.
	ConvergedSeconds float64 `json:"readModelConvergedSeconds"`

	Raw        *RawResult `json:"raw,omitempty"`
	RatioToRaw float64    `json:"grantsToRawRatio,omitempty"`

	Invariants []Invariant    `json:"invariants"`
	Series     []SecondFigure `json:"series"`
}

// Percentiles of a latency distribution, in milliseconds.
type Percentiles struct {
	Count int64   `json:"count"`
	P50   float64 `json:"p50"`
	P90   float64 `json:"p90"`
	P99   float64 `json:"p99"`
	Max   float64 `json:"max"`
}

func percentiles(h *hdrhistogram.Histogram, unit float64) Percentiles {
	if h == nil || h.TotalCount() == 0 {
		return Percentiles{}
	}
	return Percentiles{Count: h.TotalCount(), P50: float64(h.ValueAtQuantile(50)) / unit, P90: float64(h.ValueAtQuantile(90)) / unit,
		P99: float64(h.ValueAtQuantile(99)) / unit, Max: float64(h.Max()) / unit}
}

// SecondFigure is one second of the sale, by completion time.
type SecondFigure struct {
	Second     int     `json:"second"`
	Requests   int     `json:"requests"`
	Grants     int     `json:"grants"`
	Rejections int     `json:"rejections"`
	P99Ms      float64 `json:"p99Ms"`
	LagP99Ms   float64 `json:"readModelLagP99Ms,omitempty"`
}

// Invariant is one check of DESIGN.md's invariants after the sale.
type Invariant struct {
	Name   string `json:"name"`
	OK     bool   `json:"ok"`
	Detail string `json:"detail"`
}

// OK says whether every invariant held.
func (r *Report) OK() bool {
	for _, i := range r.Invariants {
		if !i.OK {
			return false
		}
	}
	return len(r.Invariants) > 0
}

func (r *Report) fill(rec *recorder, lags []lagSample, unseen int) {
	o := r.Options
	r.URL, r.Coupons, r.Customers, r.Concurrency, r.Requests = o.URL, o.Coupons, o.Customers, o.Concurrency, o.Requests
	end := rec.start.Add(time.Duration(r.SaleSeconds * float64(time.Second)))
	r.Outcomes = rec.counts
	r.Latency = map[string]Percentiles{}
	all := newHistogram()
	for out, h := range rec.latency {
		r.Latency[out] = percentiles(h, 1000)
		all.Merge(h)
	}
	r.Latency["all"] = percentiles(all, 1000)
	r.Unexpected = rec.samples
	r.RequestsPerSecond = float64(o.Requests) / r.SaleSeconds
	if g := rec.counts["granted"]; g > 0 {
		r.GrantsPerSecond = float64(g) / rec.lastGrant.Sub(rec.start).Seconds()
	}
	if n := rec.counts["sold-out"] + rec.counts["already-grabbed"]; n > 0 && end.After(rec.firstNo) {
		r.RejectionsPerSecond = float64(n) / end.Sub(rec.firstNo).Seconds()
	}
	lag := newHistogram()
	for _, s := range lags {
		ms := s.lag.Microseconds()
		_ = lag.RecordValue(ms)
		_ = rec.at(s.granted).lag.RecordValue(ms)
	}
	r.Lag, r.LagSamples, r.Unseen = percentiles(lag, 1000), len(lags), unseen
	if r.Raw != nil && r.Raw.PerSecond > 0 {
		r.RatioToRaw = r.GrantsPerSecond / r.Raw.PerSecond
	}
	for i, s := range rec.seconds {
		r.Series = append(r.Series, SecondFigure{Second: i, Requests: s.requests, Grants: s.grants, Rejections: s.rejections,
			P99Ms: float64(s.latency.ValueAtQuantile(99)) / 1000, LagP99Ms: float64(s.lag.ValueAtQuantile(99)) / 1000})
	}
}

// check holds the outcome against the invariants, from the answers, the
// admin view of the stock and the read model.
func (r *Report) check(ctx context.Context, c *client, rec *recorder, o options) error {
	add := func(name string, ok bool, format string, args ...any) {
		r.Invariants = append(r.Invariants, Invariant{name, ok, fmt.Sprintf(format, args...)})
	}
	// Grants first, then what already-grabbed answers said: both must name
	// one coupon per customer.
	winners := map[string]string{} // customer => coupon
	twice, wrong := 0, 0
	for _, pass := range []struct {
		outcome string
		count   *int
	}{{"granted", &twice}, {"already-grabbed", &wrong}} {
		for customer, answers := range rec.answers {
			for _, a := range answers {
				if a.Outcome() != pass.outcome {
					continue
				}
				if prev, ok := winners[customer]; ok && prev != a.Coupon.ID {
					*pass.count++
				}
				winners[customer] = a.Coupon.ID
			}
		}
	}
	for customer, answers := range rec.answers {
		for _, a := range answers {
			if a.Outcome() == "sold-out" && winners[customer] != "" {
				wrong++ // a holder must hear already-grabbed, with the coupon
			}
		}
	}
	asked := len(rec.answers)
	want := min(o.Coupons, asked)
	add("granted == min(C, customers who asked)", len(winners) == want, "%d customers hold a coupon, want min(%d, %d) = %d", len(winners), o.Coupons, asked, want)
	add("no customer twice", twice == 0 && wrong == 0, "%d customers granted twice, %d answers contradicting a held coupon", twice, wrong)
	add("every answer is in the contract", rec.counts["other"] == 0, "%d answers outside the contract", rec.counts["other"])

	p, err := c.promotion(ctx, r.PromotionID)
	if err != nil {
		return err
	}
	add("left + granted == total", p.CouponsLeft+p.CouponsGranted == p.TotalCoupons && p.CouponsGranted == len(winners),
		"left %d + granted %d = %d of %d; %d holders", p.CouponsLeft, p.CouponsGranted, p.CouponsLeft+p.CouponsGranted, p.TotalCoupons, len(winners))

	r.ConvergedSeconds = converge(ctx, c, r.PromotionID, winners, o.Concurrency, time.Minute).Seconds()

	// The read model: every holder's coupon exactly once, nobody else's.
	var mu sync.Mutex
	mismatched, failed := 0, 0
	customers := make([]string, 0, asked)
	for customer := range rec.answers {
		customers = append(customers, customer)
	}
	sort.Strings(customers)
	forEach(o.Concurrency, len(customers), func(i int) {
		got, err := c.coupons(ctx, customers[i], r.PromotionID)
		mu.Lock()
		defer mu.Unlock()
		switch want := winners[customers[i]]; {
		case err != nil:
			failed++
		case want == "" && len(got) != 0, want != "" && (len(got) != 1 || got[0].ID != want):
			mismatched++
		}
	})
	add("read model == grants", mismatched == 0 && failed == 0,
		"%d of %d customers' lists differ from their grants, %d unreadable", mismatched, len(customers), failed)
	return nil
}

// Print writes the report for a person.
func (r *Report) Print(w io.Writer) {
	fmt.Fprintf(w, "SecKill flash sale: %d coupons, %d customers, %d requests, %d in flight, against %s\n\n",
		r.Coupons, r.Customers, r.Requests, r.Concurrency, r.URL)
	fmt.Fprintf(w, "sale            %.2f s\n", r.SaleSeconds)
	fmt.Fprintf(w, "requests        %8.0f /s   (whole sale)\n", r.RequestsPerSecond)
	fmt.Fprintf(w, "grants          %8.0f /s   (until sold out)\n", r.GrantsPerSecond)
	fmt.Fprintf(w, "rejections      %8.0f /s   (sold-out and already-grabbed)\n", r.RejectionsPerSecond)
	if r.Raw != nil {
		fmt.Fprintf(w, "raw store limit %8.0f /s   (%d grant transactions straight to DynamoDB)\n", r.Raw.PerSecond, r.Raw.Transactions)
		fmt.Fprintf(w, "grants / raw    %8.2f\n", r.RatioToRaw)
	}
	fmt.Fprintf(w, "\n%-16s %7s %9s %9s %9s %9s\n", "outcome", "count", "p50 ms", "p90 ms", "p99 ms", "max ms")
	outs := make([]string, 0, len(r.Latency))
	for out := range r.Latency {
		outs = append(outs, out)
	}
	slices.Sort(outs)
	for _, out := range outs {
		l := r.Latency[out]
		fmt.Fprintf(w, "%-16s %7d %9.1f %9.1f %9.1f %9.1f\n", out, l.Count, l.P50, l.P90, l.P99, l.Max)
	}
	fmt.Fprintf(w, "%-16s %7d %9.1f %9.1f %9.1f %9.1f   (grant to visible in the customer's list)\n",
		"read-model lag", r.Lag.Count, r.Lag.P50, r.Lag.P90, r.Lag.P99, r.Lag.Max)
	fmt.Fprintf(w, "read model complete %.2f s after the sale's last answer\n", r.ConvergedSeconds)
	if r.Unseen > 0 {
		fmt.Fprintf(w, "%d granted coupons never became visible\n", r.Unseen)
	}
	for _, u := range r.Unexpected {
		fmt.Fprintln(w, "unexpected:", u)
	}
	fmt.Fprintln(w)
	for _, i := range r.Invariants {
		mark := "ok  "
		if !i.OK {
			mark = "FAIL"
		}
		fmt.Fprintf(w, "%s %-40s %s\n", mark, i.Name, i.Detail)
	}
}

// Save writes report.json and bench.png into dir.
func (r *Report) Save(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "report.json"), append(b, '\n'), 0o644); err != nil {
		return err
	}
	return r.Chart(filepath.Join(dir, "bench.png"))
}

// converge polls the read model until every holder's coupon is visible, or
// the timeout; it returns how long that took.
func converge(ctx context.Context, c *client, promo string, winners map[string]string, k int, timeout time.Duration) time.Duration {
	start := time.Now()
	pending := make([]string, 0, len(winners))
	for customer := range winners {
		pending = append(pending, customer)
	}
	for len(pending) > 0 && time.Since(start) < timeout {
		var mu sync.Mutex
		var still []string
		forEach(k, len(pending), func(i int) {
			got, err := c.coupons(ctx, pending[i], promo)
			if err != nil || len(got) == 0 || got[0].ID != winners[pending[i]] {
				mu.Lock()
				still = append(still, pending[i])
				mu.Unlock()
			}
		})
		pending = still
		if len(pending) > 0 {
			time.Sleep(pollEvery)
		}
	}
	return time.Since(start)
}
