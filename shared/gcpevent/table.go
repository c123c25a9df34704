package gcpevent

import "github.com/driftwatch/driftwatch/shared/gcpres"

// The resource types the table maps to (gcpres's).
const (
	typeBucket         = gcpres.TypeBucket
	typeFirewall       = gcpres.TypeFirewall
	typeSQLInstance    = gcpres.TypeSQLInstance
	typeProject        = gcpres.TypeProject
	typeServiceAccount = gcpres.TypeServiceAccount
	typeCryptoKey      = gcpres.TypeCryptoKey
)

// Mapping is one row of the method table: an audited API method and the
// resource whose posture it can change.
type Mapping struct {
	// Method is protoPayload.methodName exactly as Cloud Audit Logs spell
	// it (v1.compute.firewalls.insert, CreateCryptoKey). Events match it
	// case-sensitively: the Log Router compares it as written.
	Method string
	// Service is protoPayload.serviceName. A method name alone is
	// ambiguous (SetIamPolicy exists in many services), so a row matches
	// the pair.
	Service string
	// Type is the resource type the rules evaluate. It also decides how
	// the resource's canonical id is read from protoPayload.resourceName
	// (and resource.labels): see resourceOf.
	Type string
	// Kind says why the method is in the table.
	Kind Kind
}

// Kind is why a method is mapped.
type Kind string

// The reasons a method is mapped, as in awsevent and azevent.
const (
	// KindPosture methods can change the result of a rule. A create that
	// can set the evaluated settings (a bucket's IAM, a firewall's
	// ranges) is posture, as CreateBucket is for AWS.
	KindPosture Kind = "posture"
	// KindLifecycle methods delete the resource: a deletion resolves the
	// resource's findings.
	KindLifecycle Kind = "lifecycle"
	// KindScope methods change labels or tags, which rules' `when`
	// conditions read. No GCP row uses it yet.
	KindScope Kind = "scope"
)

// Table returns the built-in method table: every audited method
// driftwatch reacts to and which resource's posture it changes. The
// normalizer maps LogEntries with it, and infra's Log Router sink filter is
// generated from it (SinkFilter). Each call returns a fresh copy.
//
// Method names are those the audit logs carry (the corpus and
// reference/controls.csv): Cloud Storage logs a bucket PATCH as
// storage.buckets.update (there is no storage.buckets.patch method name)
// and IAM changes as storage.setIamPermissions; Cloud SQL logs
// cloudsql.instances.*; Cloud KMS logs short names (CreateCryptoKey);
// Resource Manager v1 logs SetIamPolicy, v3 the fully qualified name.
// Cloud SQL's PATCH is logged as cloudsql.instances.update as far as the
// corpus shows; no cloudsql.instances.patch row is guessed.
func Table() []Mapping {
	var t []Mapping
	add := func(service, typ string, kind Kind, methods ...string) {
		for _, m := range methods {
			t = append(t, Mapping{Method: m, Service: service, Type: typ, Kind: kind})
		}
	}
	const (
		storage = "storage.googleapis.com"
		compute = "compute.googleapis.com"
		sql     = "cloudsql.googleapis.com"
		crm     = "cloudresourcemanager.googleapis.com"
		iam     = "iam.googleapis.com"
		kms     = "cloudkms.googleapis.com"
	)

	add(storage, typeBucket, KindPosture, "storage.buckets.create", "storage.buckets.update", "storage.setIamPermissions")
	add(storage, typeBucket, KindLifecycle, "storage.buckets.delete")

	// A new or widened rule is the drift; a deleted one resolves its
	// findings, but it can also be the deletion of a deny rule that
	// shadowed an allow: posture.
	for _, v := range []string{"v1", "beta"} {
		add(compute, typeFirewall, KindPosture,
			v+".compute.firewalls.insert", v+".compute.firewalls.patch",
			v+".compute.firewalls.update", v+".compute.firewalls.delete")
	}

	add(sql, typeSQLInstance, KindPosture, "cloudsql.instances.create", "cloudsql.instances.update",
		"cloudsql.instances.clone")
	add(sql, typeSQLInstance, KindLifecycle, "cloudsql.instances.delete")

	// The project's IAM policy (and its audit config, which the same call
	// carries). Resource Manager v1 and v3 name the method differently.
	add(crm, typeProject, KindPosture, "SetIamPolicy", "google.cloud.resourcemanager.v3.Projects.SetIamPolicy")

	// A key changes its service account's posture (user-managed keys).
	add(iam, typeServiceAccount, KindPosture,
		"google.iam.admin.v1.CreateServiceAccountKey", "google.iam.admin.v1.UploadServiceAccountKey",
		"google.iam.admin.v1.DeleteServiceAccountKey", "google.iam.admin.v1.DisableServiceAccountKey",
		"google.iam.admin.v1.EnableServiceAccountKey")

	add(kms, typeCryptoKey, KindPosture, "CreateCryptoKey", "UpdateCryptoKey")
	return t
}
