// Package ruleset loads what a function evaluates and governs at start: the
// built-in rule catalogue of its clouds plus the operator's custom rules,
// and the remediation governance policy.
//
// One deployment shares one custom rules folder and one governance policy
// across clouds, so each cloud's function takes its own cloud's rules from
// them and checks the references of the whole file: a policy naming an
// Azure rule is valid in the AWS detector too, and a typo in it is caught by
// every function.
package ruleset

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"reflect"
	"slices"

	"github.com/driftwatch/driftwatch/shared/awsres"
	"github.com/driftwatch/driftwatch/shared/azres"
	"github.com/driftwatch/driftwatch/shared/change"
	"github.com/driftwatch/driftwatch/shared/gcpres"
	"github.com/driftwatch/driftwatch/shared/governance"
	"github.com/driftwatch/driftwatch/shared/pipeline"
	"github.com/driftwatch/driftwatch/shared/remediation"
	"github.com/driftwatch/driftwatch/shared/rules"
)

// Clouds are the clouds with a rule catalogue, by their change.Cloud name.
var Clouds = []change.Cloud{change.AWS, change.Azure, change.GCP}

// Types returns the document types of one cloud's resources; nil for a
// cloud without any.
func Types(c change.Cloud) map[string]reflect.Type {
	switch c {
	case change.AWS:
		return awsres.Types()
	case change.Azure:
		return azres.Types()
	case change.GCP:
		return gcpres.Types()
	}
	return nil
}

// typesOf merges the document types of clouds.
func typesOf(clouds []change.Cloud) map[string]reflect.Type {
	out := map[string]reflect.Type{}
	for _, c := range clouds {
		maps.Copy(out, Types(c))
	}
	return out
}

// cloudOf says which cloud a resource type belongs to.
func cloudOf(resourceType string) (change.Cloud, bool) {
	for _, c := range Clouds {
		if _, ok := Types(c)[resourceType]; ok {
			return c, true
		}
	}
	return "", false
}

// Specs returns the rules of every cloud: the built-in catalogues, then the
// custom rules in dir (none when dir is empty).
func Specs(dir string) ([]rules.Spec, error) {
	var specs []rules.Spec
	for _, c := range Clouds {
		b, err := rules.Load(rules.Builtin(string(c)))
		if err != nil {
			return nil, fmt.Errorf("built-in %s rules: %w", c, err)
		}
		specs = append(specs, b...)
	}
	if dir == "" {
		return specs, nil
	}
	custom, err := rules.Load(os.DirFS(dir))
	if err != nil {
		return nil, fmt.Errorf("custom rules in %s: %w", dir, err)
	}
	for i := range custom {
		// Sources are relative to dir; errors found later (a condition that
		// does not type-check, an id clashing with a built-in rule, a
		// resource type no cloud has) must still say which file on disk
		// to fix.
		custom[i].Source = filepath.Join(dir, filepath.FromSlash(custom[i].Source))
	}
	return append(specs, custom...), nil
}

// Compile builds the engine of the given clouds' rules (built-in and custom
// from dir) without the disabled ones. A disabled id must name a rule of
// some cloud: a typo would otherwise silently leave the rule on.
func Compile(clouds []change.Cloud, dir string, disabled []string) (*rules.Engine, error) {
	all, err := Specs(dir)
	if err != nil {
		return nil, err
	}
	off := map[string]bool{}
	for _, id := range disabled {
		if !slices.ContainsFunc(all, func(s rules.Spec) bool { return s.ID == id }) {
			return nil, fmt.Errorf("DRIFTWATCH_DISABLED_RULES: no rule %q", id)
		}
		off[id] = true
	}
	var specs []rules.Spec
	for _, s := range all {
		// A rule of no known cloud is kept so that Compile reports its
		// unknown resource type with its file and line.
		if c, ok := cloudOf(s.ResourceType); (!ok || slices.Contains(clouds, c)) && !off[s.ID] {
			specs = append(specs, s)
		}
	}
	engine, err := rules.Compile(specs, typesOf(clouds))
	if err != nil {
		return nil, fmt.Errorf("compile rules: %w", err)
	}
	return engine, nil
}

// LoadPolicy reads the governance policy file; without one, nothing is
// fixed from chat (governance.Default). The actions rules declare
// irreversible are high risk whatever the file says. Every rule id the file mentions
// must name a rule of some cloud (built-in or in dir), and every action
// name an action of actions or one that some rule offers.
func LoadPolicy(path, dir string, actions remediation.Catalog) (*governance.Policy, error) {
	p := governance.Default()
	if path != "" {
		var err error
		if p, err = governance.Load(path); err != nil {
			return nil, fmt.Errorf("governance policy: %w", err)
		}
	}
	specs, err := Specs(dir)
	if err != nil {
		return nil, err
	}
	var ruleIDs, names []string
	for _, s := range specs {
		ruleIDs = append(ruleIDs, s.ID)
		if s.Remediation.Action != "" {
			names = append(names, s.Remediation.Action)
		}
		if s.Remediation.Irreversible {
			p.MarkIrreversible(s.Remediation.Action)
		}
	}
	names = append(names, slices.Collect(maps.Keys(actions))...)
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
	typ, ok := Types(ref.Cloud)[ref.Type]
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

// ConsoleURL links a resource of any cloud to its console page.
func ConsoleURL(ref change.ResourceRef) string {
	switch ref.Cloud {
	case change.AWS:
		return awsres.ConsoleURL(ref)
	case change.Azure:
		return azres.PortalURL(ref)
	case change.GCP:
		return gcpres.ConsoleURL(ref)
	}
	return ""
}
