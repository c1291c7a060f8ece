// Command projector keeps the coupons read model: on AWS Lambda it handles
// the stream event source mapping's batches; elsewhere it reads the sale
// table's stream itself.
package main

import (
	"github.com/seckill/seckill/functions/projector"
	"github.com/seckill/seckill/shared/entry"
	"github.com/seckill/seckill/shared/store"
	"github.com/seckill/seckill/shared/streams"
)

func main() {
	entry.Stream("projector", func(s *store.Store) streams.Handler { return projector.New(s).Handle })
}
