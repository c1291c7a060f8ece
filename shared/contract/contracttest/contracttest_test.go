package contracttest

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
)

// TestCatchesDrift shows the validator failing what drifts from the
// document, and passing what follows it.
func TestCatchesDrift(t *testing.T) {
	answers := map[string]string{
		"/promotions/01JD8X3Q4M7C2V9K5T6N0B1R2S/coupons": `{"coupon":{"id":"x"}}`,             // fields missing
		"/customers/alice/coupons":                       `{"coupons":[]}`,                    // conforms
		"/promotions":                                    `{"promotions":null}`,               // null list
		"/healthz":                                       `{"status":"ok"}`,                   // conforms
		"/nowhere":                                       `{"code":"not-found","status":404}`, // router's answer
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/promotions/01JD8X3Q4M7C2V9K5T6N0B1R2S/coupons":
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(201)
		case "/nowhere":
			w.Header().Set("Content-Type", "application/problem+json")
			w.WriteHeader(404)
		default:
			w.Header().Set("Content-Type", "application/json")
		}
		_, _ = w.Write([]byte(answers[r.URL.Path]))
	}))
	defer srv.Close()
	rec := &recorder{TB: t}
	client := Client(rec, nil)
	before := len(violations)
	for path := range answers {
		method, body := http.MethodGet, ""
		if strings.HasSuffix(path, "/coupons") && strings.HasPrefix(path, "/promotions/") {
			method, body = http.MethodPost, `{"customerId":"alice"}`
		}
		req, _ := http.NewRequest(method, srv.URL+path, strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}
	mu.Lock()
	got := violations[before:]
	violations = violations[:before]
	mu.Unlock()
	if len(got) != 2 {
		t.Fatalf("got %d violations, want 2 (the grant missing fields, the null list): %q", len(got), got)
	}
	if len(rec.errors) != 2 {
		t.Fatalf("the test that made the exchanges got %d failures, want the same 2: %q", len(rec.errors), rec.errors)
	}
}

// TestUnreadableBody: an answer cut short fails the test that got it.
func TestUnreadableBody(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Content-Length", "100")
		_, _ = w.Write([]byte(`{"status":`))
	}))
	defer srv.Close()
	rec := &recorder{TB: t}
	if resp, err := Client(rec, nil).Get(srv.URL + "/healthz"); err == nil {
		resp.Body.Close()
	}
	mu.Lock()
	violations = violations[:0]
	mu.Unlock()
	if len(rec.errors) != 1 || !strings.Contains(rec.errors[0], "could not be read") {
		t.Fatalf("got %q, want one unreadable-body failure", rec.errors)
	}
}

// recorder is a test that notes its failures instead of failing.
type recorder struct {
	testing.TB
	mu     sync.Mutex
	errors []string
}

func (r *recorder) Helper() {}
func (r *recorder) Errorf(format string, args ...any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.errors = append(r.errors, fmt.Sprintf(format, args...))
}
