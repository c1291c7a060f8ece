package sale

// A DynamoDB partition takes about 1,000 write units a second and a
// transactional write costs two per item, so one inventory item tops out near
// 500 grants a second. Stock is therefore split over several items. Each shard
// should hold enough coupons that a sale does not spend most of its time
// hopping between nearly empty shards, and the count stays small enough that
// creating or replacing a promotion (promotion + every old and new shard) fits
// in one 100-item transaction.
const (
	MaxShards       = 32
	couponsPerShard = 100
)

// ShardCount chooses how many inventory shards hold total coupons.
func ShardCount(total int) int {
	n := (total + couponsPerShard - 1) / couponsPerShard
	return max(1, min(n, MaxShards))
}

// SplitStock spreads total coupons over n shards as evenly as possible; the
// first total%n shards hold one more.
func SplitStock(total, n int) []int {
	out := make([]int, n)
	for i := range out {
		out[i] = total / n
		if i < total%n {
			out[i]++
		}
	}
	return out
}
