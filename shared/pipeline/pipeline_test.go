package pipeline_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/driftwatch/driftwatch/shared/awsres"
	"github.com/driftwatch/driftwatch/shared/change"
	"github.com/driftwatch/driftwatch/shared/pipeline"
	"github.com/driftwatch/driftwatch/shared/resource"
	"github.com/driftwatch/driftwatch/shared/rules"
	"github.com/driftwatch/driftwatch/shared/slackalert"
	"github.com/driftwatch/driftwatch/shared/slackalert/slackrec"
	"github.com/driftwatch/driftwatch/shared/store"
	"github.com/driftwatch/driftwatch/shared/store/memstore"
)

// docFetcher serves resource documents the test sets, standing in for a
// cloud fetcher so that these tests drive the pipeline's own logic (drift,
// exactly-once alerts, ordering). The AWS fetchers are tested against the
// emulator in awsfetch, and the whole path in awsdetector.
type docFetcher struct {
	mu    sync.Mutex
	docs  map[string]any // by ref id; nil: deleted
	clock time.Time
	// backdate, when set, is the ObservedAt of the next fetch: a read that
	// started long ago and finishes late.
	backdate time.Time
}

func (f *docFetcher) set(id string, doc any) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.docs[id] = doc
}

func (f *docFetcher) tick() time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.clock = f.clock.Add(time.Second)
	return f.clock
}

func (f *docFetcher) Fetch(_ context.Context, ref change.ResourceRef) (resource.Resource, error) {
	at := f.tick()
	f.mu.Lock()
	defer f.mu.Unlock()
	if !f.backdate.IsZero() {
		at, f.backdate = f.backdate, time.Time{}
	}
	doc := f.docs[ref.ID]
	res := resource.Resource{Ref: ref, ObservedAt: at, Exists: doc != nil, Doc: doc}
	if sg, ok := doc.(*awsres.SecurityGroup); ok {
		res.Tags = sg.Tags
	}
	return res, nil
}

type harness struct {
	t     *testing.T
	det   *pipeline.Detector
	fetch *docFetcher
	store *memstore.Store
	slack *slackrec.Recorder
	seq   int
}

func newHarness(t *testing.T, extraRules ...string) *harness {
	t.Helper()
	return newHarnessWith(t, pipeline.Options{}, extraRules...)
}

// newHarnessWith is newHarness with further options (the harness sets the
// accounts, console links and clock).
func newHarnessWith(t *testing.T, o pipeline.Options, extraRules ...string) *harness {
	t.Helper()
	specs, err := rules.Load(rules.Builtin("aws"))
	if err != nil {
		t.Fatal(err)
	}
	for i, src := range extraRules {
		s, err := rules.Parse(fmt.Sprintf("extra%d.yaml", i), []byte(src))
		if err != nil {
			t.Fatal(err)
		}
		specs = append(specs, s)
	}
	engine, err := rules.Compile(specs, awsres.Types())
	if err != nil {
		t.Fatal(err)
	}
	rec := slackrec.Start()
	t.Cleanup(rec.Close)
	n, err := slackalert.New(rec.Client("xoxb-test"), "C0DRIFT", nil)
	if err != nil {
		t.Fatal(err)
	}
	st := memstore.New()
	f := &docFetcher{docs: map[string]any{}, clock: time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)}
	o.Accounts = map[string]pipeline.Account{"123456789012": {Name: "payments-prod", Environment: "prod"}}
	o.ConsoleURL = awsres.ConsoleURL
	o.Now = func() time.Time { return time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC) }
	det := pipeline.New(f, engine, st, n, &o)
	return &harness{t: t, det: det, fetch: f, store: st, slack: rec}
}

const sgID = "arn:aws:ec2:eu-west-1:123456789012:security-group/sg-0abc"

var sgRef = change.ResourceRef{Cloud: change.AWS, Type: awsres.TypeSecurityGroup, ID: sgID, Name: "sg-0abc", Account: "123456789012", Region: "eu-west-1"}

func (h *harness) event(op string) change.Change {
	h.seq++
	return change.Change{
		EventID: fmt.Sprintf("evt-%03d", h.seq), Cloud: change.AWS, Account: "123456789012", Region: "eu-west-1",
		Service: "ec2.amazonaws.com", Operation: op, Resources: []change.ResourceRef{sgRef},
		Actor: change.Actor{Principal: "arn:aws:iam::123456789012:user/bob", Type: "IAMUser", Name: "bob", Via: "cli", SourceIP: "192.0.2.44"},
		Time:  time.Date(2026, 12, 1, 9, 0, h.seq, 0, time.UTC),
	}
}

func (h *harness) process(c change.Change) pipeline.Outcome {
	h.t.Helper()
	out, err := h.det.Process(context.Background(), c)
	if err != nil {
		h.t.Fatalf("process %s: %v", c.EventID, err)
	}
	return out
}

func sg(rules ...awsres.SGRule) *awsres.SecurityGroup {
	return &awsres.SecurityGroup{ID: "sg-0abc", ARN: sgID, Name: "payments-web", VPCID: "vpc-1", Ingress: rules,
		Egress: []awsres.SGRule{{Protocol: "-1", FromPort: -1, ToPort: -1, CIDR: "0.0.0.0/0", Public: true}}}
}

var (
	https    = awsres.SGRule{RuleID: "sgr-1", Protocol: "tcp", FromPort: 443, ToPort: 443, CIDR: "0.0.0.0/0", Public: true}
	sshWorld = awsres.SGRule{RuleID: "sgr-2", Protocol: "tcp", FromPort: 22, ToPort: 22, CIDR: "0.0.0.0/0", Public: true}
	rdpWorld = awsres.SGRule{RuleID: "sgr-3", Protocol: "tcp", FromPort: 3389, ToPort: 3389, CIDR: "::/0", IPv6: true, Public: true}
)

// posts returns the chat.postMessage calls that succeeded (top-level only).
func (h *harness) posts() []slackrec.Call {
	var out []slackrec.Call
	for _, c := range h.slack.Calls() {
		if c.Method == slackrec.MethodPostMessage && c.ThreadTS == "" && c.OK() {
			out = append(out, c)
		}
	}
	return out
}

func (h *harness) updates() []slackrec.Call {
	var out []slackrec.Call
	for _, c := range h.slack.Calls() {
		if c.Method == slackrec.MethodUpdate && c.OK() {
			out = append(out, c)
		}
	}
	return out
}

func TestDriftLifecycle(t *testing.T) {
	h := newHarness(t)
	ctx := context.Background()

	// A compliant security group: stored, no message.
	h.fetch.set(sgID, sg(https))
	out := h.process(h.event("CreateSecurityGroup"))
	if len(out.Resources) != 1 || !out.Resources[0].Written || len(out.Resources[0].Failing) != 0 {
		t.Fatalf("baseline outcome = %+v", out.Resources)
	}
	if n := len(h.slack.Calls()); n != 0 {
		t.Fatalf("compliant baseline made %d Slack calls", n)
	}

	// SSH opened to the world: one alert.
	h.fetch.set(sgID, sg(https, sshWorld))
	out = h.process(h.event("AuthorizeSecurityGroupIngress"))
	if got := out.Resources[0].Drift.Opened; len(got) != 1 || got[0] != "aws_ec2_sg_no_public_ingress_tcp_22" {
		t.Fatalf("opened = %v", got)
	}
	posts := h.posts()
	if len(posts) != 1 {
		t.Fatalf("posts = %d, want 1", len(posts))
	}
	msgTS := posts[0].TS
	first, _ := h.slack.Message(msgTS)
	for _, want := range []string{"HIGH", "aws_ec2_sg_no_public_ingress_tcp_22", "payments-prod", "AuthorizeSecurityGroupIngress", "bob"} {
		if !strings.Contains(string(first.Blocks), want) {
			t.Errorf("alert blocks lack %q", want)
		}
	}
	findings, err := h.store.Findings(ctx, store.KeyOf(sgRef))
	if err != nil || len(findings) != 1 || findings[0].Alert.TS != msgTS || !findings[0].BeforeKnown {
		t.Fatalf("findings = %+v, %v", findings, err)
	}

	// The same state seen again through another event: nothing new.
	out = h.process(h.event("CreateTags"))
	if out.Resources[0].Notified || len(h.posts()) != 1 || len(h.updates()) != 0 {
		t.Fatalf("a repeated failing observation notified: %+v", out.Resources[0])
	}

	// RDP opened too: the same message is updated, with a thread note.
	h.fetch.set(sgID, sg(https, sshWorld, rdpWorld))
	h.process(h.event("AuthorizeSecurityGroupIngress"))
	if len(h.posts()) != 1 || len(h.updates()) != 1 {
		t.Fatalf("posts=%d updates=%d, want 1 and 1", len(h.posts()), len(h.updates()))
	}
	replies := h.slack.Replies(msgTS)
	if len(replies) != 1 || !strings.Contains(replies[0].Text, "now failing") || !strings.Contains(replies[0].Text, "3389") {
		t.Fatalf("thread replies = %+v", replies)
	}

	// Both closed: the message is resolved in place.
	h.fetch.set(sgID, sg(https))
	out = h.process(h.event("RevokeSecurityGroupIngress"))
	if len(out.Resources[0].Drift.Resolved) != 2 || !out.Resources[0].Notified {
		t.Fatalf("resolve outcome = %+v", out.Resources[0])
	}
	if len(h.posts()) != 1 || len(h.updates()) != 2 {
		t.Fatalf("posts=%d updates=%d, want 1 and 2", len(h.posts()), len(h.updates()))
	}
	final, _ := h.slack.Message(msgTS)
	if !strings.Contains(string(final.Blocks), "RESOLVED") || final.Updates != 2 {
		t.Fatalf("final message = %s (updates %d)", final.Blocks, final.Updates)
	}
	open, err := h.store.OpenFindings(ctx, store.FindingQuery{Severity: "high"})
	if err != nil || len(open) != 0 {
		t.Fatalf("open findings after resolution = %+v, %v", open, err)
	}

	// Drift again after resolution: a new message, not an edit of the old one.
	h.fetch.set(sgID, sg(https, sshWorld))
	h.process(h.event("AuthorizeSecurityGroupIngress"))
	if posts := h.posts(); len(posts) != 2 || posts[1].TS == msgTS {
		t.Fatalf("re-drift posts = %+v", posts)
	}
}

func TestDuplicateEventIsDropped(t *testing.T) {
	h := newHarness(t)
	h.fetch.set(sgID, sg(sshWorld))
	c := h.event("AuthorizeSecurityGroupIngress")
	h.process(c)
	out := h.process(c)
	if !out.Duplicate {
		t.Fatalf("second delivery not reported as duplicate: %+v", out)
	}
	if n := len(h.posts()); n != 1 {
		t.Fatalf("posts = %d, want 1", n)
	}
}

func TestOlderObservationNeverOverwritesNewer(t *testing.T) {
	h := newHarness(t)
	ctx := context.Background()
	h.fetch.set(sgID, sg(sshWorld))
	h.process(h.event("AuthorizeSecurityGroupIngress"))
	stored, err := h.store.GetResource(ctx, store.KeyOf(sgRef))
	if err != nil {
		t.Fatal(err)
	}
	// A worker that read the resource before SSH was opened finishes last:
	// its observation is older than the stored one and must change nothing.
	h.fetch.set(sgID, sg())
	h.fetch.backdate = stored.ObservedAt.Add(-time.Minute)
	out := h.process(h.event("CreateSecurityGroup"))
	if !out.Resources[0].Stale || out.Resources[0].Written || out.Resources[0].Notified {
		t.Fatalf("late observation outcome = %+v", out.Resources[0])
	}
	after, err := h.store.GetResource(ctx, store.KeyOf(sgRef))
	if err != nil || after.Revision != stored.Revision || !contains(after.Failing(), "aws_ec2_sg_no_public_ingress_tcp_22") {
		t.Fatalf("state after a late observation = rev %d failing %v (%v)", after.Revision, after.Failing(), err)
	}
	if len(h.posts()) != 1 || len(h.updates()) != 0 {
		t.Fatalf("posts=%d updates=%d after a late observation", len(h.posts()), len(h.updates()))
	}
}

func TestConcurrentEventsAlertOnce(t *testing.T) {
	h := newHarness(t)
	h.fetch.set(sgID, sg(https))
	h.process(h.event("CreateSecurityGroup"))
	h.fetch.set(sgID, sg(https, sshWorld))
	events := make([]change.Change, 8)
	for i := range events {
		events[i] = h.event("AuthorizeSecurityGroupIngress")
	}
	var wg sync.WaitGroup
	errs := make([]error, len(events))
	for i, c := range events {
		wg.Go(func() { _, errs[i] = h.det.Process(context.Background(), c) })
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if n := len(h.posts()); n != 1 {
		t.Fatalf("8 concurrent events for one drift posted %d messages, want 1", n)
	}
}

func TestSlackFailureIsRetriedByRedelivery(t *testing.T) {
	h := newHarness(t)
	h.fetch.set(sgID, sg(sshWorld))
	c := h.event("AuthorizeSecurityGroupIngress")
	h.slack.InjectNext(1, slackrec.Fault{Status: 503, Method: slackrec.MethodPostMessage})
	if _, err := h.det.Process(context.Background(), c); err == nil {
		t.Fatal("a failed Slack post did not fail the event")
	}
	if n := len(h.posts()); n != 0 {
		t.Fatalf("posts after failure = %d", n)
	}
	// The platform redelivers the same event after the alert lease: the
	// claim was released, the posture is already stored, the alert is
	// delivered once.
	h.det = pipelineAfter(h, 2*time.Minute)
	out := h.process(c)
	if out.Duplicate || len(h.posts()) != 1 {
		t.Fatalf("redelivery: duplicate=%v posts=%d", out.Duplicate, len(h.posts()))
	}
	h.process(c)
	if n := len(h.posts()); n != 1 {
		t.Fatalf("posts after a third delivery = %d, want 1", n)
	}
}

// pipelineAfter rebuilds the detector of h with its clock moved on by d, as
// a later invocation would see it.
func pipelineAfter(h *harness, d time.Duration) *pipeline.Detector {
	specs, _ := rules.Load(rules.Builtin("aws"))
	engine, err := rules.Compile(specs, awsres.Types())
	if err != nil {
		h.t.Fatal(err)
	}
	n, err := slackalert.New(h.slack.Client("xoxb-test"), "C0DRIFT", nil)
	if err != nil {
		h.t.Fatal(err)
	}
	now := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC).Add(d)
	return pipeline.New(h.fetch, engine, h.store, n, &pipeline.Options{Now: func() time.Time { return now }})
}

func TestDeletedMessageIsPostedAgain(t *testing.T) {
	h := newHarness(t)
	h.fetch.set(sgID, sg(sshWorld))
	h.process(h.event("AuthorizeSecurityGroupIngress"))
	h.fetch.set(sgID, sg(sshWorld, rdpWorld))
	h.slack.InjectNext(1, slackrec.Fault{Error: "message_not_found", Method: slackrec.MethodUpdate})
	h.process(h.event("AuthorizeSecurityGroupIngress"))
	posts := h.posts()
	if len(posts) != 2 {
		t.Fatalf("posts = %d, want the original and a re-post", len(posts))
	}
	m, _ := h.slack.Message(posts[1].TS)
	if !strings.Contains(string(m.Blocks), "3389") {
		t.Fatalf("re-post does not show the new failing rule: %s", m.Blocks)
	}
}

func TestDeletedResourceResolves(t *testing.T) {
	h := newHarness(t)
	h.fetch.set(sgID, sg(sshWorld))
	h.process(h.event("AuthorizeSecurityGroupIngress"))
	ts := h.posts()[0].TS
	h.fetch.set(sgID, nil)
	out := h.process(h.event("DeleteSecurityGroup"))
	if out.Resources[0].Exists || len(out.Resources[0].Drift.Resolved) != 1 {
		t.Fatalf("delete outcome = %+v", out.Resources[0])
	}
	m, _ := h.slack.Message(ts)
	if !strings.Contains(string(m.Blocks), "RESOLVED") || !strings.Contains(string(m.Blocks), "no longer exists") {
		t.Fatalf("resolved message = %s", m.Blocks)
	}
}

// A rule that fails at evaluation time neither opens nor resolves an alert.
func TestEvaluationErrorKeepsPreviousState(t *testing.T) {
	const errRule = `id: custom_sg_owner_tag
title: Security group names its owner
description: Every security group carries an owner tag so that on-call knows whom to call.
resource_type: AWS::EC2::SecurityGroup
severity: low
condition: resource.tags["owner"] != "" && resource.ingress.size() < 3
settings: [tags]
controls:
  iso27001_2022: [A.5.9]
remediation:
  guidance: Tag the group with its owning team.
triggers: [CreateTags]
`
	h := newHarness(t, errRule)
	owned := sg(sshWorld, https, rdpWorld) // 3 rules: fails (and tcp 22 fails)
	owned.Tags = map[string]string{"owner": "payments"}
	h.fetch.set(sgID, owned)
	out := h.process(h.event("CreateTags"))
	failing := out.Resources[0].Failing
	if !contains(failing, "custom_sg_owner_tag") {
		t.Fatalf("failing = %v", failing)
	}
	// The tag is removed: indexing the missing key is a runtime error.
	untagged := sg(sshWorld, https, rdpWorld)
	h.fetch.set(sgID, untagged)
	out = h.process(h.event("DeleteTags"))
	if !contains(out.Resources[0].Failing, "custom_sg_owner_tag") || contains(out.Resources[0].Drift.Resolved, "custom_sg_owner_tag") {
		t.Fatalf("an evaluation error resolved the finding: %+v", out.Resources[0])
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
