package azdetector

import (
	"slices"
	"strings"
	"testing"

	azfake "github.com/Azure/azure-sdk-for-go/sdk/azcore/fake"

	"github.com/driftwatch/driftwatch/shared/azevent"
	"github.com/driftwatch/driftwatch/shared/azremedy"
	"github.com/driftwatch/driftwatch/shared/azres"
	"github.com/driftwatch/driftwatch/shared/change"
	"github.com/driftwatch/driftwatch/shared/ruleset"
)

// TestTriggersMatchTheOperationTable: every trigger of an Azure rule is an
// operation the normalizer maps to the rule's resource type, and every
// posture operation of the table triggers some rule (else its events would
// be read and evaluated for nothing, or a rule would never run).
func TestTriggersMatchTheOperationTable(t *testing.T) {
	engine, err := ruleset.Compile([]change.Cloud{change.Azure}, "", nil)
	if err != nil {
		t.Fatal(err)
	}
	types := map[string][]string{} // lower-case operation -> types it maps to
	kind := map[string]azevent.Kind{}
	for _, m := range azevent.Table() {
		op := strings.ToLower(m.Operation)
		kind[op] = m.Kind
		if m.Type == "" {
			for typ := range azres.Types() {
				types[op] = append(types[op], typ)
			}
		} else {
			types[op] = append(types[op], m.Type)
		}
	}
	used := map[string]bool{}
	for _, r := range engine.Rules() {
		if len(r.Triggers) == 0 {
			t.Errorf("rule %s has no triggers", r.ID)
		}
		for _, trig := range r.Triggers {
			op := strings.ToLower(trig)
			got, ok := types[op]
			switch {
			case !ok:
				t.Errorf("rule %s: trigger %s is not in the operation table", r.ID, trig)
			case !slices.ContainsFunc(got, func(s string) bool { return strings.EqualFold(s, r.ResourceType) }):
				t.Errorf("rule %s: trigger %s maps to %v, not the rule's %s", r.ID, trig, got, r.ResourceType)
			}
			used[op] = true
		}
	}
	for op, k := range kind {
		if k == azevent.KindPosture && !used[op] {
			t.Errorf("the operation table maps %s as posture, but no rule lists it as a trigger", op)
		}
	}
}

// TestRuleActionsExist: every fix an Azure rule names is an action of the
// Azure function's catalogue, for the rule's resource type, and the
// actions the rules declare irreversible are the ones azremedy lists.
func TestRuleActionsExist(t *testing.T) {
	engine, err := ruleset.Compile([]change.Cloud{change.Azure}, "", nil)
	if err != nil {
		t.Fatal(err)
	}
	actions, err := azremedy.New(&azfake.TokenCredential{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	var irreversible []string
	named := map[string]bool{}
	for _, r := range engine.Rules() {
		name := r.Remediation.Action
		if name == "" {
			continue
		}
		named[name] = true
		a, ok := actions[name]
		switch {
		case !ok:
			t.Errorf("rule %s names action %s, which the Azure function does not have", r.ID, name)
		case a.ResourceType() != r.ResourceType:
			t.Errorf("rule %s (%s) names %s, which acts on %s", r.ID, r.ResourceType, name, a.ResourceType())
		}
		if r.Remediation.Irreversible {
			irreversible = append(irreversible, name)
		}
	}
	for name := range actions {
		if !named[name] {
			t.Errorf("action %s is named by no rule: it can never run", name)
		}
	}
	slices.Sort(irreversible)
	if got := azremedy.Irreversible(); !slices.Equal(slices.Compact(irreversible), got) {
		t.Errorf("rules declare %v irreversible, azremedy lists %v", irreversible, got)
	}
}
