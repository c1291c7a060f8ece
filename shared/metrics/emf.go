package metrics

import (
	"encoding/json"
	"log/slog"
	"maps"
	"slices"
	"strconv"
	"time"
)

// EMF writes the measurements as CloudWatch Embedded Metric Format fields of
// the log line that reports the event: the "_aws" directive and a top-level
// field per metric and dimension, which CloudWatch Logs turns into metrics.
// One line a request, as before; nothing is sent anywhere else. No Go EMF
// library could be fetched here (the module proxy refused every one tried),
// and the format is a documented JSON shape, so it is written directly.
//
// DynamoDBCapacityUnits alone needs lines of its own: its dimensions are
// function and operation, a request may call several operations, and an
// EMF line has one value per dimension. So a request that consumed units
// writes one short line per operation to Log (nil: slog's default); an
// answer from memory writes none.
type EMF struct {
	Log *slog.Logger
}

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
		emfDirective{Namespace, [][]string{{"Function", "Code"}}, []emfMetric{{"Answers", "Count"}, {"ReadUnits", "None"}, {"WriteUnits", "None"}}},
		emfDirective{Namespace, [][]string{{"Function"}}, []emfMetric{
			{"Latency", "Milliseconds"}, {"DynamoDBCalls", "Count"}, {"DynamoDBRetries", "Count"}}},
	)
	projectedDirectives = directives(emfDirective{Namespace, [][]string{{"Function"}}, []emfMetric{
		{"ProjectedRecords", "Count"}, {"ProjectorFailures", "Count"}, {"ProjectionLag", "Milliseconds"},
		{"ReadUnits", "None"}, {"WriteUnits", "None"}}})
	unitsDirectives = directives(emfDirective{Namespace, [][]string{{"Function", "Operation"}}, []emfMetric{{"DynamoDBCapacityUnits", "None"}}})
)

// emf is the "_aws" object: now, and the rendered directives.
func emf(directives string) json.RawMessage {
	return json.RawMessage(`{"Timestamp":` + strconv.FormatInt(time.Now().UnixMilli(), 10) + `,"CloudWatchMetrics":` + directives + `}`)
}

// Answer puts Answers, ReadUnits and WriteUnits (by Function and Code) and
// Latency, DynamoDBCalls and DynamoDBRetries (by Function) on the request's
// log line, and writes the lines of DynamoDBCapacityUnits.
func (e EMF) Answer(function, route, code string, latency time.Duration, calls Calls) []any {
	e.units(function, calls)
	t := calls.Total()
	return []any{
		"_aws", emf(answerDirectives),
		"Function", function, "Code", code, "Answers", 1,
		"Latency", float64(latency.Microseconds()) / 1000,
		"DynamoDBCalls", calls.Calls, "DynamoDBRetries", calls.Retries(),
		"ReadUnits", t.Read, "WriteUnits", t.Write,
	}
}

// Projected puts ProjectedRecords, ProjectorFailures, ProjectionLag,
// ReadUnits and WriteUnits (by Function) on the batch's log line, and
// writes the lines of DynamoDBCapacityUnits.
func (e EMF) Projected(function string, records, failures int, lag time.Duration, calls Calls) []any {
	e.units(function, calls)
	t := calls.Total()
	return []any{
		"_aws", emf(projectedDirectives),
		"Function", function, "ProjectedRecords", records, "ProjectorFailures", failures,
		"ProjectionLag", lag.Milliseconds(), "ReadUnits", t.Read, "WriteUnits", t.Write,
	}
}

// units writes DynamoDBCapacityUnits, one line per operation, in a fixed
// order.
func (e EMF) units(function string, calls Calls) {
	if len(calls.Units) == 0 {
		return
	}
	log := e.Log
	if log == nil {
		log = slog.Default()
	}
	for _, op := range slices.Sorted(maps.Keys(calls.Units)) {
		u := calls.Units[op]
		log.Info("dynamodb capacity", "_aws", emf(unitsDirectives), "Function", function, "Operation", op,
			"DynamoDBCapacityUnits", u.Read+u.Write)
	}
}

// StreamRecordAge: under Lambda the event source mapping reads the stream
// and CloudWatch has its IteratorAge; nothing to add.
func (EMF) StreamRecordAge(time.Duration) {}

// StreamReads: under Lambda the event source mapping reads the stream, for
// free; no runner of ours does.
func (EMF) StreamReads(int) {}
