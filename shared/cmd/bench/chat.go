package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/smithy-go/middleware"

	"github.com/driftwatch/driftwatch/shared/alert"
	"github.com/driftwatch/driftwatch/shared/awsdetector"
	"github.com/driftwatch/driftwatch/shared/awsinteract"
	"github.com/driftwatch/driftwatch/shared/awsremediator"
	"github.com/driftwatch/driftwatch/shared/change"
	"github.com/driftwatch/driftwatch/shared/internal/awsdemo"
	"github.com/driftwatch/driftwatch/shared/internal/motoserver"
	"github.com/driftwatch/driftwatch/shared/remediation"
	"github.com/driftwatch/driftwatch/shared/slackalert"
	"github.com/driftwatch/driftwatch/shared/slackalert/slackrec"
	"github.com/driftwatch/driftwatch/shared/store"
	"github.com/driftwatch/driftwatch/shared/store/dynamostore"
)

// chatSection heads the rows of the approve-to-remediate measurements,
// Go benchmark rows included.
const chatSection = "chat remediation"

// The chat deployment: the Slack app, its people and the governance they
// work under, as in the end-to-end test of awsinteract.
const (
	chatTable     = "driftwatch-bench-chat"
	chatBus       = "driftwatch"
	signingSecret = "bench-signing-secret-not-a-secret"
	sshRule       = "aws_ec2_sg_no_public_ingress_tcp_22"
	sshEvent      = "13-authorize-ssh-from-anywhere.json"
	approver      = "U0ALICE"   // an approver
	author        = "U0BOB"     // an approver, and the CLI user who opens SSH
	groupApprover = "U0CAROL"   // an approver through the @secops group
	outsider      = "U0MALLORY" // not an approver
)

// chatPolicy is the governance of the chat phase: every rule in approve
// mode, one approval from alice, bob or the @secops group, and bob known
// as the IAM user whose drift he may not approve.
const chatPolicy = `version: 1
defaults:
  mode: approve
  approval_expiry: 1h
  accept_risk_max: 30d
approvers:
  - severities: [critical, high, medium, low, informational]
    users: [` + approver + `, ` + author + `]
    groups: [S0SECOPS]
identities:
  - slack: ` + author + `
    principals: ["arn:aws:iam::123456789012:user/bob"]
`

// chatWorld is a second emulated account with all three functions
// deployed under that governance: the detector and the remediator invoked
// in-process as Lambda would, the interactivity function behind an HTTP
// server as Slack calls it, and the driftwatch bus delivering to a queue
// that is drained into the remediator.
//
// It has its own moto_server so that its table, baseline and history do
// not change what the other phases measure.
type chatWorld struct {
	moto       *motoserver.Server
	slack      *slackrec.Recorder
	env        *awsdemo.Env
	ec2        *ec2.Client        // checks, not counted
	store      *dynamostore.Store // checks, not counted
	detector   lambda.Handler
	remediator *awsremediator.Handler
	interact   *httptest.Server
	web        *http.Client // Slack's side of the interactivity endpoint
	bus        *awsdemo.Bus
	requests   *countingClient // the three functions' AWS requests
	eventsDir  string
	govDir     string
	seq        int
	clicks     int
}

// newChatWorld starts a moto_server and the Slack recorder, deploys the
// functions, and delivers the demo's compliant baseline.
func newChatWorld(ctx context.Context, eventsDir string, log *slog.Logger) (_ *chatWorld, err error) {
	moto, err := motoserver.Start(ctx)
	if err != nil {
		return nil, fmt.Errorf("moto_server: %w", err)
	}
	c := &chatWorld{moto: moto, slack: slackrec.Start(), eventsDir: eventsDir, web: &http.Client{Timeout: 30 * time.Second}}
	defer func() {
		if err != nil {
			c.close()
		}
	}()
	for _, u := range []struct{ id, name string }{{approver, "alice"}, {author, "bob"}, {groupApprover, "carol"}, {outsider, "mallory"}} {
		c.slack.SetUser(u.id, u.name, u.name+"@example.com")
	}
	c.slack.SetUserGroup("S0SECOPS", "secops", groupApprover)

	cfg := moto.Config(region)
	cfg.RetryMaxAttempts = 3 // as the functions have in Lambda; see newWorld
	ddb := dynamodb.NewFromConfig(cfg)
	if err := dynamostore.CreateTable(ctx, ddb, chatTable); err != nil {
		return nil, fmt.Errorf("create table: %w", err)
	}
	c.store, c.ec2, c.env = dynamostore.New(ddb, chatTable), ec2.NewFromConfig(cfg), awsdemo.NewEnv(cfg)

	bcfg := cfg.Copy()
	bcfg.APIOptions = append(bcfg.APIOptions, shortPoll)
	if c.bus, err = awsdemo.NewBus(ctx, bcfg, chatBus); err != nil {
		return nil, err
	}

	if c.govDir, err = os.MkdirTemp("", "driftwatch-bench-"); err != nil {
		return nil, err
	}
	govFile := filepath.Join(c.govDir, "governance.yaml")
	if err := os.WriteFile(govFile, []byte(chatPolicy), 0o600); err != nil {
		return nil, err
	}
	env := map[string]string{
		"DRIFTWATCH_TABLE":            chatTable,
		"DRIFTWATCH_BUS":              chatBus,
		"DRIFTWATCH_GOVERNANCE_FILE":  govFile,
		"SLACK_CHANNEL":               channel,
		"SLACK_BOT_TOKEN":             botToken,
		"SLACK_API_URL":               c.slack.URL() + "/",
		"SLACK_SIGNING_SECRET":        signingSecret,
		"SLACK_RESPONSE_URL_PREFIXES": c.slack.URL(),
		"DRIFTWATCH_S3_PATH_STYLE":    "true",
		"DRIFTWATCH_DISABLED_RULES":   awsdemo.DisabledRules,
		"DRIFTWATCH_ACCOUNTS":         accounts,
		"DRIFTWATCH_LOG_LEVEL":        "warn",
	}
	getenv := func(k string) string { return env[k] }
	dc, err := awsdetector.ConfigFromEnv(getenv)
	if err != nil {
		return nil, err
	}
	ic, err := awsinteract.ConfigFromEnv(getenv)
	if err != nil {
		return nil, err
	}
	// The functions share a configuration whose HTTP client counts their
	// requests and serialises their DynamoDB ones (see countingClient).
	c.requests = &countingClient{next: awshttp.NewBuildableClient(), n: map[string]int64{}}
	fcfg := cfg.Copy()
	fcfg.HTTPClient = c.requests
	flog := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: dc.LogLevel}))
	det, err := awsdetector.New(ctx, dc, fcfg, flog)
	if err != nil {
		return nil, fmt.Errorf("build the detector: %w", err)
	}
	c.detector = lambda.NewHandler(det.Handle)
	if c.remediator, err = awsremediator.New(ctx, dc, fcfg, flog); err != nil {
		return nil, fmt.Errorf("build the remediator: %w", err)
	}
	h, err := awsinteract.New(ctx, ic, fcfg, flog)
	if err != nil {
		return nil, fmt.Errorf("build the interactivity function: %w", err)
	}
	c.interact = httptest.NewServer(h)

	log.Info("chat remediation: building the compliant baseline")
	steps, err := c.env.Baseline(ctx)
	if err != nil {
		return nil, err
	}
	for _, s := range steps {
		sum, err := c.deliver(ctx, s.Event)
		if err != nil {
			return nil, err
		}
		if sum.Processed != 1 || sum.Failed != 0 {
			return nil, fmt.Errorf("baseline event %s: summary %+v", s.Event, sum)
		}
	}
	return c, nil
}

func (c *chatWorld) close() {
	if c.interact != nil {
		c.interact.Close()
	}
	if c.govDir != "" {
		os.RemoveAll(c.govDir)
	}
	c.slack.Close()
	c.moto.Close()
}

// shortPoll makes the queue's receives return at once: moto delivers a
// rule's target inside PutEvents, so awsdemo.Bus.Drain's one-second long
// poll would only add a wait after the last message of every drain. It
// changes the harness's wall time, not a measured interval.
func shortPoll(stack *middleware.Stack) error {
	return stack.Initialize.Add(middleware.InitializeMiddlewareFunc("BenchShortPoll",
		func(ctx context.Context, in middleware.InitializeInput, next middleware.InitializeHandler) (middleware.InitializeOutput, middleware.Metadata, error) {
			if p, ok := in.Parameters.(*sqs.ReceiveMessageInput); ok {
				p.WaitTimeSeconds = 0
			}
			return next.HandleInitialize(ctx, in)
		}), middleware.Before)
}

// deliver hands an event file to the detector under a fresh event id, as
// a new change.
func (c *chatWorld) deliver(ctx context.Context, event string) (awsdetector.Summary, error) {
	c.seq++
	payload, err := eventPayload(c.env, c.eventsDir, mutation{event: event}, false, fmt.Sprintf("c4a70000-0000-4000-8000-%012d", c.seq))
	if err != nil {
		return awsdetector.Summary{}, err
	}
	sum, _, err := invokeDetector(ctx, c.detector, fmt.Sprintf("bench-chat-%d", c.seq), payload)
	if err != nil {
		return sum, fmt.Errorf("%s: %w", event, err)
	}
	return sum, nil
}

// openSSH is the drift: bob opens SSH to the world through the SDK and its
// event reaches the detector, which opens a new finding episode and posts
// or updates the alert. It returns the alert and its Remediate button.
func (c *chatWorld) openSSH(ctx context.Context, seen map[string]bool) (slackrec.Message, alert.FixRef, error) {
	i := slices.IndexFunc(awsdemo.Drift(), func(s awsdemo.Step) bool { return s.Event == sshEvent })
	if i < 0 {
		return slackrec.Message{}, alert.FixRef{}, fmt.Errorf("the demo scenario (internal/awsdemo) has no step for %s", sshEvent)
	}
	if err := awsdemo.Drift()[i].Apply(ctx, c.env); err != nil {
		return slackrec.Message{}, alert.FixRef{}, fmt.Errorf("open SSH: %w", err)
	}
	sum, err := c.deliver(ctx, sshEvent)
	if err != nil {
		return slackrec.Message{}, alert.FixRef{}, err
	}
	if err := checkOutcome(classDrift, sum); err != nil {
		return slackrec.Message{}, alert.FixRef{}, fmt.Errorf("%s: %w", sshEvent, err)
	}
	// The alert of this episode is the one top-level message whose
	// Remediate button is for the SSH rule and an episode not seen before.
	var found []slackrec.Message
	var refs []alert.FixRef
	for _, m := range c.slack.Messages() {
		if m.ThreadTS != "" {
			continue
		}
		ref, err := awsdemo.ButtonRef(m.Blocks, slackalert.RemediateActionID)
		if err == nil && ref.RuleID == sshRule && !seen[remediationID(ref)] {
			found, refs = append(found, m), append(refs, ref)
		}
	}
	if len(found) != 1 {
		return slackrec.Message{}, alert.FixRef{}, fmt.Errorf("%d alerts offer a Remediate button for a new %s episode after SSH was opened, want 1", len(found), sshRule)
	}
	return found[0], refs[0], nil
}

// remediationID is the id of the remediation of the finding episode a
// button names.
func remediationID(ref alert.FixRef) string {
	return remediation.NewID(refKey(ref), ref.RuleID, time.Unix(0, ref.FirstSeen))
}

func refKey(ref alert.FixRef) store.Key {
	return store.Key{Cloud: change.Cloud(ref.Cloud), Account: ref.Account, ResourceID: ref.ResourceID}
}

// click posts a signed Remediate click on m as user, as Slack does, and
// times it from sending the request to the end of the answer. The request
// is built and signed before the clock starts.
func (c *chatWorld) click(ctx context.Context, user string, m slackrec.Message, ref alert.FixRef) (start time.Time, took time.Duration, respID string, err error) {
	c.clicks++
	respID = fmt.Sprintf("bench-click-%d", c.clicks)
	p := awsdemo.Click{User: user, ActionID: slackalert.RemediateActionID, Ref: ref, Channel: m.Channel, TS: m.TS,
		ResponseURL: c.slack.ResponseURL(respID), TriggerID: fmt.Sprintf("bench-trigger-%d", c.clicks),
		Team: "T0DRIFT", AppID: "A0DRIFT", ActionTimestamp: time.Now()}.Payload()
	req, err := awsdemo.SignedRequest(c.interact.URL, signingSecret, p, time.Now())
	if err != nil {
		return start, 0, respID, err
	}
	start = time.Now()
	resp, err := c.web.Do(req.WithContext(ctx))
	if err != nil {
		return start, 0, respID, fmt.Errorf("click: %w", err)
	}
	_, err = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	took = time.Since(start)
	if err != nil {
		return start, took, respID, fmt.Errorf("click: reading the answer: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		return start, took, respID, fmt.Errorf("click answered HTTP %d", resp.StatusCode)
	}
	return start, took, respID, nil
}

// ephemeral returns the reply posted to a click's response_url, "" when
// none.
func (c *chatWorld) ephemeral(respID string) string {
	for _, call := range c.slack.Calls() {
		if call.Method == slackrec.MethodResponseURL && strings.HasSuffix(call.Path, respID) {
			return call.Text
		}
	}
	return ""
}

// fixed reports whether the remediation succeeded and the security group
// no longer admits SSH from anywhere.
func (c *chatWorld) fixed(ctx context.Context, key store.Key, remID string) (bool, error) {
	rem, err := c.store.GetRemediation(ctx, key, remID)
	if errors.Is(err, store.ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("read remediation %s: %w", remID, err)
	}
	if rem.State != store.RemediationSucceeded {
		return false, nil
	}
	open, err := c.sshOpen(ctx)
	return !open, err
}

// sshOpen reports whether the web security group admits SSH from anywhere.
func (c *chatWorld) sshOpen(ctx context.Context) (bool, error) {
	out, err := c.ec2.DescribeSecurityGroups(ctx, &ec2.DescribeSecurityGroupsInput{GroupIds: []string{c.env.Vars["GROUP_ID"]}})
	if err != nil {
		return false, fmt.Errorf("describe the security group: %w", err)
	}
	if len(out.SecurityGroups) != 1 {
		return false, fmt.Errorf("describe the security group: %d groups", len(out.SecurityGroups))
	}
	for _, p := range out.SecurityGroups[0].IpPermissions {
		if aws.ToInt32(p.FromPort) <= 22 && 22 <= aws.ToInt32(p.ToPort) {
			for _, r := range p.IpRanges {
				if aws.ToString(r.CidrIp) == "0.0.0.0/0" {
					return true, nil
				}
			}
		}
	}
	return false, nil
}

// chatSample is one timed interval with what the functions sent during it.
type chatSample struct {
	took     time.Duration
	requests map[string]int64
	slack    int64
}

// chatRun is what the chat phase measured.
type chatRun struct {
	approvals, refusals []chatSample // the interactivity function's answers
	clickToFix          []time.Duration
	remediator          []chatSample // drain start → handler returned
	handlerOnly         []time.Duration
}

// fixCycle is one click → fix iteration: SSH opened and alerted, alice
// approves, the bus's queue is drained into the remediator. The clock
// stops when the store says the remediation succeeded and the security
// group no longer admits SSH from anywhere.
func (c *chatWorld) fixCycle(ctx context.Context, run *chatRun, seen map[string]bool) error {
	m, ref, err := c.openSSH(ctx, seen)
	if err != nil {
		return err
	}
	remID, key := remediationID(ref), refKey(ref)
	seen[remID] = true

	before, calls := c.requests.snapshot(), len(c.slack.Calls())
	start, ack, respID, err := c.click(ctx, approver, m, ref)
	if err != nil {
		return err
	}
	run.approvals = append(run.approvals, chatSample{took: ack, requests: requestDelta(before, c.requests.snapshot()), slack: int64(len(c.slack.Calls()) - calls)})
	if reply := c.ephemeral(respID); reply != "" {
		return fmt.Errorf("the approver's click was answered %q, want a dispatched fix", reply)
	}

	before, calls = c.requests.snapshot(), len(c.slack.Calls())
	var handled, fixedAt time.Time
	var handler time.Duration
	var after map[string]int64
	var slackAfter int
	drainStart := time.Now()
	n, err := c.bus.Drain(ctx, func(ctx context.Context, ev events.EventBridgeEvent, _ []byte) error {
		t0 := time.Now()
		if err := c.remediator.Handle(ctx, ev); err != nil {
			return fmt.Errorf("remediator: %w", err)
		}
		handled = time.Now()
		handler += handled.Sub(t0)
		after, slackAfter = c.requests.snapshot(), len(c.slack.Calls())
		if fixedAt.IsZero() {
			ok, err := c.fixed(ctx, key, remID)
			if err != nil {
				return err
			}
			if ok {
				fixedAt = time.Now()
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("drain the bus: %w", err)
	}
	if n != 1 {
		return fmt.Errorf("the approval sent %d requests to the remediator, want 1", n)
	}
	if fixedAt.IsZero() {
		rem, err := c.store.GetRemediation(ctx, key, remID)
		return fmt.Errorf("after the remediator ran, remediation %s is %q (%s; err %v) or SSH is still open", remID, rem.State, rem.Result, err)
	}
	// The remediator updated the alert in place (checked, not timed).
	if now, ok := c.slack.Message(m.TS); !ok || !strings.Contains(string(now.Blocks), "RESOLVED") || !strings.Contains(string(now.Blocks), slackalert.UndoActionID) {
		return fmt.Errorf("after the fix the alert does not show it resolved with an Undo button: %s", now.Blocks)
	}
	run.clickToFix = append(run.clickToFix, fixedAt.Sub(start))
	run.remediator = append(run.remediator, chatSample{took: handled.Sub(drainStart), requests: requestDelta(before, after), slack: int64(slackAfter - calls)})
	run.handlerOnly = append(run.handlerOnly, handler)
	return nil
}

// refusals opens one more episode and clicks Remediate on it n times as a
// user who is not an approver: each click must be refused with an
// ephemeral reply and a denial in the audit log, and nothing may reach the
// remediator.
func (c *chatWorld) refusals(ctx context.Context, run *chatRun, seen map[string]bool, n int) error {
	m, ref, err := c.openSSH(ctx, seen)
	if err != nil {
		return err
	}
	key := refKey(ref)
	denied, err := c.denials(ctx, key)
	if err != nil {
		return err
	}
	for range n {
		before, calls := c.requests.snapshot(), len(c.slack.Calls())
		_, took, respID, err := c.click(ctx, outsider, m, ref)
		if err != nil {
			return err
		}
		run.refusals = append(run.refusals, chatSample{took: took, requests: requestDelta(before, c.requests.snapshot()), slack: int64(len(c.slack.Calls()) - calls)})
		if c.ephemeral(respID) == "" {
			return errors.New("a non-approver's click got no ephemeral reply")
		}
	}
	now, err := c.denials(ctx, key)
	if err != nil {
		return err
	}
	if now-denied != n {
		return fmt.Errorf("%d refused clicks left %d denial audit entries, want %d", n, now-denied, n)
	}
	k, err := c.bus.Drain(ctx, func(context.Context, events.EventBridgeEvent, []byte) error { return nil })
	if err != nil {
		return fmt.Errorf("drain the bus: %w", err)
	}
	if k != 0 {
		return fmt.Errorf("refused clicks sent %d requests to the remediator, want none", k)
	}
	if open, err := c.sshOpen(ctx); err != nil || !open {
		return fmt.Errorf("after refused clicks SSH open = %v (err %v), want still open", open, err)
	}
	return nil
}

// denials counts the denial entries in key's audit log.
func (c *chatWorld) denials(ctx context.Context, key store.Key) (int, error) {
	entries, err := c.store.Audit(ctx, key)
	if err != nil {
		return 0, fmt.Errorf("read the audit log: %w", err)
	}
	n := 0
	for _, e := range entries {
		if e.Kind == "denial" {
			n++
		}
	}
	return n, nil
}

// measure runs clicks signed clicks: half approvals, each a click → fix
// iteration, then the rest refused.
func (c *chatWorld) measure(ctx context.Context, clicks int, log *slog.Logger) (report, error) {
	var rep report
	if clicks < 2 {
		return rep, errors.New("the chat phase needs at least 2 clicks (an approval and a refusal)")
	}
	approvals := clicks / 2
	var run chatRun
	seen := map[string]bool{}
	log.Info("chat remediation: click → fix", "iterations", approvals)
	for range approvals {
		if err := c.fixCycle(ctx, &run, seen); err != nil {
			return rep, fmt.Errorf("click → fix iteration %d: %w", len(run.clickToFix)+1, err)
		}
	}
	log.Info("chat remediation: refused clicks", "clicks", clicks-approvals)
	if err := c.refusals(ctx, &run, seen, clicks-approvals); err != nil {
		return rep, fmt.Errorf("refused clicks: %w", err)
	}

	rep.add(
		row{section: chatSection, measure: "ack: approval that completes the approval set (records it, puts the fix on the bus, re-renders the alert)",
			n: fmt.Sprint(len(run.approvals)), result: durationSummary(tookOf(run.approvals)), detail: "per click: " + chatCounts(run.approvals)},
		row{section: chatSection, measure: "ack: refused click (not an approver: governance check, audit entry, ephemeral reply)",
			n: fmt.Sprint(len(run.refusals)), result: durationSummary(tookOf(run.refusals)), detail: "per click: " + chatCounts(run.refusals)},
		row{section: chatSection, measure: "click → fix applied (SSH to the world revoked, remediation succeeded)",
			n: fmt.Sprint(len(run.clickToFix)), result: durationSummary(run.clickToFix), detail: "the ack, the queue receive, the remediator and the two checks"},
		row{section: chatSection, measure: "remediator: drain start → handler returned",
			n: fmt.Sprint(len(run.remediator)), result: durationSummary(tookOf(run.remediator)),
			detail: fmt.Sprintf("handler alone %s; per fix: %s", durationSummary(run.handlerOnly), chatCounts(run.remediator))},
	)
	rep.note("Chat remediation: the real interactivity handler (awsinteract.New) served by an in-process httptest.Server, and the detector and remediator handlers (awsdetector.New, awsremediator.New) invoked in-process, " +
		"against a second moto_server on loopback (its own table, the demo's compliant baseline, the driftwatch bus with the remediator's rule targeting a queue) and the slackrec recorder, " +
		"under a governance policy in approve mode (approvers alice, bob and the @secops group; bob, who opens SSH, may not approve his own drift). " +
		"Ack latency runs from sending a signed block_actions request (built and signed beforehand) over a kept-alive loopback connection to the end of the HTTP answer; " +
		"the handler does the controller's work before answering. The approval is alice's, the first click of each episode, so it also records the fix proposal. " +
		"The refused clicks are mallory's (not an approver) on one open alert; the first of them also records that episode's proposal. " +
		"The rows marked \"CPU only\" are the Go benchmarks of the first note: the interactivity handler alone (in-memory replay store, a controller that answers at once), the signature check, a governance decision.")
	rep.note("Click → fix applied, per iteration: SSH is opened to the world on the baseline security group through the SDK (a new finding episode, hence a new remediation id), its event is delivered to the detector, " +
		"alice clicks Remediate on the alert, the queue the bus rule targets is drained into the remediator, and the clock stops once the store reads the remediation as succeeded and DescribeSecurityGroups shows no 0.0.0.0/0 on port 22 (both loopback reads included). " +
		"The remediator's time runs from the drain's start (its SQS receive included) to the handler's return: re-read the group, snapshot, revoke, re-evaluate, store, update the Slack message and thread. " +
		"Not included: Slack's round trips (the Web API and response_url calls go to the in-process recorder, and Slack's own call to the Function URL is loopback here); EventBridge's delivery to the remediator Lambda, replaced by draining the queue (that delay, typically sub-second in AWS, is not in these figures); Lambda invocation overhead and cold starts. " +
		"The drain polls without waiting (an SDK middleware sets WaitTimeSeconds 0: moto delivers to the queue inside PutEvents), which shortens the run, not a measured interval. " +
		"Counts are the functions' AWS requests (\"events\" is EventBridge PutEvents) and the Slack posts, updates and response_url replies the recorder saw (users.info and usergroups.list reads are not recorded); a value in brackets is the min–max range. " +
		"As in the end-to-end rows, the functions' DynamoDB requests are serialised for moto's sake (see the note on moto's transactions). Every approval was checked to dispatch exactly one request and to end with the alert updated in place (resolved, with Undo), and every refusal to leave an ephemeral reply and a denial audit entry and dispatch none.")
	return rep, nil
}

func tookOf(ss []chatSample) []time.Duration {
	d := make([]time.Duration, len(ss))
	for i, s := range ss {
		d[i] = s.took
	}
	return d
}

// durationSummary is p50, p99 and max (nearest rank).
func durationSummary(d []time.Duration) string {
	if len(d) == 0 {
		return "no samples"
	}
	d = slices.Sorted(slices.Values(d))
	return fmt.Sprintf("p50 %s · p99 %s · max %s", fmtDur(percentile(d, 50)), fmtDur(percentile(d, 99)), fmtDur(d[len(d)-1]))
}

// chatCounts averages the requests per sample: DynamoDB in total and by
// operation, other services by name, and the recorded Slack calls.
func chatCounts(ss []chatSample) string {
	if len(ss) == 0 {
		return ""
	}
	stat := func(get func(chatSample) int64) string {
		lo, hi, sum := get(ss[0]), get(ss[0]), int64(0)
		for _, s := range ss {
			v := get(s)
			lo, hi, sum = min(lo, v), max(hi, v), sum+v
		}
		avg := trimFloat(float64(sum) / float64(len(ss)))
		if lo == hi {
			return avg
		}
		return fmt.Sprintf("%s (%d–%d)", avg, lo, hi)
	}
	keys := map[string]bool{}
	for _, s := range ss {
		for k := range s.requests {
			keys[k] = true
		}
	}
	var ddb, others []string
	for _, k := range slices.Sorted(maps.Keys(keys)) {
		n := stat(func(s chatSample) int64 { return s.requests[k] })
		if op, ok := strings.CutPrefix(k, "dynamodb "); ok {
			ddb = append(ddb, op+" "+n)
		} else {
			others = append(others, k+" "+n)
		}
	}
	var parts []string
	if len(ddb) > 0 {
		total := stat(func(s chatSample) int64 {
			var n int64
			for k, v := range s.requests {
				if isStore(k) {
					n += v
				}
			}
			return n
		})
		parts = append(parts, fmt.Sprintf("DynamoDB %s: %s", total, strings.Join(ddb, ", ")))
	}
	parts = append(parts, others...)
	parts = append(parts, "Slack "+stat(func(s chatSample) int64 { return s.slack }))
	return strings.Join(parts, "; ")
}
