package awsdetector

import (
	"context"
	"encoding/json"
	"fmt"
	"reflect"

	"github.com/driftwatch/driftwatch/shared/awsres"
	"github.com/driftwatch/driftwatch/shared/change"
	"github.com/driftwatch/driftwatch/shared/governance"
	"github.com/driftwatch/driftwatch/shared/pipeline"
	"github.com/driftwatch/driftwatch/shared/remediation"
	"github.com/driftwatch/driftwatch/shared/rules"
)

// LoadPolicy reads the governance policy file; without one, nothing is
// fixed from chat (governance.Default). Rule ids and action names the file
// mentions must exist.
func LoadPolicy(path string, engine *rules.Engine, actions remediation.Catalog) (*governance.Policy, error) {
	p := governance.Default()
	if path != "" {
		var err error
		if p, err = governance.Load(path); err != nil {
			return nil, fmt.Errorf("governance policy: %w", err)
		}
	}
	var ruleIDs, names []string
	for _, r := range engine.Rules() {
		ruleIDs = append(ruleIDs, r.ID)
	}
	for name := range actions {
		names = append(names, name)
	}
	if err := p.CheckReferences(ruleIDs, names); err != nil {
		return nil, fmt.Errorf("governance policy: %w", err)
	}
	return p, nil
}

// Governor adapts the governance policy to the pipeline.
type Governor struct{ Policy *governance.Policy }

// Decide implements pipeline.Governor.
func (g Governor) Decide(in pipeline.FixInput) pipeline.FixDecision {
	d := g.Policy.Decide(governance.Input{RuleID: in.RuleID, Action: in.Action, Severity: in.Severity, Account: in.Account, Tags: in.Tags, Now: in.Now})
	out := pipeline.FixDecision{Mode: string(d.Mode), RequiredApprovals: d.RequiredApprovals, ApprovalExpiry: d.ApprovalExpiry, Reason: d.Reason}
	if d.RateLimit != nil {
		out.AutoLimit, out.AutoWindow = d.RateLimit.PerAccount, d.RateLimit.Window
	}
	return out
}

// Planner says what a remediation action would change on a stored
// document. Plans read only the document: no API call, no permission.
type Planner struct{ Actions remediation.Catalog }

// PlanFix implements pipeline.Planner.
func (p Planner) PlanFix(ctx context.Context, action string, ref change.ResourceRef, doc []byte) (string, error) {
	a, ok := p.Actions[action]
	if !ok {
		return "", fmt.Errorf("no remediation action %q", action)
	}
	typ, ok := awsres.Types()[ref.Type]
	if !ok {
		return "", fmt.Errorf("no document type for %s", ref.Type)
	}
	v := reflect.New(typ)
	if err := json.Unmarshal(doc, v.Interface()); err != nil {
		return "", fmt.Errorf("decode %s document: %w", ref.Type, err)
	}
	plan, err := a.Plan(ctx, remediation.Target{Ref: ref, Doc: v.Interface()})
	if err != nil {
		return "", err
	}
	return plan.Change, nil
}
