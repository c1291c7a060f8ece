package projector_test

import (
	"context"
	"encoding/json"
	"os"
	"testing"

	"github.com/aws/aws-lambda-go/events"

	"github.com/seckill/seckill/functions/projector"
	"github.com/seckill/seckill/shared/entry"
	"github.com/seckill/seckill/shared/sale"
)

// FuzzStreamEvent feeds arbitrary payloads to the projector's Lambda entry
// point, decoding every record's image as the projector does: no payload
// panics, a record either decodes to a valid coupon or is reported failed.
func FuzzStreamEvent(f *testing.F) {
	seed, err := os.ReadFile("../../shared/entry/testdata/stream/batch.json")
	if err != nil {
		f.Fatal(err)
	}
	f.Add(seed)
	f.Add([]byte(`{"Records":[{"eventName":"INSERT","dynamodb":{"SequenceNumber":"1","NewImage":{"kind":{"S":"coupon"},"grabbedAt":{"N":"1e999"}}}}]}`))
	f.Fuzz(func(t *testing.T, payload []byte) {
		h := entry.StreamHandler(func(_ context.Context, ev events.DynamoDBEvent) (events.DynamoDBEventResponse, error) {
			resp := events.DynamoDBEventResponse{BatchItemFailures: []events.DynamoDBBatchItemFailure{}}
			for _, rec := range ev.Records {
				c, err := projector.Coupon(rec.Change.NewImage)
				if err != nil {
					resp.BatchItemFailures = append(resp.BatchItemFailures, events.DynamoDBBatchItemFailure{ItemIdentifier: rec.Change.SequenceNumber})
					continue
				}
				if _, err := sale.ParseCustomerID(c.CustomerID); err != nil || c.ID == "" || c.PromotionID == "" {
					t.Errorf("decoded an invalid coupon %+v from %q", c, payload)
				}
			}
			return resp, nil
		})
		out, err := h.Invoke(context.Background(), payload)
		if err != nil {
			return // a payload that is not a stream event is the invocation's error
		}
		var resp events.DynamoDBEventResponse
		if err := json.Unmarshal(out, &resp); err != nil || resp.BatchItemFailures == nil {
			t.Fatalf("answer %q is not a partial batch response", out)
		}
	})
}
