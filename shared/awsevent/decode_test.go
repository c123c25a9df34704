package awsevent

import (
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/driftwatch/driftwatch/shared/awsres"
	"github.com/driftwatch/driftwatch/shared/change"
)

// corpusRecord returns one corpus record, decoded for editing. src is
// "targeted/<file>#<i>" or "records-all.jsonl#<i>"; an EventBridge envelope
// yields its detail. The record must be the operation the case expects.
func corpusRecord(t *testing.T, src, wantOp string) map[string]any {
	t.Helper()
	file, idx, ok := strings.Cut(src, "#")
	i, err := strconv.Atoi(idx)
	if !ok || err != nil {
		t.Fatalf("bad corpus reference %q", src)
	}
	dir := corpusDir(t)
	var items []json.RawMessage
	if strings.HasSuffix(file, ".jsonl") {
		for _, in := range jsonlInputs(t, dir, file) {
			items = append(items, in.raw)
		}
	} else {
		var wrapped []struct {
			Record json.RawMessage `json:"record"`
			Event  json.RawMessage `json:"event"`
		}
		if err := json.Unmarshal(readFile(t, filepath.Join(dir, file)), &wrapped); err != nil {
			t.Fatalf("%s: %v", file, err)
		}
		for _, w := range wrapped {
			items = append(items, append(w.Record, w.Event...))
		}
	}
	if i >= len(items) {
		t.Fatalf("%s has %d items, no #%d", file, len(items), i)
	}
	var rec map[string]any
	if err := json.Unmarshal(items[i], &rec); err != nil {
		t.Fatalf("%s: %v", src, err)
	}
	if d, ok := rec["detail"].(map[string]any); ok {
		rec = d
	}
	if rec["eventName"] != wantOp {
		t.Fatalf("%s is %v, not %s: the corpus changed", src, rec["eventName"], wantOp)
	}
	return rec
}

// ref is the expected part of a resource reference.
type ref struct{ typ, id, name, account, region string }

func refsOf(c change.Change) []ref {
	var out []ref
	for _, r := range c.Resources {
		out = append(out, ref{r.Type, r.ID, r.Name, r.Account, r.Region})
	}
	return out
}

// opCase normalizes one corpus record, optionally edited into a record of
// another operation. Edits are used only where the corpus holds no record of
// the operation: they keep a real record's envelope (identity, agent, ids)
// and replace the operation and its parameters with the shape CloudTrail
// logs for it.
type opCase struct {
	op   string // the operation under test
	src  string // corpus record
	base string // eventName of src when it is edited into op
	req  any    // replaces requestParameters when non-nil
	resp any    // replaces responseElements when non-nil
	edit func(rec map[string]any)
	want []ref
	drop change.DropReason
}

func TestOperations(t *testing.T) {
	const (
		stratusAcct = "229654561268"
		kmsKeyID    = "1234abcd-12ab-34cd-56ef-1234567890ab"
	)
	bucket := func(name string) ref {
		return ref{awsres.TypeS3Bucket, "arn:aws:s3:::" + name, name, "", ""}
	}
	// S3 fixtures from panther-analysis: account 123456789012, us-west-2.
	s3 := func(name string) ref {
		r := bucket(name)
		r.account, r.region = "123456789012", "us-west-2"
		return r
	}
	iamRef := func(typ, kind, account, name string) ref {
		return ref{typ, "arn:aws:iam::" + account + ":" + kind + "/" + name, name, account, ""}
	}
	policy := func(account, name string) ref {
		return ref{awsres.TypeIAMPolicy, "arn:aws:iam::aws:policy/" + name, name, account, ""}
	}
	account := func(id string) ref { return ref{awsres.TypeAccount, id, id, id, ""} }
	sg := func(region, account, id string) ref {
		return ref{awsres.TypeSecurityGroup, "arn:aws:ec2:" + region + ":" + account + ":security-group/" + id, id, account, region}
	}
	trail := func(region, account, name string) ref {
		return ref{awsres.TypeTrail, "arn:aws:cloudtrail:" + region + ":" + account + ":trail/" + name, name, account, region}
	}
	key := func(region, account, id string) ref {
		return ref{awsres.TypeKMSKey, "arn:aws:kms:" + region + ":" + account + ":key/" + id, id, account, region}
	}
	db := func(region, account, id string) ref {
		return ref{awsres.TypeDBInstance, "arn:aws:rds:" + region + ":" + account + ":db:" + id, id, account, region}
	}
	many := func(r ...ref) []ref { return r }
	s3Params := func(extra string) map[string]any {
		return map[string]any{"bucketName": "bucket", "host": []any{"bucket.s3.us-west-2.amazonaws.com"}, extra: []any{""}}
	}
	// Stratus IAM user "christophe" in 229654561268 (AttachUserPolicy#0).
	const stratusIAM = "targeted/AttachUserPolicy.json#0"
	christophe := iamRef(awsres.TypeIAMUser, "user", stratusAcct, "christophe")

	cases := []opCase{
		// S3 buckets.
		// An EventBridge envelope from cloud-custodian with no recipientAccountId.
		{op: "CreateBucket", src: "targeted/CreateBucket.json#0", want: many(func() ref {
			r := bucket("custodian-create-bucket-v4")
			r.account, r.region = "619193117841", "us-west-2"
			return r
		}())},
		{op: "PutBucketAcl", src: "targeted/PutBucketAcl.json#0", want: many(s3("bucket"))},
		{op: "PutBucketAcl", src: "targeted/PutBucketAcl.json#1", drop: change.ReasonFailed},
		{op: "PutBucketPolicy", src: "targeted/PutBucketPolicy.json#0", want: many(s3("example-bucket"))},
		{op: "PutBucketPolicy", src: "targeted/PutBucketPolicy.json#2", drop: change.ReasonNoResource}, // requestParameters: null
		{op: "DeleteBucketPolicy", src: "targeted/DeleteBucketPolicy.json#0", want: many(func() ref {
			r := bucket("myawsbucket")
			r.account, r.region = "111122223333", "us-west-2"
			return r
		}())},
		{op: "PutBucketPublicAccessBlock", src: "targeted/PutBucketPublicAccessBlock.json#0", want: many(samples("corporate-documents"))},
		{op: "DeleteBucketPublicAccessBlock", src: "targeted/DeleteBucketPublicAccessBlock.json#0", want: many(samples("corporate-documents"))},
		// Same name, wrong service: panther's negative fixture.
		{op: "DeleteBucketPublicAccessBlock", src: "targeted/DeleteBucketPublicAccessBlock.json#2", drop: change.ReasonUnsupported},
		{op: "PutBucketEncryption", src: "targeted/PutBucketEncryption.json#0", want: many(samples("sensitive-data-bucket"))},
		{op: "DeleteBucketEncryption", src: "targeted/DeleteBucketEncryption.json#0", want: many(samples("sensitive-data-bucket"))},
		{op: "PutBucketVersioning", src: "targeted/PutBucketVersioning.json#0", want: many(s3("bucket"))},
		{op: "PutBucketLogging", src: "targeted/PutBucketLogging.json#0", want: many(func() ref {
			r := samples("critical-data-bucket")
			r.region = "us-west-2"
			return r
		}())},
		{op: "PutBucketOwnershipControls", src: "targeted/PutBucketVersioning.json#0", base: "PutBucketVersioning",
			req: s3Params("ownershipControls"), want: many(s3("bucket"))},
		{op: "DeleteBucketOwnershipControls", src: "targeted/PutBucketVersioning.json#0", base: "PutBucketVersioning",
			req: s3Params("ownershipControls"), want: many(s3("bucket"))},
		{op: "PutBucketTagging", src: "targeted/PutBucketVersioning.json#0", base: "PutBucketVersioning",
			req: s3Params("tagging"), want: many(s3("bucket"))},
		{op: "DeleteBucketTagging", src: "targeted/PutBucketVersioning.json#0", base: "PutBucketVersioning",
			req: s3Params("tagging"), want: many(s3("bucket"))},

		// Account-level settings.
		{op: "PutAccountPublicAccessBlock", src: "targeted/PutAccountPublicAccessBlock.json#0", want: many(account("123456789123"))},
		{op: "DeleteAccountPublicAccessBlock", src: "targeted/DeleteAccountPublicAccessBlock.json#0", want: many(account("123456789123"))},
		{op: "UpdateAccountPasswordPolicy", src: stratusIAM, base: "AttachUserPolicy",
			req: map[string]any{"minimumPasswordLength": 14, "requireSymbols": true}, want: many(account(stratusAcct))},
		{op: "DeleteAccountPasswordPolicy", src: stratusIAM, base: "AttachUserPolicy",
			req: map[string]any{}, want: many(account(stratusAcct))},
		{op: "EnableEbsEncryptionByDefault", src: "targeted/DisableEbsEncryptionByDefault.json#0", base: "DisableEbsEncryptionByDefault",
			edit: withEventID, want: many(ref{awsres.TypeAccountRegion, "123456789/us-east-1", "123456789/us-east-1", "123456789", "us-east-1"})},
		// The only real DisableEbsEncryptionByDefault record has no eventID,
		// the deduplication key.
		{op: "DisableEbsEncryptionByDefault", src: "targeted/DisableEbsEncryptionByDefault.json#0", drop: change.ReasonMalformed},
		{op: "DisableEbsEncryptionByDefault", src: "targeted/DisableEbsEncryptionByDefault.json#0", base: "DisableEbsEncryptionByDefault",
			edit: withEventID, want: many(ref{awsres.TypeAccountRegion, "123456789/us-east-1", "123456789/us-east-1", "123456789", "us-east-1"})},
		{op: "ModifyEbsDefaultKmsKeyId", src: "targeted/DisableEbsEncryptionByDefault.json#0", base: "DisableEbsEncryptionByDefault",
			req: map[string]any{"kmsKeyId": "alias/ebs"}, edit: withEventID, drop: change.ReasonUnsupported},
		{op: "ResetEbsDefaultKmsKeyId", src: "targeted/DisableEbsEncryptionByDefault.json#0", base: "DisableEbsEncryptionByDefault",
			edit: withEventID, drop: change.ReasonUnsupported},

		// EC2 security groups.
		{op: "AuthorizeSecurityGroupIngress", src: "targeted/AuthorizeSecurityGroupIngress.json#0",
			want: many(sg("us-northeast-1r", "032092706103", "sg-003dc7f1f1c686164"))},
		{op: "AuthorizeSecurityGroupIngress", src: "targeted/AuthorizeSecurityGroupIngress.json#0", base: "AuthorizeSecurityGroupIngress",
			edit: func(rec map[string]any) {
				// A default-VPC request naming the group by name: the id
				// comes from the created rules in the response.
				rp := rec["requestParameters"].(map[string]any)
				delete(rp, "groupId")
				rp["groupName"] = "default"
			}, want: many(sg("us-northeast-1r", "032092706103", "sg-003dc7f1f1c686164"))},
		{op: "AuthorizeSecurityGroupEgress", src: "targeted/AuthorizeSecurityGroupEgress.json#0",
			want: many(sg("us-east-1", "112233445566", "sg-03eee825d6bb78f54"))},
		{op: "RevokeSecurityGroupIngress", src: "targeted/AuthorizeSecurityGroupIngress.json#0", base: "AuthorizeSecurityGroupIngress",
			resp: map[string]any{"_return": true}, want: many(sg("us-northeast-1r", "032092706103", "sg-003dc7f1f1c686164"))},
		{op: "RevokeSecurityGroupEgress", src: "targeted/AuthorizeSecurityGroupEgress.json#0", base: "AuthorizeSecurityGroupEgress",
			want: many(sg("us-east-1", "112233445566", "sg-03eee825d6bb78f54"))},
		{op: "ModifySecurityGroupRules", src: "targeted/AuthorizeSecurityGroupIngress.json#0", base: "AuthorizeSecurityGroupIngress",
			req: map[string]any{"ModifySecurityGroupRulesRequest": map[string]any{
				"GroupId": "sg-0a1b2c3d4e5f67890",
				"SecurityGroupRule": map[string]any{"SecurityGroupRuleId": "sgr-09b3e3d2ca1edf2a2", "tag": 1,
					"SecurityGroupRule": map[string]any{"CidrIpv4": "0.0.0.0/0", "FromPort": 22, "ToPort": 22, "IpProtocol": "tcp"}},
			}}, resp: map[string]any{"ModifySecurityGroupRulesResponse": map[string]any{"return": true}},
			want: many(sg("us-northeast-1r", "032092706103", "sg-0a1b2c3d4e5f67890"))},
		{op: "UpdateSecurityGroupRuleDescriptionsIngress", src: "targeted/AuthorizeSecurityGroupIngress.json#0", base: "AuthorizeSecurityGroupIngress",
			resp: map[string]any{"_return": true}, drop: change.ReasonUnsupported},
		{op: "UpdateSecurityGroupRuleDescriptionsEgress", src: "targeted/AuthorizeSecurityGroupEgress.json#0", base: "AuthorizeSecurityGroupEgress",
			drop: change.ReasonUnsupported},
		{op: "CreateSecurityGroup", src: "targeted/CreateSecurityGroup.json#0", want: many(sg("us-east-1", "112233445566", "sg-04d018d184a18f647"))},

		// CloudTrail: the trail and the account.
		{op: "CreateTrail", src: "targeted/CreateTrail.json#0",
			want: many(trail("us-west-2", "123456789012", "example-trail"), account("123456789012"))},
		{op: "CreateTrail", src: "targeted/CreateTrail.json#1", drop: change.ReasonFailed},
		{op: "UpdateTrail", src: "targeted/UpdateTrail.json#0", drop: change.ReasonNotAudit}, // AwsVpceEvent
		{op: "UpdateTrail", src: "targeted/UpdateTrail.json#2", drop: change.ReasonFailed},
		{op: "UpdateTrail", src: "targeted/UpdateTrail.json#2", base: "UpdateTrail",
			edit: func(rec map[string]any) {
				delete(rec, "errorCode")
				delete(rec, "errorMessage")
				rec["responseElements"] = map[string]any{"name": "myTrail2", "trailARN": "arn:aws:cloudtrail:us-east-1:123456789012:trail/myTrail2", "isMultiRegionTrail": true}
			}, want: many(trail("us-east-1", "123456789012", "myTrail2"), account("123456789012"))},
		{op: "DeleteTrail", src: "targeted/DeleteTrail.json#0",
			want: many(trail("megov-westwest-1r", "847129010505", "stratus-red-team-cloudtraild-trail-kvrwohmiai"), account("847129010505"))},
		{op: "StopLogging", src: "targeted/StopLogging.json#0",
			want: many(trail("apiso-centralnorth-2r", "143434273843", "stratus-red-team-ct-stop-trail-buykxbqejv"), account("143434273843"))},
		// A trail ARN of another Region is referenced where it lives.
		{op: "StopLogging", src: "targeted/StopLogging.json#1", base: "StopLogging",
			req:  map[string]any{"name": "arn:aws:cloudtrail:eu-west-1:123456789012:trail/org-trail"},
			want: many(trail("eu-west-1", "123456789012", "org-trail"), account("123456789012"))},
		// The corpus's StartLogging is a hand-edited readOnly record.
		{op: "StartLogging", src: "targeted/StartLogging.json#0", drop: change.ReasonReadOnly},
		{op: "StartLogging", src: "targeted/StopLogging.json#0", base: "StopLogging",
			want: many(trail("apiso-centralnorth-2r", "143434273843", "stratus-red-team-ct-stop-trail-buykxbqejv"), account("143434273843"))},
		{op: "StartLogging", src: "targeted/StopLogging.json#0", base: "StopLogging", req: map[string]any{},
			drop: change.ReasonNoResource},
		{op: "PutEventSelectors", src: "targeted/PutEventSelectors.json#0",
			want: many(trail("cn-northsouth-2r", "958312252124", "stratus-red-team-ctes-trail-khlvciwdor"), account("958312252124"))},

		// KMS keys.
		{op: "CreateKey", src: "records-all.jsonl#857", want: many(key("us-west-2", "111122223333", kmsKeyID))},
		{op: "EnableKeyRotation", src: "records-all.jsonl#881", want: many(key("us-west-2", "111122223333", kmsKeyID))},
		{op: "DisableKeyRotation", src: "targeted/DisableKeyRotation.json#0", want: many(key("us-west-2", "111122223333", kmsKeyID))},
		{op: "DisableKeyRotation", src: "targeted/DisableKeyRotation.json#0", base: "DisableKeyRotation",
			req:  map[string]any{"keyId": "alias/app"},
			want: many(ref{awsres.TypeKMSKey, "arn:aws:kms:us-west-2:111122223333:alias/app", "alias/app", "111122223333", "us-west-2"})},
		{op: "DisableKeyRotation", src: "targeted/DisableKeyRotation.json#0", base: "DisableKeyRotation",
			req:  map[string]any{"keyId": "arn:aws:kms:eu-central-1:444455556666:alias/shared"},
			want: many(ref{awsres.TypeKMSKey, "arn:aws:kms:eu-central-1:444455556666:alias/shared", "alias/shared", "444455556666", "eu-central-1"})},
		{op: "ScheduleKeyDeletion", src: "targeted/ScheduleKeyDeletion.json#0", want: many(key("us-west-2", "123456789012", "1"))},
		{op: "CancelKeyDeletion", src: "records-all.jsonl#852", want: many(key("us-west-2", "111122223333", kmsKeyID))},
		{op: "DisableKey", src: "targeted/DisableKey.json#2", want: many(key("us-east-1", "111122223333", kmsKeyID))},
		{op: "EnableKey", src: "records-all.jsonl#880", want: many(key("us-east-1", "111122223333", kmsKeyID))},
		{op: "PutKeyPolicy", src: "targeted/PutKeyPolicy.json#1", drop: change.ReasonUnsupported},

		// IAM users.
		{op: "AttachUserPolicy", src: stratusIAM,
			want: many(iamRef(awsres.TypeIAMUser, "user", stratusAcct, "malicious-iam-user"), policy(stratusAcct, "AdministratorAccess"))},
		{op: "DetachUserPolicy", src: stratusIAM, base: "AttachUserPolicy",
			want: many(iamRef(awsres.TypeIAMUser, "user", stratusAcct, "malicious-iam-user"), policy(stratusAcct, "AdministratorAccess"))},
		{op: "PutUserPolicy", src: "targeted/PutUserPolicy.json#0", want: many(iamRef(awsres.TypeIAMUser, "user", "123456789012", "test-user"))},
		{op: "PutUserPolicy", src: "targeted/PutUserPolicy.json#2", drop: change.ReasonNoResource},
		{op: "DeleteUserPolicy", src: "targeted/PutUserPolicy.json#0", base: "PutUserPolicy",
			req:  map[string]any{"userName": "test-user", "policyName": "TestUserDenyAll"},
			want: many(iamRef(awsres.TypeIAMUser, "user", "123456789012", "test-user"))},
		{op: "CreateUser", src: "targeted/CreateUser.json#0", want: many(iamRef(awsres.TypeIAMUser, "user", stratusAcct, "malicious-iam-user"))},
		{op: "CreateAccessKey", src: "targeted/CreateAccessKey.json#1", want: many(iamRef(awsres.TypeIAMUser, "user", stratusAcct, "malicious-iam-user"))},
		// Root creating its own key: the account's root credentials.
		{op: "CreateAccessKey", src: "targeted/CreateAccessKey.json#7", want: many(account("123456789012"))},
		// Root creating a key for a user.
		{op: "CreateAccessKey", src: "targeted/CreateAccessKey.json#8", want: many(iamRef(awsres.TypeIAMUser, "user", "123456789012", "example-user"))},
		// An IAM user creating its own key.
		{op: "CreateAccessKey", src: "targeted/CreateAccessKey.json#1", base: "CreateAccessKey", req: map[string]any{},
			want: many(christophe)},
		{op: "UpdateAccessKey", src: "targeted/CreateAccessKey.json#7", base: "CreateAccessKey",
			req: map[string]any{"accessKeyId": "1111", "status": "Inactive"}, resp: map[string]any{},
			want: many(account("123456789012"))},
		{op: "UpdateAccessKey", src: "targeted/CreateAccessKey.json#1", base: "CreateAccessKey",
			req: map[string]any{"accessKeyId": "AKIAXAFZN8JEPF6L682H", "status": "Inactive", "userName": "malicious-iam-user"}, resp: map[string]any{},
			want: many(iamRef(awsres.TypeIAMUser, "user", stratusAcct, "malicious-iam-user"))},
		{op: "DeleteAccessKey", src: "targeted/CreateAccessKey.json#1", base: "CreateAccessKey",
			req: map[string]any{"accessKeyId": "AKIAXAFZN8JEPF6L682H"}, resp: map[string]any{},
			want: many(christophe)},
		// An assumed role cannot act on "its own" access keys.
		{op: "DeleteAccessKey", src: "targeted/AttachUserPolicy.json#1", base: "AttachUserPolicy",
			req: map[string]any{"accessKeyId": "AKIAXAFZN8JEPF6L682H"}, drop: change.ReasonNoResource},
		// No rule reads what these change (login profiles, group membership):
		// they are deliberately not mapped.
		{op: "CreateLoginProfile", src: "targeted/CreateLoginProfile.json#0", drop: change.ReasonUnsupported},
		{op: "AddUserToGroup", src: "records-all.jsonl#846", base: "AddUserToGroup", edit: withEventID, drop: change.ReasonUnsupported},

		// IAM roles.
		{op: "AttachRolePolicy", src: "targeted/AttachRolePolicy.json#0",
			want: many(iamRef(awsres.TypeIAMRole, "role", "609418236337", "stratus-red-team-malicious-iam-role"), policy("609418236337", "AdministratorAccess"))},
		{op: "DetachRolePolicy", src: "targeted/AttachRolePolicy.json#3", base: "AttachRolePolicy",
			want: many(iamRef(awsres.TypeIAMRole, "role", "123456789012", "new-role"), policy("123456789012", "AdministratorAccess"))},
		{op: "PutRolePolicy", src: "targeted/AttachRolePolicy.json#3", base: "AttachRolePolicy",
			req:  map[string]any{"roleName": "new-role", "policyName": "inline", "policyDocument": `{"Version":"2012-10-17","Statement":[]}`},
			want: many(iamRef(awsres.TypeIAMRole, "role", "123456789012", "new-role"))},
		{op: "DeleteRolePolicy", src: "targeted/AttachRolePolicy.json#3", base: "AttachRolePolicy",
			req:  map[string]any{"roleName": "new-role", "policyName": "inline"},
			want: many(iamRef(awsres.TypeIAMRole, "role", "123456789012", "new-role"))},
		{op: "CreateRole", src: "targeted/CreateRole.json#0", want: many(iamRef(awsres.TypeIAMRole, "role", "609418236337", "stratus-red-team-malicious-iam-role"))},
		{op: "UpdateAssumeRolePolicy", src: "targeted/UpdateAssumeRolePolicy.json#0", want: many(iamRef(awsres.TypeIAMRole, "role", "751203476945", "stratus-red-team-backdoor-r-role"))},
		// panther's fixtures without roleName.
		{op: "UpdateAssumeRolePolicy", src: "targeted/UpdateAssumeRolePolicy.json#1", drop: change.ReasonNoResource},

		// IAM groups.
		{op: "AttachGroupPolicy", src: "records-all.jsonl#487", base: "DeleteGroupPolicy",
			req: map[string]any{"groupName": "group", "policyArn": "arn:aws:iam::123456789012:policy/team/ops"},
			want: many(iamRef(awsres.TypeIAMGroup, "group", "123456789012", "group"),
				ref{awsres.TypeIAMPolicy, "arn:aws:iam::123456789012:policy/team/ops", "ops", "123456789012", ""})},
		{op: "DetachGroupPolicy", src: "records-all.jsonl#487", base: "DeleteGroupPolicy",
			req:  map[string]any{"groupName": "group", "policyArn": "arn:aws:iam::aws:policy/AdministratorAccess"},
			want: many(iamRef(awsres.TypeIAMGroup, "group", "123456789012", "group"), policy("123456789012", "AdministratorAccess"))},
		{op: "PutGroupPolicy", src: "records-all.jsonl#487", base: "DeleteGroupPolicy",
			req:  map[string]any{"groupName": "group", "policyName": "policy", "policyDocument": "{}"},
			want: many(iamRef(awsres.TypeIAMGroup, "group", "123456789012", "group"))},
		{op: "DeleteGroupPolicy", src: "records-all.jsonl#487", want: many(iamRef(awsres.TypeIAMGroup, "group", "123456789012", "group"))},

		// Managed policies.
		{op: "CreatePolicyVersion", src: stratusIAM, base: "AttachUserPolicy",
			req:  map[string]any{"policyArn": "arn:aws:iam::" + stratusAcct + ":policy/app", "policyDocument": "{}", "setAsDefault": true},
			want: many(ref{awsres.TypeIAMPolicy, "arn:aws:iam::" + stratusAcct + ":policy/app", "app", stratusAcct, ""})},
		{op: "SetDefaultPolicyVersion", src: stratusIAM, base: "AttachUserPolicy",
			req:  map[string]any{"policyArn": "arn:aws:iam::" + stratusAcct + ":policy/app", "versionId": "v2"},
			want: many(ref{awsres.TypeIAMPolicy, "arn:aws:iam::" + stratusAcct + ":policy/app", "app", stratusAcct, ""})},
		{op: "CreatePolicy", src: stratusIAM, base: "AttachUserPolicy",
			req:  map[string]any{"policyName": "app", "path": "/team/", "policyDocument": "{}"},
			resp: map[string]any{"policy": map[string]any{"policyName": "app", "arn": "arn:aws:iam::" + stratusAcct + ":policy/team/app", "defaultVersionId": "v1"}},
			want: many(ref{awsres.TypeIAMPolicy, "arn:aws:iam::" + stratusAcct + ":policy/team/app", "app", stratusAcct, ""})},
		{op: "CreatePolicy", src: stratusIAM, base: "AttachUserPolicy",
			req: map[string]any{"policyName": "app", "path": "/team/", "policyDocument": "{}"}, drop: change.ReasonNoResource},

		// RDS instances.
		{op: "CreateDBInstance", src: "targeted/CreateDBInstance.json#0", want: many(db("us-east-1", "123456789012", "test-instance"))},
		{op: "ModifyDBInstance", src: "targeted/ModifyDBInstance.json#1", want: many(db("us-east-1", "123456789012", "customer-database"))},
		{op: "ModifyDBInstance", src: "targeted/ModifyDBInstance.json#4", drop: change.ReasonFailed},
		{op: "RestoreDBInstanceFromDBSnapshot", src: "records-all.jsonl#582", want: many(db("us-east-1", "123456789012", "test-instance"))},
		{op: "RestoreDBInstanceToPointInTime", src: "records-all.jsonl#582", base: "RestoreDBInstanceFromDBSnapshot",
			req:  map[string]any{"sourceDBInstanceIdentifier": "prod", "targetDBInstanceIdentifier": "prod-restored", "useLatestRestorableTime": true},
			resp: map[string]any{}, want: many(db("us-east-1", "123456789012", "prod-restored"))},
		{op: "RestoreDBInstanceFromS3", src: "records-all.jsonl#582", base: "RestoreDBInstanceFromDBSnapshot",
			req:  map[string]any{"dBInstanceIdentifier": "from-backup", "engine": "mysql", "s3BucketName": "backups", "storageEncrypted": false},
			resp: map[string]any{}, want: many(db("us-east-1", "123456789012", "from-backup"))},
		{op: "CreateDBInstanceReadReplica", src: "records-all.jsonl#542", want: many(db("us-east-1", "123456789012", "replica-instance"))},
		{op: "DeleteDBInstance", src: "records-all.jsonl#557", want: many(db("us-east-1", "123456789012", "production-mysql-db"))},
	}

	n := newNormalizer(t)
	tested := map[string]bool{}
	for i, tc := range cases {
		name := fmt.Sprintf("%02d-%s", i, tc.op)
		t.Run(name, func(t *testing.T) {
			rec := corpusRecord(t, tc.src, firstNonEmpty(tc.base, tc.op))
			rec["eventName"] = tc.op
			if tc.req != nil {
				rec["requestParameters"] = tc.req
			}
			if tc.resp != nil {
				rec["responseElements"] = tc.resp
			}
			if tc.edit != nil {
				tc.edit(rec)
			}
			raw, err := json.Marshal(rec)
			if err != nil {
				t.Fatal(err)
			}
			res := n.Normalize(raw)
			if len(res) != 1 {
				t.Fatalf("%d results", len(res))
			}
			r := res[0]
			if err := checkResult(r); err != nil {
				t.Fatal(err)
			}
			if tc.drop != "" {
				if reason, _ := change.DropReasonOf(r.Err); reason != tc.drop {
					t.Fatalf("got %s, want drop %s", describe(r), tc.drop)
				}
				return
			}
			if r.Err != nil {
				t.Fatalf("dropped: %v", r.Err)
			}
			if got := refsOf(r.Change); !reflect.DeepEqual(got, tc.want) {
				t.Errorf("resources\n got %+v\nwant %+v", got, tc.want)
			}
			if r.Change.Operation != tc.op || r.Change.Service == "" {
				t.Errorf("operation %q service %q", r.Change.Operation, r.Change.Service)
			}
		})
		if tc.drop == "" {
			tested[tc.op] = true
		}
	}
	// Every row of the table has at least one case producing a Change.
	for _, m := range Table() {
		if !tested[m.Operation] {
			t.Errorf("no test case produces a change for %s %s", m.Source, m.Operation)
		}
	}
}

// samples is a bucket of panther's sample fixtures (account 111111111111,
// us-east-1).
func samples(name string) ref {
	return ref{awsres.TypeS3Bucket, "arn:aws:s3:::" + name, name, "111111111111", "us-east-1"}
}

// withEventID gives a hand-made fixture the eventID every real record has.
func withEventID(rec map[string]any) { rec["eventID"] = "11111111-2222-3333-4444-555555555555" }

func TestNormalizeChangeFields(t *testing.T) {
	n := newNormalizer(t)
	rec := corpusRecord(t, "targeted/AuthorizeSecurityGroupIngress.json#2", "AuthorizeSecurityGroupIngress")
	raw, err := json.Marshal(rec)
	if err != nil {
		t.Fatal(err)
	}
	res := n.Normalize(raw)
	if len(res) != 1 || res[0].Err != nil {
		t.Fatalf("got %+v", res)
	}
	want := change.Change{
		EventID:   "42155429-7e8e-43b5-9b5e-6953f80d51d5",
		Cloud:     change.AWS,
		Account:   "112233445566",
		Region:    "us-east-1",
		Service:   "ec2.amazonaws.com",
		Operation: "AuthorizeSecurityGroupIngress",
		Resources: []change.ResourceRef{{
			Cloud: change.AWS, Type: awsres.TypeSecurityGroup,
			ID:   "arn:aws:ec2:us-east-1:112233445566:security-group/sg-0d921df5d84f7270a",
			Name: "sg-0d921df5d84f7270a", Account: "112233445566", Region: "us-east-1",
		}},
		Actor: change.Actor{
			Principal:     "arn:aws:sts::112233445566:assumed-role/Operator/ryan@example.com",
			Type:          "AssumedRole",
			Name:          "Operator/ryan@example.com",
			SessionIssuer: "arn:aws:iam::112233445566:role/Operator",
			SourceIP:      rec["sourceIPAddress"].(string),
			UserAgent:     rec["userAgent"].(string),
			Via:           ViaSDK,
		},
		Time: mustTime(t, rec["eventTime"].(string)),
	}
	if !reflect.DeepEqual(res[0].Change, want) {
		t.Errorf("change\n got %+v\nwant %+v", res[0].Change, want)
	}
}

func mustTime(t *testing.T, s string) time.Time {
	t.Helper()
	tm, err := time.Parse(time.RFC3339, s)
	if err != nil {
		t.Fatal(err)
	}
	return tm.UTC()
}

func TestNormalizeShapes(t *testing.T) {
	n := newNormalizer(t)
	rec := corpusRecord(t, "targeted/StopLogging.json#0", "StopLogging")
	recRaw, _ := json.Marshal(rec)
	readOnly := corpusRecord(t, "targeted/StartLogging.json#0", "StartLogging")
	roRaw, _ := json.Marshal(readOnly)
	envelope := func(detailType string, detail []byte, account any) []byte {
		b, _ := json.Marshal(map[string]any{
			"version": "0", "id": "6a7e8feb-b491-4cf7-a9f1-bf3703467718", "detail-type": detailType,
			"source": "aws.cloudtrail", "account": account, "time": "2024-07-30T21:36:12Z",
			"region": "us-east-1", "resources": []any{}, "detail": json.RawMessage(detail),
		})
		return b
	}
	noAccount := corpusRecord(t, "targeted/PutBucketPolicy.json#4", "PutBucketPolicy")
	noAccount["eventTime"] = "2024-01-01T00:00:00Z"
	noAccount["requestParameters"] = map[string]any{"bucketName": "b", "bucketPolicy": "invalid-json-policy"}
	noAccountRaw, _ := json.Marshal(noAccount)

	cases := []struct {
		name  string
		raw   string
		want  []string // outcome per record: "change" or a drop reason
		check func(t *testing.T, rs []Result)
	}{
		{name: "record", raw: string(recRaw), want: []string{"change"}},
		{name: "envelope", raw: string(envelope(DetailTypeAPICall, recRaw, "143434273843")), want: []string{"change"}},
		{name: "envelope service event", raw: string(envelope("AWS Service Event via CloudTrail", recRaw, "1")), want: []string{"not_audit"}},
		{name: "envelope numeric account", raw: string(envelope(DetailTypeAPICall, roRaw, 12345)), want: []string{"read_only"}},
		{name: "envelope without detail", raw: `{"detail-type":"AWS API Call via CloudTrail","source":"aws.s3"}`, want: []string{"malformed"}},
		{name: "envelope detail not an object", raw: `{"detail-type":"AWS API Call via CloudTrail","detail":"x"}`, want: []string{"malformed"}},
		{name: "envelope supplies the account", raw: string(envelope(DetailTypeAPICall, noAccountRaw, "210987654321")), want: []string{"change"},
			check: func(t *testing.T, rs []Result) {
				if rs[0].Change.Account != "210987654321" || rs[0].Change.Time.IsZero() {
					t.Errorf("account %q time %v", rs[0].Change.Account, rs[0].Change.Time)
				}
			}},
		{name: "no account anywhere", raw: string(noAccountRaw), want: []string{"malformed"}},
		{name: "log file", raw: `{"Records":[` + string(recRaw) + `,` + string(roRaw) + `,{"eventName":1},[]]}`,
			want: []string{"change", "read_only", "malformed", "malformed"}},
		{name: "empty log file", raw: `{"Records":[]}`, want: []string{}},
		{name: "not JSON", raw: `{"eventName":`, want: []string{"malformed"}},
		{name: "empty input", raw: ``, want: []string{"malformed"}},
		{name: "JSON null", raw: `null`, want: []string{"malformed"}},
		{name: "array", raw: `[1,2]`, want: []string{"malformed"}},
		{name: "other JSON object", raw: `{"hello":"world"}`, want: []string{"malformed"}},
		{name: "eventName of the wrong type", raw: `{"eventName":["PutBucketAcl"],"eventSource":"s3.amazonaws.com"}`, want: []string{"malformed"}},
		{name: "failed before read-only", raw: `{"eventName":"GetObject","eventSource":"s3.amazonaws.com","errorCode":"AccessDenied"}`, want: []string{"failed"}},
		{name: "read-only by flag", raw: `{"eventName":"PutBucketAcl","eventSource":"s3.amazonaws.com","readOnly":true}`, want: []string{"read_only"}},
		{name: "read-only flag as string", raw: `{"eventName":"PutBucketAcl","eventSource":"s3.amazonaws.com","readOnly":"True"}`, want: []string{"read_only"}},
		{name: "read-only flag of the wrong type", raw: `{"eventName":"PutBucketAcl","eventSource":"s3.amazonaws.com","readOnly":1}`, want: []string{"malformed"}},
		{name: "read-only by name", raw: `{"eventName":"DescribeSecurityGroups","eventSource":"ec2.amazonaws.com"}`, want: []string{"read_only"}},
		{name: "console sign-in", raw: `{"eventName":"ConsoleLogin","eventSource":"signin.amazonaws.com","eventType":"AwsConsoleSignIn"}`, want: []string{"not_audit"}},
		{name: "service event", raw: `{"eventName":"PutBucketAcl","eventSource":"s3.amazonaws.com","eventType":"AwsServiceEvent"}`, want: []string{"not_audit"}},
		{name: "unsupported", raw: `{"eventName":"RunInstances","eventSource":"ec2.amazonaws.com"}`, want: []string{"unsupported"}},
		{name: "no eventSource", raw: `{"eventName":"PutBucketAcl"}`, want: []string{"malformed"}},
		{name: "relevant but userIdentity of the wrong type",
			raw:  `{"eventID":"e1","eventName":"PutBucketAcl","eventSource":"s3.amazonaws.com","recipientAccountId":"123456789012","userIdentity":"root","requestParameters":{"bucketName":"b"}}`,
			want: []string{"malformed"}},
		{name: "relevant, minimal",
			raw:  `{"eventID":"e1","eventName":"PutBucketAcl","eventSource":"s3.amazonaws.com","recipientAccountId":"123456789012","requestParameters":{"bucketName":"b"}}`,
			want: []string{"change"}},
		{name: "bucket name of the wrong type",
			raw:  `{"eventID":"e1","eventName":"PutBucketAcl","eventSource":"s3.amazonaws.com","recipientAccountId":"123456789012","requestParameters":{"bucketName":7}}`,
			want: []string{"no_resource"}},
		{name: "bucket name blank",
			raw:  `{"eventID":"e1","eventName":"PutBucketAcl","eventSource":"s3.amazonaws.com","recipientAccountId":"123456789012","requestParameters":{"bucketName":" "}}`,
			want: []string{"no_resource"}},
		{name: "several groups deduplicated",
			raw: `{"eventID":"e1","eventName":"AuthorizeSecurityGroupIngress","eventSource":"ec2.amazonaws.com","recipientAccountId":"123456789012","awsRegion":"us-east-1",
				"requestParameters":{"groupName":"web"},"responseElements":{"securityGroupRuleSet":{"items":[{"groupId":"sg-1"},{"groupId":"sg-2"},{"groupId":"sg-1"}]}}}`,
			want: []string{"change"},
			check: func(t *testing.T, rs []Result) {
				if got := len(rs[0].Change.Resources); got != 2 {
					t.Errorf("%d resources, want 2: %+v", got, rs[0].Change.Resources)
				}
			}},
		{name: "key differing only in case",
			raw:  `{"eventID":"e1","eventName":"CreateDBInstance","eventSource":"rds.amazonaws.com","recipientAccountId":"123456789012","awsRegion":"eu-west-1","requestParameters":{"DBInstanceIdentifier":"db1"}}`,
			want: []string{"change"},
			check: func(t *testing.T, rs []Result) {
				if id := rs[0].Change.Resources[0].ID; id != "arn:aws:rds:eu-west-1:123456789012:db:db1" {
					t.Errorf("id %s", id)
				}
			}},
		{name: "partition from the caller",
			raw:  `{"eventID":"e1","eventName":"CreateSecurityGroup","eventSource":"ec2.amazonaws.com","awsRegion":"cn-north-1","userIdentity":{"type":"IAMUser","arn":"arn:aws-cn:iam::123456789012:user/u","accountId":"123456789012"},"responseElements":{"groupId":"sg-1"}}`,
			want: []string{"change"},
			check: func(t *testing.T, rs []Result) {
				if id := rs[0].Change.Resources[0].ID; id != "arn:aws-cn:ec2:cn-north-1:123456789012:security-group/sg-1" {
					t.Errorf("id %s", id)
				}
			}},
		{name: "partition from the Region",
			raw:  `{"eventID":"e1","eventName":"CreateBucket","eventSource":"s3.amazonaws.com","awsRegion":"us-gov-west-1","recipientAccountId":"123456789012","requestParameters":{"bucketName":"b"}}`,
			want: []string{"change"},
			check: func(t *testing.T, rs []Result) {
				if id := rs[0].Change.Resources[0].ID; id != "arn:aws-us-gov:s3:::b" {
					t.Errorf("id %s", id)
				}
			}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			rs := n.Normalize([]byte(tc.raw))
			got := []string{}
			for _, r := range rs {
				if err := checkResult(r); err != nil {
					t.Error(err)
				}
				o := "change"
				if r.Err != nil {
					reason, _ := change.DropReasonOf(r.Err)
					o = string(reason)
				}
				got = append(got, o)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("outcomes %v, want %v (%v)", got, tc.want, describeAll(rs))
			}
			if tc.check != nil {
				tc.check(t, rs)
			}
		})
	}
}

func describeAll(rs []Result) []string {
	var out []string
	for _, r := range rs {
		out = append(out, describe(r))
	}
	return out
}

func TestDropDetails(t *testing.T) {
	n := newNormalizer(t)
	cases := []struct{ raw, want string }{
		{`{"eventName":"GetObject","eventSource":"s3.amazonaws.com","errorCode":"AccessDenied"}`,
			"event dropped: failed: GetObject failed with AccessDenied"},
		{`{"eventName":"ListBuckets","eventSource":"s3.amazonaws.com"}`,
			"event dropped: read_only: ListBuckets is read-only"},
		{`{"eventName":"ConsoleLogin","eventSource":"signin.amazonaws.com","eventType":"AwsConsoleSignIn"}`,
			"event dropped: not_audit: ConsoleLogin has eventType AwsConsoleSignIn, not an API call"},
		{`{"detail-type":"GuardDuty Finding","detail":{}}`,
			`event dropped: not_audit: EventBridge detail-type "GuardDuty Finding" is not a CloudTrail API call`},
		{`{"eventName":"RunInstances","eventSource":"ec2.amazonaws.com"}`,
			"event dropped: unsupported: no mapping for ec2.amazonaws.com RunInstances"},
		{`{"eventID":"e","eventName":"AttachRolePolicy","eventSource":"iam.amazonaws.com","recipientAccountId":"1"}`,
			"event dropped: no_resource: AttachRolePolicy names no AWS::IAM::Role at requestParameters.roleName; AWS::IAM::Policy at requestParameters.policyArn"},
		{`{"eventID":"e","eventName":"DeleteAccessKey","eventSource":"iam.amazonaws.com","recipientAccountId":"1"}`,
			"event dropped: no_resource: DeleteAccessKey names no AWS::IAM::User at requestParameters.userName (and the caller is neither an IAM user nor root)"},
		{`{"eventName":"PutBucketAcl","eventSource":"s3.amazonaws.com","recipientAccountId":"1"}`,
			"event dropped: malformed: PutBucketAcl record has no eventID"},
		{`{"eventName":`, "event dropped: malformed: decode event: unexpected end of JSON input"},
		{`{"x":1}`, "event dropped: malformed: not a CloudTrail record, EventBridge event or log file: no eventName"},
	}
	for _, tc := range cases {
		rs := n.Normalize([]byte(tc.raw))
		if len(rs) != 1 || rs[0].Err == nil {
			t.Errorf("%s: got %v", tc.raw, describeAll(rs))
			continue
		}
		if got := rs[0].Err.Error(); got != tc.want {
			t.Errorf("%s:\n got %s\nwant %s", tc.raw, got, tc.want)
		}
		var d *change.DroppedError
		if !errors.As(rs[0].Err, &d) {
			t.Errorf("%T is not a *change.DroppedError", rs[0].Err)
		}
	}
}

func TestNormalizeEvent(t *testing.T) {
	n := newNormalizer(t)
	rec := corpusRecord(t, "targeted/PutEventSelectors.json#0", "PutEventSelectors")
	detail, _ := json.Marshal(rec)
	ev := events.EventBridgeEvent{
		Version: "0", ID: "6a7e8feb-b491-4cf7-a9f1-bf3703467718", DetailType: DetailTypeAPICall,
		Source: "aws.cloudtrail", AccountID: "958312252124", Region: "cn-northsouth-2r", Detail: detail,
	}
	r := n.NormalizeEvent(ev)
	if r.Err != nil || len(r.Change.Resources) != 2 || r.Change.Resources[0].Type != awsres.TypeTrail {
		t.Fatalf("got %s", describe(r))
	}
	ev.DetailType = "AWS Console Sign In via CloudTrail"
	if reason, _ := change.DropReasonOf(n.NormalizeEvent(ev).Err); reason != change.ReasonNotAudit {
		t.Errorf("sign-in: %s", reason)
	}
}

func TestNewRejectsInvalidTables(t *testing.T) {
	bucket := RefSpec{Type: awsres.TypeS3Bucket, Paths: []string{"requestParameters.bucketName"}}
	cases := []struct {
		name  string
		table []Mapping
		want  string
	}{
		{"empty operation", []Mapping{{Source: "s3.amazonaws.com", Refs: []RefSpec{bucket}}},
			"invalid event table: row 0: source and operation are required"},
		{"duplicate", []Mapping{{Source: "s3.amazonaws.com", Operation: "PutBucketAcl", Refs: []RefSpec{bucket}}, {Source: "s3.amazonaws.com", Operation: "PutBucketAcl", Refs: []RefSpec{bucket}}},
			"invalid event table: s3.amazonaws.com PutBucketAcl: duplicate row"},
		{"no refs", []Mapping{{Source: "s3.amazonaws.com", Operation: "PutBucketAcl", Refs: nil}},
			"invalid event table: s3.amazonaws.com PutBucketAcl: no resource references"},
		{"unknown type", []Mapping{{Source: "s3.amazonaws.com", Operation: "PutBucketAcl", Refs: []RefSpec{{Type: "AWS::S3::Object", Paths: []string{"requestParameters.key"}}}}},
			`invalid event table: s3.amazonaws.com PutBucketAcl: unknown resource type "AWS::S3::Object"`},
		{"account with paths", []Mapping{{Source: "s3.amazonaws.com", Operation: "PutAccountPublicAccessBlock", Refs: []RefSpec{{Type: awsres.TypeAccount, Paths: []string{"requestParameters.x"}}}}},
			"invalid event table: s3.amazonaws.com PutAccountPublicAccessBlock: AWS::::Account takes no paths: it is known from the record"},
		{"no paths", []Mapping{{Source: "s3.amazonaws.com", Operation: "PutBucketAcl", Refs: []RefSpec{{Type: awsres.TypeS3Bucket}}}},
			"invalid event table: s3.amazonaws.com PutBucketAcl: AWS::S3::Bucket needs at least one path"},
		{"bad root", []Mapping{{Source: "s3.amazonaws.com", Operation: "PutBucketAcl", Refs: []RefSpec{{Type: awsres.TypeS3Bucket, Paths: []string{"userIdentity.userName"}}}}},
			`invalid event table: s3.amazonaws.com PutBucketAcl: path "userIdentity.userName" must start with requestParameters. or responseElements.`},
		{"empty segment", []Mapping{{Source: "s3.amazonaws.com", Operation: "PutBucketAcl", Refs: []RefSpec{{Type: awsres.TypeS3Bucket, Paths: []string{"requestParameters..bucketName"}}}}},
			`invalid event table: s3.amazonaws.com PutBucketAcl: path "requestParameters..bucketName" has an empty segment`},
		{"caller fallback on a role", []Mapping{{Source: "iam.amazonaws.com", Operation: "CreateRole", Refs: []RefSpec{{Type: awsres.TypeIAMRole, Paths: []string{"requestParameters.roleName"}, CallerFallback: true}}}},
			"invalid event table: iam.amazonaws.com CreateRole: CallerFallback applies to AWS::IAM::User only, not AWS::IAM::Role"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := New(&Options{Table: tc.table})
			if err == nil || err.Error() != tc.want || !errors.Is(err, ErrInvalidTable) {
				t.Fatalf("got %v\nwant %s", err, tc.want)
			}
		})
	}
}

func TestTableCoversTheBrief(t *testing.T) {
	n := newNormalizer(t)
	ops := n.Operations()
	if len(ops) != len(Table()) {
		t.Fatalf("Operations has %d rows, Table %d", len(ops), len(Table()))
	}
	byOp := map[string][]string{}
	for _, m := range ops {
		for _, r := range m.Refs {
			byOp[m.Source+" "+m.Operation] = append(byOp[m.Source+" "+m.Operation], r.Type)
		}
	}
	// The operations the posture rules depend on, and the resource types
	// each must reference.
	want := map[string][]string{
		"s3.amazonaws.com PutAccountPublicAccessBlock":    {awsres.TypeAccount},
		"s3.amazonaws.com DeleteAccountPublicAccessBlock": {awsres.TypeAccount},
		"iam.amazonaws.com UpdateAccountPasswordPolicy":   {awsres.TypeAccount},
		"iam.amazonaws.com DeleteAccountPasswordPolicy":   {awsres.TypeAccount},
		"ec2.amazonaws.com EnableEbsEncryptionByDefault":  {awsres.TypeAccountRegion},
		"ec2.amazonaws.com DisableEbsEncryptionByDefault": {awsres.TypeAccountRegion},
		"iam.amazonaws.com AttachUserPolicy":              {awsres.TypeIAMUser, awsres.TypeIAMPolicy},
		"iam.amazonaws.com AttachRolePolicy":              {awsres.TypeIAMRole, awsres.TypeIAMPolicy},
		"iam.amazonaws.com AttachGroupPolicy":             {awsres.TypeIAMGroup, awsres.TypeIAMPolicy},
		"iam.amazonaws.com CreatePolicy":                  {awsres.TypeIAMPolicy},
	}
	for _, op := range []string{"CreateTrail", "UpdateTrail", "DeleteTrail", "StartLogging", "StopLogging", "PutEventSelectors"} {
		want["cloudtrail.amazonaws.com "+op] = []string{awsres.TypeTrail, awsres.TypeAccount}
	}
	for _, op := range []string{"CreateBucket", "PutBucketAcl", "PutBucketPolicy", "DeleteBucketPolicy", "PutBucketPublicAccessBlock",
		"DeleteBucketPublicAccessBlock", "PutBucketEncryption", "DeleteBucketEncryption", "PutBucketVersioning", "PutBucketLogging",
		"PutBucketOwnershipControls", "DeleteBucketOwnershipControls", "PutBucketTagging", "DeleteBucketTagging"} {
		want["s3.amazonaws.com "+op] = []string{awsres.TypeS3Bucket}
	}
	for _, op := range []string{"AuthorizeSecurityGroupIngress", "AuthorizeSecurityGroupEgress", "RevokeSecurityGroupIngress",
		"RevokeSecurityGroupEgress", "ModifySecurityGroupRules", "CreateSecurityGroup"} {
		want["ec2.amazonaws.com "+op] = []string{awsres.TypeSecurityGroup}
	}
	for _, op := range []string{"CreateKey", "EnableKeyRotation", "DisableKeyRotation", "ScheduleKeyDeletion", "CancelKeyDeletion",
		"DisableKey", "EnableKey"} {
		want["kms.amazonaws.com "+op] = []string{awsres.TypeKMSKey}
	}
	for _, op := range []string{"PutUserPolicy", "DeleteUserPolicy", "CreateUser", "CreateAccessKey", "UpdateAccessKey",
		"DeleteAccessKey"} {
		want["iam.amazonaws.com "+op] = []string{awsres.TypeIAMUser}
	}
	for _, op := range []string{"PutRolePolicy", "DeleteRolePolicy", "CreateRole", "UpdateAssumeRolePolicy"} {
		want["iam.amazonaws.com "+op] = []string{awsres.TypeIAMRole}
	}
	for _, op := range []string{"PutGroupPolicy", "DeleteGroupPolicy"} {
		want["iam.amazonaws.com "+op] = []string{awsres.TypeIAMGroup}
	}
	for _, op := range []string{"CreatePolicyVersion", "SetDefaultPolicyVersion"} {
		want["iam.amazonaws.com "+op] = []string{awsres.TypeIAMPolicy}
	}
	for _, op := range []string{"DetachUserPolicy"} {
		want["iam.amazonaws.com "+op] = []string{awsres.TypeIAMUser, awsres.TypeIAMPolicy}
	}
	for _, op := range []string{"DetachRolePolicy"} {
		want["iam.amazonaws.com "+op] = []string{awsres.TypeIAMRole, awsres.TypeIAMPolicy}
	}
	for _, op := range []string{"DetachGroupPolicy"} {
		want["iam.amazonaws.com "+op] = []string{awsres.TypeIAMGroup, awsres.TypeIAMPolicy}
	}
	for _, op := range []string{"CreateDBInstance", "ModifyDBInstance", "RestoreDBInstanceFromDBSnapshot",
		"RestoreDBInstanceFromS3", "RestoreDBInstanceToPointInTime", "CreateDBInstanceReadReplica", "DeleteDBInstance"} {
		want["rds.amazonaws.com "+op] = []string{awsres.TypeDBInstance}
	}
	for op, types := range want {
		if got := byOp[op]; !reflect.DeepEqual(got, types) {
			t.Errorf("%s references %v, want %v", op, got, types)
		}
	}
}
