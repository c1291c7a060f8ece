// Command tables creates SecKill's tables, as shared/store defines them, at
// AWS_ENDPOINT_URL_DYNAMODB (LocalStack, a shared dev DynamoDB). Creating
// them again is harmless.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"

	"github.com/seckill/seckill/shared/store"
)

func main() {
	prefix := flag.String("prefix", "seckill", "prefix of the table names")
	flag.Parse()
	ctx := context.Background()
	db, err := store.NewClient(ctx, os.Getenv("AWS_ENDPOINT_URL_DYNAMODB"))
	if err == nil {
		err = store.CreateTables(ctx, db, store.TablesWithPrefix(*prefix))
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "tables:", err)
		os.Exit(1)
	}
}
