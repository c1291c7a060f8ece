// Command bench simulates a flash sale against SecKill and reports how it
// held up: per phase throughput, latency per outcome and DynamoDB calls per
// answer, the group commit's batch sizes, the read model's lag, the
// invariants, and the physical limit of the store underneath for the same
// write patterns.
//
// Without -url it starts the whole local stack in-process on an in-memory
// DynamoDB Local, so that the raw write rates and the sale are measured in
// one run on one store. `make bench` runs it; SCENARIO=seed or stampede
// picks the sales of the figures in this folder's README.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime/pprof"
	"slices"
	"sync"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"

	"github.com/seckill/seckill/functions/local/stack"
	"github.com/seckill/seckill/shared/config"
	"github.com/seckill/seckill/shared/sale"
	"github.com/seckill/seckill/shared/store"
)

// options are the simulator's knobs.
type options struct {
	URL         string
	Token       string
	Scenario    string  // sale (the knobs below), seed or stampede
	Scale       float64 // shrinks seed and stampede; 1 is their size in this folder's README
	Coupons     int     // C
	Customers   int     // U
	Concurrency int     // K
	Requests    int     // R
	Raw         int     // raw transactions to time per pattern; 0 skips
	WarmUp      int     // coupons sold before the run, to warm the JIT
	Out         string
	Progress    io.Writer // nil: no progress bar
	// AllLags returns every grant's read-model lag where the run sees
	// inside the projector (in-process); nil: the chart draws the sample.
	AllLags func() []lagSample
	// Meter counts what the functions' calls would cost on DynamoDB
	// (in-process); nil: not known.
	Meter  *store.Meter
	Prices prices
}

func main() {
	var o options
	flag.StringVar(&o.URL, "url", "", "base URL of a running SecKill; empty starts the local stack in-process")
	flag.StringVar(&o.Token, "token", envOr("ADMIN_TOKEN", "dev-admin-token"), "admin token (default $ADMIN_TOKEN or the local stack's)")
	flag.StringVar(&o.Scenario, "scenario", "sale", "sale (one promotion, -coupons/-customers/-requests), seed (160 x 50 coupons, 200 customers) or stampede (5,000 coupons, 20,000 customers, three phases)")
	flag.Float64Var(&o.Scale, "scale", 1, "shrink seed and stampede by this factor")
	flag.IntVar(&o.Coupons, "coupons", 500, "C: coupons on sale (scenario sale)")
	flag.IntVar(&o.Customers, "customers", 2000, "U: customers in the stampede (scenario sale)")
	flag.IntVar(&o.Concurrency, "concurrency", 64, "K: requests in flight at once")
	flag.IntVar(&o.Requests, "requests", 6000, "R: grab requests in all, customers asking again as real ones do (scenario sale)")
	flag.IntVar(&o.Raw, "raw", 1024, "raw transactions to time straight against DynamoDB per write pattern (local stack only; 0 skips)")
	flag.IntVar(&o.WarmUp, "warmup", 3000, "coupons sold before the measured run, to warm DynamoDB Local's JIT")
	flag.StringVar(&o.Out, "out", "bench-out", "folder for report.json and bench.png")
	cpuProfile := flag.String("cpuprofile", "", "write a CPU profile of the whole run (client and in-process stack) to this file")
	o.Prices.flags()
	flag.Parse()
	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err == nil {
			err = pprof.StartCPUProfile(f)
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, "bench:", err)
			os.Exit(2)
		}
	}
	o.Progress = os.Stderr
	slog.SetDefault(slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})))

	code := report(o)
	if *cpuProfile != "" {
		pprof.StopCPUProfile()
	}
	os.Exit(code)
}

// report runs the bench and says how it went, as an exit code.
func report(o options) int {
	rep, err := run(context.Background(), o)
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		return 2
	}
	rep.Print(os.Stdout)
	if err := rep.Save(o.Out); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		return 2
	}
	fmt.Printf("\nreport: %s  chart: %s\n", filepath.Join(o.Out, "report.json"), filepath.Join(o.Out, "bench.png"))
	if !rep.OK() {
		return 1
	}
	return 0
}

func envOr(k, def string) string {
	if v := os.Getenv(k); v != "" {
		return v
	}
	return def
}

// run starts the local stack in-process (unless -url), sells, and then
// measures the raw limits of the write patterns the sale used.
func run(ctx context.Context, o options) (*Report, error) {
	if err := o.validate(); err != nil {
		return nil, err
	}
	if o.URL != "" {
		c := newClient(o.URL, o.Token, o.Concurrency)
		return simulate(ctx, o, func() (int64, bool) { return c.metricCalls(ctx) }, nil, nil)
	}
	var cfg config.Local
	if err := config.Load(&cfg); err != nil {
		return nil, err
	}
	cfg.DataDir, cfg.Port = "", 0 // in memory, on a free port
	cfg.AdminToken = o.Token
	counted := &store.CountingDB{}
	meter := store.NewMeter(time.Now)
	o.Meter = meter
	sizes := &batchSizes{h: hdrhistogram.New(1, 100, 3)}
	written := &writeLags{seen: map[string]bool{}}
	hooks := stack.Hooks{
		Meter:  meter,
		Client: []store.ClientOption{store.WithCapacity(store.Sampled)},
		WrapDB: func(function string, db store.DB) store.DB {
			if function != "grab" {
				return db
			}
			counted.DB = db
			return counted
		},
		OnBatch:     sizes.add,
		OnProjected: written.add,
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	ready := make(chan stack.Stack, 1)
	done := make(chan error, 1)
	go func() { done <- stack.RunWith(ctx, cfg, hooks, func(s stack.Stack) { ready <- s }) }()
	var s stack.Stack
	select {
	case s = <-ready:
	case err := <-done:
		return nil, fmt.Errorf("local stack: %w", err)
	}
	o.URL = s.URL
	// The stream runner's reads, from the stack's own /metrics.
	var readsBefore float64
	streamReads := func() float64 {
		n, _ := metricSum(ctx, s.URL, "seckill_stream_read_requests_total", "")
		return n
	}
	warm := func() { sizes.reset(); written.reset(); meter.Reset(); readsBefore = streamReads() }
	o.AllLags = written.all
	rep, err := simulate(ctx, o, func() (int64, bool) { return counted.Calls.Load(), true }, warm, func(rep *Report) error {
		rep.Batches = sizes.figures()
		rep.Written = written.figures()
		rep.capacityReport(meter, o.Prices, cfg.ProjectTransacted, int64(streamReads()-readsBefore))
		return measureRaw(ctx, s.Store, o, cfg.Grab.InFlight, rep)
	})
	cancel()
	if serr := <-done; serr != nil && err == nil {
		err = serr
	}
	return rep, err
}

func (o options) validate() error {
	sale := o.Scenario == "" || o.Scenario == "sale"
	switch {
	case sale && (o.Coupons < 1 || o.Coupons > 10_000_000):
		return errors.New("-coupons must be 1 to 10,000,000")
	case sale && o.Customers < 1:
		return errors.New("-customers must be at least 1")
	case o.Concurrency < 1:
		return errors.New("-concurrency must be at least 1")
	case sale && o.Requests < 1:
		return errors.New("-requests must be at least 1")
	case o.Scale <= 0 || o.Scale > 10:
		return errors.New("-scale must be above 0 and at most 10")
	}
	return nil
}

// simulate runs the scenario over HTTP; warm, when set, runs after the
// warm-up, after once the sale is over.
func simulate(ctx context.Context, o options, calls counter, warm func(), after func(*Report) error) (*Report, error) {
	sc, err := scenarioFor(o, rand.New(rand.NewPCG(1, uint64(time.Now().UnixNano()))))
	if err != nil {
		return nil, err
	}
	c := newClient(o.URL, o.Token, o.Concurrency)
	rep := &Report{Options: o, Started: time.Now().UTC()}
	// Warm the JVM and the connection pools so the phase timed first is
	// not the one that pays for them.
	if err := warmUp(ctx, c, o.Concurrency, max(1, o.WarmUp)); err != nil {
		return nil, err
	}
	if warm != nil {
		warm()
	}
	// Customers log in before the sale, as a shop's do: minting their
	// tokens is no part of any timed phase.
	start := time.Now()
	minted, err := c.login(ctx, sc.customers(), o.Concurrency)
	if err != nil {
		return nil, err
	}
	rep.Tokens, rep.LoginSeconds = minted, time.Since(start).Seconds()
	if err := sell(ctx, c, o, sc, calls, rep); err != nil {
		return nil, err
	}
	if after != nil {
		if err := after(rep); err != nil {
			return nil, err
		}
	}
	return rep, nil
}

// measureRaw times the sale's write patterns straight against the store:
// one grant per transaction, and as many as the function's batches held on
// average, each from as many workers as the function keeps transactions in
// flight.
func measureRaw(ctx context.Context, st *store.Store, o options, inFlight int, rep *Report) error {
	if o.Raw <= 0 {
		return nil
	}
	ks := []int{1}
	if b := rep.Batches; b != nil && b.Mean >= 1.5 {
		ks = append(ks, int(math.Round(b.Mean)))
	}
	// A sale of many promotions packs grants for many shards in a batch:
	// twice the items per grant of one promotion's.
	spread := rep.Promotions > 1
	for _, k := range ks {
		raw, err := rawRate(ctx, st, max(32, o.Raw/k), k, inFlight, spread && k > 1)
		if err != nil {
			return err
		}
		rep.Raw = append(rep.Raw, raw)
	}
	best := 0.0
	for _, p := range rep.Phases {
		best = max(best, p.GrantsPerSecond)
	}
	if last := rep.Raw[len(rep.Raw)-1]; best > 0 {
		rep.RatioToRaw = best / last.GrantsPerSecond
	}
	return nil
}

// batchSizes is the histogram of grants per transaction.
type batchSizes struct {
	mu sync.Mutex
	h  *hdrhistogram.Histogram
}

func (b *batchSizes) add(n int) {
	b.mu.Lock()
	defer b.mu.Unlock()
	_ = b.h.RecordValue(int64(n))
}

func (b *batchSizes) reset() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.h.Reset()
}

func (b *batchSizes) figures() *BatchFigures {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.h.TotalCount() == 0 {
		return nil
	}
	f := &BatchFigures{Transactions: b.h.TotalCount(), Mean: b.h.Mean(), P50: b.h.ValueAtQuantile(50),
		P90: b.h.ValueAtQuantile(90), P99: b.h.ValueAtQuantile(99), Max: b.h.Max()}
	f.GrantsSent = int64(math.Round(f.Mean * float64(f.Transactions)))
	bars := []int{1, 2, 4, 8, 16, 32, 64, 99}
	counts := make([]int64, len(bars))
	for _, bar := range b.h.Distribution() {
		if bar.Count == 0 {
			continue
		}
		for i, up := range bars {
			if bar.From <= int64(up) {
				counts[i] += bar.Count
				break
			}
		}
	}
	for i, up := range bars {
		f.Histogram = append(f.Histogram, SizeCount{Size: up, Count: counts[i]})
	}
	return f
}

// writeLags measures every grant's read-model lag from inside: from the
// grant's time to the projector's first write of it, which is when a
// customer's list shows it (a redelivered record is written again). The
// grant's time is taken before its transaction commits, so this is an
// upper bound.
type writeLags struct {
	mu      sync.Mutex
	samples []lagSample
	since   time.Time // grants before it are the warm-up's
	seen    map[string]bool
}

func (l *writeLags) add(cs []sale.Coupon) {
	now := time.Now()
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, c := range cs {
		if c.GrabbedAt.Before(l.since) || l.seen[c.ID] {
			continue
		}
		l.seen[c.ID] = true
		l.samples = append(l.samples, lagSample{c.GrabbedAt, max(0, now.Sub(c.GrabbedAt))})
	}
}

func (l *writeLags) reset() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.since, l.seen, l.samples = time.Now(), map[string]bool{}, nil
}

func (l *writeLags) figures() *Percentiles {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.samples) == 0 {
		return nil
	}
	p := lagPercentiles(l.samples)
	return &p
}

func (l *writeLags) all() []lagSample {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.samples)
}
