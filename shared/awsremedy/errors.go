package awsremedy

import (
	"errors"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/smithy-go"

	"github.com/driftwatch/driftwatch/shared/resource"
)

// ErrAccessDenied is wrapped by errors of calls AWS refused for lack of
// permission. It is the fetchers' sentinel too, so callers branch on one.
var ErrAccessDenied = resource.ErrAccessDenied

// ErrRetryable marks a failure a later attempt may not meet: throttling,
// server errors and transport failures that remained after the SDK's own
// retries. Actions are idempotent, so retrying them is safe. Test it with
// IsRetryable.
var ErrRetryable = errors.New("retryable AWS error")

// ErrNotFound means the resource the action targets no longer exists.
var ErrNotFound = errors.New("resource not found")

// ErrInvalidTarget means the target cannot be acted on by the action: a
// document or resource type of another kind, or no identifier.
var ErrInvalidTarget = errors.New("invalid remediation target")

// ErrSnapshot means Undo was given a snapshot it cannot restore: not JSON
// of the action's shape, of another action, or of another resource.
var ErrSnapshot = errors.New("invalid remediation snapshot")

// errNotConfigured marks a read of an optional setting that is not set (no
// Block Public Access configuration, no default encryption, no password
// policy). Actions read it as "none".
var errNotConfigured = errors.New("setting not configured")

// IsRetryable reports whether retrying the action later may succeed. Access
// denials are never retryable.
func IsRetryable(err error) bool {
	return errors.Is(err, ErrRetryable) && !errors.Is(err, ErrAccessDenied)
}

// translate classifies an SDK error once, for every client (it runs in the
// middleware every client carries), into the sentinels callers branch on.
// The SDK error stays in the chain for errors.As.
func translate(err error, op, iamAction string) error {
	if err == nil {
		return nil
	}
	var ae smithy.APIError
	if errors.As(err, &ae) {
		switch code := ae.ErrorCode(); code {
		case "NoSuchBucket", // S3
			"InvalidGroup.NotFound",                         // EC2
			"TrailNotFoundException",                        // CloudTrail
			"NotFoundException",                             // KMS
			"DBInstanceNotFound", "DBInstanceNotFoundFault": // RDS
			return fmt.Errorf("%w: %w", ErrNotFound, err)
		case "NoSuchEntity": // IAM: a missing user or key, or no password policy
			if op == "GetAccountPasswordPolicy" {
				return fmt.Errorf("%w: %w", errNotConfigured, err)
			}
			return fmt.Errorf("%w: %w", ErrNotFound, err)
		case "NoSuchPublicAccessBlockConfiguration", // S3 and S3 Control
			"ServerSideEncryptionConfigurationNotFoundError",
			"OwnershipControlsNotFoundError":
			return fmt.Errorf("%w: %w", errNotConfigured, err)
		case "AccessDenied", // S3, IAM, STS, RDS
			"AccessDeniedException", // KMS, CloudTrail
			"UnauthorizedOperation", // EC2
			"AuthorizationError",
			"Forbidden":
			return fmt.Errorf("%w: the remediator role needs %s, or a service control policy, resource policy or permissions boundary denies it: %w",
				ErrAccessDenied, iamAction, err)
		}
	}
	// The SDK's own standard classification: throttling codes, 500/502/503/
	// 504, connection errors; never a cancelled context.
	retryable := retry.IsErrorRetryables(retry.DefaultRetryables).IsErrorRetryable(err) == aws.TrueTernary
	if retryable || ae != nil && ae.ErrorFault() == smithy.FaultServer {
		return fmt.Errorf("%w: %w", ErrRetryable, err)
	}
	return err
}

// optional interprets the error of a read of an optional setting: it
// reports whether the setting is configured, and returns any other error.
func optional(err error) (configured bool, _ error) {
	switch {
	case err == nil:
		return true, nil
	case errors.Is(err, errNotConfigured):
		return false, nil
	}
	return false, err
}
