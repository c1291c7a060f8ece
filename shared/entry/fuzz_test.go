package entry_test

import (
	"context"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"testing"

	"github.com/aws/aws-lambda-go/events"

	"github.com/seckill/seckill/shared/entry"
	"github.com/seckill/seckill/shared/web"
)

// FuzzHTTPEvent feeds arbitrary payloads to an HTTP function's Lambda
// entry point, seeded with the recorded API Gateway events: the runtime
// either refuses the payload or the function answers, never with a 500 and
// never by panicking.
func FuzzHTTPEvent(f *testing.F) {
	seeds, _ := filepath.Glob("testdata/http*/*.json")
	for _, s := range seeds {
		b, err := os.ReadFile(s)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	rt := web.NewRouter()
	rt.HandleFunc("POST /promotions/{promotionId}/coupons", func(w http.ResponseWriter, r *http.Request) {
		var body struct {
			CustomerID string `json:"customerId"`
		}
		if err := web.Decode(w, r, &body); err != nil {
			web.Error(w, r, err)
			return
		}
		web.JSON(w, http.StatusCreated, map[string]string{"promotionId": r.PathValue("promotionId"), "customerId": body.CustomerID})
	})
	h := entry.HTTPHandler(rt)
	f.Fuzz(func(t *testing.T, payload []byte) {
		out, err := h.Invoke(context.Background(), payload)
		if err != nil {
			return // the runtime reports a malformed event as the invocation's error
		}
		var resp events.APIGatewayV2HTTPResponse
		if err := json.Unmarshal(out, &resp); err != nil {
			t.Fatalf("answer is not an HTTP API response: %q", out)
		}
		if resp.StatusCode < 200 || resp.StatusCode >= 500 {
			t.Fatalf("event %q answered %d %s", payload, resp.StatusCode, resp.Body)
		}
	})
}
