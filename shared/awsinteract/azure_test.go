package awsinteract_test

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/cloud"
	"github.com/Azure/azure-sdk-for-go/sdk/messaging/eventgrid/azsystemevents"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/driftwatch/driftwatch/shared/awsdetector"
	"github.com/driftwatch/driftwatch/shared/awsinteract"
	"github.com/driftwatch/driftwatch/shared/azbus"
	"github.com/driftwatch/driftwatch/shared/azres"
	"github.com/driftwatch/driftwatch/shared/change"
	"github.com/driftwatch/driftwatch/shared/internal/awsdemo"
	"github.com/driftwatch/driftwatch/shared/internal/azdemo"
	"github.com/driftwatch/driftwatch/shared/internal/logbuf"
	"github.com/driftwatch/driftwatch/shared/internal/motoserver"
	"github.com/driftwatch/driftwatch/shared/internal/publishfake"
	"github.com/driftwatch/driftwatch/shared/pipeline"
	"github.com/driftwatch/driftwatch/shared/remediation"
	"github.com/driftwatch/driftwatch/shared/resource"
	"github.com/driftwatch/driftwatch/shared/ruleset"
	"github.com/driftwatch/driftwatch/shared/slackalert"
	"github.com/driftwatch/driftwatch/shared/slackalert/slackrec"
	"github.com/driftwatch/driftwatch/shared/slackinteract"
	"github.com/driftwatch/driftwatch/shared/store"
	"github.com/driftwatch/driftwatch/shared/store/dynamostore"
)

// subscription is the Azure subscription of these tests.
const subscription = "6f1c2a3b-4d5e-4f60-8a7b-9c0d1e2f3a4b"

// rdpRule is the Azure rule the tests' drift breaks; its fix deletes the
// offending NSG rule (azure_nsg_delete_internet_rule).
const rdpRule = "azure_nsg_no_inbound_rdp_from_internet"

// nsg is a network security group opening RDP to the Internet.
func nsg(name string) *azres.NSG {
	id := "/subscriptions/" + subscription + "/resourceGroups/rg-payments-prod/providers/Microsoft.Network/networkSecurityGroups/" + name
	return &azres.NSG{
		ID: id, Name: name, ResourceGroup: "rg-payments-prod", Location: "westeurope",
		Rules: []azres.NSGRule{{
			ID: id + "/securityRules/AllowRDP", Name: "AllowRDP", Direction: "Inbound", Access: "Allow", Priority: 200,
			Protocol: "Tcp", SourcePrefixes: []string{"Internet"}, DestinationPorts: []string{"3389"},
			Ports: []azres.PortRange{{From: 3389, To: 3389}}, FromInternet: true,
		}},
		Tags: map[string]string{"team": "payments"},
	}
}

// nsgFetcher is the Azure detector's read of an NSG without ARM: the
// interactivity function never reads Azure, so the finding only has to
// reach the posture table and Slack the way the Azure function puts it
// there (its pipeline, its rules, its governance), not through azfetch.
type nsgFetcher map[string]*azres.NSG

func (f nsgFetcher) Fetch(_ context.Context, ref change.ResourceRef) (resource.Resource, error) {
	doc, ok := f[ref.ID]
	if !ok {
		return resource.Resource{Ref: ref, ObservedAt: time.Now()}, nil
	}
	return resource.Resource{Ref: ref, Exists: true, ObservedAt: time.Now(), Tags: doc.Tags, Doc: doc}, nil
}

// stsEndpoint sends STS calls to the fake, as AWS_ENDPOINT_URL_STS does in
// a local run (moto has no GetWebIdentityToken); every other service stays
// on moto.
type stsEndpoint string

func (e stsEndpoint) GetServiceBaseEndpoint(_ context.Context, sdkID string) (string, bool, error) {
	return string(e), sdkID == "STS", nil
}

// syncBuffer is a log sink safe for the handlers' goroutines.
type syncBuffer = logbuf.Buffer

// azureLoop is the interactivity function with the Azure leg: the posture
// table on moto, Slack on a recorder, the Azure findings put there by the
// Azure detector's pipeline, and STS GetWebIdentityToken, Entra and the
// remediation topic on local TLS fakes (publishfake).
type azureLoop struct {
	t        *testing.T
	fakes    *publishfake.Fakes
	slack    *slackrec.Recorder
	store    *dynamostore.Store
	detector *pipeline.Detector
	fetcher  nsgFetcher
	interact *httptest.Server
	logs     *syncBuffer
	clicks   int
}

// azureAuth returns the Azure variables of a loop (nil: none).
type azureAuth func(f *publishfake.Fakes) map[string]string

func entraAuth(f *publishfake.Fakes) map[string]string {
	return map[string]string{
		"DRIFTWATCH_AZURE_REMEDIATION_TOPIC":   f.Topic.Endpoint(),
		"DRIFTWATCH_AZURE_TENANT_ID":           publishfake.Tenant,
		"DRIFTWATCH_AZURE_PUBLISHER_CLIENT_ID": publishfake.ClientID,
	}
}

func keyAuth(f *publishfake.Fakes) map[string]string {
	return map[string]string{
		"DRIFTWATCH_AZURE_REMEDIATION_TOPIC": f.Topic.Endpoint(),
		"DRIFTWATCH_AZURE_TOPIC_KEY":         publishfake.TopicKey,
	}
}

func newAzureLoop(t *testing.T, auth azureAuth) *azureLoop {
	t.Helper()
	ctx := t.Context()
	l := &azureLoop{t: t, fakes: publishfake.Start(t), fetcher: nsgFetcher{}, logs: &syncBuffer{}}
	moto := motoserver.StartTB(t)
	cfg := moto.Config("eu-west-1")
	// The AWS clients trust the STS fake's certificate (moto is plain
	// HTTP), and send one request at a time (moto's DynamoDB does not
	// isolate concurrent transactions).
	cfg.HTTPClient = &http.Client{Transport: motoserver.Serialize(awshttp.NewBuildableClient().WithTransportOptions(func(tr *http.Transport) {
		tr.TLSClientConfig = &tls.Config{RootCAs: l.fakes.RootCAs(), MinVersion: tls.VersionTLS12}
	}).GetTransport())}
	cfg.ConfigSources = append(cfg.ConfigSources, stsEndpoint(l.fakes.STS.URL()))
	// resolveBaseEndpoint ignores the config sources when AWS_ENDPOINT_URL
	// is set without AWS_ENDPOINT_URL_STS.
	t.Setenv("AWS_ENDPOINT_URL_STS", l.fakes.STS.URL())

	const table = "driftwatch-posture"
	ddb := dynamodb.NewFromConfig(cfg)
	if err := dynamostore.CreateTable(ctx, ddb, table); err != nil {
		t.Fatal(err)
	}
	l.store = dynamostore.New(ddb, table)

	l.slack = slackrec.Start()
	t.Cleanup(l.slack.Close)
	l.slack.SetUser(alice, "alice", "alice@example.com")
	l.slack.SetUser(bob, "bob", "bob@example.com")
	l.slack.SetUserGroup("S0SECOPS", "secops")

	govFile := filepath.Join(t.TempDir(), "governance.yaml")
	if err := os.WriteFile(govFile, []byte(policy("")), 0o644); err != nil {
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
		"DRIFTWATCH_ACCOUNTS":         `{"` + subscription + `": {"name": "payments-prod", "environment": "prod"}}`,
		"DRIFTWATCH_LOG_LEVEL":        "debug",
	}
	if auth != nil {
		for k, v := range auth(l.fakes) {
			env[k] = v
		}
	}
	getenv := func(k string) string { return env[k] }

	// The Azure detector's pipeline over the same table and Slack.
	dc, err := awsdetector.ConfigFromEnv(getenv)
	if err != nil {
		t.Fatal(err)
	}
	parts, err := awsdetector.NewPartsFor(ctx, []change.Cloud{change.Azure}, dc, cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	pol, err := ruleset.LoadPolicy(govFile, "", nil)
	if err != nil {
		t.Fatal(err)
	}
	l.detector = pipeline.New(l.fetcher, parts.Engine, parts.Store, parts.Notifier, &pipeline.Options{
		Accounts: dc.Accounts, ConsoleURL: ruleset.ConsoleURL, Governor: ruleset.Governor{Policy: pol},
	})

	ic, err := awsinteract.ConfigFromEnv(getenv)
	if err != nil {
		t.Fatal(err)
	}
	h, err := awsinteract.NewWithDeps(ctx, ic, awsinteract.Deps{
		AWS: cfg,
		Azure: azcore.ClientOptions{
			Cloud:     cloud.Configuration{ActiveDirectoryAuthorityHost: l.fakes.Entra.URL() + "/"},
			Transport: l.fakes.HTTPClient(),
		},
		DisableInstanceDiscovery: true,
		Logger:                   slog.New(slog.NewJSONHandler(l.logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
	})
	if err != nil {
		t.Fatal(err)
	}
	l.interact = httptest.NewServer(h)
	t.Cleanup(l.interact.Close)
	return l
}

// openRDP is the drift: someone opens RDP to the Internet on the NSG name
// and the Azure detector processes the activity log event. It returns the
// resource's key and its alert.
func (l *azureLoop) openRDP(name string) (store.Key, slackrec.Message) {
	l.t.Helper()
	doc := nsg(name)
	ref := change.ResourceRef{Cloud: change.Azure, Type: azres.TypeNSG, ID: azres.CanonicalID(doc.ID), Name: name, Account: subscription, Region: "westeurope"}
	l.fetcher[ref.ID] = doc
	_, err := l.detector.Process(l.t.Context(), change.Change{
		EventID: "azure-" + name + "-" + fmt.Sprint(time.Now().UnixNano()), Cloud: change.Azure, Account: subscription, Region: "westeurope",
		Service: "Microsoft.Network", Operation: "Microsoft.Network/networkSecurityGroups/securityRules/write",
		Resources: []change.ResourceRef{ref},
		Actor:     change.Actor{Principal: "mallory@contoso.com", Type: "User", Name: "mallory@contoso.com", Via: "portal"},
		Time:      time.Now(),
	})
	if err != nil {
		l.t.Fatal(err)
	}
	var found []slackrec.Message
	for _, m := range l.slack.Messages() {
		if m.ThreadTS == "" && strings.Contains(string(m.Blocks), rdpRule) && strings.Contains(string(m.Blocks), name) {
			found = append(found, m)
		}
	}
	if len(found) != 1 {
		l.t.Fatalf("%d alerts for %s, want 1", len(found), name)
	}
	return store.KeyOf(ref), found[0]
}

// approve clicks Remediate on m as user and returns the ephemeral reply.
func (l *azureLoop) approve(user string, m slackrec.Message) string {
	l.t.Helper()
	ref, err := awsdemo.ButtonRef(m.Blocks, slackalert.RemediateActionID)
	if err != nil {
		l.t.Fatalf("the alert offers no Remediate button: %v: %s", err, m.Blocks)
	}
	l.clicks++
	respID := fmt.Sprintf("azure-click-%d", l.clicks)
	payload := awsdemo.Click{User: user, ActionID: slackalert.RemediateActionID, Ref: ref, Channel: m.Channel, TS: m.TS,
		ResponseURL: l.slack.ResponseURL(respID), TriggerID: "trigger-" + respID,
		Team: "T0DRIFT", AppID: "A0DRIFT", ActionTimestamp: time.Now()}.Payload()
	raw, err := json.Marshal(payload)
	if err != nil {
		l.t.Fatal(err)
	}
	body := []byte("payload=" + url.QueryEscape(string(raw)))
	req, _ := http.NewRequest(http.MethodPost, l.interact.URL, bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	slackinteract.SignRequest(req, signingSecret, time.Now(), body)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		l.t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		l.t.Fatalf("click answered HTTP %d", resp.StatusCode)
	}
	for _, c := range l.slack.Calls() {
		if c.Method == slackrec.MethodResponseURL && strings.HasSuffix(c.Path, respID) {
			return c.Text
		}
	}
	return ""
}

// published decodes one publish request of the topic: exactly one event,
// in the Event Grid schema, that the remediation route would accept.
func published(t *testing.T, r azdemo.TopicRequest) (azsystemevents.EventGridEvent, remediation.Request) {
	t.Helper()
	if r.Method != http.MethodPost || r.Path != "/api/events" || r.RawQuery != "api-version=2018-01-01" {
		t.Errorf("request %s %s?%s, want POST /api/events?api-version=2018-01-01", r.Method, r.Path, r.RawQuery)
	}
	var evs []azsystemevents.EventGridEvent
	if err := json.Unmarshal(r.Body, &evs); err != nil {
		t.Fatalf("publish body %s: %v", r.Body, err)
	}
	if len(evs) != 1 {
		t.Fatalf("%d events in one publish, want 1", len(evs))
	}
	req, err := azbus.Decode(evs[0])
	if err != nil {
		t.Fatalf("the remediation route would refuse the event: %v", err)
	}
	return evs[0], req
}

// checkApplyRequest: the published request is the approved fix of the
// finding, by alice.
func (l *azureLoop) checkApplyRequest(ev azsystemevents.EventGridEvent, req remediation.Request, key store.Key, before time.Time) {
	l.t.Helper()
	if got := *ev.EventType; got != "Driftwatch.RemediationApproved" {
		l.t.Errorf("event type %q, want Driftwatch.RemediationApproved", got)
	}
	if got := *ev.Subject; got != key.ResourceID {
		l.t.Errorf("subject %q, want the NSG id %q", got, key.ResourceID)
	}
	loaded, err := l.store.LoadAll(l.t.Context(), key)
	if err != nil {
		l.t.Fatal(err)
	}
	if len(loaded.Remediations) != 1 {
		l.t.Fatalf("%d remediations recorded, want 1", len(loaded.Remediations))
	}
	rem := loaded.Remediations[0]
	if rem.State != store.RemediationApproved || rem.Action != "azure_nsg_delete_internet_rule" {
		l.t.Errorf("remediation %s %s, want approved azure_nsg_delete_internet_rule", rem.State, rem.Action)
	}
	want := remediation.Request{Op: remediation.OpApply, Key: key, ResourceType: azres.TypeNSG, Region: "westeurope",
		RemediationID: rem.ID, By: "alice", At: req.At}
	if req != want {
		l.t.Errorf("published request %+v\nwant %+v", req, want)
	}
	if req.At.Before(before.Add(-time.Second)) || req.At.After(time.Now().Add(time.Second)) {
		l.t.Errorf("request time %v is not the click's", req.At)
	}
	dispatched := false
	entries, err := l.store.Audit(l.t.Context(), key)
	if err != nil {
		l.t.Fatal(err)
	}
	for _, e := range entries {
		dispatched = dispatched || e.Kind == "remediation_dispatched"
	}
	if !dispatched {
		l.t.Error("no remediation_dispatched audit entry")
	}
}

// The production path: the approval of an Azure finding is published to
// the remediation topic as the Entra publisher application, authenticated
// by the function role's AWS token (no key, no secret); the Entra token is
// reused for the next approval, so STS and Entra are each called once.
func TestApproveAzureFixPublishesWithEntra(t *testing.T) {
	l := newAzureLoop(t, entraAuth)
	key, m := l.openRDP("nsg-web")
	before := time.Now()
	if reply := l.approve(alice, m); reply != "" {
		t.Fatalf("the approval answered %q", reply)
	}

	reqs := l.fakes.Topic.Requests()
	if len(reqs) != 1 {
		t.Fatalf("the topic received %d requests, want exactly 1", len(reqs))
	}
	ev, req := published(t, reqs[0])
	l.checkApplyRequest(ev, req, key, before)

	// The topic saw the Entra token obtained with the AWS token.
	stsReqs := l.fakes.STS.Requests()
	if len(stsReqs) != 1 {
		t.Fatalf("%d STS requests, want 1", len(stsReqs))
	}
	if got := stsReqs[0].Form.Get("Audience.member.1"); got != "api://AzureADTokenExchange" {
		t.Errorf("the AWS token was asked for audience %q", got)
	}
	var tokenReqs []publishfake.Request
	for _, r := range l.fakes.Entra.Requests() {
		if r.Path == publishfake.TokenPath {
			tokenReqs = append(tokenReqs, r)
		}
	}
	if len(tokenReqs) != 1 {
		t.Fatalf("%d Entra token requests, want 1", len(tokenReqs))
	}
	form := tokenReqs[0].Form
	assertion := form.Get("client_assertion")
	if !l.fakes.STS.Issued(assertion) {
		t.Errorf("the client assertion is not the token STS issued")
	}
	for k, want := range map[string]string{
		"client_assertion_type": publishfake.AssertionType, "client_id": publishfake.ClientID, "grant_type": "client_credentials",
	} {
		if got := form.Get(k); got != want {
			t.Errorf("Entra token request %s = %q, want %q", k, got, want)
		}
	}
	if !strings.Contains(" "+form.Get("scope")+" ", " "+publishfake.EventGridScope+" ") {
		t.Errorf("Entra token request scope %q, want %s", form.Get("scope"), publishfake.EventGridScope)
	}
	bearer, ok := strings.CutPrefix(reqs[0].Header.Get("Authorization"), "Bearer ")
	if !ok || !l.fakes.Entra.Issued(bearer) {
		t.Errorf("Authorization = %q, want the Entra access token", reqs[0].Header.Get("Authorization"))
	}
	if got := reqs[0].Header.Values("aeg-sas-key"); len(got) != 0 {
		t.Errorf("aeg-sas-key sent with Entra auth: %q", got)
	}

	// A second approval reuses the Entra token: no new STS or Entra call.
	_, m2 := l.openRDP("nsg-api")
	if reply := l.approve(alice, m2); reply != "" {
		t.Fatalf("the second approval answered %q", reply)
	}
	reqs = l.fakes.Topic.Requests()
	if len(reqs) != 2 {
		t.Fatalf("the topic received %d requests after two approvals, want 2", len(reqs))
	}
	if got := reqs[1].Header.Get("Authorization"); got != "Bearer "+bearer {
		t.Errorf("second publish Authorization = %q, want the cached token", got)
	}
	if n := len(l.fakes.STS.Requests()); n != 1 {
		t.Errorf("%d STS requests after two approvals, want 1 (the Entra token is cached)", n)
	}

	// Neither token is ever logged.
	logs := l.logs.String()
	if strings.Contains(logs, assertion) || strings.Contains(logs, bearer) {
		t.Errorf("a token was logged: %s", logs)
	}
	if !strings.Contains(logs, "azure remediation topic configured") {
		t.Errorf("the cold start did not log the topic: %s", logs)
	}
}

// The local path: the topic key, sent as aeg-sas-key; nothing asks STS or
// Entra, and the key is never logged.
func TestApproveAzureFixPublishesWithTopicKey(t *testing.T) {
	l := newAzureLoop(t, keyAuth)
	key, m := l.openRDP("nsg-web")
	before := time.Now()
	if reply := l.approve(alice, m); reply != "" {
		t.Fatalf("the approval answered %q", reply)
	}
	reqs := l.fakes.Topic.Requests()
	if len(reqs) != 1 {
		t.Fatalf("the topic received %d requests, want exactly 1", len(reqs))
	}
	ev, req := published(t, reqs[0])
	l.checkApplyRequest(ev, req, key, before)
	if got := reqs[0].Header.Values("aeg-sas-key"); len(got) != 1 || got[0] != publishfake.TopicKey {
		t.Errorf("aeg-sas-key = %q, want the topic key once", got)
	}
	if got := reqs[0].Header.Get("Authorization"); got != "" {
		t.Errorf("Authorization = %q with the topic key", got)
	}
	if n := len(l.fakes.STS.Requests()) + len(l.fakes.Entra.Requests()); n != 0 {
		t.Errorf("%d STS or Entra requests with the topic key, want 0", n)
	}
	if logs := l.logs.String(); strings.Contains(logs, publishfake.TopicKey) {
		t.Errorf("the topic key was logged: %s", logs)
	}
}

// Without the Azure variables the approval is recorded but cannot be sent,
// and the clicker is told so (as before the Azure leg existed).
func TestApproveAzureFixWithoutTopic(t *testing.T) {
	l := newAzureLoop(t, nil)
	_, m := l.openRDP("nsg-web")
	if reply := l.approve(alice, m); !strings.Contains(reply, "could not be sent to the cloud") {
		t.Errorf("the approval answered %q, want the dispatch failure", reply)
	}
	if !strings.Contains(l.logs.String(), "no remediation bus configured for azure resources") {
		t.Errorf("the log does not say why: %s", l.logs.String())
	}
	if n := len(l.fakes.Topic.Requests()); n != 0 {
		t.Errorf("the topic received %d requests", n)
	}
}

// An account without outbound identity federation: nothing is published,
// the clicker can retry, and the log says what to enable.
func TestApproveAzureFixWithoutOutboundFederation(t *testing.T) {
	l := newAzureLoop(t, entraAuth)
	l.fakes.STS.SetDisabled(true)
	_, m := l.openRDP("nsg-web")
	if reply := l.approve(alice, m); !strings.Contains(reply, "Click Remediate again to retry") {
		t.Errorf("the approval answered %q, want the retryable dispatch failure", reply)
	}
	if n := len(l.fakes.Topic.Requests()); n != 0 {
		t.Errorf("the topic received %d requests without a token", n)
	}
	if logs := l.logs.String(); !strings.Contains(logs, "aws iam enable-outbound-web-identity-federation") {
		t.Errorf("the log does not say what to enable: %s", logs)
	}

	// Once enabled, the same approver's click sends it.
	l.fakes.STS.SetDisabled(false)
	if reply := l.approve(alice, m); reply != "" {
		t.Fatalf("the retried approval answered %q", reply)
	}
	if n := len(l.fakes.Topic.Requests()); n != 1 {
		t.Errorf("the topic received %d requests after the retry, want 1", n)
	}
}
