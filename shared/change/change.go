// Package change defines the normalized audit event that every cloud's
// normalizer produces and the rest of driftwatch consumes.
//
// A Change says who did what to which resource, when and from where. It never
// carries resource state: events arrive late, twice and out of order, so the
// pipeline re-reads the live configuration of the referenced resources.
package change

import (
	"errors"
	"fmt"
	"time"
)

// Cloud names the provider a change or resource belongs to.
type Cloud string

// The supported clouds.
const (
	AWS   Cloud = "aws"
	Azure Cloud = "azure"
	GCP   Cloud = "gcp"
)

// Change is one normalized audit event.
type Change struct {
	// EventID is the provider's unique event id; it is the deduplication key.
	EventID string `json:"event_id"`
	Cloud   Cloud  `json:"cloud"`
	// Account is the AWS account id, Azure subscription id or GCP project id
	// the change happened in.
	Account string `json:"account"`
	Region  string `json:"region,omitempty"`
	// Service is the API that was called (s3.amazonaws.com, Microsoft.Storage,
	// storage.googleapis.com).
	Service string `json:"service"`
	// Operation is the API operation name (PutBucketAcl,
	// Microsoft.Storage/storageAccounts/write, storage.setIamPermissions).
	Operation string `json:"operation"`
	// Resources are the resources whose posture the operation can change.
	Resources []ResourceRef `json:"resources"`
	Actor     Actor         `json:"actor"`
	Time      time.Time     `json:"time"`
}

// ResourceRef locates one resource. ID is canonical for the cloud (ARN, ARM
// id, full resource name); Type uses the cloud's own type names
// (AWS::S3::Bucket, Microsoft.Storage/storageAccounts, ...).
type ResourceRef struct {
	Cloud   Cloud  `json:"cloud"`
	Type    string `json:"type"`
	ID      string `json:"id"`
	Name    string `json:"name,omitempty"`
	Account string `json:"account"`
	Region  string `json:"region,omitempty"`
}

// Key returns the identity of the resource across clouds and accounts.
func (r ResourceRef) Key() string {
	return string(r.Cloud) + "|" + r.Account + "|" + r.ID
}

// Actor is the principal that made the change.
type Actor struct {
	// Principal is the most specific identifier the event carries (an ARN,
	// a UPN, a service account email).
	Principal string `json:"principal"`
	// Type is the cloud's principal type (IAMUser, AssumedRole, Root,
	// AWSService, User, ServicePrincipal, ...).
	Type string `json:"type,omitempty"`
	// Name is a short human name: the IAM user, the role and session, the UPN.
	Name string `json:"name,omitempty"`
	// SessionIssuer is the role or identity behind a temporary session.
	SessionIssuer string `json:"session_issuer,omitempty"`
	SourceIP      string `json:"source_ip,omitempty"`
	UserAgent     string `json:"user_agent,omitempty"`
	// Via says how the call was made: console, cli, sdk, terraform,
	// cloudformation, service or unknown.
	Via string `json:"via,omitempty"`
}

// DropReason classifies why an event is not processed.
type DropReason string

// Reasons an event is dropped. They are stable identifiers used in logs and
// metrics.
const (
	ReasonMalformed   DropReason = "malformed"    // not decodable as the expected schema
	ReasonNotAudit    DropReason = "not_audit"    // a valid event of another kind (e.g. a GuardDuty finding)
	ReasonReadOnly    DropReason = "read_only"    // the call cannot change configuration
	ReasonFailed      DropReason = "failed"       // the call failed (errorCode present)
	ReasonUnsupported DropReason = "unsupported"  // no rule can be affected by this operation
	ReasonNoResource  DropReason = "no_resource"  // the operation is mapped but the event names no resource
	ReasonDuplicate   DropReason = "duplicate"    // the event id was already processed
	ReasonOutOfScope  DropReason = "out_of_scope" // the account or region is not covered
)

// DroppedError reports an event that is deliberately not processed. It is not
// a failure: callers log it and move on.
type DroppedError struct {
	Reason DropReason
	Detail string
}

func (e *DroppedError) Error() string {
	if e.Detail == "" {
		return "event dropped: " + string(e.Reason)
	}
	return fmt.Sprintf("event dropped: %s: %s", e.Reason, e.Detail)
}

// Drop returns a DroppedError with a formatted detail.
func Drop(reason DropReason, format string, args ...any) error {
	return &DroppedError{Reason: reason, Detail: fmt.Sprintf(format, args...)}
}

// DropReasonOf returns the reason if err is (or wraps) a DroppedError.
func DropReasonOf(err error) (DropReason, bool) {
	var d *DroppedError
	if errors.As(err, &d) {
		return d.Reason, true
	}
	return "", false
}
