// Command mktable creates the DynamoDB posture table (pay-per-request, the
// open-findings index and TTL) for development, e.g. against a local
// emulator: AWS_ENDPOINT_URL=http://127.0.0.1:5000 make table. It is
// idempotent. Production tables come from infra/aws.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"

	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/driftwatch/driftwatch/shared/store/dynamostore"
)

func main() {
	table := flag.String("table", os.Getenv("DRIFTWATCH_TABLE"), "table name (default $DRIFTWATCH_TABLE)")
	flag.Parse()
	if *table == "" {
		fmt.Fprintln(os.Stderr, "mktable: -table or DRIFTWATCH_TABLE is required")
		os.Exit(2)
	}
	ctx := context.Background()
	cfg, err := config.LoadDefaultConfig(ctx)
	if err != nil {
		fmt.Fprintln(os.Stderr, "mktable: AWS configuration:", err)
		os.Exit(1)
	}
	if err := dynamostore.CreateTable(ctx, dynamodb.NewFromConfig(cfg), *table); err != nil {
		fmt.Fprintln(os.Stderr, "mktable:", err)
		os.Exit(1)
	}
	fmt.Printf("table %s is ready\n", *table)
}
