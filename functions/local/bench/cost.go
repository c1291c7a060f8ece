package main

import (
	"flag"
	"fmt"
	"io"
	"maps"
	"math"
	"slices"
	"sort"
	"strings"

	"github.com/seckill/seckill/shared/capacity"
	"github.com/seckill/seckill/shared/store"
)

// prices are on-demand list prices in US dollars, us-east-1, as read from
// the providers' public pricing pages on PricesRead; each is a flag.
type prices struct {
	Read            string  `json:"read"`
	WriteUnit       float64 `json:"dynamodbWriteRequestUnit"`
	ReadUnit        float64 `json:"dynamodbReadRequestUnit"`
	StreamRead      float64 `json:"dynamodbStreamsReadRequest"` // GetRecords outside a Lambda trigger
	LambdaRequest   float64 `json:"lambdaRequest"`
	LambdaGBSecond  float64 `json:"lambdaGBSecondArm64"`
	LambdaMemoryGB  float64 `json:"lambdaMemoryGB"` // the deployments' MemorySize
	HTTPAPIRequest  float64 `json:"httpApiRequest"`
	ProjectorBatchS float64 `json:"projectorSecondsPerBatch"` // handler time of one stream batch under Lambda
}

// PricesRead is when the default prices were read.
const PricesRead = "2026-12-04"

// defaultPrices are the list prices read on PricesRead.
func defaultPrices() prices {
	return prices{Read: PricesRead, WriteUnit: 0.625e-6, ReadUnit: 0.125e-6, StreamRead: 0.02e-5,
		LambdaRequest: 0.20e-6, LambdaGBSecond: 0.0000133334, LambdaMemoryGB: 0.25, HTTPAPIRequest: 1.00e-6,
		ProjectorBatchS: 0.05}
}

func (p *prices) flags() {
	*p = defaultPrices()
	flag.Float64Var(&p.WriteUnit, "price-wru", p.WriteUnit, "$ per DynamoDB on-demand write request unit")
	flag.Float64Var(&p.ReadUnit, "price-rru", p.ReadUnit, "$ per DynamoDB on-demand read request unit")
	flag.Float64Var(&p.StreamRead, "price-stream-read", p.StreamRead, "$ per DynamoDB Streams read request (free for a Lambda trigger)")
	flag.Float64Var(&p.LambdaRequest, "price-lambda-request", p.LambdaRequest, "$ per Lambda request")
	flag.Float64Var(&p.LambdaGBSecond, "price-lambda-gbs", p.LambdaGBSecond, "$ per Lambda GB-second on arm64")
	flag.Float64Var(&p.LambdaMemoryGB, "lambda-memory-gb", p.LambdaMemoryGB, "the functions' memory size in GB (template.yaml: 256 MB)")
	flag.Float64Var(&p.HTTPAPIRequest, "price-http-api", p.HTTPAPIRequest, "$ per API Gateway HTTP API request")
	flag.Float64Var(&p.ProjectorBatchS, "projector-batch-seconds", p.ProjectorBatchS, "handler seconds of one projector batch under Lambda")
}

// CapacityReport is what the sale would have cost DynamoDB, counted by the
// store's Meter from the functions' own calls, and where it would throttle.
type CapacityReport struct {
	Ops []OpUnits `json:"operations"`
	// WriteUnitsPerGrant is the grab function's write units over its
	// grants; the design's figure is 2 + 2/k for batches of k grants.
	WriteUnitsPerGrant float64 `json:"writeUnitsPerGrant"`
	BatchMean          float64 `json:"batchMeanGrants"`
	DesignPerGrant     float64 `json:"designWriteUnitsPerGrant"`
	// Hottest is the busiest partition key of each kind; Headroom its
	// peak write units a second against DynamoDB's 1,000 per partition.
	Hottest map[string]HotKey `json:"hottest"`
	// ThrottleGrantsPerSecond is the grant rate at which the sale's layout
	// would first throttle on DynamoDB: the measured grants/s times 1,000
	// over the peak write units a second of the grant path's hottest key
	// (an inventory shard or a coupon bucket).
	ThrottleGrantsPerSecond float64 `json:"throttleGrantsPerSecond"`
	ThrottleKey             string  `json:"throttleKey"`
	// Compare holds the count beside what DynamoDB Local reported
	// consuming for the same calls, per function and operation; Refused
	// the writes that report nothing.
	Compare []OpCompare     `json:"dynamodbLocalReported"`
	Refused []RefusedWrites `json:"refusedWrites"`
	// StreamReads are the local runner's GetRecords calls during the sale:
	// free to a Lambda trigger (both deployments below), billed to a
	// projector in a container, which reads the stream the same way.
	StreamReads     int64   `json:"streamReads"`
	StreamReadsCost float64 `json:"streamReadsCostInAContainer"`
	Cost            []Cost  `json:"cost"`
	Prices          prices  `json:"prices"`
}

// OpCompare is one function's operation, as DynamoDB's rules count the
// calls DynamoDB Local was asked about (store.Sampled) and as DynamoDB
// Local reported them, and why the two differ.
type OpCompare struct {
	store.Op
	store.Compared
	// Indexed says the operation wrote to the promotions index.
	Indexed bool   `json:"indexed"`
	Why     string `json:"why"`
}

// RefusedWrites are writes refused by their condition or cancelled, which
// DynamoDB charges and reports nothing of.
type RefusedWrites struct {
	store.Op
	Calls int `json:"calls"`
}

// OpUnits are one function's units for one operation.
type OpUnits struct {
	store.Op
	capacity.Units
}

// HotKey is a partition key's busiest second and its headroom.
type HotKey struct {
	store.Hot
	WriteHeadroom float64 `json:"writeHeadroom"` // 1,000 / peak write units a second
	ReadHeadroom  float64 `json:"readHeadroom"`  // 3,000 / peak read units a second
}

// Cost is what the sale would cost in one deployment.
type Cost struct {
	Deployment       string  `json:"deployment"`
	DynamoDBWrites   float64 `json:"dynamodbWrites"`
	DynamoDBReads    float64 `json:"dynamodbReads"`
	Streams          float64 `json:"streams"`
	FunctionRequests float64 `json:"functionRequests"`
	FunctionCompute  float64 `json:"functionCompute"`
	Gateway          float64 `json:"gateway"`
	Sale             float64 `json:"sale"`
	PerMillion       float64 `json:"perMillionRequests"`
}

// Partition limits of DynamoDB, per second.
const (
	partitionWrites = 1000.0
	partitionReads  = 3000.0
)

// capacityReport fills r.Capacity from the meter m after the sale.
// transacted says the local projector wrote in transactions; streamReads
// are the runner's GetRecords calls.
func (r *Report) capacityReport(m *store.Meter, p prices, transacted bool, streamReads int64) {
	if p.Read == "" {
		p = defaultPrices()
	}
	c := &CapacityReport{Hottest: map[string]HotKey{}, Prices: p, Compare: compare(m), Refused: refusedWrites(m),
		StreamReads: streamReads, StreamReadsCost: float64(streamReads) * p.StreamRead}
	for op, u := range m.Ops() {
		c.Ops = append(c.Ops, OpUnits{op, u})
	}
	sort.Slice(c.Ops, func(i, j int) bool { return less(c.Ops[i].Op, c.Ops[j].Op) })
	grants, requests, answerSeconds := 0, 0, 0.0
	best := 0.0
	for _, ph := range r.Phases {
		grants += ph.Outcomes["granted"]
		requests += ph.Requests
		answerSeconds += ph.MeanMs / 1000 * float64(ph.Requests)
		best = max(best, ph.GrantsPerSecond)
	}
	grab := m.Total("grab")
	if grants > 0 {
		c.WriteUnitsPerGrant = grab.Write / float64(grants)
	}
	if r.Batches != nil && r.Batches.Mean > 0 {
		c.BatchMean = r.Batches.Mean
		c.DesignPerGrant = 2 + 2/c.BatchMean
	}
	worst := 0.0
	for kind, h := range m.Hottest() {
		hk := HotKey{Hot: h}
		if h.PeakWrite > 0 {
			hk.WriteHeadroom = partitionWrites / h.PeakWrite
		}
		if h.PeakRead > 0 {
			hk.ReadHeadroom = partitionReads / h.PeakRead
		}
		c.Hottest[kind] = hk
		// The grant path's keys (inventory shards, coupon buckets) set the
		// rate; a burst of promotions created at once is no grant's.
		if (kind == "S" || kind == "C") && h.PeakWrite > worst {
			worst, c.ThrottleKey = h.PeakWrite, h.Key
		}
	}
	if worst > 0 {
		c.ThrottleGrantsPerSecond = best * partitionWrites / worst
	}
	all := m.Total("")
	// Deployed, the projector writes a coupon with BatchWriteItem, one unit;
	// the local stack writes it in a transaction, two (store.Transacted).
	projected := m.Total("projector").Write
	if transacted {
		all.Write -= projected / 2
		projected /= 2
	}
	batches := projected / 100 // the event source mapping's batch of 100
	ddbW, ddbR := all.Write*p.WriteUnit, all.Read*p.ReadUnit
	compute := (answerSeconds + batches*p.ProjectorBatchS) * p.LambdaMemoryGB * p.LambdaGBSecond
	fnRequests := (float64(requests) + batches) * p.LambdaRequest
	for _, d := range []struct {
		name    string
		gateway float64
	}{
		{"HTTP API + Lambda (JWT authorizer at the gateway)", float64(requests) * p.HTTPAPIRequest},
		{"Lambda function URL (tokens verified in the function)", 0},
	} {
		cost := Cost{Deployment: d.name, DynamoDBWrites: ddbW, DynamoDBReads: ddbR, FunctionRequests: fnRequests,
			FunctionCompute: compute, Gateway: d.gateway}
		cost.Sale = cost.DynamoDBWrites + cost.DynamoDBReads + cost.Streams + cost.FunctionRequests + cost.FunctionCompute + cost.Gateway
		if requests > 0 {
			cost.PerMillion = cost.Sale / float64(requests) * 1e6
		}
		c.Cost = append(c.Cost, cost)
	}
	r.Capacity = c
}

// compare sets, for every operation DynamoDB Local was asked about, what
// the rules say of those calls (index writes included, as DynamoDB's
// figure of a table includes its indexes') beside what it reported.
func compare(m *store.Meter) []OpCompare {
	ops := m.Ops()
	var out []OpCompare
	for op, c := range m.Compared() {
		_, indexed := ops[store.Op{Function: op.Function, Operation: op.Operation + store.IndexSuffix}]
		oc := OpCompare{Op: op, Compared: c, Indexed: indexed}
		oc.Why = why(oc)
		out = append(out, oc)
	}
	sort.Slice(out, func(i, j int) bool { return less(out[i].Op, out[j].Op) })
	return out
}

func refusedWrites(m *store.Meter) []RefusedWrites {
	var out []RefusedWrites
	for op, n := range m.Refused() {
		out = append(out, RefusedWrites{op, n})
	}
	sort.Slice(out, func(i, j int) bool { return less(out[i].Op, out[j].Op) })
	return out
}

func less(a, b store.Op) bool {
	if a.Function != b.Function {
		return a.Function < b.Function
	}
	return a.Operation < b.Operation
}

// why says where the count and DynamoDB Local's figure part, from what
// TestDynamoDBLocalFigures (shared/store) pins down about DynamoDB Local.
func why(c OpCompare) string {
	m, l := c.Rules.Read+c.Rules.Write, c.Reported.Read+c.Reported.Write
	if math.Abs(m-l) <= 0.005*max(m, l) {
		return "agree"
	}
	var parts []string
	if c.Operation == "TransactWriteItems" {
		parts = append(parts, "DynamoDB Local's figure for a transaction does not follow its items (1 and 4 small puts both report 2 units, where DynamoDB charges 2 and 8)")
	}
	if c.Indexed {
		parts = append(parts, "DynamoDB Local prices a transaction's write to the index at 2 units, the rules at 1")
	}
	if c.Empty > 0 {
		parts = append(parts, fmt.Sprintf("%d read nothing, which DynamoDB Local reports as 0 units and the rules charge a minimum read", c.Empty))
	}
	if len(parts) == 0 {
		return "not explained"
	}
	return strings.Join(parts, "; ")
}

func (c *CapacityReport) print(w io.Writer) {
	fmt.Fprintf(w, "\nDynamoDB units (DynamoDB's published rules, counted from the functions' calls):\n")
	for _, o := range c.Ops {
		fmt.Fprintf(w, "  %-10s %-28s %10.1f read %10.1f write\n", o.Function, o.Operation, o.Read, o.Write)
	}
	fmt.Fprintf(w, "the rules against DynamoDB Local's own figure (ReturnConsumedCapacity), on the calls it was asked about (one of each operation every %v at most):\n  %-10s %-20s %6s %17s %17s\n",
		store.SampleInterval, "", "", "calls", "rules R / W", "Local R / W")
	for _, o := range c.Compare {
		fmt.Fprintf(w, "  %-10s %-20s %6d %8.1f %8.1f %8.1f %8.1f  %s\n", o.Function, o.Operation, o.Calls, o.Rules.Read, o.Rules.Write, o.Reported.Read, o.Reported.Write, o.Why)
	}
	for _, r := range c.Refused {
		fmt.Fprintf(w, "  %-10s %-20s %6d refused or cancelled: charged by DynamoDB (counted above), reported by none\n", r.Function, r.Operation, r.Calls)
	}
	fmt.Fprintf(w, "write units per grant %.2f (batches of k = %.1f grants on average: the design's 2 + 2/k = %.2f)\n",
		c.WriteUnitsPerGrant, c.BatchMean, c.DesignPerGrant)
	for _, k := range slices.Sorted(maps.Keys(c.Hottest)) {
		h := c.Hottest[k]
		fmt.Fprintf(w, "hottest %-9s %-40s peak %7.1f WCU/s (headroom ×%.0f), %7.1f RCU/s\n", k, h.Key, h.PeakWrite, h.WriteHeadroom, h.PeakRead)
	}
	if c.ThrottleGrantsPerSecond > 0 {
		fmt.Fprintf(w, "would first throttle on DynamoDB at about %.0f grants/s (on %s)\n", c.ThrottleGrantsPerSecond, c.ThrottleKey)
	}
	for _, cost := range c.Cost {
		fmt.Fprintf(w, "cost, %s: $%.6f the sale, $%.2f per million requests (DynamoDB writes %.6f, reads %.6f, requests %.6f, compute %.6f, gateway %.6f)\n",
			cost.Deployment, cost.Sale, cost.PerMillion, cost.DynamoDBWrites, cost.DynamoDBReads, cost.FunctionRequests, cost.FunctionCompute, cost.Gateway)
	}
	fmt.Fprintf(w, "stream reads: %d GetRecords by the runner, free to a Lambda trigger (above); a projector in a container pays $%.6f the sale\n",
		c.StreamReads, c.StreamReadsCost)
	fmt.Fprintf(w, "prices: on-demand list prices, us-east-1, read %s (flags -price-*)\n", c.Prices.Read)
}
