package main

import (
	"flag"
	"testing"

	"github.com/driftwatch/driftwatch/functions/aws/internal/deptest"
)

var update = flag.Bool("update", false, "rewrite deps.txt")

// TestDependencies keeps the AWS SDK the only cloud SDK linked and deps.txt,
// the reviewed list of linked packages, in step with the code.
func TestDependencies(t *testing.T) {
	deptest.Check(t, *update, "github.com/aws/aws-lambda-go/lambda", "github.com/aws/aws-sdk-go-v2/service/dynamodb", "github.com/aws/aws-sdk-go-v2/service/eventbridge")
}
