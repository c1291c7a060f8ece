package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// client speaks the contract of API.md, nothing more: the simulator is a
// customer like any other.
type client struct {
	base, token string
	http        *http.Client
	// tokens holds each customer's bearer token, minted by login before a
	// sale as a shop's app logs its customers in; none where the server
	// runs in open mode.
	tokens sync.Map // customer → token
}

func newClient(base, token string, conns int) *client {
	return &client{base: base, token: token, http: &http.Client{Timeout: 30 * time.Second, Transport: transport(conns)}}
}

// transport keeps a connection per request in flight; tests wrap it.
var transport = func(conns int) http.RoundTripper {
	return &http.Transport{MaxIdleConns: conns * 2, MaxIdleConnsPerHost: conns * 2}
}

type coupon struct {
	ID          string `json:"id"`
	PromotionID string `json:"promotionId"`
	CustomerID  string `json:"customerId"`
}

type promotion struct {
	ID             string `json:"id"`
	TotalCoupons   int    `json:"totalCoupons"`
	CouponsLeft    int    `json:"couponsLeft"`
	CouponsGranted int    `json:"couponsGranted"`
}

// grabAnswer is one grab's outcome as the client saw it.
type grabAnswer struct {
	Status int
	Code   string
	Coupon *coupon
	Err    error // transport failure
}

// Outcome names the answer: granted, already-grabbed, sold-out,
// try-again, or other (anything the contract does not allow).
func (a grabAnswer) Outcome() string {
	switch {
	case a.Err == nil && a.Status == http.StatusCreated && a.Coupon != nil:
		return "granted"
	case a.Status == http.StatusConflict && (a.Code == "already-grabbed" && a.Coupon != nil || a.Code == "sold-out"):
		return a.Code
	case (a.Status == http.StatusServiceUnavailable || a.Status == http.StatusTooManyRequests) && a.Code == "try-again":
		return "try-again"
	}
	return "other"
}

// do sends a request with bearer as its token ("" for none).
func (c *client) do(ctx context.Context, method, path string, body any, bearer string, out any) (int, error) {
	var r io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return 0, err
		}
		r = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, r)
	if err != nil {
		return 0, err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if bearer != "" {
		req.Header.Set("Authorization", "Bearer "+bearer)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		return resp.StatusCode, err
	}
	if out != nil && len(raw) > 0 {
		if err := json.Unmarshal(raw, out); err != nil {
			return resp.StatusCode, fmt.Errorf("%s %s answered %d with %q", method, path, resp.StatusCode, raw)
		}
	}
	return resp.StatusCode, nil
}

// createPromotion starts a promotion of total coupons now.
func (c *client) createPromotion(ctx context.Context, name string, total int) (promotion, error) {
	var p promotion
	status, err := c.do(ctx, http.MethodPost, "/admin/promotions", map[string]any{
		"name": name, "discount": 0.7, "totalCoupons": total,
		"finishAt": time.Now().Add(time.Hour).UTC().Format(time.RFC3339),
	}, c.token, &p)
	if err == nil && status != http.StatusCreated {
		err = fmt.Errorf("create promotion: answered %d (is -token right?)", status)
	}
	return p, err
}

func (c *client) promotion(ctx context.Context, id string) (promotion, error) {
	var p promotion
	status, err := c.do(ctx, http.MethodGet, "/admin/promotions/"+id, nil, c.token, &p)
	if err == nil && status != http.StatusOK {
		err = fmt.Errorf("read promotion: answered %d", status)
	}
	return p, err
}

func (c *client) grab(ctx context.Context, promotionID, customer string) grabAnswer {
	var out struct {
		Code   string  `json:"code"`
		Coupon *coupon `json:"coupon"`
	}
	status, err := c.do(ctx, http.MethodPost, "/promotions/"+promotionID+"/coupons", map[string]string{"customerId": customer}, c.tokenOf(customer), &out)
	return grabAnswer{Status: status, Code: out.Code, Coupon: out.Coupon, Err: err}
}

func (c *client) tokenOf(customer string) string {
	tok, _ := c.tokens.Load(customer)
	s, _ := tok.(string)
	return s
}

// login mints a token for each customer at the local stack's development
// issuer (POST /dev/token), k at a time, before anything is timed, when the
// server asks for tokens (a customer's list without one is 401); a server
// in open mode gets none, and the body names the customer. It says how many
// tokens it minted.
func (c *client) login(ctx context.Context, customers []string, k int) (int, error) {
	if len(customers) == 0 {
		return 0, nil
	}
	status, err := c.do(ctx, http.MethodGet, "/customers/"+customers[0]+"/coupons?limit=1", nil, "", nil)
	if err != nil || status != http.StatusUnauthorized {
		return 0, err
	}
	var minted atomic.Int64
	var mu sync.Mutex
	var first error
	forEach(k, len(customers), func(i int) {
		var out struct {
			Token string `json:"token"`
		}
		status, err := c.do(ctx, http.MethodPost, "/dev/token", map[string]string{"sub": customers[i], "ttl": "12h"}, "", &out)
		switch {
		case err == nil && status == http.StatusOK && out.Token != "":
			c.tokens.Store(customers[i], out.Token)
			minted.Add(1)
		default:
			mu.Lock()
			if first == nil {
				first = fmt.Errorf("token for %s: answered %d: %v", customers[i], status, err)
			}
			mu.Unlock()
		}
	})
	return int(minted.Load()), first
}

// couponPage is the first page of the customer's coupons, newest first.
func (c *client) couponPage(ctx context.Context, customer string) ([]coupon, error) {
	got, _, err := c.couponsFrom(ctx, customer, "")
	return got, err
}

// allCoupons lists every coupon the customer holds, page by page.
func (c *client) allCoupons(ctx context.Context, customer string) ([]coupon, error) {
	var all []coupon
	cursor := ""
	for {
		page, next, err := c.couponsFrom(ctx, customer, cursor)
		if err != nil {
			return nil, err
		}
		all = append(all, page...)
		if next == "" {
			return all, nil
		}
		cursor = next
	}
}

func (c *client) couponsFrom(ctx context.Context, customer, cursor string) ([]coupon, string, error) {
	var out struct {
		Coupons []coupon `json:"coupons"`
		Next    string   `json:"next"`
	}
	path := "/customers/" + customer + "/coupons?limit=100"
	if cursor != "" {
		path += "&cursor=" + url.QueryEscape(cursor)
	}
	status, err := c.do(ctx, http.MethodGet, path, nil, c.tokenOf(customer), &out)
	if err == nil && status != http.StatusOK {
		err = fmt.Errorf("coupons of %s: answered %d", customer, status)
	}
	return out.Coupons, out.Next, err
}

// metricCalls reads, from a running SecKill's /metrics, the DynamoDB
// calls the grab function's answers took part in (a batch counts for each
// of its members); ok is false where the server serves no metrics.
func (c *client) metricCalls(ctx context.Context) (int64, bool) {
	sum, ok := metricSum(ctx, c.base, "seckill_dynamodb_calls_per_request_sum", `function="grab"`)
	return int64(sum), ok
}

// scraper reads /metrics, an operator's endpoint outside the API's
// contract, so not through the client the contract tests watch.
var scraper = &http.Client{Transport: &http.Transport{}, Timeout: 10 * time.Second}

// metricSum adds up the series of metric at base's /metrics whose labels
// hold label (every series where it is ""); ok is false where there is
// none.
func metricSum(ctx context.Context, base, metric, label string) (float64, bool) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+"/metrics", nil)
	if err != nil {
		return 0, false
	}
	resp, err := scraper.Do(req)
	if err != nil {
		return 0, false
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return 0, false
	}
	var sum float64
	found := false
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64*1024), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		name, rest, _ := strings.Cut(line, " ")
		if i := strings.IndexByte(line, '{'); i >= 0 {
			name, rest = line[:i], line[i:]
		}
		if name == metric && strings.Contains(rest, label) {
			if v, err := strconv.ParseFloat(line[strings.LastIndexByte(line, ' ')+1:], 64); err == nil {
				sum += v
				found = true
			}
		}
	}
	return sum, found
}
