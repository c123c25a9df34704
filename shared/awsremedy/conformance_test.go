package awsremedy

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	iamtypes "github.com/aws/aws-sdk-go-v2/service/iam/types"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/rds"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/aws-sdk-go-v2/service/s3control"
	s3controltypes "github.com/aws/aws-sdk-go-v2/service/s3control/types"

	"github.com/driftwatch/driftwatch/shared/awsres"
	"github.com/driftwatch/driftwatch/shared/change"
	"github.com/driftwatch/driftwatch/shared/remediation"
	"github.com/driftwatch/driftwatch/shared/remediation/remediationtest"
)

// ebsRegion is the Region whose EBS encryption-by-default the EBS case
// changes; nothing else in the package reads it.
const ebsRegion = "eu-west-3"

// TestConformance runs the remediation conformance suite on every action
// against moto_server, one Case per action and initial state.
func TestConformance(t *testing.T) {
	e := newEnv(t)
	cat := catalog(t, "us-east-1")
	fetch := func(e *env) func(t *testing.T, ref change.ResourceRef) remediation.Target {
		return func(t *testing.T, ref change.ResourceRef) remediation.Target { return e.fetch(t, ref) }
	}
	mk := func(name string, region string, setup, compliant func(t *testing.T) remediation.Target) remediationtest.Case {
		ev := e
		if region != e.region {
			ev = newEnvIn(t, region)
		}
		return remediationtest.Case{
			Action:         cat[name],
			Setup:          setup,
			SetupCompliant: compliant,
			Fetch:          fetch(ev),
			Complies:       func(t *testing.T, target remediation.Target) bool { return complies(t, name, target) },
			Faulty:         func(t *testing.T, n int) remediation.Action { return catalog(t, region, failWrite(n))[name] },
		}
	}
	named := func(c remediationtest.Case, name string) remediationtest.Case {
		c.Name = c.Action.Name() + "/" + name
		return c
	}

	bucket := func(t *testing.T, configure func(name string)) remediation.Target {
		name := e.unique("acme-assets")
		e.createBucket(t, name)
		if configure != nil {
			configure(name)
		}
		return e.fetch(t, bucketRef(name))
	}
	putPAB := func(t *testing.T, name string, acls, ignore, policy, restrict bool) {
		must(t)(e.s3.PutPublicAccessBlock(e.ctx, &s3.PutPublicAccessBlockInput{Bucket: aws.String(name), PublicAccessBlockConfiguration: &s3types.PublicAccessBlockConfiguration{
			BlockPublicAcls: aws.Bool(acls), IgnorePublicAcls: aws.Bool(ignore), BlockPublicPolicy: aws.Bool(policy), RestrictPublicBuckets: aws.Bool(restrict),
		}}))
	}
	// The account-level setting also counts for every bucket's rule: each
	// account Setup removes it again when its subtest ends, so the bucket
	// cases always start from an account without it.
	deleteAccountPAB := func(t *testing.T) {
		_, err := e.s3c.DeletePublicAccessBlock(e.ctx, &s3control.DeletePublicAccessBlockInput{AccountId: aws.String(motoAccount)})
		if err != nil && !strings.Contains(err.Error(), "NoSuchPublicAccessBlockConfiguration") {
			t.Fatal(err)
		}
	}
	account := func(t *testing.T, pab *s3controltypes.PublicAccessBlockConfiguration) remediation.Target {
		t.Cleanup(func() { deleteAccountPAB(t) })
		if pab == nil {
			deleteAccountPAB(t)
		} else {
			must(t)(e.s3c.PutPublicAccessBlock(e.ctx, &s3control.PutPublicAccessBlockInput{AccountId: aws.String(motoAccount), PublicAccessBlockConfiguration: pab}))
		}
		return e.fetch(t, change.ResourceRef{Cloud: change.AWS, Type: awsres.TypeAccount, ID: motoAccount, Account: motoAccount, Region: "us-east-1"})
	}
	passwordPolicy := func(t *testing.T, in *iam.UpdateAccountPasswordPolicyInput) remediation.Target {
		if in == nil {
			_, _ = e.iam.DeleteAccountPasswordPolicy(e.ctx, &iam.DeleteAccountPasswordPolicyInput{}) // fails when there is none
		} else {
			must(t)(e.iam.UpdateAccountPasswordPolicy(e.ctx, in))
		}
		return e.fetch(t, change.ResourceRef{Cloud: change.AWS, Type: awsres.TypeAccount, ID: motoAccount, Account: motoAccount, Region: "us-east-1"})
	}
	group := func(t *testing.T, perms ...ec2types.IpPermission) remediation.Target {
		out, err := e.ec2.CreateSecurityGroup(e.ctx, &ec2.CreateSecurityGroupInput{GroupName: aws.String(e.unique("web")), Description: aws.String("web tier")})
		if err != nil {
			t.Fatal(err)
		}
		id := aws.ToString(out.GroupId)
		if len(perms) > 0 {
			must(t)(e.ec2.AuthorizeSecurityGroupIngress(e.ctx, &ec2.AuthorizeSecurityGroupIngressInput{GroupId: aws.String(id), IpPermissions: perms}))
		}
		return e.fetch(t, change.ResourceRef{Cloud: change.AWS, Type: awsres.TypeSecurityGroup, ID: id, Account: motoAccount, Region: "us-east-1"})
	}
	defaultGroup := func(t *testing.T, empty bool) remediation.Target {
		vpc, err := e.ec2.CreateVpc(e.ctx, &ec2.CreateVpcInput{CidrBlock: aws.String("10.20.0.0/16")})
		if err != nil {
			t.Fatal(err)
		}
		out, err := e.ec2.DescribeSecurityGroups(e.ctx, &ec2.DescribeSecurityGroupsInput{Filters: []ec2types.Filter{
			{Name: aws.String("vpc-id"), Values: []string{aws.ToString(vpc.Vpc.VpcId)}}, {Name: aws.String("group-name"), Values: []string{"default"}},
		}})
		if err != nil || len(out.SecurityGroups) != 1 {
			t.Fatalf("default group of the new VPC: %v (%d groups)", err, len(out.SecurityGroups))
		}
		sg := out.SecurityGroups[0]
		id := aws.ToString(sg.GroupId)
		if empty {
			must(t)(e.ec2.RevokeSecurityGroupIngress(e.ctx, &ec2.RevokeSecurityGroupIngressInput{GroupId: aws.String(id), IpPermissions: sg.IpPermissions}))
			must(t)(e.ec2.RevokeSecurityGroupEgress(e.ctx, &ec2.RevokeSecurityGroupEgressInput{GroupId: aws.String(id), IpPermissions: sg.IpPermissionsEgress}))
		} else {
			// Besides the self-referencing inbound and the open outbound
			// rule every default group starts with, SSH from an office.
			must(t)(e.ec2.AuthorizeSecurityGroupIngress(e.ctx, &ec2.AuthorizeSecurityGroupIngressInput{GroupId: aws.String(id), IpPermissions: []ec2types.IpPermission{{
				IpProtocol: aws.String("tcp"), FromPort: aws.Int32(22), ToPort: aws.Int32(22),
				IpRanges: []ec2types.IpRange{{CidrIp: aws.String("198.51.100.0/24"), Description: aws.String("office")}},
			}}}))
		}
		return e.fetch(t, change.ResourceRef{Cloud: change.AWS, Type: awsres.TypeSecurityGroup, ID: id, Account: motoAccount, Region: "us-east-1"})
	}
	ebs := newEnvIn(t, ebsRegion)
	ebsDefault := func(t *testing.T, on bool) remediation.Target {
		if on {
			must(t)(ebs.ec2.EnableEbsEncryptionByDefault(ebs.ctx, &ec2.EnableEbsEncryptionByDefaultInput{}))
		} else {
			must(t)(ebs.ec2.DisableEbsEncryptionByDefault(ebs.ctx, &ec2.DisableEbsEncryptionByDefaultInput{}))
		}
		return ebs.fetch(t, change.ResourceRef{Cloud: change.AWS, Type: awsres.TypeAccountRegion, ID: motoAccount + "/" + ebsRegion, Account: motoAccount, Region: ebsRegion})
	}
	trail := func(t *testing.T, in *cloudtrail.CreateTrailInput, start bool) remediation.Target {
		in.Name, in.S3BucketName = aws.String(e.unique("audit-trail")), aws.String(e.unique("acme-audit-logs"))
		e.createBucket(t, aws.ToString(in.S3BucketName))
		out, err := e.ct.CreateTrail(e.ctx, in)
		if err != nil {
			t.Fatal(err)
		}
		if start {
			must(t)(e.ct.StartLogging(e.ctx, &cloudtrail.StartLoggingInput{Name: in.Name}))
		}
		return e.fetch(t, change.ResourceRef{Cloud: change.AWS, Type: awsres.TypeTrail, ID: aws.ToString(out.TrailARN), Name: aws.ToString(in.Name), Account: motoAccount, Region: "us-east-1"})
	}
	key := func(t *testing.T, rotate bool) remediation.Target {
		out, err := e.kms.CreateKey(e.ctx, &kms.CreateKeyInput{Description: aws.String("payments data key")})
		if err != nil {
			t.Fatal(err)
		}
		if rotate {
			must(t)(e.kms.EnableKeyRotation(e.ctx, &kms.EnableKeyRotationInput{KeyId: out.KeyMetadata.KeyId}))
		}
		return e.fetch(t, change.ResourceRef{Cloud: change.AWS, Type: awsres.TypeKMSKey, ID: aws.ToString(out.KeyMetadata.Arn), Account: motoAccount, Region: "us-east-1"})
	}
	user := func(t *testing.T, active, inactive int) remediation.Target {
		name := e.unique("ci-deployer")
		must(t)(e.iam.CreateUser(e.ctx, &iam.CreateUserInput{UserName: aws.String(name)}))
		for i := range active + inactive {
			out, err := e.iam.CreateAccessKey(e.ctx, &iam.CreateAccessKeyInput{UserName: aws.String(name)})
			if err != nil {
				t.Fatal(err)
			}
			if i >= active {
				must(t)(e.iam.UpdateAccessKey(e.ctx, &iam.UpdateAccessKeyInput{UserName: aws.String(name), AccessKeyId: out.AccessKey.AccessKeyId, Status: iamtypes.StatusTypeInactive}))
			}
		}
		return e.fetch(t, change.ResourceRef{Cloud: change.AWS, Type: awsres.TypeIAMUser, ID: "arn:aws:iam::" + motoAccount + ":user/" + name, Name: name, Account: motoAccount})
	}
	db := func(t *testing.T, public bool, retention int32) remediation.Target {
		name := e.unique("billing-db")
		must(t)(e.rds.CreateDBInstance(e.ctx, &rds.CreateDBInstanceInput{
			DBInstanceIdentifier: aws.String(name), Engine: aws.String("mysql"), DBInstanceClass: aws.String("db.t3.micro"), AllocatedStorage: aws.Int32(20),
			MasterUsername: aws.String("admin"), MasterUserPassword: aws.String("not-a-real-secret-1"),
			PubliclyAccessible: aws.Bool(public), BackupRetentionPeriod: aws.Int32(retention), StorageEncrypted: aws.Bool(true),
		}))
		return e.fetch(t, change.ResourceRef{Cloud: change.AWS, Type: awsres.TypeDBInstance, ID: "arn:aws:rds:us-east-1:" + motoAccount + ":db:" + name, Name: name, Account: motoAccount, Region: "us-east-1"})
	}
	// Security group rules get new sgr- ids when Undo authorizes them again,
	// and EC2 lists a rule added again after the others; everything else
	// about them must come back as it was.
	withoutRuleIDs := func(doc any) any {
		sg, ok := doc.(*awsres.SecurityGroup)
		if !ok {
			return doc
		}
		c := *sg
		c.Ingress, c.Egress = clearIDs(sg.Ingress), clearIDs(sg.Egress)
		return &c
	}

	cases := []remediationtest.Case{
		named(mk(S3BlockPublicAccess, "us-east-1",
			func(t *testing.T) remediation.Target { return bucket(t, nil) },
			func(t *testing.T) remediation.Target {
				return bucket(t, func(n string) { putPAB(t, n, true, true, true, true) })
			}), "none configured"),
		named(mk(S3BlockPublicAccess, "us-east-1",
			func(t *testing.T) remediation.Target {
				return bucket(t, func(n string) { putPAB(t, n, true, false, true, false) })
			},
			func(t *testing.T) remediation.Target {
				return bucket(t, func(n string) { putPAB(t, n, true, true, true, true) })
			}), "partly on"),
		named(mk(S3AccountBlockPublicAccess, "us-east-1",
			func(t *testing.T) remediation.Target { return account(t, nil) },
			func(t *testing.T) remediation.Target { return account(t, allOnAccount()) }), "none configured"),
		named(mk(S3AccountBlockPublicAccess, "us-east-1",
			func(t *testing.T) remediation.Target {
				return account(t, &s3controltypes.PublicAccessBlockConfiguration{BlockPublicAcls: aws.Bool(false), IgnorePublicAcls: aws.Bool(true), BlockPublicPolicy: aws.Bool(false), RestrictPublicBuckets: aws.Bool(true)})
			},
			func(t *testing.T) remediation.Target { return account(t, allOnAccount()) }), "partly on"),
		mk(S3ACLPrivate, "us-east-1",
			func(t *testing.T) remediation.Target {
				return bucket(t, func(n string) {
					acl, err := e.s3.GetBucketAcl(e.ctx, &s3.GetBucketAclInput{Bucket: aws.String(n)})
					if err != nil {
						t.Fatal(err)
					}
					// The owner's grant, world-readable, and listable by any
					// AWS account holder: a full policy Undo must restore.
					grants := append(acl.Grants,
						s3types.Grant{Grantee: &s3types.Grantee{Type: s3types.TypeGroup, URI: aws.String(awsres.AllUsersURI)}, Permission: s3types.PermissionRead},
						s3types.Grant{Grantee: &s3types.Grantee{Type: s3types.TypeGroup, URI: aws.String(awsres.AuthenticatedUsersURI)}, Permission: s3types.PermissionReadAcp},
					)
					must(t)(e.s3.PutBucketAcl(e.ctx, &s3.PutBucketAclInput{Bucket: aws.String(n), AccessControlPolicy: &s3types.AccessControlPolicy{Owner: acl.Owner, Grants: grants}}))
				})
			},
			func(t *testing.T) remediation.Target {
				return bucket(t, func(n string) {
					must(t)(e.s3.PutBucketOwnershipControls(e.ctx, &s3.PutBucketOwnershipControlsInput{Bucket: aws.String(n), OwnershipControls: &s3types.OwnershipControls{
						Rules: []s3types.OwnershipControlsRule{{ObjectOwnership: s3types.ObjectOwnershipBucketOwnerEnforced}},
					}}))
				})
			}),
		mk(S3EnableVersioning, "us-east-1",
			func(t *testing.T) remediation.Target {
				return bucket(t, func(n string) {
					for _, s := range []s3types.BucketVersioningStatus{s3types.BucketVersioningStatusEnabled, s3types.BucketVersioningStatusSuspended} {
						must(t)(e.s3.PutBucketVersioning(e.ctx, &s3.PutBucketVersioningInput{Bucket: aws.String(n), VersioningConfiguration: &s3types.VersioningConfiguration{Status: s}}))
					}
				})
			},
			func(t *testing.T) remediation.Target {
				return bucket(t, func(n string) {
					must(t)(e.s3.PutBucketVersioning(e.ctx, &s3.PutBucketVersioningInput{Bucket: aws.String(n), VersioningConfiguration: &s3types.VersioningConfiguration{Status: s3types.BucketVersioningStatusEnabled}}))
				})
			}),
		mk(S3EnableDefaultEncryption, "us-east-1",
			func(t *testing.T) remediation.Target { return bucket(t, nil) },
			func(t *testing.T) remediation.Target {
				return bucket(t, func(n string) {
					must(t)(e.s3.PutBucketEncryption(e.ctx, &s3.PutBucketEncryptionInput{Bucket: aws.String(n), ServerSideEncryptionConfiguration: &s3types.ServerSideEncryptionConfiguration{
						Rules: []s3types.ServerSideEncryptionRule{{BucketKeyEnabled: aws.Bool(true), ApplyServerSideEncryptionByDefault: &s3types.ServerSideEncryptionByDefault{
							SSEAlgorithm: s3types.ServerSideEncryptionAwsKms, KMSMasterKeyID: aws.String("arn:aws:kms:us-east-1:" + motoAccount + ":key/5e6f7a8b-1234-4cde-9f00-aabbccddeeff"),
						}}},
					}}))
				})
			}),
		func() remediationtest.Case {
			c := mk(EC2RevokePublicIngress, "us-east-1",
				func(t *testing.T) remediation.Target {
					// SSH open to the world over IPv4 and IPv6, beside rules
					// that must stay: HTTPS from the VPC, SSH from an office.
					return group(t,
						ec2types.IpPermission{IpProtocol: aws.String("tcp"), FromPort: aws.Int32(22), ToPort: aws.Int32(22),
							IpRanges:   []ec2types.IpRange{{CidrIp: aws.String("0.0.0.0/0"), Description: aws.String("ssh from anywhere")}, {CidrIp: aws.String("198.51.100.0/24"), Description: aws.String("office")}},
							Ipv6Ranges: []ec2types.Ipv6Range{{CidrIpv6: aws.String("::/0")}}},
						ec2types.IpPermission{IpProtocol: aws.String("tcp"), FromPort: aws.Int32(443), ToPort: aws.Int32(443),
							IpRanges: []ec2types.IpRange{{CidrIp: aws.String("10.0.0.0/8")}}},
					)
				},
				func(t *testing.T) remediation.Target {
					return group(t, ec2types.IpPermission{IpProtocol: aws.String("tcp"), FromPort: aws.Int32(443), ToPort: aws.Int32(443),
						IpRanges: []ec2types.IpRange{{CidrIp: aws.String("10.0.0.0/8")}}})
				})
			c.Normalize = withoutRuleIDs
			return c
		}(),
		func() remediationtest.Case {
			c := mk(EC2RevokeDefaultSGRules, "us-east-1",
				func(t *testing.T) remediation.Target { return defaultGroup(t, false) },
				func(t *testing.T) remediation.Target { return defaultGroup(t, true) })
			c.Normalize = withoutRuleIDs
			return c
		}(),
		mk(EBSEnableDefaultEncryption, ebsRegion,
			func(t *testing.T) remediation.Target { return ebsDefault(t, false) },
			func(t *testing.T) remediation.Target { return ebsDefault(t, true) }),
		mk(CloudTrailStartLogging, "us-east-1",
			func(t *testing.T) remediation.Target { return trail(t, &cloudtrail.CreateTrailInput{}, false) },
			func(t *testing.T) remediation.Target { return trail(t, &cloudtrail.CreateTrailInput{}, true) }),
		mk(CloudTrailEnableLogFileValidation, "us-east-1",
			func(t *testing.T) remediation.Target { return trail(t, &cloudtrail.CreateTrailInput{}, true) },
			func(t *testing.T) remediation.Target {
				return trail(t, &cloudtrail.CreateTrailInput{EnableLogFileValidation: aws.Bool(true)}, true)
			}),
		mk(KMSEnableRotation, "us-east-1",
			func(t *testing.T) remediation.Target { return key(t, false) },
			func(t *testing.T) remediation.Target { return key(t, true) }),
		// Two idle keys: Apply makes two writes, so the suite also fails
		// the second one and checks that the first is undone.
		mk(IAMDeactivateAccessKey, "us-east-1",
			func(t *testing.T) remediation.Target { return user(t, 2, 0) },
			func(t *testing.T) remediation.Target { return user(t, 0, 1) }),
		named(mk(IAMUpdatePasswordPolicy, "us-east-1",
			func(t *testing.T) remediation.Target {
				return passwordPolicy(t, &iam.UpdateAccountPasswordPolicyInput{
					MinimumPasswordLength: aws.Int32(8), RequireSymbols: true, RequireUppercaseCharacters: true,
					MaxPasswordAge: aws.Int32(90), PasswordReusePrevention: aws.Int32(5), AllowUsersToChangePassword: true,
				})
			},
			func(t *testing.T) remediation.Target {
				return passwordPolicy(t, &iam.UpdateAccountPasswordPolicyInput{MinimumPasswordLength: aws.Int32(16), PasswordReusePrevention: aws.Int32(24), HardExpiry: aws.Bool(true)})
			}), "weak policy"),
		named(mk(IAMUpdatePasswordPolicy, "us-east-1",
			func(t *testing.T) remediation.Target { return passwordPolicy(t, nil) },
			func(t *testing.T) remediation.Target {
				return passwordPolicy(t, &iam.UpdateAccountPasswordPolicyInput{MinimumPasswordLength: aws.Int32(14), PasswordReusePrevention: aws.Int32(24)})
			}), "no policy"),
		mk(RDSDisablePublicAccess, "us-east-1",
			func(t *testing.T) remediation.Target { return db(t, true, 7) },
			func(t *testing.T) remediation.Target { return db(t, false, 7) }),
		mk(RDSEnableBackups, "us-east-1",
			func(t *testing.T) remediation.Target { return db(t, false, 0) },
			func(t *testing.T) remediation.Target { return db(t, false, 3) }),
	}
	remediationtest.Run(t, cases)
}

func clearIDs(rules []awsres.SGRule) []awsres.SGRule {
	out := make([]awsres.SGRule, len(rules))
	for i, r := range rules {
		r.RuleID = ""
		out[i] = r
	}
	slices.SortFunc(out, func(a, b awsres.SGRule) int { return strings.Compare(fmt.Sprintf("%+v", a), fmt.Sprintf("%+v", b)) })
	return out
}

func allOnAccount() *s3controltypes.PublicAccessBlockConfiguration {
	return &s3controltypes.PublicAccessBlockConfiguration{BlockPublicAcls: aws.Bool(true), IgnorePublicAcls: aws.Bool(true), BlockPublicPolicy: aws.Bool(true), RestrictPublicBuckets: aws.Bool(true)}
}
