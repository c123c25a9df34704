package pipeline

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/driftwatch/driftwatch/shared/change"
	"github.com/driftwatch/driftwatch/shared/posture"
	"github.com/driftwatch/driftwatch/shared/resource"
	"github.com/driftwatch/driftwatch/shared/store"
)

// plan is the write one observation needs.
type plan struct {
	obs     *store.Observation // nil: nothing to write
	failing []string
	drift   posture.Drift
	// findings are the resource's findings once obs is written.
	findings []store.Finding
}

// plan compares a new observation with the stored state. Unchanged posture
// writes nothing unless the stored last-seen time is older than
// RefreshEvery.
func (d *Detector) plan(ctx context.Context, prev store.ResourceState, prevFindings []store.Finding, res resource.Resource, evals []posture.Evaluation, c change.Change) (plan, error) {
	var doc json.RawMessage
	if res.Exists && res.Doc != nil {
		b, err := json.Marshal(res.Doc)
		if err != nil {
			return plan{}, fmt.Errorf("encode %s document: %w", res.Ref.Type, err)
		}
		doc = b
	}
	stored := prev.Revision > 0
	before := prev.Failing()
	failing := effectiveFailing(evals, before)
	p := plan{failing: failing, drift: posture.Diff(before, failing)}

	changed := !stored || prev.Exists != res.Exists || !bytes.Equal(prev.Document, doc) ||
		!maps.Equal(prev.Tags, res.Tags) || !sameStatuses(prev.Evaluations, evals)
	if !changed && res.ObservedAt.Sub(prev.ObservedAt) < d.opts.RefreshEvery {
		return p, nil
	}
	if !stored && !res.Exists && len(failing) == 0 {
		// A resource deleted before it was ever observed: nothing to keep.
		return p, nil
	}

	key := store.KeyOf(res.Ref)
	next := prev
	next.Key = key
	next.Type, next.Region, next.Name = res.Ref.Type, res.Ref.Region, res.Ref.Name
	next.Exists = res.Exists
	next.ObservedAt = res.ObservedAt
	next.Document = doc
	next.Tags = res.Tags
	next.Evaluations = evals
	cause := store.ChangeRef{EventID: c.EventID, Operation: c.Operation, Actor: c.Actor, Time: c.Time}
	if changed {
		next.LastChange = cause
	}
	if p.drift.Changed() {
		// The alert revision only grows; BumpAlert moves it too.
		next.Alert.WantRevision = max(prev.Alert.WantRevision, prev.Revision) + 1
	}

	var findings []store.Finding
	if len(failing) > 0 || len(before) > 0 {
		byRule := make(map[string]store.Finding, len(prevFindings))
		for _, f := range prevFindings {
			byRule[f.RuleID] = f
		}
		for _, id := range p.drift.Opened {
			f := d.openFinding(key, id, prev, res, evals, cause)
			f.FixPlan = d.fixPlan(ctx, id, res, doc)
			findings = append(findings, f)
		}
		for _, id := range p.drift.Still {
			f, ok := byRule[id]
			if !ok {
				f = d.openFinding(key, id, prev, res, evals, cause)
			}
			f.LastSeen = res.ObservedAt
			// The resource may have changed in other ways since: the plan
			// follows the latest document.
			f.FixPlan = d.fixPlan(ctx, id, res, doc)
			findings = append(findings, f)
		}
		for _, id := range p.drift.Resolved {
			f, ok := byRule[id]
			if !ok {
				f = d.openFinding(key, id, prev, res, evals, cause)
			}
			f.Status = store.FindingResolved
			f.ResolvedAt = res.ObservedAt
			f.ResolvedBy = cause
			findings = append(findings, f)
		}
	}
	p.obs = &store.Observation{State: next, ExpectedRevision: prev.Revision, Findings: findings}
	p.findings = mergeFindings(prevFindings, findings)
	return p, nil
}

// fixPlan says what the rule's remediation action would change on the
// observed document; empty when there is nothing to plan. A planning error
// is logged, not fatal: the alert then names the action instead.
func (d *Detector) fixPlan(ctx context.Context, ruleID string, res resource.Resource, doc []byte) string {
	if d.opts.Planner == nil || !res.Exists || len(doc) == 0 {
		return ""
	}
	r, ok := d.rules.Rule(ruleID)
	if !ok || r.Remediation.Action == "" {
		return ""
	}
	plan, err := d.opts.Planner.PlanFix(ctx, r.Remediation.Action, res.Ref, doc)
	if err != nil {
		d.log.Warn("plan fix", "rule_id", ruleID, "action", r.Remediation.Action, "resource_id", res.Ref.ID, "error", err)
		return ""
	}
	return plan
}

// openFinding starts a finding, remembering the rule's settings as they were
// before so that the alert can show before -> after.
func (d *Detector) openFinding(key store.Key, ruleID string, prev store.ResourceState, res resource.Resource, evals []posture.Evaluation, cause store.ChangeRef) store.Finding {
	f := store.Finding{
		Key: key, RuleID: ruleID, ResourceType: res.Ref.Type, Region: res.Ref.Region,
		Status: store.FindingOpen, FirstSeen: res.ObservedAt, LastSeen: res.ObservedAt, OpenedBy: cause,
		BeforeKnown: prev.Revision > 0 && prev.Exists,
	}
	for _, e := range evals {
		if e.RuleID == ruleID {
			f.Severity = e.Severity
		}
	}
	if prev.Alert.Open {
		f.Alert = prev.Alert.Ref
	}
	if r, ok := d.rules.Rule(ruleID); ok && f.Severity == "" {
		f.Severity = r.Severity
	}
	if f.BeforeKnown {
		vals, err := d.rules.SettingValuesAt(ruleID, prev.Document, d.alerts.evalContextAt(key.Account, prev.ObservedAt), prev.Tags)
		if err != nil {
			// Shown as unknown rather than failing the observation.
			d.log.Warn("settings before the change", "rule_id", ruleID, "resource_id", key.ResourceID, "error", err)
		}
		if len(vals) > 0 {
			f.Before = make(map[string]string, len(vals))
			for _, v := range vals {
				f.Before[v.Label] = v.Value
			}
		}
	}
	return f
}

// effectiveFailing returns the failing rule ids. A rule that failed before
// and now errors is kept failing: an evaluation error must neither open nor
// resolve an alert.
func effectiveFailing(evals []posture.Evaluation, before []string) []string {
	var ids []string
	for _, e := range evals {
		if e.Status == posture.Fail || e.Status == posture.Error && slices.Contains(before, e.RuleID) {
			ids = append(ids, e.RuleID)
		}
	}
	slices.Sort(ids)
	return ids
}

func sameStatuses(a, b []posture.Evaluation) bool {
	return slices.EqualFunc(a, b, func(x, y posture.Evaluation) bool {
		return x.RuleID == y.RuleID && x.Status == y.Status
	})
}

// mergeFindings is the resource's findings after written replaces some:
// what the store holds once the observation lands, ordered by rule id.
func mergeFindings(stored, written []store.Finding) []store.Finding {
	out := slices.Clone(written)
	for _, f := range stored {
		if !slices.ContainsFunc(written, func(w store.Finding) bool { return w.RuleID == f.RuleID }) {
			out = append(out, f)
		}
	}
	slices.SortFunc(out, func(a, b store.Finding) int { return strings.Compare(a.RuleID, b.RuleID) })
	return out
}
