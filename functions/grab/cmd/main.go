// Command grab runs the grab function as an HTTP server on $PORT.
package main

import (
	"github.com/seckill/seckill/functions/grab"
	"github.com/seckill/seckill/shared/web"
)

func main() { web.Run("grab", grab.FromEnv) }
