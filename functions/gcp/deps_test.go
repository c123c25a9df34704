package main

import (
	"flag"
	"testing"

	"github.com/driftwatch/driftwatch/shared/deptest"
)

var update = flag.Bool("update", false, "rewrite deps.txt")

// policy keeps Azure's SDKs (MSAL included) out of the GCP function, and
// every AWS service client except the two the posture store in DynamoDB
// needs (sts, to exchange the service account's ID token for AWS
// credentials, and dynamodb itself). Cloud Run runs x86-64.
var policy = deptest.Policy{
	Function: "the GCP function", Dir: "functions/gcp", GOARCH: "amd64", Tags: []string{"grpcnotrace"},
	Forbidden: []string{
		"github.com/Azure/",
		"github.com/AzureAD/",
		"github.com/aws/aws-sdk-go-v2/service/s3",
		"github.com/aws/aws-sdk-go-v2/service/s3control",
		"github.com/aws/aws-sdk-go-v2/service/ec2",
		"github.com/aws/aws-sdk-go-v2/service/iam",
		"github.com/aws/aws-sdk-go-v2/service/kms",
		"github.com/aws/aws-sdk-go-v2/service/rds",
		"github.com/aws/aws-sdk-go-v2/service/cloudtrail",
		"github.com/aws/aws-sdk-go-v2/service/eventbridge",
		"github.com/aws/aws-sdk-go-v2/service/sqs",
		"github.com/aws/aws-sdk-go-v2/service/secretsmanager",
		"github.com/aws/aws-lambda-go",
	},
}

// TestDependencies keeps other clouds' SDKs out of the GCP function and
// deps.txt, the reviewed list of linked packages, in step with the code.
func TestDependencies(t *testing.T) {
	deptest.Check(t, *update, policy,
		"github.com/driftwatch/driftwatch/shared/gcpfunc",
		"github.com/driftwatch/driftwatch/shared/gcpevent",
		"github.com/driftwatch/driftwatch/shared/gcpfetch",
		"github.com/driftwatch/driftwatch/shared/gcpremedy",
		"cloud.google.com/go/pubsub/v2",
		"github.com/aws/aws-sdk-go-v2/service/dynamodb",
		"github.com/aws/aws-sdk-go-v2/service/sts")
}

// TestPolicy: the Google SDKs, the posture store's clients and the SDK's
// shared internals are allowed; Azure's and AWS's resource clients are
// not.
func TestPolicy(t *testing.T) {
	for pkg, forbidden := range map[string]bool{
		"github.com/Azure/azure-sdk-for-go/sdk/azcore":                                 true,
		"github.com/AzureAD/microsoft-authentication-library-for-go/apps/confidential": true,
		"github.com/aws/aws-sdk-go-v2/service/eventbridge":                             true,
		"github.com/aws/aws-lambda-go/lambda":                                          true,
		"github.com/aws/aws-sdk-go-v2/service/s3/types":                                true,
		"github.com/aws/aws-sdk-go-v2/service/dynamodb":                                false,
		"github.com/aws/aws-sdk-go-v2/service/sts":                                     false,
		"github.com/aws/aws-sdk-go-v2/service/internal/s3shared":                       false,
		"cloud.google.com/go/pubsub/v2":                                                false,
		"google.golang.org/api/compute/v1":                                             false,
	} {
		if _, got := policy.Forbids(pkg); got != forbidden {
			t.Errorf("Forbids(%s) = %v, want %v", pkg, got, forbidden)
		}
	}
}
