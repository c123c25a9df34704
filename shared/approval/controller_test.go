package approval_test

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/slack-go/slack"

	"github.com/driftwatch/driftwatch/shared/alert"
	"github.com/driftwatch/driftwatch/shared/approval"
	"github.com/driftwatch/driftwatch/shared/change"
	"github.com/driftwatch/driftwatch/shared/governance"
	"github.com/driftwatch/driftwatch/shared/posture"
	"github.com/driftwatch/driftwatch/shared/remediation"
	"github.com/driftwatch/driftwatch/shared/slackinteract"
	"github.com/driftwatch/driftwatch/shared/store"
	"github.com/driftwatch/driftwatch/shared/store/memstore"
)

// The controller is tested on the embedded store with the real governance
// policy. Slack, the bus and the alert renderer are small recording
// stand-ins for the controller's own interfaces; the whole loop through the
// real ones runs in awsinteract's end-to-end tests.

const policyYAML = `version: 1
defaults:
  mode: approve
  approval_expiry: 1h
  accept_risk_max: 30d
approvers:
  - severities: [critical, high, medium, low, informational]
    users: [U0ALICE, U0CAROL]
rules:
  rds_public:
    two_approvers: true
identities:
  - slack: U0BOB
    principals: [bob]
`

type slackDir struct{}

func (slackDir) UserGroups(context.Context, string) ([]string, error) { return nil, nil }
func (slackDir) Profile(_ context.Context, id string) (string, string, error) {
	return strings.ToLower(strings.TrimPrefix(id, "U0")), "", nil
}
func (slackDir) OpenView(context.Context, string, slack.ModalViewRequest) error { return nil }

type dispatches struct {
	mu   sync.Mutex
	reqs []remediation.Request
}

func (d *dispatches) Dispatch(_ context.Context, r remediation.Request) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.reqs = append(d.reqs, r)
	return nil
}

type refreshes struct {
	mu    sync.Mutex
	notes []string
}

func (r *refreshes) Refresh(_ context.Context, _ store.Key, note string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.notes = append(r.notes, note)
	return nil
}

type ruleInfo map[string]approval.RuleInfo

func (r ruleInfo) RuleInfo(id string) (approval.RuleInfo, bool) { ri, ok := r[id]; return ri, ok }

var (
	t0  = time.Date(2026, 12, 4, 10, 0, 0, 0, time.UTC)
	key = store.Key{Cloud: "aws", Account: "123456789012", ResourceID: "arn:aws:rds:eu-west-1:123456789012:db:ledger"}
)

type fixture struct {
	st   *memstore.Store
	ctrl *approval.Controller
	d    *dispatches
	now  *time.Time
}

func newFixture(t *testing.T, rule string) (fixture, alert.FixRef) {
	t.Helper()
	st := memstore.New()
	ctx := context.Background()
	evals := []posture.Evaluation{{RuleID: rule, Status: posture.Fail, Severity: posture.Critical}}
	state := store.ResourceState{Key: key, Type: "AWS::RDS::DBInstance", ObservedAt: t0, Exists: true, Evaluations: evals}
	f := store.Finding{Key: key, RuleID: rule, Severity: posture.Critical, ResourceType: state.Type, Status: store.FindingOpen,
		FirstSeen: t0, LastSeen: t0, OpenedBy: store.ChangeRef{EventID: "e1", Operation: "ModifyDBInstance", Actor: change.Actor{Principal: "arn:aws:iam::123456789012:user/bob", Name: "bob"}}}
	if _, err := st.SaveObservation(ctx, store.Observation{State: state, Findings: []store.Finding{f}}); err != nil {
		t.Fatal(err)
	}
	pol, err := governance.Parse("policy.yaml", []byte(policyYAML))
	if err != nil {
		t.Fatal(err)
	}
	now := t0.Add(time.Minute)
	d := &dispatches{}
	ctrl := approval.New(st, ruleInfo{rule: {Title: "DB not public", Action: "rds_disable_public_access"}}, pol, slackDir{}, d, &refreshes{},
		&approval.Options{Now: func() time.Time { return now }})
	return fixture{st: st, ctrl: ctrl, d: d, now: &now}, alert.FixRef{Cloud: "aws", Account: key.Account, ResourceID: key.ResourceID, RuleID: rule, FirstSeen: t0.UnixNano()}
}

func click(user string, ref alert.FixRef) slackinteract.Click {
	return slackinteract.Click{ActionID: "driftwatch_remediate", User: slackinteract.User{ID: user, Name: strings.ToLower(strings.TrimPrefix(user, "U0"))}, Ref: ref}
}

func TestTwoDistinctApprovers(t *testing.T) {
	f, ref := newFixture(t, "rds_public")
	ctx := context.Background()
	reply, err := f.ctrl.Remediate(ctx, click("U0ALICE", ref))
	if err != nil || !strings.Contains(reply.Ephemeral, "1 of 2") || len(f.d.reqs) != 0 {
		t.Fatalf("first approval: reply %q err %v dispatched %d", reply.Ephemeral, err, len(f.d.reqs))
	}
	reply, _ = f.ctrl.Remediate(ctx, click("U0ALICE", ref))
	if !strings.Contains(reply.Ephemeral, "already") || len(f.d.reqs) != 0 {
		t.Fatalf("the same approver twice: reply %q dispatched %d", reply.Ephemeral, len(f.d.reqs))
	}
	reply, _ = f.ctrl.Remediate(ctx, click("U0BOB", ref))
	if !strings.Contains(reply.Ephemeral, "made this change") {
		t.Fatalf("the drift's author: reply %q", reply.Ephemeral)
	}
	if _, err := f.ctrl.Remediate(ctx, click("U0CAROL", ref)); err != nil || len(f.d.reqs) != 1 || f.d.reqs[0].Op != remediation.OpApply {
		t.Fatalf("second approval: err %v dispatched %+v", err, f.d.reqs)
	}
	rem, err := f.st.GetRemediation(ctx, key, remediation.NewID(key, "rds_public", t0))
	if err != nil || rem.State != remediation.Approved || len(rem.Approvals) != 2 {
		t.Fatalf("remediation = %+v, %v", rem, err)
	}
}

func TestExpiredApprovalWindow(t *testing.T) {
	f, ref := newFixture(t, "rds_public")
	ctx := context.Background()
	if _, err := f.ctrl.Remediate(ctx, click("U0ALICE", ref)); err != nil {
		t.Fatal(err)
	}
	*f.now = t0.Add(2 * time.Hour)
	reply, err := f.ctrl.Remediate(ctx, click("U0CAROL", ref))
	if err != nil || !strings.Contains(reply.Ephemeral, "closed") || len(f.d.reqs) != 0 {
		t.Fatalf("after the window: reply %q err %v dispatched %d", reply.Ephemeral, err, len(f.d.reqs))
	}
	rem, _ := f.st.GetRemediation(ctx, key, remediation.NewID(key, "rds_public", t0))
	if rem.State != remediation.Expired {
		t.Fatalf("state = %s, want expired", rem.State)
	}
}

func TestOutOfDateClick(t *testing.T) {
	f, ref := newFixture(t, "rds_public")
	stale := ref
	stale.FirstSeen = t0.Add(-time.Hour).UnixNano() // an earlier episode of the finding
	reply, err := f.ctrl.Remediate(context.Background(), click("U0ALICE", stale))
	if err != nil || reply.Ephemeral != approval.MsgOutOfDate {
		t.Fatalf("stale click: reply %q err %v", reply.Ephemeral, err)
	}
}
