package gcpdetector_test

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"google.golang.org/api/option"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/driftwatch/driftwatch/shared/awsfed"
	"github.com/driftwatch/driftwatch/shared/awsfed/gcpid"
	"github.com/driftwatch/driftwatch/shared/awsinteract"
	"github.com/driftwatch/driftwatch/shared/gcpbus"
	"github.com/driftwatch/driftwatch/shared/gcpdetector"
	"github.com/driftwatch/driftwatch/shared/gcpevent"
	"github.com/driftwatch/driftwatch/shared/gcpfunc"
	"github.com/driftwatch/driftwatch/shared/internal/awsdemo"
	"github.com/driftwatch/driftwatch/shared/internal/gcpdemo"
	"github.com/driftwatch/driftwatch/shared/internal/gcpfake"
	"github.com/driftwatch/driftwatch/shared/internal/motoserver"
	"github.com/driftwatch/driftwatch/shared/remediation"
	"github.com/driftwatch/driftwatch/shared/slackalert"
	"github.com/driftwatch/driftwatch/shared/slackalert/slackrec"
	"github.com/driftwatch/driftwatch/shared/store"
	"github.com/driftwatch/driftwatch/shared/store/dynamostore"
)

const (
	channel       = "C0DRIFTWATCH"
	table         = "driftwatch-posture"
	region        = "eu-west-1"
	postureRole   = "arn:aws:iam::123456789012:role/driftwatch-gcp-function"
	awsAudience   = "driftwatch-aws-federation"
	signingSecret = "e2e-signing-secret-not-a-secret"
)

// The people: Alice makes the bucket public in the console (her Google
// account is her Slack email), Bob is the other approver.
const (
	alice = "U0ALICE"
	bob   = "U0BOB"
)

// governance: fixes need one approver's click; the drift's author cannot
// approve her own drift.
const governance = `version: 1
defaults:
  mode: approve
  approval_expiry: 1h
  accept_risk_max: 30d
approvers:
  - severities: [critical, high, medium, low, informational]
    users: [` + alice + `, ` + bob + `]
`

// world is one GCP project (the Google API fake) with the GCP function
// deployed as Cloud Run runs it: its HTTP layer on a local server, to
// which push subscriptions deliver (the relay standing for Pub/Sub's push,
// with OIDC tokens of the push service account); the posture table in the
// AWS emulator reached through web identity federation with the
// function's Google ID token (the fake metadata server, the emulator's
// STS); Slack recorded; the Slack interactivity function publishing
// approved fixes to the remediation topic on the Pub/Sub emulator.
type world struct {
	t        *testing.T
	api      *gcpfake.Server
	env      *gcpdemo.Env
	google   *gcpdemo.Google
	ps       *gcpdemo.PubSub
	fn       *httptest.Server
	audit    *gcpdemo.Relay
	remedy   *gcpdemo.Relay
	slack    *slackrec.Recorder
	store    *dynamostore.Store
	events   string
	interact *httptest.Server
	clicks   int
}

const audience = "https://driftwatch-function-e2e.a.run.app/"

func newWorld(t *testing.T) *world { return newWorldWith(t, governance, push) }

// The function's delivery modes.
const (
	push = false
	pull = true
)

// newWorldWith is newWorld under another governance policy (the function
// publishes the fixes the policy makes automatic to the remediation
// topic), in push or pull mode.
func newWorldWith(t *testing.T, gov string, pullMode bool) *world {
	t.Helper()
	ctx := t.Context()
	w := &world{t: t, api: gcpfake.New()}
	var err error
	if w.events, err = filepath.Abs(filepath.Join("..", "..", "events", "gcp")); err != nil {
		t.Fatal(err)
	}
	endpoint := w.api.Start(t)
	if w.env, err = gcpdemo.NewEnv(ctx, w.api, endpoint); err != nil {
		t.Fatal(err)
	}
	if w.google, err = gcpdemo.StartGoogle(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(w.google.Close)
	if w.ps, err = gcpdemo.StartPubSub(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(w.ps.Close)

	// The posture table, reached as the function reaches it in Google
	// Cloud: its service account's ID token, from the metadata server,
	// exchanged with STS for the table's role.
	moto := motoserver.StartTB(t)
	httpClient := motoserver.SerialClient()
	setup := moto.Config(region)
	setup.HTTPClient = httpClient
	ddb := dynamodb.NewFromConfig(setup)
	if err := dynamostore.CreateTable(ctx, ddb, table); err != nil {
		t.Fatal(err)
	}
	w.store = dynamostore.New(ddb, table)
	idSource, err := gcpid.New(awsAudience, &gcpid.Options{Host: w.google.MetadataHost()})
	if err != nil {
		t.Fatal(err)
	}
	fed, err := awsfed.Config(awsfed.Options{
		Region: region, RoleARN: postureRole, RoleSessionName: "driftwatch-gcp-function",
		TokenSource: idSource, BaseEndpoint: moto.URL, HTTPClient: httpClient, Retryer: setup.Retryer,
	})
	if err != nil {
		t.Fatal(err)
	}

	w.slack = slackrec.Start()
	t.Cleanup(w.slack.Close)
	w.slack.SetUser(alice, "alice", "alice@example.com")
	w.slack.SetUser(bob, "bob", "bob@example.com")
	govFile := filepath.Join(t.TempDir(), "governance.yaml")
	if err := os.WriteFile(govFile, []byte(gov), 0o644); err != nil {
		t.Fatal(err)
	}
	accounts := `{"` + gcpdemo.Project + `": {"name": "web-prod", "environment": "prod"}}`
	c, err := gcpdetector.ConfigFromEnv(func(k string) string {
		return map[string]string{
			"DRIFTWATCH_TABLE":              table,
			"DRIFTWATCH_AWS_ROLE_ARN":       postureRole,
			"DRIFTWATCH_AWS_REGION":         region,
			"DRIFTWATCH_AWS_TOKEN_AUDIENCE": awsAudience,
			"DRIFTWATCH_GCP_API_ENDPOINT":   endpoint,
			"SLACK_CHANNEL":                 channel,
			"SLACK_BOT_TOKEN":               "xoxb-e2e-not-a-secret",
			"SLACK_API_URL":                 w.slack.URL(),
			"DRIFTWATCH_ACCOUNTS":           accounts,
			"DRIFTWATCH_GCP_PROJECTS":       gcpdemo.Project,
			"DRIFTWATCH_DISABLED_RULES":     gcpdemo.PAPRuleID,
			"DRIFTWATCH_GOVERNANCE_FILE":    govFile,
			"DRIFTWATCH_REMEDIATION_TOPIC":  gcpdemo.RemediationTopic,
			"DRIFTWATCH_LOG_LEVEL":          "warn",
		}[k]
	})
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: c.LogLevel}))
	f, err := gcpdetector.New(ctx, c, gcpdetector.Deps{
		AWS: fed, Topic: gcpbus.Publisher{P: w.ps.Publisher(gcpdemo.RemediationTopic)}, Logger: log,
	})
	if err != nil {
		t.Fatal(err)
	}
	norm, err := gcpevent.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	keys, err := gcpfunc.NewJWKS(w.google.CertsURL(), nil)
	if err != nil {
		t.Fatal(err)
	}
	auth, err := gcpfunc.NewPushVerifier(keys, audience, gcpdemo.PushServiceAccount, nil)
	if err != nil {
		t.Fatal(err)
	}
	srv, err := gcpfunc.New(gcpfunc.Config{
		Normalizer: norm, Processor: f.Detector, Auth: auth,
		Executor: f.Executor, Requests: gcpbus.PushDecoder{},
	}, &gcpfunc.Options{Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	w.fn = httptest.NewServer(srv)
	t.Cleanup(w.fn.Close)

	if pullMode {
		// The function pulls both subscriptions itself, as the binary
		// does with DRIFTWATCH_MODE=pull.
		puller, err := gcpfunc.NewPull(gcpfunc.Config{
			Normalizer: norm, Processor: f.Detector, Executor: f.Executor, Requests: gcpbus.PushDecoder{},
		}, &gcpfunc.Options{Logger: log})
		if err != nil {
			t.Fatal(err)
		}
		pctx, stop := context.WithCancel(context.Background())
		done := make(chan error, 1)
		client := w.ps.Client()
		go func() {
			done <- puller.Pull(pctx, client.Subscriber(gcpdemo.AuditSubscription), client.Subscriber(gcpdemo.RemediationSubscription),
				&gcpbus.ReceiveOptions{MaxOutstandingMessages: 4, Logger: log})
		}()
		t.Cleanup(func() {
			stop()
			if err := <-done; err != nil {
				t.Errorf("Pull returned %v after its context ended", err)
			}
		})
	} else {
		// Both push subscriptions deliver to the function with the push
		// service account's token.
		w.audit = w.ps.Relay(gcpdemo.AuditSubscription, w.fn.URL+"/", audience, w.google, http.DefaultClient)
		t.Cleanup(w.audit.Stop)
		w.remedy = w.ps.Relay(gcpdemo.RemediationSubscription, w.fn.URL+gcpfunc.DefaultRemediationPath, audience, w.google, http.DefaultClient)
		t.Cleanup(w.remedy.Stop)
	}

	// The Slack interactivity function (an AWS Lambda in production),
	// publishing approved GCP fixes to the remediation topic (the emulator
	// here; workload identity federation in production).
	ienv := map[string]string{
		"DRIFTWATCH_TABLE":                 table,
		"DRIFTWATCH_BUS":                   "driftwatch",
		"DRIFTWATCH_GOVERNANCE_FILE":       govFile,
		"DRIFTWATCH_ACCOUNTS":              accounts,
		"SLACK_CHANNEL":                    channel,
		"SLACK_BOT_TOKEN":                  "xoxb-e2e-not-a-secret",
		"SLACK_API_URL":                    w.slack.URL(),
		"SLACK_SIGNING_SECRET":             signingSecret,
		"SLACK_RESPONSE_URL_PREFIXES":      w.slack.URL(),
		"DRIFTWATCH_GCP_REMEDIATION_TOPIC": gcpdemo.RemediationTopic,
		"PUBSUB_EMULATOR_HOST":             w.ps.Addr(),
		"DRIFTWATCH_LOG_LEVEL":             "warn",
	}
	ic, err := awsinteract.ConfigFromEnv(func(k string) string { return ienv[k] })
	if err != nil {
		t.Fatal(err)
	}
	conn, err := grpc.NewClient(w.ps.Addr(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	h, err := awsinteract.NewWithDeps(ctx, ic, awsinteract.Deps{AWS: setup, GCP: []option.ClientOption{option.WithGRPCConn(conn)}, Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	w.interact = httptest.NewServer(h)
	t.Cleanup(w.interact.Close)
	return w
}

// publish publishes an events/gcp entry to the audit topic, as the Log
// Router sink does, and waits until the push subscription's delivery of it
// was acknowledged.
func (w *world) publish(name string) gcpdemo.Delivery {
	w.t.Helper()
	ctx := w.t.Context()
	now := time.Now()
	entry, err := gcpdemo.Entry(w.events, name, now)
	if err != nil {
		w.t.Fatal(err)
	}
	id, err := w.ps.PublishEntry(ctx, entry, now)
	if err != nil {
		w.t.Fatal(err)
	}
	w.wait(gcpdemo.AuditTopic)
	if w.audit == nil { // pulled: acknowledged once processed
		return gcpdemo.Delivery{MessageID: id, Status: http.StatusOK}
	}
	for _, d := range w.audit.Deliveries() {
		if d.MessageID == id {
			return d
		}
	}
	w.t.Fatalf("message %s was not delivered", id)
	return gcpdemo.Delivery{}
}

func (w *world) wait(topic string) {
	w.t.Helper()
	ctx, cancel := context.WithTimeout(w.t.Context(), 20*time.Second)
	defer cancel()
	if err := w.ps.Wait(ctx, topic); err != nil {
		w.t.Fatal(err)
	}
}

// drift creates the baseline bucket and makes it public, delivering both
// entries, and returns the alert.
func (w *world) drift() slackrec.Message {
	w.t.Helper()
	ctx := w.t.Context()
	if err := w.env.CreateBaseline(ctx); err != nil {
		w.t.Fatal(err)
	}
	if d := w.publish(gcpdemo.EventBucketCreated); d.Status != http.StatusOK {
		w.t.Fatalf("baseline delivery: %+v", d)
	}
	if err := w.env.MakePublic(ctx); err != nil {
		w.t.Fatal(err)
	}
	if d := w.publish(gcpdemo.EventBucketPublic); d.Status != http.StatusOK {
		w.t.Fatalf("drift delivery: %+v", d)
	}
	msgs := w.alerts(gcpdemo.Bucket)
	if len(msgs) != 1 {
		w.t.Fatalf("%d alerts name %s, want 1", len(msgs), gcpdemo.Bucket)
	}
	return msgs[0]
}

func (w *world) public() bool {
	w.t.Helper()
	p, err := w.env.IsPublic(w.t.Context())
	if err != nil {
		w.t.Fatal(err)
	}
	return p
}

// alerts returns the top-level messages naming s.
func (w *world) alerts(s string) []slackrec.Message {
	var found []slackrec.Message
	for _, m := range w.slack.Messages() {
		if m.ThreadTS == "" && strings.Contains(string(m.Blocks), s) {
			found = append(found, m)
		}
	}
	return found
}

func (w *world) bucketKey() store.Key {
	return store.Key{Cloud: "gcp", Account: gcpdemo.Project, ResourceID: gcpdemo.BucketID()}
}

func (w *world) auditLog(kind string) []store.AuditEntry {
	w.t.Helper()
	entries, err := w.store.Audit(w.t.Context(), w.bucketKey())
	if err != nil {
		w.t.Fatal(err)
	}
	var out []store.AuditEntry
	for _, e := range entries {
		if e.Kind == kind {
			out = append(out, e)
		}
	}
	return out
}

// click clicks a message's button as user, as Slack posts it (signed),
// waits until the request it published (if any) was delivered and
// acknowledged, and returns the ephemeral reply ("" when none).
func (w *world) click(user, actionID string, m slackrec.Message) string {
	w.t.Helper()
	ref, err := awsdemo.ButtonRef(m.Blocks, actionID)
	if err != nil {
		w.t.Fatalf("no %s button: %v\n%s", actionID, err, m.Blocks)
	}
	w.clicks++
	respID := fmt.Sprintf("click-%d", w.clicks)
	payload := awsdemo.Click{User: user, ActionID: actionID, Ref: ref, Channel: m.Channel, TS: m.TS,
		ResponseURL: w.slack.ResponseURL(respID), TriggerID: fmt.Sprintf("trigger-%d", w.clicks),
		Team: "T0DRIFT", AppID: "A0DRIFT", ActionTimestamp: time.Now()}.Payload()
	req, err := awsdemo.SignedRequest(w.interact.URL, signingSecret, payload, time.Now())
	if err != nil {
		w.t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		w.t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		w.t.Fatalf("click answered HTTP %d", resp.StatusCode)
	}
	w.wait(gcpdemo.RemediationTopic)
	for _, c := range w.slack.Calls() {
		if c.Method == slackrec.MethodResponseURL && strings.HasSuffix(c.Path, respID) {
			return c.Text
		}
	}
	return ""
}

// TestPushDeliveryToAlert: the platform team's bucket is recorded as the
// baseline with no alert; Alice granting allUsers read in the console
// reaches Slack as one alert naming her, the rule and the fix; the
// posture is in the table, reached through STS with the function's Google
// ID token; a redelivery changes nothing, and a push without a valid
// token is refused.
func TestPushDeliveryToAlert(t *testing.T) {
	w := newWorld(t)
	ctx := t.Context()
	if err := w.env.CreateBaseline(ctx); err != nil {
		t.Fatal(err)
	}
	if d := w.publish(gcpdemo.EventBucketCreated); d.Status != http.StatusOK {
		t.Fatalf("baseline delivery: %+v", d)
	}
	if n := len(w.slack.Messages()); n != 0 {
		t.Fatalf("the compliant baseline posted %d messages", n)
	}
	if err := w.env.MakePublic(ctx); err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	entry, err := gcpdemo.Entry(w.events, gcpdemo.EventBucketPublic, now)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.ps.PublishEntry(ctx, entry, now); err != nil {
		t.Fatal(err)
	}
	w.wait(gcpdemo.AuditTopic)
	msgs := w.alerts(gcpdemo.Bucket)
	if len(msgs) != 1 {
		t.Fatalf("%d alerts name %s, want 1: %v", len(msgs), gcpdemo.Bucket, w.slack.Messages())
	}
	text := string(msgs[0].Blocks)
	for _, want := range []string{"alice@example.com", "allUsers", "web-prod", "console", "Remediate"} {
		if !strings.Contains(text, want) {
			t.Errorf("the alert does not say %q:\n%s", want, text)
		}
	}

	// The posture: one open finding for the public bucket, with the fix
	// planned from the live policy, in the shared table.
	_, findings, err := w.store.Load(ctx, w.bucketKey())
	if err != nil {
		t.Fatal(err)
	}
	var public *store.Finding
	for i, f := range findings {
		if f.RuleID == gcpdemo.PublicRuleID {
			public = &findings[i]
		}
	}
	switch {
	case public == nil:
		t.Fatalf("no %s finding: %+v", gcpdemo.PublicRuleID, findings)
	case public.Status != store.FindingOpen:
		t.Errorf("%s is %s, want open", gcpdemo.PublicRuleID, public.Status)
	case !strings.Contains(public.FixPlan, "allUsers") || !strings.Contains(public.FixPlan, gcpdemo.PublicRole):
		t.Errorf("the fix plan is %q: want it to remove allUsers from %s", public.FixPlan, gcpdemo.PublicRole)
	}

	// Pub/Sub redelivers the same entry (a new message, the same
	// insertId): a duplicate, acknowledged, no Slack call.
	before := len(w.slack.Calls())
	if _, err := w.ps.PublishEntry(ctx, entry, now); err != nil {
		t.Fatal(err)
	}
	w.wait(gcpdemo.AuditTopic)
	if after := len(w.slack.Calls()); after != before {
		t.Errorf("the redelivery made %d Slack calls", after-before)
	}
	// A push with no token, and one with a token for another audience,
	// are refused before the body is read.
	body := gcpdemo.PushBody(entry, nil, "forged-1", now, gcpdemo.AuditSubscription)
	forged, err := w.google.PushToken("https://attacker.example.com/", now)
	if err != nil {
		t.Fatal(err)
	}
	for name, tok := range map[string]string{"no token": "", "another audience": forged} {
		req, _ := http.NewRequest(http.MethodPost, w.fn.URL+"/", strings.NewReader(string(body)))
		if tok != "" {
			req.Header.Set("Authorization", "Bearer "+tok)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusUnauthorized {
			t.Errorf("%s: HTTP %d, want 401", name, resp.StatusCode)
		}
	}
	if after := len(w.slack.Calls()); after != before {
		t.Errorf("the refused deliveries made %d Slack calls", after-before)
	}
}

// TestApprovalFixesAndUndoes: from the alert, the drift's author cannot
// approve her own fix; Bob's click is published to the remediation topic,
// whose push subscription delivers it to the function; the function
// removes allUsers with its own service account and the same message says
// so, with Undo; Undo grants allUsers again and the message fails again
// in place. Every step is in the resource's audit log.
func TestApprovalFixesAndUndoes(t *testing.T) {
	w := newWorld(t)
	m := w.drift()

	if got := w.click(alice, slackalert.RemediateActionID, m); !strings.Contains(got, "made this change") {
		t.Errorf("Alice approving the fix of her own change: reply %q", got)
	}
	if n := len(w.ps.Messages(gcpdemo.RemediationTopic)); n != 0 || !w.public() {
		t.Fatalf("a refused click published %d requests (public %v)", n, w.public())
	}

	w.click(bob, slackalert.RemediateActionID, m)
	msgs := w.ps.Messages(gcpdemo.RemediationTopic)
	if len(msgs) != 1 || msgs[0].Attributes[gcpbus.AttrType] != gcpbus.Types[remediation.OpApply] {
		t.Fatalf("remediation topic messages %+v, want one approved fix", msgs)
	}
	if d := w.remedy.Deliveries(); len(d) != 1 || d[0].Status != http.StatusOK {
		t.Fatalf("remediation deliveries %+v, want one answered 200", d)
	}
	if w.public() {
		t.Fatal("the bucket is still public after the approved fix")
	}
	if got := len(w.auditLog("remediation_succeeded")); got != 1 {
		t.Fatalf("%d remediation_succeeded audit entries, want 1", got)
	}
	fixed, _ := w.slack.Message(m.TS)
	for _, want := range []string{"RESOLVED", slackalert.UndoActionID} {
		if !strings.Contains(string(fixed.Blocks), want) {
			t.Errorf("the fixed message lacks %q: %s", want, fixed.Blocks)
		}
	}

	w.click(bob, slackalert.UndoActionID, fixed)
	if !w.public() {
		t.Fatal("Undo did not grant allUsers again")
	}
	undone, _ := w.slack.Message(m.TS)
	if strings.Contains(string(undone.Blocks), "RESOLVED") || !strings.Contains(string(undone.Blocks), gcpdemo.PublicRuleID) {
		t.Errorf("after Undo the message is not failing again in place: %s", undone.Blocks)
	}
	if got := len(w.auditLog("undo_succeeded")); got != 1 {
		t.Errorf("%d undo_succeeded audit entries, want 1", got)
	}
	if n := len(w.alerts(gcpdemo.Bucket)); n != 1 {
		t.Errorf("%d top-level messages name the bucket, want the one updated in place", n)
	}
}

// TestAutoModeFixesThroughTheTopic: where governance makes the bucket fix
// automatic (inside an always-open maintenance window), the function
// publishes it to the remediation topic itself; the push subscription
// delivers it back, allUsers is removed with no click, and the alert reads
// as fixed automatically.
func TestAutoModeFixesThroughTheTopic(t *testing.T) {
	w := newWorldWith(t, governance+`rules:
  `+gcpdemo.PublicRuleID+`:
    mode: auto
maintenance_windows:
  - name: ops
    timezone: UTC
    days: [mon, tue, wed, thu, fri, sat, sun]
    start: "00:00"
    end: "24:00"
auto:
  windows: [ops]
  rate_limit: {per_account: 5, window: 1h}
`, push)
	w.drift()
	w.wait(gcpdemo.RemediationTopic)
	if d := w.remedy.Deliveries(); len(d) != 1 || d[0].Status != http.StatusOK {
		t.Fatalf("remediation deliveries %+v, want one automatic fix answered 200", d)
	}
	if w.public() {
		t.Fatal("the bucket is still public after the automatic fix")
	}
	m := w.alerts(gcpdemo.Bucket)[0]
	if !strings.Contains(string(m.Blocks), "RESOLVED") || !strings.Contains(strings.ToLower(string(m.Blocks)), "automatic") {
		t.Errorf("the auto-fixed message: %s", m.Blocks)
	}
}

// TestPullMode: the same drift, approval and undo with the function
// pulling both subscriptions (DRIFTWATCH_MODE=pull): every message is
// delivered once and acknowledged once, after its work is stored.
func TestPullMode(t *testing.T) {
	w := newWorldWith(t, governance, pull)
	m := w.drift()
	w.click(bob, slackalert.RemediateActionID, m)
	if w.public() {
		t.Fatal("the bucket is still public after the approved fix")
	}
	fixed, _ := w.slack.Message(m.TS)
	if !strings.Contains(string(fixed.Blocks), "RESOLVED") {
		t.Errorf("the fixed message: %s", fixed.Blocks)
	}
	w.click(bob, slackalert.UndoActionID, fixed)
	if !w.public() {
		t.Fatal("Undo did not grant allUsers again")
	}
	for _, topic := range []string{gcpdemo.AuditTopic, gcpdemo.RemediationTopic} {
		msgs := w.ps.Messages(topic)
		if len(msgs) == 0 {
			t.Errorf("nothing was published to %s", topic)
		}
		for _, pm := range msgs {
			if pm.Deliveries != 1 || pm.Acks != 1 {
				t.Errorf("%s message %s: %d deliveries, %d acks, want one of each", topic, pm.ID, pm.Deliveries, pm.Acks)
			}
		}
	}
}
