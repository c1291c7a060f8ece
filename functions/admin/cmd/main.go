// Command admin runs the admin function as an HTTP server on $PORT.
package main

import (
	"github.com/seckill/seckill/functions/admin"
	"github.com/seckill/seckill/shared/web"
)

func main() { web.Run("admin", admin.FromEnv) }
