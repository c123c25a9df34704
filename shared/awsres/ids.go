package awsres

import (
	"net/url"
	"strings"

	"github.com/driftwatch/driftwatch/shared/change"
)

// CanonicalID builds the identifier driftwatch uses for a resource of type
// typ named name (a bucket name, sg id, trail name, key id, user name, policy
// ARN, DB identifier). A name that is already an ARN is kept as it is,
// except for IAM principals, whose path is dropped so that events naming the
// principal without its path resolve to the same resource.
func CanonicalID(typ, partition, region, account, name string) string {
	if partition == "" {
		partition = "aws"
	}
	if strings.HasPrefix(name, "arn:") {
		switch typ {
		case TypeIAMUser, TypeIAMRole, TypeIAMGroup:
			return CanonicalID(typ, partition, region, account, lastSegment(name))
		}
		return name
	}
	switch typ {
	case TypeS3Bucket:
		return "arn:" + partition + ":s3:::" + name
	case TypeSecurityGroup:
		return "arn:" + partition + ":ec2:" + region + ":" + account + ":security-group/" + name
	case TypeTrail:
		return "arn:" + partition + ":cloudtrail:" + region + ":" + account + ":trail/" + name
	case TypeKMSKey:
		return "arn:" + partition + ":kms:" + region + ":" + account + ":key/" + name
	case TypeIAMUser:
		return "arn:" + partition + ":iam::" + account + ":user/" + name
	case TypeIAMRole:
		return "arn:" + partition + ":iam::" + account + ":role/" + name
	case TypeIAMGroup:
		return "arn:" + partition + ":iam::" + account + ":group/" + name
	case TypeIAMPolicy:
		return "arn:" + partition + ":iam::" + account + ":policy/" + name
	case TypeDBInstance:
		return "arn:" + partition + ":rds:" + region + ":" + account + ":db:" + name
	case TypeAccount:
		return account
	case TypeAccountRegion:
		return account + "/" + region
	}
	return name
}

// NameFromID returns the short name inside a canonical id: the bucket name,
// sg id, trail name, key id, principal name, DB identifier or account id.
func NameFromID(typ, id string) string {
	switch typ {
	case TypeS3Bucket, TypeDBInstance:
		return id[strings.LastIndex(id, ":")+1:]
	case TypeAccount, TypeAccountRegion:
		return id
	}
	return lastSegment(id)
}

func lastSegment(s string) string {
	if i := strings.LastIndex(s, "/"); i >= 0 {
		return s[i+1:]
	}
	if i := strings.LastIndex(s, ":"); i >= 0 {
		return s[i+1:]
	}
	return s
}

// ConsoleURL links to the resource in the AWS console (commercial
// partition). It returns "" for unknown types.
func ConsoleURL(ref change.ResourceRef) string {
	// Console addresses take the id inside the canonical id (a security
	// group's sg- id, not its name).
	name := NameFromID(ref.Type, ref.ID)
	region := ref.Region
	if region == "" {
		region = "us-east-1"
	}
	regional := "https://" + region + ".console.aws.amazon.com/"
	q := url.QueryEscape
	switch ref.Type {
	case TypeS3Bucket:
		return "https://s3.console.aws.amazon.com/s3/buckets/" + url.PathEscape(name) + "?tab=permissions"
	case TypeSecurityGroup:
		return regional + "ec2/home?region=" + region + "#SecurityGroup:groupId=" + q(name)
	case TypeTrail:
		return regional + "cloudtrailv2/home?region=" + region + "#/trails/" + q(ref.ID)
	case TypeKMSKey:
		return regional + "kms/home?region=" + region + "#/kms/keys/" + q(name)
	case TypeIAMUser:
		return "https://console.aws.amazon.com/iam/home#/users/details/" + q(name)
	case TypeIAMRole:
		return "https://console.aws.amazon.com/iam/home#/roles/details/" + q(name)
	case TypeIAMGroup:
		return "https://console.aws.amazon.com/iam/home#/groups/details/" + q(name)
	case TypeIAMPolicy:
		return "https://console.aws.amazon.com/iam/home#/policies/details/" + q(ref.ID)
	case TypeDBInstance:
		return regional + "rds/home?region=" + region + "#database:id=" + q(name)
	case TypeAccount:
		return "https://console.aws.amazon.com/iam/home#/account_settings"
	case TypeAccountRegion:
		return regional + "ec2/home?region=" + region + "#Settings:tab=ebsEncryption"
	}
	return ""
}
