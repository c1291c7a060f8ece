package functions_test

import (
	"io"
	"strings"
	"testing"

	"github.com/GoogleCloudPlatform/functions-framework-go/funcframework"

	"github.com/seckill/seckill/shared/contract/contracttest"
	"github.com/seckill/seckill/shared/ddblocal/ddbtest"
	"github.com/seckill/seckill/shared/proctest"
)

// TestFunctionsFramework serves the coupons function the way Cloud
// Functions' buildpack does: funcframework.Start with FUNCTION_TARGET, the
// handler built from the environment on first use.
func TestFunctionsFramework(t *testing.T) {
	st, _ := ddbtest.Store(t)
	t.Setenv("AWS_ENDPOINT_URL_DYNAMODB", ddbtest.Endpoint(t))
	t.Setenv("SECKILL_SALE_TABLE", st.Tables().Sale)
	t.Setenv("SECKILL_COUPONS_TABLE", st.Tables().Coupons)
	t.Setenv("FUNCTION_TARGET", "coupons")
	port := proctest.FreePort(t)
	go func() { _ = funcframework.StartHostPort("127.0.0.1", port) }() // serves until the test binary exits
	base := "http://127.0.0.1:" + port
	proctest.WaitHTTP(t, base+"/healthz")
	resp, err := contracttest.Client(t, nil).Get(base + "/customers/alice/coupons")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || strings.TrimSpace(string(body)) != `{"coupons":[]}` {
		t.Fatalf("got %d %s", resp.StatusCode, body)
	}
}
