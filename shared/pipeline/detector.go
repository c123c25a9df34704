// Package pipeline is the cloud-neutral drift path: for one normalized change
// it claims the event, re-reads each referenced resource, evaluates the rules,
// writes the new posture (newest observation wins) and renders the alert of
// every resource whose failing set changed, exactly once.
package pipeline

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/driftwatch/driftwatch/shared/alert"
	"github.com/driftwatch/driftwatch/shared/change"
	"github.com/driftwatch/driftwatch/shared/posture"
	"github.com/driftwatch/driftwatch/shared/remediation"
	"github.com/driftwatch/driftwatch/shared/resource"
	"github.com/driftwatch/driftwatch/shared/rules"
	"github.com/driftwatch/driftwatch/shared/store"
)

// Fetcher reads the live configuration of one resource.
type Fetcher interface {
	Fetch(ctx context.Context, ref change.ResourceRef) (resource.Resource, error)
}

// RuleBook evaluates the rules of a resource's type and describes them.
type RuleBook interface {
	Evaluate(res resource.Resource, ec rules.EvalContext) []posture.Evaluation
	Rule(id string) (*rules.Rule, bool)
	// SettingValuesAt renders a rule's settings (what the alert shows
	// before -> after) on a stored document.
	SettingValuesAt(ruleID string, doc []byte, ec rules.EvalContext, tags map[string]string) ([]rules.Setting, error)
}

// Store is what the pipeline keeps: posture, and the governance records
// (remediations, accepted risks, audit) kept in each resource's partition.
type Store interface {
	store.Store
	store.Governance
}

// Governor decides what an alert offers for a failing rule: the governance
// policy.
type Governor interface {
	Decide(in FixInput) FixDecision
}

// FixInput is what the governance policy decides on.
type FixInput struct {
	RuleID string
	// Action is the rule's automatic fix ("" when it has none).
	Action   string
	Severity posture.Severity
	Account  string
	Tags     map[string]string
	Now      time.Time
}

// FixDecision is the governance policy's answer for one failing rule.
type FixDecision struct {
	// Mode is alert (no button), approve (buttons) or auto.
	Mode              string
	RequiredApprovals int
	ApprovalExpiry    time.Duration
	// AutoLimit and AutoWindow bound automatic fixes per account (mode
	// auto); when the limit is reached the fix falls back to approve.
	AutoLimit  int
	AutoWindow time.Duration
	// Reason says why, in plain words.
	Reason string
}

// Fix modes.
const (
	ModeAlert   = "alert"
	ModeApprove = "approve"
	ModeAuto    = "auto"
)

// Planner says exactly what an automatic fix would change on a stored
// document, without changing anything.
type Planner interface {
	PlanFix(ctx context.Context, action string, ref change.ResourceRef, doc []byte) (string, error)
}

// Dispatcher sends a remediation request to the resource's cloud.
type Dispatcher interface {
	Dispatch(ctx context.Context, req remediation.Request) error
}

// Notifier posts and updates alert messages.
type Notifier interface {
	Post(ctx context.Context, a alert.Alert) (store.AlertRef, error)
	Update(ctx context.Context, ref store.AlertRef, a alert.Alert) error
}

// Account describes a cloud account for people and for rule scope.
type Account struct {
	// Name is the business name shown in alerts ("payments-prod").
	Name string `json:"name"`
	// Environment (prod, staging, dev, ...) is available to rules' `when`.
	Environment string `json:"environment,omitempty"`
	// Labels are further attributes available to rules' `when`.
	Labels map[string]string `json:"labels,omitempty"`
}

// Options tune a Detector. The zero value is usable.
type Options struct {
	Logger *slog.Logger
	// Now is the clock (tests pin it).
	Now func() time.Time
	// Accounts maps account ids to their descriptions.
	Accounts map[string]Account
	// ConsoleURL links a resource to its cloud console.
	ConsoleURL func(change.ResourceRef) string
	// EventLease bounds how long a crashed worker blocks a retry of the same
	// event (default 2m: above the function timeout).
	EventLease time.Duration
	// EventKeep is how long a processed event id is remembered (default 7 days,
	// above every platform's redelivery window).
	EventKeep time.Duration
	// AlertLease bounds how long a crashed worker blocks re-rendering an
	// alert (default 30s).
	AlertLease time.Duration
	// Governor, Planner and Dispatcher turn on chat remediation: alerts
	// offer fixes as the policy decides, and mode auto dispatches them.
	// Without a Governor alerts offer nothing (mode alert).
	Governor   Governor
	Planner    Planner
	Dispatcher Dispatcher
	// RefreshEvery bounds how stale the stored last-seen time of an unchanged
	// resource may become; unchanged observations within it write nothing
	// (default 6h).
	RefreshEvery time.Duration
}

// Detector runs the drift path.
type Detector struct {
	fetch  Fetcher
	rules  RuleBook
	store  Store
	opts   Options
	log    *slog.Logger
	alerts *Alerts
}

// Alerts renders resources' alerts from the store, exactly once and in
// place. The detector uses it after every observation; the interactivity
// and remediation functions use it when a fix's status changes.
type Alerts struct {
	rules  RuleBook
	store  Store
	notify Notifier
	opts   Options
	log    *slog.Logger
}

// NewAlerts wires the alert renderer on its own (for functions that render
// without observing).
func NewAlerts(rb RuleBook, st Store, n Notifier, opts *Options) *Alerts {
	o := withDefaults(opts)
	return &Alerts{rules: rb, store: st, notify: n, opts: o, log: o.Logger}
}

// Alerts returns the detector's alert renderer.
func (d *Detector) Alerts() *Alerts { return d.alerts }

// New wires a Detector.
func New(f Fetcher, rb RuleBook, st Store, n Notifier, opts *Options) *Detector {
	o := withDefaults(opts)
	return &Detector{fetch: f, rules: rb, store: st, opts: o, log: o.Logger, alerts: NewAlerts(rb, st, n, &o)}
}

func withDefaults(opts *Options) Options {
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
	if o.ConsoleURL == nil {
		o.ConsoleURL = func(change.ResourceRef) string { return "" }
	}
	if o.EventLease <= 0 {
		o.EventLease = 2 * time.Minute
	}
	if o.EventKeep <= 0 {
		o.EventKeep = 7 * 24 * time.Hour
	}
	if o.AlertLease <= 0 {
		o.AlertLease = 30 * time.Second
	}
	if o.RefreshEvery <= 0 {
		o.RefreshEvery = 6 * time.Hour
	}
	return o
}

// Outcome reports what processing one change did, per resource.
type Outcome struct {
	EventID   string
	Duplicate bool
	Resources []ResourceOutcome
}

// ResourceOutcome is the result for one referenced resource.
type ResourceOutcome struct {
	Key      store.Key
	Exists   bool
	Failing  []string
	Drift    posture.Drift
	Written  bool // the posture store was written
	Stale    bool // a newer observation was already stored
	Notified bool // an alert was posted or updated
}

// Process handles one change. It returns an error only when a retry of the
// whole event could help (the event claim is then released); the caller's
// platform retry or dead-letter queue keeps the event.
func (d *Detector) Process(ctx context.Context, c change.Change) (Outcome, error) {
	log := d.log.With("event_id", c.EventID, "cloud", string(c.Cloud), "operation", c.Operation)
	out := Outcome{EventID: c.EventID}
	if err := d.store.ClaimEvent(ctx, c.EventID, d.opts.Now(), d.opts.EventLease); err != nil {
		if errors.Is(err, store.ErrClaimed) {
			log.Info("event dropped", "reason", string(change.ReasonDuplicate))
			out.Duplicate = true
			return out, nil
		}
		return out, fmt.Errorf("claim event %s: %w", c.EventID, err)
	}

	results := make([]ResourceOutcome, len(c.Resources))
	errs := make([]error, len(c.Resources))
	var wg sync.WaitGroup
	for i, ref := range c.Resources {
		wg.Go(func() { results[i], errs[i] = d.observe(ctx, c, ref, log) })
	}
	wg.Wait()
	out.Resources = results

	if err := errors.Join(errs...); err != nil {
		if rerr := d.store.ReleaseEvent(context.WithoutCancel(ctx), c.EventID); rerr != nil {
			log.Error("release event claim", "error", rerr)
		}
		return out, err
	}
	if err := d.store.CompleteEvent(ctx, c.EventID, d.opts.Now(), d.opts.EventKeep); err != nil {
		// The posture is stored; a redelivery would only re-read and find
		// nothing to do. Not worth a retry.
		log.Warn("complete event claim", "error", err)
	}
	return out, nil
}

// maxConflicts bounds re-reads when concurrent writers race on a resource.
const maxConflicts = 5

// observe runs fetch -> evaluate -> diff -> write -> alert for one resource.
func (d *Detector) observe(ctx context.Context, c change.Change, ref change.ResourceRef, log *slog.Logger) (ResourceOutcome, error) {
	log = log.With("resource_id", ref.ID, "resource_type", ref.Type)
	res, err := d.fetch.Fetch(ctx, ref)
	if err != nil {
		return ResourceOutcome{}, fmt.Errorf("fetch %s %s: %w", ref.Type, ref.ID, err)
	}
	evals := d.rules.Evaluate(res, d.evalContext(res.Ref.Account))
	key := store.KeyOf(res.Ref)
	ro := ResourceOutcome{Key: key, Exists: res.Exists}
	for _, e := range evals {
		if e.Status == posture.Error {
			log.Error("rule evaluation failed", "rule_id", e.RuleID, "detail", e.Detail)
		}
	}

	for attempt := 0; ; attempt++ {
		// One round trip: the stored state, findings, remediations and
		// accepted risks of the resource.
		l, err := d.store.LoadAll(ctx, key)
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			return ro, fmt.Errorf("read posture of %s: %w", key, err)
		}
		evals := suppressAccepted(evals, l.Exceptions, d.opts.Now())
		p, err := d.plan(ctx, l.State, l.Findings, res, evals, c)
		if err != nil {
			return ro, err
		}
		ro.Failing, ro.Drift = p.failing, p.drift
		if p.obs == nil {
			if l.State.Alert.Pending() {
				// An earlier alert delivery failed: finish it.
				ro.Notified, err = d.alerts.deliverPending(ctx, l, log)
			}
			return ro, err
		}
		saved, err := d.store.SaveObservation(ctx, *p.obs)
		switch {
		case errors.Is(err, store.ErrStale):
			log.Info("observation superseded by a newer one")
			ro.Stale = true
			return ro, nil
		case errors.Is(err, store.ErrConflict) && attempt < maxConflicts:
			continue
		case err != nil:
			return ro, fmt.Errorf("write posture of %s: %w", key, err)
		}
		ro.Written = true
		if p.drift.Changed() {
			log.Info("posture drifted", "opened", p.drift.Opened, "resolved", p.drift.Resolved, "failing", p.failing)
		}
		l.State, l.Findings = saved, p.findings
		// After an undo, the drift is back on purpose: never fix it again
		// automatically.
		if len(p.drift.Opened) > 0 && d.opts.Governor != nil && c.Operation != remediation.UndoOperation {
			l.Remediations = d.alerts.autoRemediate(ctx, l, p.drift.Opened, log)
		}
		if saved.Alert.Pending() {
			ro.Notified, err = d.alerts.deliverPending(ctx, l, log)
		}
		return ro, err
	}
}

// Reevaluate runs the drift path for a change driftwatch itself made (a
// fix, an undo, an accepted risk), so the posture and the alert follow. It
// reports whether an alert was posted or updated.
func (d *Detector) Reevaluate(ctx context.Context, c change.Change) (bool, error) {
	out, err := d.Process(ctx, c)
	notified := false
	for _, r := range out.Resources {
		notified = notified || r.Notified
	}
	return notified, err
}

// Refresh re-renders a resource's alert (see Alerts.Refresh).
func (d *Detector) Refresh(ctx context.Context, key store.Key, note string) error {
	return d.alerts.Refresh(ctx, key, note)
}

// suppressAccepted turns failing evaluations covered by an active accepted
// risk into suppressed ones.
func suppressAccepted(evals []posture.Evaluation, exceptions []store.Exception, now time.Time) []posture.Evaluation {
	if len(exceptions) == 0 {
		return evals
	}
	out := slices.Clone(evals)
	for i, e := range out {
		if e.Status != posture.Fail {
			continue
		}
		for _, x := range exceptions {
			if x.RuleID == e.RuleID && x.Active(now) {
				out[i].Status = posture.Suppressed
				out[i].Detail = "risk accepted by " + x.ApprovedByName + " until " + x.ExpiresAt.UTC().Format(time.RFC3339)
			}
		}
	}
	return out
}

func (d *Detector) evalContext(account string) rules.EvalContext {
	return d.alerts.evalContextAt(account, d.opts.Now())
}

func (d *Alerts) evalContextAt(account string, now time.Time) rules.EvalContext {
	a := d.opts.Accounts[account]
	m := make(map[string]string, 3+len(a.Labels))
	for k, v := range a.Labels {
		m[k] = v
	}
	m["id"] = account
	m["name"] = a.Name
	m["environment"] = a.Environment
	return rules.EvalContext{Now: now, Account: m}
}

// ByCloud routes each remediation request to the bus of its resource's
// cloud. The interactivity function uses it: one Slack app approves fixes
// in every cloud, and each cloud's remediator holds that cloud's
// permissions.
type ByCloud map[change.Cloud]Dispatcher

// Dispatch implements Dispatcher.
func (b ByCloud) Dispatch(ctx context.Context, req remediation.Request) error {
	d, ok := b[req.Key.Cloud]
	if !ok || d == nil {
		return fmt.Errorf("no remediation bus configured for %s resources", req.Key.Cloud)
	}
	return d.Dispatch(ctx, req)
}
