// Package canon gives the stores one canonical, unaliased form of what they
// store, so that every store returns the same values: times in UTC without
// a monotonic reading, empty collections as nil, and copies that share no
// memory with the caller.
package canon

import (
	"bytes"
	"fmt"
	"maps"
	"math"
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

// Remediation returns a deep copy of r in canonical form.
func Remediation(r store.Remediation) store.Remediation {
	r.FindingFirstSeen = Time(r.FindingFirstSeen)
	r.ProposedAt = Time(r.ProposedAt)
	r.ExpiresAt = Time(r.ExpiresAt)
	r.UpdatedAt = Time(r.UpdatedAt)
	if len(r.Approvals) == 0 {
		r.Approvals = nil
	} else {
		r.Approvals = slices.Clone(r.Approvals)
		for i := range r.Approvals {
			r.Approvals[i].At = Time(r.Approvals[i].At)
		}
	}
	if len(r.Snapshot) == 0 {
		r.Snapshot = nil
	} else {
		r.Snapshot = bytes.Clone(r.Snapshot)
	}
	return r
}

// Exception returns e in canonical form (it holds no reference types).
func Exception(e store.Exception) store.Exception {
	e.CreatedAt = Time(e.CreatedAt)
	e.ExpiresAt = Time(e.ExpiresAt)
	return e
}

// Audit returns e in canonical form (it holds no reference types).
func Audit(e store.AuditEntry) store.AuditEntry {
	e.At = Time(e.At)
	return e
}

// SortableNanos formats t's Unix nanoseconds as 20 digits that sort
// bytewise in time order, negative instants (before 1970) included: the
// sign bit is flipped so that the int64 range maps onto uint64 in order.
func SortableNanos(t time.Time) string {
	return fmt.Sprintf("%020d", uint64(t.UnixNano())^(1<<63))
}

// AuditOrder is the sort key of an audit entry within its resource:
// SortableNanos(At) + "#" + Seq. The DynamoDB sort key ends with exactly
// this string, so every store orders the log alike: by instant, then by
// seq bytewise.
func AuditOrder(e store.AuditEntry) string { return SortableNanos(e.At) + "#" + e.Seq }

// RateWindow validates TakeRateToken's arguments and returns the start and
// end of the fixed window that contains now: windows start at multiples of
// window since the Unix epoch (floored, so instants before 1970 work too).
// A negative limit is invalid; zero is valid and never grants a token.
func RateWindow(bucket string, now time.Time, window time.Duration, limit int) (start, end time.Time, err error) {
	if bucket == "" {
		return time.Time{}, time.Time{}, fmt.Errorf("%w: rate token: bucket is empty", store.ErrInvalid)
	}
	if err := store.ValidTime("rate token time", now); err != nil {
		return time.Time{}, time.Time{}, err
	}
	if window <= 0 {
		return time.Time{}, time.Time{}, fmt.Errorf("%w: rate token %s: window %s is not positive", store.ErrInvalid, bucket, window)
	}
	if limit < 0 {
		return time.Time{}, time.Time{}, fmt.Errorf("%w: rate token %s: negative limit %d", store.ErrInvalid, bucket, limit)
	}
	n, w := now.UnixNano(), int64(window)
	s := n - n%w
	if n%w < 0 {
		if s < math.MinInt64+w {
			return time.Time{}, time.Time{}, fmt.Errorf("%w: rate token %s: the window %s containing %s starts out of range", store.ErrInvalid, bucket, window, now)
		}
		s -= w
	}
	start = time.Unix(0, s).UTC()
	// The window's end must be storable too: it is the counter's expiry.
	end = start.Add(window)
	if err := store.ValidTime("rate token window end", end); err != nil {
		return time.Time{}, time.Time{}, fmt.Errorf("rate token %s: %w", bucket, err)
	}
	return start, end, nil
}
