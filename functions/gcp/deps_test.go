package main

import (
	"flag"
	"testing"

	"github.com/driftwatch/driftwatch/functions/gcp/internal/deptest"
)

var update = flag.Bool("update", false, "rewrite deps.txt")

// TestDependencies keeps other clouds' SDKs out of the GCP function (AWS:
// only sts and dynamodb, for the posture store) and deps.txt, the
// reviewed list of linked packages, in step with the code.
func TestDependencies(t *testing.T) {
	deptest.Check(t, *update,
		"github.com/driftwatch/driftwatch/shared/gcpfunc",
		"github.com/driftwatch/driftwatch/shared/gcpevent",
		"github.com/driftwatch/driftwatch/shared/gcpfetch",
		"github.com/driftwatch/driftwatch/shared/gcpremedy",
		"cloud.google.com/go/pubsub/v2",
		"github.com/aws/aws-sdk-go-v2/service/dynamodb",
		"github.com/aws/aws-sdk-go-v2/service/sts")
}
