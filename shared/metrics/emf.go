package metrics

import (
	"encoding/json"
	"strconv"
	"time"
)

// EMF writes the measurements as CloudWatch Embedded Metric Format fields of
// the log line that reports the event: the "_aws" directive and a top-level
// field per metric and dimension, which CloudWatch Logs turns into metrics.
// One line a request, as before; nothing is sent anywhere else. No Go EMF
// library could be fetched here (the module proxy refused every one tried),
// and the format is a documented JSON shape, so it is written directly.
type EMF struct{}

// emfDirective is one CloudWatchMetrics entry: metrics sharing dimensions.
type emfDirective struct {
	Namespace  string      `json:"Namespace"`
	Dimensions [][]string  `json:"Dimensions"`
	Metrics    []emfMetric `json:"Metrics"`
}

type emfMetric struct {
	Name string `json:"Name"`
	Unit string `json:"Unit"`
}

// directives renders the constant part of an "_aws" object once.
func directives(ds ...emfDirective) string {
	b, err := json.Marshal(ds)
	if err != nil {
		panic(err) // constant input
	}
	return string(b)
}

var (
	answerDirectives = directives(
		emfDirective{Namespace, [][]string{{"Function", "Code"}}, []emfMetric{{"Answers", "Count"}}},
		emfDirective{Namespace, [][]string{{"Function"}}, []emfMetric{
			{"Latency", "Milliseconds"}, {"DynamoDBCalls", "Count"}, {"DynamoDBRetries", "Count"}}},
	)
	projectedDirectives = directives(emfDirective{Namespace, [][]string{{"Function"}}, []emfMetric{
		{"ProjectedRecords", "Count"}, {"ProjectorFailures", "Count"}, {"ProjectionLag", "Milliseconds"}}})
)

// emf is the "_aws" object: now, and the rendered directives.
func emf(directives string) json.RawMessage {
	return json.RawMessage(`{"Timestamp":` + strconv.FormatInt(time.Now().UnixMilli(), 10) + `,"CloudWatchMetrics":` + directives + `}`)
}

// Answer puts Answers (by Function and Code) and Latency, DynamoDBCalls and
// DynamoDBRetries (by Function) on the request's log line.
func (EMF) Answer(function, route, code string, latency time.Duration, calls Calls) []any {
	return []any{
		"_aws", emf(answerDirectives),
		"Function", function, "Code", code, "Answers", 1,
		"Latency", float64(latency.Microseconds()) / 1000,
		"DynamoDBCalls", calls.Calls, "DynamoDBRetries", calls.Retries(),
	}
}

// Projected puts ProjectedRecords, ProjectorFailures and ProjectionLag (by
// Function) on the batch's log line.
func (EMF) Projected(function string, records, failures int, lag time.Duration) []any {
	return []any{
		"_aws", emf(projectedDirectives),
		"Function", function, "ProjectedRecords", records, "ProjectorFailures", failures,
		"ProjectionLag", lag.Milliseconds(),
	}
}

// StreamRecordAge: under Lambda the event source mapping reads the stream
// and CloudWatch has its IteratorAge; nothing to add.
func (EMF) StreamRecordAge(time.Duration) {}
