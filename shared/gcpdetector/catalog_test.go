package gcpdetector_test

import (
	"context"
	"testing"

	"github.com/driftwatch/driftwatch/shared/change"
	"github.com/driftwatch/driftwatch/shared/gcpapi"
	"github.com/driftwatch/driftwatch/shared/gcpremedy"
	"github.com/driftwatch/driftwatch/shared/ruleset"
)

// TestRuleActionsExist: every fix a GCP rule names is an action of the
// GCP function's catalogue, for the rule's resource type, and every
// action is named by some rule. (gcpevent's catalog test checks the
// rules' triggers against its method table.)
func TestRuleActionsExist(t *testing.T) {
	engine, err := ruleset.Compile([]change.Cloud{change.GCP}, "", nil)
	if err != nil {
		t.Fatal(err)
	}
	// An endpoint keeps the constructor from looking for credentials;
	// nothing is called.
	actions, err := gcpremedy.New(context.Background(), &gcpremedy.Options{API: gcpapi.Options{Endpoint: "http://127.0.0.1:9"}})
	if err != nil {
		t.Fatal(err)
	}
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
			t.Errorf("rule %s names action %s, which the GCP function does not have", r.ID, name)
		case a.ResourceType() != r.ResourceType:
			t.Errorf("rule %s (%s) names %s, which acts on %s", r.ID, r.ResourceType, name, a.ResourceType())
		}
		if r.Remediation.Irreversible {
			t.Errorf("rule %s declares its fix irreversible, but every GCP action has an Undo", r.ID)
		}
	}
	if len(named) == 0 {
		t.Fatal("no GCP rule names a fix")
	}
	for name := range actions {
		if !named[name] {
			t.Errorf("action %s is named by no rule: it can never run", name)
		}
	}
}
