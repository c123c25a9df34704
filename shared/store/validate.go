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
