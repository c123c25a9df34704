package pipeline

import (
	"context"
	"log/slog"
	"slices"
	"time"

	"github.com/driftwatch/driftwatch/shared/alert"
	"github.com/driftwatch/driftwatch/shared/change"
	"github.com/driftwatch/driftwatch/shared/posture"
	"github.com/driftwatch/driftwatch/shared/remediation"
	"github.com/driftwatch/driftwatch/shared/store"
)

// decide asks the governance policy what to offer for a finding.
func (d *Alerts) decide(st store.ResourceState, f store.Finding, action string) FixDecision {
	if d.opts.Governor == nil {
		return FixDecision{Mode: ModeAlert, Reason: "no governance policy configured"}
	}
	return d.opts.Governor.Decide(FixInput{
		RuleID: f.RuleID, Action: action, Severity: f.Severity,
		Account: st.Key.Account, Tags: st.Tags, Now: d.opts.Now(),
	})
}

// fix is what the message shows about fixing a finding from chat: the
// buttons for a failing one, the outcome for a resolved one.
func (d *Alerts) fix(ctx context.Context, l store.Loaded, f store.Finding, action string, failing bool) *alert.Fix {
	st := l.State
	id := remediation.NewID(st.Key, f.RuleID, f.FirstSeen)
	var rem *store.Remediation
	for i := range l.Remediations {
		if l.Remediations[i].ID == id {
			rem = &l.Remediations[i]
		}
	}
	if !failing && rem == nil {
		return nil
	}
	dec := d.decide(st, f, action)
	if rem == nil && (action == "" || dec.Mode == ModeAlert) {
		return nil
	}
	fx := &alert.Fix{
		Ref: alert.FixRef{Cloud: string(st.Key.Cloud), Account: st.Key.Account, ResourceID: st.Key.ResourceID,
			RuleID: f.RuleID, FirstSeen: f.FirstSeen.UnixNano()},
		Mode:       dec.Mode,
		Required:   max(dec.RequiredApprovals, 1),
		AcceptRisk: failing && dec.Mode != ModeAlert,
	}
	if rem != nil {
		fx.Change, fx.State, fx.Result = rem.Change, string(rem.State), rem.Result
		fx.Required = max(rem.RequiredApprovals, 1)
		for _, a := range rem.Approvals {
			name := a.Name
			if name == "" {
				name = a.SlackUser
			}
			fx.Approvals = append(fx.Approvals, name)
		}
		fx.CanUndo = rem.State == store.RemediationSucceeded && len(rem.Snapshot) > 0
		if slices.ContainsFunc(rem.Approvals, func(a store.Approval) bool { return a.SlackUser == AutoApprover }) {
			fx.Mode = ModeAuto
		}
		return fx
	}
	fx.Change = f.FixPlan
	if fx.Change == "" && d.opts.Planner != nil && len(st.Document) > 0 {
		// Findings stored before plans were recorded.
		change, err := d.opts.Planner.PlanFix(ctx, action, stateRef(st), st.Document)
		if err != nil {
			d.log.Warn("plan fix", "rule_id", f.RuleID, "action", action, "error", err)
		}
		fx.Change = change
	}
	if fx.Change == "" {
		fx.Change = "Run " + action + " on " + st.Name
	}
	return fx
}

// accepted lists the rules whose failure is suppressed by an active
// accepted risk.
func (d *Alerts) accepted(l store.Loaded) []alert.Accepted {
	var out []alert.Accepted
	for _, e := range l.State.Evaluations {
		if e.Status != posture.Suppressed {
			continue
		}
		for _, x := range l.Exceptions {
			if x.RuleID != e.RuleID {
				continue
			}
			a := alert.Accepted{RuleID: e.RuleID, Title: e.RuleID, Severity: e.Severity, By: x.ApprovedByName, Reason: x.Reason, Until: x.ExpiresAt}
			if a.By == "" {
				a.By = x.ApprovedBy
			}
			if r, ok := d.rules.Rule(e.RuleID); ok {
				a.Title = r.Title
			}
			out = append(out, a)
		}
	}
	return out
}

func stateRef(st store.ResourceState) change.ResourceRef {
	return change.ResourceRef{Cloud: st.Key.Cloud, Type: st.Type, ID: st.Key.ResourceID, Name: st.Name, Account: st.Key.Account, Region: st.Region}
}

// AutoApprover is the approval recorded for automatic fixes.
const AutoApprover = remediation.AutoApprover

// autoRemediate dispatches the fixes governance allows without a click
// (mode auto, inside a maintenance window, under the account's rate limit)
// for rules that just started failing, and returns the resource's
// remediations including the new ones.
func (d *Alerts) autoRemediate(ctx context.Context, l store.Loaded, opened []string, log *slog.Logger) []store.Remediation {
	rems := l.Remediations
	if d.opts.Dispatcher == nil {
		return rems
	}
	for _, ruleID := range opened {
		r, ok := d.rules.Rule(ruleID)
		if !ok || r.Remediation.Action == "" {
			continue
		}
		i := slices.IndexFunc(l.Findings, func(f store.Finding) bool { return f.RuleID == ruleID })
		if i < 0 {
			continue
		}
		f := l.Findings[i]
		dec := d.decide(l.State, f, r.Remediation.Action)
		if dec.Mode != ModeAuto {
			continue
		}
		now := d.opts.Now()
		if dec.AutoLimit > 0 {
			if err := d.store.TakeRateToken(ctx, "auto:"+string(l.State.Key.Cloud)+":"+l.State.Key.Account, now, dec.AutoWindow, dec.AutoLimit); err != nil {
				log.Info("automatic fix falls back to approval", "rule_id", ruleID, "reason", "rate limit", "error", err)
				continue
			}
		}
		change := f.FixPlan
		if change == "" && d.opts.Planner != nil {
			change, _ = d.opts.Planner.PlanFix(ctx, r.Remediation.Action, stateRef(l.State), l.State.Document)
		}
		expiry := dec.ApprovalExpiry
		if expiry <= 0 {
			expiry = time.Hour
		}
		rem, err := d.store.CreateRemediation(ctx, store.Remediation{
			ID: remediation.NewID(l.State.Key, ruleID, f.FirstSeen), Key: l.State.Key, ResourceType: l.State.Type, Region: l.State.Region,
			RuleID: ruleID, Action: r.Remediation.Action, Change: change, State: store.RemediationApproved,
			FindingFirstSeen: f.FirstSeen, CausedBy: f.OpenedBy.Actor, RequiredApprovals: 1,
			Approvals:  []store.Approval{{SlackUser: AutoApprover, Name: "driftwatch (automatic)", At: now}},
			ProposedAt: now, ExpiresAt: now.Add(expiry), UpdatedAt: now,
		})
		if err != nil {
			log.Error("automatic fix not recorded", "rule_id", ruleID, "error", err)
			continue
		}
		d.auditf(ctx, rem, "auto_remediation", "driftwatch", "automatic fix "+rem.Action+" dispatched: "+dec.Reason)
		if err := d.opts.Dispatcher.Dispatch(ctx, remediation.Request{Op: remediation.OpApply, Key: rem.Key, ResourceType: rem.ResourceType,
			Region: rem.Region, RemediationID: rem.ID, By: "driftwatch (automatic)", At: now}); err != nil {
			log.Error("automatic fix not dispatched", "rule_id", ruleID, "error", err)
		}
		rems = append(rems, rem)
	}
	return rems
}

// auditf appends an audit entry, logging (not failing) when the log is
// unavailable: the action it records already happened.
func (d *Alerts) auditf(ctx context.Context, r store.Remediation, kind, who, what string) {
	d.audit(ctx, store.AuditEntry{Key: r.Key, Seq: kind + "-" + r.ID, Kind: kind, Who: who, RuleID: r.RuleID, RemediationID: r.ID, What: what})
}

func (d *Alerts) audit(ctx context.Context, e store.AuditEntry) {
	e.At = d.opts.Now()
	if err := d.store.AppendAudit(ctx, e); err != nil {
		d.log.Error("audit append failed", "kind", e.Kind, "error", err)
	}
}
