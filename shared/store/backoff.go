package store

import (
	"context"
	"math/rand/v2"
	"time"
)

// Backoff is full-jitter exponential backoff: a random wait in
// [0, 10ms·2^attempt), capped at 500ms, so that retries from many callers
// spread out instead of colliding again.
func Backoff(attempt int) time.Duration {
	ceiling := min(10*time.Millisecond<<min(attempt, 10), 500*time.Millisecond)
	return rand.N(ceiling)
}

// Pause waits Backoff(attempt), or less if ctx ends first.
func Pause(ctx context.Context, attempt int) error { return sleep(ctx, Backoff(attempt)) }

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
