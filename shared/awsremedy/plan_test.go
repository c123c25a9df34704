package awsremedy

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/driftwatch/driftwatch/shared/awsres"
	"github.com/driftwatch/driftwatch/shared/change"
	"github.com/driftwatch/driftwatch/shared/remediation"
)

// TestPlans words every plan from documents covering each action's cases;
// the texts are what an approver reads in the confirm dialog, so they are
// kept in testdata/plans.golden for review (-update rewrites it).
func TestPlans(t *testing.T) {
	// A fixed clock: the plans print dates.
	now := time.Date(2026, 12, 4, 3, 0, 0, 0, time.UTC)
	days := func(n int) time.Time { return now.Add(-time.Duration(n) * 24 * time.Hour) }
	cat, err := New(emulator.Config("us-east-1"), &Options{Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	sgARN := "arn:aws:ec2:us-east-1:123456789012:security-group/sg-0a1b2c3d4e5f60718"
	tests := []struct {
		name   string
		action string
		doc    any
	}{
		{"bucket without Block Public Access", S3BlockPublicAccess, &awsres.S3Bucket{Name: "acme-web-assets"}},
		{"bucket with one setting off", S3BlockPublicAccess, &awsres.S3Bucket{Name: "acme-web-assets", PublicAccessBlock: awsres.PublicAccessBlock{Configured: true, BlockPublicAcls: true, IgnorePublicAcls: true, BlockPublicPolicy: true}}},
		{"bucket with every setting off", S3BlockPublicAccess, &awsres.S3Bucket{Name: "acme-web-assets", PublicAccessBlock: awsres.PublicAccessBlock{Configured: true}}},
		{"bucket fully blocked", S3BlockPublicAccess, &awsres.S3Bucket{Name: "acme-web-assets", PublicAccessBlock: awsres.PublicAccessBlock{Configured: true, BlockPublicAcls: true, IgnorePublicAcls: true, BlockPublicPolicy: true, RestrictPublicBuckets: true}}},
		{"account without Block Public Access", S3AccountBlockPublicAccess, &awsres.Account{ID: "123456789012"}},
		{"account with two settings off", S3AccountBlockPublicAccess, &awsres.Account{ID: "123456789012", PublicAccessBlock: awsres.PublicAccessBlock{Configured: true, IgnorePublicAcls: true, RestrictPublicBuckets: true}}},
		{"public-read bucket ACL", S3ACLPrivate, &awsres.S3Bucket{Name: "acme-web-assets", ACLGrants: []awsres.Grant{
			{GranteeType: "CanonicalUser", Grantee: "owner-id", Permission: "FULL_CONTROL"},
			{GranteeType: "Group", Grantee: awsres.AllUsersURI, Permission: "READ", Public: true},
			{GranteeType: "Group", Grantee: awsres.AuthenticatedUsersURI, Permission: "WRITE", Public: true},
		}}},
		{"ACL with a cross-account grant only", S3ACLPrivate, &awsres.S3Bucket{Name: "acme-web-assets", ACLGrants: []awsres.Grant{
			{GranteeType: "CanonicalUser", Grantee: "owner-id", Permission: "FULL_CONTROL"},
			{GranteeType: "CanonicalUser", Grantee: "partner-id", Permission: "READ"},
		}}},
		{"ACLs disabled", S3ACLPrivate, &awsres.S3Bucket{Name: "acme-web-assets", ObjectOwnership: "BucketOwnerEnforced", ACLGrants: []awsres.Grant{
			{GranteeType: "Group", Grantee: awsres.AllUsersURI, Permission: "READ", Public: true},
		}}},
		{"never versioned", S3EnableVersioning, &awsres.S3Bucket{Name: "acme-backups"}},
		{"versioning suspended", S3EnableVersioning, &awsres.S3Bucket{Name: "acme-backups", VersioningStatus: "Suspended"}},
		{"versioning enabled", S3EnableVersioning, &awsres.S3Bucket{Name: "acme-backups", VersioningStatus: "Enabled"}},
		{"no default encryption", S3EnableDefaultEncryption, &awsres.S3Bucket{Name: "acme-backups"}},
		{"SSE-KMS default encryption", S3EnableDefaultEncryption, &awsres.S3Bucket{Name: "acme-backups", Encryption: awsres.S3Crypto{Enabled: true, Algorithm: "aws:kms"}}},
		{"SSH and RDP open to the world", EC2RevokePublicIngress, &awsres.SecurityGroup{ID: "sg-0a1b2c3d4e5f60718", ARN: sgARN, Name: "bastion", Ingress: []awsres.SGRule{
			{RuleID: "sgr-01", Protocol: "tcp", FromPort: 22, ToPort: 22, CIDR: "0.0.0.0/0", Public: true},
			{RuleID: "sgr-02", Protocol: "tcp", FromPort: 22, ToPort: 22, CIDR: "198.51.100.0/24"},
			{RuleID: "sgr-03", Protocol: "tcp", FromPort: 3389, ToPort: 3389, CIDR: "::/0", IPv6: true, Public: true},
			{RuleID: "sgr-04", Protocol: "-1", FromPort: -1, ToPort: -1, ReferencedGroup: "sg-0ffff"},
		}}},
		{"all traffic from anywhere", EC2RevokePublicIngress, &awsres.SecurityGroup{ID: "sg-0a1b2c3d4e5f60718", ARN: sgARN, Name: "sg-0a1b2c3d4e5f60718", Ingress: []awsres.SGRule{
			{RuleID: "sgr-05", Protocol: "-1", FromPort: -1, ToPort: -1, CIDR: "0.0.0.0/0", Public: true},
		}}},
		{"a port range from anywhere", EC2RevokePublicIngress, &awsres.SecurityGroup{ID: "sg-0a1b2c3d4e5f60718", ARN: sgARN, Name: "app", Ingress: []awsres.SGRule{
			{RuleID: "sgr-06", Protocol: "udp", FromPort: 60000, ToPort: 61000, CIDR: "0.0.0.0/0", Public: true},
		}}},
		{"no public ingress", EC2RevokePublicIngress, &awsres.SecurityGroup{ID: "sg-0a1b2c3d4e5f60718", ARN: sgARN, Name: "app", Ingress: []awsres.SGRule{
			{RuleID: "sgr-07", Protocol: "tcp", FromPort: 443, ToPort: 443, CIDR: "10.0.0.0/8"},
		}}},
		{"default group with rules", EC2RevokeDefaultSGRules, &awsres.SecurityGroup{ID: "sg-0d", ARN: sgARN, Name: "default", VPCID: "vpc-0e", IsDefault: true,
			Ingress: []awsres.SGRule{{RuleID: "sgr-08", Protocol: "-1", FromPort: -1, ToPort: -1, ReferencedGroup: "sg-0d"}},
			Egress:  []awsres.SGRule{{RuleID: "sgr-09", Protocol: "-1", FromPort: -1, ToPort: -1, CIDR: "0.0.0.0/0", Public: true}}}},
		{"default group with one rule", EC2RevokeDefaultSGRules, &awsres.SecurityGroup{ID: "sg-0d", ARN: sgARN, Name: "default", VPCID: "vpc-0e", IsDefault: true,
			Egress: []awsres.SGRule{{RuleID: "sgr-09", Protocol: "-1", FromPort: -1, ToPort: -1, CIDR: "0.0.0.0/0", Public: true}}}},
		{"default group without rules", EC2RevokeDefaultSGRules, &awsres.SecurityGroup{ID: "sg-0d", ARN: sgARN, Name: "default", VPCID: "vpc-0e", IsDefault: true}},
		{"not a default group", EC2RevokeDefaultSGRules, &awsres.SecurityGroup{ID: "sg-0a", ARN: sgARN, Name: "web", Ingress: []awsres.SGRule{{Protocol: "tcp", FromPort: 80, ToPort: 80, CIDR: "0.0.0.0/0", Public: true}}}},
		{"EBS default encryption off", EBSEnableDefaultEncryption, &awsres.AccountRegion{Account: "123456789012", Region: "eu-west-1"}},
		{"EBS default encryption on", EBSEnableDefaultEncryption, &awsres.AccountRegion{Account: "123456789012", Region: "eu-west-1", EBSEncryptionByDefault: true}},
		{"stopped trail", CloudTrailStartLogging, &awsres.Trail{Name: "org-audit", ARN: "arn:aws:cloudtrail:us-east-1:123456789012:trail/org-audit"}},
		{"logging trail", CloudTrailStartLogging, &awsres.Trail{Name: "org-audit", IsLogging: true}},
		{"trail without validation", CloudTrailEnableLogFileValidation, &awsres.Trail{Name: "org-audit"}},
		{"trail with validation", CloudTrailEnableLogFileValidation, &awsres.Trail{Name: "org-audit", LogFileValidation: true}},
		{"key without rotation", KMSEnableRotation, &awsres.KMSKey{ID: "1234abcd-12ab-34cd-56ef-1234567890ab", Manager: "CUSTOMER", Spec: "SYMMETRIC_DEFAULT", Origin: "AWS_KMS", State: "Enabled"}},
		{"key with rotation", KMSEnableRotation, &awsres.KMSKey{ID: "1234abcd-12ab-34cd-56ef-1234567890ab", Manager: "CUSTOMER", Spec: "SYMMETRIC_DEFAULT", Origin: "AWS_KMS", State: "Enabled", RotationEnabled: true}},
		{"AWS managed key", KMSEnableRotation, &awsres.KMSKey{ID: "aws-key", Manager: "AWS", Spec: "SYMMETRIC_DEFAULT", Origin: "AWS_KMS", State: "Enabled"}},
		{"asymmetric key", KMSEnableRotation, &awsres.KMSKey{ID: "rsa-key", Manager: "CUSTOMER", Spec: "RSA_2048", Origin: "AWS_KMS", State: "Enabled"}},
		{"disabled key", KMSEnableRotation, &awsres.KMSKey{ID: "old-key", Manager: "CUSTOMER", Spec: "SYMMETRIC_DEFAULT", Origin: "AWS_KMS", State: "Disabled"}},
		{"idle and busy keys", IAMDeactivateAccessKey, &awsres.IAMUser{Name: "ci-deployer", AccessKeys: []awsres.AccessKey{
			{ID: "AKIAIDLE00000000001", Status: "Active", Created: days(400), LastUsed: days(46), Used: true},
			{ID: "AKIABUSY00000000002", Status: "Active", Created: days(400), LastUsed: days(1), Used: true},
		}}},
		{"never used key", IAMDeactivateAccessKey, &awsres.IAMUser{Name: "ci-deployer", AccessKeys: []awsres.AccessKey{
			{ID: "AKIANEVER0000000003", Status: "Active", Created: days(50)},
		}}},
		{"keys in use or inactive", IAMDeactivateAccessKey, &awsres.IAMUser{Name: "ci-deployer", AccessKeys: []awsres.AccessKey{
			{ID: "AKIAOLD000000000004", Status: "Inactive", Created: days(900)},
			{ID: "AKIAOLDBUSY00000005", Status: "Active", Created: days(900), LastUsed: days(3), Used: true},
		}}},
		{"no password policy", IAMUpdatePasswordPolicy, &awsres.Account{ID: "123456789012"}},
		{"weak password policy", IAMUpdatePasswordPolicy, &awsres.Account{ID: "123456789012", PasswordPolicy: awsres.PasswordPolicy{Configured: true, MinimumLength: 8, ReusePrevention: 5}}},
		{"short passwords only", IAMUpdatePasswordPolicy, &awsres.Account{ID: "123456789012", PasswordPolicy: awsres.PasswordPolicy{Configured: true, MinimumLength: 12, ReusePrevention: 24}}},
		{"strong password policy", IAMUpdatePasswordPolicy, &awsres.Account{ID: "123456789012", PasswordPolicy: awsres.PasswordPolicy{Configured: true, MinimumLength: 16, ReusePrevention: 24}}},
		{"public database", RDSDisablePublicAccess, &awsres.DBInstance{ID: "billing-db", PubliclyAccessible: true}},
		{"private database", RDSDisablePublicAccess, &awsres.DBInstance{ID: "billing-db"}},
		{"database without backups", RDSEnableBackups, &awsres.DBInstance{ID: "billing-db"}},
		{"database with backups", RDSEnableBackups, &awsres.DBInstance{ID: "billing-db", BackupRetentionPeriod: 3}},
	}
	var b strings.Builder
	for _, tt := range tests {
		a := cat[tt.action]
		plan, err := a.Plan(t.Context(), remediation.Target{Ref: change.ResourceRef{Type: a.ResourceType()}, Doc: tt.doc})
		fmt.Fprintf(&b, "## %s: %s\n", tt.action, tt.name)
		switch {
		case err != nil && !errors.Is(err, ErrInvalidTarget):
			t.Errorf("%s: Plan: %v, want ErrInvalidTarget or no error", tt.name, err)
		case err != nil:
			fmt.Fprintf(&b, "refused: %v\n\n", err)
		case strings.TrimSpace(plan.Change) == "":
			t.Errorf("%s: empty Change", tt.name)
		default:
			fmt.Fprintf(&b, "noop: %v\n%s\n\n", plan.Noop, plan.Change)
		}
	}
	golden(t, "plans.golden", b.String())
}

func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -run %s -update)", err, t.Name())
	}
	if string(want) != got {
		t.Errorf("%s changed; review and run go test -run %s -update.\ngot:\n%s", path, t.Name(), got)
	}
}

// TestIdleKeys: the key selection is exactly the failing side of the
// unused-45-days rule; age alone never selects a key.
func TestIdleKeys(t *testing.T) {
	now := time.Date(2026, 12, 4, 3, 0, 0, 0, time.UTC)
	ago := func(d time.Duration) time.Time { return now.Add(-d) }
	const day = 24 * time.Hour
	tests := []struct {
		name string
		key  awsres.AccessKey
		want bool
	}{
		{"used 45 days ago exactly", awsres.AccessKey{ID: "k", Status: "Active", Created: ago(300 * day), LastUsed: ago(45 * day), Used: true}, true},
		{"used a second short of 45 days ago", awsres.AccessKey{ID: "k", Status: "Active", Created: ago(300 * day), LastUsed: ago(45*day - time.Second), Used: true}, false},
		{"never used, created 45 days ago", awsres.AccessKey{ID: "k", Status: "Active", Created: ago(45 * day)}, true},
		{"never used, created yesterday", awsres.AccessKey{ID: "k", Status: "Active", Created: ago(day)}, false},
		{"900 days old but used today (rotation rule only)", awsres.AccessKey{ID: "k", Status: "Active", Created: ago(900 * day), LastUsed: ago(time.Hour), Used: true}, false},
		{"idle but already inactive", awsres.AccessKey{ID: "k", Status: "Inactive", Created: ago(900 * day)}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := len(idleKeys([]awsres.AccessKey{tt.key}, now)) == 1
			if got != tt.want {
				t.Errorf("selected = %v, want %v", got, tt.want)
			}
			// The rule's verdict must be the opposite of the selection.
			user := remediation.Target{Ref: change.ResourceRef{Type: awsres.TypeIAMUser}, Doc: &awsres.IAMUser{Name: "u", AccessKeys: []awsres.AccessKey{tt.key}}}
			if fails := !compliesAt(t, IAMDeactivateAccessKey, user, now); fails != tt.want {
				t.Errorf("the rule fails = %v, but the action selects the key = %v", fails, tt.want)
			}
		})
	}
}
