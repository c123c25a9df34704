package awsfetch

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"

	"github.com/aws/smithy-go/middleware"
)

// operationActions maps SDK service id -> API operation -> the IAM action
// that authorises it. It lists exactly the methods of the consumer
// interfaces in this package (a test checks both directions). IAM action
// names differ from API names in places: GetBucketEncryption is authorised
// by s3:GetEncryptionConfiguration, S3 Control's GetPublicAccessBlock by
// s3:GetAccountPublicAccessBlock.
func operationActions() map[string]map[string]string {
	return map[string]map[string]string{
		"S3": {
			"GetBucketLocation":          "s3:GetBucketLocation",
			"GetPublicAccessBlock":       "s3:GetBucketPublicAccessBlock",
			"GetBucketOwnershipControls": "s3:GetBucketOwnershipControls",
			"GetBucketAcl":               "s3:GetBucketAcl",
			"GetBucketPolicy":            "s3:GetBucketPolicy",
			"GetBucketEncryption":        "s3:GetEncryptionConfiguration",
			"GetBucketVersioning":        "s3:GetBucketVersioning",
			"GetBucketLogging":           "s3:GetBucketLogging",
			"GetBucketTagging":           "s3:GetBucketTagging",
		},
		"S3 Control": {
			"GetPublicAccessBlock": "s3:GetAccountPublicAccessBlock",
		},
		"EC2": {
			"DescribeSecurityGroups":     "ec2:DescribeSecurityGroups",
			"DescribeSecurityGroupRules": "ec2:DescribeSecurityGroupRules",
			"GetEbsEncryptionByDefault":  "ec2:GetEbsEncryptionByDefault",
		},
		"CloudTrail": {
			"GetTrail":          "cloudtrail:GetTrail",
			"DescribeTrails":    "cloudtrail:DescribeTrails",
			"GetTrailStatus":    "cloudtrail:GetTrailStatus",
			"GetEventSelectors": "cloudtrail:GetEventSelectors",
			"ListTags":          "cloudtrail:ListTags",
		},
		"KMS": {
			"DescribeKey":          "kms:DescribeKey",
			"GetKeyRotationStatus": "kms:GetKeyRotationStatus",
			"ListResourceTags":     "kms:ListResourceTags",
		},
		"IAM": {
			"GetUser":                   "iam:GetUser",
			"ListAttachedUserPolicies":  "iam:ListAttachedUserPolicies",
			"ListUserPolicies":          "iam:ListUserPolicies",
			"GetUserPolicy":             "iam:GetUserPolicy",
			"ListGroupsForUser":         "iam:ListGroupsForUser",
			"GetLoginProfile":           "iam:GetLoginProfile",
			"ListAccessKeys":            "iam:ListAccessKeys",
			"GetAccessKeyLastUsed":      "iam:GetAccessKeyLastUsed",
			"GetRole":                   "iam:GetRole",
			"ListAttachedRolePolicies":  "iam:ListAttachedRolePolicies",
			"ListRolePolicies":          "iam:ListRolePolicies",
			"GetRolePolicy":             "iam:GetRolePolicy",
			"GetGroup":                  "iam:GetGroup",
			"ListAttachedGroupPolicies": "iam:ListAttachedGroupPolicies",
			"ListGroupPolicies":         "iam:ListGroupPolicies",
			"GetGroupPolicy":            "iam:GetGroupPolicy",
			"GetPolicy":                 "iam:GetPolicy",
			"GetPolicyVersion":          "iam:GetPolicyVersion",
			"GetAccountPasswordPolicy":  "iam:GetAccountPasswordPolicy",
			"GetAccountSummary":         "iam:GetAccountSummary",
		},
		"RDS": {
			"DescribeDBInstances": "rds:DescribeDBInstances",
		},
		"STS": {
			// Needs no permission, but listing it keeps the table complete.
			"GetCallerIdentity": "sts:GetCallerIdentity",
		},
	}
}

// Permissions returns the IAM actions a Fetcher can call, sorted and
// without duplicates. Infrastructure generates the detector's read-only
// role from it.
func Permissions() []string {
	var out []string
	for _, ops := range operationActions() {
		out = slices.AppendSeq(out, maps.Values(ops))
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// errUndeclared is returned for an SDK call the permission table does not
// declare: the generated role would deny it in production.
var errUndeclared = errors.New("operation not declared in awsfetch permissions")

// declaredOnly returns the middleware every client of a Fetcher carries. It
// refuses operations missing from actions, and translates the errors of the
// others once, after the SDK's retries (it sits first in the stack).
func declaredOnly(actions map[string]map[string]string) func(*middleware.Stack) error {
	return func(stack *middleware.Stack) error {
		return stack.Initialize.Add(middleware.InitializeMiddlewareFunc("awsfetch.DeclaredOnly",
			func(ctx context.Context, in middleware.InitializeInput, next middleware.InitializeHandler) (middleware.InitializeOutput, middleware.Metadata, error) {
				svc, op := middleware.GetServiceID(ctx), middleware.GetOperationName(ctx)
				if _, ok := actions[svc][op]; !ok {
					return middleware.InitializeOutput{}, middleware.Metadata{}, fmt.Errorf("%w: %s %s", errUndeclared, svc, op)
				}
				out, md, err := next.HandleInitialize(ctx, in)
				return out, md, translate(err)
			}), middleware.Before)
	}
}
