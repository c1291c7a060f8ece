//go:build !mutation

package admin_test

import (
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/seckill/seckill/shared/proctest"
)

// TestTokenLength: outside the local stack the admin binary will not start
// with a guessable token (31 characters), does not echo it while refusing,
// and starts with one of exactly the minimum length (32).
func TestTokenLength(t *testing.T) {
	t.Parallel()
	bin := proctest.Build(t, "./cmd")
	const short = "short-secret-31-characters-long"
	proc := proctest.Start(t, bin, "SECKILL_ADMIN_TOKEN="+short, "PORT="+proctest.FreePort(t))
	if err := proc.Wait(t, 20*time.Second); err == nil {
		t.Fatal("started with a 31-character token")
	}
	if log := proc.Log(); strings.Contains(log, short) || !strings.Contains(log, "ADMIN_TOKEN must be set to at least 32 characters") {
		t.Fatalf("log: %s", log)
	}

	const enough = "enough-secret-32-characters-long"
	port := proctest.FreePort(t)
	// The store is never reached: /healthz answers without it.
	proc = proctest.Start(t, bin, "SECKILL_ADMIN_TOKEN="+enough, "PORT="+port, "AWS_ENDPOINT_URL_DYNAMODB=http://127.0.0.1:1")
	proctest.WaitHTTP(t, "http://127.0.0.1:"+port+"/healthz")
	if err := proc.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := proc.Wait(t, 20*time.Second); err != nil {
		t.Fatalf("with a 32-character token: %v\n%s", err, proc.Log())
	}
	if strings.Contains(proc.Log(), enough) {
		t.Fatal("the token appeared in the log")
	}
}
