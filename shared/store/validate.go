package store

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/driftwatch/driftwatch/shared/posture"
)

// MaxDocumentBytes caps a stored configuration document. A DynamoDB item
// holds at most 400 KB; the rest of the state (evaluations, tags, alert
// bookkeeping) must fit in what is left.
const MaxDocumentBytes = 350 << 10

// MaxFindingsPerObservation caps Observation.Findings: a DynamoDB
// transaction holds at most 100 writes and the state is one of them.
const MaxFindingsPerObservation = 99

// CapDocument returns doc unchanged when it fits MaxDocumentBytes, and
// otherwise a small placeholder, {"truncated":true,"bytes":<original size>},
// so that an oversized resource still gets its posture stored. Every store
// applies it, so all of them keep the same bytes.
func CapDocument(doc json.RawMessage) json.RawMessage {
	if len(doc) <= MaxDocumentBytes {
		return doc
	}
	return json.RawMessage(fmt.Sprintf(`{"truncated":true,"bytes":%d}`, len(doc)))
}

// Validate reports whether the key can be stored. Cloud and account may not
// contain '#': the DynamoDB keys join the parts with it, and the open
// findings index narrows by a prefix of them.
func (k Key) Validate() error {
	switch {
	case k.Cloud == "":
		return fmt.Errorf("%w: key %q: cloud is empty", ErrInvalid, k)
	case k.Account == "":
		return fmt.Errorf("%w: key %q: account is empty", ErrInvalid, k)
	case k.ResourceID == "":
		return fmt.Errorf("%w: key %q: resource id is empty", ErrInvalid, k)
	case strings.Contains(string(k.Cloud), "#"), strings.Contains(k.Account, "#"):
		return fmt.Errorf("%w: key %q: cloud and account may not contain '#'", ErrInvalid, k)
	}
	return nil
}

// Nanosecond timestamps (how DynamoDB stores observation times and leases)
// cover 1678 to 2262; outside that range UnixNano is undefined.
var (
	minStoredTime = time.Unix(0, -1<<63+1)
	maxStoredTime = time.Unix(0, 1<<63-1)
)

// ValidTime reports whether t can be stored as an observation time or a
// lease instant: set, and within the range of Unix nanoseconds.
func ValidTime(what string, t time.Time) error {
	if t.IsZero() {
		return fmt.Errorf("%w: %s is not set", ErrInvalid, what)
	}
	if t.Before(minStoredTime) || t.After(maxStoredTime) {
		return fmt.Errorf("%w: %s %s is out of range", ErrInvalid, what, t)
	}
	return nil
}

// Validate reports whether the observation can be stored: a valid key and
// observation time, a non-negative expected revision, a JSON document, and
// findings of the same resource with distinct rules, a known status and a
// known severity.
func (o Observation) Validate() error {
	s := o.State
	if err := s.Key.Validate(); err != nil {
		return err
	}
	if err := ValidTime("observed_at", s.ObservedAt); err != nil {
		return fmt.Errorf("resource %s: %w", s.Key, err)
	}
	if o.ExpectedRevision < 0 {
		return fmt.Errorf("%w: resource %s: expected revision %d is negative", ErrInvalid, s.Key, o.ExpectedRevision)
	}
	if len(s.Document) > 0 && !json.Valid(s.Document) {
		return fmt.Errorf("%w: resource %s: document is not valid JSON", ErrInvalid, s.Key)
	}
	if len(o.Findings) > MaxFindingsPerObservation {
		return fmt.Errorf("%w: resource %s: %d findings, at most %d fit one write", ErrInvalid, s.Key, len(o.Findings), MaxFindingsPerObservation)
	}
	seen := make(map[string]bool, len(o.Findings))
	for _, f := range o.Findings {
		if err := f.validate(s.Key); err != nil {
			return err
		}
		if seen[f.RuleID] {
			return fmt.Errorf("%w: resource %s: two findings for rule %q", ErrInvalid, s.Key, f.RuleID)
		}
		seen[f.RuleID] = true
	}
	return nil
}

func (f Finding) validate(key Key) error {
	if f.Key != key {
		return fmt.Errorf("%w: finding %q belongs to %s, not to the observed resource %s", ErrInvalid, f.RuleID, f.Key, key)
	}
	if f.RuleID == "" {
		return fmt.Errorf("%w: resource %s: finding without a rule id", ErrInvalid, key)
	}
	if f.Status != FindingOpen && f.Status != FindingResolved {
		return fmt.Errorf("%w: finding %s/%s: unknown status %q", ErrInvalid, key, f.RuleID, f.Status)
	}
	if !knownSeverity(f.Severity) {
		return fmt.Errorf("%w: finding %s/%s: severity %q is not one of critical, high, medium, low, informational", ErrInvalid, key, f.RuleID, f.Severity)
	}
	return nil
}

// Validate reports whether the query can run: a known severity, and an
// account only together with its cloud.
func (q FindingQuery) Validate() error {
	if q.Severity == "" {
		return fmt.Errorf("%w: open findings query: severity is required", ErrInvalid)
	}
	if !knownSeverity(q.Severity) {
		return fmt.Errorf("%w: open findings query: severity %q is not one of critical, high, medium, low, informational", ErrInvalid, q.Severity)
	}
	if q.Account != "" && q.Cloud == "" {
		return fmt.Errorf("%w: open findings query: account %q needs a cloud", ErrInvalid, q.Account)
	}
	if strings.Contains(string(q.Cloud), "#") || strings.Contains(q.Account, "#") {
		return fmt.Errorf("%w: open findings query: cloud and account may not contain '#'", ErrInvalid)
	}
	if q.Limit < 0 {
		return fmt.Errorf("%w: open findings query: negative limit %d", ErrInvalid, q.Limit)
	}
	return nil
}

// knownSeverity accepts the canonical (lower-case) names only: the index
// key embeds the severity, so "High" would never be found under "high".
func knownSeverity(s posture.Severity) bool {
	switch s {
	case posture.Critical, posture.High, posture.Medium, posture.Low, posture.Informational:
		return true
	}
	return false
}

// MaxSnapshotBytes caps Remediation.Snapshot: the snapshot shares its
// DynamoDB item (at most 400 KB) with the rest of the remediation. A
// before-state larger than this is refused rather than truncated, since an
// Undo from half a snapshot would be wrong.
const MaxSnapshotBytes = 256 << 10

// knownRemediationState accepts the states of the remediation package's
// state machine and nothing else.
func knownRemediationState(s RemediationState) bool {
	switch s {
	case RemediationProposed, RemediationApproved, RemediationRunning, RemediationSucceeded, RemediationFailed,
		RemediationRollingBack, RemediationRolledBack, RemediationDenied, RemediationExpired:
		return true
	}
	return false
}

// optionalTime accepts the zero time or a storable one (ValidTime): stores
// keep these times in JSON, which cannot hold every time.Time.
func optionalTime(what string, t time.Time) error {
	if t.IsZero() {
		return nil
	}
	return ValidTime(what, t)
}

// Validate reports whether the remediation can be stored: an id, a valid
// key, a rule, an action, a known state, a non-negative version and
// approval count, approvals naming their approver, storable times, and a
// snapshot that is JSON of at most MaxSnapshotBytes. The version is not
// checked against anything: CreateRemediation sets it and
// UpdateRemediation compares it with the stored one.
func (r Remediation) Validate() error {
	if r.ID == "" {
		return fmt.Errorf("%w: remediation of %s: id is empty", ErrInvalid, r.Key)
	}
	if err := r.Key.Validate(); err != nil {
		return fmt.Errorf("remediation %s: %w", r.ID, err)
	}
	switch {
	case r.RuleID == "":
		return fmt.Errorf("%w: remediation %s of %s: rule id is empty", ErrInvalid, r.ID, r.Key)
	case r.Action == "":
		return fmt.Errorf("%w: remediation %s of %s: action is empty", ErrInvalid, r.ID, r.Key)
	case !knownRemediationState(r.State):
		return fmt.Errorf("%w: remediation %s of %s: unknown state %q", ErrInvalid, r.ID, r.Key, r.State)
	case r.Version < 0:
		return fmt.Errorf("%w: remediation %s of %s: negative version %d", ErrInvalid, r.ID, r.Key, r.Version)
	case r.RequiredApprovals < 0:
		return fmt.Errorf("%w: remediation %s of %s: negative required approvals %d", ErrInvalid, r.ID, r.Key, r.RequiredApprovals)
	case len(r.Snapshot) > MaxSnapshotBytes:
		return fmt.Errorf("%w: remediation %s of %s: snapshot of %d bytes, at most %d fit", ErrInvalid, r.ID, r.Key, len(r.Snapshot), MaxSnapshotBytes)
	case len(r.Snapshot) > 0 && !json.Valid(r.Snapshot):
		return fmt.Errorf("%w: remediation %s of %s: snapshot is not valid JSON", ErrInvalid, r.ID, r.Key)
	}
	for i, a := range r.Approvals {
		if a.SlackUser == "" {
			return fmt.Errorf("%w: remediation %s of %s: approval %d names no approver", ErrInvalid, r.ID, r.Key, i)
		}
		if err := optionalTime(fmt.Sprintf("remediation %s approval %d time", r.ID, i), a.At); err != nil {
			return err
		}
	}
	for _, t := range []struct {
		what string
		t    time.Time
	}{{"finding_first_seen", r.FindingFirstSeen}, {"proposed_at", r.ProposedAt}, {"expires_at", r.ExpiresAt}, {"updated_at", r.UpdatedAt}} {
		if err := optionalTime("remediation "+r.ID+" "+t.what, t.t); err != nil {
			return err
		}
	}
	return nil
}

// Validate reports whether the exception can be stored: a valid key, a
// rule, a reason, an approver, a creation time and an expiry after it.
func (e Exception) Validate() error {
	if err := e.Key.Validate(); err != nil {
		return fmt.Errorf("exception: %w", err)
	}
	switch {
	case e.RuleID == "":
		return fmt.Errorf("%w: exception on %s: rule id is empty", ErrInvalid, e.Key)
	case strings.TrimSpace(e.Reason) == "":
		return fmt.Errorf("%w: exception %s on %s: reason is empty", ErrInvalid, e.RuleID, e.Key)
	case e.ApprovedBy == "":
		return fmt.Errorf("%w: exception %s on %s: approver is empty", ErrInvalid, e.RuleID, e.Key)
	}
	if err := ValidTime("exception "+e.RuleID+" created_at", e.CreatedAt); err != nil {
		return err
	}
	if err := ValidTime("exception "+e.RuleID+" expires_at", e.ExpiresAt); err != nil {
		return err
	}
	if !e.ExpiresAt.After(e.CreatedAt) {
		return fmt.Errorf("%w: exception %s on %s: expires at %s, not after its creation at %s", ErrInvalid, e.RuleID, e.Key, e.ExpiresAt, e.CreatedAt)
	}
	return nil
}

// Validate reports whether the audit entry can be stored: a valid key, a
// time within the range of Unix nanoseconds (the entry's sort key holds
// it), a sequence (entries of one instant need distinct ones), a kind and
// a principal.
func (e AuditEntry) Validate() error {
	if err := e.Key.Validate(); err != nil {
		return fmt.Errorf("audit entry: %w", err)
	}
	if err := ValidTime("audit entry time", e.At); err != nil {
		return fmt.Errorf("audit entry of %s: %w", e.Key, err)
	}
	switch {
	case e.Seq == "":
		return fmt.Errorf("%w: audit entry of %s at %s: seq is empty (entries of one instant need distinct seqs)", ErrInvalid, e.Key, e.At)
	case e.Kind == "":
		return fmt.Errorf("%w: audit entry of %s at %s: kind is empty", ErrInvalid, e.Key, e.At)
	case e.Who == "":
		return fmt.Errorf("%w: audit entry of %s at %s: who is empty", ErrInvalid, e.Key, e.At)
	}
	return nil
}
