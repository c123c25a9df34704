package memstore

import (
	"context"
	"fmt"
	"maps"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/driftwatch/driftwatch/shared/store"
	"github.com/driftwatch/driftwatch/shared/store/internal/canon"
)

var _ store.Governance = (*Store)(nil)

// auditEntry is a stored audit entry with its sort key (canon.AuditOrder),
// computed once.
type auditEntry struct {
	order string
	entry store.AuditEntry
}

// rateKey names one counter: a bucket's fixed window, by length and start
// (as in the DynamoDB sort key).
type rateKey struct {
	bucket string
	window time.Duration
	start  int64 // Unix nanoseconds
}

// rateCount is a counter. expiresAt is in Unix seconds, like the DynamoDB
// TTL attribute.
type rateCount struct {
	uses      int
	expiresAt int64
}

// LoadAll implements store.Governance.
func (m *Store) LoadAll(ctx context.Context, key store.Key) (store.Loaded, error) {
	if err := key.Validate(); err != nil {
		return store.Loaded{}, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	r, ok := m.resources[key]
	if !ok {
		return store.Loaded{}, fmt.Errorf("resource %s: %w", key, store.ErrNotFound)
	}
	out := store.Loaded{State: canon.State(r.state)}
	// Ordered as DynamoDB returns them: by rule id or remediation id,
	// bytewise.
	byRule := m.findings[key]
	for _, id := range slices.Sorted(maps.Keys(byRule)) {
		out.Findings = append(out.Findings, canon.Finding(byRule[id]))
	}
	rems := m.remediations[key]
	for _, id := range slices.Sorted(maps.Keys(rems)) {
		out.Remediations = append(out.Remediations, canon.Remediation(rems[id]))
	}
	excs := m.exceptions[key]
	for _, id := range slices.Sorted(maps.Keys(excs)) {
		out.Exceptions = append(out.Exceptions, excs[id])
	}
	return out, nil
}

// CreateRemediation implements store.Governance.
func (m *Store) CreateRemediation(ctx context.Context, r store.Remediation) (store.Remediation, error) {
	if err := r.Validate(); err != nil {
		return store.Remediation{}, err
	}
	next := canon.Remediation(r)
	next.Version = 1
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.remediations[next.Key][next.ID]; ok {
		return store.Remediation{}, fmt.Errorf("create remediation %s of %s: it exists: %w", next.ID, next.Key, store.ErrConflict)
	}
	if err := m.putRemediation(next); err != nil {
		return store.Remediation{}, err
	}
	return next, nil
}

// UpdateRemediation implements store.Governance.
func (m *Store) UpdateRemediation(ctx context.Context, r store.Remediation) (store.Remediation, error) {
	if err := r.Validate(); err != nil {
		return store.Remediation{}, err
	}
	if r.Version < 1 || r.Version == math.MaxInt64 {
		return store.Remediation{}, fmt.Errorf("%w: update remediation %s of %s: version %d is not a stored version", store.ErrInvalid, r.ID, r.Key, r.Version)
	}
	next := canon.Remediation(r)
	next.Version = r.Version + 1
	m.mu.Lock()
	defer m.mu.Unlock()
	old, ok := m.remediations[next.Key][next.ID]
	if !ok {
		return store.Remediation{}, fmt.Errorf("update remediation %s of %s: %w", next.ID, next.Key, store.ErrNotFound)
	}
	if old.Version != r.Version {
		return store.Remediation{}, fmt.Errorf("update remediation %s of %s at version %d: stored version is %d: %w", next.ID, next.Key, r.Version, old.Version, store.ErrConflict)
	}
	if err := m.putRemediation(next); err != nil {
		return store.Remediation{}, err
	}
	return next, nil
}

// putRemediation stores r (a copy the caller does not hold) and persists
// the store, undoing the change when that fails. The caller holds m.mu.
func (m *Store) putRemediation(r store.Remediation) error {
	byID := m.remediations[r.Key]
	if byID == nil {
		byID = map[string]store.Remediation{}
		m.remediations[r.Key] = byID
	}
	old, had := byID[r.ID]
	byID[r.ID] = canon.Remediation(r)
	return m.commit(func() {
		if had {
			byID[r.ID] = old
		} else {
			delete(byID, r.ID)
		}
		if len(byID) == 0 {
			delete(m.remediations, r.Key)
		}
	})
}

// GetRemediation implements store.Governance.
func (m *Store) GetRemediation(ctx context.Context, key store.Key, id string) (store.Remediation, error) {
	if err := key.Validate(); err != nil {
		return store.Remediation{}, err
	}
	if id == "" {
		return store.Remediation{}, fmt.Errorf("%w: get remediation of %s: id is empty", store.ErrInvalid, key)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	r, ok := m.remediations[key][id]
	if !ok {
		return store.Remediation{}, fmt.Errorf("remediation %s of %s: %w", id, key, store.ErrNotFound)
	}
	return canon.Remediation(r), nil
}

// PutException implements store.Governance.
func (m *Store) PutException(ctx context.Context, x store.Exception) error {
	if err := x.Validate(); err != nil {
		return err
	}
	x = canon.Exception(x)
	m.mu.Lock()
	defer m.mu.Unlock()
	byRule := m.exceptions[x.Key]
	if byRule == nil {
		byRule = map[string]store.Exception{}
		m.exceptions[x.Key] = byRule
	}
	old, had := byRule[x.RuleID]
	byRule[x.RuleID] = x
	return m.commit(func() {
		if had {
			byRule[x.RuleID] = old
		} else {
			delete(byRule, x.RuleID)
		}
		if len(byRule) == 0 {
			delete(m.exceptions, x.Key)
		}
	})
}

// AppendAudit implements store.Governance. Entries are kept in their
// DynamoDB order, so Audit is a copy.
func (m *Store) AppendAudit(ctx context.Context, a store.AuditEntry) error {
	if err := a.Validate(); err != nil {
		return err
	}
	a = canon.Audit(a)
	order := canon.AuditOrder(a)
	m.mu.Lock()
	defer m.mu.Unlock()
	log := m.audit[a.Key]
	i, dup := slices.BinarySearchFunc(log, order, func(e auditEntry, o string) int { return strings.Compare(e.order, o) })
	if dup {
		return fmt.Errorf("append audit entry of %s at %s seq %q: an entry exists: %w", a.Key, a.At, a.Seq, store.ErrConflict)
	}
	m.audit[a.Key] = slices.Insert(log, i, auditEntry{order: order, entry: a})
	return m.commit(func() {
		m.audit[a.Key] = slices.Delete(m.audit[a.Key], i, i+1)
		if len(m.audit[a.Key]) == 0 {
			delete(m.audit, a.Key)
		}
	})
}

// Audit implements store.Governance.
func (m *Store) Audit(ctx context.Context, key store.Key) ([]store.AuditEntry, error) {
	if err := key.Validate(); err != nil {
		return nil, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []store.AuditEntry
	for _, e := range m.audit[key] {
		out = append(out, e.entry)
	}
	return out, nil
}

// TakeRateToken implements store.Governance.
func (m *Store) TakeRateToken(ctx context.Context, bucket string, now time.Time, window time.Duration, limit int) error {
	start, end, err := canon.RateWindow(bucket, now, window, limit)
	if err != nil {
		return err
	}
	if limit == 0 {
		return fmt.Errorf("rate token %s: limit 0: %w", bucket, store.ErrClaimed)
	}
	k := rateKey{bucket: bucket, window: window, start: start.UnixNano()}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.sweepRates(now)
	old, had := m.rates[k]
	if old.uses >= limit {
		return fmt.Errorf("rate token %s: %d uses in the window from %s: %w", bucket, limit, start, store.ErrClaimed)
	}
	m.rates[k] = rateCount{uses: old.uses + 1, expiresAt: ceilUnix(end)}
	return m.commit(func() {
		if had {
			m.rates[k] = old
		} else {
			delete(m.rates, k)
		}
	})
}

// sweepRates drops the counters of ended windows, as DynamoDB's TTL would,
// once the map has doubled since the last sweep.
func (m *Store) sweepRates(now time.Time) {
	if len(m.rates) < m.rateSweepAt {
		return
	}
	for k, c := range m.rates {
		if c.expiresAt < now.Unix() {
			delete(m.rates, k)
		}
	}
	m.rateSweepAt = max(64, 2*len(m.rates))
}
