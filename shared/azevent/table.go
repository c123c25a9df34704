package azevent

import (
	"github.com/driftwatch/driftwatch/shared/azres"
)

// Mapping is one row of the operation table: an ARM operation and the
// resource whose posture it can change.
type Mapping struct {
	// Operation is the ARM operation name as data.operationName carries it
	// (Microsoft.Storage/storageAccounts/write). Events match it
	// case-insensitively, as ARM does; the Change carries this spelling.
	Operation string
	// Type is the azres type of the resource the rules evaluate
	// (azres.TypeNSG for a security rule write). Empty means "the target's
	// own type, when it is one of azres.Types()": operations on extension
	// resources such as tags apply to whatever resource they are attached to.
	Type string
	// Target says which resource of data.resourceUri that is.
	Target Target
	// Kind says why the operation is in the table.
	Kind Kind
}

// Target says where the evaluated resource is, relative to the resource an
// operation names in data.resourceUri.
type Target string

// The targets. A sub-resource write (an NSG security rule, a SQL firewall
// rule, a database's TDE) changes the posture of its parent.
const (
	// TargetSelf is the resource in resourceUri.
	TargetSelf Target = "self"
	// TargetParent is its parent (the NSG of a security rule).
	TargetParent Target = "parent"
	// TargetGrandparent is its parent's parent (the storage account of a
	// blob container).
	TargetGrandparent Target = "grandparent"
	// TargetSubscription is the subscription, for a resource directly at
	// subscription scope (/subscriptions/<id>/providers/...): the Activity
	// Log diagnostic settings are such resources. The same resource type
	// attached to anything else (a Key Vault's diagnostic settings) is not
	// a subscription setting, and its events are dropped as unsupported.
	TargetSubscription Target = "subscription"
)

// levels is how far up the resource id a target is.
func (t Target) levels() (int, bool) {
	switch t {
	case TargetSelf:
		return 0, true
	case TargetParent, TargetSubscription:
		return 1, true
	case TargetGrandparent:
		return 2, true
	}
	return 0, false
}

// Kind is why an operation is mapped.
type Kind string

// The reasons an operation is mapped. Every KindPosture operation should be
// the trigger of at least one Azure rule.
const (
	// KindPosture operations can change the result of a rule.
	KindPosture Kind = "posture"
	// KindLifecycle operations create or delete the resource: the first
	// observation is the baseline later drift is shown against, and a
	// deletion resolves the resource's findings.
	KindLifecycle Kind = "lifecycle"
	// KindScope operations change tags, which rules' `when` conditions read
	// to put a resource in or out of scope.
	KindScope Kind = "scope"
)

// Table returns the built-in operation table: every ARM operation
// driftwatch reacts to and which resource's posture it changes. The
// normalizer maps events with it, and infra generates the Event Grid
// subscription filter from it (SubscriptionFilters). Each call returns a
// fresh copy.
//
// Each evaluated setting is written by the operations below and by no
// other: storage account, Key Vault and SQL server properties by the
// resource's own PUT/PATCH (…/write); NSG rules either inline in the NSG's
// PUT or one by one as securityRules; SQL firewall rules, auditing and TDE
// as child resources; the Activity Log exports as diagnostic settings at
// subscription scope.
func Table() []Mapping {
	var t []Mapping
	add := func(typ string, target Target, kind Kind, ops ...string) {
		for _, op := range ops {
			t = append(t, Mapping{Operation: op, Type: typ, Target: target, Kind: kind})
		}
	}

	add(azres.TypeStorageAccount, TargetSelf, KindPosture, "Microsoft.Storage/storageAccounts/write")
	add(azres.TypeStorageAccount, TargetSelf, KindLifecycle, "Microsoft.Storage/storageAccounts/delete")

	add(azres.TypeNSG, TargetSelf, KindPosture, "Microsoft.Network/networkSecurityGroups/write")
	add(azres.TypeNSG, TargetSelf, KindLifecycle, "Microsoft.Network/networkSecurityGroups/delete")
	add(azres.TypeNSG, TargetParent, KindPosture,
		"Microsoft.Network/networkSecurityGroups/securityRules/write",
		"Microsoft.Network/networkSecurityGroups/securityRules/delete")

	add(azres.TypeSQLServer, TargetSelf, KindPosture, "Microsoft.Sql/servers/write")
	add(azres.TypeSQLServer, TargetSelf, KindLifecycle, "Microsoft.Sql/servers/delete")
	// Auditing has two child resources: the portal writes the extended
	// policy, older clients and templates the plain one; both set the
	// server's auditing state. Neither can be deleted, only disabled.
	add(azres.TypeSQLServer, TargetParent, KindPosture,
		"Microsoft.Sql/servers/firewallRules/write",
		"Microsoft.Sql/servers/firewallRules/delete",
		"Microsoft.Sql/servers/auditingSettings/write",
		"Microsoft.Sql/servers/extendedAuditingSettings/write")
	// A database's PUT cannot turn TDE off (only its
	// transparentDataEncryption child can), so creating one is lifecycle:
	// the baseline observation.
	add(azres.TypeSQLDatabase, TargetSelf, KindLifecycle,
		"Microsoft.Sql/servers/databases/write",
		"Microsoft.Sql/servers/databases/delete")
	add(azres.TypeSQLDatabase, TargetParent, KindPosture,
		"Microsoft.Sql/servers/databases/transparentDataEncryption/write")

	add(azres.TypeKeyVault, TargetSelf, KindPosture, "Microsoft.KeyVault/vaults/write")
	add(azres.TypeKeyVault, TargetSelf, KindLifecycle, "Microsoft.KeyVault/vaults/delete")

	// Deleting the Activity Log export breaks the subscription's posture:
	// both are posture operations of the subscription.
	add(azres.TypeSubscription, TargetSubscription, KindPosture,
		"Microsoft.Insights/diagnosticSettings/write",
		"Microsoft.Insights/diagnosticSettings/delete")

	// The Tags API writes a resource's tags as the extension resource
	// <resource>/providers/Microsoft.Resources/tags/default, without a
	// write of the resource itself.
	add("", TargetParent, KindScope,
		"Microsoft.Resources/tags/write",
		"Microsoft.Resources/tags/delete")
	return t
}
