package awsfetch

import (
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/aws-sdk-go-v2/service/s3control"
	s3controltypes "github.com/aws/aws-sdk-go-v2/service/s3control/types"

	"github.com/driftwatch/driftwatch/shared/awsres"
	"github.com/driftwatch/driftwatch/shared/change"
)

const (
	denyInsecureTransport = `{"Version":"2012-10-17","Statement":[{"Sid":"DenyInsecureTransport","Effect":"Deny","Principal":"*","Action":"s3:*","Resource":["arn:aws:s3:::acme-prod-invoices","arn:aws:s3:::acme-prod-invoices/*"],"Condition":{"Bool":{"aws:SecureTransport":"false"}}}]}`
	publicRead            = `{"Version":"2012-10-17","Statement":[{"Sid":"PublicRead","Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::acme-marketing-assets/*"}]}`
)

func allBlocked() *s3types.PublicAccessBlockConfiguration {
	return &s3types.PublicAccessBlockConfiguration{
		BlockPublicAcls: aws.Bool(true), IgnorePublicAcls: aws.Bool(true),
		BlockPublicPolicy: aws.Bool(true), RestrictPublicBuckets: aws.Bool(true),
	}
}

func allBlockedPAB() awsres.PublicAccessBlock {
	return awsres.PublicAccessBlock{Configured: true, BlockPublicAcls: true, IgnorePublicAcls: true, BlockPublicPolicy: true, RestrictPublicBuckets: true}
}

// putAccountPAB sets (or with nil, removes) the account's Block Public Access.
func (e *env) putAccountPAB(t testing.TB, cfg *s3controltypes.PublicAccessBlockConfiguration) {
	t.Helper()
	if cfg == nil {
		must(t)(e.s3c.DeletePublicAccessBlock(e.ctx, &s3control.DeletePublicAccessBlockInput{AccountId: aws.String(motoAccount)}))
		return
	}
	must(t)(e.s3c.PutPublicAccessBlock(e.ctx, &s3control.PutPublicAccessBlockInput{AccountId: aws.String(motoAccount), PublicAccessBlockConfiguration: cfg}))
}

// createBucket creates a bucket in e's Region.
func (e *env) createBucket(t testing.TB, name string) {
	t.Helper()
	in := &s3.CreateBucketInput{Bucket: aws.String(name)}
	if e.region != "us-east-1" {
		in.CreateBucketConfiguration = &s3types.CreateBucketConfiguration{LocationConstraint: s3types.BucketLocationConstraint(e.region)}
	}
	must(t)(e.s3.CreateBucket(e.ctx, in))
}

// ownerID is the canonical user id of the bucket's owner, which the owner's
// own FULL_CONTROL grant names. (moto's ListBuckets reports another id.)
func (e *env) ownerID(t testing.TB, bucket string) string {
	t.Helper()
	out, err := e.s3.GetBucketAcl(e.ctx, &s3.GetBucketAclInput{Bucket: aws.String(bucket)})
	if err != nil {
		t.Fatal(err)
	}
	return aws.ToString(out.Owner.ID)
}

func TestFetchBucket(t *testing.T) {
	tests := []struct {
		name string
		// setup creates the bucket and returns the reference an event
		// would carry, and the document Fetch must return.
		setup func(t *testing.T, e *env) (change.ResourceRef, *awsres.S3Bucket)
	}{
		{
			name: "compliant",
			setup: func(t *testing.T, e *env) (change.ResourceRef, *awsres.S3Bucket) {
				b, logs := e.n("acme-prod-invoices"), e.n("acme-prod-access-logs")
				e.createBucket(t, logs)
				must(t)(e.s3.PutBucketAcl(e.ctx, &s3.PutBucketAclInput{Bucket: aws.String(logs),
					GrantWrite: aws.String("uri=http://acs.amazonaws.com/groups/s3/LogDelivery"), GrantReadACP: aws.String("uri=http://acs.amazonaws.com/groups/s3/LogDelivery")}))
				e.createBucket(t, b)
				e.putAccountPAB(t, &s3controltypes.PublicAccessBlockConfiguration{
					BlockPublicAcls: aws.Bool(true), IgnorePublicAcls: aws.Bool(true),
					BlockPublicPolicy: aws.Bool(true), RestrictPublicBuckets: aws.Bool(true),
				})
				must(t)(e.s3.PutPublicAccessBlock(e.ctx, &s3.PutPublicAccessBlockInput{Bucket: aws.String(b), PublicAccessBlockConfiguration: allBlocked()}))
				must(t)(e.s3.PutBucketOwnershipControls(e.ctx, &s3.PutBucketOwnershipControlsInput{Bucket: aws.String(b), OwnershipControls: &s3types.OwnershipControls{
					Rules: []s3types.OwnershipControlsRule{{ObjectOwnership: s3types.ObjectOwnershipBucketOwnerEnforced}},
				}}))
				must(t)(e.s3.PutBucketPolicy(e.ctx, &s3.PutBucketPolicyInput{Bucket: aws.String(b), Policy: aws.String(denyInsecureTransport)}))
				must(t)(e.s3.PutBucketEncryption(e.ctx, &s3.PutBucketEncryptionInput{Bucket: aws.String(b), ServerSideEncryptionConfiguration: &s3types.ServerSideEncryptionConfiguration{
					Rules: []s3types.ServerSideEncryptionRule{{
						ApplyServerSideEncryptionByDefault: &s3types.ServerSideEncryptionByDefault{SSEAlgorithm: s3types.ServerSideEncryptionAwsKms, KMSMasterKeyID: aws.String("arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab")},
						BucketKeyEnabled:                   aws.Bool(true),
					}},
				}}))
				must(t)(e.s3.PutBucketVersioning(e.ctx, &s3.PutBucketVersioningInput{Bucket: aws.String(b), VersioningConfiguration: &s3types.VersioningConfiguration{Status: s3types.BucketVersioningStatusEnabled}}))
				must(t)(e.s3.PutBucketLogging(e.ctx, &s3.PutBucketLoggingInput{Bucket: aws.String(b), BucketLoggingStatus: &s3types.BucketLoggingStatus{
					LoggingEnabled: &s3types.LoggingEnabled{TargetBucket: aws.String(logs), TargetPrefix: aws.String("invoices/")},
				}}))
				must(t)(e.s3.PutBucketTagging(e.ctx, &s3.PutBucketTaggingInput{Bucket: aws.String(b), Tagging: &s3types.Tagging{TagSet: []s3types.Tag{
					{Key: aws.String("env"), Value: aws.String("prod")}, {Key: aws.String("data-class"), Value: aws.String("confidential")},
				}}}))
				policy, _ := awsres.ParsePolicy(denyInsecureTransport)
				return change.ResourceRef{Type: awsres.TypeS3Bucket, ID: "arn:aws:s3:::" + b, Account: motoAccount, Region: "us-east-1"},
					&awsres.S3Bucket{
						Name: b, ARN: "arn:aws:s3:::" + b, Region: "us-east-1",
						PublicAccessBlock:        allBlockedPAB(),
						AccountPublicAccessBlock: allBlockedPAB(),
						ObjectOwnership:          "BucketOwnerEnforced",
						ACLGrants:                []awsres.Grant{{GranteeType: "CanonicalUser", Grantee: e.ownerID(t, b), Permission: "FULL_CONTROL"}},
						Policy:                   policy,
						Encryption:               awsres.S3Crypto{Enabled: true, Algorithm: "aws:kms", KMSKeyID: "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab", BucketKeyEnabled: true},
						VersioningStatus:         "Enabled",
						Logging:                  awsres.S3Logging{Enabled: true, TargetBucket: logs, TargetPrefix: "invoices/"},
						Tags:                     map[string]string{"env": "prod", "data-class": "confidential"},
					}
			},
		},
		{
			name: "non-compliant: public ACL and policy, nothing configured",
			setup: func(t *testing.T, e *env) (change.ResourceRef, *awsres.S3Bucket) {
				b := e.n("acme-marketing-assets")
				e.createBucket(t, b)
				e.putAccountPAB(t, nil)
				must(t)(e.s3.PutBucketOwnershipControls(e.ctx, &s3.PutBucketOwnershipControlsInput{Bucket: aws.String(b), OwnershipControls: &s3types.OwnershipControls{
					Rules: []s3types.OwnershipControlsRule{{ObjectOwnership: s3types.ObjectOwnershipObjectWriter}},
				}}))
				must(t)(e.s3.PutBucketAcl(e.ctx, &s3.PutBucketAclInput{Bucket: aws.String(b), ACL: s3types.BucketCannedACLPublicRead}))
				must(t)(e.s3.PutBucketPolicy(e.ctx, &s3.PutBucketPolicyInput{Bucket: aws.String(b), Policy: aws.String(publicRead)}))
				must(t)(e.s3.PutBucketVersioning(e.ctx, &s3.PutBucketVersioningInput{Bucket: aws.String(b), VersioningConfiguration: &s3types.VersioningConfiguration{Status: s3types.BucketVersioningStatusSuspended}}))
				policy, _ := awsres.ParsePolicy(publicRead)
				if !policy.Statements[0].Public {
					t.Fatal("fixture policy should parse as public")
				}
				// The reference names the bucket only, as some events do.
				return change.ResourceRef{Type: awsres.TypeS3Bucket, Name: b},
					&awsres.S3Bucket{
						Name: b, ARN: "arn:aws:s3:::" + b, Region: "us-east-1",
						ObjectOwnership: "ObjectWriter",
						ACLGrants: []awsres.Grant{
							{GranteeType: "CanonicalUser", Grantee: e.ownerID(t, b), Permission: "FULL_CONTROL"},
							{GranteeType: "Group", Grantee: awsres.AllUsersURI, Permission: "READ", Public: true},
						},
						Policy:           policy,
						VersioningStatus: "Suspended",
						Tags:             map[string]string{},
					}
			},
		},
		{
			name: "bucket in another Region than the event's",
			setup: func(t *testing.T, e *env) (change.ResourceRef, *awsres.S3Bucket) {
				b := e.n("acme-eu-backups")
				e.in("eu-west-1").createBucket(t, b)
				e.putAccountPAB(t, nil)
				return change.ResourceRef{Type: awsres.TypeS3Bucket, ID: "arn:aws:s3:::" + b, Account: motoAccount, Region: "us-east-1"},
					&awsres.S3Bucket{Name: b, ARN: "arn:aws:s3:::" + b, Region: "eu-west-1", ACLGrants: []awsres.Grant{{GranteeType: "CanonicalUser", Grantee: e.ownerID(t, b), Permission: "FULL_CONTROL"}}, Tags: map[string]string{}}
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			ref, want := tc.setup(t, e)
			got := e.fetch(t, e.fetcher(nil), ref)
			if !got.Exists {
				t.Fatal("Exists = false for a bucket that exists")
			}
			assertRef(t, got.Ref, change.ResourceRef{Type: awsres.TypeS3Bucket, ID: want.ARN, Name: want.Name, Account: motoAccount, Region: want.Region})
			assertJSON(t, "tags", got.Tags, want.Tags)
			assertJSON(t, "document", got.Doc, want)
		})
	}
}

func TestFetchBucketMissing(t *testing.T) {
	e := newEnv(t)
	b := e.n("acme-short-lived")
	e.createBucket(t, b)
	f := e.fetcher(&Options{AccountID: motoAccount})
	ref := change.ResourceRef{Type: awsres.TypeS3Bucket, ID: "arn:aws:s3:::" + b, Region: "us-east-1"}
	if got := e.fetch(t, f, ref); !got.Exists {
		t.Fatal("bucket should exist before it is deleted")
	}
	must(t)(e.s3.DeleteBucket(e.ctx, &s3.DeleteBucketInput{Bucket: aws.String(b)}))
	got := e.fetch(t, f, ref)
	if got.Exists || got.Doc != nil || got.Tags != nil {
		t.Errorf("deleted bucket: Exists=%v Doc=%v Tags=%v, want false, nil, nil", got.Exists, got.Doc, got.Tags)
	}
	assertRef(t, got.Ref, change.ResourceRef{Type: awsres.TypeS3Bucket, ID: "arn:aws:s3:::" + b, Name: b, Account: motoAccount, Region: "us-east-1"})
}

// BenchmarkFetchBucket measures one full bucket fetch (location, then nine
// reads in parallel) against moto on loopback.
func BenchmarkFetchBucket(b *testing.B) {
	e := newEnv(b)
	name := e.n("acme-bench-bucket")
	e.createBucket(b, name)
	must(b)(e.s3.PutBucketPolicy(e.ctx, &s3.PutBucketPolicyInput{Bucket: aws.String(name), Policy: aws.String(publicRead)}))
	f := e.fetcher(&Options{AccountID: motoAccount})
	ref := change.ResourceRef{Type: awsres.TypeS3Bucket, ID: "arn:aws:s3:::" + name, Region: "us-east-1"}
	for b.Loop() {
		if _, err := f.Fetch(e.ctx, ref); err != nil {
			b.Fatal(err)
		}
	}
}
