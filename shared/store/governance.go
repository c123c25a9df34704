package store

import (
	"context"
	"encoding/json"
	"time"

	"github.com/driftwatch/driftwatch/shared/change"
)

// RemediationState is where a remediation is in its life; the transitions
// are the remediation package's.
type RemediationState string

// Remediation states.
const (
	RemediationProposed    RemediationState = "proposed"     // offered; waiting for approvals
	RemediationApproved    RemediationState = "approved"     // enough approvals; dispatched to the cloud
	RemediationRunning     RemediationState = "running"      // the cloud's function is applying it
	RemediationSucceeded   RemediationState = "succeeded"    // applied (or nothing to do: already compliant)
	RemediationFailed      RemediationState = "failed"       // not applied; nothing was left half-done
	RemediationRollingBack RemediationState = "rolling_back" // Undo approved; dispatched
	RemediationRolledBack  RemediationState = "rolled_back"  // the snapshot was restored
	RemediationDenied      RemediationState = "denied"       // refused by governance (kept for the audit)
	RemediationExpired     RemediationState = "expired"      // approvals came too late
)

// Approval is one person's approval (or the automatic mode's).
type Approval struct {
	// SlackUser is the approver's Slack user id ("auto" for automatic mode).
	SlackUser string    `json:"slack_user"`
	Name      string    `json:"name,omitempty"`
	At        time.Time `json:"at"`
}

// Remediation is one proposed or executed fix of one finding episode. It
// lives in its resource's partition.
type Remediation struct {
	// ID is derived from the finding episode (remediation.NewID).
	ID           string `json:"id"`
	Key          Key    `json:"key"`
	ResourceType string `json:"resource_type"`
	Region       string `json:"region,omitempty"`
	RuleID       string `json:"rule_id"`
	// Action names the fix (s3_acl_private, ...).
	Action string `json:"action"`
	// Change says in plain words exactly what the action changes.
	Change string           `json:"change"`
	State  RemediationState `json:"state"`
	// Version increases with every write; updates are conditional on it.
	Version int64 `json:"version"`
	// FindingFirstSeen ties the remediation to one episode of the finding.
	FindingFirstSeen time.Time `json:"finding_first_seen"`
	// CausedBy is who caused the drift: never allowed to approve its fix.
	CausedBy          change.Actor `json:"caused_by"`
	Approvals         []Approval   `json:"approvals,omitempty"`
	RequiredApprovals int          `json:"required_approvals"`
	ProposedAt        time.Time    `json:"proposed_at"`
	// ExpiresAt bounds approvals and execution.
	ExpiresAt time.Time `json:"expires_at"`
	// Snapshot is the before-state the action saved for Undo.
	Snapshot json.RawMessage `json:"snapshot,omitempty"`
	// Result says what happened, in plain words.
	Result    string    `json:"result,omitempty"`
	UpdatedAt time.Time `json:"updated_at"`
	Alert     AlertRef  `json:"alert,omitzero"`
}

// Exception is an accepted risk: a failing rule on a resource that must not
// alert until it expires.
type Exception struct {
	Key    Key    `json:"key"`
	RuleID string `json:"rule_id"`
	Reason string `json:"reason"`
	// ApprovedBy is the Slack user who accepted the risk.
	ApprovedBy     string    `json:"approved_by"`
	ApprovedByName string    `json:"approved_by_name,omitempty"`
	CreatedAt      time.Time `json:"created_at"`
	ExpiresAt      time.Time `json:"expires_at"`
}

// Active reports whether the exception covers now.
func (e Exception) Active(now time.Time) bool { return now.Before(e.ExpiresAt) }

// AuditEntry is one immutable line of the audit log.
type AuditEntry struct {
	Key Key `json:"key"`
	// At and Seq order entries; Seq breaks ties within one instant.
	At  time.Time `json:"at"`
	Seq string    `json:"seq"`
	// Kind: alert_posted, alert_updated, alert_resolved, click, approval,
	// denial, remediation_started, remediation_succeeded,
	// remediation_failed, undo_requested, undo_succeeded, undo_failed,
	// exception_created, auto_remediation.
	Kind string `json:"kind"`
	// Who is the Slack user, cloud principal or "driftwatch".
	Who           string `json:"who"`
	RuleID        string `json:"rule_id,omitempty"`
	RemediationID string `json:"remediation_id,omitempty"`
	// What says what happened, in plain words.
	What string `json:"what"`
}

// Loaded is everything stored in one resource's partition, read at once.
type Loaded struct {
	State        ResourceState
	Findings     []Finding
	Remediations []Remediation
	Exceptions   []Exception
}

// Governance is the part of the store the approve-to-remediate loop uses.
type Governance interface {
	// LoadAll reads a resource's state, findings, remediations and
	// exceptions in one round trip; ErrNotFound when the state is not
	// stored.
	LoadAll(ctx context.Context, key Key) (Loaded, error)

	// CreateRemediation stores r with Version 1 unless a remediation with
	// its id exists (ErrConflict). It returns the stored remediation.
	CreateRemediation(ctx context.Context, r Remediation) (Remediation, error)
	// UpdateRemediation writes r if the stored version is still
	// r.Version (ErrConflict otherwise) and returns it with Version+1.
	UpdateRemediation(ctx context.Context, r Remediation) (Remediation, error)
	// GetRemediation returns one remediation or ErrNotFound.
	GetRemediation(ctx context.Context, key Key, id string) (Remediation, error)

	// PutException stores (replaces) the exception of a rule on a resource.
	PutException(ctx context.Context, e Exception) error

	// TakeRateToken counts one use of bucket in the fixed window of length
	// window that contains now (windows start at multiples of window since
	// the Unix epoch) and returns ErrClaimed when limit uses are already
	// counted in it.
	TakeRateToken(ctx context.Context, bucket string, now time.Time, window time.Duration, limit int) error

	// AppendAudit adds an entry; an entry is never overwritten (ErrConflict
	// for another entry at the same At+Seq). A store reached over the
	// network may treat the same entry appended again as done: its SDK
	// retries a request whose answer was lost.
	AppendAudit(ctx context.Context, e AuditEntry) error
	// Audit returns a resource's audit log, oldest first.
	Audit(ctx context.Context, key Key) ([]AuditEntry, error)
}
