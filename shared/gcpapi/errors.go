package gcpapi

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"

	"google.golang.org/api/googleapi"

	"github.com/driftwatch/driftwatch/shared/resource"
)

// Sentinels Classify wraps Google API errors with. Access denials wrap
// resource.ErrAccessDenied.
var (
	// ErrNotFound: the resource (or its parent) does not exist (404).
	ErrNotFound = errors.New("gcp: not found")
	// ErrConflict: a precondition failed (412: etag or metageneration
	// mismatch) or a concurrent change won (409): read again, then decide.
	ErrConflict = errors.New("gcp: conflict")
	// ErrRetryable: throttling (429), a server error (5xx), a timeout
	// (408) or a transport failure; a later attempt may succeed. Test it
	// with IsRetryable.
	ErrRetryable = errors.New("gcp: retryable error")
)

// Classify wraps a client call's error with the sentinel callers branch
// on; the *googleapi.Error stays in the chain for errors.As. A nil error
// stays nil, and an error already classified is returned as is.
//
// 401 counts as denied: a token Google refuses does not get better with
// time. 400 (the request is wrong) is left unclassified: not retryable.
func Classify(err error) error {
	if err == nil || isClassified(err) {
		return err
	}
	if errors.Is(err, ErrUndeclared) {
		return err
	}
	var ge *googleapi.Error
	if errors.As(err, &ge) {
		switch c := ge.Code; {
		case c == http.StatusNotFound:
			return fmt.Errorf("%w: %w", ErrNotFound, err)
		case c == http.StatusForbidden, c == http.StatusUnauthorized:
			return fmt.Errorf("%w: %w", resource.ErrAccessDenied, err)
		case c == http.StatusConflict, c == http.StatusPreconditionFailed:
			return fmt.Errorf("%w: %w", ErrConflict, err)
		case c == http.StatusTooManyRequests, c == http.StatusRequestTimeout, c >= 500 && c <= 599:
			return fmt.Errorf("%w: %w", ErrRetryable, err)
		}
		return err
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		// The caller gave up; retrying is its decision.
		return err
	}
	var ne net.Error
	if errors.As(err, &ne) {
		return fmt.Errorf("%w: %w", ErrRetryable, err)
	}
	return err
}

func isClassified(err error) bool {
	return errors.Is(err, ErrNotFound) || errors.Is(err, ErrConflict) ||
		errors.Is(err, ErrRetryable) || errors.Is(err, resource.ErrAccessDenied)
}

// IsNotFound reports whether err is (or classifies as) a 404.
func IsNotFound(err error) bool { return errors.Is(Classify(err), ErrNotFound) }

// IsAccessDenied reports whether err is (or classifies as) a 401 or 403.
func IsAccessDenied(err error) bool { return errors.Is(Classify(err), resource.ErrAccessDenied) }

// IsConflict reports whether err is (or classifies as) a 409 or 412.
func IsConflict(err error) bool { return errors.Is(Classify(err), ErrConflict) }

// IsRetryable reports whether a later attempt may succeed. An access
// denial or an undeclared call is never retryable, even joined with a
// throttled read.
func IsRetryable(err error) bool {
	err = Classify(err)
	return errors.Is(err, ErrRetryable) && !errors.Is(err, resource.ErrAccessDenied) && !errors.Is(err, ErrUndeclared)
}
