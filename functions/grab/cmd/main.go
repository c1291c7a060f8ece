// Command grab runs the grab function: on AWS Lambda when the runtime says so, else an HTTP server on $PORT.
package main

import (
	"github.com/seckill/seckill/functions/grab"
	"github.com/seckill/seckill/shared/entry"
)

func main() { entry.HTTP("grab", grab.FromEnv) }
