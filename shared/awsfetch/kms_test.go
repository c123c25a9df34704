package awsfetch

import (
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	kmstypes "github.com/aws/aws-sdk-go-v2/service/kms/types"

	"github.com/driftwatch/driftwatch/shared/awsres"
	"github.com/driftwatch/driftwatch/shared/change"
)

// createKey creates a key. Callers set KeyUsage even for the default
// (ENCRYPT_DECRYPT): moto reports KeyUsage only when it was given.
func (e *env) createKey(t testing.TB, in *kms.CreateKeyInput) *kmstypes.KeyMetadata {
	t.Helper()
	out, err := e.kms.CreateKey(e.ctx, in)
	if err != nil {
		t.Fatal(err)
	}
	return out.KeyMetadata
}

func TestFetchKey(t *testing.T) {
	tests := []struct {
		name  string
		setup func(t *testing.T, e *env) (change.ResourceRef, *awsres.KMSKey)
	}{
		{
			name: "compliant: customer key with rotation, named by alias",
			setup: func(t *testing.T, e *env) (change.ResourceRef, *awsres.KMSKey) {
				md := e.createKey(t, &kms.CreateKeyInput{Description: aws.String("payments data"), KeyUsage: kmstypes.KeyUsageTypeEncryptDecrypt, Tags: []kmstypes.Tag{{TagKey: aws.String("team"), TagValue: aws.String("payments")}}})
				must(t)(e.kms.CreateAlias(e.ctx, &kms.CreateAliasInput{AliasName: aws.String("alias/" + e.n("payments")), TargetKeyId: md.KeyId}))
				must(t)(e.kms.EnableKeyRotation(e.ctx, &kms.EnableKeyRotationInput{KeyId: md.KeyId}))
				return change.ResourceRef{Type: awsres.TypeKMSKey, Name: "alias/" + e.n("payments"), Account: motoAccount, Region: "us-east-1"},
					&awsres.KMSKey{
						ID: aws.ToString(md.KeyId), ARN: aws.ToString(md.Arn), Description: "payments data", Manager: "CUSTOMER",
						Spec: "SYMMETRIC_DEFAULT", Usage: "ENCRYPT_DECRYPT", State: "Enabled", Origin: "AWS_KMS",
						RotationEnabled: true, Tags: map[string]string{"team": "payments"},
					}
			},
		},
		{
			name: "non-compliant: customer key without rotation",
			setup: func(t *testing.T, e *env) (change.ResourceRef, *awsres.KMSKey) {
				md := e.createKey(t, &kms.CreateKeyInput{Description: aws.String("legacy"), KeyUsage: kmstypes.KeyUsageTypeEncryptDecrypt})
				return change.ResourceRef{Type: awsres.TypeKMSKey, ID: aws.ToString(md.Arn), Account: motoAccount, Region: "us-east-1"},
					&awsres.KMSKey{
						ID: aws.ToString(md.KeyId), ARN: aws.ToString(md.Arn), Description: "legacy", Manager: "CUSTOMER",
						Spec: "SYMMETRIC_DEFAULT", Usage: "ENCRYPT_DECRYPT", State: "Enabled", Origin: "AWS_KMS", Tags: map[string]string{},
					}
			},
		},
		{
			name: "asymmetric key: rotation does not apply",
			setup: func(t *testing.T, e *env) (change.ResourceRef, *awsres.KMSKey) {
				md := e.createKey(t, &kms.CreateKeyInput{Description: aws.String("code signing"), KeySpec: kmstypes.KeySpecRsa2048, KeyUsage: kmstypes.KeyUsageTypeSignVerify})
				return change.ResourceRef{Type: awsres.TypeKMSKey, ID: aws.ToString(md.Arn), Account: motoAccount, Region: "us-east-1"},
					&awsres.KMSKey{
						ID: aws.ToString(md.KeyId), ARN: aws.ToString(md.Arn), Description: "code signing", Manager: "CUSTOMER",
						Spec: "RSA_2048", Usage: "SIGN_VERIFY", State: "Enabled", Origin: "AWS_KMS", Tags: map[string]string{},
					}
			},
		},
		{
			name: "pending deletion: still exists, rotation not read",
			setup: func(t *testing.T, e *env) (change.ResourceRef, *awsres.KMSKey) {
				md := e.createKey(t, &kms.CreateKeyInput{Description: aws.String("retired"), KeyUsage: kmstypes.KeyUsageTypeEncryptDecrypt})
				must(t)(e.kms.EnableKeyRotation(e.ctx, &kms.EnableKeyRotationInput{KeyId: md.KeyId}))
				must(t)(e.kms.ScheduleKeyDeletion(e.ctx, &kms.ScheduleKeyDeletionInput{KeyId: md.KeyId, PendingWindowInDays: aws.Int32(7)}))
				desc, err := e.kms.DescribeKey(e.ctx, &kms.DescribeKeyInput{KeyId: md.KeyId})
				if err != nil {
					t.Fatal(err)
				}
				if d := desc.KeyMetadata.DeletionDate.Sub(time.Now()); d < 6*24*time.Hour || d > 8*24*time.Hour {
					t.Fatalf("deletion date %v is not 7 days ahead", desc.KeyMetadata.DeletionDate)
				}
				return change.ResourceRef{Type: awsres.TypeKMSKey, ID: aws.ToString(md.KeyId), Account: motoAccount, Region: "us-east-1"},
					&awsres.KMSKey{
						ID: aws.ToString(md.KeyId), ARN: aws.ToString(md.Arn), Description: "retired", Manager: "CUSTOMER",
						Spec: "SYMMETRIC_DEFAULT", Usage: "ENCRYPT_DECRYPT", State: "PendingDeletion", Origin: "AWS_KMS",
						DeletionDate: desc.KeyMetadata.DeletionDate.UTC(), Tags: map[string]string{},
					}
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			ref, want := tc.setup(t, e)
			got := e.fetch(t, e.fetcher(nil), ref)
			if !got.Exists {
				t.Fatal("Exists = false")
			}
			assertRef(t, got.Ref, change.ResourceRef{Type: awsres.TypeKMSKey, ID: want.ARN, Name: want.ID, Account: motoAccount, Region: "us-east-1"})
			assertJSON(t, "document", got.Doc, want)
		})
	}
}

func TestFetchKeyMissing(t *testing.T) {
	e := newEnv(t)
	const id = "0c7f3f8e-54a4-4ad0-9b8e-1f2f3f4f5f6f"
	for _, ref := range []change.ResourceRef{
		{Type: awsres.TypeKMSKey, ID: "arn:aws:kms:us-east-1:" + motoAccount + ":key/" + id, Account: motoAccount},
		{Type: awsres.TypeKMSKey, Name: id, Account: motoAccount, Region: "us-east-1"},
	} {
		got := e.fetch(t, e.fetcher(nil), ref)
		if got.Exists || got.Doc != nil {
			t.Errorf("%+v: Exists=%v Doc=%v", ref, got.Exists, got.Doc)
		}
		assertRef(t, got.Ref, change.ResourceRef{Type: awsres.TypeKMSKey, ID: "arn:aws:kms:us-east-1:" + motoAccount + ":key/" + id, Name: id, Account: motoAccount, Region: "us-east-1"})
	}
}
