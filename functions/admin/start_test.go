package admin_test

import (
	"strings"
	"testing"
	"time"

	"github.com/seckill/seckill/shared/proctest"
)

// TestRefusesShortToken: outside the local stack the admin binary will not
// start with a guessable token, and does not echo it while refusing.
func TestRefusesShortToken(t *testing.T) {
	t.Parallel()
	const short = "short-secret-31-characters-long"
	proc := proctest.Start(t, proctest.Build(t, "./cmd"), "SECKILL_ADMIN_TOKEN="+short, "PORT="+proctest.FreePort(t))
	if err := proc.Wait(t, 20*time.Second); err == nil {
		t.Fatal("started with a 31-character token")
	}
	if log := proc.Log(); strings.Contains(log, short) || !strings.Contains(log, "ADMIN_TOKEN must be set to at least 32 characters") {
		t.Fatalf("log: %s", log)
	}
}
