package main

import (
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"math"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"
	"github.com/seckill/seckill/shared/capacity"
	"github.com/seckill/seckill/shared/store"
)

// Report is what a run measured; it is printed and saved as report.json.
type Report struct {
	Options     options   `json:"-"`
	Scenario    string    `json:"scenario"`
	Started     time.Time `json:"started"`
	URL         string    `json:"url"`
	Promotions  int       `json:"promotions"`
	Coupons     int       `json:"coupons"` // of all promotions
	Customers   int       `json:"customers"`
	Concurrency int       `json:"concurrency"`
	Requests    int       `json:"requests"`
	// Tokens is how many customers logged in (0: the server runs in open
	// mode), in LoginSeconds before the sale.
	Tokens       int     `json:"tokens"`
	LoginSeconds float64 `json:"loginSeconds"`

	Phases     []PhaseReport `json:"phases"`
	Unexpected []string      `json:"unexpected,omitempty"`

	Lag        Percentiles `json:"readModelLagMs"`
	LagSamples int         `json:"readModelLagSamples"`
	Unseen     int         `json:"readModelUnseen"`
	// Written is every grant's lag, grant to the projector's write, where
	// the run can see inside the projector (in-process only).
	Written *Percentiles `json:"readModelWriteLagMs,omitempty"`
	// ConvergedSeconds is how long after the sale's last answer every
	// holder's coupon was visible.
	ConvergedSeconds float64 `json:"readModelConvergedSeconds"`

	Batches  *BatchFigures   `json:"batches,omitempty"`
	Capacity *CapacityReport `json:"capacity,omitempty"`
	Raw      []RawResult     `json:"raw,omitempty"`
	// RatioToRaw is the grant rate of the phase that sold the most, over
	// the raw rate of the same pattern: as many grants per transaction as
	// the function's batches held on average, as many at once as it sends.
	RatioToRaw float64 `json:"grantsToRawRatio,omitempty"`

	Invariants []Invariant `json:"invariants"`
	Series     []Point     `json:"series"`
}

// PhaseReport is one phase of the scenario.
type PhaseReport struct {
	Name              string  `json:"name"`
	Requests          int     `json:"requests"`
	Seconds           float64 `json:"seconds"`
	RequestsPerSecond float64 `json:"requestsPerSecond"`
	// GrantsPerSecond is over the time from the phase's start to its last
	// grant.
	GrantsPerSecond float64                `json:"grantsPerSecond,omitempty"`
	Outcomes        map[string]int         `json:"outcomes"`
	Latency         map[string]Percentiles `json:"latencyMs"`
	// Calls are the grab function's DynamoDB calls during the phase,
	// counted by a wrapper around its client (in-process) or from its
	// /metrics (-url); -1 when unknown.
	Calls          int64   `json:"dynamodbCalls"`
	CallsPerAnswer float64 `json:"dynamodbCallsPerAnswer"`
	// MeanMs is the mean answer time, which the cost takes for the
	// function's handler time.
	MeanMs float64 `json:"meanMs"`
	// GrabUnits are the grab function's DynamoDB request units during the
	// phase (in-process; DynamoDB's rules, store.Meter).
	GrabUnits           *capacity.Units `json:"grabUnits,omitempty"`
	ReadUnitsPerAnswer  float64         `json:"readUnitsPerAnswer,omitempty"`
	WriteUnitsPerAnswer float64         `json:"writeUnitsPerAnswer,omitempty"`
}

// BatchFigures describe the group commit: how many grants each
// transaction the grab function sent carried.
type BatchFigures struct {
	Transactions int64 `json:"transactions"`
	// GrantsSent counts every grant sent, so a grant whose batch DynamoDB
	// cancelled (a member already held a coupon) counts again when resent.
	GrantsSent int64       `json:"grantsSent"`
	Mean       float64     `json:"mean"`
	P50        int64       `json:"p50"`
	P90        int64       `json:"p90"`
	P99        int64       `json:"p99"`
	Max        int64       `json:"max"`
	Histogram  []SizeCount `json:"histogram"`
}

// SizeCount is one bar of the batch-size histogram: transactions of up to
// Size grants (and more than the previous bar's).
type SizeCount struct {
	Size  int   `json:"upTo"`
	Count int64 `json:"transactions"`
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

// lagPercentiles are the read-model lags' percentiles, in milliseconds.
func lagPercentiles(lags []lagSample) Percentiles {
	h := newHistogram()
	for _, s := range lags {
		_ = h.RecordValue(s.lag.Microseconds())
	}
	return percentiles(h, 1000)
}

// Point is one slice of the run, by completion time; a run is cut into
// chartPoints slices whatever its length.
type Point struct {
	At         float64 `json:"atSeconds"` // end of the slice, from the run's start
	Requests   float64 `json:"requestsPerSecond"`
	Grants     float64 `json:"grantsPerSecond"`
	Rejections float64 `json:"rejectionsPerSecond"`
	P99Ms      float64 `json:"p99Ms"`
	LagP99Ms   float64 `json:"readModelLagP99Ms,omitempty"`
	// The busiest inventory shard's and coupon bucket's write units in
	// the busiest second that overlaps the slice (in-process: store.Meter).
	HotShardWCU  float64 `json:"hottestShardWriteUnitsPerSecond,omitempty"`
	HotBucketWCU float64 `json:"hottestBucketWriteUnitsPerSecond,omitempty"`
	CouponsLeft  int     `json:"couponsLeft"`
	PhaseStarted string  `json:"phaseStarted,omitempty"`
}

const chartPoints = 40

func (r *Report) fill(sc scenario, rec *recorder, lags []lagSample, unseen int) {
	o := r.Options
	r.Scenario, r.URL, r.Concurrency = sc.Name, o.URL, o.Concurrency
	r.Promotions, r.Customers = len(sc.Promotions), sc.Customers
	r.Coupons = 0
	for _, c := range sc.Promotions {
		r.Coupons += c
	}
	r.Unexpected = rec.samples
	for _, p := range rec.phases {
		n := 0
		for _, c := range p.counts {
			n += c
		}
		ph := PhaseReport{Name: p.name, Requests: n, Seconds: p.end.Sub(p.start).Seconds(), Outcomes: p.counts,
			Latency: map[string]Percentiles{}, Calls: p.calls, CallsPerAnswer: -1}
		r.Requests += n
		ph.RequestsPerSecond = float64(n) / ph.Seconds
		if g := p.counts["granted"]; g > 0 {
			ph.GrantsPerSecond = float64(g) / p.lastGrant.Sub(p.start).Seconds()
		}
		if p.calls >= 0 && n > 0 {
			ph.CallsPerAnswer = float64(p.calls) / float64(n)
		}
		all := newHistogram()
		for out, h := range p.latency {
			ph.Latency[out] = percentiles(h, 1000)
			all.Merge(h)
		}
		ph.Latency["all"] = percentiles(all, 1000)
		ph.MeanMs = all.Mean() / 1000
		if p.units != nil && n > 0 {
			ph.GrabUnits = p.units
			ph.ReadUnitsPerAnswer = p.units.Read / float64(n)
			ph.WriteUnitsPerAnswer = p.units.Write / float64(n)
		}
		r.Phases = append(r.Phases, ph)
	}
	r.Lag, r.LagSamples, r.Unseen = lagPercentiles(lags), len(lags), unseen
	r.Series = series(rec, lags, r.Coupons)
}

// series cuts the run into chartPoints slices of equal length.
func series(rec *recorder, lags []lagSample, coupons int) []Point {
	if len(rec.events) == 0 {
		return nil
	}
	last := time.Duration(0)
	for _, e := range rec.events {
		last = max(last, e.end)
	}
	width := max(time.Millisecond, (last+chartPoints-1)/chartPoints)
	n := int(last/width) + 1
	type slice struct {
		requests, grants, rejections int
		latency, lag                 *hdrhistogram.Histogram
	}
	cuts := make([]slice, n)
	for i := range cuts {
		cuts[i].latency, cuts[i].lag = newHistogram(), newHistogram()
	}
	for _, e := range rec.events {
		s := &cuts[int(e.end/width)]
		s.requests++
		_ = s.latency.RecordValue(e.latency.Microseconds())
		switch e.outcome {
		case "granted":
			s.grants++
		case "sold-out", "already-grabbed":
			s.rejections++
		}
	}
	for _, l := range lags {
		if i := int(l.granted.Sub(rec.start) / width); i >= 0 && i < n {
			_ = cuts[i].lag.RecordValue(l.lag.Microseconds())
		}
	}
	per := width.Seconds()
	out := make([]Point, n)
	left := coupons
	for i, s := range cuts {
		left -= s.grants
		out[i] = Point{At: float64(i+1) * per, Requests: float64(s.requests) / per, Grants: float64(s.grants) / per,
			Rejections: float64(s.rejections) / per, P99Ms: float64(s.latency.ValueAtQuantile(99)) / 1000,
			LagP99Ms: float64(s.lag.ValueAtQuantile(99)) / 1000, CouponsLeft: left}
	}
	for _, p := range rec.phases {
		if i := int(p.start.Sub(rec.start) / width); i >= 0 && i < n && out[i].PhaseStarted == "" {
			out[i].PhaseStarted = p.name
		}
	}
	return out
}

// addHeat puts, on each slice of the series, the write units of the
// hottest inventory shard and coupon bucket in the busiest second that
// overlaps it; the series started at start. A second wider than a slice
// stands on every slice it overlaps.
func addHeat(points []Point, start time.Time, busiest map[string][]store.Second) {
	if len(points) == 0 {
		return
	}
	width := points[0].At // every slice is as wide as the first ends
	for kind, f := range map[string]func(*Point) *float64{
		"S": func(p *Point) *float64 { return &p.HotShardWCU },
		"C": func(p *Point) *float64 { return &p.HotBucketWCU },
	} {
		for _, s := range busiest[kind] {
			from := s.At.Sub(start).Seconds()
			first := max(0, int(math.Floor(from/width)))
			last := min(len(points)-1, int(math.Ceil((from+1)/width))-1)
			for i := first; i <= last; i++ {
				v := f(&points[i])
				*v = max(*v, s.Write)
			}
		}
	}
}

// Print writes the report for a person.
func (r *Report) Print(w io.Writer) {
	fmt.Fprintf(w, "SecKill %s: %d promotions, %d coupons, %d customers, %d requests, %d in flight, against %s\n",
		r.Scenario, r.Promotions, r.Coupons, r.Customers, r.Requests, r.Concurrency, r.URL)
	if r.Tokens > 0 {
		fmt.Fprintf(w, "customers: %d logged in (tokens of the development issuer) in %.2f s, before the sale\n", r.Tokens, r.LoginSeconds)
	} else {
		fmt.Fprintln(w, "customers: open mode, no tokens (the body names the customer)")
	}
	for _, p := range r.Phases {
		fmt.Fprintf(w, "\nphase %-8s %7d requests in %6.2f s: %8.0f req/s", p.Name, p.Requests, p.Seconds, p.RequestsPerSecond)
		if p.GrantsPerSecond > 0 {
			fmt.Fprintf(w, ", %6.0f grants/s", p.GrantsPerSecond)
		}
		if p.CallsPerAnswer >= 0 {
			fmt.Fprintf(w, ", %.3f DynamoDB calls per answer", p.CallsPerAnswer)
		}
		if p.GrabUnits != nil {
			fmt.Fprintf(w, ", %.3f RCU and %.3f WCU per answer", p.ReadUnitsPerAnswer, p.WriteUnitsPerAnswer)
		}
		fmt.Fprintf(w, "\n  %-16s %7s %9s %9s %9s %9s\n", "outcome", "count", "p50 ms", "p90 ms", "p99 ms", "max ms")
		for _, out := range slices.Sorted(maps.Keys(p.Latency)) {
			l := p.Latency[out]
			fmt.Fprintf(w, "  %-16s %7d %9.1f %9.1f %9.1f %9.1f\n", out, l.Count, l.P50, l.P90, l.P99, l.Max)
		}
	}
	fmt.Fprintf(w, "\nread-model lag  %7d %9.1f %9.1f %9.1f %9.1f ms (grant to visible in the customer's list)\n",
		r.Lag.Count, r.Lag.P50, r.Lag.P90, r.Lag.P99, r.Lag.Max)
	if l := r.Written; l != nil {
		fmt.Fprintf(w, "read-model lag  %7d %9.1f %9.1f %9.1f %9.1f ms (every grant, grant to the projector's write)\n",
			l.Count, l.P50, l.P90, l.P99, l.Max)
	}
	fmt.Fprintf(w, "read model complete %.2f s after the sale's last answer\n", r.ConvergedSeconds)
	if r.Unseen > 0 {
		fmt.Fprintf(w, "%d granted coupons never became visible\n", r.Unseen)
	}
	if b := r.Batches; b != nil {
		fmt.Fprintf(w, "\ngroup commit: %d grants sent in %d transactions, mean %.1f, p50 %d, p90 %d, p99 %d, max %d grants per transaction\n",
			b.GrantsSent, b.Transactions, b.Mean, b.P50, b.P90, b.P99, b.Max)
		for _, h := range b.Histogram {
			if h.Count > 0 {
				fmt.Fprintf(w, "  up to %3d grants %7d transactions\n", h.Size, h.Count)
			}
		}
	}
	for _, raw := range r.Raw {
		fmt.Fprintf(w, "raw store limit, %2d grants on %2d shards per transaction, %d at once: %7.0f grants/s (%.0f transactions/s)\n",
			raw.GrantsPerTransaction, raw.ShardsPerTransaction, raw.Workers, raw.GrantsPerSecond, raw.TransactionsPerSec)
	}
	if r.RatioToRaw > 0 {
		fmt.Fprintf(w, "grants through the function / raw of the same pattern: %.2f\n", r.RatioToRaw)
	}
	if r.Capacity != nil {
		r.Capacity.print(w)
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
		fmt.Fprintf(w, "%s %-42s %s\n", mark, i.Name, i.Detail)
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
