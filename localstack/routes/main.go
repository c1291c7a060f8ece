// Command routes prints the contract's route table, one "METHOD PATH
// FUNCTION" line per route, for scripts that build a gateway (the LocalStack
// deploy). Routes every function serves go to admin, as in template.yaml.
package main

import (
	"fmt"
	"sort"

	"github.com/seckill/seckill/shared/contract"
)

func main() {
	var lines []string
	for r, fn := range contract.Routes() {
		if fn == contract.Meta {
			fn = "admin"
		}
		lines = append(lines, fmt.Sprintf("%s %s %s", r.Method, r.Path, fn))
	}
	sort.Strings(lines)
	for _, l := range lines {
		fmt.Println(l)
	}
}
