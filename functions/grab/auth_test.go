package grab_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/seckill/seckill/functions/local/issuer/issuertest"
	"github.com/seckill/seckill/shared/contract/contracttest"
)

// TestTokens: the customer is the token's subject. No token or a bad one is
// 401 with a Bearer challenge, a body naming another customer is 403, and
// with a token the body may be empty, {} or name the same customer; the
// scheme's case does not matter. Nothing is granted to a refused request.
func TestTokens(t *testing.T) {
	t.Parallel()
	w := newWorld(t, nil)
	p := w.promotion(10, time.Now().Add(-time.Second), time.Now().Add(time.Hour))
	stranger := issuertest.Start(t) // a real issuer, but not the one the function trusts
	post := func(auth, contentType, body string) (int, string, http.Header) {
		req, err := http.NewRequest(http.MethodPost, w.url+"/promotions/"+p.ID+"/coupons", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		if auth != "" {
			req.Header.Set("Authorization", auth)
		}
		if contentType != "" {
			req.Header.Set("Content-Type", contentType)
		}
		resp, err := contracttest.Client(t, grabTransport).Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var out struct{ Code string }
		_ = json.NewDecoder(resp.Body).Decode(&out)
		return resp.StatusCode, out.Code, resp.Header
	}
	alice := "Bearer " + issuertest.TokenFor("alice")
	for _, tc := range []struct {
		name, auth, contentType, body string
		status                        int
		code, challenge               string
	}{
		{"no token", "", "application/json", customerBody("alice"), 401, "unauthorized", `Bearer realm="seckill"`},
		{"basic", "Basic YWxpY2U6eA==", "application/json", customerBody("alice"), 401, "unauthorized", `Bearer realm="seckill"`},
		{"garbage token", "Bearer abc", "application/json", "{}", 401, "unauthorized", `Bearer realm="seckill", error="invalid_token"`},
		{"another issuer's token", "Bearer " + stranger.Token(t, "alice"), "application/json", "{}", 401, "unauthorized", `Bearer realm="seckill", error="invalid_token"`},
		{"9 KiB token", "Bearer " + strings.Repeat("a", 9<<10), "", "", 401, "unauthorized", `Bearer realm="seckill", error="invalid_token"`},
		{"another customer in the body", alice, "application/json", customerBody("mallory"), 403, "forbidden", ""},
		{"text/plain", alice, "text/plain", customerBody("alice"), 415, "invalid-request", ""},
		{"form", alice, "multipart/form-data; boundary=x", "--x--", 415, "invalid-request", ""},
		{"no Content-Type", alice, "", customerBody("alice"), 415, "invalid-request", ""},
		{"latin-1", alice, "application/json; charset=latin1", customerBody("alice"), 415, "invalid-request", ""},
		{"granted, lower-case scheme, charset utf-8", "bearer " + issuertest.TokenFor("alice"), "application/json; charset=UTF-8", customerBody("alice"), 201, "", ""},
		{"granted, empty body without Content-Type", "Bearer " + issuertest.TokenFor("bob"), "", "", 201, "", ""},
		{"granted, {}", "BEARER " + issuertest.TokenFor("carol"), "application/json", "{}", 201, "", ""},
		{"held", alice, "application/json", "{}", 409, "already-grabbed", ""},
	} {
		status, code, h := post(tc.auth, tc.contentType, tc.body)
		if status != tc.status || code != tc.code || h.Get("WWW-Authenticate") != tc.challenge {
			t.Errorf("%s: got %d %s %q, want %d %s %q", tc.name, status, code, h.Get("WWW-Authenticate"), tc.status, tc.code, tc.challenge)
		}
	}
	w.checkTotals(p, 3)
	for _, c := range w.couponsInTable(p.ID) {
		if c.CustomerID != "alice" && c.CustomerID != "bob" && c.CustomerID != "carol" {
			t.Errorf("a coupon went to %s", c.CustomerID)
		}
	}
}
