package awsinteract_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/smithy-go/middleware"

	"github.com/driftwatch/driftwatch/shared/alert"
	"github.com/driftwatch/driftwatch/shared/awsdetector"
	"github.com/driftwatch/driftwatch/shared/awsinteract"
	"github.com/driftwatch/driftwatch/shared/awsremediator"
	"github.com/driftwatch/driftwatch/shared/internal/awsdemo"
	"github.com/driftwatch/driftwatch/shared/internal/motoserver"
	"github.com/driftwatch/driftwatch/shared/slackalert"
	"github.com/driftwatch/driftwatch/shared/slackalert/slackrec"
	"github.com/driftwatch/driftwatch/shared/slackinteract"
	"github.com/driftwatch/driftwatch/shared/store"
	"github.com/driftwatch/driftwatch/shared/store/dynamostore"
)

const (
	account       = "123456789012"
	channel       = "C0DRIFTWATCH"
	signingSecret = "e2e-signing-secret-not-a-secret"
	bus           = "driftwatch"
	alice         = "U0ALICE"   // approver
	bob           = "U0BOB"     // approver, and the CLI user who opens SSH
	carol         = "U0CAROL"   // approver through the @secops group
	mallory       = "U0MALLORY" // not an approver
)

// policy is the governance of these tests; extra is spliced into it.
func policy(extra string) string {
	return `version: 1
defaults:
  mode: approve
  approval_expiry: 1h
  accept_risk_max: 30d
approvers:
  - severities: [critical, high, medium, low, informational]
    users: [` + alice + `, ` + bob + `]
    groups: [S0SECOPS]
rules:
  aws_rds_instance_not_publicly_accessible:
    two_approvers: true
` + extra + `
identities:
  - slack: ` + bob + `
    principals: ["arn:aws:iam::` + account + `:user/bob"]
`
}

// loop is one emulated account with all three functions deployed: the
// detector and the remediator invoked as Lambda would, the interactivity
// function behind an HTTP server as Slack would call it, the driftwatch bus
// delivering to a queue the test drains into the remediator.
type loop struct {
	t          *testing.T
	env        *awsdemo.Env
	cfg        aws.Config
	slack      *slackrec.Recorder
	detector   lambda.Handler
	remediator *awsremediator.Handler
	interact   *httptest.Server
	bus        *awsdemo.Bus
	store      *dynamostore.Store
	events     string
	clicks     int
}

type options struct {
	policy string
	// remediatorAPIOptions are added to the remediator's AWS clients (to
	// make an action fail the way a missing permission does).
	remediatorAPIOptions []func(*middleware.Stack) error
}

func newLoop(t *testing.T, o options) *loop {
	t.Helper()
	ctx := t.Context()
	moto := motoserver.StartTB(t)
	cfg := moto.Config("eu-west-1")
	cfg.RetryMaxAttempts = 3
	cfg.HTTPClient = motoserver.SerialClient()

	const table = "driftwatch-posture"
	ddb := dynamodb.NewFromConfig(cfg)
	if err := dynamostore.CreateTable(ctx, ddb, table); err != nil {
		t.Fatal(err)
	}
	l := &loop{t: t, cfg: cfg, env: awsdemo.NewEnv(cfg), store: dynamostore.New(ddb, table)}
	l.events, _ = filepath.Abs(filepath.Join("..", "..", "events", "aws"))

	// The driftwatch bus and the remediator's rule, delivering to a queue.
	var err error
	if l.bus, err = awsdemo.NewBus(ctx, cfg, bus); err != nil {
		t.Fatal(err)
	}

	l.slack = slackrec.Start()
	t.Cleanup(l.slack.Close)
	l.slack.SetUser(alice, "alice", "alice@example.com")
	l.slack.SetUser(bob, "bob", "bob@example.com")
	l.slack.SetUser(carol, "carol", "carol@example.com")
	l.slack.SetUser(mallory, "mallory", "mallory@example.com")
	l.slack.SetUserGroup("S0SECOPS", "secops", carol)

	govFile := filepath.Join(t.TempDir(), "governance.yaml")
	if err := os.WriteFile(govFile, []byte(o.policy), 0o644); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{
		"DRIFTWATCH_TABLE":            table,
		"DRIFTWATCH_BUS":              bus,
		"DRIFTWATCH_GOVERNANCE_FILE":  govFile,
		"SLACK_CHANNEL":               channel,
		"SLACK_BOT_TOKEN":             "xoxb-e2e-not-a-secret",
		"SLACK_API_URL":               l.slack.URL(),
		"SLACK_SIGNING_SECRET":        signingSecret,
		"SLACK_RESPONSE_URL_PREFIXES": l.slack.URL(),
		"DRIFTWATCH_S3_PATH_STYLE":    "true",
		"DRIFTWATCH_DISABLED_RULES":   awsdemo.DisabledRules,
		"DRIFTWATCH_ACCOUNTS":         `{"` + account + `": {"name": "payments-prod", "environment": "prod"}}`,
		"DRIFTWATCH_LOG_LEVEL":        "warn",
	}
	getenv := func(k string) string { return env[k] }
	dc, err := awsdetector.ConfigFromEnv(getenv)
	if err != nil {
		t.Fatal(err)
	}
	det, err := awsdetector.New(ctx, dc, cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	l.detector = lambda.NewHandler(det.Handle)
	rcfg := cfg.Copy()
	rcfg.APIOptions = append(rcfg.APIOptions, o.remediatorAPIOptions...)
	if l.remediator, err = awsremediator.New(ctx, dc, rcfg, nil); err != nil {
		t.Fatal(err)
	}
	ic, err := awsinteract.ConfigFromEnv(getenv)
	if err != nil {
		t.Fatal(err)
	}
	h, err := awsinteract.New(ctx, ic, cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	l.interact = httptest.NewServer(h)
	t.Cleanup(l.interact.Close)

	steps, err := l.env.Baseline(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range steps {
		l.deliver(s.Event)
	}
	return l
}

func must(t *testing.T, f func() error) {
	t.Helper()
	if err := f(); err != nil {
		t.Fatal(err)
	}
}

// deliver invokes the detector with an event file, under a fresh event id
// so the same file can be delivered again as a new change.
func (l *loop) deliver(name string) awsdetector.Summary {
	l.t.Helper()
	payload, err := l.env.Event(l.events, name, time.Now())
	if err != nil {
		l.t.Fatal(err)
	}
	var ev map[string]any
	if err := json.Unmarshal(payload, &ev); err != nil {
		l.t.Fatal(err)
	}
	ev["detail"].(map[string]any)["eventID"] = fmt.Sprintf("%s-%d", name, time.Now().UnixNano())
	payload, _ = json.Marshal(ev)
	out, err := l.detector.Invoke(context.Background(), payload)
	if err != nil {
		l.t.Fatalf("deliver %s: %v", name, err)
	}
	var sum awsdetector.Summary
	if err := json.Unmarshal(out, &sum); err != nil {
		l.t.Fatal(err)
	}
	return sum
}

func (l *loop) apply(s awsdemo.Step) {
	l.t.Helper()
	if err := s.Apply(l.t.Context(), l.env); err != nil {
		l.t.Fatalf("%s: %v", s.Title, err)
	}
}

// drain delivers what the bus routed to the remediator, as Lambda would,
// until the queue is empty, and returns how many requests it ran.
func (l *loop) drain() int {
	l.t.Helper()
	n, err := l.bus.Drain(l.t.Context(), func(ctx context.Context, ev events.EventBridgeEvent, _ []byte) error {
		return l.remediator.Handle(ctx, ev)
	})
	if err != nil {
		l.t.Fatalf("remediator: %v", err)
	}
	return n
}

// message returns the one top-level message naming s.
func (l *loop) message(s string) slackrec.Message {
	l.t.Helper()
	var found []slackrec.Message
	for _, m := range l.slack.Messages() {
		if m.ThreadTS == "" && strings.Contains(string(m.Blocks), s) {
			found = append(found, m)
		}
	}
	if len(found) != 1 {
		l.t.Fatalf("%d messages name %q, want 1", len(found), s)
	}
	return found[0]
}

// button returns the fix reference a message's button carries.
func (l *loop) button(m slackrec.Message, actionID string) (alert.FixRef, bool) {
	ref, err := awsdemo.ButtonRef(m.Blocks, actionID)
	return ref, err == nil
}

// post sends a signed interaction as Slack does.
func (l *loop) post(payload any, sign func(r *http.Request, body []byte)) int {
	l.t.Helper()
	raw, err := json.Marshal(payload)
	if err != nil {
		l.t.Fatal(err)
	}
	body := []byte("payload=" + url.QueryEscape(string(raw)))
	req, _ := http.NewRequest(http.MethodPost, l.interact.URL, bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	sign(req, body)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		l.t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode
}

func (l *loop) signNow(r *http.Request, body []byte) {
	slackinteract.SignRequest(r, signingSecret, time.Now(), body)
}

// clickPayload is a block_actions payload as Slack sends it.
func (l *loop) clickPayload(user, actionID string, ref alert.FixRef, m slackrec.Message) (map[string]any, string) {
	l.clicks++
	respID := fmt.Sprintf("click-%d", l.clicks)
	return awsdemo.Click{User: user, ActionID: actionID, Ref: ref, Channel: m.Channel, TS: m.TS,
		ResponseURL: l.slack.ResponseURL(respID), TriggerID: fmt.Sprintf("trigger-%d", l.clicks),
		Team: "T0DRIFT", AppID: "A0DRIFT", ActionTimestamp: time.Now()}.Payload(), respID
}

// click clicks a button as user and returns the ephemeral reply ("" when
// none).
func (l *loop) click(user, actionID string, ref alert.FixRef, m slackrec.Message) string {
	l.t.Helper()
	p, respID := l.clickPayload(user, actionID, ref, m)
	if code := l.post(p, l.signNow); code != http.StatusOK {
		l.t.Fatalf("click answered HTTP %d", code)
	}
	return l.ephemeral(respID)
}

func (l *loop) ephemeral(respID string) string {
	for _, c := range l.slack.Calls() {
		if c.Method == slackrec.MethodResponseURL && strings.HasSuffix(c.Path, respID) {
			return c.Text
		}
	}
	return ""
}

func (l *loop) audit(kind string) []store.AuditEntry {
	l.t.Helper()
	var out []store.AuditEntry
	for _, key := range []store.Key{l.sgKey()} {
		entries, err := l.store.Audit(l.t.Context(), key)
		if err != nil {
			l.t.Fatal(err)
		}
		for _, e := range entries {
			if e.Kind == kind {
				out = append(out, e)
			}
		}
	}
	return out
}

func (l *loop) sgKey() store.Key {
	return store.Key{Cloud: "aws", Account: account, ResourceID: "arn:aws:ec2:eu-west-1:" + account + ":security-group/" + l.env.Vars["GROUP_ID"]}
}

// sshOpen reports whether the web security group admits SSH from anywhere.
func (l *loop) sshOpen() bool {
	l.t.Helper()
	out, err := ec2.NewFromConfig(l.cfg).DescribeSecurityGroups(l.t.Context(), &ec2.DescribeSecurityGroupsInput{GroupIds: []string{l.env.Vars["GROUP_ID"]}})
	if err != nil {
		l.t.Fatal(err)
	}
	for _, p := range out.SecurityGroups[0].IpPermissions {
		if aws.ToInt32(p.FromPort) == 22 {
			for _, r := range p.IpRanges {
				if aws.ToString(r.CidrIp) == "0.0.0.0/0" {
					return true
				}
			}
		}
	}
	return false
}

// openSSH is the drift of these tests: bob opens SSH to the world from the
// CLI and the event reaches the detector.
func (l *loop) openSSH() slackrec.Message {
	l.t.Helper()
	for _, s := range awsdemo.Drift() {
		if s.Event == "13-authorize-ssh-from-anywhere.json" {
			l.apply(s)
			l.deliver(s.Event)
		}
	}
	return l.message("aws_ec2_sg_no_public_ingress_tcp_22")
}

// TestApproveFixUndo is the happy path with the refusals around it: a
// non-approver and the drift's own author are refused (ephemeral + audit),
// two approvers clicking at once run the fix once, the message shows the
// fix, Undo restores the rule and reopens the message in place.
func TestApproveFixUndo(t *testing.T) {
	l := newLoop(t, options{policy: policy("")})
	m := l.openSSH()
	ref, ok := l.button(m, slackalert.RemediateActionID)
	if !ok {
		t.Fatalf("the alert offers no Remediate button: %s", m.Blocks)
	}
	if !strings.Contains(string(m.Blocks), "sgr-") || !strings.Contains(string(m.Blocks), "Revoke") {
		t.Errorf("the confirm dialog does not say exactly what will change: %s", m.Blocks)
	}

	if got := l.click(mallory, slackalert.RemediateActionID, ref, m); got == "" || l.sshOpen() == false {
		t.Fatalf("a non-approver's click: reply %q, ssh open %v", got, l.sshOpen())
	}
	if got := l.click(bob, slackalert.RemediateActionID, ref, m); !strings.Contains(got, "made this change") {
		t.Errorf("the drift's author approving their own fix: reply %q", got)
	}
	if denials := l.audit("denial"); len(denials) != 2 {
		t.Fatalf("%d denial audit entries, want 2: %+v", len(denials), denials)
	}
	if n := l.drain(); n != 0 || !l.sshOpen() {
		t.Fatalf("refused clicks ran %d requests (ssh open %v)", n, l.sshOpen())
	}

	// Two approvers click at the same moment: one approval, one fix.
	var wg sync.WaitGroup
	for _, u := range []string{alice, carol} {
		wg.Go(func() { l.click(u, slackalert.RemediateActionID, ref, m) })
	}
	wg.Wait()
	if n := l.drain(); n < 1 {
		t.Fatal("no remediation request reached the remediator")
	}
	if l.sshOpen() {
		t.Fatal("SSH is still open after the approved fix")
	}
	if got := len(l.audit("remediation_succeeded")); got != 1 {
		t.Fatalf("%d executions recorded, want exactly 1", got)
	}
	fixed, _ := l.slack.Message(m.TS)
	for _, want := range []string{"RESOLVED", "driftwatch_undo"} {
		if !strings.Contains(string(fixed.Blocks), want) {
			t.Errorf("the fixed message lacks %q: %s", want, fixed.Blocks)
		}
	}

	// Undo restores the rule and reopens the same message.
	undoRef, ok := l.button(fixed, slackalert.UndoActionID)
	if !ok {
		t.Fatal("no Undo button after the fix")
	}
	l.click(alice, slackalert.UndoActionID, undoRef, fixed)
	l.drain()
	if !l.sshOpen() {
		t.Fatal("Undo did not restore the SSH rule")
	}
	undone, _ := l.slack.Message(m.TS)
	if strings.Contains(string(undone.Blocks), "RESOLVED") || !strings.Contains(string(undone.Blocks), "aws_ec2_sg_no_public_ingress_tcp_22") {
		t.Errorf("after Undo the message is not failing again in place: %s", undone.Blocks)
	}
	if got := len(l.audit("undo_succeeded")); got != 1 {
		t.Errorf("%d undo_succeeded audit entries, want 1", got)
	}
	if replies := l.slack.Replies(m.TS); len(replies) < 3 {
		t.Errorf("the thread mirrors %d audit steps, want at least 3 (approved, fixed, undone)", len(replies))
	}
}

// Forged, stale and replayed requests are refused before anything happens.
func TestRefusesUnverifiedRequests(t *testing.T) {
	l := newLoop(t, options{policy: policy("")})
	m := l.openSSH()
	ref, _ := l.button(m, slackalert.RemediateActionID)
	p, _ := l.clickPayload(alice, slackalert.RemediateActionID, ref, m)

	forged := func(r *http.Request, body []byte) { slackinteract.SignRequest(r, "not-the-secret", time.Now(), body) }
	stale := func(r *http.Request, body []byte) {
		slackinteract.SignRequest(r, signingSecret, time.Now().Add(-6*time.Minute), body)
	}
	if code := l.post(p, forged); code != http.StatusUnauthorized {
		t.Errorf("forged signature: HTTP %d, want 401", code)
	}
	if code := l.post(p, stale); code != http.StatusUnauthorized {
		t.Errorf("stale timestamp: HTTP %d, want 401", code)
	}
	// The same signed request twice: the second is a replay.
	raw, _ := json.Marshal(p)
	body := []byte("payload=" + url.QueryEscape(string(raw)))
	ts := time.Now()
	send := func() int {
		req, _ := http.NewRequest(http.MethodPost, l.interact.URL, bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		slackinteract.SignRequest(req, signingSecret, ts, body)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if code := send(); code != http.StatusOK {
		t.Fatalf("first delivery: HTTP %d", code)
	}
	if code := send(); code != http.StatusConflict {
		t.Errorf("replayed request: HTTP %d, want 409", code)
	}
	if n := l.drain(); n != 1 {
		t.Errorf("%d remediation requests dispatched, want exactly 1 (the replay must not count)", n)
	}
}

// A fix that fails leaves the resource as it was and says so clearly.
func TestFailingFixLeavesNoPartialState(t *testing.T) {
	denyRevoke := func(stack *middleware.Stack) error {
		return stack.Initialize.Add(middleware.InitializeMiddlewareFunc("deny-revoke",
			func(ctx context.Context, in middleware.InitializeInput, next middleware.InitializeHandler) (middleware.InitializeOutput, middleware.Metadata, error) {
				if middleware.GetOperationName(ctx) == "RevokeSecurityGroupIngress" {
					return middleware.InitializeOutput{}, middleware.Metadata{}, fmt.Errorf("UnauthorizedOperation: You are not authorized to perform this operation")
				}
				return next.HandleInitialize(ctx, in)
			}), middleware.Before)
	}
	l := newLoop(t, options{policy: policy(""), remediatorAPIOptions: []func(*middleware.Stack) error{denyRevoke}})
	m := l.openSSH()
	ref, _ := l.button(m, slackalert.RemediateActionID)
	l.click(alice, slackalert.RemediateActionID, ref, m)
	l.drain()
	if !l.sshOpen() {
		t.Fatal("the failed fix changed the security group")
	}
	after, _ := l.slack.Message(m.TS)
	for _, want := range []string{"failed", "UnauthorizedOperation"} {
		if !strings.Contains(string(after.Blocks), want) {
			t.Errorf("the message after a failed fix lacks %q: %s", want, after.Blocks)
		}
	}
	if got := len(l.audit("remediation_failed")); got != 1 {
		t.Errorf("%d remediation_failed audit entries, want 1", got)
	}
}

// Mode auto fixes without a click inside a maintenance window, and falls
// back to approve outside.
func TestAutoModeFollowsTheWindow(t *testing.T) {
	now := time.Now().UTC()
	auto := func(start, end string) string {
		return `  aws_ec2_sg_no_public_ingress_tcp_22:
    mode: auto
maintenance_windows:
  - name: ops
    timezone: UTC
    days: [mon, tue, wed, thu, fri, sat, sun]
    start: "` + start + `"
    end: "` + end + `"
auto:
  windows: [ops]
  rate_limit: {per_account: 5, window: 1h}
`
	}
	t.Run("inside", func(t *testing.T) {
		l := newLoop(t, options{policy: policy(auto("00:00", "24:00"))})
		l.openSSH()
		if n := l.drain(); n < 1 || l.sshOpen() {
			t.Fatalf("inside the window: %d requests, ssh open %v", n, l.sshOpen())
		}
		m := l.message("aws_ec2_sg_no_public_ingress_tcp_22")
		if !strings.Contains(string(m.Blocks), "RESOLVED") || !strings.Contains(strings.ToLower(string(m.Blocks)), "automatic") {
			t.Errorf("the auto-fixed message: %s", m.Blocks)
		}
	})
	t.Run("outside", func(t *testing.T) {
		start, end := now.Add(2*time.Hour).Format("15:04"), now.Add(3*time.Hour).Format("15:04")
		l := newLoop(t, options{policy: policy(auto(start, end))})
		m := l.openSSH()
		if n := l.drain(); n != 0 || !l.sshOpen() {
			t.Fatalf("outside the window: %d requests, ssh open %v", n, l.sshOpen())
		}
		if _, ok := l.button(m, slackalert.RemediateActionID); !ok {
			t.Errorf("outside the window the alert should fall back to a Remediate button: %s", m.Blocks)
		}
	})
}

// An accepted risk suppresses the finding, and the next drift alerts again
// only once it expires.
func TestAcceptRiskSuppressesUntilExpiry(t *testing.T) {
	l := newLoop(t, options{policy: policy("")})
	m := l.openSSH()
	ref, ok := l.button(m, slackalert.AcceptRiskActionID)
	if !ok {
		t.Fatal("no Accept risk button")
	}
	l.click(alice, slackalert.AcceptRiskActionID, ref, m)
	var view *json.RawMessage
	for _, c := range l.slack.Calls() {
		if c.Method == slackrec.MethodViewsOpen {
			v := c.View
			view = &v
		}
	}
	if view == nil {
		t.Fatal("Accept risk opened no modal")
	}
	modal := slackalert.AcceptRiskModal(ref, "", 30, m.Channel, m.TS)
	submission := map[string]any{
		"type": "view_submission",
		"team": map[string]any{"id": "T0DRIFT"},
		"user": map[string]any{"id": alice, "username": "alice", "name": "alice", "team_id": "T0DRIFT"},
		"view": map[string]any{
			"id": "V0ACCEPT", "type": "modal", "callback_id": slackalert.AcceptRiskCallbackID,
			"private_metadata": modal.PrivateMetadata,
			"state": map[string]any{"values": map[string]any{
				slackalert.AcceptRiskReasonBlockID: map[string]any{slackalert.AcceptRiskReasonActionID: map[string]any{"type": "plain_text_input", "value": "bastion migration this sprint; <!channel> ticket SEC-42"}},
				slackalert.AcceptRiskExpiryBlockID: map[string]any{slackalert.AcceptRiskExpiryActionID: map[string]any{"type": "static_select", "selected_option": map[string]any{"value": "7"}}},
			}},
		},
	}
	if code := l.post(submission, l.signNow); code != http.StatusOK {
		t.Fatalf("submission: HTTP %d", code)
	}
	l.drain() // the re-evaluation
	accepted, _ := l.slack.Message(m.TS)
	if !strings.Contains(string(accepted.Blocks), "RISK ACCEPTED") || strings.Contains(string(accepted.Blocks), "<!channel>") {
		t.Fatalf("the message after accepting the risk: %s", accepted.Blocks)
	}

	// More events for the same drift: no new alert while the risk holds.
	posts := len(l.topPosts())
	l.deliver("13-authorize-ssh-from-anywhere.json")
	if len(l.topPosts()) != posts {
		t.Fatal("a suppressed finding alerted again")
	}
	// The exception expires: the next event alerts again, in a new message.
	loaded, err := l.store.LoadAll(t.Context(), l.sgKey())
	if err != nil || len(loaded.Exceptions) != 1 {
		t.Fatalf("exceptions = %+v, %v", loaded.Exceptions, err)
	}
	exc := loaded.Exceptions[0]
	exc.ExpiresAt = time.Now().Add(time.Second)
	if err := l.store.PutException(t.Context(), exc); err != nil {
		t.Fatal(err)
	}
	time.Sleep(1100 * time.Millisecond)
	l.deliver("13-authorize-ssh-from-anywhere.json")
	if len(l.topPosts()) != posts+1 {
		t.Fatalf("after the exception expired: %d messages, want %d", len(l.topPosts()), posts+1)
	}
}

func (l *loop) topPosts() []slackrec.Call {
	var out []slackrec.Call
	for _, c := range l.slack.Calls() {
		if c.Method == slackrec.MethodPostMessage && c.ThreadTS == "" && c.OK() {
			out = append(out, c)
		}
	}
	return out
}
