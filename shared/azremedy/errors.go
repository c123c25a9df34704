package azremedy

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"

	"github.com/driftwatch/driftwatch/shared/azres"
	"github.com/driftwatch/driftwatch/shared/resource"
)

// ErrAccessDenied is wrapped by errors of requests ARM refused for lack of
// permission. It is the fetchers' sentinel too, so callers branch on one.
var ErrAccessDenied = resource.ErrAccessDenied

// ErrRetryable marks a failure a later attempt may not meet: throttling
// (429), server errors (5xx), another operation in progress on the
// resource (409 AnotherOperationInProgress) and transport failures that
// remained after the SDK's own retries. Actions are idempotent, so
// retrying them is safe. Test it with IsRetryable.
var ErrRetryable = errors.New("retryable Azure error")

// ErrNotFound means the resource the action targets no longer exists.
var ErrNotFound = errors.New("resource not found")

// ErrInvalidTarget means the target cannot be acted on by the action: a
// document or resource type of another kind, no ARM id, an id of another
// type or of a subscription the actions do not act in.
var ErrInvalidTarget = errors.New("invalid remediation target")

// ErrSnapshot means Undo was given a snapshot it cannot restore: not JSON
// of the action's shape, of another action, or of another resource.
var ErrSnapshot = errors.New("invalid remediation snapshot")

// ErrIrreversible is returned by the Undo of an action listed in
// Irreversible whose Apply changed something: Azure cannot revert it.
var ErrIrreversible = errors.New("the change cannot be undone")

// IsRetryable reports whether retrying the action later may succeed. Access
// denials are never retryable.
func IsRetryable(err error) bool {
	return errors.Is(err, ErrRetryable) && !errors.Is(err, ErrAccessDenied)
}

// retryableCodes are ARM error codes that pass with time whatever the
// status that carries them (a long-running operation reports its failure
// in a 200 status body).
var retryableCodes = map[string]bool{
	"AnotherOperationInProgress": true,
	"RetryableError":             true,
	"InternalServerError":        true,
	"TooManyRequests":            true,
}

// translate classifies an SDK error once, in Apply and Undo, into the
// sentinels callers branch on. The *azcore.ResponseError stays in the chain
// for errors.As.
func translate(err error) error {
	if err == nil {
		return nil
	}
	var re *azcore.ResponseError
	if errors.As(err, &re) {
		switch {
		case isNotFound(err):
			return fmt.Errorf("%w: %w", ErrNotFound, err)
		case re.StatusCode == http.StatusForbidden || re.StatusCode == http.StatusUnauthorized ||
			re.ErrorCode == "AuthorizationFailed" || re.ErrorCode == "LinkedAuthorizationFailed":
			return fmt.Errorf("%w: the remediation role needs %s, or a deny assignment or policy refuses it: %w",
				ErrAccessDenied, deniedAction(re), err)
		case retryableCodes[re.ErrorCode],
			re.StatusCode == http.StatusTooManyRequests, re.StatusCode == http.StatusRequestTimeout,
			re.StatusCode >= 500 && re.StatusCode <= 599:
			return fmt.Errorf("%w: %w", ErrRetryable, err)
		}
		return err
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		// The caller gave up; retrying is its decision, not ours.
		return err
	}
	var ne net.Error
	if errors.As(err, &ne) {
		return fmt.Errorf("%w: %w", ErrRetryable, err)
	}
	return err
}

// deniedAction names the RBAC action of the refused request.
func deniedAction(re *azcore.ResponseError) string {
	if re.RawResponse != nil && re.RawResponse.Request != nil {
		if a := azres.RBACAction(re.RawResponse.Request.Method, re.RawResponse.Request.URL.Path); a != "" {
			return a
		}
	}
	return "the action's permissions"
}

// isNotFound reports a missing resource or parent. ARM answers 404 with
// ResourceNotFound for a missing resource, ParentResourceNotFound for a
// child of a missing parent, ResourceGroupNotFound above that. A 404 that
// says the request itself is wrong (an unknown type or API version) is not
// the resource's absence.
func isNotFound(err error) bool {
	var re *azcore.ResponseError
	if !errors.As(err, &re) {
		return false
	}
	switch re.ErrorCode {
	case "ResourceNotFound", "ParentResourceNotFound", "ResourceGroupNotFound", "NotFound":
		return true
	case "InvalidResourceType", "InvalidResourceNamespace", "NoRegisteredProviderFound", "InvalidApiVersionParameter":
		return false
	}
	return re.StatusCode == http.StatusNotFound
}
