// Command bench simulates a flash sale against SecKill and reports how it
// held up: throughput, latency per outcome, the read model's lag, the
// invariants, and the physical limit of the store underneath.
//
// Without -url it starts the whole local stack in-process on an in-memory
// DynamoDB Local, so that the raw write rate and the sale are measured in
// one run on one store. `make bench` runs it with the defaults.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/seckill/seckill/functions/local/stack"
	"github.com/seckill/seckill/shared/config"
	"github.com/seckill/seckill/shared/store"
)

// options are the simulator's knobs.
type options struct {
	URL         string
	Token       string
	Coupons     int // C
	Customers   int // U
	Concurrency int // K
	Requests    int // R
	Raw         int // raw transactions to time; 0 skips
	Out         string
	Progress    io.Writer // nil: no progress bar
}

func main() {
	var o options
	flag.StringVar(&o.URL, "url", "", "base URL of a running SecKill; empty starts the local stack in-process")
	flag.StringVar(&o.Token, "token", envOr("ADMIN_TOKEN", "dev-admin-token"), "admin token (default $ADMIN_TOKEN or the local stack's)")
	flag.IntVar(&o.Coupons, "coupons", 500, "C: coupons on sale")
	flag.IntVar(&o.Customers, "customers", 2000, "U: customers in the stampede")
	flag.IntVar(&o.Concurrency, "concurrency", 64, "K: requests in flight at once")
	flag.IntVar(&o.Requests, "requests", 6000, "R: grab requests in all (customers ask again, as real ones do)")
	flag.IntVar(&o.Raw, "raw", 1000, "raw grant transactions to time straight against DynamoDB (local stack only; 0 skips)")
	flag.StringVar(&o.Out, "out", "bench-out", "folder for report.json and bench.png")
	flag.Parse()
	o.Progress = os.Stderr
	slog.SetDefault(slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})))

	rep, err := run(context.Background(), o)
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(2)
	}
	rep.Print(os.Stdout)
	if err := rep.Save(o.Out); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(2)
	}
	fmt.Printf("\nreport: %s  chart: %s\n", filepath.Join(o.Out, "report.json"), filepath.Join(o.Out, "bench.png"))
	if !rep.OK() {
		os.Exit(1)
	}
}

func envOr(k, def string) string {
	if v := os.Getenv(k); v != "" {
		return v
	}
	return def
}

// run measures the raw limit (local stack only) and then the sale.
func run(ctx context.Context, o options) (*Report, error) {
	if err := o.validate(); err != nil {
		return nil, err
	}
	if o.URL != "" {
		return simulate(ctx, o, nil)
	}
	var cfg config.Local
	if err := config.Load(&cfg); err != nil {
		return nil, err
	}
	cfg.DataDir, cfg.Port = "", 0 // in memory, on a free port
	cfg.AdminToken = o.Token
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	ready := make(chan stack.Stack, 1)
	done := make(chan error, 1)
	go func() { done <- stack.Run(ctx, cfg, func(s stack.Stack) { ready <- s }) }()
	var s stack.Stack
	select {
	case s = <-ready:
	case err := <-done:
		return nil, fmt.Errorf("local stack: %w", err)
	}
	o.URL = s.URL
	rep, err := simulate(ctx, o, s.Store)
	cancel()
	if serr := <-done; serr != nil && err == nil {
		err = serr
	}
	return rep, err
}

func (o options) validate() error {
	switch {
	case o.Coupons < 1 || o.Coupons > 10_000_000:
		return errors.New("-coupons must be 1 to 10,000,000")
	case o.Customers < 1:
		return errors.New("-customers must be at least 1")
	case o.Concurrency < 1:
		return errors.New("-concurrency must be at least 1")
	case o.Requests < 1:
		return errors.New("-requests must be at least 1")
	}
	return nil
}

// simulate runs the sale over HTTP; with st it first times the raw write
// pattern on the same store.
func simulate(ctx context.Context, o options, st *store.Store) (*Report, error) {
	c := newClient(o.URL, o.Token, o.Concurrency)
	rep := &Report{Options: o, Started: time.Now().UTC()}
	// Warm the JVM and the connection pools so the phase timed first is
	// not the one that pays for them.
	if err := warmUp(ctx, c, o.Concurrency); err != nil {
		return nil, err
	}
	if st != nil && o.Raw > 0 {
		raw, err := rawRate(ctx, st, o.Raw, o.Concurrency)
		if err != nil {
			return nil, err
		}
		rep.Raw = &raw
	}
	if err := sell(ctx, c, o, rep); err != nil {
		return nil, err
	}
	return rep, nil
}
