package systemtest_test

import (
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/GoogleCloudPlatform/functions-framework-go/funcframework"

	"github.com/seckill/seckill/functions/local/issuer/issuertest"
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
	// Token mode, as deployed: outside a gateway the function verifies the
	// token itself, against the issuer's discovery document and JWKS.
	iss := issuertest.Start(t)
	for _, kv := range iss.Env() {
		k, v, _ := strings.Cut(kv, "=")
		t.Setenv(k, v)
	}
	port := proctest.FreePort(t)
	go func() { _ = funcframework.StartHostPort("127.0.0.1", port) }() // serves until the test binary exits
	base := "http://127.0.0.1:" + port
	proctest.WaitHTTP(t, base+"/healthz")
	get := func(path, token string) (int, string) {
		req, _ := http.NewRequest(http.MethodGet, base+path, nil)
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := contracttest.Client(t, nil).Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		return resp.StatusCode, strings.TrimSpace(string(body))
	}
	alice := iss.Token(t, "alice")
	if status, body := get("/customers/alice/coupons", alice); status != 200 || body != `{"coupons":[]}` {
		t.Fatalf("alice's own coupons: got %d %s", status, body)
	}
	if status, body := get("/customers/bob/coupons", alice); status != 403 || !strings.Contains(body, `"forbidden"`) {
		t.Fatalf("bob's coupons with alice's token: got %d %s, want 403", status, body)
	}
	if status, body := get("/customers/alice/coupons", ""); status != 401 || !strings.Contains(body, `"unauthorized"`) {
		t.Fatalf("no token: got %d %s, want 401", status, body)
	}
	if iss.KeyFetches() == 0 {
		t.Fatal("the function answered a token without fetching the issuer's keys")
	}
}
