// Command coupons runs the coupons function: on AWS Lambda when the runtime says so, else an HTTP server on $PORT.
package main

import (
	"github.com/seckill/seckill/functions/coupons"
	"github.com/seckill/seckill/shared/entry"
)

func main() { entry.HTTP("coupons", coupons.FromEnv) }
