package awsremedy

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/aws/smithy-go/middleware"
)

// operationActions maps SDK service id -> API operation -> the IAM action
// that authorises it, for every operation an action of this package calls
// (a test checks that each action's consumer interface maps exactly onto
// its Permissions). IAM action names differ from API names in places: S3's
// PutPublicAccessBlock and DeletePublicAccessBlock are both authorised by
// s3:PutBucketPublicAccessBlock, S3 Control's by
// s3:PutAccountPublicAccessBlock, PutBucketEncryption and
// DeleteBucketEncryption by s3:PutEncryptionConfiguration.
func operationActions() map[string]map[string]string {
	return map[string]map[string]string{
		"S3": {
			"GetPublicAccessBlock":       "s3:GetBucketPublicAccessBlock",
			"PutPublicAccessBlock":       "s3:PutBucketPublicAccessBlock",
			"DeletePublicAccessBlock":    "s3:PutBucketPublicAccessBlock",
			"GetBucketAcl":               "s3:GetBucketAcl",
			"PutBucketAcl":               "s3:PutBucketAcl",
			"GetBucketOwnershipControls": "s3:GetBucketOwnershipControls",
			"GetBucketVersioning":        "s3:GetBucketVersioning",
			"PutBucketVersioning":        "s3:PutBucketVersioning",
			"GetBucketEncryption":        "s3:GetEncryptionConfiguration",
			"PutBucketEncryption":        "s3:PutEncryptionConfiguration",
			"DeleteBucketEncryption":     "s3:PutEncryptionConfiguration",
		},
		"S3 Control": {
			"GetPublicAccessBlock":    "s3:GetAccountPublicAccessBlock",
			"PutPublicAccessBlock":    "s3:PutAccountPublicAccessBlock",
			"DeletePublicAccessBlock": "s3:PutAccountPublicAccessBlock",
		},
		"EC2": {
			"DescribeSecurityGroups":        "ec2:DescribeSecurityGroups",
			"DescribeSecurityGroupRules":    "ec2:DescribeSecurityGroupRules",
			"RevokeSecurityGroupIngress":    "ec2:RevokeSecurityGroupIngress",
			"AuthorizeSecurityGroupIngress": "ec2:AuthorizeSecurityGroupIngress",
			"RevokeSecurityGroupEgress":     "ec2:RevokeSecurityGroupEgress",
			"AuthorizeSecurityGroupEgress":  "ec2:AuthorizeSecurityGroupEgress",
			"GetEbsEncryptionByDefault":     "ec2:GetEbsEncryptionByDefault",
			"EnableEbsEncryptionByDefault":  "ec2:EnableEbsEncryptionByDefault",
			"DisableEbsEncryptionByDefault": "ec2:DisableEbsEncryptionByDefault",
		},
		"CloudTrail": {
			"GetTrailStatus": "cloudtrail:GetTrailStatus",
			"StartLogging":   "cloudtrail:StartLogging",
			"StopLogging":    "cloudtrail:StopLogging",
			"GetTrail":       "cloudtrail:GetTrail",
			"UpdateTrail":    "cloudtrail:UpdateTrail",
		},
		"KMS": {
			"GetKeyRotationStatus": "kms:GetKeyRotationStatus",
			"EnableKeyRotation":    "kms:EnableKeyRotation",
			"DisableKeyRotation":   "kms:DisableKeyRotation",
		},
		"IAM": {
			"ListAccessKeys":              "iam:ListAccessKeys",
			"GetAccessKeyLastUsed":        "iam:GetAccessKeyLastUsed",
			"UpdateAccessKey":             "iam:UpdateAccessKey",
			"GetAccountPasswordPolicy":    "iam:GetAccountPasswordPolicy",
			"UpdateAccountPasswordPolicy": "iam:UpdateAccountPasswordPolicy",
			"DeleteAccountPasswordPolicy": "iam:DeleteAccountPasswordPolicy",
		},
		"RDS": {
			"DescribeDBInstances": "rds:DescribeDBInstances",
			"ModifyDBInstance":    "rds:ModifyDBInstance",
		},
	}
}

// Permissions returns the IAM actions the actions of this package can call,
// sorted and without duplicates: the remediator role is generated from it.
// It equals the union of every action's Permissions (a test checks it).
func Permissions() []string {
	var out []string
	for _, ops := range operationActions() {
		for _, a := range ops {
			out = append(out, a)
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// errUndeclared is returned for an SDK call the action does not declare in
// its Permissions: the generated role would deny it in production.
var errUndeclared = errors.New("operation not declared in the action's permissions")

// declaredOnly returns the middleware every client of the action named
// carries. It refuses operations whose IAM action perms does not list, and
// translates the errors of the others once, after the SDK's retries (it
// sits first in the stack).
func declaredOnly(name string, perms []string) func(*middleware.Stack) error {
	table := operationActions()
	return func(stack *middleware.Stack) error {
		return stack.Initialize.Add(middleware.InitializeMiddlewareFunc("awsremedy.DeclaredOnly",
			func(ctx context.Context, in middleware.InitializeInput, next middleware.InitializeHandler) (middleware.InitializeOutput, middleware.Metadata, error) {
				svc, op := middleware.GetServiceID(ctx), middleware.GetOperationName(ctx)
				iamAction, known := table[svc][op]
				if !known || !slices.Contains(perms, iamAction) {
					return middleware.InitializeOutput{}, middleware.Metadata{}, fmt.Errorf("%w: %s calls %s %s (%s)", errUndeclared, name, svc, op, firstNonEmpty(iamAction, "no IAM action known"))
				}
				out, md, err := next.HandleInitialize(ctx, in)
				return out, md, translate(err, op, iamAction)
			}), middleware.Before)
	}
}
