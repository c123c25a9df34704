package storetest

import (
	"fmt"
	"testing"
	"time"

	"github.com/driftwatch/driftwatch/shared/posture"
	"github.com/driftwatch/driftwatch/shared/store"
)

// benchObservation is a realistic write: a state with a small document and
// five evaluations, plus the two findings whose status it changes.
func benchObservation(i int, expected int64) store.Observation {
	s := newState(bucketKey, t0.Add(time.Duration(i)*time.Second))
	s.Tags = map[string]string{"env": "prod", "owner": "payments"}
	for r := range 5 {
		s.Evaluations = append(s.Evaluations, posture.Evaluation{RuleID: fmt.Sprintf("rule-%d", r), Status: posture.Pass, Severity: posture.High})
	}
	status := store.FindingOpen
	if i%2 == 1 {
		status = store.FindingResolved
	}
	return store.Observation{State: s, ExpectedRevision: expected, Findings: []store.Finding{
		newFinding(bucketKey, "rule-0", posture.High, status, s.ObservedAt),
		newFinding(bucketKey, "rule-1", posture.Critical, status, s.ObservedAt),
	}}
}

// BenchSaveObservation measures SaveObservation: one conditional write of a
// state and two findings per iteration, each on the revision the last one
// returned.
func BenchSaveObservation(b *testing.B, st store.Store) {
	var rev int64
	i := 0
	for b.Loop() {
		got, err := st.SaveObservation(b.Context(), benchObservation(i, rev))
		if err != nil {
			b.Fatalf("SaveObservation %d: %v", i, err)
		}
		rev = got.Revision
		i++
	}
}

// BenchGetResource measures GetResource of a stored state.
func BenchGetResource(b *testing.B, st store.Store) {
	if _, err := st.SaveObservation(b.Context(), benchObservation(0, 0)); err != nil {
		b.Fatalf("SaveObservation: %v", err)
	}
	for b.Loop() {
		if _, err := st.GetResource(b.Context(), bucketKey); err != nil {
			b.Fatalf("GetResource: %v", err)
		}
	}
}

// BenchLoadAll measures LoadAll of a resource with a state, two findings,
// a remediation, an exception and an audit log of 200 entries, which
// LoadAll must not read.
func BenchLoadAll(b *testing.B, st Governed) {
	ctx := b.Context()
	if _, err := st.SaveObservation(ctx, benchObservation(0, 0)); err != nil {
		b.Fatalf("SaveObservation: %v", err)
	}
	if _, err := st.CreateRemediation(ctx, newRemediation(bucketKey, "rule-0")); err != nil {
		b.Fatalf("CreateRemediation: %v", err)
	}
	if err := st.PutException(ctx, newException(bucketKey, "rule-1")); err != nil {
		b.Fatalf("PutException: %v", err)
	}
	for i := range BenchAuditEntries {
		if err := st.AppendAudit(ctx, newAudit(bucketKey, t0.Add(time.Duration(i)*time.Second), "s", "click")); err != nil {
			b.Fatalf("AppendAudit: %v", err)
		}
	}
	for b.Loop() {
		l, err := st.LoadAll(ctx, bucketKey)
		if err != nil {
			b.Fatalf("LoadAll: %v", err)
		}
		if len(l.Findings) != 2 || len(l.Remediations) != 1 || len(l.Exceptions) != 1 {
			b.Fatalf("LoadAll = %d findings, %d remediations, %d exceptions", len(l.Findings), len(l.Remediations), len(l.Exceptions))
		}
	}
}

// BenchAuditEntries is the length of BenchLoadAll's audit log; each entry
// is one write of its setup.
const BenchAuditEntries = 200
