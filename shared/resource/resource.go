// Package resource holds the live configuration of one resource as read by a
// cloud fetcher.
package resource

import (
	"context"
	"errors"
	"time"

	"github.com/driftwatch/driftwatch/shared/change"
)

// Resource is the current configuration of one resource.
type Resource struct {
	Ref change.ResourceRef
	// Exists is false when the resource was deleted (or never existed): a
	// result, not an error.
	Exists bool
	// ObservedAt is when the live read started. The posture store keeps the
	// newest observation, which makes the outcome independent of event order.
	ObservedAt time.Time
	// Tags are the resource's tags or labels, used for rule scope and opt-out.
	Tags map[string]string
	// Doc is the typed configuration document (a pointer to one of the
	// document structs of the cloud's package, e.g. *awsres.S3Bucket). Rules
	// are type-checked against it. It is nil when Exists is false.
	Doc any
}

// Fetcher reads the live configuration of one resource.
type Fetcher interface {
	Fetch(ctx context.Context, ref change.ResourceRef) (Resource, error)
}

// ErrUnsupportedType is returned by a fetcher that cannot read the type.
var ErrUnsupportedType = errors.New("unsupported resource type")

// ErrAccessDenied wraps a read the function's identity may not perform. It is
// not retryable: the deployment's permissions must change.
var ErrAccessDenied = errors.New("access denied")
