package remediation_test

import (
	"context"
	"encoding/json"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/driftwatch/driftwatch/shared/change"
	"github.com/driftwatch/driftwatch/shared/remediation"
	"github.com/driftwatch/driftwatch/shared/resource"
	"github.com/driftwatch/driftwatch/shared/store"
	"github.com/driftwatch/driftwatch/shared/store/memstore"
)

// The executor is tested on the embedded store with a toggle standing in
// for a cloud setting: the AWS actions themselves are tested against the
// emulator by remediationtest, and the whole loop by awsinteract's
// end-to-end tests.

// toggle is a setting that is compliant when on.
type toggle struct {
	mu    sync.Mutex
	on    bool
	fail  error
	apply int
}

func (tg *toggle) Fetch(context.Context, change.ResourceRef) (resource.Resource, error) {
	tg.mu.Lock()
	defer tg.mu.Unlock()
	return resource.Resource{Exists: true, Doc: tg.on}, nil
}

// action turns the toggle on.
type action struct{ tg *toggle }

func (a action) Name() string          { return "toggle_on" }
func (a action) ResourceType() string  { return "Test::Toggle" }
func (a action) Permissions() []string { return []string{"test:SetToggle"} }
func (a action) Plan(_ context.Context, t remediation.Target) (remediation.Plan, error) {
	if t.Doc.(bool) {
		return remediation.Plan{Noop: true}, nil
	}
	return remediation.Plan{Change: "turn the toggle on"}, nil
}
func (a action) Apply(context.Context, remediation.Target) (json.RawMessage, error) {
	a.tg.mu.Lock()
	defer a.tg.mu.Unlock()
	if a.tg.fail != nil {
		return nil, a.tg.fail
	}
	prev := a.tg.on
	a.tg.on = true
	a.tg.apply++
	return json.Marshal(prev)
}
func (a action) Undo(_ context.Context, _ remediation.Target, snap json.RawMessage) error {
	var prev bool
	if err := json.Unmarshal(snap, &prev); err != nil {
		return err
	}
	a.tg.mu.Lock()
	defer a.tg.mu.Unlock()
	a.tg.on = prev
	return nil
}

// reevaluations records what the executor asked the drift path to do.
type reevaluations struct {
	mu        sync.Mutex
	changes   []change.Change
	refreshes []string
}

func (r *reevaluations) Reevaluate(_ context.Context, c change.Change) (bool, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.changes = append(r.changes, c)
	return false, nil
}

func (r *reevaluations) Refresh(_ context.Context, _ store.Key, note string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.refreshes = append(r.refreshes, note)
	return nil
}

var (
	t0  = time.Date(2026, 12, 4, 10, 0, 0, 0, time.UTC)
	key = store.Key{Cloud: "aws", Account: "123456789012", ResourceID: "toggle-1"}
)

type fixture struct {
	st     *memstore.Store
	tg     *toggle
	re     *reevaluations
	x      *remediation.Executor
	remID  string
	audits func() []string
}

func newFixture(t *testing.T, state store.RemediationState, expires time.Time) fixture {
	t.Helper()
	st := memstore.New()
	ctx := context.Background()
	if _, err := st.SaveObservation(ctx, store.Observation{State: store.ResourceState{Key: key, Type: "Test::Toggle", ObservedAt: t0, Exists: true}}); err != nil {
		t.Fatal(err)
	}
	rem := store.Remediation{ID: remediation.NewID(key, "toggle_rule", t0), Key: key, ResourceType: "Test::Toggle", RuleID: "toggle_rule",
		Action: "toggle_on", Change: "turn the toggle on", State: state, FindingFirstSeen: t0, RequiredApprovals: 1,
		Approvals: []store.Approval{{SlackUser: "U0CAROL", Name: "carol", At: t0}}, ProposedAt: t0, ExpiresAt: expires, UpdatedAt: t0}
	if _, err := st.CreateRemediation(ctx, rem); err != nil {
		t.Fatal(err)
	}
	tg := &toggle{}
	cat, err := remediation.NewCatalog(action{tg: tg})
	if err != nil {
		t.Fatal(err)
	}
	re := &reevaluations{}
	x := remediation.NewExecutor(st, tg, cat, re, nil, func() time.Time { return t0.Add(time.Minute) })
	return fixture{st: st, tg: tg, re: re, x: x, remID: rem.ID, audits: func() []string {
		entries, err := st.Audit(ctx, key)
		if err != nil {
			t.Fatal(err)
		}
		var kinds []string
		for _, e := range entries {
			kinds = append(kinds, e.Kind)
		}
		return kinds
	}}
}

func (f fixture) request(op remediation.Op) remediation.Request {
	return remediation.Request{Op: op, Key: key, ResourceType: "Test::Toggle", RemediationID: f.remID, By: "carol", At: t0}
}

func (f fixture) state(t *testing.T) store.Remediation {
	t.Helper()
	r, err := f.st.GetRemediation(context.Background(), key, f.remID)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestApplyThenUndo(t *testing.T) {
	f := newFixture(t, remediation.Approved, t0.Add(time.Hour))
	ctx := context.Background()
	if err := f.x.Handle(ctx, f.request(remediation.OpApply)); err != nil {
		t.Fatal(err)
	}
	r := f.state(t)
	if r.State != remediation.Succeeded || !f.tg.on || r.Result != "turn the toggle on" || len(r.Snapshot) == 0 {
		t.Fatalf("after apply: %+v, toggle %v", r, f.tg.on)
	}
	// A redelivered request finds the remediation done and does nothing.
	if err := f.x.Handle(ctx, f.request(remediation.OpApply)); err != nil || f.tg.apply != 1 {
		t.Fatalf("redelivery: err %v, applied %d times", err, f.tg.apply)
	}
	// Undo needs the interactivity's transition first.
	r.State = remediation.RollingBack
	if _, err := f.st.UpdateRemediation(ctx, r); err != nil {
		t.Fatal(err)
	}
	if err := f.x.Handle(ctx, f.request(remediation.OpUndo)); err != nil {
		t.Fatal(err)
	}
	if r := f.state(t); r.State != remediation.RolledBack || f.tg.on {
		t.Fatalf("after undo: %+v, toggle %v", r, f.tg.on)
	}
	if len(f.re.changes) != 2 || f.re.changes[1].Operation != remediation.UndoOperation || f.re.changes[0].Actor.Name != "driftwatch (approved by carol)" {
		t.Fatalf("re-evaluations = %+v", f.re.changes)
	}
	want := []string{"remediation_started", "remediation_succeeded", "undo_succeeded"}
	if got := f.audits(); !equal(got, want) {
		t.Fatalf("audit = %v, want %v", got, want)
	}
}

func TestConcurrentExecutionsRunOnce(t *testing.T) {
	f := newFixture(t, remediation.Approved, t0.Add(time.Hour))
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() { _ = f.x.Handle(context.Background(), f.request(remediation.OpApply)) })
	}
	wg.Wait()
	if f.tg.apply != 1 {
		t.Fatalf("the fix ran %d times, want once", f.tg.apply)
	}
}

func TestFailedApplyIsRecordedClearly(t *testing.T) {
	f := newFixture(t, remediation.Approved, t0.Add(time.Hour))
	f.tg.fail = errors.New("AccessDenied: not authorized to perform test:SetToggle")
	if err := f.x.Handle(context.Background(), f.request(remediation.OpApply)); err != nil {
		t.Fatal(err)
	}
	r := f.state(t)
	if r.State != remediation.Failed || f.tg.on || r.Result != "toggle_on failed, nothing was changed: AccessDenied: not authorized to perform test:SetToggle" {
		t.Fatalf("after a failed apply: %+v", r)
	}
	if len(f.re.refreshes) != 1 || f.re.refreshes[0] != "❌ Remediation failed: "+r.Result {
		t.Fatalf("refreshes = %q", f.re.refreshes)
	}
}

func TestAlreadyCompliantDoesNothing(t *testing.T) {
	f := newFixture(t, remediation.Approved, t0.Add(time.Hour))
	f.tg.on = true
	if err := f.x.Handle(context.Background(), f.request(remediation.OpApply)); err != nil {
		t.Fatal(err)
	}
	if r := f.state(t); r.State != remediation.Succeeded || r.Result != "already compliant: nothing done" || len(r.Snapshot) != 0 || f.tg.apply != 0 {
		t.Fatalf("already compliant: %+v, applied %d", r, f.tg.apply)
	}
}

func TestExpiredApprovalDoesNotRun(t *testing.T) {
	f := newFixture(t, remediation.Approved, t0.Add(30*time.Second))
	if err := f.x.Handle(context.Background(), f.request(remediation.OpApply)); err != nil {
		t.Fatal(err)
	}
	if r := f.state(t); r.State != remediation.Expired || f.tg.apply != 0 {
		t.Fatalf("expired approval: %+v, applied %d", r, f.tg.apply)
	}
}

func TestUnapprovedOrUnknownRequestsAreIgnored(t *testing.T) {
	f := newFixture(t, remediation.Proposed, t0.Add(time.Hour))
	ctx := context.Background()
	if err := f.x.Handle(ctx, f.request(remediation.OpApply)); err != nil || f.tg.apply != 0 {
		t.Fatalf("a proposed remediation ran: err %v applied %d", err, f.tg.apply)
	}
	unknown := f.request(remediation.OpApply)
	unknown.RemediationID = "rem-unknown"
	if err := f.x.Handle(ctx, unknown); err != nil {
		t.Fatalf("unknown remediation: %v", err)
	}
	if err := f.x.Handle(ctx, remediation.Request{Op: "explode"}); err != nil {
		t.Fatalf("malformed request: %v", err)
	}
	if r := f.state(t); r.State != remediation.Proposed {
		t.Fatalf("state moved to %s", r.State)
	}
}

func TestStateMachine(t *testing.T) {
	for _, tc := range []struct {
		from, to store.RemediationState
		ok       bool
	}{
		{remediation.Proposed, remediation.Approved, true},
		{remediation.Approved, remediation.Running, true},
		{remediation.Running, remediation.Succeeded, true},
		{remediation.Running, remediation.Failed, true},
		{remediation.Succeeded, remediation.RollingBack, true},
		{remediation.RollingBack, remediation.RolledBack, true},
		{remediation.Proposed, remediation.Running, false},
		{remediation.Failed, remediation.RollingBack, false},
		{remediation.RolledBack, remediation.Succeeded, false},
		{remediation.Succeeded, remediation.Running, false},
	} {
		if got := remediation.CanMove(tc.from, tc.to); got != tc.ok {
			t.Errorf("CanMove(%s, %s) = %v, want %v", tc.from, tc.to, got, tc.ok)
		}
	}
	for _, s := range []store.RemediationState{remediation.Failed, remediation.RolledBack, remediation.Denied, remediation.Expired} {
		if !remediation.Terminal(s) {
			t.Errorf("%s is not terminal", s)
		}
	}
	if a, b := remediation.NewID(key, "r", t0), remediation.NewID(key, "r", t0.Add(time.Nanosecond)); a == b {
		t.Error("two finding episodes share a remediation id")
	}
}

func equal(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
