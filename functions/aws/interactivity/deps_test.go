package main

import (
	"flag"
	"testing"

	"github.com/driftwatch/driftwatch/functions/aws/internal/deptest"
)

var update = flag.Bool("update", false, "rewrite deps.txt")

// TestDependencies keeps deps.txt, the reviewed list of linked packages, in
// step with the code, and the Azure SDK down to what publishing approved
// Azure fixes needs: the Event Grid publisher (azeventgrid, and
// azsystemevents through azbus), azcore, and azidentity with MSAL for the
// Entra credential federated with the function's role (entrafed). No ARM
// client (sdk/resourcemanager) and no Azure fetcher or remediation code:
// the function holds no cloud permission and the Azure function applies
// the fixes. Likewise for GCP: the Pub/Sub publisher (pubsub/v2 and what
// it stands on: gax, the auth library, google.golang.org/api's transport)
// and the workload identity federation credential (gcpfed, oauth2's
// externalaccount), but no Google API client of a resource and no GCP
// fetcher or remediation code.
func TestDependencies(t *testing.T) {
	deptest.CheckAllowing(t, *update, deptest.Allowance{
		Allow: []string{
			"github.com/Azure/azure-sdk-for-go/sdk/azcore",
			"github.com/Azure/azure-sdk-for-go/sdk/azidentity",
			"github.com/Azure/azure-sdk-for-go/sdk/internal",
			"github.com/Azure/azure-sdk-for-go/sdk/messaging/eventgrid/azeventgrid",
			"github.com/Azure/azure-sdk-for-go/sdk/messaging/eventgrid/azsystemevents",
			"github.com/AzureAD/microsoft-authentication-library-for-go",
			"cloud.google.com/go/pubsub/v2",
			"cloud.google.com/go/auth",
			"cloud.google.com/go/compute/metadata",
			"cloud.google.com/go/iam",
			"cloud.google.com/go/internal",
			"github.com/googleapis/gax-go/v2",
			"github.com/googleapis/enterprise-certificate-proxy",
			"google.golang.org/api",
		},
		Deny: []string{
			"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager",
			"github.com/driftwatch/driftwatch/shared/azfetch",
			"github.com/driftwatch/driftwatch/shared/azremedy",
			"github.com/driftwatch/driftwatch/shared/azdetector",
			"google.golang.org/api/storage",
			"google.golang.org/api/compute",
			"google.golang.org/api/sqladmin",
			"google.golang.org/api/cloudresourcemanager",
			"google.golang.org/api/iam",
			"google.golang.org/api/cloudkms",
			"github.com/driftwatch/driftwatch/shared/gcpfetch",
			"github.com/driftwatch/driftwatch/shared/gcpremedy",
			"github.com/driftwatch/driftwatch/shared/gcpdetector",
		},
		Reason: "the interactivity function reads and changes no Azure or GCP resource",
	},
		"github.com/aws/aws-lambda-go/lambda", "github.com/aws/aws-sdk-go-v2/service/dynamodb", "github.com/aws/aws-sdk-go-v2/service/eventbridge",
		"github.com/aws/aws-sdk-go-v2/service/sts",
		"github.com/Azure/azure-sdk-for-go/sdk/messaging/eventgrid/azeventgrid", "github.com/Azure/azure-sdk-for-go/sdk/azidentity",
		"github.com/driftwatch/driftwatch/shared/entrafed",
		"cloud.google.com/go/pubsub/v2", "github.com/driftwatch/driftwatch/shared/gcpfed")
}
