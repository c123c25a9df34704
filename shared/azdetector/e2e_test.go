package azdetector_test

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/arm"
	azfake "github.com/Azure/azure-sdk-for-go/sdk/azcore/fake"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/driftwatch/driftwatch/shared/awsfed"
	"github.com/driftwatch/driftwatch/shared/azdetector"
	"github.com/driftwatch/driftwatch/shared/azevent"
	"github.com/driftwatch/driftwatch/shared/azfunc"
	"github.com/driftwatch/driftwatch/shared/azremedy/armfake"
	"github.com/driftwatch/driftwatch/shared/internal/azdemo"
	"github.com/driftwatch/driftwatch/shared/internal/motoserver"
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

// serialTransport sends one request at a time: moto's DynamoDB does not
// isolate concurrent transactions, which real DynamoDB does per request.
type serialTransport struct {
	mu   sync.Mutex
	next http.RoundTripper
}

func (s *serialTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.next.RoundTrip(r)
}

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
	store  store.Store
	events string
	// governance is the policy file every function of the world reads.
	governance string
	tokens     int // identity tokens exchanged with STS
	mu         sync.Mutex
}

func newWorld(t *testing.T) *world {
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
	httpClient := &http.Client{Transport: &serialTransport{next: awshttp.NewBuildableClient().GetTransport()}}
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
	if err := os.WriteFile(w.governance, []byte(governance), 0o644); err != nil {
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
	f, err := azdetector.New(ctx, c, azdetector.Deps{Credential: cred, Transports: w.arm.Transports(), AWS: fed, Logger: log})
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
	return w
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
