// Package projector is the stream-triggered function: it turns coupon
// inserts on the sale table's stream into the coupons read model.
package projector

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/seckill/seckill/shared/metrics"
	"github.com/seckill/seckill/shared/sale"
	"github.com/seckill/seckill/shared/store"
)

// Projector writes coupons into the read model.
type Projector struct {
	store       *store.Store
	writes      store.Writes
	onProjected func([]sale.Coupon)
}

// Writes sets how a batch's coupons are written: store.Batched, the
// default, suits DynamoDB; the local stack uses store.Transacted.
func (p *Projector) Writes(w store.Writes) { p.writes = w }

// OnProjected has f told of the coupons of each batch once they are
// written, so that the benchmark can measure every grant's lag, not a
// sample; nil, the default, tells no one.
func (p *Projector) OnProjected(f func([]sale.Coupon)) { p.onProjected = f }

// New returns a projector over s.
func New(s *store.Store) *Projector { return &Projector{store: s} }

// errMalformed marks a record that can never be projected.
var errMalformed = errors.New("malformed stream record")

// Handle projects one batch in the shape AWS Lambda delivers for DynamoDB
// Streams. Each record that fails is reported alone in batchItemFailures,
// in stream order; the others are done. Streams deliver at least once, so
// every write is idempotent: a replayed record changes nothing, and writing
// a batch's coupons together (25 to a call) cannot reorder anything that
// matters.
func (p *Projector) Handle(ctx context.Context, ev events.DynamoDBEvent) (events.DynamoDBEventResponse, error) {
	ctx, calls := metrics.WithCalls(ctx)
	errs := make([]error, len(ev.Records))
	var coupons []sale.Coupon
	var from []int // record index of each coupon
	for i, rec := range ev.Records {
		c, err := couponOf(rec)
		switch {
		case err != nil:
			errs[i] = err
		case c != nil:
			coupons = append(coupons, *c)
			from = append(from, i)
		}
	}
	for k, err := range p.store.ProjectCoupons(ctx, coupons, p.writes) {
		errs[from[k]] = err
	}

	resp := events.DynamoDBEventResponse{BatchItemFailures: []events.DynamoDBBatchItemFailure{}}
	projected := 0
	var oldest time.Time
	for i, rec := range ev.Records {
		if errs[i] != nil {
			slog.WarnContext(ctx, "record not projected", "event_id", rec.EventID, "sequence", rec.Change.SequenceNumber, "err", errs[i])
			resp.BatchItemFailures = append(resp.BatchItemFailures, events.DynamoDBBatchItemFailure{ItemIdentifier: rec.Change.SequenceNumber})
		}
	}
	var written []sale.Coupon
	for k, c := range coupons {
		if errs[from[k]] == nil {
			if p.onProjected != nil {
				written = append(written, c)
			}
			projected++
			if oldest.IsZero() || c.GrabbedAt.Before(oldest) {
				oldest = c.GrabbedAt
			}
		}
	}
	if len(written) > 0 {
		p.onProjected(written)
	}
	if projected > 0 || len(resp.BatchItemFailures) > 0 {
		// Grant to visible, for the batch's oldest grant: the read model's lag.
		var lag time.Duration
		if projected > 0 {
			lag = time.Since(oldest)
		}
		attrs := []any{"coupons", projected, "lag_ms", lag.Milliseconds()}
		attrs = append(attrs, metrics.Current().Projected("projector", projected, len(resp.BatchItemFailures), lag, calls())...)
		slog.InfoContext(ctx, "coupons projected", attrs...)
	}
	return resp, nil
}

// couponOf returns the coupon a record inserts, nil for records the read
// model does not care about.
func couponOf(rec events.DynamoDBEventRecord) (*sale.Coupon, error) {
	// Coupons are only ever inserted; promotions and shards change all the
	// time and are skipped by a look at one attribute.
	if rec.EventName != "INSERT" {
		return nil, nil
	}
	kind, ok := rec.Change.NewImage["kind"]
	if !ok || kind.DataType() != events.DataTypeString || kind.String() != store.KindCoupon {
		return nil, nil
	}
	c, err := Coupon(rec.Change.NewImage)
	if err != nil {
		return nil, err
	}
	return &c, nil
}

// Coupon decodes a coupon from a stream image.
func Coupon(image map[string]events.DynamoDBAttributeValue) (sale.Coupon, error) {
	item := make(map[string]types.AttributeValue, len(image))
	for k, v := range image {
		switch v.DataType() {
		case events.DataTypeString:
			item[k] = &types.AttributeValueMemberS{Value: v.String()}
		case events.DataTypeNumber:
			item[k] = &types.AttributeValueMemberN{Value: v.Number()}
		default:
			return sale.Coupon{}, fmt.Errorf("%w: attribute %q has an unexpected type", errMalformed, k)
		}
	}
	var it store.CouponItem
	if err := attributevalue.UnmarshalMap(item, &it); err != nil {
		return sale.Coupon{}, fmt.Errorf("%w: %w", errMalformed, err)
	}
	c, err := it.Coupon()
	if err != nil {
		return sale.Coupon{}, fmt.Errorf("%w: %w", errMalformed, err)
	}
	if _, err := sale.ParseCustomerID(c.CustomerID); err != nil {
		return sale.Coupon{}, fmt.Errorf("%w: %w", errMalformed, err)
	}
	return c, nil
}
