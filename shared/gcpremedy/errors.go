package gcpremedy

import (
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/driftwatch/driftwatch/shared/gcpapi"
	"github.com/driftwatch/driftwatch/shared/resource"
)

// ErrAccessDenied is wrapped by errors of requests Google refused for lack
// of permission. It is the fetchers' sentinel too, so callers branch on one.
var ErrAccessDenied = resource.ErrAccessDenied

// ErrRetryable marks a failure a later attempt may not meet: throttling
// (429), server errors (5xx), transport failures, and conflicts that
// outlasted the action's own bounded retries (an IAM policy etag that kept
// changing, 412; another operation in progress, 409). Actions are
// idempotent, so retrying them is safe. Test it with IsRetryable.
var ErrRetryable = gcpapi.ErrRetryable

// ErrNotFound means the resource the action targets no longer exists.
var ErrNotFound = gcpapi.ErrNotFound

// ErrUndeclared wraps the error of a request the action does not declare
// in its Permissions: it is refused before it leaves the process, because
// the generated role would deny it in production.
var ErrUndeclared = gcpapi.ErrUndeclared

// ErrInvalidTarget means the target cannot be acted on by the action: a
// document or resource type of another kind, no full resource name, a name
// of another type or of a project the actions do not act in.
var ErrInvalidTarget = errors.New("invalid remediation target")

// ErrSnapshot means Undo was given a snapshot it cannot restore: not JSON
// of the action's shape, of another action, of another resource, or with a
// before-state the action never records.
var ErrSnapshot = errors.New("invalid remediation snapshot")

// ErrOperationFailed means a long-running operation the action started
// (Compute, Cloud SQL) ended in error: the write did not happen.
var ErrOperationFailed = errors.New("long-running operation failed")

// IsRetryable reports whether retrying the action later may succeed. Access
// denials and undeclared requests are never retryable.
func IsRetryable(err error) bool {
	return errors.Is(err, ErrRetryable) && !errors.Is(err, ErrAccessDenied) && !errors.Is(err, ErrUndeclared)
}

// operationError is how a long-running operation reports its failure: the
// first error of its list, with the HTTP status Compute adds.
type operationError struct {
	Kind    string // "Compute" or "Cloud SQL"
	Name    string // the operation's name
	Code    string
	Message string
	// HTTPStatus is Compute's httpErrorStatusCode (0 when absent).
	HTTPStatus int64
}

func (e *operationError) Error() string {
	return fmt.Sprintf("%s operation %s failed: %s: %s", e.Kind, e.Name, e.Code, e.Message)
}

func (e *operationError) Unwrap() error { return ErrOperationFailed }

// retryableOperationCodes are operation error codes that pass with time.
var retryableOperationCodes = map[string]bool{
	"RESOURCE_NOT_READY":       true, // Compute: the resource is being changed
	"INTERNAL_ERROR":           true,
	"OPERATION_IN_PROGRESS":    true,
	"RATE_LIMIT_EXCEEDED":      true,
	"INTERNAL_ERROR_RETRYABLE": true,
}

// translate classifies an API error once, in Apply and Undo, into the
// sentinels callers branch on (gcpapi.Classify, plus what is particular to
// actions). The *googleapi.Error stays in the chain for errors.As.
func translate(err error) error {
	if err == nil {
		return nil
	}
	var oe *operationError
	if errors.As(err, &oe) {
		switch {
		case oe.HTTPStatus == http.StatusForbidden || strings.Contains(oe.Code, "PERMISSION") || strings.Contains(oe.Code, "FORBIDDEN") ||
			strings.Contains(oe.Code, "NOT_AUTHORIZED"):
			return fmt.Errorf("%w: %w", ErrAccessDenied, err)
		case retryableOperationCodes[oe.Code], oe.HTTPStatus == http.StatusTooManyRequests, oe.HTTPStatus >= 500:
			return fmt.Errorf("%w: %w", ErrRetryable, err)
		}
		return err
	}
	err = gcpapi.Classify(err)
	switch {
	case errors.Is(err, ErrAccessDenied):
		return fmt.Errorf("the remediation role needs %s, or an organization policy or VPC Service Controls refuses it: %w", deniedPermission(err), err)
	case errors.Is(err, gcpapi.ErrConflict):
		// The action already re-read and retried what a conflict allows.
		return fmt.Errorf("%w: %w", ErrRetryable, err)
	}
	return err
}

// deniedPermission names the permissions of the refused request, from the
// operation of the call that sent it.
func deniedPermission(err error) string {
	var c *callError
	if errors.As(err, &c) && len(c.op.Permissions) > 0 {
		return strings.Join(c.op.Permissions, " and ")
	}
	return "the action's permissions"
}

// callError is an error of one API call, naming the call (its REST method
// id), so that a denial names the permissions it needed.
type callError struct {
	op  operation
	err error
}

func (e *callError) Error() string { return e.op.ID + ": " + e.err.Error() }
func (e *callError) Unwrap() error { return e.err }

// wrapCall wraps a call's error with the call's operation.
func wrapCall(id string, err error) error {
	if err == nil {
		return nil
	}
	return &callError{op: operationByID(id), err: err}
}
