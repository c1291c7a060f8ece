package metrics

import (
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Prometheus keeps the measurements in a registry of its own and serves
// them in the Prometheus text format.
type Prometheus struct {
	reg                     *prometheus.Registry
	answers                 *prometheus.CounterVec
	latency, calls, retries *prometheus.HistogramVec
	records, failures       *prometheus.CounterVec
	lag, recordAge          prometheus.Histogram
	// units is DynamoDBCapacityUnits by function and operation; answerUnits
	// the same units by function, route, answer code and kind (read or
	// write), which over answers is the units an answer of each code costs.
	units, answerUnits *prometheus.CounterVec
	streamReads        prometheus.Counter
}

var defaultProm = NewPrometheus()

// DefaultPrometheus is the registry a server-mode process serves.
func DefaultPrometheus() *Prometheus { return defaultProm }

// NewPrometheus returns a sink over a fresh registry.
func NewPrometheus() *Prometheus {
	ms := []float64{.001, .002, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5}
	p := &Prometheus{
		reg: prometheus.NewRegistry(),
		answers: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "seckill_answers_total",
			Help: "HTTP answers, by function, route and problem code (ok for 2xx)."}, []string{"function", "route", "code"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "seckill_latency_seconds",
			Help: "Answer time.", Buckets: ms}, []string{"function"}),
		calls: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "seckill_dynamodb_calls_per_request",
			Help: "DynamoDB calls one request made.", Buckets: []float64{0, 1, 2, 3, 5, 8, 13}}, []string{"function"}),
		retries: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "seckill_dynamodb_retries_per_request",
			Help: "SDK retries one request's calls needed.", Buckets: []float64{0, 1, 2, 5, 10}}, []string{"function"}),
		records: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "seckill_projected_records_total",
			Help: "Stream records handed to the projector and projected."}, []string{"function"}),
		failures: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "seckill_projector_failures_total",
			Help: "Stream records the projector reported failed."}, []string{"function"}),
		lag: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "seckill_projection_lag_seconds",
			Help: "Grant to read model, for each batch's oldest coupon.", Buckets: ms}),
		recordAge: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "seckill_stream_record_age_seconds",
			Help: "Age of the newest stream record when the runner delivered it: from the coupon's grant time for a grant, else from the stream's ApproximateCreationDateTime (whole minutes on DynamoDB Local).", Buckets: ms}),
	}
	p.units = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "seckill_dynamodb_capacity_units_total",
		Help: "DynamoDB capacity units consumed, by function and operation: as DynamoDB reports them (ReturnConsumedCapacity) in a deployment, by its published rules in the local stack, whose DynamoDB Local reports wrong figures."},
		[]string{"function", "operation"})
	p.answerUnits = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "seckill_answer_capacity_units_total",
		Help: "The same units by the answer (or projected batch) they were spent for: divided by seckill_answers_total, the read or write units an answer of each code costs."},
		[]string{"function", "route", "code", "kind"})
	p.streamReads = prometheus.NewCounter(prometheus.CounterOpts{Name: "seckill_stream_read_requests_total",
		Help: "GetRecords calls of the stream runner: DynamoDB Streams read requests, billed outside a Lambda trigger."})
	p.reg.MustRegister(p.answers, p.latency, p.calls, p.retries, p.records, p.failures, p.lag, p.recordAge,
		p.units, p.answerUnits, p.streamReads)
	return p
}

// Handler serves the registry at /metrics.
func (p *Prometheus) Handler() http.Handler {
	return promhttp.HandlerFor(p.reg, promhttp.HandlerOpts{})
}

// Registry is the registry, for tests that read it.
func (p *Prometheus) Registry() *prometheus.Registry { return p.reg }

func (p *Prometheus) Answer(function, route, code string, latency time.Duration, calls Calls) []any {
	p.answers.WithLabelValues(function, route, code).Inc()
	p.latency.WithLabelValues(function).Observe(latency.Seconds())
	p.calls.WithLabelValues(function).Observe(float64(calls.Calls))
	p.retries.WithLabelValues(function).Observe(float64(calls.Retries()))
	p.addUnits(function, route, code, calls)
	return nil
}

func (p *Prometheus) addUnits(function, route, code string, calls Calls) {
	for op, u := range calls.Units {
		p.units.WithLabelValues(function, op).Add(u.Read + u.Write)
	}
	if t := calls.Total(); t.Read > 0 || t.Write > 0 {
		p.answerUnits.WithLabelValues(function, route, code, "read").Add(t.Read)
		p.answerUnits.WithLabelValues(function, route, code, "write").Add(t.Write)
	}
}

func (p *Prometheus) Projected(function string, records, failures int, lag time.Duration, calls Calls) []any {
	p.addUnits(function, "stream", "batch", calls)
	p.records.WithLabelValues(function).Add(float64(records))
	p.failures.WithLabelValues(function).Add(float64(failures))
	if records > 0 {
		p.lag.Observe(lag.Seconds())
	}
	return nil
}

func (p *Prometheus) StreamRecordAge(age time.Duration) { p.recordAge.Observe(age.Seconds()) }

func (p *Prometheus) StreamReads(n int) { p.streamReads.Add(float64(n)) }

// Answers is the counter of one function, route and code, for tests.
func (p *Prometheus) Answers(function, route, code string) prometheus.Counter {
	return p.answers.WithLabelValues(function, route, code)
}
