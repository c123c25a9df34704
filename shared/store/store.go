// Package store defines the posture store contract: resource state with the
// newest observation winning, findings, event claims and alert bookkeeping.
// dynamostore implements it on DynamoDB, memstore in memory; storetest is the
// conformance suite both pass.
package store

import (
	"context"
	"encoding/json"
	"errors"
	"time"

	"github.com/driftwatch/driftwatch/shared/change"
	"github.com/driftwatch/driftwatch/shared/posture"
)

// Sentinel errors callers branch on.
var (
	// ErrNotFound: no such item.
	ErrNotFound = errors.New("not found")
	// ErrStale: the store already holds an observation at least as new.
	ErrStale = errors.New("a newer observation is already stored")
	// ErrConflict: the item changed since it was read; re-read and retry.
	ErrConflict = errors.New("concurrent update")
	// ErrClaimed: the event or alert is already claimed or done.
	ErrClaimed = errors.New("already claimed")
	// ErrInvalid: the arguments can never succeed (a caller bug, not a
	// transient failure); retrying is pointless.
	ErrInvalid = errors.New("invalid input")
)

// Key identifies a resource across clouds and accounts.
type Key struct {
	Cloud      change.Cloud `json:"cloud"`
	Account    string       `json:"account"`
	ResourceID string       `json:"resource_id"`
}

// KeyOf returns the key of a resource reference.
func KeyOf(ref change.ResourceRef) Key {
	return Key{Cloud: ref.Cloud, Account: ref.Account, ResourceID: ref.ID}
}

// String returns the key as "cloud|account|resource id", for logs and errors.
func (k Key) String() string { return string(k.Cloud) + "|" + k.Account + "|" + k.ResourceID }

// ChangeRef records the change whose processing wrote a state or opened or
// resolved a finding.
type ChangeRef struct {
	EventID   string       `json:"event_id"`
	Operation string       `json:"operation"`
	Actor     change.Actor `json:"actor"`
	Time      time.Time    `json:"time"`
}

// AlertRef is a posted chat message.
type AlertRef struct {
	Channel string `json:"channel"`
	TS      string `json:"ts"`
}

// IsZero reports whether no message was posted.
func (r AlertRef) IsZero() bool { return r.TS == "" }

// AlertState is the bookkeeping that makes alerts exactly-once: the message
// must show the posture of WantRevision; it shows RenderedRevision.
//
// WantRevision is written by SaveObservation and moved on by BumpAlert; it
// only grows. Ref, Open and RenderedRevision belong to ClaimAlert and
// RecordAlert: SaveObservation keeps the stored values, so a save can never
// erase a message reference recorded after the caller read the state.
type AlertState struct {
	Ref AlertRef `json:"ref"`
	// Open is true while the message shows drift (not resolved).
	Open bool `json:"open"`
	// WantRevision counts the changes the message must show: the failing
	// set changing, or (BumpAlert) something else it shows, like a fix's
	// status.
	WantRevision int64 `json:"want_revision"`
	// RenderedRevision is the revision the message shows.
	RenderedRevision int64 `json:"rendered_revision"`
}

// Pending reports whether the message is behind the posture.
func (a AlertState) Pending() bool { return a.RenderedRevision < a.WantRevision }

// ResourceState is the stored posture of one resource. Stores return times
// in UTC and empty collections as nil.
type ResourceState struct {
	Key    Key    `json:"key"`
	Type   string `json:"type"`
	Region string `json:"region,omitempty"`
	Name   string `json:"name,omitempty"`
	Exists bool   `json:"exists"`
	// ObservedAt is the time of the live read this state reflects.
	ObservedAt time.Time `json:"observed_at"`
	// Revision increases with every write; writes are conditional on it.
	Revision int64 `json:"revision"`
	// Document is the configuration document as JSON. Stores keep its bytes
	// exactly, but replace a document larger than MaxDocumentBytes with a
	// placeholder (see CapDocument).
	Document    json.RawMessage      `json:"document,omitempty"`
	Tags        map[string]string    `json:"tags,omitempty"`
	Evaluations []posture.Evaluation `json:"evaluations,omitempty"`
	// LastChange is the change that last altered the document or posture.
	LastChange ChangeRef  `json:"last_change"`
	Alert      AlertState `json:"alert"`
}

// Failing returns the ids of the failing rules, sorted.
func (s ResourceState) Failing() []string { return posture.Failing(s.Evaluations) }

// FindingStatus is the lifecycle state of a finding.
type FindingStatus string

// Finding states.
const (
	FindingOpen     FindingStatus = "open"
	FindingResolved FindingStatus = "resolved"
)

// Finding is the history of one rule failing on one resource.
type Finding struct {
	Key          Key              `json:"key"`
	RuleID       string           `json:"rule_id"`
	Severity     posture.Severity `json:"severity"`
	ResourceType string           `json:"resource_type"`
	Region       string           `json:"region,omitempty"`
	Status       FindingStatus    `json:"status"`
	FirstSeen    time.Time        `json:"first_seen"`
	LastSeen     time.Time        `json:"last_seen"`
	ResolvedAt   time.Time        `json:"resolved_at,omitzero"`
	OpenedBy     ChangeRef        `json:"opened_by"`
	ResolvedBy   ChangeRef        `json:"resolved_by,omitzero"`
	// Alert is the message that shows the finding. RecordAlert stamps it;
	// SaveObservation writes it when set and otherwise keeps the stored one.
	Alert AlertRef `json:"alert,omitzero"`
	// Before holds the values of the rule's settings (path -> value) in the
	// last observation before the finding opened, so that the alert can
	// show before -> after at any later time. BeforeKnown is false when the
	// resource had not been observed before.
	Before      map[string]string `json:"before,omitempty"`
	BeforeKnown bool              `json:"before_known"`
	// FixPlan says what the rule's remediation action would change on the
	// resource as last observed (empty when the rule has no action or the
	// detector has no planner). The detector of the resource's cloud writes
	// it, so that functions offering or approving fixes from chat can show it
	// without linking that cloud's remediation code.
	FixPlan string `json:"fix_plan,omitempty"`
}

// Observation is one atomic write: the new resource state and the findings
// it opens, refreshes or resolves.
type Observation struct {
	// State is the new state. The store sets Revision; it keeps the stored
	// Alert.Ref, Alert.Open and Alert.RenderedRevision (see AlertState).
	State ResourceState
	// ExpectedRevision is the revision the caller read; 0 means the resource
	// must not be stored yet. The write lands only if the stored revision
	// still equals it and the stored observation is older than
	// State.ObservedAt.
	ExpectedRevision int64
	// Findings are written with the state or not at all; each belongs to
	// State.Key and names a distinct rule (at most MaxFindingsPerObservation).
	Findings []Finding
}

// FindingQuery selects open findings.
type FindingQuery struct {
	// Severity is required: findings are indexed by severity.
	Severity posture.Severity
	// Cloud and Account narrow the result when set (Account needs Cloud).
	Cloud   change.Cloud
	Account string
	// Limit caps the result; 0 means no cap.
	Limit int
}

// Store is the posture store contract.
type Store interface {
	// ClaimEvent claims an event id for processing with a lease. It returns
	// ErrClaimed when the event is done or another worker's lease is live.
	// A claim whose lease ended, or a done event whose keep ended, is
	// claimable again.
	ClaimEvent(ctx context.Context, eventID string, now time.Time, lease time.Duration) error
	// CompleteEvent marks a claimed event done; the claim expires after keep
	// (and the item is then deleted by the table's TTL).
	CompleteEvent(ctx context.Context, eventID string, now time.Time, keep time.Duration) error
	// ReleaseEvent drops an unfinished claim so that a retry can process it.
	// Releasing a done or unknown event does nothing.
	ReleaseEvent(ctx context.Context, eventID string) error

	// GetResource returns the stored state (strongly consistent) or
	// ErrNotFound.
	GetResource(ctx context.Context, key Key) (ResourceState, error)
	// Load returns the stored state and every finding of a resource in one
	// round trip (the findings share the state's partition), or ErrNotFound
	// when the resource is not stored.
	Load(ctx context.Context, key Key) (ResourceState, []Finding, error)
	// Findings returns every finding (open and resolved) of a resource,
	// ordered by rule id; none is not an error.
	Findings(ctx context.Context, key Key) ([]Finding, error)
	// SaveObservation writes a state and its findings atomically and returns
	// the state as written: obs.State (canonicalised, document capped) with
	// its new revision, ExpectedRevision+1. Its Alert is obs.State.Alert as
	// passed; ClaimAlert returns the stored alert bookkeeping. It returns
	// ErrStale when an observation at least as new is stored, ErrConflict
	// when the revision moved and ErrInvalid for a malformed observation.
	SaveObservation(ctx context.Context, obs Observation) (ResourceState, error)

	// ClaimAlert leases the right to render revision rev of a resource's
	// alert and returns the alert bookkeeping as stored under the lease: its
	// Ref is the message to update (zero: post a new one). It returns
	// ErrClaimed when that revision (or a later one) is already rendered or
	// another worker holds a live lease (the lease is per resource, whatever
	// the revision), and ErrNotFound when the resource is not stored.
	ClaimAlert(ctx context.Context, key Key, rev int64, now time.Time, lease time.Duration) (AlertState, error)
	// BumpAlert marks the message as behind without a new observation (a
	// fix's status or an accepted risk changed): it increments both
	// WantRevision and the resource's Revision, so a concurrent save made
	// from an older read conflicts and re-reads. It returns the new alert
	// bookkeeping, or ErrNotFound.
	BumpAlert(ctx context.Context, key Key) (AlertState, error)
	// RecordAlert stores the message that now shows revision rev, releases
	// the lease and stamps the message on the given findings, all at once.
	// It returns ErrClaimed when rev (or a later revision) is already
	// recorded and ErrNotFound when the resource or a named finding is not
	// stored.
	RecordAlert(ctx context.Context, key Key, rev int64, ref AlertRef, open bool, ruleIDs []string) error

	// OpenFindings lists open findings of one severity, optionally of one
	// cloud account, ordered by cloud, account, resource and rule (bytewise
	// on those joined with '#', the order of the DynamoDB index). On
	// DynamoDB the index is eventually consistent: a finding written a
	// moment ago may be missing.
	OpenFindings(ctx context.Context, q FindingQuery) ([]Finding, error)
}
