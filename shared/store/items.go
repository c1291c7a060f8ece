package store

import (
	"fmt"
	"strconv"
	"time"

	"github.com/seckill/seckill/shared/sale"
)

// Item kinds in the sale table. The projector reads kind to skip everything
// but coupons without decoding them.
const (
	KindPromotion = "promotion"
	KindShard     = "shard"
	KindCoupon    = "coupon"
)

// All promotions share one list partition in the sparse index. Only admin
// and catalogue reads touch it, never the grab path.
const listPartition = "PROMOTIONS"

// Promotions and shards are alone in their partitions; the sort key only
// names their kind.
const (
	promotionSK = "P"
	shardSK     = "S"
)

func promotionKey(id string) string { return "P#" + id }
func shardKey(id string, n int) string {
	return "S#" + id + "#" + strconv.Itoa(n)
}

// CouponBuckets is how many item collections hold a promotion's coupons:
// as many as it has inventory shards (1 to 32), so that the coupon puts of
// a sale spread over as many partitions as its decrements do. A bucket is
// chosen by a hash of the customer id, so the one-per-customer check stays
// a condition on one item (partition key and customer), and the holders of
// a promotion can be enumerated with strongly consistent Queries, one per
// bucket, which a GSI could not give. The count cannot change under a
// coupon: shards change only before the first grant.
func CouponBuckets(p sale.Promotion) int { return max(1, p.Shards) }

// couponPK is the partition of the coupon customer holds of p; the
// customer id is its sort key.
func couponPK(p sale.Promotion, customer sale.CustomerID) string {
	return couponBucketPK(p.ID, bucketOf(customer, CouponBuckets(p)))
}

func couponBucketPK(promotionID string, bucket int) string {
	return fmt.Sprintf("C#%s#%02d", promotionID, bucket)
}

// bucketOf is FNV-1a, inlined to keep the hot path free of allocations.
func bucketOf(customer sale.CustomerID, buckets int) int {
	h := uint32(2166136261)
	for i := 0; i < len(customer); i++ {
		h ^= uint32(customer[i])
		h *= 16777619
	}
	return int(h % uint32(buckets))
}

// Times are stored as Unix milliseconds so that conditions can compare them.
func millis(t time.Time) int64      { return t.UnixMilli() }
func fromMillis(ms int64) time.Time { return time.UnixMilli(ms).UTC() }

type promotionItem struct {
	PK           string  `dynamodbav:"pk"`
	SK           string  `dynamodbav:"sk"`
	Kind         string  `dynamodbav:"kind"`
	ListPK       string  `dynamodbav:"listPk"`
	ID           string  `dynamodbav:"id"`
	Name         string  `dynamodbav:"name"`
	Discount     float64 `dynamodbav:"discount"`
	TotalCoupons int     `dynamodbav:"totalCoupons"`
	PublishAt    int64   `dynamodbav:"publishAt"`
	FinishAt     int64   `dynamodbav:"finishAt"`
	CreatedAt    int64   `dynamodbav:"createdAt"`
	Version      int     `dynamodbav:"version"`
	Shards       int     `dynamodbav:"shards"`
}

func toPromotionItem(p sale.Promotion) promotionItem {
	return promotionItem{
		PK: promotionKey(p.ID), SK: promotionSK, Kind: KindPromotion, ListPK: listPartition, ID: p.ID,
		Name: p.Name, Discount: p.Discount, TotalCoupons: p.TotalCoupons,
		PublishAt: millis(p.PublishAt), FinishAt: millis(p.FinishAt), CreatedAt: millis(p.CreatedAt),
		Version: p.Version, Shards: p.Shards,
	}
}

func (it promotionItem) promotion() (sale.Promotion, error) {
	if it.Kind != KindPromotion || it.ID == "" || it.Shards < 1 || it.Shards > sale.MaxShards {
		return sale.Promotion{}, fmt.Errorf("stored promotion %q is malformed", it.PK)
	}
	return sale.Promotion{
		ID: it.ID, Name: it.Name, Discount: it.Discount, TotalCoupons: it.TotalCoupons,
		PublishAt: fromMillis(it.PublishAt), FinishAt: fromMillis(it.FinishAt),
		CreatedAt: fromMillis(it.CreatedAt), Version: it.Version, Shards: it.Shards,
	}, nil
}

// shardItem is one slice of a promotion's stock. It repeats the promotion's
// version and window so that the grab transaction can check them on the item
// it writes anyway, instead of on the promotion item, which would then become
// the hot key.
type shardItem struct {
	PK          string `dynamodbav:"pk"`
	SK          string `dynamodbav:"sk"`
	Kind        string `dynamodbav:"kind"`
	PromotionID string `dynamodbav:"promotionId"`
	Shard       int    `dynamodbav:"shard"`
	Left        int    `dynamodbav:"left"`
	Granted     int    `dynamodbav:"granted"`
	Version     int    `dynamodbav:"version"`
	PublishAt   int64  `dynamodbav:"publishAt"`
	FinishAt    int64  `dynamodbav:"finishAt"`
}

func shardItems(p sale.Promotion) []shardItem {
	out := make([]shardItem, p.Shards)
	for i, left := range sale.SplitStock(p.TotalCoupons, p.Shards) {
		out[i] = shardItem{
			PK: shardKey(p.ID, i), SK: shardSK, Kind: KindShard, PromotionID: p.ID, Shard: i, Left: left,
			Version: p.Version, PublishAt: millis(p.PublishAt), FinishAt: millis(p.FinishAt),
		}
	}
	return out
}

// CouponItem is a granted coupon as stored in the sale table and as it
// arrives on the stream.
type CouponItem struct {
	PK          string  `dynamodbav:"pk"`
	SK          string  `dynamodbav:"sk"`
	Kind        string  `dynamodbav:"kind"`
	CouponID    string  `dynamodbav:"couponId"`
	PromotionID string  `dynamodbav:"promotionId"`
	CustomerID  string  `dynamodbav:"customerId"`
	Discount    float64 `dynamodbav:"discount"`
	GrabbedAt   int64   `dynamodbav:"grabbedAt"`
	Shard       int     `dynamodbav:"shard"`
}

func toCouponItem(p sale.Promotion, c sale.Coupon, shard int) CouponItem {
	return CouponItem{
		PK: couponPK(p, sale.CustomerID(c.CustomerID)), SK: c.CustomerID, Kind: KindCoupon,
		CouponID: c.ID, PromotionID: c.PromotionID, CustomerID: c.CustomerID,
		Discount: c.Discount, GrabbedAt: millis(c.GrabbedAt), Shard: shard,
	}
}

// Coupon turns a stored coupon back into the domain's, refusing items that
// lack what every coupon has.
func (it CouponItem) Coupon() (sale.Coupon, error) {
	if it.Kind != KindCoupon || it.CouponID == "" || it.PromotionID == "" || it.CustomerID == "" {
		return sale.Coupon{}, fmt.Errorf("stored coupon %q is malformed", it.PK)
	}
	return sale.Coupon{
		ID: it.CouponID, PromotionID: it.PromotionID, CustomerID: it.CustomerID,
		Discount: it.Discount, GrabbedAt: fromMillis(it.GrabbedAt),
	}, nil
}
