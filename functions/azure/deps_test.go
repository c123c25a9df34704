package main

import (
	"flag"
	"testing"

	"github.com/driftwatch/driftwatch/functions/azure/internal/deptest"
)

var update = flag.Bool("update", false, "rewrite deps.txt")

// TestDependencies keeps other clouds' SDKs out of the Azure function
// (AWS: only sts and dynamodb, for the posture store) and deps.txt, the
// reviewed list of linked packages, in step with the code.
func TestDependencies(t *testing.T) {
	deptest.Check(t, *update,
		"github.com/driftwatch/driftwatch/shared/azfunc",
		"github.com/driftwatch/driftwatch/shared/azevent",
		"github.com/Azure/azure-sdk-for-go/sdk/messaging/eventgrid/azsystemevents",
		"github.com/golang-jwt/jwt/v5")
}
