package awsdetector_test

import (
	"slices"
	"testing"

	"github.com/driftwatch/driftwatch/shared/awsdetector"
	"github.com/driftwatch/driftwatch/shared/awsevent"
	"github.com/driftwatch/driftwatch/shared/awsres"
)

// The rules' triggers and the event table must agree: a trigger missing from
// the table is an event that never reaches the detector (the EventBridge
// pattern is generated from the table), and a table row no rule cares about
// costs a fetch per event for nothing.
func TestTriggersMatchTheEventTable(t *testing.T) {
	engine, err := awsdetector.CompileRules("", nil)
	if err != nil {
		t.Fatal(err)
	}
	byOp := map[string][]string{} // operation -> resource types it references
	kind := map[string]awsevent.Kind{}
	for _, m := range awsevent.Table() {
		kind[m.Operation] = m.Kind
		for _, r := range m.Refs {
			byOp[m.Operation] = append(byOp[m.Operation], r.Type)
			if r.CallerFallback {
				// A root caller's access keys are an account setting.
				byOp[m.Operation] = append(byOp[m.Operation], awsres.TypeAccount)
			}
		}
	}
	used := map[string]bool{}
	for _, r := range engine.Rules() {
		if len(r.Triggers) == 0 {
			t.Errorf("rule %s has no triggers", r.ID)
		}
		for _, op := range r.Triggers {
			types, ok := byOp[op]
			switch {
			case !ok:
				t.Errorf("rule %s: trigger %s is not in the event table", r.ID, op)
			case !slices.Contains(types, r.ResourceType):
				t.Errorf("rule %s: trigger %s references %v, not the rule's %s", r.ID, op, types, r.ResourceType)
			}
			used[op] = true
		}
	}
	for op := range byOp {
		if kind[op] == awsevent.KindPosture && !used[op] {
			t.Errorf("event table maps %s, but no rule lists it as a trigger", op)
		}
	}
}
