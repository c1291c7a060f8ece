// Package contracttest holds every HTTP exchange of a test binary against
// the OpenAPI document, so that any drift between the code and the contract
// fails the tests that exercise it.
package contracttest

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"

	"github.com/seckill/seckill/shared/contract"
)

// Load parses and validates the contract, with its servers dropped so that
// any test server's host matches.
func Load() (*openapi3.T, routers.Router, error) {
	loader := openapi3.NewLoader()
	doc, err := loader.LoadFromData(contract.YAML)
	if err != nil {
		return nil, nil, fmt.Errorf("load: %w", err)
	}
	if err := doc.Validate(context.Background()); err != nil {
		return nil, nil, fmt.Errorf("validate: %w", err)
	}
	doc.Servers = nil
	router, err := gorillamux.NewRouter(doc)
	if err != nil {
		return nil, nil, fmt.Errorf("router: %w", err)
	}
	return doc, router, nil
}

// Counts says how many exchanges were held against the contract.
type Counts struct {
	Requests  int64 // requests that conform to the document
	Malformed int64 // requests a test sent malformed on purpose, answered by a 4xx problem
	Unrouted  int64 // requests to paths or methods the document lacks, answered 404/405
	Responses int64 // responses that conform to the document
}

var (
	counts     [4]atomic.Int64
	mu         sync.Mutex
	violations []string
)

// Totals returns the counts so far.
func Totals() Counts {
	return Counts{counts[0].Load(), counts[1].Load(), counts[2].Load(), counts[3].Load()}
}

func violate(format string, args ...any) {
	mu.Lock()
	defer mu.Unlock()
	violations = append(violations, fmt.Sprintf(format, args...))
}

// Transport validates every request it carries and the response to it.
type Transport struct {
	Base http.RoundTripper
	// T, when set, is the test that makes the exchanges: a violation fails
	// it, where it happened. Without one, the Runner fails the binary.
	T testing.TB
	// Killable says the server may be killed mid-answer on purpose (a crash
	// test), so an answer cut short is the fault under test, not a breach.
	Killable bool
}

// sharedRouter is the contract's router, loaded once per test binary; the
// embedded document is checked by the contract package's tests, so a
// failure here is a bug.
var sharedRouter = sync.OnceValue(func() routers.Router {
	_, r, err := Load()
	if err != nil {
		panic(err)
	}
	return r
})

// Wrap returns a Transport over base that reports violations to the test
// binary (see Runner).
func Wrap(base http.RoundTripper) *Transport {
	return &Transport{Base: base}
}

// Client returns a client over base (nil: a plain transport) whose
// violations fail t.
func Client(t testing.TB, base http.RoundTripper) *http.Client {
	if base == nil {
		base = plain
	}
	// A generous bound, so that a stuck server fails the test instead of
	// hanging it.
	return &http.Client{Transport: &Transport{Base: base, T: t}, Timeout: 2 * time.Minute}
}

// plain is the transport under Client when a test names none; it is not
// http.DefaultTransport, which the Runner wraps already.
var plain = &http.Transport{MaxIdleConnsPerHost: 64}

// RoundTrip implements http.RoundTripper.
func (t *Transport) RoundTrip(req *http.Request) (*http.Response, error) {
	var reqBody []byte
	if req.Body != nil {
		var err error
		if reqBody, err = io.ReadAll(req.Body); err != nil {
			return nil, err
		}
		_ = req.Body.Close()
		req.Body = io.NopCloser(bytes.NewReader(reqBody))
	}
	resp, err := t.Base.RoundTrip(req)
	if err != nil {
		return nil, err
	}
	respBody, err := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	resp.Body = io.NopCloser(bytes.NewReader(respBody))
	if err != nil && t.Killable {
		return resp, nil
	}
	if err != nil {
		// Our servers never cut an answer short unless a test kills them,
		// so a body that cannot be read is a fault the contract does not
		// allow.
		t.violate("%s %s -> %d: the body could not be read: %v", req.Method, req.URL.Path, resp.StatusCode, err)
		return resp, nil
	}
	if v := check(sharedRouter(), req, reqBody, resp, respBody); v != "" {
		t.violate("%s", v)
	}
	return resp, nil
}

func (t *Transport) violate(format string, args ...any) {
	if t.T != nil {
		t.T.Helper()
		t.T.Errorf("contract: "+format, args...)
	}
	violate(format, args...)
}

// Check holds one exchange that did not travel over HTTP (a Lambda
// invocation, say) against the contract, as the Transport does.
func Check(t testing.TB, req *http.Request, reqBody []byte, resp *http.Response, respBody []byte) {
	if v := check(sharedRouter(), req, reqBody, resp, respBody); v != "" {
		(&Transport{T: t}).violate("%s", v)
	}
}

// check holds one exchange against the document and returns what broke
// it, or "".
func check(router routers.Router, req *http.Request, reqBody []byte, resp *http.Response, respBody []byte) string {
	what := req.Method + " " + req.URL.Path
	// The router matches the raw path.
	r := req.Clone(context.Background())
	r.Body = io.NopCloser(bytes.NewReader(reqBody))
	route, params, err := router.FindRoute(r)
	if err != nil {
		if !routerProblem(resp, respBody) {
			return fmt.Sprintf("%s: not in the contract, and answered %d %s rather than a not-found or method-not-allowed problem", what, resp.StatusCode, snippet(respBody))
		}
		counts[2].Add(1)
		return ""
	}
	// A parameter is what the segment says once unescaped: a customer id
	// with "|" travels as %7C, and an escaped "/" is no id at all.
	for k, v := range params {
		if u, err := url.PathUnescape(v); err == nil {
			params[k] = u
		}
	}
	in := &openapi3filter.RequestValidationInput{
		Request: r, PathParams: params, Route: route,
		Options: &openapi3filter.Options{AuthenticationFunc: openapi3filter.NoopAuthenticationFunc, MultiError: true},
	}
	reqErr := openapi3filter.ValidateRequest(context.Background(), in)
	if reqErr != nil {
		if resp.StatusCode < 400 || resp.StatusCode >= 500 && resp.StatusCode != http.StatusServiceUnavailable && resp.StatusCode != http.StatusTooManyRequests {
			return fmt.Sprintf("%s: the request breaks the contract (%v) yet was answered %d", what, short(reqErr), resp.StatusCode)
		}
		counts[1].Add(1)
	} else {
		counts[0].Add(1)
	}
	out := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: in,
		Status:                 resp.StatusCode,
		Header:                 resp.Header,
		Body:                   io.NopCloser(bytes.NewReader(respBody)),
		Options:                &openapi3filter.Options{IncludeResponseStatus: true, MultiError: true},
	}
	if err := openapi3filter.ValidateResponse(context.Background(), out); err != nil {
		return fmt.Sprintf("%s -> %d: the response breaks the contract: %v; body %s", what, resp.StatusCode, short(err), snippet(respBody))
	}
	counts[3].Add(1)
	return ""
}

// routerProblem says whether resp is the router's own answer for a path or
// method outside the contract.
func routerProblem(resp *http.Response, body []byte) bool {
	switch resp.StatusCode {
	case http.StatusNotFound:
		return strings.Contains(resp.Header.Get("Content-Type"), "problem+json") && bytes.Contains(body, []byte(`"code":"not-found"`))
	case http.StatusMethodNotAllowed:
		return strings.Contains(resp.Header.Get("Content-Type"), "problem+json") && bytes.Contains(body, []byte(`"code":"method-not-allowed"`)) && resp.Header.Get("Allow") != ""
	}
	return false
}

func short(err error) string {
	s := err.Error()
	var me openapi3.MultiError
	if errors.As(err, &me) && len(me) > 0 {
		s = me.Error()
	}
	if len(s) > 600 {
		s = s[:600] + "…"
	}
	return s
}

func snippet(b []byte) string {
	if len(b) > 300 {
		return string(b[:300]) + "…"
	}
	return string(b)
}

// Runner runs a test binary with http.DefaultTransport validating, and
// fails it when any exchange broke the contract and no test did, or when a
// whole suite ran without one exchange validated (its clients went around
// the validator).
type Runner struct{ M interface{ Run() int } }

// Run installs the validating transport, runs the tests, and reports.
func (r Runner) Run() int {
	http.DefaultTransport = Wrap(http.DefaultTransport)
	code := r.M.Run()
	c := Totals()
	if wholeSuite() && c.Responses+c.Malformed+c.Unrouted == 0 {
		fmt.Fprintln(os.Stderr, "contract: the suite ran without one exchange validated; its clients bypass contracttest")
		if code == 0 {
			code = 1
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if len(violations) > 0 {
		sort.Strings(violations)
		fmt.Fprintf(os.Stderr, "contract: %d exchanges broke the OpenAPI document:\n", len(violations))
		for i, v := range violations {
			if i == 20 {
				fmt.Fprintf(os.Stderr, "  … and %d more\n", len(violations)-20)
				break
			}
			fmt.Fprintln(os.Stderr, "  "+v)
		}
		if code == 0 {
			code = 1
		}
	}
	report(c)
	return code
}

// wholeSuite tells whether every test of the binary ran (no -run filter,
// not a fuzz or benchmark-only run), so that an empty count means a bypass.
func wholeSuite() bool {
	for _, name := range []string{"test.run", "test.fuzz", "test.skip"} {
		if f := flag.Lookup(name); f != nil && f.Value.String() != "" {
			return false
		}
	}
	return true
}

// report appends the counts to $SECKILL_CONTRACT_REPORT when set, so a
// whole suite's figures can be summed.
func report(c Counts) {
	path := os.Getenv("SECKILL_CONTRACT_REPORT")
	if path == "" {
		return
	}
	f, err := os.OpenFile(path, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		return
	}
	defer f.Close()
	fmt.Fprintf(f, "%s requests=%d malformed=%d unrouted=%d responses=%d\n", os.Args[0], c.Requests, c.Malformed, c.Unrouted, c.Responses)
}
