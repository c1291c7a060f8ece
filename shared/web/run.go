package web

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"

	"github.com/seckill/seckill/shared/config"
)

// Run is the main of an HTTP function's binary: JSON logs, the handler built
// from the environment (a bad configuration stops the start), then serving
// on $PORT until SIGINT or SIGTERM, finishing in-flight requests.
func Run(function string, build func(context.Context) (http.Handler, error)) {
	slog.SetDefault(slog.New(slog.NewJSONHandler(os.Stderr, nil)).With("function", function))
	if err := run(build); err != nil {
		slog.Error("stopped", "err", err)
		os.Exit(1)
	}
}

func run(build func(context.Context) (http.Handler, error)) error {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	var srv config.Server
	if err := config.Load(&srv); err != nil {
		return err
	}
	h, err := build(ctx)
	if err != nil {
		return err
	}
	l, err := net.Listen("tcp", fmt.Sprintf(":%d", srv.Port))
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	slog.Info("listening", "addr", l.Addr().String())
	return Serve(ctx, l, h)
}
