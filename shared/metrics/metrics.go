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
//	DynamoDBCapacityUnits  capacity units consumed, by function and
//	                operation: as DynamoDB reports them (ReturnConsumedCapacity)
//	                in a deployment, by its published rules in the local
//	                stack (store.Meter), whose DynamoDB Local reports wrong ones
//	ReadUnits, WriteUnits  the same units per answer, by function and code
//	                (and per projected batch)
//	ProjectedRecords, ProjectorFailures  stream records projected / failed
//	ProjectionLag   grant to read model, for a batch's oldest coupon
//	StreamRecordAge age of a stream record when the local runner read it
//	StreamReads     GetRecords calls of a stream runner outside Lambda,
//	                which DynamoDB Streams bills (a Lambda trigger's are free)
//
// DynamoDB reports no consumed capacity with an error, so in a deployment
// a write refused by its condition, or a cancelled transaction, is charged
// but counted in none of the units here; the rules count them.
package metrics

import (
	"context"
	"maps"
	"sync"
	"sync/atomic"
	"time"

	"github.com/seckill/seckill/shared/capacity"
)

// Namespace is the CloudWatch namespace, and the Prometheus prefix.
const Namespace = "SecKill"

// Sink takes the measurements. Each method may return attributes to add to
// the log line that reports the same event (EMF puts its metrics there).
type Sink interface {
	Answer(function, route, code string, latency time.Duration, calls Calls) []any
	Projected(function string, records, failures int, lag time.Duration, calls Calls) []any
	StreamRecordAge(age time.Duration)
	StreamReads(n int)
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
// attempts the SDK made for them, so that retries = attempts - calls; and
// the capacity units they consumed, by operation (DynamoDB's figure, or
// the rules', see the package comment).
type Calls struct {
	Calls, Attempts int64
	Units           map[string]capacity.Units
}

// Retries is the SDK's retries among the calls.
func (c Calls) Retries() int64 { return max(0, c.Attempts-c.Calls) }

// Total is the units of every operation.
func (c Calls) Total() capacity.Units {
	var t capacity.Units
	for _, u := range c.Units {
		t = t.Add(u)
	}
	return t
}

type counter struct {
	calls, attempts atomic.Int64
	mu              sync.Mutex // guards units: a request's calls may overlap
	units           map[string]capacity.Units
}

func (c *counter) add(op string, u capacity.Units) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.units == nil {
		c.units = map[string]capacity.Units{}
	}
	c.units[op] = c.units[op].Add(u)
}

type callsKey struct{}

// WithCalls starts counting the DynamoDB calls made under ctx.
func WithCalls(ctx context.Context) (context.Context, func() Calls) {
	c := &counter{}
	return context.WithValue(ctx, callsKey{}, c), func() Calls {
		c.mu.Lock()
		defer c.mu.Unlock()
		return Calls{Calls: c.calls.Load(), Attempts: c.attempts.Load(), Units: maps.Clone(c.units)}
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

// AddUnits notes the capacity units one call of op made under ctx
// consumed.
func AddUnits(ctx context.Context, op string, u capacity.Units) {
	if c, ok := ctx.Value(callsKey{}).(*counter); ok {
		c.add(op, u)
	}
}

// Share gives each of members an equal part of the units of c: the grab
// function's group commit makes one transaction for several requests, and
// each answer costs its part of it.
func Share(c Calls, members []context.Context) {
	if len(members) == 0 {
		return
	}
	k := float64(len(members))
	for op, u := range c.Units {
		part := capacity.Units{Read: u.Read / k, Write: u.Write / k}
		for _, ctx := range members {
			AddUnits(ctx, op, part)
		}
	}
}

// Nop takes measurements and drops them: the baseline of the benchmarks.
type Nop struct{}

func (Nop) Answer(string, string, string, time.Duration, Calls) []any { return nil }
func (Nop) Projected(string, int, int, time.Duration, Calls) []any    { return nil }
func (Nop) StreamRecordAge(time.Duration)                             {}
func (Nop) StreamReads(int)                                           {}
