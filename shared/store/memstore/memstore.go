// Package memstore implements the posture store in memory, optionally
// persisted to a JSON file so that local runs (the demo, the CLI) keep their
// posture across process invocations. It has the same semantics as
// dynamostore: both pass storetest.
package memstore

import (
	"cmp"
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/driftwatch/driftwatch/shared/store"
	"github.com/driftwatch/driftwatch/shared/store/internal/canon"
)

// Store is an in-memory posture store, safe for concurrent use. Values are
// copied on the way in and out, so callers never alias stored state.
type Store struct {
	mu sync.Mutex
	// path is the persistence file; "" keeps everything in memory.
	path      string
	resources map[store.Key]*resource
	// findings holds each resource's findings by rule id.
	findings map[store.Key]map[string]store.Finding
	claims   map[string]claim
	// sweepAt is the claim count at which ClaimEvent next drops expired
	// claims; sweeping only when the map doubled keeps claims O(1)
	// amortised.
	sweepAt int

	// remediations holds each resource's remediations by id, exceptions
	// its exceptions by rule id.
	remediations map[store.Key]map[string]store.Remediation
	exceptions   map[store.Key]map[string]store.Exception
	// audit holds each resource's log in order (canon.AuditOrder).
	audit map[store.Key][]auditEntry
	rates map[rateKey]rateCount
	// rateSweepAt is sweepAt for rate counters.
	rateSweepAt int
}

// resource is a stored state plus the alert lease, which is bookkeeping of
// the store rather than part of the state callers see.
type resource struct {
	state      store.ResourceState
	leaseUntil time.Time
}

// claim is an event claim. expiresAt is in Unix seconds, like the DynamoDB
// TTL attribute, so that both stores expire claims at the same instant.
type claim struct {
	done       bool
	leaseUntil time.Time
	expiresAt  int64
}

var _ store.Store = (*Store)(nil)

// New returns an empty store that lives in memory only.
func New() *Store {
	return &Store{
		resources: map[store.Key]*resource{},
		findings:  map[store.Key]map[string]store.Finding{},
		claims:    map[string]claim{},
		sweepAt:   64,

		remediations: map[store.Key]map[string]store.Remediation{},
		exceptions:   map[store.Key]map[string]store.Exception{},
		audit:        map[store.Key][]auditEntry{},
		rates:        map[rateKey]rateCount{},
		rateSweepAt:  64,
	}
}

// ClaimEvent implements store.Store.
func (m *Store) ClaimEvent(ctx context.Context, eventID string, now time.Time, lease time.Duration) error {
	if err := canon.Claim("event claim", eventID, now, lease); err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.sweepClaims(now)
	old, had := m.claims[eventID]
	if had && !claimable(old, now) {
		return fmt.Errorf("claim event %s: %w", eventID, store.ErrClaimed)
	}
	until := now.Add(lease)
	m.claims[eventID] = claim{leaseUntil: until, expiresAt: ceilUnix(until)}
	return m.commit(func() { m.restoreClaim(eventID, old, had) })
}

// CompleteEvent implements store.Store.
func (m *Store) CompleteEvent(ctx context.Context, eventID string, now time.Time, keep time.Duration) error {
	if err := canon.Claim("event completion", eventID, now, keep); err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	old, had := m.claims[eventID]
	m.claims[eventID] = claim{done: true, expiresAt: ceilUnix(now.Add(keep))}
	return m.commit(func() { m.restoreClaim(eventID, old, had) })
}

// ReleaseEvent implements store.Store.
func (m *Store) ReleaseEvent(ctx context.Context, eventID string) error {
	if eventID == "" {
		return fmt.Errorf("%w: release event: empty id", store.ErrInvalid)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	old, had := m.claims[eventID]
	if !had || old.done {
		return nil
	}
	delete(m.claims, eventID)
	return m.commit(func() { m.restoreClaim(eventID, old, had) })
}

// claimable mirrors the DynamoDB claim condition: no claim, an expired
// item (TTL deletion is lazy, so expiry is checked, not assumed), or an
// unfinished claim whose lease ended.
func claimable(c claim, now time.Time) bool {
	return c.expiresAt < now.Unix() || (!c.done && c.leaseUntil.Before(now))
}

// ceilUnix rounds up to whole seconds, so that an item never expires before
// its lease or keep ends.
func ceilUnix(t time.Time) int64 {
	s := t.Unix()
	if t.Nanosecond() > 0 {
		s++
	}
	return s
}

// sweepClaims drops expired claims, as DynamoDB's TTL would, once the map
// has doubled since the last sweep.
func (m *Store) sweepClaims(now time.Time) {
	if len(m.claims) < m.sweepAt {
		return
	}
	for id, c := range m.claims {
		if c.expiresAt < now.Unix() {
			delete(m.claims, id)
		}
	}
	m.sweepAt = max(64, 2*len(m.claims))
}

func (m *Store) restoreClaim(id string, old claim, had bool) {
	if had {
		m.claims[id] = old
	} else {
		delete(m.claims, id)
	}
}

// GetResource implements store.Store.
func (m *Store) GetResource(ctx context.Context, key store.Key) (store.ResourceState, error) {
	if err := key.Validate(); err != nil {
		return store.ResourceState{}, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	r, ok := m.resources[key]
	if !ok {
		return store.ResourceState{}, fmt.Errorf("resource %s: %w", key, store.ErrNotFound)
	}
	return canon.State(r.state), nil
}

// Load implements store.Store: LoadAll without the governance records.
func (m *Store) Load(ctx context.Context, key store.Key) (store.ResourceState, []store.Finding, error) {
	l, err := m.LoadAll(ctx, key)
	if err != nil {
		return store.ResourceState{}, nil, err
	}
	return l.State, l.Findings, nil
}

// Findings implements store.Store.
func (m *Store) Findings(ctx context.Context, key store.Key) ([]store.Finding, error) {
	if err := key.Validate(); err != nil {
		return nil, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	byRule := m.findings[key]
	var out []store.Finding
	for _, id := range slices.Sorted(maps.Keys(byRule)) {
		out = append(out, canon.Finding(byRule[id]))
	}
	return out, nil
}

// SaveObservation implements store.Store.
func (m *Store) SaveObservation(ctx context.Context, obs store.Observation) (store.ResourceState, error) {
	if err := obs.Validate(); err != nil {
		return store.ResourceState{}, err
	}
	next := canon.State(obs.State)
	next.Document = store.CapDocument(next.Document)
	next.Revision = obs.ExpectedRevision + 1
	key := next.Key

	m.mu.Lock()
	defer m.mu.Unlock()
	old, had := m.resources[key]
	if had && !old.state.ObservedAt.Before(next.ObservedAt) {
		return store.ResourceState{}, fmt.Errorf("save %s observed at %s: %w", key, next.ObservedAt, store.ErrStale)
	}
	if (obs.ExpectedRevision == 0) == had || (had && old.state.Revision != obs.ExpectedRevision) {
		return store.ResourceState{}, fmt.Errorf("save %s at revision %d: %w", key, obs.ExpectedRevision, store.ErrConflict)
	}

	// The caller gets next; the store keeps its own copy.
	stored := &resource{state: canon.State(next)}
	if had {
		// The alert bookkeeping belongs to ClaimAlert and RecordAlert.
		stored.state.Alert = store.AlertState{
			Ref:              old.state.Alert.Ref,
			Open:             old.state.Alert.Open,
			RenderedRevision: old.state.Alert.RenderedRevision,
			WantRevision:     next.Alert.WantRevision,
		}
		stored.leaseUntil = old.leaseUntil
	} else {
		stored.state.Alert = store.AlertState{WantRevision: next.Alert.WantRevision}
	}
	m.resources[key] = stored

	oldFindings := m.findings[key]
	newFindings := maps.Clone(oldFindings)
	if newFindings == nil {
		newFindings = map[string]store.Finding{}
	}
	for _, f := range obs.Findings {
		f = canon.Finding(f)
		if f.Alert.IsZero() {
			f.Alert = oldFindings[f.RuleID].Alert
		}
		newFindings[f.RuleID] = f
	}
	if len(newFindings) > 0 {
		m.findings[key] = newFindings
	}
	err := m.commit(func() {
		m.restoreResource(key, old, had)
		m.restoreFindings(key, oldFindings)
	})
	if err != nil {
		return store.ResourceState{}, err
	}
	return next, nil
}

func (m *Store) restoreResource(key store.Key, old *resource, had bool) {
	if had {
		m.resources[key] = old
	} else {
		delete(m.resources, key)
	}
}

func (m *Store) restoreFindings(key store.Key, old map[string]store.Finding) {
	if old == nil {
		delete(m.findings, key)
	} else {
		m.findings[key] = old
	}
}

// ClaimAlert implements store.Store.
func (m *Store) ClaimAlert(ctx context.Context, key store.Key, rev int64, now time.Time, lease time.Duration) (store.AlertState, error) {
	if err := key.Validate(); err != nil {
		return store.AlertState{}, err
	}
	if err := canon.Claim("alert claim", key.String(), now, lease); err != nil {
		return store.AlertState{}, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	old, ok := m.resources[key]
	if !ok {
		return store.AlertState{}, fmt.Errorf("claim alert of %s: %w", key, store.ErrNotFound)
	}
	if old.state.Alert.RenderedRevision >= rev || !old.leaseUntil.Before(now) {
		return store.AlertState{}, fmt.Errorf("claim alert of %s at revision %d: %w", key, rev, store.ErrClaimed)
	}
	m.resources[key] = &resource{state: old.state, leaseUntil: now.Add(lease)}
	if err := m.commit(func() { m.resources[key] = old }); err != nil {
		return store.AlertState{}, err
	}
	return old.state.Alert, nil
}

// BumpAlert implements store.Store.
func (m *Store) BumpAlert(ctx context.Context, key store.Key) (store.AlertState, error) {
	if err := key.Validate(); err != nil {
		return store.AlertState{}, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	old, ok := m.resources[key]
	if !ok {
		return store.AlertState{}, fmt.Errorf("bump alert of %s: %w", key, store.ErrNotFound)
	}
	next := &resource{state: canon.State(old.state), leaseUntil: old.leaseUntil}
	next.state.Revision++
	next.state.Alert.WantRevision++
	m.resources[key] = next
	if err := m.commit(func() { m.resources[key] = old }); err != nil {
		return store.AlertState{}, err
	}
	return next.state.Alert, nil
}

// RecordAlert implements store.Store.
func (m *Store) RecordAlert(ctx context.Context, key store.Key, rev int64, ref store.AlertRef, open bool, ruleIDs []string) error {
	if err := key.Validate(); err != nil {
		return err
	}
	ruleIDs, err := canon.AlertRules(key, ruleIDs)
	if err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	old, ok := m.resources[key]
	if !ok {
		return fmt.Errorf("record alert of %s: %w", key, store.ErrNotFound)
	}
	if old.state.Alert.RenderedRevision >= rev {
		return fmt.Errorf("record alert of %s at revision %d: %w", key, rev, store.ErrClaimed)
	}
	oldFindings := m.findings[key]
	for _, id := range ruleIDs {
		if _, ok := oldFindings[id]; !ok {
			return fmt.Errorf("record alert of %s: finding %q: %w", key, id, store.ErrNotFound)
		}
	}
	next := &resource{state: old.state} // the lease is released
	next.state.Alert.Ref = ref
	next.state.Alert.Open = open
	next.state.Alert.RenderedRevision = rev
	m.resources[key] = next
	if len(ruleIDs) > 0 {
		stamped := maps.Clone(oldFindings)
		for _, id := range ruleIDs {
			f := stamped[id]
			f.Alert = ref
			stamped[id] = f
		}
		m.findings[key] = stamped
	}
	return m.commit(func() {
		m.resources[key] = old
		m.restoreFindings(key, oldFindings)
	})
}

// OpenFindings implements store.Store.
func (m *Store) OpenFindings(ctx context.Context, q store.FindingQuery) ([]store.Finding, error) {
	if err := q.Validate(); err != nil {
		return nil, err
	}
	prefix := canon.OpenPrefix(q)
	m.mu.Lock()
	var out []store.Finding
	for _, byRule := range m.findings {
		for _, f := range byRule {
			if f.Status == store.FindingOpen && f.Severity == q.Severity && strings.HasPrefix(canon.OpenOrder(f.Key, f.RuleID), prefix) {
				out = append(out, canon.Finding(f))
			}
		}
	}
	m.mu.Unlock()
	slices.SortFunc(out, func(a, b store.Finding) int {
		return cmp.Compare(canon.OpenOrder(a.Key, a.RuleID), canon.OpenOrder(b.Key, b.RuleID))
	})
	if q.Limit > 0 && len(out) > q.Limit {
		out = out[:q.Limit]
	}
	return out, nil
}

// commit persists the store after a mutation; when that fails it runs undo
// so that memory never holds what the file does not.
func (m *Store) commit(undo func()) error {
	if m.path == "" {
		return nil
	}
	if err := m.save(); err != nil {
		undo()
		return err
	}
	return nil
}
