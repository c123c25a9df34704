package main

import (
	"flag"
	"testing"

	"github.com/driftwatch/driftwatch/shared/deptest"
)

var update = flag.Bool("update", false, "rewrite deps.txt")

// policy keeps Google Cloud's SDKs out of the Azure function, and every
// AWS service client except the two the posture store in DynamoDB needs
// (sts, to exchange the managed identity's token for AWS credentials, and
// dynamodb itself). The Linux Consumption plan runs x64 only.
var policy = deptest.Policy{
	Function: "the Azure function", Dir: "functions/azure", GOARCH: "amd64",
	Forbidden: []string{
		"cloud.google.com/",
		"google.golang.org/api/",
		"github.com/googleapis/",
		"github.com/aws/aws-sdk-go-v2/service/s3",
		"github.com/aws/aws-sdk-go-v2/service/s3control",
		"github.com/aws/aws-sdk-go-v2/service/ec2",
		"github.com/aws/aws-sdk-go-v2/service/iam",
		"github.com/aws/aws-sdk-go-v2/service/kms",
		"github.com/aws/aws-sdk-go-v2/service/rds",
		"github.com/aws/aws-sdk-go-v2/service/cloudtrail",
	},
}

// TestDependencies keeps other clouds' SDKs out of the Azure function and
// deps.txt, the reviewed list of linked packages, in step with the code.
func TestDependencies(t *testing.T) {
	deptest.Check(t, *update, policy,
		"github.com/driftwatch/driftwatch/shared/azfunc",
		"github.com/driftwatch/driftwatch/shared/azevent",
		"github.com/Azure/azure-sdk-for-go/sdk/messaging/eventgrid/azsystemevents",
		"github.com/golang-jwt/jwt/v5")
}

// TestPolicy: the posture store's clients and the SDK's shared internals
// are allowed; the other clouds' and AWS's resource clients are not.
func TestPolicy(t *testing.T) {
	for pkg, forbidden := range map[string]bool{
		"cloud.google.com/go/storage":                            true,
		"google.golang.org/api/compute/v1":                       true,
		"github.com/aws/aws-sdk-go-v2/service/s3/types":          true,
		"github.com/aws/aws-sdk-go-v2/service/iam":               true,
		"github.com/aws/aws-sdk-go-v2/service/dynamodb":          false,
		"github.com/aws/aws-sdk-go-v2/service/sts":               false,
		"github.com/aws/aws-sdk-go-v2/service/internal/s3shared": false,
		"github.com/Azure/azure-sdk-for-go/sdk/azcore":           false,
	} {
		if _, got := policy.Forbids(pkg); got != forbidden {
			t.Errorf("Forbids(%s) = %v, want %v", pkg, got, forbidden)
		}
	}
}
