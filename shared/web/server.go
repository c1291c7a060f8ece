package web

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"
)

// NewServer wraps h in a server whose timeouts keep slow or stalled clients
// from pinning it: a client must send its headers within 5 s and its body
// within 15 s, and an idle keep-alive connection is closed after a minute.
// MaxHeader is the most a request line and its headers may weigh; past it
// Go's server answers 431 before any route runs.
const MaxHeader = 16 << 10

func NewServer(h http.Handler) *http.Server {
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       15 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       60 * time.Second,
		// Go's server reads 4 KiB beyond MaxHeaderBytes before it answers
		// 431, so 12 KiB here holds the request line and headers to the
		// 16 KiB the README states.
		MaxHeaderBytes: MaxHeader - 4<<10,
	}
}

// ShutdownGrace is how long in-flight requests may run after a stop signal.
const ShutdownGrace = 20 * time.Second

// Serve serves h on l until ctx ends, then stops accepting and lets
// in-flight requests finish within ShutdownGrace.
func Serve(ctx context.Context, l net.Listener, h http.Handler) error {
	srv := NewServer(h)
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(l) }()
	select {
	case err := <-errc:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	slog.Info("stopping: finishing in-flight requests", "grace", ShutdownGrace.String())
	sctx, cancel := context.WithTimeout(context.Background(), ShutdownGrace)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	if err := <-errc; !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("serve: %w", err)
	}
	return nil
}
