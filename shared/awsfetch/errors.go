package awsfetch

import (
	"errors"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/smithy-go"

	"github.com/driftwatch/driftwatch/shared/resource"
)

// ErrRetryable marks a failure a later attempt may not meet: throttling,
// server errors and transport failures that remained after the SDK's own
// retries. Test it with IsRetryable.
var ErrRetryable = errors.New("retryable AWS error")

// ErrInvalidRef means the reference cannot name a resource of its type (no
// id or name, an unparsable ARN, a security group name instead of an id).
var ErrInvalidRef = errors.New("invalid resource reference")

// errNotConfigured marks a read of an optional setting that is not set (no
// bucket policy, no default encryption, ...). Readers turn it into the
// setting's zero value.
var errNotConfigured = errors.New("setting not configured")

// IsRetryable reports whether retrying the fetch later may succeed. Access
// denials are never retryable, even when another read of the same fetch was
// throttled.
func IsRetryable(err error) bool {
	return errors.Is(err, ErrRetryable) && !errors.Is(err, resource.ErrAccessDenied)
}

// translate classifies an SDK error once, for every client (it runs in the
// middleware every client carries): missing resources, unset settings,
// denials and transient failures get the sentinel callers branch on. The
// SDK error stays in the chain for errors.As.
func translate(err error) error {
	if err == nil {
		return nil
	}
	var ae smithy.APIError
	if errors.As(err, &ae) {
		switch ae.ErrorCode() {
		case "NoSuchBucket", // S3
			"InvalidGroup.NotFound",                         // EC2
			"TrailNotFoundException",                        // CloudTrail
			"NotFoundException",                             // KMS
			"NoSuchEntity",                                  // IAM
			"DBInstanceNotFound", "DBInstanceNotFoundFault": // RDS
			return fmt.Errorf("%w: %w", errNotFound, err)
		case "NoSuchPublicAccessBlockConfiguration", // S3 and S3 Control
			"ServerSideEncryptionConfigurationNotFoundError",
			"NoSuchBucketPolicy",
			"NoSuchTagSet",
			"OwnershipControlsNotFoundError":
			return fmt.Errorf("%w: %w", errNotConfigured, err)
		case "AccessDenied", // S3, IAM, STS, RDS
			"AccessDeniedException", // KMS, CloudTrail
			"UnauthorizedOperation", // EC2
			"AuthorizationError",
			"Forbidden":
			return fmt.Errorf("%w: %w", resource.ErrAccessDenied, err)
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
