package remediation

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/driftwatch/driftwatch/shared/change"
	"github.com/driftwatch/driftwatch/shared/resource"
	"github.com/driftwatch/driftwatch/shared/store"
)

// Op is what a dispatched request asks the cloud's function to do.
type Op string

// The dispatched operations.
const (
	OpApply Op = "apply" // run an approved remediation
	OpUndo  Op = "undo"  // restore the snapshot of a succeeded one
	// OpReevaluate re-reads and re-evaluates a resource without changing
	// it (after an accepted risk, so the alert shows it at once).
	OpReevaluate Op = "reevaluate"
)

// AutoApprover is the approval recorded for automatic fixes (mode auto).
const AutoApprover = "auto"

// UndoOperation is the operation of the re-evaluation after an undo; the
// alert of a drift an undo brings back is reopened in place.
const UndoOperation = "driftwatch:Undo"

// Request is the event the interactivity function (or the detector, in
// auto mode) dispatches to the resource's cloud.
type Request struct {
	Op            Op        `json:"op"`
	Key           store.Key `json:"key"`
	ResourceType  string    `json:"resource_type"`
	Region        string    `json:"region,omitempty"`
	RemediationID string    `json:"remediation_id,omitempty"`
	// By says who asked, for the audit log and the re-evaluation's actor.
	By string `json:"by"`
	// At is when it was asked.
	At time.Time `json:"at"`
}

// Validate checks a request read from an event bus.
func (r Request) Validate() error {
	switch {
	case r.Op != OpApply && r.Op != OpUndo && r.Op != OpReevaluate:
		return fmt.Errorf("remediation request: unknown op %q", r.Op)
	case r.Key.Cloud == "" || r.Key.Account == "" || r.Key.ResourceID == "":
		return errors.New("remediation request: incomplete resource key")
	case r.ResourceType == "":
		return errors.New("remediation request: no resource type")
	case r.Op != OpReevaluate && r.RemediationID == "":
		return fmt.Errorf("remediation request: %s without a remediation id", r.Op)
	}
	return nil
}

// Governance is the store part the executor uses.
type Governance interface {
	GetRemediation(ctx context.Context, key store.Key, id string) (store.Remediation, error)
	UpdateRemediation(ctx context.Context, r store.Remediation) (store.Remediation, error)
	AppendAudit(ctx context.Context, e store.AuditEntry) error
}

// Fetcher reads the live resource.
type Fetcher interface {
	Fetch(ctx context.Context, ref change.ResourceRef) (resource.Resource, error)
}

// Reevaluator runs the drift path for a synthetic change, which updates the
// posture and re-renders the alert (resolved after a fix, failing again
// after an undo), and re-renders an alert whose posture did not change.
type Reevaluator interface {
	// Reevaluate reports whether it posted or updated the alert.
	Reevaluate(ctx context.Context, c change.Change) (bool, error)
	Refresh(ctx context.Context, key store.Key, note string) error
}

// Executor runs dispatched requests inside the resource's cloud with that
// cloud's identity.
type Executor struct {
	store   Governance
	fetch   Fetcher
	actions Catalog
	reeval  Reevaluator
	log     *slog.Logger
	now     func() time.Time
	related func(change.ResourceRef) []change.ResourceRef
}

// WithRelated makes every re-evaluation also cover the resources related
// returns for the one acted on (for AWS: a trail's account, whose
// "a multi-Region trail is logging" rule the trail decides). The fix's own
// audit event would bring them too, seconds later; this shows the result at
// once.
func (x *Executor) WithRelated(related func(change.ResourceRef) []change.ResourceRef) *Executor {
	x.related = related
	return x
}

// NewExecutor wires an Executor.
func NewExecutor(st Governance, f Fetcher, actions Catalog, re Reevaluator, log *slog.Logger, now func() time.Time) *Executor {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if now == nil {
		now = time.Now
	}
	return &Executor{store: st, fetch: f, actions: actions, reeval: re, log: log, now: now}
}

// ErrRetry marks a failure worth a platform retry (the store or the cloud
// was unavailable); everything else is final and recorded.
var ErrRetry = errors.New("retryable")

// Handle runs one request. It returns an error only when a retry can help;
// outcomes (including a failed fix) are recorded on the remediation and the
// alert.
func (x *Executor) Handle(ctx context.Context, req Request) error {
	if err := req.Validate(); err != nil {
		x.log.Error("remediation request dropped", "reason", "malformed", "error", err)
		return nil
	}
	log := x.log.With("remediation_id", req.RemediationID, "resource_id", req.Key.ResourceID, "op", string(req.Op))
	switch req.Op {
	case OpReevaluate:
		return x.reevaluate(ctx, req, "driftwatch:Reevaluate", req.By, "")
	case OpApply:
		return x.apply(ctx, req, log)
	default:
		return x.undo(ctx, req, log)
	}
}

func (x *Executor) ref(r store.Remediation) change.ResourceRef {
	return change.ResourceRef{Cloud: r.Key.Cloud, Type: r.ResourceType, ID: r.Key.ResourceID, Account: r.Key.Account, Region: r.Region}
}

// move writes a state transition, refusing transitions the machine lacks.
func (x *Executor) move(ctx context.Context, r store.Remediation, to store.RemediationState, result string) (store.Remediation, error) {
	if !CanMove(r.State, to) {
		return r, fmt.Errorf("%w: %s -> %s", ErrTransition, r.State, to)
	}
	r.State, r.UpdatedAt = to, x.now()
	if result != "" {
		r.Result = result
	}
	return x.store.UpdateRemediation(ctx, r)
}

func (x *Executor) audit(ctx context.Context, r store.Remediation, kind, who, what string) {
	e := store.AuditEntry{Key: r.Key, At: x.now(), Seq: fmt.Sprintf("%s-%d", r.ID, r.Version), Kind: kind, Who: who,
		RuleID: r.RuleID, RemediationID: r.ID, What: what}
	if err := x.store.AppendAudit(ctx, e); err != nil {
		x.log.Error("audit append failed", "kind", kind, "remediation_id", r.ID, "error", err)
	}
}

// fixActor names who made a fix, for the alert's "changed by".
func fixActor(r store.Remediation) string {
	if len(r.Approvals) == 1 && r.Approvals[0].SlackUser == AutoApprover {
		return "driftwatch (automatic fix)"
	}
	return "driftwatch (approved by " + ApproverNames(r) + ")"
}

// ApproverNames lists who approved r, by name where known.
func ApproverNames(r store.Remediation) string {
	s := ""
	for i, a := range r.Approvals {
		if i > 0 {
			s += ", "
		}
		if a.Name != "" {
			s += a.Name
		} else {
			s += a.SlackUser
		}
	}
	return s
}

func (x *Executor) apply(ctx context.Context, req Request, log *slog.Logger) error {
	r, err := x.store.GetRemediation(ctx, req.Key, req.RemediationID)
	if err != nil {
		if errors.Is(err, store.ErrNotFound) {
			log.Error("remediation request dropped", "reason", "unknown remediation")
			return nil
		}
		return fmt.Errorf("%w: read remediation: %v", ErrRetry, err)
	}
	if r.State != Approved {
		// A redelivery of a request already taken (or a stale one).
		log.Info("remediation request ignored", "state", string(r.State))
		return nil
	}
	if x.now().After(r.ExpiresAt) {
		if _, err := x.move(ctx, r, Expired, "approval expired before the fix could run"); err != nil && !errors.Is(err, store.ErrConflict) {
			return fmt.Errorf("%w: %v", ErrRetry, err)
		}
		return nil
	}
	// Taking Approved -> Running is the exactly-once gate: a concurrent or
	// retried execution loses here.
	r, err = x.move(ctx, r, Running, "")
	if errors.Is(err, store.ErrConflict) {
		log.Info("remediation already taken by another execution")
		return nil
	}
	if err != nil {
		return fmt.Errorf("%w: start remediation: %v", ErrRetry, err)
	}
	x.audit(ctx, r, "remediation_started", "driftwatch", fmt.Sprintf("%s started (approved by %s)", r.Action, ApproverNames(r)))

	outcome, snapshot, runErr := x.run(ctx, r)
	state := Succeeded
	if runErr != nil {
		state, outcome = Failed, runErr.Error()
	}
	r.Snapshot = snapshot
	if r, err = x.move(ctx, r, state, outcome); err != nil {
		// The fix ran but its outcome is not recorded: say so loudly; a
		// retry would find the remediation Running and do nothing.
		log.Error("remediation outcome not recorded", "state", string(state), "result", outcome, "error", err)
		return fmt.Errorf("%w: record remediation outcome: %v", ErrRetry, err)
	}
	kind := "remediation_succeeded"
	if state == Failed {
		kind = "remediation_failed"
		log.Warn("remediation failed", "result", outcome)
	}
	x.audit(ctx, r, kind, "driftwatch", outcome)
	note := "✅ Fixed: " + outcome
	if state == Failed {
		note = "❌ Remediation failed: " + outcome
	}
	return x.reevaluate(ctx, Request{Key: r.Key, ResourceType: r.ResourceType, Region: r.Region, By: ApproverNames(r)},
		"driftwatch:"+r.Action, fixActor(r), note)
}

// run re-reads the resource and applies the action. It returns what
// happened in plain words and the snapshot for Undo.
func (x *Executor) run(ctx context.Context, r store.Remediation) (string, []byte, error) {
	action, ok := x.actions[r.Action]
	if !ok {
		return "", nil, fmt.Errorf("no automatic fix %q is deployed in this cloud", r.Action)
	}
	res, err := x.fetch.Fetch(ctx, x.ref(r))
	if err != nil {
		return "", nil, fmt.Errorf("could not read the resource: %v", err)
	}
	if !res.Exists {
		return "resource no longer exists: nothing done", nil, nil
	}
	t := Target{Ref: res.Ref, Doc: res.Doc}
	plan, err := action.Plan(ctx, t)
	if err != nil {
		return "", nil, fmt.Errorf("could not plan the fix: %v", err)
	}
	if plan.Noop {
		return "already compliant: nothing done", nil, nil
	}
	snapshot, err := action.Apply(ctx, t)
	if err != nil {
		return "", nil, fmt.Errorf("%s failed, nothing was changed: %v", r.Action, err)
	}
	return plan.Change, snapshot, nil
}

func (x *Executor) undo(ctx context.Context, req Request, log *slog.Logger) error {
	r, err := x.store.GetRemediation(ctx, req.Key, req.RemediationID)
	if err != nil {
		if errors.Is(err, store.ErrNotFound) {
			log.Error("undo request dropped", "reason", "unknown remediation")
			return nil
		}
		return fmt.Errorf("%w: read remediation: %v", ErrRetry, err)
	}
	if r.State != RollingBack {
		log.Info("undo request ignored", "state", string(r.State))
		return nil
	}
	action, ok := x.actions[r.Action]
	var undoErr error
	switch {
	case !ok:
		undoErr = fmt.Errorf("no automatic fix %q is deployed in this cloud", r.Action)
	case len(r.Snapshot) == 0:
		undoErr = errors.New("nothing to restore: the fix changed nothing")
	default:
		res, err := x.fetch.Fetch(ctx, x.ref(r))
		if err != nil {
			return fmt.Errorf("%w: read resource for undo: %v", ErrRetry, err)
		}
		undoErr = action.Undo(ctx, Target{Ref: res.Ref, Doc: res.Doc}, r.Snapshot)
	}
	to, result, kind := RolledBack, "previous setting restored", "undo_succeeded"
	if undoErr != nil {
		to, result, kind = Succeeded, "undo failed, the fix stays in place: "+undoErr.Error(), "undo_failed"
	}
	if r, err = x.move(ctx, r, to, result); err != nil {
		if errors.Is(err, store.ErrConflict) {
			return nil
		}
		return fmt.Errorf("%w: record undo: %v", ErrRetry, err)
	}
	x.audit(ctx, r, kind, req.By, result)
	return x.reevaluate(ctx, Request{Key: r.Key, ResourceType: r.ResourceType, Region: r.Region}, UndoOperation,
		"driftwatch (undo by "+req.By+")", "↩️ Undo: "+result)
}

// reevaluate runs the drift path for a synthetic change so the posture and
// the alert reflect what driftwatch just did; when the posture did not
// change (a failed fix), the alert is re-rendered with note.
func (x *Executor) reevaluate(ctx context.Context, req Request, operation, actor, note string) error {
	now := x.now()
	ref := change.ResourceRef{Cloud: req.Key.Cloud, Type: req.ResourceType, ID: req.Key.ResourceID, Account: req.Key.Account, Region: req.Region}
	refs := []change.ResourceRef{ref}
	if x.related != nil {
		refs = append(refs, x.related(ref)...)
	}
	c := change.Change{
		EventID:   fmt.Sprintf("driftwatch:%s:%s:%d", operation, req.Key, now.UnixNano()),
		Cloud:     req.Key.Cloud,
		Account:   req.Key.Account,
		Region:    req.Region,
		Service:   "driftwatch",
		Operation: operation,
		Resources: refs,
		Actor:     change.Actor{Principal: "driftwatch", Type: "driftwatch", Name: actor, Via: "driftwatch"},
		Time:      now,
	}
	notified, err := x.reeval.Reevaluate(ctx, c)
	if err != nil {
		return fmt.Errorf("%w: re-evaluate after %s: %v", ErrRetry, operation, err)
	}
	if !notified && note != "" {
		if err := x.reeval.Refresh(ctx, req.Key, note); err != nil && !errors.Is(err, store.ErrNotFound) {
			return fmt.Errorf("%w: refresh alert after %s: %v", ErrRetry, operation, err)
		}
	}
	return nil
}
