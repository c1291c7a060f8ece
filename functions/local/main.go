// Command local runs the whole SecKill stack on a laptop in one process:
// DynamoDB Local (unless AWS_ENDPOINT_URL_DYNAMODB points elsewhere), the
// tables, every HTTP function on one port with the routes of API.md, and the
// stream runner that feeds the projector. `make run` starts it.
package main

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/seckill/seckill/functions/admin"
	"github.com/seckill/seckill/functions/coupons"
	"github.com/seckill/seckill/functions/grab"
	"github.com/seckill/seckill/functions/projector"
	"github.com/seckill/seckill/shared/config"
	"github.com/seckill/seckill/shared/ddblocal"
	"github.com/seckill/seckill/shared/store"
	"github.com/seckill/seckill/shared/streams"
	"github.com/seckill/seckill/shared/web"
)

func main() {
	slog.SetDefault(slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: logLevel()})))
	if err := run(); err != nil {
		slog.Error("local stack stopped", "err", err)
		os.Exit(1)
	}
}

func run() error {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	var cfg config.Local
	if err := config.Load(&cfg); err != nil {
		return err
	}
	endpoint := os.Getenv("AWS_ENDPOINT_URL_DYNAMODB")
	if endpoint == "" {
		ddb, err := ddblocal.Start(ctx, ddblocal.Options{DataDir: cfg.DataDir})
		if err != nil {
			return err
		}
		defer ddb.Stop()
		endpoint = ddb.Endpoint()
		slog.Info("DynamoDB Local started", "endpoint", endpoint, "data", cfg.DataDir)
	}
	db, err := store.NewClient(ctx, endpoint)
	if err != nil {
		return err
	}
	tables := cfg.Tables()
	tables.Checkpoints = cfg.CheckpointsTable
	if err := store.CreateTables(ctx, db, tables); err != nil {
		return err
	}
	st := store.New(db, tables, cfg.StoreTimeout)

	rt := router(st, cfg)

	streamsClient, err := store.NewStreamsClient(ctx, endpoint)
	if err != nil {
		return err
	}
	runner := streams.New(db, streamsClient, tables.Sale, tables.Checkpoints, projector.New(st).Handle,
		streams.Options{Poll: cfg.StreamPoll, BatchSize: cfg.StreamBatch})
	runnerDone := make(chan error, 1)
	go func() { runnerDone <- runner.Run(ctx) }()
	defer func() { stop(); <-runnerDone }()

	l, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", cfg.Port))
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	slog.Info("SecKill is serving", "url", "http://"+l.Addr().String(), "admin_token_default", cfg.AdminToken == "dev-admin-token")
	return web.Serve(ctx, l, rt)
}

// router serves the whole API from one process, as the gateway does in the
// cloud.
func router(st *store.Store, cfg config.Local) *web.Router {
	rt := web.NewRouter("local").SetBudget(cfg.RequestTimeout)
	admin.New(st, cfg.AdminToken, time.Now).Register(rt)
	grab.FromConfig(st, cfg.Grab).Register(rt)
	coupons.New(st, time.Now).Register(rt)
	return rt
}

func logLevel() slog.Level {
	var l slog.Level
	if err := l.UnmarshalText([]byte(os.Getenv("SECKILL_LOG_LEVEL"))); err != nil {
		return slog.LevelInfo
	}
	return l
}
