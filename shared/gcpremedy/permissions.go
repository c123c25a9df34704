package gcpremedy

import (
	"slices"

	"github.com/driftwatch/driftwatch/shared/gcpapi"
)

// operation is one REST method an action calls: its gcpapi declaration
// (path and the IAM permissions Google checks) and its method's name in
// the consumer interfaces of this package.
type operation struct {
	gcpapi.Operation
	method string
}

// operations lists exactly the methods of the consumer interfaces in this
// package (a test checks both directions). Each action's client carries
// gcpapi's transport declared with the operations of the action's own
// interface only, so a request of another action is refused too.
func operations() []operation {
	return []operation{
		{gcpapi.StorageBucketsGetIamPolicy, "GetIamPolicy"},
		{gcpapi.StorageBucketsSetIamPolicy, "SetIamPolicy"},
		{gcpapi.StorageBucketsGet, "GetBucket"},
		{gcpapi.StorageBucketsPatch, "PatchBucket"},
		{gcpapi.ComputeFirewallsGet, "GetFirewall"},
		// Changing a firewall rule changes its network's policy too:
		// compute.firewalls.update and compute.networks.updatePolicy.
		{gcpapi.ComputeFirewallsPatch, "PatchFirewall"},
		{gcpapi.ComputeGlobalOperationsGet, "GetGlobalOperation"},
		{gcpapi.SQLInstancesGet, "GetInstance"},
		{gcpapi.SQLInstancesPatch, "PatchInstance"},
		// Cloud SQL authorises reading an instance's operation with the
		// instance's own read permission.
		{gcpapi.SQLOperationsGet, "GetSQLOperation"},
		{gcpapi.KMSCryptoKeysGet, "GetCryptoKey"},
		{gcpapi.KMSCryptoKeysPatch, "PatchCryptoKey"},
	}
}

// operationByID returns the operation of a REST method id.
func operationByID(id string) operation {
	for _, op := range operations() {
		if op.ID == id {
			return op
		}
	}
	return operation{Operation: gcpapi.Operation{ID: id}}
}

// declare returns the gcpapi declarations of the given interface methods
// and their permissions, sorted and without duplicates: what an action's
// client may send and the action's Permissions.
func declare(methods ...string) (ops []gcpapi.Operation, perms []string) {
	for _, op := range operations() {
		if slices.Contains(methods, op.method) {
			ops = append(ops, op.Operation)
		}
	}
	return ops, gcpapi.Permissions(ops)
}

// Permissions returns the IAM permissions the actions of this package can
// need, sorted and without duplicates: the remediation role is generated
// from it. It equals the union of every action's Permissions (a test
// checks it).
func Permissions() []string {
	var ops []gcpapi.Operation
	for _, op := range operations() {
		ops = append(ops, op.Operation)
	}
	return gcpapi.Permissions(ops)
}
