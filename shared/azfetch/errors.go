package azfetch

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"

	"github.com/driftwatch/driftwatch/shared/resource"
)

// ErrRetryable marks a failure a later attempt may not meet: throttling
// (429), server errors (5xx) and transport failures that remained after the
// SDK's own retries. Test it with IsRetryable.
var ErrRetryable = errors.New("retryable Azure error")

// ErrInvalidRef means the reference cannot name a resource of its type: no
// id, an id that is not an ARM resource id, or an id of another type or
// subscription.
var ErrInvalidRef = errors.New("invalid resource reference")

// ErrInvalidPortRange means a security rule's port range is not a port, a
// from-to range or "*". ARM validates ranges on write, so meeting one means
// the response is not what driftwatch understands; guessing would let an
// open port through unseen.
var ErrInvalidPortRange = errors.New("invalid port range")

// errNotFound marks a read that found the resource (or its parent) missing.
// Fetch turns it into Exists=false.
var errNotFound = errors.New("resource not found")

// IsRetryable reports whether retrying the fetch later may succeed. Access
// denials are never retryable, even when another read of the same fetch was
// throttled.
func IsRetryable(err error) bool {
	return errors.Is(err, ErrRetryable) && !errors.Is(err, resource.ErrAccessDenied)
}

// translate classifies an SDK error once, in Fetch: the error of any read of
// any client gets the sentinel callers branch on. The *azcore.ResponseError
// stays in the chain for errors.As.
func translate(err error) error {
	if err == nil {
		return nil
	}
	var re *azcore.ResponseError
	if errors.As(err, &re) {
		switch {
		case isNotFound(re):
			return fmt.Errorf("%w: %w", errNotFound, err)
		case isDenied(re):
			return fmt.Errorf("%w: %w", resource.ErrAccessDenied, err)
		case re.StatusCode == http.StatusTooManyRequests, re.StatusCode == http.StatusRequestTimeout,
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

// isNotFound: ARM answers 404 with ResourceNotFound for a missing resource,
// ParentResourceNotFound for a child of a missing parent (a database of a
// deleted server), ResourceGroupNotFound and SubscriptionNotFound above
// that. A 404 that says the request itself is wrong (an unknown type or
// namespace, an unregistered API) is not the resource's absence: reporting
// Exists=false for it would erase the resource's posture.
func isNotFound(re *azcore.ResponseError) bool {
	switch re.ErrorCode {
	case "ResourceNotFound", "ParentResourceNotFound", "ResourceGroupNotFound", "SubscriptionNotFound", "NotFound":
		return true
	case "InvalidResourceType", "InvalidResourceNamespace", "NoRegisteredProviderFound", "InvalidApiVersionParameter":
		return false
	}
	return re.StatusCode == http.StatusNotFound
}

// isDenied: 403 AuthorizationFailed is a missing role assignment or action;
// 401 is a token ARM refuses. Neither passes with time.
func isDenied(re *azcore.ResponseError) bool {
	switch re.ErrorCode {
	case "AuthorizationFailed", "LinkedAuthorizationFailed", "InvalidAuthenticationToken", "AuthenticationFailed":
		return true
	}
	return re.StatusCode == http.StatusForbidden || re.StatusCode == http.StatusUnauthorized
}
