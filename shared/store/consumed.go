package store

import (
	"context"
	"reflect"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/smithy-go/middleware"

	"github.com/seckill/seckill/shared/capacity"
	"github.com/seckill/seckill/shared/metrics"
)

// Capacity is what a client does about the capacity its calls consume.
type Capacity int

const (
	// Reported asks DynamoDB what every call consumed (ReturnConsumedCapacity
	// TOTAL, answered at no charge) and notes it for the request's metrics:
	// against DynamoDB the answer is the bill, so a deployment's dashboard
	// shows what it pays for, by function and operation.
	Reported Capacity = iota
	// NotAsked asks nothing: against DynamoDB Local (and LocalStack, which
	// runs it) the figure is wrong for transactions, and asking costs a
	// multi-item transaction a sixth more time there (functions/local/bench
	// has the figures); the local stack counts by DynamoDB's rules instead
	// (Meter).
	NotAsked
	// Sampled asks about the first call of each operation and then one at
	// most every SampleInterval, and notes nothing for the request: the
	// bench holds DynamoDB Local's figure for those calls beside what the
	// rules say of the same calls (Meter.Compared), at a cost to DynamoDB
	// Local's rate bounded by the interval, not by the load.
	Sampled
)

// SampleInterval is the least time between two calls of one operation
// that a Sampled client asks about.
const SampleInterval = 250 * time.Millisecond

// middleware is the client's part of c, nil for none.
func (c Capacity) middleware() func(*middleware.Stack) error {
	switch c {
	case Reported:
		return consumedCapacity(func(any) bool { return true }, true)
	case Sampled:
		var asked sync.Map // input type → *atomic.Int64, when one was last asked about (Unix ns)
		return consumedCapacity(func(params any) bool {
			v, _ := asked.LoadOrStore(reflect.TypeOf(params), new(atomic.Int64))
			last, now := v.(*atomic.Int64), time.Now().UnixNano()
			was := last.Load()
			return now-was >= int64(SampleInterval) && last.CompareAndSwap(was, now)
		}, false)
	}
	return nil
}

// consumedCapacity asks DynamoDB what a call consumed where ask says so,
// and, where note is set, notes the answer for the request's metrics. The
// caller's input is copied, not changed: a caller may share it between
// goroutines.
func consumedCapacity(ask func(params any) bool, note bool) func(*middleware.Stack) error {
	return func(stack *middleware.Stack) error {
		return stack.Initialize.Add(middleware.InitializeMiddlewareFunc("SecKillConsumedCapacity",
			func(ctx context.Context, in middleware.InitializeInput, next middleware.InitializeHandler) (middleware.InitializeOutput, middleware.Metadata, error) {
				if ask(in.Parameters) {
					in.Parameters = askCapacity(in.Parameters)
				}
				out, md, err := next.HandleInitialize(ctx, in)
				if err == nil && note {
					if op, cs := reported(out.Result); op != "" && len(cs) > 0 {
						metrics.AddUnits(ctx, op, unitsOf(op, cs))
					}
				}
				return out, md, err
			}), middleware.After)
	}
}

const total = types.ReturnConsumedCapacityTotal

// askCapacity returns a copy of params that asks for the consumed capacity,
// or params itself where it already asks for some or is no call of ours.
func askCapacity(params any) any {
	switch in := params.(type) {
	case *dynamodb.GetItemInput:
		return withTotal(in, func(i *dynamodb.GetItemInput) *rcc { return &i.ReturnConsumedCapacity })
	case *dynamodb.PutItemInput:
		return withTotal(in, func(i *dynamodb.PutItemInput) *rcc { return &i.ReturnConsumedCapacity })
	case *dynamodb.UpdateItemInput:
		return withTotal(in, func(i *dynamodb.UpdateItemInput) *rcc { return &i.ReturnConsumedCapacity })
	case *dynamodb.DeleteItemInput:
		return withTotal(in, func(i *dynamodb.DeleteItemInput) *rcc { return &i.ReturnConsumedCapacity })
	case *dynamodb.QueryInput:
		return withTotal(in, func(i *dynamodb.QueryInput) *rcc { return &i.ReturnConsumedCapacity })
	case *dynamodb.ScanInput:
		return withTotal(in, func(i *dynamodb.ScanInput) *rcc { return &i.ReturnConsumedCapacity })
	case *dynamodb.BatchGetItemInput:
		return withTotal(in, func(i *dynamodb.BatchGetItemInput) *rcc { return &i.ReturnConsumedCapacity })
	case *dynamodb.BatchWriteItemInput:
		return withTotal(in, func(i *dynamodb.BatchWriteItemInput) *rcc { return &i.ReturnConsumedCapacity })
	case *dynamodb.TransactGetItemsInput:
		return withTotal(in, func(i *dynamodb.TransactGetItemsInput) *rcc { return &i.ReturnConsumedCapacity })
	case *dynamodb.TransactWriteItemsInput:
		return withTotal(in, func(i *dynamodb.TransactWriteItemsInput) *rcc { return &i.ReturnConsumedCapacity })
	}
	return params
}

type rcc = types.ReturnConsumedCapacity

// withTotal is a copy of in whose field rc says TOTAL, unless in's says
// something already.
func withTotal[T any](in *T, rc func(*T) *rcc) any {
	if *rc(in) != "" {
		return in
	}
	c := *in
	*rc(&c) = total
	return &c
}

// reported is the operation a result answers and the capacity it reports.
func reported(result any) (string, []types.ConsumedCapacity) {
	one := func(op string, c *types.ConsumedCapacity) (string, []types.ConsumedCapacity) {
		if c == nil {
			return op, nil
		}
		return op, []types.ConsumedCapacity{*c}
	}
	switch out := result.(type) {
	case *dynamodb.GetItemOutput:
		return one("GetItem", out.ConsumedCapacity)
	case *dynamodb.PutItemOutput:
		return one("PutItem", out.ConsumedCapacity)
	case *dynamodb.UpdateItemOutput:
		return one("UpdateItem", out.ConsumedCapacity)
	case *dynamodb.DeleteItemOutput:
		return one("DeleteItem", out.ConsumedCapacity)
	case *dynamodb.QueryOutput:
		return one("Query", out.ConsumedCapacity)
	case *dynamodb.ScanOutput:
		return one("Scan", out.ConsumedCapacity)
	case *dynamodb.BatchGetItemOutput:
		return "BatchGetItem", out.ConsumedCapacity
	case *dynamodb.BatchWriteItemOutput:
		return "BatchWriteItem", out.ConsumedCapacity
	case *dynamodb.TransactGetItemsOutput:
		return "TransactGetItems", out.ConsumedCapacity
	case *dynamodb.TransactWriteItemsOutput:
		return "TransactWriteItems", out.ConsumedCapacity
	}
	return "", nil
}

// unitsOf adds up what op consumed on every table. DynamoDB may split a
// figure into read and write units; where it gives only the total, the
// operation says which kind it is.
func unitsOf(op string, cs []types.ConsumedCapacity) capacity.Units {
	var u capacity.Units
	for _, c := range cs {
		if c.ReadCapacityUnits != nil || c.WriteCapacityUnits != nil {
			u = u.Add(capacity.Units{Read: aws.ToFloat64(c.ReadCapacityUnits), Write: aws.ToFloat64(c.WriteCapacityUnits)})
			continue
		}
		switch op {
		case "GetItem", "Query", "Scan", "BatchGetItem", "TransactGetItems":
			u.Read += aws.ToFloat64(c.CapacityUnits)
		default:
			u.Write += aws.ToFloat64(c.CapacityUnits)
		}
	}
	return u
}
