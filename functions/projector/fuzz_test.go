package projector_test

import (
	"encoding/json"
	"os"
	"testing"

	"github.com/aws/aws-lambda-go/events"

	"github.com/seckill/seckill/functions/projector"
	"github.com/seckill/seckill/shared/sale"
)

// FuzzStreamEvent feeds arbitrary payloads through the stream event's
// decoding as the projector does it (the Lambda event's JSON, then each
// record's image): no payload panics, and a record either decodes to a
// valid coupon or is refused. (Invoking the Lambda handler on each input
// costs ~90 ms under the fuzzer's instrumentation; the seeds and the
// recorded batch run through it in the Lambda tests.)
func FuzzStreamEvent(f *testing.F) {
	seed, err := os.ReadFile("../../shared/entry/testdata/stream/batch.json")
	if err != nil {
		f.Fatal(err)
	}
	f.Add(seed)
	f.Add([]byte(`{"Records":[{"eventName":"INSERT","dynamodb":{"SequenceNumber":"1","NewImage":{"kind":{"S":"coupon"},"grabbedAt":{"N":"1e999"}}}}]}`))
	f.Fuzz(func(t *testing.T, payload []byte) {
		var ev events.DynamoDBEvent
		if json.Unmarshal(payload, &ev) != nil {
			return
		}
		for _, rec := range ev.Records {
			c, err := projector.Coupon(rec.Change.NewImage)
			if err == nil {
				if _, err := sale.ParseCustomerID(c.CustomerID); err != nil || c.ID == "" || c.PromotionID == "" {
					t.Errorf("decoded an invalid coupon %+v from %q", c, payload)
				}
			}
		}
	})
}
