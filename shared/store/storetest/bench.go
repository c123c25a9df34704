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
