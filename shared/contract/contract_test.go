package contract_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"slices"
	"testing"

	"github.com/seckill/seckill/shared/contract"
	"github.com/seckill/seckill/shared/contract/contracttest"
)

func TestDocumentValidates(t *testing.T) {
	doc, _, err := contracttest.Load()
	if err != nil {
		t.Fatal(err)
	}
	if doc.OpenAPI != "3.0.3" {
		t.Fatalf("openapi %q, want 3.0.3 (the version API Gateway imports)", doc.OpenAPI)
	}
	// Every problem code of the contract is enumerated.
	var got []string
	for _, c := range doc.Components.Schemas["Problem"].Value.Properties["code"].Value.Enum {
		got = append(got, c.(string))
	}
	want := []string{"invalid-request", "unauthorized", "forbidden", "promotion-not-found", "promotion-started", "precondition-failed",
		"already-grabbed", "sold-out", "not-started", "finished", "try-again", "internal", "not-found", "method-not-allowed"}
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Fatalf("got problem codes %v, want those of API.md %v", got, want)
	}
}

func TestRoutes(t *testing.T) {
	want := map[string]contract.Function{
		"POST /admin/promotions":                 "admin",
		"GET /admin/promotions":                  "admin",
		"GET /admin/promotions/{promotionId}":    "admin",
		"PUT /admin/promotions/{promotionId}":    "admin",
		"DELETE /admin/promotions/{promotionId}": "admin",
		"POST /promotions/{promotionId}/coupons": "grab",
		"GET /customers/{customerId}/coupons":    "coupons",
		"GET /promotions":                        "coupons",
		"GET /healthz":                           contract.Meta,
		"GET /openapi.json":                      contract.Meta,
	}
	got := contract.Routes()
	if len(got) != len(want) {
		t.Errorf("got %d routes, want %d", len(got), len(want))
	}
	for r, fn := range got {
		if want[r.Pattern()] != fn {
			t.Errorf("%s served by %q, want %q", r.Pattern(), fn, want[r.Pattern()])
		}
	}
}

func TestServedAsJSON(t *testing.T) {
	rec := httptest.NewRecorder()
	contract.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/openapi.json", nil))
	var doc map[string]any
	if err := json.Unmarshal(rec.Body.Bytes(), &doc); err != nil || doc["openapi"] != "3.0.3" {
		t.Fatalf("got %v %.100s", err, rec.Body.String())
	}
}

func TestDevRoutes(t *testing.T) {
	want := []string{"GET /dev/.well-known/openid-configuration", "GET /dev/jwks.json", "POST /dev/token"}
	if got := contract.DevRoutes(); !slices.Equal(got, want) {
		t.Fatalf("got %q, want %q", got, want)
	}
}

func TestCustomerRoutes(t *testing.T) {
	want := []string{"GET /customers/{customerId}/coupons", "POST /promotions/{promotionId}/coupons"}
	if got := contract.CustomerRoutes(); !slices.Equal(got, want) {
		t.Fatalf("got %q, want %q", got, want)
	}
}
