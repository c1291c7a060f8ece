package streams

import (
	"strconv"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodbstreams/types"

	"github.com/seckill/seckill/shared/store"
)

// TestRecordAge: a grant's record is aged from the coupon's grant time, not
// from ApproximateCreationDateTime, which DynamoDB Local rounds down to the
// minute; a record that EventTime cannot date falls back to the stream's
// time.
func TestRecordAge(t *testing.T) {
	granted := time.Now().Add(-150 * time.Millisecond).Truncate(time.Millisecond)
	minute := granted.Truncate(time.Minute).Add(-time.Minute)
	coupon := &types.StreamRecord{ApproximateCreationDateTime: aws.Time(minute), NewImage: map[string]types.AttributeValue{
		"kind":      &types.AttributeValueMemberS{Value: store.KindCoupon},
		"grabbedAt": &types.AttributeValueMemberN{Value: strconv.FormatInt(granted.UnixMilli(), 10)},
	}}
	shard := &types.StreamRecord{ApproximateCreationDateTime: aws.Time(minute), NewImage: map[string]types.AttributeValue{
		"kind": &types.AttributeValueMemberS{Value: store.KindShard},
	}}
	r := &Runner{opts: Options{EventTime: store.GrantTime}}
	if got, ok := r.born(coupon); !ok || !got.Equal(granted) {
		t.Errorf("a grant's record: born %v %v, want the grant time %v", got, ok, granted)
	}
	if got, ok := r.born(shard); !ok || !got.Equal(minute) {
		t.Errorf("a shard's record: born %v %v, want the stream's %v", got, ok, minute)
	}
	if got, _ := (&Runner{}).born(coupon); !got.Equal(minute) {
		t.Errorf("without EventTime: born %v, want the stream's %v", got, minute)
	}
}
