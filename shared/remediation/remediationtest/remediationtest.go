// Package remediationtest is the conformance suite every remediation.Action
// passes, whatever its cloud: each cloud's action tests call Run once with
// one Case per action, against that cloud's emulator.
//
// The suite holds every action to the contract of remediation.Action:
//   - Plan is a dry run: it reports work on a non-compliant resource and
//     changes nothing; it reports Noop on a compliant one;
//   - Apply makes the resource comply; applied again it changes nothing,
//     even when handed the stale pre-fix document, and returns a snapshot
//     whose Undo changes nothing either;
//   - Undo of the first snapshot restores the exact before-state (compared
//     field by field through JSON), and undoing twice is harmless; for an
//     action whose change the cloud cannot revert (Case.Irreversible),
//     Undo of it fails and changes nothing instead;
//   - Apply on a resource that already complies changes nothing;
//   - an Apply that fails at any of its writes returns an error and leaves
//     the resource exactly as it was (no partial state);
//   - a target of the wrong kind is refused with an error, not a panic.
package remediationtest

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/driftwatch/driftwatch/shared/change"
	"github.com/driftwatch/driftwatch/shared/remediation"
)

// maxWrites bounds the fault-injection loop: no action makes more writes
// than this on one resource (a sanity bound against an action that
// ignores failures).
const maxWrites = 16

// Case is one action under test with the means to make and read its
// resources in an emulator.
type Case struct {
	// Name labels the subtests; it defaults to the action's name.
	Name string
	// Action is the action under test, built as production builds it.
	Action remediation.Action
	// Setup creates a fresh resource that does not comply with the rules
	// the action fixes, in a state the action changes with more than one
	// write when it can (so that failures part way are exercised), and
	// returns it as the fetcher reads it.
	Setup func(t *testing.T) remediation.Target
	// SetupCompliant creates a fresh resource that already complies; Apply
	// must leave it alone.
	SetupCompliant func(t *testing.T) remediation.Target
	// Fetch reads the resource's live state again, as the fetcher does.
	Fetch func(t *testing.T, ref change.ResourceRef) remediation.Target
	// Complies reports whether a freshly fetched target complies with the
	// rules that name the action.
	Complies func(t *testing.T, target remediation.Target) bool
	// Faulty returns the same action built so that its write number n
	// (counting from 0, reads excluded) fails with a denial and every
	// other call goes through. The suite raises n until Apply succeeds,
	// checking at each step that the failed Apply left nothing behind.
	Faulty func(t *testing.T, n int) remediation.Action
	// Irreversible marks an action whose change the cloud itself cannot
	// revert (Azure Key Vault purge protection): the suite then checks
	// that Undo of a snapshot that changed something fails, every time,
	// and leaves the fixed state, where it would check that Undo restores
	// the before-state. Undo of a snapshot that changed nothing must still
	// succeed.
	Irreversible bool
	// Normalize, optional, returns the form of a document compared for
	// "unchanged" and "restored". Use it only to clear what the cloud
	// assigns anew when a setting is recreated (a security group rule's
	// id), and say why where the Case is built.
	Normalize func(doc any) any
}

// Run runs the suite for every case, each as a subtest named after it. The
// cases run one after the other: account-wide settings are shared state.
func Run(t *testing.T, cases []Case) {
	t.Helper()
	for _, c := range cases {
		name := c.Name
		if name == "" && c.Action != nil {
			name = c.Action.Name()
		}
		t.Run(name, func(t *testing.T) {
			if err := c.validate(); err != nil {
				t.Fatal(err)
			}
			t.Run("Declares", c.testDeclares)
			t.Run("PlanIsDryRun", c.testPlanIsDryRun)
			t.Run("ApplyIdempotentUndo", c.testApplyIdempotentUndo)
			t.Run("ApplyCompliant", c.testApplyCompliant)
			t.Run("FailedApplyLeavesNoTrace", c.testFailedApply)
			t.Run("WrongTarget", c.testWrongTarget)
		})
	}
}

func (c Case) validate() error {
	var missing []string
	for name, set := range map[string]bool{
		"Action": c.Action != nil, "Setup": c.Setup != nil, "SetupCompliant": c.SetupCompliant != nil,
		"Fetch": c.Fetch != nil, "Complies": c.Complies != nil, "Faulty": c.Faulty != nil,
	} {
		if !set {
			missing = append(missing, name)
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("remediationtest: Case %q lacks %s", c.Name, strings.Join(missing, ", "))
	}
	return nil
}

// testDeclares: the metadata governance and infrastructure rely on.
func (c Case) testDeclares(t *testing.T) {
	a := c.Action
	if a.Name() == "" || a.ResourceType() == "" {
		t.Errorf("Name() = %q, ResourceType() = %q: both must be set", a.Name(), a.ResourceType())
	}
	perms := a.Permissions()
	if len(perms) == 0 {
		t.Errorf("%s declares no permissions", a.Name())
	}
	seen := map[string]bool{}
	for _, p := range perms {
		if p == "" || seen[p] {
			t.Errorf("%s: permission %q is empty or declared twice in %v", a.Name(), p, perms)
		}
		seen[p] = true
	}
	// Permissions returns a copy: a caller editing it must not widen or
	// narrow the action.
	if len(perms) > 0 {
		perms[0] = "tampered"
		if a.Permissions()[0] == "tampered" {
			t.Errorf("%s: Permissions() returns its own slice; return a copy", a.Name())
		}
	}
}

// testPlanIsDryRun: a plan for a non-compliant resource says what it would
// do, and doing so changes nothing.
func (c Case) testPlanIsDryRun(t *testing.T) {
	target := c.Setup(t)
	before := c.Fetch(t, target.Ref)
	if c.Complies(t, before) {
		t.Fatal("Setup returned a resource that already complies; the suite needs a non-compliant one")
	}
	plan, err := c.Action.Plan(t.Context(), target)
	if err != nil {
		t.Fatalf("Plan: %v", err)
	}
	if plan.Noop {
		t.Errorf("Plan on a non-compliant resource is Noop (%q)", plan.Change)
	}
	if strings.TrimSpace(plan.Change) == "" {
		t.Error("Plan.Change is empty: it must say in plain words what will change")
	}
	t.Logf("plan: %s", plan.Change)
	c.assertSame(t, "after Plan (a dry run)", before, c.Fetch(t, target.Ref))
}

// testApplyIdempotentUndo walks one resource through the whole cycle.
func (c Case) testApplyIdempotentUndo(t *testing.T) {
	ctx := t.Context()
	target := c.Setup(t)
	before := c.Fetch(t, target.Ref)

	snap1, err := c.Action.Apply(ctx, target)
	if err != nil {
		t.Fatalf("Apply: %v", err)
	}
	if !json.Valid(snap1) {
		t.Fatalf("Apply returned a snapshot that is not JSON: %q", snap1)
	}
	fixed := c.Fetch(t, target.Ref)
	if !c.Complies(t, fixed) {
		t.Fatalf("after Apply the resource does not comply:\n%s", c.render(t, fixed.Doc))
	}
	plan, err := c.Action.Plan(ctx, fixed)
	if err != nil {
		t.Fatalf("Plan after Apply: %v", err)
	}
	if !plan.Noop {
		t.Errorf("Plan after Apply is not Noop: %q", plan.Change)
	}

	// Applied again with the stale, pre-fix document (a retried or
	// duplicated request): Apply reads the live state and does nothing.
	snap2, err := c.Action.Apply(ctx, target)
	if err != nil {
		t.Fatalf("second Apply: %v", err)
	}
	c.assertSame(t, "after a second Apply (must be a no-op)", fixed, c.Fetch(t, target.Ref))
	// Undo of the no-op's snapshot restores the fixed state: nothing.
	if err := c.Action.Undo(ctx, fixed, snap2); err != nil {
		t.Fatalf("Undo of the second Apply's snapshot: %v", err)
	}
	c.assertSame(t, "after Undo of the second Apply's snapshot (must be a no-op)", fixed, c.Fetch(t, target.Ref))

	if c.Irreversible {
		for i := range 2 {
			if err := c.Action.Undo(ctx, c.Fetch(t, target.Ref), snap1); err == nil {
				t.Errorf("Undo #%d of an irreversible change returned no error", i+1)
			} else {
				t.Logf("Undo refused: %v", err)
			}
			c.assertSame(t, "after the refused Undo of an irreversible change", fixed, c.Fetch(t, target.Ref))
		}
		return
	}

	// Undo of the first restores exactly what was there.
	if err := c.Action.Undo(ctx, c.Fetch(t, target.Ref), snap1); err != nil {
		t.Fatalf("Undo: %v", err)
	}
	restored := c.Fetch(t, target.Ref)
	c.assertSame(t, "after Undo (must equal the state before Apply)", before, restored)
	if c.Complies(t, restored) {
		t.Error("after Undo the resource complies again; Undo did not restore the before-state")
	}
	if err := c.Action.Undo(ctx, restored, snap1); err != nil {
		t.Fatalf("second Undo: %v", err)
	}
	c.assertSame(t, "after a second Undo (must be harmless)", before, c.Fetch(t, target.Ref))
}

// testApplyCompliant: nothing to do means nothing done.
func (c Case) testApplyCompliant(t *testing.T) {
	ctx := t.Context()
	target := c.SetupCompliant(t)
	before := c.Fetch(t, target.Ref)
	if !c.Complies(t, before) {
		t.Fatalf("SetupCompliant returned a resource that does not comply:\n%s", c.render(t, before.Doc))
	}
	plan, err := c.Action.Plan(ctx, before)
	if err != nil {
		t.Fatalf("Plan: %v", err)
	}
	if !plan.Noop {
		t.Errorf("Plan on a compliant resource is not Noop: %q", plan.Change)
	}
	snap, err := c.Action.Apply(ctx, before)
	if err != nil {
		t.Fatalf("Apply: %v", err)
	}
	c.assertSame(t, "after Apply on a compliant resource", before, c.Fetch(t, target.Ref))
	if err := c.Action.Undo(ctx, before, snap); err != nil {
		t.Fatalf("Undo: %v", err)
	}
	c.assertSame(t, "after Undo of a no-op Apply", before, c.Fetch(t, target.Ref))
}

// testFailedApply fails each write of Apply in turn.
func (c Case) testFailedApply(t *testing.T) {
	ctx := t.Context()
	target := c.Setup(t)
	before := c.Fetch(t, target.Ref)
	for n := range maxWrites {
		_, err := c.Faulty(t, n).Apply(ctx, target)
		if err == nil {
			if n == 0 {
				t.Fatal("Apply succeeded although its first write failed: it made no write on a non-compliant resource, or ignored the failure")
			}
			// n writes were enough: every failure point has been tried.
			if after := c.Fetch(t, target.Ref); !c.Complies(t, after) {
				t.Fatalf("Apply with write %d failing (after %d writes) returned no error but the resource does not comply", n, n)
			}
			return
		}
		t.Logf("write %d failing: %v", n, err)
		c.assertSame(t, fmt.Sprintf("after an Apply whose write %d failed", n), before, c.Fetch(t, target.Ref))
	}
	t.Fatalf("Apply still fails with %d writes allowed: it retries a failed write or makes too many", maxWrites)
}

// testWrongTarget: bad input gets a clear error, never a panic.
func (c Case) testWrongTarget(t *testing.T) {
	ctx := t.Context()
	type foreign struct{ Name string }
	bad := remediation.Target{Ref: change.ResourceRef{Type: c.Action.ResourceType(), ID: "x"}, Doc: &foreign{Name: "x"}}
	if _, err := c.Action.Plan(ctx, bad); err == nil {
		t.Error("Plan accepted a document of a foreign type")
	}
	if _, err := c.Action.Apply(ctx, bad); err == nil {
		t.Error("Apply accepted a document of a foreign type")
	}
	if _, err := c.Action.Plan(ctx, remediation.Target{Ref: change.ResourceRef{Type: c.Action.ResourceType()}}); err == nil {
		t.Error("Plan accepted a target without a document")
	}
	if err := c.Action.Undo(ctx, remediation.Target{Ref: change.ResourceRef{Type: c.Action.ResourceType(), ID: "x"}}, json.RawMessage(`{"not":"a snapshot"}`)); err == nil {
		t.Error("Undo accepted a snapshot that is not one of its own")
	}
}

// assertSame compares two fetched states through JSON and prints the lines
// that differ.
func (c Case) assertSame(t *testing.T, when string, want, got remediation.Target) {
	t.Helper()
	w, g := c.render(t, want.Doc), c.render(t, got.Doc)
	if w == g {
		return
	}
	wl, gl := strings.Split(w, "\n"), strings.Split(g, "\n")
	var b strings.Builder
	for i := range max(len(wl), len(gl)) {
		var ws, gs string
		if i < len(wl) {
			ws = wl[i]
		}
		if i < len(gl) {
			gs = gl[i]
		}
		if ws != gs {
			fmt.Fprintf(&b, "line %d:\n  want: %s\n  got:  %s\n", i+1, strings.TrimSpace(ws), strings.TrimSpace(gs))
		}
	}
	t.Errorf("%s the resource differs:\n%s", when, b.String())
}

func (c Case) render(t *testing.T, doc any) string {
	t.Helper()
	if c.Normalize != nil {
		doc = c.Normalize(doc)
	}
	b, err := json.MarshalIndent(doc, "", "  ")
	if err != nil {
		t.Fatalf("render document: %v", err)
	}
	return string(b)
}
