package awsres

import (
	"testing"

	"github.com/driftwatch/driftwatch/shared/change"
)

func TestCanonicalIDAndName(t *testing.T) {
	tests := []struct {
		typ, partition, region, account, name string
		want, short                           string
	}{
		{TypeS3Bucket, "aws", "eu-west-1", "123456789012", "invoices", "arn:aws:s3:::invoices", "invoices"},
		{TypeSecurityGroup, "aws", "eu-west-1", "123456789012", "sg-0abc", "arn:aws:ec2:eu-west-1:123456789012:security-group/sg-0abc", "sg-0abc"},
		{TypeTrail, "aws", "us-east-1", "123456789012", "org-trail", "arn:aws:cloudtrail:us-east-1:123456789012:trail/org-trail", "org-trail"},
		// A trail named by ARN keeps its own Region and account.
		{TypeTrail, "aws", "us-east-1", "123456789012", "arn:aws:cloudtrail:eu-west-1:210987654321:trail/t", "arn:aws:cloudtrail:eu-west-1:210987654321:trail/t", "t"},
		{TypeKMSKey, "aws-us-gov", "us-gov-west-1", "123456789012", "1234abcd", "arn:aws-us-gov:kms:us-gov-west-1:123456789012:key/1234abcd", "1234abcd"},
		// IAM principals drop their path so that events naming them by name
		// resolve to the same resource.
		{TypeIAMUser, "aws", "", "123456789012", "arn:aws:iam::123456789012:user/team/alice", "arn:aws:iam::123456789012:user/alice", "alice"},
		{TypeIAMRole, "", "", "123456789012", "deployer", "arn:aws:iam::123456789012:role/deployer", "deployer"},
		{TypeIAMGroup, "aws", "", "123456789012", "admins", "arn:aws:iam::123456789012:group/admins", "admins"},
		{TypeIAMPolicy, "aws", "", "123456789012", "arn:aws:iam::aws:policy/AdministratorAccess", "arn:aws:iam::aws:policy/AdministratorAccess", "AdministratorAccess"},
		{TypeDBInstance, "aws", "eu-west-1", "123456789012", "ledger", "arn:aws:rds:eu-west-1:123456789012:db:ledger", "ledger"},
		{TypeAccount, "aws", "eu-west-1", "123456789012", "", "123456789012", "123456789012"},
		{TypeAccountRegion, "aws", "eu-west-1", "123456789012", "", "123456789012/eu-west-1", "123456789012/eu-west-1"},
	}
	for _, tc := range tests {
		got := CanonicalID(tc.typ, tc.partition, tc.region, tc.account, tc.name)
		if got != tc.want {
			t.Errorf("CanonicalID(%s, %q) = %q, want %q", tc.typ, tc.name, got, tc.want)
		}
		if short := NameFromID(tc.typ, got); short != tc.short {
			t.Errorf("NameFromID(%s, %q) = %q, want %q", tc.typ, got, short, tc.short)
		}
	}
}

func TestConsoleURL(t *testing.T) {
	tests := []struct {
		ref  change.ResourceRef
		want string
	}{
		{change.ResourceRef{Type: TypeS3Bucket, ID: "arn:aws:s3:::invoices"}, "https://s3.console.aws.amazon.com/s3/buckets/invoices?tab=permissions"},
		// The group's name is for people; the console wants its id.
		{change.ResourceRef{Type: TypeSecurityGroup, ID: "arn:aws:ec2:eu-west-1:123456789012:security-group/sg-0abc", Name: "payments-web", Region: "eu-west-1"},
			"https://eu-west-1.console.aws.amazon.com/ec2/home?region=eu-west-1#SecurityGroup:groupId=sg-0abc"},
		{change.ResourceRef{Type: TypeIAMUser, ID: "arn:aws:iam::123456789012:user/alice"}, "https://console.aws.amazon.com/iam/home#/users/details/alice"},
		{change.ResourceRef{Type: TypeDBInstance, ID: "arn:aws:rds:eu-west-1:123456789012:db:ledger", Region: "eu-west-1"},
			"https://eu-west-1.console.aws.amazon.com/rds/home?region=eu-west-1#database:id=ledger"},
		{change.ResourceRef{Type: "AWS::Lambda::Function", ID: "arn:aws:lambda:eu-west-1:123456789012:function:f"}, ""},
	}
	for _, tc := range tests {
		if got := ConsoleURL(tc.ref); got != tc.want {
			t.Errorf("ConsoleURL(%s) = %q, want %q", tc.ref.ID, got, tc.want)
		}
	}
}
