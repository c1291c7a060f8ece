// Command local runs the whole SecKill stack on a laptop in one process
// (see package stack). `make run` starts it.
package main

import (
	"context"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/seckill/seckill/functions/local/stack"
	"github.com/seckill/seckill/shared/config"
)

func main() {
	slog.SetDefault(slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: logLevel()})).With("function", "local"))
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	var cfg config.Local
	err := config.Load(&cfg)
	if err == nil {
		err = stack.Run(ctx, cfg, nil)
	}
	stop()
	if err != nil {
		slog.Error("local stack stopped", "err", err)
		os.Exit(1)
	}
}

func logLevel() slog.Level {
	var l slog.Level
	if err := l.UnmarshalText([]byte(os.Getenv("SECKILL_LOG_LEVEL"))); err != nil {
		return slog.LevelInfo
	}
	return l
}
