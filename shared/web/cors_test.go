package web_test

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/seckill/seckill/shared/web"
)

func TestCORSOrigins(t *testing.T) {
	t.Parallel()
	c := web.NewCORS([]string{"https://shop.example", "http://localhost:*", "http://[::1]:*"})
	for origin, want := range map[string]bool{
		"https://shop.example":      true,
		"http://localhost:5173":     true,
		"http://localhost":          true,
		"http://[::1]:3000":         true,
		"https://shop.example:8443": false,
		"http://shop.example":       false,
		"https://evil.example":      false,
		"http://localhost.evil:80":  false,
		"http://127.0.0.1:5173":     false,
		"https://shop.example/path": false,
		"null":                      false,
		"":                          false,
	} {
		if got := c.Allowed(origin); got != want {
			t.Errorf("%q: got %v, want %v", origin, got, want)
		}
	}
	if !web.NewCORS([]string{"*"}).Allowed("https://any.example") || web.NewCORS(nil).Allowed("http://localhost:1") {
		t.Error("* must allow any origin, and no pattern none")
	}
}

// TestCORSAnswers: a preflight from an allowed origin gets the methods and
// headers of the contract, one from another origin none; answers carry the
// origin and expose the headers the contract sets; without patterns no
// CORS header is sent and OPTIONS is the router's 405.
func TestCORSAnswers(t *testing.T) {
	t.Parallel()
	rt := web.NewRouter().SetCORS([]string{"http://localhost:*"})
	rt.HandleFunc("POST /x", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusCreated) })
	do := func(rt http.Handler, method, origin string, preflight bool) *httptest.ResponseRecorder {
		req := httptest.NewRequest(method, "/x", nil)
		if origin != "" {
			req.Header.Set("Origin", origin)
		}
		if preflight {
			req.Header.Set("Access-Control-Request-Method", "POST")
			req.Header.Set("Access-Control-Request-Headers", "content-type")
		}
		rec := httptest.NewRecorder()
		rt.ServeHTTP(rec, req)
		return rec
	}
	pre := do(rt, http.MethodOptions, "http://localhost:5173", true)
	if pre.Code != http.StatusNoContent || pre.Header().Get("Access-Control-Allow-Origin") != "http://localhost:5173" ||
		pre.Header().Get("Access-Control-Allow-Methods") != "GET, POST, PUT, DELETE" ||
		pre.Header().Get("Access-Control-Allow-Headers") != "Authorization, Content-Type, If-Match" {
		t.Fatalf("allowed preflight: %d %v", pre.Code, pre.Header())
	}
	if bad := do(rt, http.MethodOptions, "https://evil.example", true); bad.Code != http.StatusNoContent || bad.Header().Get("Access-Control-Allow-Origin") != "" {
		t.Fatalf("refused preflight: %d %v", bad.Code, bad.Header())
	}
	post := do(rt, http.MethodPost, "http://localhost:5173", false)
	if post.Code != http.StatusCreated || post.Header().Get("Access-Control-Allow-Origin") != "http://localhost:5173" ||
		post.Header().Get("Access-Control-Expose-Headers") != "Location, Retry-After, X-Request-Id, ETag" || post.Header().Get("Vary") != "Origin" {
		t.Fatalf("answer to an allowed origin: %d %v", post.Code, post.Header())
	}
	if other := do(rt, http.MethodPost, "https://evil.example", false); other.Code != http.StatusCreated || other.Header().Get("Access-Control-Allow-Origin") != "" {
		t.Fatalf("answer to another origin: %d %v", other.Code, other.Header())
	}
	off := web.NewRouter()
	off.HandleFunc("POST /x", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusCreated) })
	if rec := do(off, http.MethodOptions, "http://localhost:5173", true); rec.Code != http.StatusMethodNotAllowed || rec.Header().Get("Access-Control-Allow-Origin") != "" {
		t.Fatalf("without CORS: %d %v", rec.Code, rec.Header())
	}
}
