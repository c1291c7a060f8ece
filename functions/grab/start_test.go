//go:build !mutation

package grab_test

import (
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/seckill/seckill/shared/proctest"
)

// TestModes: the grab binary runs in token mode unless told otherwise, and
// refuses to start there without an issuer and an audience; open mode must
// be chosen, and says so in the log at start.
func TestModes(t *testing.T) {
	t.Parallel()
	bin := proctest.Build(t, "./cmd")
	for _, env := range [][]string{
		nil,
		{"SECKILL_CUSTOMER_ISSUER=https://issuer.example"},
		{"SECKILL_CUSTOMER_AUTH=jwt", "SECKILL_CUSTOMER_AUDIENCE=seckill"},
		{"SECKILL_CUSTOMER_AUTH=maybe"},
	} {
		proc := proctest.Start(t, bin, append(env, "PORT="+proctest.FreePort(t), "AWS_ENDPOINT_URL_DYNAMODB=http://127.0.0.1:1")...)
		if err := proc.Wait(t, 20*time.Second); err == nil {
			t.Fatalf("%v: started", env)
		}
		if log := proc.Log(); !strings.Contains(log, "CUSTOMER_AUTH") {
			t.Fatalf("%v: the refusal does not name the setting: %s", env, log)
		}
	}
	port := proctest.FreePort(t)
	proc := proctest.Start(t, bin, "SECKILL_CUSTOMER_AUTH=open", "PORT="+port, "AWS_ENDPOINT_URL_DYNAMODB=http://127.0.0.1:1")
	proctest.WaitHTTP(t, "http://127.0.0.1:"+port+"/healthz")
	if err := proc.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := proc.Wait(t, 20*time.Second); err != nil {
		t.Fatalf("open mode: %v\n%s", err, proc.Log())
	}
	if log := proc.Log(); !strings.Contains(log, `"level":"WARN"`) || !strings.Contains(log, "customer auth is OPEN") {
		t.Fatalf("open mode started without a warning: %s", proc.Log())
	}
}
