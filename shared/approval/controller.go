// Package approval is what a click on an alert does: it re-reads the finding
// the button was rendered for, asks the governance policy whether the
// clicker may, records the approval, the undo request or the accepted risk
// with conditional writes (so two clicks, a retried function or a replayed
// request count once), appends the audit log, dispatches the work to the
// resource's cloud and re-renders the alert. It implements
// slackinteract.Controller; nothing here talks to a cloud's API.
package approval

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"time"

	"github.com/slack-go/slack"

	"github.com/driftwatch/driftwatch/shared/alert"
	"github.com/driftwatch/driftwatch/shared/change"
	"github.com/driftwatch/driftwatch/shared/governance"
	"github.com/driftwatch/driftwatch/shared/pipeline"
	"github.com/driftwatch/driftwatch/shared/remediation"
	"github.com/driftwatch/driftwatch/shared/rules"
	"github.com/driftwatch/driftwatch/shared/slackalert"
	"github.com/driftwatch/driftwatch/shared/slackinteract"
	"github.com/driftwatch/driftwatch/shared/store"
)

// Store is what the controller reads and writes.
type Store interface {
	LoadAll(ctx context.Context, key store.Key) (store.Loaded, error)
	CreateRemediation(ctx context.Context, r store.Remediation) (store.Remediation, error)
	UpdateRemediation(ctx context.Context, r store.Remediation) (store.Remediation, error)
	GetRemediation(ctx context.Context, key store.Key, id string) (store.Remediation, error)
	PutException(ctx context.Context, e store.Exception) error
	AppendAudit(ctx context.Context, e store.AuditEntry) error
}

// RuleInfo is what the controller needs of a rule.
type RuleInfo struct {
	Title string
	// Action is the rule's automatic fix ("" when it has none).
	Action string
}

// RuleSource describes rules by id.
type RuleSource interface {
	RuleInfo(id string) (RuleInfo, bool)
}

// EngineRules describes the rules of a compiled engine.
type EngineRules struct{ Engine *rules.Engine }

// RuleInfo implements RuleSource.
func (e EngineRules) RuleInfo(id string) (RuleInfo, bool) {
	r, ok := e.Engine.Rule(id)
	if !ok {
		return RuleInfo{}, false
	}
	return RuleInfo{Title: r.Title, Action: r.Remediation.Action}, true
}

// Policy is the governance policy.
type Policy interface {
	Decide(in governance.Input) governance.Decision
	Authorize(ctx context.Context, d governance.Decision, c governance.Clicker, causedBy change.Actor, dir governance.Directory, already []store.Approval) error
	AcceptRiskMax() time.Duration
	CheckAcceptRisk(now, until time.Time) error
}

// Slack is what the controller asks of Slack: who a user is, and opening the
// accept-risk modal.
type Slack interface {
	governance.Directory
	// Profile returns a user's display name and email ("" when unknown).
	Profile(ctx context.Context, userID string) (name, email string, err error)
	OpenView(ctx context.Context, triggerID string, view slack.ModalViewRequest) error
}

// Alerts re-renders a resource's alert with a thread note.
type Alerts interface {
	Refresh(ctx context.Context, key store.Key, note string) error
}

// Controller handles clicks and submissions.
type Controller struct {
	store    Store
	rules    RuleSource
	policy   Policy
	slack    Slack
	dispatch pipeline.Dispatcher
	planner  pipeline.Planner
	alerts   Alerts
	log      *slog.Logger
	now      func() time.Time
}

// Options tune a Controller.
type Options struct {
	Logger *slog.Logger
	Now    func() time.Time
	// Planner describes what a fix will change (for the remediation
	// record); optional.
	Planner pipeline.Planner
}

// New wires a Controller.
func New(st Store, rules RuleSource, policy Policy, sl Slack, d pipeline.Dispatcher, alerts Alerts, opts *Options) *Controller {
	o := Options{}
	if opts != nil {
		o = *opts
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return &Controller{store: st, rules: rules, policy: policy, slack: sl, dispatch: d, planner: o.Planner, alerts: alerts, log: o.Logger, now: o.Now}
}

var _ slackinteract.Controller = (*Controller)(nil)

// Messages shown to the clicker only.
const (
	MsgOutOfDate = "This alert is out of date: the finding was resolved or opened again since. The latest message shows what fails now."
	MsgNoFix     = "This rule has no automatic fix; the alert says how to fix it by hand."
)

// finding is a click's finding, re-read.
type finding struct {
	loaded  store.Loaded
	finding store.Finding
	rule    RuleInfo
}

// find re-reads the finding a button was rendered for. open requires it to
// be failing still.
func (c *Controller) find(ctx context.Context, ref alert.FixRef, open bool) (finding, string, error) {
	key := store.Key{Cloud: change.Cloud(ref.Cloud), Account: ref.Account, ResourceID: ref.ResourceID}
	l, err := c.store.LoadAll(ctx, key)
	if errors.Is(err, store.ErrNotFound) {
		return finding{}, MsgOutOfDate, nil
	}
	if err != nil {
		return finding{}, "", fmt.Errorf("load %s: %w", key, err)
	}
	for _, f := range l.Findings {
		if f.RuleID != ref.RuleID || f.FirstSeen.UnixNano() != ref.FirstSeen {
			continue
		}
		if open && f.Status != store.FindingOpen {
			return finding{}, MsgOutOfDate, nil
		}
		ri, ok := c.rules.RuleInfo(f.RuleID)
		if !ok {
			return finding{}, MsgOutOfDate, nil
		}
		return finding{loaded: l, finding: f, rule: ri}, "", nil
	}
	return finding{}, MsgOutOfDate, nil
}

func (c *Controller) decide(f finding) governance.Decision {
	st := f.loaded.State
	return c.policy.Decide(governance.Input{RuleID: f.finding.RuleID, Action: f.rule.Action, Severity: f.finding.Severity,
		Account: st.Key.Account, Tags: st.Tags, Now: c.now()})
}

// clicker looks the user up for self-approval checks; a failed lookup
// leaves only the Slack id, which governance still matches by identities.
func (c *Controller) clicker(ctx context.Context, u slackinteract.User) governance.Clicker {
	cl := governance.Clicker{SlackUser: u.ID, Name: u.Name}
	if name, email, err := c.slack.Profile(ctx, u.ID); err == nil {
		if name != "" {
			cl.Name = name
		}
		cl.Email = email
	} else {
		c.log.Warn("slack profile lookup failed", "user", u.ID, "error", err)
	}
	return cl
}

// deny records a refusal and words it for the clicker.
func (c *Controller) deny(ctx context.Context, key store.Key, ruleID, remID string, cl governance.Clicker, what string, err error) (slackinteract.Reply, error) {
	var d *governance.Denial
	if !errors.As(err, &d) {
		return slackinteract.Reply{}, err
	}
	c.audit(ctx, store.AuditEntry{Key: key, Kind: "denial", Who: who(cl), RuleID: ruleID, RemediationID: remID,
		What: what + " refused: " + d.Reason})
	return slackinteract.Reply{Ephemeral: d.Reason}, nil
}

func who(cl governance.Clicker) string {
	if cl.Name != "" {
		return cl.Name + " (" + cl.SlackUser + ")"
	}
	return cl.SlackUser
}

func (c *Controller) audit(ctx context.Context, e store.AuditEntry) {
	e.At = c.now()
	if e.Seq == "" {
		e.Seq = e.Kind + "-" + strconv.FormatInt(e.At.UnixNano(), 36)
	}
	if err := c.store.AppendAudit(ctx, e); err != nil {
		c.log.Error("audit append failed", "kind", e.Kind, "error", err)
	}
}

func (c *Controller) refresh(ctx context.Context, key store.Key, note string) {
	if err := c.alerts.Refresh(ctx, key, note); err != nil {
		// The record stands; the next rendering will show it.
		c.log.Error("alert refresh failed", "resource_id", key.ResourceID, "error", err)
	}
}

// maxRaces bounds re-reads when concurrent clicks race on a remediation.
const maxRaces = 5

// Remediate records the clicker's approval and dispatches the fix once it
// has the approvals governance asks for.
func (c *Controller) Remediate(ctx context.Context, click slackinteract.Click) (slackinteract.Reply, error) {
	f, msg, err := c.find(ctx, click.Ref, true)
	if err != nil || msg != "" {
		return slackinteract.Reply{Ephemeral: msg}, err
	}
	if f.rule.Action == "" {
		return slackinteract.Reply{Ephemeral: MsgNoFix}, nil
	}
	dec := c.decide(f)
	if !dec.Fixable() {
		return slackinteract.Reply{Ephemeral: "Not offered for this resource: " + dec.Reason}, nil
	}
	key := f.loaded.State.Key
	cl := c.clicker(ctx, click.User)
	rem, err := c.proposal(ctx, f, dec)
	if err != nil {
		return slackinteract.Reply{}, err
	}
	for range maxRaces {
		switch {
		case rem.State == store.RemediationApproved && approvedBy(rem, cl.SlackUser):
			// The approver clicks again after a failed dispatch: send it
			// again (execution is gated on Approved -> Running).
			return c.dispatchApply(ctx, rem, cl, "dispatched again")
		case rem.State != store.RemediationProposed:
			return slackinteract.Reply{Ephemeral: stateMessage(rem)}, nil
		case c.now().After(rem.ExpiresAt):
			rem.State, rem.UpdatedAt, rem.Result = store.RemediationExpired, c.now(), "approvals came after the approval window closed"
			if _, err := c.store.UpdateRemediation(ctx, rem); err == nil {
				c.refresh(ctx, key, "⌛ Remediation approval window expired")
			}
			return slackinteract.Reply{Ephemeral: "The approval window of this fix has closed; it was not run."}, nil
		}
		if err := c.policy.Authorize(ctx, dec, cl, rem.CausedBy, c.slack, rem.Approvals); err != nil {
			return c.deny(ctx, key, rem.RuleID, rem.ID, cl, "approval of "+rem.Action, err)
		}
		next := rem
		next.Approvals = append(append([]store.Approval(nil), rem.Approvals...), store.Approval{SlackUser: cl.SlackUser, Name: cl.Name, At: c.now()})
		next.UpdatedAt = c.now()
		if len(next.Approvals) >= max(next.RequiredApprovals, 1) {
			next.State = store.RemediationApproved
		}
		saved, err := c.store.UpdateRemediation(ctx, next)
		if errors.Is(err, store.ErrConflict) {
			// Another click landed first: decide again on what it wrote.
			if rem, err = c.store.GetRemediation(ctx, key, rem.ID); err != nil {
				return slackinteract.Reply{}, fmt.Errorf("re-read remediation: %w", err)
			}
			continue
		}
		if err != nil {
			return slackinteract.Reply{}, fmt.Errorf("record approval: %w", err)
		}
		c.audit(ctx, store.AuditEntry{Key: key, Kind: "approval", Who: who(cl), RuleID: saved.RuleID, RemediationID: saved.ID,
			What: fmt.Sprintf("approved %s (%d of %d)", saved.Action, len(saved.Approvals), max(saved.RequiredApprovals, 1))})
		if saved.State == store.RemediationApproved {
			return c.dispatchApply(ctx, saved, cl, "approved")
		}
		c.refresh(ctx, key, fmt.Sprintf("👍 %s approved the fix (%d of %d approvals)", cl.Name, len(saved.Approvals), saved.RequiredApprovals))
		return slackinteract.Reply{Ephemeral: fmt.Sprintf("Approval recorded (%d of %d). The fix runs once another approver agrees.", len(saved.Approvals), saved.RequiredApprovals)}, nil
	}
	return slackinteract.Reply{}, errors.New("too many concurrent approvals")
}

// proposal returns the finding episode's remediation, creating it.
func (c *Controller) proposal(ctx context.Context, f finding, dec governance.Decision) (store.Remediation, error) {
	st := f.loaded.State
	id := remediation.NewID(st.Key, f.finding.RuleID, f.finding.FirstSeen)
	for _, r := range f.loaded.Remediations {
		if r.ID == id {
			return r, nil
		}
	}
	change := f.finding.FixPlan
	if change == "" && c.planner != nil {
		ref := change0(st)
		ch, err := c.planner.PlanFix(ctx, f.rule.Action, ref, st.Document)
		if err != nil {
			c.log.Warn("plan fix", "rule_id", f.finding.RuleID, "error", err)
		}
		change = ch
	}
	now := c.now()
	r, err := c.store.CreateRemediation(ctx, store.Remediation{
		ID: id, Key: st.Key, ResourceType: st.Type, Region: st.Region, RuleID: f.finding.RuleID, Action: f.rule.Action,
		Change: change, State: store.RemediationProposed, FindingFirstSeen: f.finding.FirstSeen, CausedBy: f.finding.OpenedBy.Actor,
		RequiredApprovals: max(dec.RequiredApprovals, 1), ProposedAt: now, ExpiresAt: now.Add(dec.ApprovalExpiry), UpdatedAt: now,
		Alert: st.Alert.Ref,
	})
	if errors.Is(err, store.ErrConflict) {
		return c.store.GetRemediation(ctx, st.Key, id)
	}
	if err != nil {
		return store.Remediation{}, fmt.Errorf("record proposal: %w", err)
	}
	return r, nil
}

func change0(st store.ResourceState) change.ResourceRef {
	return change.ResourceRef{Cloud: st.Key.Cloud, Type: st.Type, ID: st.Key.ResourceID, Name: st.Name, Account: st.Key.Account, Region: st.Region}
}

func (c *Controller) dispatchApply(ctx context.Context, r store.Remediation, cl governance.Clicker, what string) (slackinteract.Reply, error) {
	err := c.dispatch.Dispatch(ctx, remediation.Request{Op: remediation.OpApply, Key: r.Key, ResourceType: r.ResourceType,
		Region: r.Region, RemediationID: r.ID, By: cl.Name, At: c.now()})
	if err != nil {
		c.log.Error("dispatch failed", "remediation_id", r.ID, "error", err)
		return slackinteract.Reply{Ephemeral: "Your approval is recorded, but the fix could not be sent to the cloud. Click Remediate again to retry."}, nil
	}
	c.audit(ctx, store.AuditEntry{Key: r.Key, Kind: "remediation_dispatched", Who: who(cl), RuleID: r.RuleID, RemediationID: r.ID,
		What: r.Action + " " + what + " and sent to the cloud"})
	c.refresh(ctx, r.Key, fmt.Sprintf("✅ Fix approved by %s: running %s", remediation.ApproverNames(r), r.Action))
	return slackinteract.Reply{}, nil
}

func approvedBy(r store.Remediation, slackUser string) bool {
	for _, a := range r.Approvals {
		if a.SlackUser == slackUser {
			return true
		}
	}
	return false
}

func stateMessage(r store.Remediation) string {
	switch r.State {
	case store.RemediationApproved, store.RemediationRunning:
		return "This fix is already approved and running."
	case store.RemediationSucceeded:
		return "This fix already ran: " + r.Result
	case store.RemediationFailed:
		return "This fix already ran and failed: " + r.Result
	case store.RemediationRollingBack, store.RemediationRolledBack:
		return "This fix was undone."
	case store.RemediationExpired:
		return "The approval window of this fix has closed."
	}
	return "This fix cannot be approved any more (" + string(r.State) + ")."
}

// Undo asks the resource's cloud to restore a succeeded fix's snapshot.
func (c *Controller) Undo(ctx context.Context, click slackinteract.Click) (slackinteract.Reply, error) {
	f, msg, err := c.find(ctx, click.Ref, false)
	if err != nil || msg != "" {
		return slackinteract.Reply{Ephemeral: msg}, err
	}
	key := f.loaded.State.Key
	id := remediation.NewID(key, f.finding.RuleID, f.finding.FirstSeen)
	rem, err := c.store.GetRemediation(ctx, key, id)
	if errors.Is(err, store.ErrNotFound) {
		return slackinteract.Reply{Ephemeral: "There is no fix to undo."}, nil
	}
	if err != nil {
		return slackinteract.Reply{}, fmt.Errorf("read remediation: %w", err)
	}
	if rem.State != store.RemediationSucceeded || len(rem.Snapshot) == 0 {
		return slackinteract.Reply{Ephemeral: "Only a fix that changed something can be undone (" + string(rem.State) + ")."}, nil
	}
	cl := c.clicker(ctx, click.User)
	dec := c.decide(f)
	// Undo reverses a change someone approved: the same people may ask for
	// it, and the drift's author may not.
	if err := c.policy.Authorize(ctx, dec, cl, rem.CausedBy, c.slack, nil); err != nil {
		return c.deny(ctx, key, rem.RuleID, rem.ID, cl, "undo of "+rem.Action, err)
	}
	rem.State, rem.UpdatedAt = store.RemediationRollingBack, c.now()
	saved, err := c.store.UpdateRemediation(ctx, rem)
	if errors.Is(err, store.ErrConflict) {
		return slackinteract.Reply{Ephemeral: "Someone else changed this fix at the same moment; the message shows where it stands."}, nil
	}
	if err != nil {
		return slackinteract.Reply{}, fmt.Errorf("record undo: %w", err)
	}
	c.audit(ctx, store.AuditEntry{Key: key, Kind: "undo_requested", Who: who(cl), RuleID: saved.RuleID, RemediationID: saved.ID,
		What: "undo of " + saved.Action + " requested"})
	if err := c.dispatch.Dispatch(ctx, remediation.Request{Op: remediation.OpUndo, Key: key, ResourceType: saved.ResourceType,
		Region: saved.Region, RemediationID: saved.ID, By: cl.Name, At: c.now()}); err != nil {
		c.log.Error("dispatch failed", "remediation_id", saved.ID, "error", err)
		return slackinteract.Reply{Ephemeral: "The undo is recorded but could not be sent to the cloud; ask an operator to re-send it."}, nil
	}
	c.refresh(ctx, key, "↩️ "+cl.Name+" asked to undo "+saved.Action)
	return slackinteract.Reply{}, nil
}

// OpenAcceptRisk opens the accept-risk modal for an approver.
func (c *Controller) OpenAcceptRisk(ctx context.Context, click slackinteract.Click) (slackinteract.Reply, error) {
	f, msg, err := c.find(ctx, click.Ref, true)
	if err != nil || msg != "" {
		return slackinteract.Reply{Ephemeral: msg}, err
	}
	cl := c.clicker(ctx, click.User)
	if err := c.policy.Authorize(ctx, c.decide(f), cl, f.finding.OpenedBy.Actor, c.slack, nil); err != nil {
		return c.deny(ctx, f.loaded.State.Key, f.finding.RuleID, "", cl, "accepting the risk", err)
	}
	days := int(c.policy.AcceptRiskMax() / (24 * time.Hour))
	view := slackalert.AcceptRiskModal(click.Ref, f.rule.Title, days, click.Channel, click.MessageTS)
	if err := c.slack.OpenView(ctx, click.TriggerID, view); err != nil {
		return slackinteract.Reply{}, fmt.Errorf("open accept-risk modal: %w", err)
	}
	return slackinteract.Reply{}, nil
}

// SubmitAcceptRisk records an accepted risk and has the resource
// re-evaluated so the alert shows it at once.
func (c *Controller) SubmitAcceptRisk(ctx context.Context, s slackinteract.Submission) (map[string]string, error) {
	f, msg, err := c.find(ctx, s.AcceptRisk.Ref, true)
	if err != nil {
		return nil, err
	}
	if msg != "" {
		return map[string]string{slackalert.AcceptRiskReasonBlockID: msg}, nil
	}
	key := f.loaded.State.Key
	cl := c.clicker(ctx, s.User)
	if err := c.policy.Authorize(ctx, c.decide(f), cl, f.finding.OpenedBy.Actor, c.slack, nil); err != nil {
		var d *governance.Denial
		if errors.As(err, &d) {
			c.audit(ctx, store.AuditEntry{Key: key, Kind: "denial", Who: who(cl), RuleID: f.finding.RuleID, What: "accepting the risk refused: " + d.Reason})
			return map[string]string{slackalert.AcceptRiskReasonBlockID: d.Reason}, nil
		}
		return nil, err
	}
	now := c.now()
	until := now.Add(time.Duration(s.AcceptRisk.Days) * 24 * time.Hour)
	if err := c.policy.CheckAcceptRisk(now, until); err != nil {
		return map[string]string{slackalert.AcceptRiskExpiryBlockID: err.Error()}, nil
	}
	exc := store.Exception{Key: key, RuleID: f.finding.RuleID, Reason: s.AcceptRisk.Reason, ApprovedBy: cl.SlackUser,
		ApprovedByName: cl.Name, CreatedAt: now, ExpiresAt: until}
	if err := c.store.PutException(ctx, exc); err != nil {
		return nil, fmt.Errorf("record accepted risk: %w", err)
	}
	c.audit(ctx, store.AuditEntry{Key: key, Kind: "exception_created", Who: who(cl), RuleID: f.finding.RuleID,
		What: fmt.Sprintf("risk accepted until %s: %s", until.UTC().Format(time.RFC3339), s.AcceptRisk.Reason)})
	st := f.loaded.State
	if err := c.dispatch.Dispatch(ctx, remediation.Request{Op: remediation.OpReevaluate, Key: key, ResourceType: st.Type,
		Region: st.Region, By: cl.Name, At: now}); err != nil {
		// The exception holds; the next event or sweep applies it.
		c.log.Error("re-evaluation dispatch failed", "resource_id", key.ResourceID, "error", err)
	}
	return nil, nil
}
