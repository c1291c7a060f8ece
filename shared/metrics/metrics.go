// Package metrics is SecKill's one vocabulary of measurements, written out
// the way each runtime takes it: under Lambda as CloudWatch Embedded Metric
// Format fields on the JSON log line a request or batch already writes (no
// CloudWatch API call, no agent); in server mode (containers, Knative, make
// run) as Prometheus counters and histograms served at /metrics.
//
// The names, in both:
//
//	Answers         HTTP answers, by function, route and code ("ok" for 2xx)
//	Latency         answer time, by function (ms; seconds in Prometheus)
//	DynamoDBCalls   DynamoDB calls per request, SDK retries included
//	DynamoDBRetries SDK retries per request
//	ProjectedRecords, ProjectorFailures  stream records projected / failed
//	ProjectionLag   grant to read model, for a batch's oldest coupon
//	StreamRecordAge age of a stream record when the local runner read it
package metrics

import (
	"context"
	"sync/atomic"
	"time"
)

// Namespace is the CloudWatch namespace, and the Prometheus prefix.
const Namespace = "SecKill"

// Sink takes the measurements. Each method may return attributes to add to
// the log line that reports the same event (EMF puts its metrics there).
type Sink interface {
	Answer(function, route, code string, latency time.Duration, calls Calls) []any
	Projected(function string, records, failures int, lag time.Duration) []any
	StreamRecordAge(age time.Duration)
}

var current atomic.Pointer[Sink]

// Use makes s the process's sink; a binary picks one at start from its
// mode. Until then measurements go to the Prometheus registry.
func Use(s Sink) { current.Store(&s) }

// Current is the process's sink.
func Current() Sink {
	if s := current.Load(); s != nil {
		return *s
	}
	return defaultProm
}

// Calls counts the DynamoDB calls one request makes: every call, and the
// attempts the SDK made for them, so that retries = attempts - calls.
type Calls struct {
	Calls, Attempts int64
}

// Retries is the SDK's retries among the calls.
func (c Calls) Retries() int64 { return max(0, c.Attempts-c.Calls) }

type counter struct{ calls, attempts atomic.Int64 }

type callsKey struct{}

// WithCalls starts counting the DynamoDB calls made under ctx.
func WithCalls(ctx context.Context) (context.Context, func() Calls) {
	c := &counter{}
	return context.WithValue(ctx, callsKey{}, c), func() Calls {
		return Calls{Calls: c.calls.Load(), Attempts: c.attempts.Load()}
	}
}

// CountCall notes one DynamoDB call made under ctx.
func CountCall(ctx context.Context) {
	if c, ok := ctx.Value(callsKey{}).(*counter); ok {
		c.calls.Add(1)
	}
}

// CountAttempt notes one attempt the SDK made of a call under ctx.
func CountAttempt(ctx context.Context) {
	if c, ok := ctx.Value(callsKey{}).(*counter); ok {
		c.attempts.Add(1)
	}
}

// Nop takes measurements and drops them: the baseline of the benchmarks.
type Nop struct{}

func (Nop) Answer(string, string, string, time.Duration, Calls) []any { return nil }
func (Nop) Projected(string, int, int, time.Duration) []any           { return nil }
func (Nop) StreamRecordAge(time.Duration)                             {}
