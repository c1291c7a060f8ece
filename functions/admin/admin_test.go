package admin_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/seckill/seckill/functions/admin"
	"github.com/seckill/seckill/functions/local/issuer"
	"github.com/seckill/seckill/functions/local/issuer/issuertest"
	"github.com/seckill/seckill/shared/contract/contracttest"
	"github.com/seckill/seckill/shared/ddblocal/ddbtest"
	"github.com/seckill/seckill/shared/identity"
)

const token = "test-admin-token-0123456789abcdef0123"

// logs holds every log line of the test binary, which must never carry the
// token.
var logs syncBuffer

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func TestMain(m *testing.M) {
	slog.SetDefault(slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug})))
	ddbtest.Main(tokenCheck{contracttest.Runner{M: m}})
}

type tokenCheck struct{ m interface{ Run() int } }

func (c tokenCheck) Run() int {
	code := c.m.Run()
	if strings.Contains(logs.String(), token) || strings.Contains(logs.String(), strings.Repeat("x", len(token))) {
		fmt.Fprintln(os.Stderr, "a token appeared in the logs")
		return 1
	}
	return code
}

type client struct {
	t   *testing.T
	url string
}

func newServer(t *testing.T) *client {
	t.Helper()
	s, _ := ddbtest.Store(t)
	srv := httptest.NewServer(admin.New(s, token, time.Now, nil).Router().SetBudget(ddbtest.TestBudget))
	t.Cleanup(srv.Close)
	return &client{t: t, url: srv.URL}
}

// do sends a request and decodes a JSON answer into a map.
func (c *client) do(method, path, body string, auth bool) (int, http.Header, map[string]any) {
	c.t.Helper()
	req, err := http.NewRequest(method, c.url+path, strings.NewReader(body))
	if err != nil {
		c.t.Fatal(err)
	}
	if auth {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := contracttest.Client(c.t, nil).Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if bytes.Contains(raw, []byte(token)) {
		c.t.Errorf("%s %s: the response carries the admin token", method, path)
	}
	var out map[string]any
	if len(raw) > 0 {
		if err := json.Unmarshal(raw, &out); err != nil {
			c.t.Fatalf("%s %s: body is not JSON: %q", method, path, raw)
		}
	}
	if resp.StatusCode >= 400 && resp.Header.Get("Content-Type") != "application/problem+json" {
		c.t.Errorf("%s %s: error with content type %q", method, path, resp.Header.Get("Content-Type"))
	}
	return resp.StatusCode, resp.Header, out
}

func promo(name string, publish, finish time.Time, total int) string {
	b, _ := json.Marshal(map[string]any{
		"name": name, "discount": 0.7, "totalCoupons": total,
		"publishAt": publish.Format(time.RFC3339Nano), "finishAt": finish.Format(time.RFC3339Nano),
	})
	return string(b)
}

func TestLifecycle(t *testing.T) {
	t.Parallel()
	c := newServer(t)
	now := time.Now()
	status, hdr, p := c.do("POST", "/admin/promotions", promo("Later", now.Add(time.Hour), now.Add(2*time.Hour), 1000), true)
	if status != http.StatusCreated {
		t.Fatalf("create: got %d %v, want 201", status, p)
	}
	id := p["id"].(string)
	if got, want := hdr.Get("Location"), "/admin/promotions/"+id; got != want {
		t.Errorf("Location: got %q, want %q", got, want)
	}
	if p["status"] != "upcoming" || p["couponsLeft"] != 1000.0 || p["couponsGranted"] != 0.0 {
		t.Errorf("created promotion: got %v", p)
	}
	status, _, active := c.do("POST", "/admin/promotions", promo("Now", now.Add(-time.Minute), now.Add(time.Hour), 5), true)
	if status != http.StatusCreated || active["status"] != "active" {
		t.Fatalf("create active: got %d %v", status, active)
	}

	status, _, got := c.do("GET", "/admin/promotions/"+id, "", true)
	if status != http.StatusOK || got["name"] != "Later" {
		t.Fatalf("get: got %d %v", status, got)
	}
	for _, tc := range []struct {
		query string
		want  []string
	}{
		{"", []string{active["id"].(string), id}},
		{"?status=all", []string{active["id"].(string), id}},
		{"?status=active", []string{active["id"].(string)}},
		{"?status=upcoming", []string{id}},
		{"?status=finished", nil},
	} {
		status, _, list := c.do("GET", "/admin/promotions"+tc.query, "", true)
		if status != http.StatusOK {
			t.Fatalf("list %s: got %d", tc.query, status)
		}
		var ids []string
		for _, p := range list["promotions"].([]any) {
			ids = append(ids, p.(map[string]any)["id"].(string))
		}
		if strings.Join(ids, ",") != strings.Join(tc.want, ",") {
			t.Errorf("list %s: got %v, want %v (newest first)", tc.query, ids, tc.want)
		}
	}

	status, _, upd := c.do("PUT", "/admin/promotions/"+id, promo("Renamed", now.Add(time.Hour), now.Add(3*time.Hour), 40), true)
	if status != http.StatusOK || upd["name"] != "Renamed" || upd["totalCoupons"] != 40.0 || upd["couponsLeft"] != 40.0 {
		t.Fatalf("put: got %d %v", status, upd)
	}
	status, _, got = c.do("GET", "/admin/promotions/"+id, "", true)
	if status != http.StatusOK || got["couponsLeft"] != 40.0 || got["finishAt"] != upd["finishAt"] {
		t.Fatalf("get after put: got %d %v", status, got)
	}

	for _, m := range []string{"PUT", "DELETE"} {
		status, _, prob := c.do(m, "/admin/promotions/"+active["id"].(string), promo("x", now, now.Add(time.Hour), 1), true)
		if status != http.StatusConflict || prob["code"] != "promotion-started" {
			t.Errorf("%s started promotion: got %d %v, want 409 promotion-started", m, status, prob)
		}
	}
	if status, _, _ := c.do("DELETE", "/admin/promotions/"+id, "", true); status != http.StatusNoContent {
		t.Fatalf("delete: got %d, want 204", status)
	}
	if status, _, prob := c.do("GET", "/admin/promotions/"+id, "", true); status != http.StatusNotFound || prob["code"] != "promotion-not-found" {
		t.Fatalf("get deleted: got %d %v", status, prob)
	}
	if status, _, prob := c.do("DELETE", "/admin/promotions/"+id, "", true); status != http.StatusNotFound || prob["code"] != "promotion-not-found" {
		t.Fatalf("delete twice: got %d %v", status, prob)
	}
}

func TestBadInputChangesNothing(t *testing.T) {
	t.Parallel()
	c := newServer(t)
	now := time.Now().UTC()
	fin := now.Add(time.Hour).Format(time.RFC3339)
	status, _, p := c.do("POST", "/admin/promotions", promo("Keep", now.Add(time.Hour), now.Add(2*time.Hour), 10), true)
	if status != http.StatusCreated {
		t.Fatal(status, p)
	}
	id := p["id"].(string)
	_, _, before := c.do("GET", "/admin/promotions", "", true)

	cases := []struct {
		name, body string
		status     int
		code       string
		field      string
	}{
		{"not json", "{", 400, "invalid-request", ""},
		{"empty", "", 400, "invalid-request", ""},
		{"array", "[]", 400, "invalid-request", ""},
		{"two objects", `{"name":"a"}{}`, 400, "invalid-request", ""},
		{"unknown field", `{"name":"a","x":1}`, 400, "invalid-request", "x"},
		{"name in upper case", `{"NAME":"a","discount":0.5,"totalCoupons":1,"finishAt":"` + fin + `"}`, 400, "invalid-request", "NAME"},
		{"name in other case", `{"name":"a","Discount":0.5,"totalCoupons":1,"finishAt":"` + fin + `"}`, 400, "invalid-request", "Discount"},
		{"name twice", `{"name":"a","name":"b","discount":0.5,"totalCoupons":1,"finishAt":"` + fin + `"}`, 400, "invalid-request", "name"},
		{"trailing data", `{"name":"a","discount":0.5,"totalCoupons":1,"finishAt":"` + fin + `"} []`, 400, "invalid-request", ""},
		{"discount 1e-300", `{"name":"a","discount":1e-300,"totalCoupons":1,"finishAt":"` + fin + `"}`, 400, "invalid-request", "discount"},
		{"discount of five decimals", `{"name":"a","discount":0.12345,"totalCoupons":1,"finishAt":"` + fin + `"}`, 400, "invalid-request", "discount"},
		{"discount huge", `{"name":"a","discount":1e400,"totalCoupons":1,"finishAt":"` + fin + `"}`, 400, "invalid-request", "discount"},
		{"finish past 9999 in UTC", `{"name":"a","discount":0.5,"totalCoupons":1,"finishAt":"9999-12-31T23:59:59-23:59"}`, 400, "invalid-request", "finishAt"},
		{"comma fraction", `{"name":"a","discount":0.5,"totalCoupons":1,"finishAt":"2999-01-01T00:00:00,5Z"}`, 400, "invalid-request", "finishAt"},
		{"offset of 24 hours", `{"name":"a","discount":0.5,"totalCoupons":1,"finishAt":"2999-01-01T00:00:00+24:00"}`, 400, "invalid-request", "finishAt"},
		{"publish before 1970", `{"name":"a","discount":0.5,"totalCoupons":1,"publishAt":"1969-12-31T23:59:59Z","finishAt":"` + fin + `"}`, 400, "invalid-request", "publishAt"},
		{"name wrong type", `{"name":1}`, 400, "invalid-request", "name"},
		{"no name", `{"discount":0.5,"totalCoupons":1,"finishAt":"` + fin + `"}`, 400, "invalid-request", "name"},
		{"long name", `{"name":"` + strings.Repeat("n", 201) + `","discount":0.5,"totalCoupons":1,"finishAt":"` + fin + `"}`, 400, "invalid-request", "name"},
		{"zero discount", `{"name":"a","discount":0,"totalCoupons":1,"finishAt":"` + fin + `"}`, 400, "invalid-request", "discount"},
		{"discount above 1", `{"name":"a","discount":1.5,"totalCoupons":1,"finishAt":"` + fin + `"}`, 400, "invalid-request", "discount"},
		{"negative coupons", `{"name":"a","discount":0.5,"totalCoupons":-1,"finishAt":"` + fin + `"}`, 400, "invalid-request", "totalCoupons"},
		{"zero coupons", `{"name":"a","discount":0.5,"totalCoupons":0,"finishAt":"` + fin + `"}`, 400, "invalid-request", "totalCoupons"},
		{"too many coupons", `{"name":"a","discount":0.5,"totalCoupons":10000001,"finishAt":"` + fin + `"}`, 400, "invalid-request", "totalCoupons"},
		{"fractional coupons", `{"name":"a","discount":0.5,"totalCoupons":1.5,"finishAt":"` + fin + `"}`, 400, "invalid-request", "totalCoupons"},
		{"huge coupons", `{"name":"a","discount":0.5,"totalCoupons":1e40,"finishAt":"` + fin + `"}`, 400, "invalid-request", "totalCoupons"},
		{"no finish", `{"name":"a","discount":0.5,"totalCoupons":1}`, 400, "invalid-request", "finishAt"},
		{"bad time", `{"name":"a","discount":0.5,"totalCoupons":1,"finishAt":"tomorrow"}`, 400, "invalid-request", "finishAt"},
		{"finish in past", `{"name":"a","discount":0.5,"totalCoupons":1,"finishAt":"2001-01-01T00:00:00Z"}`, 400, "invalid-request", "finishAt"},
		{"finish before publish", `{"name":"a","discount":0.5,"totalCoupons":1,"publishAt":"` + now.Add(3*time.Hour).Format(time.RFC3339) + `","finishAt":"` + fin + `"}`, 400, "invalid-request", "finishAt"},
		{"too large", `{"name":"` + strings.Repeat("x", 70<<10) + `"}`, 413, "invalid-request", ""},
		{"control character in name", `{"name":"a\u0007b","discount":0.5,"totalCoupons":1,"finishAt":"` + fin + `"}`, 400, "invalid-request", "name"},
		{"newline in name", `{"name":"a\nb","discount":0.5,"totalCoupons":1,"finishAt":"` + fin + `"}`, 400, "invalid-request", "name"},
		{"right-to-left override in name", "{\"name\":\"sale \u202Egpj.exe\",\"discount\":0.5,\"totalCoupons\":1,\"finishAt\":\"" + fin + "\"}", 400, "invalid-request", "name"},
		{"isolate in name", `{"name":"a\u2067b","discount":0.5,"totalCoupons":1,"finishAt":"` + fin + `"}`, 400, "invalid-request", "name"},
		{"invalid UTF-8 in name", "{\"name\":\"a\xff\xfeb\",\"discount\":0.5,\"totalCoupons\":1,\"finishAt\":\"" + fin + "\"}", 400, "invalid-request", "name"},
		{"lone surrogate in name", `{"name":"a\ud800b","discount":0.5,"totalCoupons":1,"finishAt":"` + fin + `"}`, 400, "invalid-request", "name"},
		{"publishAt null", `{"name":"a","discount":0.5,"totalCoupons":1,"publishAt":null,"finishAt":"` + fin + `"}`, 400, "invalid-request", "publishAt"},
		{"finishAt null", `{"name":"a","discount":0.5,"totalCoupons":1,"finishAt":null}`, 400, "invalid-request", "finishAt"},
		{"publishAt a number", `{"name":"a","discount":0.5,"totalCoupons":1,"publishAt":5,"finishAt":"` + fin + `"}`, 400, "invalid-request", "publishAt"},
	}
	for _, tc := range cases {
		for _, target := range []struct{ method, path string }{{"POST", "/admin/promotions"}, {"PUT", "/admin/promotions/" + id}} {
			status, _, prob := c.do(target.method, target.path, tc.body, true)
			if status != tc.status || prob["code"] != tc.code {
				t.Errorf("%s %s: got %d %v, want %d %s", tc.name, target.method, status, prob, tc.status, tc.code)
			}
			if tc.field != "" && prob["field"] != tc.field {
				t.Errorf("%s %s: got field %v, want %s", tc.name, target.method, prob["field"], tc.field)
			}
		}
	}
	for _, tc := range []struct {
		method, path string
		auth         bool
		status       int
		code         string
	}{
		{"GET", "/admin/promotions", false, 401, "unauthorized"},
		{"POST", "/admin/promotions", false, 401, "unauthorized"},
		{"DELETE", "/admin/promotions/" + id, false, 401, "unauthorized"},
		{"GET", "/admin/promotions?status=bogus", true, 400, "invalid-request"},
		{"GET", "/admin/promotions?limit=0", true, 400, "invalid-request"},
		{"GET", "/admin/promotions?limit=101", true, 400, "invalid-request"},
		{"GET", "/admin/promotions?cursor=bm9wZQ", true, 400, "invalid-request"},
		{"GET", "/admin/promotions?cursor=%21", true, 400, "invalid-request"},
		{"GET", "/admin/promotions/not-an-id", true, 400, "invalid-request"},
		{"GET", "/admin/promotions/01ARZ3NDEKTSV4RRFFQ69G5FAV", true, 404, "promotion-not-found"},
		{"PUT", "/admin/promotions/01ARZ3NDEKTSV4RRFFQ69G5FAV", true, 404, "promotion-not-found"},
		{"PATCH", "/admin/promotions/" + id, true, 405, "method-not-allowed"},
		{"GET", "/admin/nothing", true, 404, "not-found"},
	} {
		status, _, prob := c.do(tc.method, tc.path, promo("x", now.Add(time.Hour), now.Add(2*time.Hour), 1), tc.auth)
		if status != tc.status || prob["code"] != tc.code {
			t.Errorf("%s %s: got %d %v, want %d %s", tc.method, tc.path, status, prob, tc.status, tc.code)
		}
	}
	// A body must be JSON in UTF-8: a cross-site form or text/plain POST,
	// which a browser sends without a preflight, is never served.
	good := promo("ct", now.Add(time.Hour), now.Add(2*time.Hour), 1)
	for _, ct := range []string{"text/plain", "multipart/form-data; boundary=x", "application/x-www-form-urlencoded", "application/json; charset=iso-8859-1", "application/json; v=2", "application/jsonx"} {
		for _, target := range []struct{ method, path string }{{"POST", "/admin/promotions"}, {"PUT", "/admin/promotions/" + id}} {
			status, _, prob := c.send(target.method, target.path, good, map[string]string{"Content-Type": ct})
			if status != 415 || prob["code"] != "invalid-request" {
				t.Errorf("%s %s: got %d %v, want 415 invalid-request", target.method, ct, status, prob)
			}
		}
	}
	req, _ := http.NewRequest("POST", c.url+"/admin/promotions", strings.NewReader(good))
	req.Header.Set("Authorization", "Bearer "+token) // and no Content-Type
	if resp, err := contracttest.Client(t, nil).Do(req); err != nil || resp.StatusCode != 415 {
		t.Errorf("no Content-Type: got %v %v, want 415", resp.StatusCode, err)
	}
	// The scheme's name is case-insensitive (RFC 9110 §11.1).
	for _, scheme := range []string{"bearer", "BEARER", "BeArEr"} {
		req, _ := http.NewRequest("GET", c.url+"/admin/promotions", nil)
		req.Header.Set("Authorization", scheme+" "+token)
		if resp, err := contracttest.Client(t, nil).Do(req); err != nil || resp.StatusCode != 200 {
			t.Errorf("scheme %q: got %v %v, want 200", scheme, resp.StatusCode, err)
		}
	}
	// A wrong token with the right length is refused too.
	req, _ = http.NewRequest("GET", c.url+"/admin/promotions", nil)
	req.Header.Set("Authorization", "Bearer "+strings.Repeat("x", len(token)))
	if resp, err := contracttest.Client(t, nil).Do(req); err != nil || resp.StatusCode != 401 {
		t.Errorf("wrong token: got %v %v, want 401", resp.StatusCode, err)
	}

	_, _, after := c.do("GET", "/admin/promotions", "", true)
	b1, _ := json.Marshal(before)
	b2, _ := json.Marshal(after)
	if !bytes.Equal(b1, b2) {
		t.Fatalf("bad input changed what is stored:\nbefore %s\nafter  %s", b1, b2)
	}
}

// TestAdminScope: with an admin scope, a token of the customers' issuer
// that carries it admits its bearer as an admin, with no shared secret; a
// customer's token without it does not; the static token, where set, still
// does.
func TestAdminScope(t *testing.T) {
	t.Parallel()
	s, _ := ddbtest.Store(t)
	iss := issuertest.Start(t)
	v, err := identity.NewVerifier(identity.Options{Issuer: iss.URL(), Audience: issuer.Audience})
	if err != nil {
		t.Fatal(err)
	}
	scoped := identity.JWT(v, "seckill:admin")
	for _, tc := range []struct {
		name, static string
	}{{"scope only", ""}, {"scope and token", token}} {
		srv := httptest.NewServer(admin.New(s, tc.static, time.Now, scoped).Router().SetBudget(ddbtest.TestBudget))
		ops, _, err := iss.Mint("ops", time.Hour, "openid seckill:admin")
		if err != nil {
			t.Fatal(err)
		}
		get := func(bearer string) int {
			req, _ := http.NewRequest(http.MethodGet, srv.URL+"/admin/promotions", nil)
			if bearer != "" {
				req.Header.Set("Authorization", "Bearer "+bearer)
			}
			resp, err := contracttest.Client(t, nil).Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			return resp.StatusCode
		}
		want := map[string]int{ops: 200, iss.Token(t, "alice"): 401, "": 401, token: 401}
		if tc.static != "" {
			want[token] = 200
		}
		for bearer, status := range want {
			if got := get(bearer); got != status {
				t.Errorf("%s: bearer %.12q…: got %d, want %d", tc.name, bearer, got, status)
			}
		}
		srv.Close()
	}
}
