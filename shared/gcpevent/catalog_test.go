package gcpevent_test

import (
	"slices"
	"testing"

	"github.com/driftwatch/driftwatch/shared/change"
	"github.com/driftwatch/driftwatch/shared/gcpevent"
	"github.com/driftwatch/driftwatch/shared/ruleset"
)

// TestTriggersMatchTheMethodTable: every trigger of a GCP rule is a method
// the normalizer maps to the rule's resource type, and every posture
// method of the table triggers some rule (else its events would be read
// and evaluated for nothing, or a rule would never run).
func TestTriggersMatchTheMethodTable(t *testing.T) {
	engine, err := ruleset.Compile([]change.Cloud{change.GCP}, "", nil)
	if err != nil {
		t.Fatal(err)
	}
	types := map[string][]string{} // method -> types it maps to
	kind := map[string]gcpevent.Kind{}
	for _, m := range gcpevent.Table() {
		types[m.Method] = append(types[m.Method], m.Type)
		if kind[m.Method] != gcpevent.KindPosture {
			kind[m.Method] = m.Kind
		}
	}
	used := map[string]bool{}
	for _, r := range engine.Rules() {
		if len(r.Triggers) == 0 {
			t.Errorf("rule %s has no triggers", r.ID)
		}
		for _, m := range r.Triggers {
			got, ok := types[m]
			switch {
			case !ok:
				t.Errorf("rule %s: trigger %s is not in the method table", r.ID, m)
			case !slices.Contains(got, r.ResourceType):
				t.Errorf("rule %s: trigger %s maps to %v, not the rule's %s", r.ID, m, got, r.ResourceType)
			}
			used[m] = true
		}
	}
	for m, k := range kind {
		if k == gcpevent.KindPosture && !used[m] {
			t.Errorf("the method table maps %s as posture, but no rule lists it as a trigger", m)
		}
	}
}
