package awsremedy

import (
	"encoding/json"
	"errors"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/driftwatch/driftwatch/shared/awsres"
	"github.com/driftwatch/driftwatch/shared/change"
	"github.com/driftwatch/driftwatch/shared/remediation"
)

// TestApplyMissingResource: an action on a resource that no longer exists
// fails with ErrNotFound (and so, having changed nothing, leaves nothing).
func TestApplyMissingResource(t *testing.T) {
	cat := catalog(t, "us-east-1")
	ref := func(typ, id string) remediation.Target {
		return remediation.Target{Ref: change.ResourceRef{Cloud: change.AWS, Type: typ, ID: id, Account: motoAccount, Region: "us-east-1"}}
	}
	tests := []struct {
		action string
		target remediation.Target
	}{
		{S3BlockPublicAccess, ref(awsres.TypeS3Bucket, "arn:aws:s3:::acme-deleted-bucket")},
		{S3ACLPrivate, ref(awsres.TypeS3Bucket, "arn:aws:s3:::acme-deleted-bucket")},
		{S3EnableVersioning, ref(awsres.TypeS3Bucket, "arn:aws:s3:::acme-deleted-bucket")},
		{S3EnableDefaultEncryption, ref(awsres.TypeS3Bucket, "arn:aws:s3:::acme-deleted-bucket")},
		{EC2RevokePublicIngress, ref(awsres.TypeSecurityGroup, "arn:aws:ec2:us-east-1:123456789012:security-group/sg-0000000000000dead")},
		{EC2RevokeDefaultSGRules, ref(awsres.TypeSecurityGroup, "arn:aws:ec2:us-east-1:123456789012:security-group/sg-0000000000000dead")},
		{CloudTrailStartLogging, ref(awsres.TypeTrail, "arn:aws:cloudtrail:us-east-1:123456789012:trail/deleted-trail")},
		{CloudTrailEnableLogFileValidation, ref(awsres.TypeTrail, "arn:aws:cloudtrail:us-east-1:123456789012:trail/deleted-trail")},
		{KMSEnableRotation, ref(awsres.TypeKMSKey, "arn:aws:kms:us-east-1:123456789012:key/00000000-0000-0000-0000-000000000000")},
		{IAMDeactivateAccessKey, ref(awsres.TypeIAMUser, "arn:aws:iam::123456789012:user/deleted-user")},
		{RDSDisablePublicAccess, ref(awsres.TypeDBInstance, "arn:aws:rds:us-east-1:123456789012:db:deleted-db")},
		{RDSEnableBackups, ref(awsres.TypeDBInstance, "arn:aws:rds:us-east-1:123456789012:db:deleted-db")},
	}
	for _, tt := range tests {
		t.Run(tt.action, func(t *testing.T) {
			snap, err := cat[tt.action].Apply(t.Context(), tt.target)
			if !errors.Is(err, ErrNotFound) {
				t.Errorf("Apply on a missing resource: %v (snapshot %s), want ErrNotFound", err, snap)
			}
		})
	}
}

// TestApplyReadsLiveState: Apply acts on what is there now, not on the
// document it was handed, which may be stale either way.
func TestApplyReadsLiveState(t *testing.T) {
	e := newEnv(t)
	cat := catalog(t, "us-east-1")
	name := e.unique("acme-assets")
	e.createBucket(t, name)
	stale := e.fetch(t, bucketRef(name))
	// The document says compliant, the bucket is not.
	stale.Doc.(*awsres.S3Bucket).PublicAccessBlock = awsres.PublicAccessBlock{Configured: true, BlockPublicAcls: true, IgnorePublicAcls: true, BlockPublicPolicy: true, RestrictPublicBuckets: true}
	if _, err := cat[S3BlockPublicAccess].Apply(e.ctx, stale); err != nil {
		t.Fatal(err)
	}
	if !complies(t, S3BlockPublicAccess, e.fetch(t, bucketRef(name))) {
		t.Error("Apply trusted a stale document that said compliant and left the bucket open")
	}

	// A group the document calls default but that is not: refused live,
	// nothing revoked.
	out, err := e.ec2.CreateSecurityGroup(e.ctx, &ec2.CreateSecurityGroupInput{GroupName: aws.String(e.unique("web")), Description: aws.String("web tier")})
	if err != nil {
		t.Fatal(err)
	}
	gref := change.ResourceRef{Cloud: change.AWS, Type: awsres.TypeSecurityGroup, ID: aws.ToString(out.GroupId), Account: motoAccount, Region: "us-east-1"}
	before := e.fetch(t, gref)
	forged := *before.Doc.(*awsres.SecurityGroup)
	forged.IsDefault = true
	_, err = cat[EC2RevokeDefaultSGRules].Apply(e.ctx, remediation.Target{Ref: before.Ref, Doc: &forged})
	if !errors.Is(err, ErrInvalidTarget) {
		t.Errorf("revoking the rules of a non-default group: %v, want ErrInvalidTarget", err)
	}
	assertJSONEqual(t, "the non-default group", before.Doc, e.fetch(t, gref).Doc)
}

// TestUndoFromReference: Undo needs only the reference (the executor may
// hand it no document); once the resource is gone it says so.
func TestUndoFromReference(t *testing.T) {
	e := newEnv(t)
	cat := catalog(t, "us-east-1")
	name := e.unique("acme-assets")
	e.createBucket(t, name)
	must(t)(e.s3.PutPublicAccessBlock(e.ctx, &s3.PutPublicAccessBlockInput{Bucket: aws.String(name), PublicAccessBlockConfiguration: &s3types.PublicAccessBlockConfiguration{
		BlockPublicAcls: aws.Bool(true), IgnorePublicAcls: aws.Bool(false), BlockPublicPolicy: aws.Bool(true), RestrictPublicBuckets: aws.Bool(false),
	}}))
	before := e.fetch(t, bucketRef(name))
	snap, err := cat[S3BlockPublicAccess].Apply(e.ctx, before)
	if err != nil {
		t.Fatal(err)
	}
	if err := cat[S3BlockPublicAccess].Undo(e.ctx, remediation.Target{Ref: bucketRef(name)}, snap); err != nil {
		t.Fatalf("Undo from a reference: %v", err)
	}
	assertJSONEqual(t, "the bucket after Undo", before.Doc, e.fetch(t, bucketRef(name)).Doc)

	if _, err := cat[S3BlockPublicAccess].Apply(e.ctx, before); err != nil {
		t.Fatal(err)
	}
	must(t)(e.s3.DeleteBucket(e.ctx, &s3.DeleteBucketInput{Bucket: aws.String(name)}))
	if err := cat[S3BlockPublicAccess].Undo(e.ctx, remediation.Target{Ref: bucketRef(name)}, snap); !errors.Is(err, ErrNotFound) {
		t.Errorf("Undo on a deleted bucket: %v, want ErrNotFound", err)
	}
}

// TestUndoRefusesForeignSnapshot: a snapshot only restores the resource
// and action it was taken of.
func TestUndoRefusesForeignSnapshot(t *testing.T) {
	e := newEnv(t)
	cat := catalog(t, "us-east-1")
	a, b := e.unique("acme-assets"), e.unique("acme-other")
	e.createBucket(t, a)
	e.createBucket(t, b)
	snap, err := cat[S3BlockPublicAccess].Apply(e.ctx, e.fetch(t, bucketRef(a)))
	if err != nil {
		t.Fatal(err)
	}
	other := e.fetch(t, bucketRef(b))
	tests := []struct {
		name   string
		action string
		target remediation.Target
		snap   json.RawMessage
	}{
		{"another bucket", S3BlockPublicAccess, other, snap},
		{"another action", S3ACLPrivate, e.fetch(t, bucketRef(a)), snap},
		{"not JSON", S3BlockPublicAccess, other, json.RawMessage(`{"action":`)},
		{"unknown field", S3BlockPublicAccess, other, json.RawMessage(`{"action":"s3_block_public_access","resource":{"name":"x","region":"us-east-1"},"changed":true,"before":{},"extra":1}`)},
		{"no resource", S3BlockPublicAccess, other, json.RawMessage(`{"action":"s3_block_public_access","changed":true,"before":{}}`)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := cat[tt.action].Undo(e.ctx, tt.target, tt.snap); !errors.Is(err, ErrSnapshot) {
				t.Errorf("Undo: %v, want ErrSnapshot", err)
			}
		})
	}
	assertJSONEqual(t, "the other bucket", other.Doc, e.fetch(t, bucketRef(b)).Doc)
}

// TestVersioningUndoSuspends: a bucket never versioned cannot become
// unversioned again; Undo suspends versioning, as the plan says.
func TestVersioningUndoSuspends(t *testing.T) {
	e := newEnv(t)
	cat := catalog(t, "us-east-1")
	name := e.unique("acme-backups")
	e.createBucket(t, name)
	target := e.fetch(t, bucketRef(name))
	snap, err := cat[S3EnableVersioning].Apply(e.ctx, target)
	if err != nil {
		t.Fatal(err)
	}
	if got := e.fetch(t, bucketRef(name)).Doc.(*awsres.S3Bucket).VersioningStatus; got != "Enabled" {
		t.Fatalf("after Apply versioning is %q", got)
	}
	if err := cat[S3EnableVersioning].Undo(e.ctx, target, snap); err != nil {
		t.Fatal(err)
	}
	if got := e.fetch(t, bucketRef(name)).Doc.(*awsres.S3Bucket).VersioningStatus; got != "Suspended" {
		t.Errorf("after Undo versioning is %q, want Suspended", got)
	}
}

// TestUndoDeletedAccessKey: Undo cannot bring back a key deleted since;
// it says which, after activating the others.
func TestUndoDeletedAccessKey(t *testing.T) {
	e := newEnv(t)
	cat := catalog(t, "us-east-1")
	user := e.unique("ci-deployer")
	must(t)(e.iam.CreateUser(e.ctx, &iam.CreateUserInput{UserName: aws.String(user)}))
	var ids []string
	for range 2 {
		out, err := e.iam.CreateAccessKey(e.ctx, &iam.CreateAccessKeyInput{UserName: aws.String(user)})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, aws.ToString(out.AccessKey.AccessKeyId))
	}
	ref := change.ResourceRef{Cloud: change.AWS, Type: awsres.TypeIAMUser, ID: "arn:aws:iam::" + motoAccount + ":user/" + user, Account: motoAccount}
	snap, err := cat[IAMDeactivateAccessKey].Apply(e.ctx, e.fetch(t, ref))
	if err != nil {
		t.Fatal(err)
	}
	must(t)(e.iam.DeleteAccessKey(e.ctx, &iam.DeleteAccessKeyInput{UserName: aws.String(user), AccessKeyId: aws.String(ids[0])}))
	err = cat[IAMDeactivateAccessKey].Undo(e.ctx, e.fetch(t, ref), snap)
	if !errors.Is(err, ErrNotFound) {
		t.Errorf("Undo with a deleted key: %v, want ErrNotFound", err)
	}
	keys := e.fetch(t, ref).Doc.(*awsres.IAMUser).AccessKeys
	if len(keys) != 1 || keys[0].ID != ids[1] || keys[0].Status != "Active" {
		t.Errorf("the remaining key was not activated again: %+v", keys)
	}
}

// TestAccountMismatch: with Options.AccountID, an action refuses a target
// of another account before any call.
func TestAccountMismatch(t *testing.T) {
	opts := testOptions()
	opts.AccountID = motoAccount
	cat, err := New(emulator.Config("us-east-1"), opts)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		action string
		target remediation.Target
	}{
		{EBSEnableDefaultEncryption, remediation.Target{Ref: change.ResourceRef{Type: awsres.TypeAccountRegion, ID: "210987654321/us-east-1"}}},
		{IAMUpdatePasswordPolicy, remediation.Target{Ref: change.ResourceRef{Type: awsres.TypeAccount, ID: "210987654321", Account: "210987654321"}}},
		{RDSDisablePublicAccess, remediation.Target{Ref: change.ResourceRef{Type: awsres.TypeDBInstance}, Doc: &awsres.DBInstance{ID: "db", ARN: "arn:aws:rds:us-east-1:210987654321:db:db"}}},
	}
	for _, tt := range tests {
		t.Run(tt.action, func(t *testing.T) {
			if _, err := cat[tt.action].Apply(t.Context(), tt.target); !errors.Is(err, ErrInvalidTarget) {
				t.Errorf("Apply in another account: %v, want ErrInvalidTarget", err)
			}
		})
	}
}

func assertJSONEqual(t *testing.T, what string, want, got any) {
	t.Helper()
	w, err := json.Marshal(want)
	if err != nil {
		t.Fatal(err)
	}
	g, err := json.Marshal(got)
	if err != nil {
		t.Fatal(err)
	}
	if string(w) != string(g) {
		t.Errorf("%s changed:\nwant %s\ngot  %s", what, w, g)
	}
}
