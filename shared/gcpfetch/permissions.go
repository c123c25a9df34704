package gcpfetch

import (
	"github.com/driftwatch/driftwatch/shared/gcpapi"
)

// operation ties one method of a consumer interface to the REST method it
// sends.
type operation struct {
	// api is the interface and method ("storageAPI.GetBucket").
	api string
	op  gcpapi.Operation
}

// operations lists exactly the methods of the consumer interfaces in this
// package (a test checks both directions, and that each method sends the
// request its operation declares). The permissions are those Google's
// reference pages give for each method.
func operations() []operation {
	return []operation{
		{"storageAPI.GetBucket", gcpapi.StorageBucketsGet},
		{"storageAPI.GetBucketPolicy", gcpapi.StorageBucketsGetIamPolicy},
		{"computeAPI.GetFirewall", gcpapi.ComputeFirewallsGet},
		{"sqlAPI.GetInstance", gcpapi.SQLInstancesGet},
		{"projectsAPI.GetProject", gcpapi.ResourceManagerProjectsGet},
		{"projectsAPI.GetProjectPolicy", gcpapi.ResourceManagerProjectsGetIamPolicy},
		{"iamAPI.GetServiceAccount", gcpapi.IAMServiceAccountsGet},
		{"iamAPI.ListServiceAccountKeys", gcpapi.IAMServiceAccountKeysList},
		{"kmsAPI.GetCryptoKey", gcpapi.KMSCryptoKeysGet},
	}
}

// declaredOperations returns the operations every client of a Fetcher
// allows.
func declaredOperations() []gcpapi.Operation {
	var ops []gcpapi.Operation
	for _, o := range operations() {
		ops = append(ops, o.op)
	}
	return ops
}

// Permissions returns the IAM permissions a Fetcher can need, sorted and
// without duplicates. Infrastructure generates the detector's custom
// read-only role from it.
func Permissions() []string {
	return gcpapi.Permissions(declaredOperations())
}
