// Package canon gives the stores one canonical, unaliased form of what they
// store, so that every store returns the same values: times in UTC without
// a monotonic reading, empty collections as nil, and copies that share no
// memory with the caller.
package canon

import (
	"bytes"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/driftwatch/driftwatch/shared/store"
)

// Time returns t in UTC, or the zero time for any zero instant.
func Time(t time.Time) time.Time {
	if t.IsZero() {
		return time.Time{}
	}
	return t.UTC()
}

// ChangeRef returns r with its time canonical.
func ChangeRef(r store.ChangeRef) store.ChangeRef {
	r.Time = Time(r.Time)
	return r
}

// State returns a deep copy of s in canonical form. It does not cap the
// document: that is a write-time rule (store.CapDocument).
func State(s store.ResourceState) store.ResourceState {
	s.ObservedAt = Time(s.ObservedAt)
	s.LastChange = ChangeRef(s.LastChange)
	if len(s.Document) == 0 {
		s.Document = nil
	} else {
		s.Document = bytes.Clone(s.Document)
	}
	if len(s.Tags) == 0 {
		s.Tags = nil
	} else {
		s.Tags = maps.Clone(s.Tags)
	}
	if len(s.Evaluations) == 0 {
		s.Evaluations = nil
	} else {
		s.Evaluations = slices.Clone(s.Evaluations)
	}
	return s
}

// Finding returns a deep copy of f in canonical form.
func Finding(f store.Finding) store.Finding {
	if len(f.Before) == 0 {
		f.Before = nil
	} else {
		f.Before = maps.Clone(f.Before)
	}
	f.FirstSeen = Time(f.FirstSeen)
	f.LastSeen = Time(f.LastSeen)
	f.ResolvedAt = Time(f.ResolvedAt)
	f.OpenedBy = ChangeRef(f.OpenedBy)
	f.ResolvedBy = ChangeRef(f.ResolvedBy)
	return f
}

// OpenOrder is the sort key of an open finding within one severity: cloud,
// account, resource and rule joined with '#'. The DynamoDB index sorts by
// exactly this string (bytewise), so every store orders OpenFindings alike.
func OpenOrder(k store.Key, ruleID string) string {
	return string(k.Cloud) + "#" + k.Account + "#" + k.ResourceID + "#" + ruleID
}

// OpenPrefix is the OpenOrder prefix that narrows a query to a cloud or a
// cloud account; empty when the query does not narrow.
func OpenPrefix(q store.FindingQuery) string {
	switch {
	case q.Cloud == "":
		return ""
	case q.Account == "":
		return string(q.Cloud) + "#"
	}
	return string(q.Cloud) + "#" + q.Account + "#"
}

// AlertRules returns the rule ids RecordAlert stamps: sorted, without
// duplicates (a DynamoDB transaction may touch an item only once), and at
// most as many as one transaction holds besides the state.
func AlertRules(key store.Key, ruleIDs []string) ([]string, error) {
	rules := slices.Clone(ruleIDs)
	slices.Sort(rules)
	rules = slices.Compact(rules)
	if len(rules) > store.MaxFindingsPerObservation {
		return nil, fmt.Errorf("%w: record alert of %s: %d findings, at most %d fit one write", store.ErrInvalid, key, len(rules), store.MaxFindingsPerObservation)
	}
	if slices.Contains(rules, "") {
		return nil, fmt.Errorf("%w: record alert of %s: empty rule id", store.ErrInvalid, key)
	}
	return rules, nil
}

// Claim validates a claim's arguments: an id, a time and a positive
// duration (a lease or a keep), whose end is still a storable instant.
func Claim(what, id string, now time.Time, d time.Duration) error {
	if id == "" {
		return fmt.Errorf("%w: %s: empty id", store.ErrInvalid, what)
	}
	if err := store.ValidTime(what+" time", now); err != nil {
		return err
	}
	if d <= 0 {
		return fmt.Errorf("%w: %s %s: duration %s is not positive", store.ErrInvalid, what, id, d)
	}
	return store.ValidTime(what+" end", now.Add(d))
}
