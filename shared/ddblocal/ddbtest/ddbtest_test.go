package ddbtest_test

import (
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/seckill/seckill/shared/ddblocal"
	"github.com/seckill/seckill/shared/ddblocal/ddbtest"
)

// TestNeedsStore is what the test below runs in a child process, with
// DynamoDB Local made unstartable; on its own it just starts it.
func TestNeedsStore(t *testing.T) {
	ddbtest.Client(t)
}

// TestNeverSkipsWhenRequired: with DynamoDB Local unable to start, a test
// that needs it fails under `make test` (RequireEnv) and CI, and skips,
// saying so, under a plain `go test`.
func TestNeverSkipsWhenRequired(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name   string
		env    []string
		fails  bool
		output string
	}{
		{"make test", []string{ddbtest.RequireEnv + "=1", "CI="}, true, "DynamoDB Local is required"},
		{"CI", []string{ddbtest.RequireEnv + "=", "CI=true"}, true, "DynamoDB Local is required"},
		{"plain go test", []string{ddbtest.RequireEnv + "=", "CI="}, false, "SKIPPING every storage test"},
	} {
		cmd := exec.Command(os.Args[0], "-test.run=^TestNeedsStore$", "-test.v")
		cmd.Env = append(os.Environ(), append(tc.env, ddblocal.JarEnv+"=/nonexistent/DynamoDBLocal.jar")...)
		out, err := cmd.CombinedOutput()
		if failed := err != nil; failed != tc.fails || !strings.Contains(string(out), tc.output) {
			t.Errorf("%s: exit %v, want failure=%v and %q in:\n%s", tc.name, err, tc.fails, tc.output, out)
		}
	}
}
