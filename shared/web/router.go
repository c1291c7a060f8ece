package web

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"log/slog"
	"net/http"
	"path"
	"slices"
	"strings"
	"time"

	"github.com/seckill/seckill/shared/contract"
	"github.com/seckill/seckill/shared/metrics"
)

// routeFunctions names the function that serves each route of the
// contract, for the metrics of a router that serves several (make run).
var routeFunctions = func() map[string]string {
	out := map[string]string{}
	for r, fn := range contract.Routes() {
		out[r.Pattern()] = string(fn)
	}
	return out
}()

// Router is an http.ServeMux whose own answers (no such path, wrong method)
// are problem documents like every other error, and which logs one line per
// request.
type Router struct {
	mux      *http.ServeMux
	patterns []string
	budget   time.Duration
	cors     CORS
	metrics  metrics.Sink // nil: the process's (metrics.Current)
}

// SetMetrics sends this router's measurements to s instead of the
// process's sink.
func (rt *Router) SetMetrics(s metrics.Sink) *Router {
	rt.metrics = s
	return rt
}

// NewRouter returns a router serving GET /healthz and the contract at
// GET /openapi.json. Its request log lines carry the function's name through
// the default logger, which each binary sets up with it.
func NewRouter() *Router {
	rt := &Router{mux: http.NewServeMux(), budget: RequestBudget}
	rt.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		JSON(w, http.StatusOK, map[string]string{"status": "ok"})
	})
	rt.Handle("GET /openapi.json", contract.Handler())
	return rt
}

// Handle registers h for a ServeMux pattern such as "POST /admin/promotions".
func (rt *Router) Handle(pattern string, h http.Handler) {
	rt.mux.Handle(pattern, h)
	rt.patterns = append(rt.patterns, pattern)
}

// SetBudget replaces RequestBudget for this router's requests; zero or less
// keeps it.
func (rt *Router) SetBudget(d time.Duration) *Router {
	if d > 0 {
		rt.budget = d
	}
	return rt
}

// SetCORS lets the browser origins that patterns name call the API (see
// CORS); none keeps CORS off.
func (rt *Router) SetCORS(patterns []string) *Router {
	rt.cors = NewCORS(patterns)
	return rt
}

// Patterns returns the patterns registered, sorted, so tests can hold them
// against the contract.
func (rt *Router) Patterns() []string {
	out := slices.Clone(rt.patterns)
	slices.Sort(out)
	return out
}

// HandleFunc registers f for a ServeMux pattern.
func (rt *Router) HandleFunc(pattern string, f http.HandlerFunc) { rt.Handle(pattern, f) }

// RequestBudget is the default bound on the time a request may wait on the
// store, across all its calls and retries: when DynamoDB hangs or is
// unreachable, the client hears 503 try-again within it, never a hung
// request. It is below Lambda's and the gateway's own timeouts, so the
// answer is always ours.
const RequestBudget = 2500 * time.Millisecond

type requestIDKey struct{}

// RequestID returns the id the router gave the request.
func RequestID(ctx context.Context) string {
	id, _ := ctx.Value(requestIDKey{}).(string)
	return id
}

// ServeHTTP routes the request, answering 404 and 405 with problems.
func (rt *Router) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	id := newRequestID()
	w.Header().Set("X-Request-Id", id)
	// Go's server drops a Content-Length that comes with Transfer-Encoding
	// and keeps the connection open, so whatever a sender hid after the
	// chunked body would be read as the next request. None of our clients
	// needs a chunked body kept alive: the connection closes after the answer
	// (RFC 9112 §6.1), and nothing past the body is ever read.
	if len(r.TransferEncoding) > 0 {
		w.Header().Set("Connection", "close")
	}
	ctx, cancel := context.WithTimeout(context.WithValue(r.Context(), requestIDKey{}, id), rt.budget)
	defer cancel()
	ctx, calls := metrics.WithCalls(ctx)
	r = r.WithContext(ctx)
	rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
	if rt.cors.apply(rec, r) {
		slog.InfoContext(r.Context(), "request", "method", r.Method, "route", "preflight", "status", rec.status,
			"latency_ms", float64(time.Since(start).Microseconds())/1000, "request_id", id)
		return
	}
	h, pattern := rt.mux.Handler(r)
	// ServeMux would redirect (307, text/html) a path that is not clean to
	// its cleaned form; such a path names no resource of ours, so it is the
	// same problem as any other unknown path, logged like every request.
	unclean := !clean(r.URL.Path)
	if unclean {
		pattern = ""
	}
	defer func() {
		if v := recover(); v != nil {
			if v == http.ErrAbortHandler {
				panic(v)
			}
			slog.ErrorContext(r.Context(), "panic", "panic", v, "request_id", id)
			if !rec.wrote {
				WriteProblem(rec, NewProblem(http.StatusInternalServerError, CodeInternal, "an internal error occurred"))
			}
		}
		latency := time.Since(start)
		code := rec.code
		if code == "" {
			code = "ok"
			if rec.status >= 400 {
				code = http.StatusText(rec.status)
			}
		}
		attrs := []any{"method", r.Method, "route", routeOf(pattern), "status", rec.status,
			"latency_ms", float64(latency.Microseconds()) / 1000, "request_id", id}
		sink := rt.metrics
		if sink == nil {
			sink = metrics.Current()
		}
		attrs = append(attrs, sink.Answer(routeFunctions[pattern], routeOf(pattern), code, latency, calls())...)
		slog.InfoContext(r.Context(), "request", attrs...)
	}()
	if unclean {
		WriteProblem(rec, NewProblem(http.StatusNotFound, CodeNotFound, "no such path"))
		return
	}
	if pattern == "" {
		rt.unrouted(rec, r, h)
		return
	}
	// The mux itself, not h, so that it sets the request's path values.
	rt.mux.ServeHTTP(rec, r)
}

// unrouted asks the mux what it would have answered (404, or 405 with an
// Allow header) and says the same as a problem.
func (rt *Router) unrouted(w http.ResponseWriter, r *http.Request, h http.Handler) {
	probe := &headerProbe{header: http.Header{}}
	h.ServeHTTP(probe, r)
	if probe.status == http.StatusMethodNotAllowed {
		w.Header().Set("Allow", probe.header.Get("Allow"))
		WriteProblem(w, NewProblem(http.StatusMethodNotAllowed, CodeMethodNotAllowed, r.Method+" is not allowed here"))
		return
	}
	WriteProblem(w, NewProblem(http.StatusNotFound, CodeNotFound, "no such path"))
}

// clean says whether p is its own cleaned form: no empty, "." or ".."
// segments (a trailing slash is kept, as ServeMux keeps it).
func clean(p string) bool {
	c := path.Clean(p)
	if strings.HasSuffix(p, "/") && c != "/" {
		c += "/"
	}
	return c == p
}

func routeOf(pattern string) string {
	if pattern == "" {
		return "unrouted"
	}
	return pattern
}

func newRequestID() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

type statusRecorder struct {
	http.ResponseWriter
	status int
	wrote  bool
	code   string // the problem code written, if any
}

func (s *statusRecorder) noteCode(code string) { s.code = code }

func (s *statusRecorder) WriteHeader(code int) {
	if !s.wrote {
		s.status, s.wrote = code, true
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusRecorder) Write(b []byte) (int, error) {
	s.wrote = true
	return s.ResponseWriter.Write(b)
}

func (s *statusRecorder) Unwrap() http.ResponseWriter { return s.ResponseWriter }

type headerProbe struct {
	header http.Header
	status int
}

func (p *headerProbe) Header() http.Header         { return p.header }
func (p *headerProbe) Write(b []byte) (int, error) { return len(b), nil }
func (p *headerProbe) WriteHeader(code int)        { p.status = code }
