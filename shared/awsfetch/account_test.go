package awsfetch

import (
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail"
	cttypes "github.com/aws/aws-sdk-go-v2/service/cloudtrail/types"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	s3controltypes "github.com/aws/aws-sdk-go-v2/service/s3control/types"

	"github.com/driftwatch/driftwatch/shared/awsres"
	"github.com/driftwatch/driftwatch/shared/change"
)

func TestFetchAccount(t *testing.T) {
	tests := []struct {
		name string
		ref  change.ResourceRef
		// setup returns the expected document; want.Trails lists only
		// the trails this case created (the emulator is shared, so the
		// account sees other tests' trails too).
		setup func(t *testing.T, e *env) *awsres.Account
	}{
		{
			name: "compliant: account BPA, strong password policy, multi-Region trail seen from another Region",
			ref:  change.ResourceRef{Type: awsres.TypeAccount, ID: motoAccount, Region: "eu-west-1"},
			setup: func(t *testing.T, e *env) *awsres.Account {
				e.putAccountPAB(t, &s3controltypes.PublicAccessBlockConfiguration{
					BlockPublicAcls: aws.Bool(true), IgnorePublicAcls: aws.Bool(true), BlockPublicPolicy: aws.Bool(true), RestrictPublicBuckets: aws.Bool(true),
				})
				must(t)(e.iam.UpdateAccountPasswordPolicy(e.ctx, &iam.UpdateAccountPasswordPolicyInput{
					MinimumPasswordLength: aws.Int32(14), RequireSymbols: true, RequireNumbers: true, RequireUppercaseCharacters: true,
					RequireLowercaseCharacters: true, MaxPasswordAge: aws.Int32(90), PasswordReusePrevention: aws.Int32(24),
					AllowUsersToChangePassword: true,
				}))
				arn := e.createTrail(t, &cloudtrail.CreateTrailInput{Name: aws.String(e.n("org-audit-trail")), S3BucketName: aws.String(e.n("acme-audit-logs")), IsMultiRegionTrail: aws.Bool(true)})
				must(t)(e.ct.StartLogging(e.ctx, &cloudtrail.StartLoggingInput{Name: aws.String(e.n("org-audit-trail"))}))
				must(t)(e.ct.PutEventSelectors(e.ctx, &cloudtrail.PutEventSelectorsInput{TrailName: aws.String(e.n("org-audit-trail")),
					EventSelectors: []cttypes.EventSelector{{IncludeManagementEvents: aws.Bool(true), ReadWriteType: cttypes.ReadWriteTypeAll}}}))
				return &awsres.Account{
					ID:                motoAccount,
					PublicAccessBlock: allBlockedPAB(),
					PasswordPolicy: awsres.PasswordPolicy{
						Configured: true, MinimumLength: 14, RequireSymbols: true, RequireNumbers: true, RequireUppercase: true,
						RequireLowercase: true, MaxAgeDays: 90, ReusePrevention: 24, AllowUsersToChangePassword: true,
					},
					// moto has no root credentials to report: no keys, no MFA.
					Trails: []awsres.TrailSummary{{Name: e.n("org-audit-trail"), ARN: arn, HomeRegion: "us-east-1", IsMultiRegion: true, IsLogging: true, ManagementEvents: "All"}},
				}
			},
		},
		{
			name: "non-compliant: nothing configured, trail stopped; account from STS",
			ref:  change.ResourceRef{Type: awsres.TypeAccount, Region: "us-east-1"},
			setup: func(t *testing.T, e *env) *awsres.Account {
				e.putAccountPAB(t, nil)
				// DeleteAccountPasswordPolicy fails when there is none.
				_, _ = e.iam.DeleteAccountPasswordPolicy(e.ctx, &iam.DeleteAccountPasswordPolicyInput{})
				arn := e.createTrail(t, &cloudtrail.CreateTrailInput{Name: aws.String(e.n("legacy-trail")), S3BucketName: aws.String(e.n("acme-legacy-logs"))})
				must(t)(e.ct.PutEventSelectors(e.ctx, &cloudtrail.PutEventSelectorsInput{TrailName: aws.String(e.n("legacy-trail")),
					EventSelectors: []cttypes.EventSelector{{IncludeManagementEvents: aws.Bool(true), ReadWriteType: cttypes.ReadWriteTypeWriteOnly}}}))
				return &awsres.Account{
					ID:     motoAccount,
					Trails: []awsres.TrailSummary{{Name: e.n("legacy-trail"), ARN: arn, HomeRegion: "us-east-1", ManagementEvents: "WriteOnly"}},
				}
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			want := tc.setup(t, e)
			got := e.fetch(t, e.fetcher(nil), tc.ref)
			if !got.Exists {
				t.Fatal("Exists = false")
			}
			assertRef(t, got.Ref, change.ResourceRef{Type: awsres.TypeAccount, ID: motoAccount, Name: motoAccount, Account: motoAccount})
			doc := got.Doc.(*awsres.Account)
			var mine []awsres.TrailSummary
			for _, tr := range doc.Trails {
				for _, w := range want.Trails {
					if tr.ARN == w.ARN {
						mine = append(mine, tr)
					}
				}
			}
			doc.Trails = mine
			assertJSON(t, "document", doc, want)
		})
	}
}
