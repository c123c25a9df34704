package azdetector_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/arm"
	azfake "github.com/Azure/azure-sdk-for-go/sdk/azcore/fake"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/driftwatch/driftwatch/shared/awsfed"
	"github.com/driftwatch/driftwatch/shared/awsinteract"
	"github.com/driftwatch/driftwatch/shared/azdetector"
	"github.com/driftwatch/driftwatch/shared/azevent"
	"github.com/driftwatch/driftwatch/shared/azfunc"
	"github.com/driftwatch/driftwatch/shared/azremedy/armfake"
	"github.com/driftwatch/driftwatch/shared/internal/awsdemo"
	"github.com/driftwatch/driftwatch/shared/internal/azdemo"
	"github.com/driftwatch/driftwatch/shared/internal/motoserver"
	"github.com/driftwatch/driftwatch/shared/slackalert"
	"github.com/driftwatch/driftwatch/shared/slackalert/slackrec"
	"github.com/driftwatch/driftwatch/shared/store"
	"github.com/driftwatch/driftwatch/shared/store/dynamostore"
)

const (
	channel     = "C0DRIFTWATCH"
	secret      = "e2e-eventgrid-secret-not-a-secret"
	table       = "driftwatch-posture"
	region      = "eu-west-1"
	postureRole = "arn:aws:iam::123456789012:role/driftwatch-azure-function"
)

// The people: Alice opens RDP in the portal (her UPN is her Slack email),
// Bob is the other approver.
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

// world is one Azure subscription (the fake ARM) with the Azure function
// deployed: its HTTP layer on a local server as the Functions host forwards
// Event Grid's deliveries to it, the posture table in the AWS emulator
// reached through web identity federation (the emulator's STS), Slack
// recorded.
type world struct {
	t      *testing.T
	arm    *armfake.Server
	env    *azdemo.Env
	fn     *httptest.Server
	slack  *slackrec.Recorder
	store  *dynamostore.Store
	events string
	// topic is the remediation custom topic, delivering to the function's
	// remediation route; interact is the Slack interactivity function
	// publishing approved fixes to it.
	topic    *azdemo.Topic
	interact *httptest.Server
	clicks   int
	// governance is the policy file every function of the world reads.
	governance string
	tokens     int // identity tokens exchanged with STS
	mu         sync.Mutex
}

func newWorld(t *testing.T) *world { return newWorldWith(t, governance) }

// newWorldWith is newWorld under another governance policy. The function
// publishes the fixes the policy makes automatic to the remediation topic,
// with the topic's key here (its managed identity in Azure).
func newWorldWith(t *testing.T, gov string) *world {
	t.Helper()
	ctx := t.Context()
	w := &world{t: t, arm: armfake.New(azdemo.Subscription, nil)}
	var err error
	if w.events, err = filepath.Abs(filepath.Join("..", "..", "events", "azure")); err != nil {
		t.Fatal(err)
	}
	cred := &azfake.TokenCredential{}
	if w.env, err = azdemo.NewEnv(cred, &arm.ClientOptions{ClientOptions: policy.ClientOptions{Transport: w.arm.Transport()}}); err != nil {
		t.Fatal(err)
	}

	// The posture table, reached as the function reaches it in Azure:
	// its identity's token exchanged with STS for the table's role.
	moto := motoserver.StartTB(t)
	httpClient := motoserver.SerialClient()
	setup := moto.Config(region)
	setup.HTTPClient = httpClient
	ddb := dynamodb.NewFromConfig(setup)
	if err := dynamostore.CreateTable(ctx, ddb, table); err != nil {
		t.Fatal(err)
	}
	w.store = dynamostore.New(ddb, table)
	fed, err := awsfed.Config(awsfed.Options{
		Region: region, RoleARN: postureRole, RoleSessionName: "driftwatch-azure-function",
		TokenSource: awsfed.TokenFunc(func(context.Context) (string, error) {
			w.mu.Lock()
			w.tokens++
			w.mu.Unlock()
			return identityToken, nil
		}),
		BaseEndpoint: moto.URL, HTTPClient: httpClient, Retryer: setup.Retryer,
	})
	if err != nil {
		t.Fatal(err)
	}

	w.slack = slackrec.Start()
	t.Cleanup(w.slack.Close)
	w.slack.SetUser(alice, "alice", "alice@example.com")
	w.slack.SetUser(bob, "bob", "bob@example.com")
	w.governance = filepath.Join(t.TempDir(), "governance.yaml")
	if err := os.WriteFile(w.governance, []byte(gov), 0o644); err != nil {
		t.Fatal(err)
	}
	c, err := azdetector.ConfigFromEnv(func(k string) string {
		return map[string]string{
			"DRIFTWATCH_TABLE":               table,
			"DRIFTWATCH_AWS_ROLE_ARN":        postureRole,
			"DRIFTWATCH_AWS_REGION":          region,
			"DRIFTWATCH_AWS_TOKEN_AUDIENCE":  "api://driftwatch-aws-federation",
			"SLACK_CHANNEL":                  channel,
			"SLACK_BOT_TOKEN":                "xoxb-e2e-not-a-secret",
			"SLACK_API_URL":                  w.slack.URL(),
			"DRIFTWATCH_ACCOUNTS":            `{"` + azdemo.Subscription + `": {"name": "web-prod", "environment": "prod"}}`,
			"DRIFTWATCH_AZURE_SUBSCRIPTIONS": azdemo.Subscription,
			"DRIFTWATCH_GOVERNANCE_FILE":     w.governance,
			"DRIFTWATCH_LOG_LEVEL":           "warn",
		}[k]
	})
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: c.LogLevel}))
	// The remediation topic; its event subscription delivers to the
	// function's remediation route (set below, once it listens).
	w.topic = azdemo.NewTopic("/subscriptions/"+azdemo.Subscription+"/resourceGroups/rg-driftwatch/providers/Microsoft.EventGrid/topics/driftwatch-remediation", topicKey)
	t.Cleanup(w.topic.Close)
	publisher, err := w.topic.KeyClient()
	if err != nil {
		t.Fatal(err)
	}
	f, err := azdetector.New(ctx, c, azdetector.Deps{Credential: cred, Transports: w.arm.Transports(), AWS: fed, Topic: publisher, Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	norm, err := azevent.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	auth, err := azfunc.NewSharedSecret([]string{secret}, nil)
	if err != nil {
		t.Fatal(err)
	}
	srv, err := azfunc.New(azfunc.Config{
		Normalizer: norm, Processor: f.Detector, ResourceAuth: auth,
		Executor: f.Executor, RemediationAuth: auth,
	}, &azfunc.Options{Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	w.fn = httptest.NewServer(srv)
	t.Cleanup(w.fn.Close)

	// The remediation topic delivers to the remediation route with the
	// secret, as its event subscription's webhook URL carries it.
	w.topic.SetWebhook(w.fn.URL + azfunc.RemediationPath + "?code=" + secret)

	// The Slack interactivity function (an AWS Lambda in production),
	// publishing approved Azure fixes to the topic.
	ienv := map[string]string{
		"DRIFTWATCH_TABLE":                   table,
		"DRIFTWATCH_BUS":                     "driftwatch",
		"DRIFTWATCH_GOVERNANCE_FILE":         w.governance,
		"DRIFTWATCH_ACCOUNTS":                `{"` + azdemo.Subscription + `": {"name": "web-prod", "environment": "prod"}}`,
		"SLACK_CHANNEL":                      channel,
		"SLACK_BOT_TOKEN":                    "xoxb-e2e-not-a-secret",
		"SLACK_API_URL":                      w.slack.URL(),
		"SLACK_SIGNING_SECRET":               signingSecret,
		"SLACK_RESPONSE_URL_PREFIXES":        w.slack.URL(),
		"DRIFTWATCH_AZURE_REMEDIATION_TOPIC": w.topic.Endpoint(),
		"DRIFTWATCH_AZURE_TOPIC_KEY":         topicKey,
		"DRIFTWATCH_LOG_LEVEL":               "warn",
	}
	ic, err := awsinteract.ConfigFromEnv(func(k string) string { return ienv[k] })
	if err != nil {
		t.Fatal(err)
	}
	h, err := awsinteract.NewWithDeps(ctx, ic, awsinteract.Deps{
		AWS:    setup,
		Azure:  azcore.ClientOptions{Transport: w.topic.Server().Client()},
		Logger: log,
	})
	if err != nil {
		t.Fatal(err)
	}
	w.interact = httptest.NewServer(h)
	t.Cleanup(w.interact.Close)
	return w
}

const (
	signingSecret = "e2e-signing-secret-not-a-secret"
	topicKey      = "ZTJlLXRvcGljLWtleS1ub3QtYS1zZWNyZXQ="
)

// click clicks a message's button as user, as Slack posts it (signed), and
// returns the ephemeral reply ("" when none).
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
	// The fix travels on the topic: wait until it has been delivered.
	if err := w.topic.Wait(w.t.Context()); err != nil {
		w.t.Fatal(err)
	}
	for _, c := range w.slack.Calls() {
		if c.Method == slackrec.MethodResponseURL && strings.HasSuffix(c.Path, respID) {
			return c.Text
		}
	}
	return ""
}

// drift builds the baseline and opens RDP, delivering both events, and
// returns the alert.
func (w *world) drift() slackrec.Message {
	w.t.Helper()
	ctx := w.t.Context()
	if err := w.env.CreateBaseline(ctx); err != nil {
		w.t.Fatal(err)
	}
	if status, sum := w.deliver(azdemo.EventNSGCreated); status != http.StatusOK || sum.Processed != 1 {
		w.t.Fatalf("baseline delivery: HTTP %d, %+v", status, sum)
	}
	if err := w.env.OpenRDP(ctx); err != nil {
		w.t.Fatal(err)
	}
	if status, sum := w.deliver(azdemo.EventRDPOpened); status != http.StatusOK || sum.Processed != 1 {
		w.t.Fatalf("drift delivery: HTTP %d, %+v", status, sum)
	}
	msgs := w.alerts(azdemo.NSG)
	if len(msgs) != 1 {
		w.t.Fatalf("%d alerts name %s, want 1", len(msgs), azdemo.NSG)
	}
	return msgs[0]
}

func (w *world) rdpOpen() bool {
	w.t.Helper()
	open, err := w.env.RuleExists(w.t.Context(), azdemo.RDPRule)
	if err != nil {
		w.t.Fatal(err)
	}
	return open
}

func (w *world) audit(kind string) []store.AuditEntry {
	w.t.Helper()
	entries, err := w.store.Audit(w.t.Context(), w.nsgKey())
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

// identityToken stands for the managed identity's Entra token; the
// emulator's STS does not verify it.
const identityToken = "eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0.eyJhdWQiOiJhcGk6Ly9kcml2dHdhdGNoLWF3cy1mZWRlcmF0aW9uIiwic3ViIjoiNWIwYzhmM2UifQ."

// deliver posts an events/azure file to the resource-events route as Event
// Grid does and returns the status and the summary.
func (w *world) deliver(name string) (int, azfunc.Summary) {
	w.t.Helper()
	body, err := azdemo.Event(w.events, name, time.Now())
	if err != nil {
		w.t.Fatal(err)
	}
	return w.post(azfunc.ResourceEventsPath+"?code="+secret, body)
}

func (w *world) post(path string, body []byte) (int, azfunc.Summary) {
	w.t.Helper()
	status, answer, err := azdemo.Deliver(w.t.Context(), http.DefaultClient, w.fn.URL+path, body)
	if err != nil {
		w.t.Fatal(err)
	}
	var sum azfunc.Summary
	if status == http.StatusOK || status == http.StatusServiceUnavailable {
		if err := json.Unmarshal(answer, &sum); err != nil {
			w.t.Fatalf("summary %s: %v", answer, err)
		}
	}
	return status, sum
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

func (w *world) nsgKey() store.Key {
	return store.Key{Cloud: "azure", Account: azdemo.Subscription, ResourceID: azdemo.NSGID()}
}

// TestEventGridDeliveryToAlert: the platform team's NSG is recorded as the
// baseline with no alert; Alice opening RDP to the Internet in the portal
// reaches Slack as one alert naming her, the rule and the fix; the posture
// is in the table, reached through STS; a redelivery and a delivery
// without the secret change nothing.
func TestEventGridDeliveryToAlert(t *testing.T) {
	w := newWorld(t)
	ctx := t.Context()
	if err := w.env.CreateBaseline(ctx); err != nil {
		t.Fatal(err)
	}
	if status, sum := w.deliver(azdemo.EventNSGCreated); status != http.StatusOK || sum.Processed != 1 {
		t.Fatalf("baseline delivery: HTTP %d, %+v", status, sum)
	}
	if n := len(w.slack.Messages()); n != 0 {
		t.Fatalf("the compliant baseline posted %d messages", n)
	}

	if err := w.env.OpenRDP(ctx); err != nil {
		t.Fatal(err)
	}
	body, err := azdemo.Event(w.events, azdemo.EventRDPOpened, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if status, sum := w.post(azfunc.ResourceEventsPath+"?code="+secret, body); status != http.StatusOK || sum.Processed != 1 {
		t.Fatalf("drift delivery: HTTP %d, %+v", status, sum)
	}
	msgs := w.alerts(azdemo.NSG)
	if len(msgs) != 1 {
		t.Fatalf("%d alerts name %s, want 1: %v", len(msgs), azdemo.NSG, w.slack.Messages())
	}
	text := string(msgs[0].Blocks)
	for _, want := range []string{"alice@example.com", "3389", azdemo.RDPRule, "web-prod", "console", "Remediate"} {
		if !strings.Contains(text, want) {
			t.Errorf("the alert does not say %q:\n%s", want, text)
		}
	}

	// The posture: one failing finding for the RDP rule, with the fix
	// planned from the live NSG, in the shared table.
	_, findings, err := w.store.Load(ctx, w.nsgKey())
	if err != nil {
		t.Fatal(err)
	}
	var rdp *store.Finding
	for i, f := range findings {
		if f.RuleID == azdemo.RDPRuleID {
			rdp = &findings[i]
		}
	}
	switch {
	case rdp == nil:
		t.Fatalf("no %s finding: %+v", azdemo.RDPRuleID, findings)
	case rdp.Status != store.FindingOpen:
		t.Errorf("%s is %s, want open", azdemo.RDPRuleID, rdp.Status)
	case !strings.Contains(rdp.FixPlan, azdemo.RDPRule) || strings.Contains(rdp.FixPlan, azdemo.HTTPSRule):
		t.Errorf("the fix plan is %q: want it to delete %s and keep %s", rdp.FixPlan, azdemo.RDPRule, azdemo.HTTPSRule)
	}
	w.mu.Lock()
	tokens := w.tokens
	w.mu.Unlock()
	if tokens == 0 {
		t.Error("the function reached the table without exchanging its identity token")
	}

	// Event Grid redelivers the same event: a duplicate.
	before := len(w.slack.Calls())
	if status, sum := w.post(azfunc.ResourceEventsPath+"?code="+secret, body); status != http.StatusOK || sum.Processed != 0 {
		t.Errorf("redelivery: HTTP %d, %+v, want it dropped as a duplicate", status, sum)
	}
	// A delivery without the secret is refused before it is read.
	if status, _ := w.post(azfunc.ResourceEventsPath, body); status != http.StatusUnauthorized {
		t.Errorf("delivery without the secret: HTTP %d, want 401", status)
	}
	if after := len(w.slack.Calls()); after != before {
		t.Errorf("the redelivery and the refused delivery made %d Slack calls", after-before)
	}
}

// TestApprovalFixesAndUndoes: from the alert, the drift's author cannot
// approve her own fix; Bob's click is published to the remediation topic,
// which delivers it to the function; the function deletes the RDP rule
// with its own identity (a long-running delete) and the same message says
// so, with Undo; Undo recreates the rule and the message fails again in
// place. Every step is in the resource's audit log.
func TestApprovalFixesAndUndoes(t *testing.T) {
	w := newWorld(t)
	m := w.drift()

	if got := w.click(alice, slackalert.RemediateActionID, m); !strings.Contains(got, "made this change") {
		t.Errorf("Alice approving the fix of her own change: reply %q", got)
	}
	if n := len(w.topic.Deliveries()); n != 0 || !w.rdpOpen() {
		t.Fatalf("a refused click published %d requests (RDP open %v)", n, w.rdpOpen())
	}

	if got := w.click(bob, slackalert.RemediateActionID, m); got != "" && !strings.Contains(strings.ToLower(got), "approved") {
		t.Logf("Bob's click: reply %q", got)
	}
	d := w.topic.Deliveries()
	if len(d) != 1 || d[0].EventType != "Driftwatch.RemediationApproved" || d[0].Status != http.StatusOK {
		t.Fatalf("topic deliveries %+v, want one RemediationApproved answered 200", d)
	}
	if w.rdpOpen() {
		t.Fatal("RDP is still open after the approved fix")
	}
	if !w.has(azdemo.HTTPSRule) {
		t.Fatal("the fix deleted the compliant HTTPS rule too")
	}
	if calls := w.arm.Calls()["SecurityRulesClient.BeginDelete"]; calls != 1 {
		t.Errorf("%d security rule deletes, want 1", calls)
	}
	if got := len(w.audit("remediation_succeeded")); got != 1 {
		t.Fatalf("%d remediation_succeeded audit entries, want 1", got)
	}
	fixed, _ := w.slack.Message(m.TS)
	for _, want := range []string{"RESOLVED", slackalert.UndoActionID} {
		if !strings.Contains(string(fixed.Blocks), want) {
			t.Errorf("the fixed message lacks %q: %s", want, fixed.Blocks)
		}
	}

	w.click(bob, slackalert.UndoActionID, fixed)
	if !w.rdpOpen() {
		t.Fatal("Undo did not recreate the RDP rule")
	}
	undone, _ := w.slack.Message(m.TS)
	if strings.Contains(string(undone.Blocks), "RESOLVED") || !strings.Contains(string(undone.Blocks), azdemo.RDPRuleID) {
		t.Errorf("after Undo the message is not failing again in place: %s", undone.Blocks)
	}
	if got := len(w.audit("undo_succeeded")); got != 1 {
		t.Errorf("%d undo_succeeded audit entries, want 1", got)
	}
	if n := len(w.alerts(azdemo.NSG)); n != 1 {
		t.Errorf("%d top-level messages name the NSG, want the one updated in place", n)
	}
}

func (w *world) has(rule string) bool {
	w.t.Helper()
	ok, err := w.env.RuleExists(w.t.Context(), rule)
	if err != nil {
		w.t.Fatal(err)
	}
	return ok
}

// TestAutoModeFixesThroughTheTopic: where governance makes the NSG fix
// automatic (inside an always-open maintenance window), the function
// publishes it to the remediation topic itself; the topic delivers it back
// to the remediation route, the rule is deleted with no click, and the
// alert reads as fixed automatically. Outside the window it falls back to
// a Remediate button.
func TestAutoModeFixesThroughTheTopic(t *testing.T) {
	auto := func(start, end string) string {
		return governance + `rules:
  ` + azdemo.RDPRuleID + `:
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
	t.Run("inside the window", func(t *testing.T) {
		w := newWorldWith(t, auto("00:00", "24:00"))
		w.drift()
		if err := w.topic.Wait(t.Context()); err != nil {
			t.Fatal(err)
		}
		d := w.topic.Deliveries()
		if len(d) != 1 || d[0].EventType != "Driftwatch.RemediationApproved" || d[0].Status != http.StatusOK {
			t.Fatalf("topic deliveries %+v, want one automatic RemediationApproved answered 200", d)
		}
		if w.rdpOpen() {
			t.Fatal("RDP is still open after the automatic fix")
		}
		m := w.alerts(azdemo.NSG)[0]
		if !strings.Contains(string(m.Blocks), "RESOLVED") || !strings.Contains(strings.ToLower(string(m.Blocks)), "automatic") {
			t.Errorf("the auto-fixed message: %s", m.Blocks)
		}
	})
	t.Run("outside the window", func(t *testing.T) {
		now := time.Now().UTC()
		w := newWorldWith(t, auto(now.Add(2*time.Hour).Format("15:04"), now.Add(3*time.Hour).Format("15:04")))
		m := w.drift()
		if err := w.topic.Wait(t.Context()); err != nil {
			t.Fatal(err)
		}
		if n := len(w.topic.Deliveries()); n != 0 || !w.rdpOpen() {
			t.Fatalf("outside the window: %d deliveries, RDP open %v", n, w.rdpOpen())
		}
		if !strings.Contains(string(m.Blocks), slackalert.RemediateActionID) {
			t.Errorf("outside the window the alert should offer Remediate: %s", m.Blocks)
		}
	})
}
