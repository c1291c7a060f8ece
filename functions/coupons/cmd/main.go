// Command coupons runs the coupons function as an HTTP server on $PORT.
package main

import (
	"github.com/seckill/seckill/functions/coupons"
	"github.com/seckill/seckill/shared/web"
)

func main() { web.Run("coupons", coupons.FromEnv) }
