// Command admin runs the admin function: on AWS Lambda when the runtime says so, else an HTTP server on $PORT.
package main

import (
	"github.com/seckill/seckill/functions/admin"
	"github.com/seckill/seckill/shared/entry"
)

func main() { entry.HTTP("admin", admin.FromEnv) }
