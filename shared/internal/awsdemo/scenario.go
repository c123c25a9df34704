// Package awsdemo is the AWS drift scenario shared by the end-to-end test and
// make demo: it builds a compliant baseline in an AWS emulator with the SDK,
// applies real misconfigurations, then a fix, and renders the CloudTrail
// events (events/aws/*.json) that each step causes, filled in with the ids
// the emulator assigned.
package awsdemo

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail"
	cttypes "github.com/aws/aws-sdk-go-v2/service/cloudtrail/types"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/rds"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/aws-sdk-go-v2/service/s3control"
	s3ctypes "github.com/aws/aws-sdk-go-v2/service/s3control/types"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/driftwatch/driftwatch/shared/awsfetch"
)

// DisabledRules are the built-in rules the scenario's deployment turns off
// (DRIFTWATCH_DISABLED_RULES): S3 MFA delete needs the root user's MFA
// device, which the emulator cannot keep.
const DisabledRules = "aws_s3_bucket_mfa_delete_enabled"

// Env holds SDK clients on the emulator and the values events refer to.
type Env struct {
	S3   *s3.Client
	S3C  *s3control.Client
	EC2  *ec2.Client
	CT   *cloudtrail.Client
	KMS  *kms.Client
	IAM  *iam.Client
	RDS  *rds.Client
	STS  *sts.Client
	Vars map[string]string
}

// NewEnv returns clients for cfg (an emulator configuration).
func NewEnv(cfg aws.Config) *Env {
	return &Env{
		S3:   s3.NewFromConfig(cfg, func(o *s3.Options) { o.UsePathStyle = true }),
		S3C:  s3control.NewFromConfig(cfg, awsfetch.WithAccountInHeader),
		EC2:  ec2.NewFromConfig(cfg),
		CT:   cloudtrail.NewFromConfig(cfg),
		KMS:  kms.NewFromConfig(cfg),
		IAM:  iam.NewFromConfig(cfg),
		RDS:  rds.NewFromConfig(cfg),
		STS:  sts.NewFromConfig(cfg),
		Vars: map[string]string{"REGION": cfg.Region},
	}
}

// Step is one thing a person does, and the CloudTrail event it causes.
type Step struct {
	// Title says what happens, in plain words.
	Title string
	// Event is the file under events/aws/.
	Event string
	// Apply makes the change in the emulator (nil: the event only).
	Apply func(ctx context.Context, e *Env) error
}

// Baseline creates compliant resources with the SDK, as the platform team's
// Terraform would, and returns the steps whose events record that creation.
func (e *Env) Baseline(ctx context.Context) ([]Step, error) {
	id, err := e.STS.GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	if err != nil {
		return nil, fmt.Errorf("caller identity: %w", err)
	}
	acct := aws.ToString(id.Account)
	v := e.Vars
	v["ACCOUNT"] = acct
	v["BUCKET"] = "payments-invoices-prod"
	v["LOG_BUCKET"] = "payments-access-logs"
	v["TRAIL_BUCKET"] = "org-cloudtrail-logs-" + acct
	v["TRAIL"] = "org-audit-trail"
	v["DB"] = "payments-ledger"
	v["USER"] = "reports-exporter"
	v["ADMIN_POLICY"] = "breakglass-admin"

	steps := []struct {
		what string
		do   func() error
	}{
		{"KMS key with rotation", func() error {
			k, err := e.KMS.CreateKey(ctx, &kms.CreateKeyInput{Description: aws.String("payments data key")})
			if err != nil {
				return err
			}
			v["KEY_ID"], v["KEY_ARN"] = aws.ToString(k.KeyMetadata.KeyId), aws.ToString(k.KeyMetadata.Arn)
			_, err = e.KMS.EnableKeyRotation(ctx, &kms.EnableKeyRotationInput{KeyId: k.KeyMetadata.KeyId})
			return err
		}},
		{"access log bucket", func() error {
			if err := e.createBucket(ctx, v["LOG_BUCKET"]); err != nil {
				return err
			}
			// S3 server access logging delivers as the log-delivery group.
			_, err := e.S3.PutBucketAcl(ctx, &s3.PutBucketAclInput{Bucket: aws.String(v["LOG_BUCKET"]), GrantWrite: aws.String("uri=http://acs.amazonaws.com/groups/s3/LogDelivery"), GrantReadACP: aws.String("uri=http://acs.amazonaws.com/groups/s3/LogDelivery")})
			return err
		}},
		{"payments bucket", func() error { return e.compliantBucket(ctx, v["BUCKET"]) }},
		{"account Block Public Access", func() error {
			_, err := e.S3C.PutPublicAccessBlock(ctx, &s3control.PutPublicAccessBlockInput{AccountId: aws.String(acct),
				PublicAccessBlockConfiguration: &s3ctypes.PublicAccessBlockConfiguration{BlockPublicAcls: aws.Bool(true), IgnorePublicAcls: aws.Bool(true), BlockPublicPolicy: aws.Bool(true), RestrictPublicBuckets: aws.Bool(true)}})
			return err
		}},
		{"password policy", func() error {
			_, err := e.IAM.UpdateAccountPasswordPolicy(ctx, &iam.UpdateAccountPasswordPolicyInput{MinimumPasswordLength: aws.Int32(14), PasswordReusePrevention: aws.Int32(24),
				RequireSymbols: true, RequireNumbers: true, RequireUppercaseCharacters: true, RequireLowercaseCharacters: true, MaxPasswordAge: aws.Int32(90), AllowUsersToChangePassword: true})
			return err
		}},
		{"CloudTrail trail", func() error {
			if err := e.createBucket(ctx, v["TRAIL_BUCKET"]); err != nil {
				return err
			}
			t, err := e.CT.CreateTrail(ctx, &cloudtrail.CreateTrailInput{Name: aws.String(v["TRAIL"]), S3BucketName: aws.String(v["TRAIL_BUCKET"]),
				IsMultiRegionTrail: aws.Bool(true), EnableLogFileValidation: aws.Bool(true), KmsKeyId: aws.String(v["KEY_ARN"])})
			if err != nil {
				return err
			}
			v["TRAIL_ARN"] = aws.ToString(t.TrailARN)
			if _, err := e.CT.PutEventSelectors(ctx, &cloudtrail.PutEventSelectorsInput{TrailName: aws.String(v["TRAIL"]),
				EventSelectors: []cttypes.EventSelector{{IncludeManagementEvents: aws.Bool(true), ReadWriteType: cttypes.ReadWriteTypeAll}}}); err != nil {
				return err
			}
			_, err = e.CT.StartLogging(ctx, &cloudtrail.StartLoggingInput{Name: aws.String(v["TRAIL"])})
			return err
		}},
		{"security group", func() error {
			vpcs, err := e.EC2.DescribeVpcs(ctx, &ec2.DescribeVpcsInput{Filters: []ec2types.Filter{{Name: aws.String("is-default"), Values: []string{"true"}}}})
			if err != nil {
				return err
			}
			if len(vpcs.Vpcs) == 0 {
				return fmt.Errorf("the emulator has no default VPC")
			}
			v["VPC_ID"] = aws.ToString(vpcs.Vpcs[0].VpcId)
			g, err := e.EC2.CreateSecurityGroup(ctx, &ec2.CreateSecurityGroupInput{GroupName: aws.String("payments-web"), Description: aws.String("payments web tier"), VpcId: vpcs.Vpcs[0].VpcId})
			if err != nil {
				return err
			}
			v["GROUP_ID"] = aws.ToString(g.GroupId)
			_, err = e.EC2.AuthorizeSecurityGroupIngress(ctx, &ec2.AuthorizeSecurityGroupIngressInput{GroupId: g.GroupId,
				IpPermissions: []ec2types.IpPermission{{IpProtocol: aws.String("tcp"), FromPort: aws.Int32(443), ToPort: aws.Int32(443), IpRanges: []ec2types.IpRange{{CidrIp: aws.String("0.0.0.0/0"), Description: aws.String("public HTTPS")}}}}})
			return err
		}},
		{"RDS instance", func() error {
			_, err := e.RDS.CreateDBInstance(ctx, &rds.CreateDBInstanceInput{DBInstanceIdentifier: aws.String(v["DB"]), DBInstanceClass: aws.String("db.t3.micro"), Engine: aws.String("postgres"),
				MasterUsername: aws.String("ledger"), MasterUserPassword: aws.String("not-a-real-password-1"), AllocatedStorage: aws.Int32(20),
				StorageEncrypted: aws.Bool(true), PubliclyAccessible: aws.Bool(false), BackupRetentionPeriod: aws.Int32(7)})
			return err
		}},
		{"EBS encryption by default", func() error {
			_, err := e.EC2.EnableEbsEncryptionByDefault(ctx, &ec2.EnableEbsEncryptionByDefaultInput{})
			return err
		}},
		{"IAM user", func() error {
			_, err := e.IAM.CreateUser(ctx, &iam.CreateUserInput{UserName: aws.String(v["USER"])})
			return err
		}},
		{"break-glass admin policy (unattached)", func() error {
			p, err := e.IAM.CreatePolicy(ctx, &iam.CreatePolicyInput{PolicyName: aws.String(v["ADMIN_POLICY"]),
				PolicyDocument: aws.String(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}`),
				Description:    aws.String("break-glass only, attach under incident")})
			if err != nil {
				return err
			}
			v["ADMIN_POLICY_ARN"] = aws.ToString(p.Policy.Arn)
			return nil
		}},
	}
	for _, s := range steps {
		if err := s.do(); err != nil {
			return nil, fmt.Errorf("baseline %s: %w", s.what, err)
		}
	}
	return []Step{
		{Title: "Terraform creates the payments bucket", Event: "01-create-bucket.json"},
		{Title: "Terraform creates the web security group (HTTPS only)", Event: "02-create-security-group.json"},
		{Title: "Terraform creates the organisation's audit trail", Event: "03-create-trail.json"},
		{Title: "Terraform creates a KMS key with rotation", Event: "04-create-key.json"},
		{Title: "Terraform creates an encrypted, private database", Event: "05-create-db-instance.json"},
		{Title: "Terraform turns on EBS encryption by default", Event: "06-enable-ebs-encryption-by-default.json"},
		{Title: "Terraform creates the reports-exporter user", Event: "07-create-user.json"},
		{Title: "Terraform creates a break-glass admin policy (not attached)", Event: "08-create-breakglass-policy.json"},
		{Title: "Terraform turns on account-level S3 Block Public Access", Event: "09-put-account-public-access-block.json"},
	}, nil
}

func (e *Env) createBucket(ctx context.Context, name string) error {
	in := &s3.CreateBucketInput{Bucket: aws.String(name)}
	if r := e.Vars["REGION"]; r != "us-east-1" {
		in.CreateBucketConfiguration = &s3types.CreateBucketConfiguration{LocationConstraint: s3types.BucketLocationConstraint(r)}
	}
	_, err := e.S3.CreateBucket(ctx, in)
	return err
}

func (e *Env) compliantBucket(ctx context.Context, name string) error {
	if err := e.createBucket(ctx, name); err != nil {
		return err
	}
	b := aws.String(name)
	calls := []func() error{
		func() error {
			_, err := e.S3.PutPublicAccessBlock(ctx, &s3.PutPublicAccessBlockInput{Bucket: b, PublicAccessBlockConfiguration: &s3types.PublicAccessBlockConfiguration{
				BlockPublicAcls: aws.Bool(true), IgnorePublicAcls: aws.Bool(true), BlockPublicPolicy: aws.Bool(true), RestrictPublicBuckets: aws.Bool(true)}})
			return err
		},
		func() error {
			_, err := e.S3.PutBucketEncryption(ctx, &s3.PutBucketEncryptionInput{Bucket: b, ServerSideEncryptionConfiguration: &s3types.ServerSideEncryptionConfiguration{
				Rules: []s3types.ServerSideEncryptionRule{{ApplyServerSideEncryptionByDefault: &s3types.ServerSideEncryptionByDefault{SSEAlgorithm: s3types.ServerSideEncryptionAwsKms, KMSMasterKeyID: aws.String(e.Vars["KEY_ARN"])}, BucketKeyEnabled: aws.Bool(true)}}}})
			return err
		},
		func() error {
			// MFA delete (which needs the root user's MFA device) is not
			// set: moto 5.2.1 does not keep it, so the scenario disables
			// that rule (see DisabledRules).
			_, err := e.S3.PutBucketVersioning(ctx, &s3.PutBucketVersioningInput{Bucket: b,
				VersioningConfiguration: &s3types.VersioningConfiguration{Status: s3types.BucketVersioningStatusEnabled}})
			return err
		},
		func() error {
			_, err := e.S3.PutBucketLogging(ctx, &s3.PutBucketLoggingInput{Bucket: b, BucketLoggingStatus: &s3types.BucketLoggingStatus{
				LoggingEnabled: &s3types.LoggingEnabled{TargetBucket: aws.String(e.Vars["LOG_BUCKET"]), TargetPrefix: aws.String(name + "/")}}})
			return err
		},
		func() error {
			_, err := e.S3.PutBucketTagging(ctx, &s3.PutBucketTaggingInput{Bucket: b, Tagging: &s3types.Tagging{TagSet: []s3types.Tag{
				{Key: aws.String("team"), Value: aws.String("payments")}, {Key: aws.String("data-classification"), Value: aws.String("confidential")}}}})
			return err
		},
	}
	for _, c := range calls {
		if err := c(); err != nil {
			return err
		}
	}
	return nil
}

// Drift returns the misconfigurations, in order.
func Drift() []Step {
	return []Step{
		{Title: "alice removes the account-level S3 Block Public Access (console)", Event: "10-delete-account-public-access-block.json",
			Apply: func(ctx context.Context, e *Env) error {
				_, err := e.S3C.DeletePublicAccessBlock(ctx, &s3control.DeletePublicAccessBlockInput{AccountId: aws.String(e.Vars["ACCOUNT"])})
				return err
			}},
		{Title: "alice removes the payments bucket's Block Public Access (console)", Event: "11-delete-bucket-public-access-block.json",
			Apply: func(ctx context.Context, e *Env) error {
				_, err := e.S3.DeletePublicAccessBlock(ctx, &s3.DeletePublicAccessBlockInput{Bucket: aws.String(e.Vars["BUCKET"])})
				return err
			}},
		{Title: "alice makes the payments bucket public-read (console)", Event: "12-put-bucket-acl-public-read.json",
			Apply: func(ctx context.Context, e *Env) error {
				_, err := e.S3.PutBucketAcl(ctx, &s3.PutBucketAclInput{Bucket: aws.String(e.Vars["BUCKET"]), ACL: s3types.BucketCannedACLPublicRead})
				return err
			}},
		{Title: "bob opens SSH to the world on the web security group (CLI)", Event: "13-authorize-ssh-from-anywhere.json",
			Apply: func(ctx context.Context, e *Env) error {
				out, err := e.EC2.AuthorizeSecurityGroupIngress(ctx, &ec2.AuthorizeSecurityGroupIngressInput{GroupId: aws.String(e.Vars["GROUP_ID"]),
					IpPermissions: []ec2types.IpPermission{{IpProtocol: aws.String("tcp"), FromPort: aws.Int32(22), ToPort: aws.Int32(22), IpRanges: []ec2types.IpRange{{CidrIp: aws.String("0.0.0.0/0"), Description: aws.String("temp debug")}}}}})
				if err == nil && len(out.SecurityGroupRules) > 0 {
					e.Vars["RULE_ID"] = aws.ToString(out.SecurityGroupRules[0].SecurityGroupRuleId)
				}
				return err
			}},
		{Title: "bob stops the audit trail (CLI)", Event: "14-stop-logging.json",
			Apply: func(ctx context.Context, e *Env) error {
				_, err := e.CT.StopLogging(ctx, &cloudtrail.StopLoggingInput{Name: aws.String(e.Vars["TRAIL"])})
				return err
			}},
		{Title: "alice disables rotation of the payments KMS key (console)", Event: "15-disable-key-rotation.json",
			Apply: func(ctx context.Context, e *Env) error {
				_, err := e.KMS.DisableKeyRotation(ctx, &kms.DisableKeyRotationInput{KeyId: aws.String(e.Vars["KEY_ID"])})
				return err
			}},
		{Title: "alice makes the payments database publicly accessible (console)", Event: "16-modify-db-instance-public.json",
			Apply: func(ctx context.Context, e *Env) error {
				_, err := e.RDS.ModifyDBInstance(ctx, &rds.ModifyDBInstanceInput{DBInstanceIdentifier: aws.String(e.Vars["DB"]), PubliclyAccessible: aws.Bool(true), ApplyImmediately: aws.Bool(true)})
				return err
			}},
		{Title: "bob disables EBS encryption by default (CLI)", Event: "17-disable-ebs-encryption-by-default.json",
			Apply: func(ctx context.Context, e *Env) error {
				_, err := e.EC2.DisableEbsEncryptionByDefault(ctx, &ec2.DisableEbsEncryptionByDefaultInput{})
				return err
			}},
		{Title: "bob attaches the break-glass admin policy to reports-exporter (CLI)", Event: "18-attach-admin-policy.json",
			Apply: func(ctx context.Context, e *Env) error {
				_, err := e.IAM.AttachUserPolicy(ctx, &iam.AttachUserPolicyInput{UserName: aws.String(e.Vars["USER"]), PolicyArn: aws.String(e.Vars["ADMIN_POLICY_ARN"])})
				return err
			}},
	}
}

// Fix returns the fix: SSH closed again.
func Fix() []Step {
	return []Step{
		{Title: "bob closes SSH again (CLI)", Event: "20-revoke-ssh-from-anywhere.json",
			Apply: func(ctx context.Context, e *Env) error {
				_, err := e.EC2.RevokeSecurityGroupIngress(ctx, &ec2.RevokeSecurityGroupIngressInput{GroupId: aws.String(e.Vars["GROUP_ID"]),
					IpPermissions: []ec2types.IpPermission{{IpProtocol: aws.String("tcp"), FromPort: aws.Int32(22), ToPort: aws.Int32(22), IpRanges: []ec2types.IpRange{{CidrIp: aws.String("0.0.0.0/0")}}}}})
				return err
			}},
	}
}

// Event reads events/aws/<name> from dir and fills in its ${VAR}
// placeholders (TIME is now). An unknown placeholder is an error.
func (e *Env) Event(dir, name string, now time.Time) ([]byte, error) {
	raw, err := os.ReadFile(filepath.Join(dir, name))
	if err != nil {
		return nil, err
	}
	var missing []string
	out := os.Expand(string(raw), func(k string) string {
		if k == "TIME" {
			return now.UTC().Format(time.RFC3339)
		}
		v, ok := e.Vars[k]
		if !ok {
			missing = append(missing, k)
		}
		return v
	})
	if len(missing) > 0 {
		return nil, fmt.Errorf("event %s: no value for %s", name, strings.Join(missing, ", "))
	}
	return []byte(out), nil
}
