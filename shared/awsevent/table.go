package awsevent

import (
	"github.com/driftwatch/driftwatch/shared/awsres"
)

// Mapping is one row of the event table: a CloudTrail operation and the
// resources whose posture it can change.
type Mapping struct {
	// Source is the CloudTrail eventSource (s3.amazonaws.com).
	Source string
	// Operation is the CloudTrail eventName (PutBucketAcl).
	Operation string
	// Refs are the resources the operation references, in the order they
	// appear in the resulting Change.
	Refs []RefSpec
	// Kind says why the operation is in the table.
	Kind Kind
}

// Kind is why an operation is mapped.
type Kind string

// The reasons an operation is mapped. Every KindPosture operation is the
// trigger of at least one rule (a test checks it against the catalogue).
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

// RefSpec says where one resource reference of an operation lives in the
// CloudTrail record.
//
// A RefSpec without Paths references an account-level resource
// (awsres.TypeAccount or awsres.TypeAccountRegion) that is always known
// from the record itself.
type RefSpec struct {
	// Type is the awsres resource type (awsres.TypeS3Bucket, ...).
	Type string
	// Paths are dotted JSON paths rooted at the record, each starting with
	// requestParameters or responseElements. They are tried in order and the
	// first one that yields a non-empty string wins. A path segment that
	// meets an array applies the rest of the path to every element, so one
	// path can yield several resources. Keys match exactly first and then
	// case-insensitively, because CloudTrail's casing of the same parameter
	// varies between services and API versions.
	Paths []string
	// CallerFallback applies when no path yields a name: the operation then
	// acted on the caller's own credentials (IAM access keys and login
	// profiles default to the signing user). An IAMUser caller references
	// its own user; a Root caller references the account, which holds the
	// root credentials.
	CallerFallback bool
}

// Event sources of the mapped services.
const (
	sourceS3         = "s3.amazonaws.com"
	sourceEC2        = "ec2.amazonaws.com"
	sourceCloudTrail = "cloudtrail.amazonaws.com"
	sourceKMS        = "kms.amazonaws.com"
	sourceIAM        = "iam.amazonaws.com"
	sourceRDS        = "rds.amazonaws.com"
)

// Table returns the built-in event table: every CloudTrail operation
// driftwatch reacts to and where the record names the resources it changed.
// Rules check their trigger operations against it and infra generates the
// EventBridge pattern from it. Each call returns a fresh copy.
//
// Where the id lives was read off real records (the external corpus), not
// the API reference: CloudTrail writes request parameters in lower camel
// case (dBInstanceIdentifier), keeps some request wrappers verbatim
// (ModifySecurityGroupRulesRequest.GroupId) and puts the authoritative ARN in
// responseElements when the request may name the resource loosely (a trail
// name, a key alias). Response paths therefore come first where a response
// carries an ARN.
func Table() []Mapping {
	var t []Mapping
	kinds := map[string]Kind{
		"CreateSecurityGroup": KindLifecycle, "CreateUser": KindLifecycle, "CreateRole": KindLifecycle,
		"CreatePolicy": KindLifecycle, "DeleteDBInstance": KindLifecycle,
		"PutBucketTagging": KindScope, "DeleteBucketTagging": KindScope,
	}
	add := func(source string, refs []RefSpec, ops ...string) {
		for _, op := range ops {
			kind, ok := kinds[op]
			if !ok {
				kind = KindPosture
			}
			t = append(t, Mapping{Source: source, Operation: op, Refs: refs, Kind: kind})
		}
	}
	ref := func(typ string, paths ...string) RefSpec { return RefSpec{Type: typ, Paths: paths} }
	refs := func(r ...RefSpec) []RefSpec { return r }

	account := ref(awsres.TypeAccount)
	accountRegion := ref(awsres.TypeAccountRegion)

	// S3. Bucket subresource calls always carry bucketName, whether the
	// request was path- or virtual-host-style.
	add(sourceS3, refs(ref(awsres.TypeS3Bucket, "requestParameters.bucketName")),
		"CreateBucket", "PutBucketAcl", "PutBucketPolicy", "DeleteBucketPolicy",
		"PutBucketPublicAccessBlock", "DeleteBucketPublicAccessBlock",
		"PutBucketEncryption", "DeleteBucketEncryption", "PutBucketVersioning",
		"PutBucketLogging", "PutBucketOwnershipControls", "DeleteBucketOwnershipControls",
		"PutBucketTagging", "DeleteBucketTagging")
	// The S3 Control account Block Public Access calls are logged with
	// eventSource s3.amazonaws.com (the host is <account>.s3-control...), as
	// the corpus records show; there is no s3-control event source.
	add(sourceS3, refs(account), "PutAccountPublicAccessBlock", "DeleteAccountPublicAccessBlock")

	// EC2 security groups. Since 2021 Authorize* responses list the created
	// rules with their groupId, which covers requests that named the group
	// only by groupName (default VPC).
	add(sourceEC2, refs(ref(awsres.TypeSecurityGroup,
		"requestParameters.groupId", "responseElements.securityGroupRuleSet.items.groupId")),
		"AuthorizeSecurityGroupIngress", "AuthorizeSecurityGroupEgress")
	add(sourceEC2, refs(ref(awsres.TypeSecurityGroup, "requestParameters.groupId")),
		"RevokeSecurityGroupIngress", "RevokeSecurityGroupEgress")
	add(sourceEC2, refs(ref(awsres.TypeSecurityGroup, "requestParameters.ModifySecurityGroupRulesRequest.GroupId")),
		"ModifySecurityGroupRules")
	add(sourceEC2, refs(ref(awsres.TypeSecurityGroup, "responseElements.groupId")),
		"CreateSecurityGroup")
	// EBS encryption by default is a per-Region account setting.
	add(sourceEC2, refs(accountRegion),
		"EnableEbsEncryptionByDefault", "DisableEbsEncryptionByDefault")

	// CloudTrail. The trail name parameter may be a name or an ARN; an ARN
	// carries the trail's home Region and account. Every trail change also
	// references the account, where the "a multi-Region trail is logging"
	// rule lives: deleting or stopping one trail can break it.
	trail := func(paths ...string) []RefSpec { return refs(ref(awsres.TypeTrail, paths...), account) }
	add(sourceCloudTrail, trail("responseElements.trailARN", "requestParameters.name"),
		"CreateTrail", "UpdateTrail")
	add(sourceCloudTrail, trail("requestParameters.name"),
		"DeleteTrail", "StartLogging", "StopLogging")
	add(sourceCloudTrail, trail("responseElements.trailARN", "requestParameters.trailName"),
		"PutEventSelectors")

	// KMS. keyId may be a key id, a key ARN, an alias name or an alias ARN
	// (see Normalizer for how aliases are referenced); responses carry the
	// key ARN, so they come first.
	add(sourceKMS, refs(ref(awsres.TypeKMSKey, "responseElements.keyMetadata.arn", "responseElements.keyMetadata.keyId")),
		"CreateKey")
	add(sourceKMS, refs(ref(awsres.TypeKMSKey, "responseElements.keyId", "requestParameters.keyId")),
		"ScheduleKeyDeletion", "CancelKeyDeletion")
	add(sourceKMS, refs(ref(awsres.TypeKMSKey, "requestParameters.keyId")),
		"EnableKeyRotation", "DisableKeyRotation", "DisableKey", "EnableKey")

	// IAM. Names, not ARNs: CanonicalID drops principal paths so that
	// events naming a principal without its path resolve to one resource.
	user := ref(awsres.TypeIAMUser, "requestParameters.userName")
	role := ref(awsres.TypeIAMRole, "requestParameters.roleName")
	group := ref(awsres.TypeIAMGroup, "requestParameters.groupName")
	policy := ref(awsres.TypeIAMPolicy, "requestParameters.policyArn")
	callerUser := user
	callerUser.CallerFallback = true
	add(sourceIAM, refs(user, policy), "AttachUserPolicy", "DetachUserPolicy")
	add(sourceIAM, refs(user), "PutUserPolicy", "DeleteUserPolicy", "CreateUser")
	// The access key calls default to the signing user when userName is
	// absent; a root caller acts on the root user, whose keys are an
	// account setting.
	add(sourceIAM, refs(callerUser), "CreateAccessKey", "UpdateAccessKey", "DeleteAccessKey")
	add(sourceIAM, refs(role, policy), "AttachRolePolicy", "DetachRolePolicy")
	add(sourceIAM, refs(role), "PutRolePolicy", "DeleteRolePolicy", "CreateRole", "UpdateAssumeRolePolicy")
	add(sourceIAM, refs(group, policy), "AttachGroupPolicy", "DetachGroupPolicy")
	add(sourceIAM, refs(group), "PutGroupPolicy", "DeleteGroupPolicy")
	add(sourceIAM, refs(policy), "CreatePolicyVersion", "SetDefaultPolicyVersion")
	// CreatePolicy names the policy only by name and path in the request;
	// the response ARN is the only exact id.
	add(sourceIAM, refs(ref(awsres.TypeIAMPolicy, "responseElements.policy.arn")), "CreatePolicy")
	add(sourceIAM, refs(account), "UpdateAccountPasswordPolicy", "DeleteAccountPasswordPolicy")

	// RDS. Successful calls return the instance ARN; the request names the
	// new instance as dBInstanceIdentifier, except for point-in-time
	// restores (targetDBInstanceIdentifier).
	add(sourceRDS, refs(ref(awsres.TypeDBInstance, "responseElements.dBInstanceArn", "requestParameters.dBInstanceIdentifier")),
		"CreateDBInstance", "ModifyDBInstance", "RestoreDBInstanceFromDBSnapshot",
		"RestoreDBInstanceFromS3", "CreateDBInstanceReadReplica", "DeleteDBInstance")
	add(sourceRDS, refs(ref(awsres.TypeDBInstance, "responseElements.dBInstanceArn", "requestParameters.targetDBInstanceIdentifier")),
		"RestoreDBInstanceToPointInTime")
	return t
}
