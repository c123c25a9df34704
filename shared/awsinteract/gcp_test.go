package awsinteract_test

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"cloud.google.com/go/pubsub/v2/apiv1/pubsubpb"
	"cloud.google.com/go/pubsub/v2/pstest"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"google.golang.org/api/option"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/metadata"

	"github.com/driftwatch/driftwatch/shared/awsdetector"
	"github.com/driftwatch/driftwatch/shared/awsinteract"
	"github.com/driftwatch/driftwatch/shared/change"
	"github.com/driftwatch/driftwatch/shared/gcpbus"
	"github.com/driftwatch/driftwatch/shared/gcpfed"
	"github.com/driftwatch/driftwatch/shared/gcpfed/gcpfedtest"
	"github.com/driftwatch/driftwatch/shared/gcpres"
	"github.com/driftwatch/driftwatch/shared/internal/awsdemo"
	"github.com/driftwatch/driftwatch/shared/internal/motoserver"
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

// GCP names of these tests.
const (
	gcpProject    = "driftwatch-payments"
	gcpTopic      = "projects/" + gcpProject + "/topics/driftwatch-remediation"
	gcpAudience   = "//iam.googleapis.com/projects/123456789012/locations/global/workloadIdentityPools/driftwatch/providers/aws-interactivity"
	gcpPublisher  = "driftwatch-publisher@" + gcpProject + ".iam.gserviceaccount.com"
	gcpRDPRule    = "gcp_firewall_no_ingress_rdp_from_internet"
	gcpRDPFix     = "gcp_firewall_disable_rule"
	gcpLoopRegion = "eu-west-1"
)

// firewall is a VPC firewall rule opening RDP to the Internet.
func firewall(name string) *gcpres.Firewall {
	return &gcpres.Firewall{
		ID: "7001", Name: name, Project: gcpProject, Network: "default", Direction: "INGRESS", Priority: 1000,
		SourceRanges: []string{"0.0.0.0/0"}, FromInternet: true,
		Allowed: []gcpres.FirewallEntry{{Protocol: "tcp", Ports: []string{"3389"}, PortRanges: []gcpres.PortRange{{From: 3389, To: 3389}}}},
	}
}

// firewallFetcher is the GCP detector's read of a firewall rule without
// the Compute API: the interactivity function never reads GCP, so the
// finding only has to reach the posture table and Slack the way the GCP
// function puts it there (its pipeline, its rules, its governance).
type firewallFetcher map[string]*gcpres.Firewall

func (f firewallFetcher) Fetch(_ context.Context, ref change.ResourceRef) (resource.Resource, error) {
	doc, ok := f[ref.ID]
	if !ok {
		return resource.Resource{Ref: ref, ObservedAt: time.Now()}, nil
	}
	return resource.Resource{Ref: ref, Exists: true, ObservedAt: time.Now(), Doc: doc}, nil
}

// pubsubEmulator is pstest, the client library's Pub/Sub emulator, with
// the remediation topic and a subscription that sees what is published.
// Besides its own plain gRPC address (what PUBSUB_EMULATOR_HOST names), it
// serves the same emulated service over TLS, recording each call's
// authorization metadata: per-call credentials (the federated token) are
// only sent over a secure transport.
type pubsubEmulator struct {
	srv     *pstest.Server
	tlsAddr string
	roots   *x509.CertPool

	mu   sync.Mutex
	auth []string // authorization metadata of each Publish over TLS
}

func startPubsub(t *testing.T) *pubsubEmulator {
	t.Helper()
	e := &pubsubEmulator{srv: pstest.NewServer()}
	t.Cleanup(func() { e.srv.Close() })
	// The TLS front: httptest's certificate (127.0.0.1), the same GServer.
	cert := httptest.NewUnstartedServer(nil)
	cert.StartTLS()
	cert.Close()
	e.roots = x509.NewCertPool()
	e.roots.AddCert(cert.Certificate())
	gs := grpc.NewServer(grpc.Creds(credentials.NewTLS(&tls.Config{Certificates: cert.TLS.Certificates, MinVersion: tls.VersionTLS12})),
		grpc.UnaryInterceptor(func(ctx context.Context, req any, info *grpc.UnaryServerInfo, h grpc.UnaryHandler) (any, error) {
			if info.FullMethod == "/google.pubsub.v1.Publisher/Publish" {
				md, _ := metadata.FromIncomingContext(ctx)
				e.mu.Lock()
				e.auth = append(e.auth, strings.Join(md.Get("authorization"), ","))
				e.mu.Unlock()
			}
			return h(ctx, req)
		}))
	pubsubpb.RegisterPublisherServer(gs, &e.srv.GServer)
	pubsubpb.RegisterSubscriberServer(gs, &e.srv.GServer)
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	e.tlsAddr = lis.Addr().String()
	go gs.Serve(lis)
	t.Cleanup(gs.Stop)

	ctx := t.Context()
	if _, err := e.srv.GServer.CreateTopic(ctx, &pubsubpb.Topic{Name: gcpTopic}); err != nil {
		t.Fatal(err)
	}
	return e
}

// publishAuth returns the authorization metadata of the Publish calls
// received over TLS.
func (e *pubsubEmulator) publishAuth() []string {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]string(nil), e.auth...)
}

// gcpLoop is the interactivity function with the GCP leg: the posture
// table on moto, Slack on a recorder, the GCP findings put there by the
// GCP detector's pipeline, the remediation topic on the Pub/Sub emulator
// and, for federation, Google STS and IAM Credentials on gcpfedtest.
type gcpLoop struct {
	t        *testing.T
	pubsub   *pubsubEmulator
	google   *gcpfedtest.Server
	slack    *slackrec.Recorder
	store    *dynamostore.Store
	detector *pipeline.Detector
	fetcher  firewallFetcher
	interact *httptest.Server
	logs     *syncBuffer
	clicks   int
}

// gcpAuth returns the GCP variables of a loop (nil: none).
type gcpAuth func(l *gcpLoop) map[string]string

func emulatorAuth(l *gcpLoop) map[string]string {
	return map[string]string{"DRIFTWATCH_GCP_REMEDIATION_TOPIC": gcpTopic, "PUBSUB_EMULATOR_HOST": l.pubsub.srv.Addr}
}

func federationAuth(*gcpLoop) map[string]string {
	return map[string]string{
		"DRIFTWATCH_GCP_REMEDIATION_TOPIC":         gcpTopic,
		"DRIFTWATCH_GCP_WIF_AUDIENCE":              gcpAudience,
		"DRIFTWATCH_GCP_PUBLISHER_SERVICE_ACCOUNT": gcpPublisher,
	}
}

func newGCPLoop(t *testing.T, auth gcpAuth) *gcpLoop {
	t.Helper()
	ctx := t.Context()
	l := &gcpLoop{t: t, pubsub: startPubsub(t), fetcher: firewallFetcher{}, logs: &syncBuffer{}}
	moto := motoserver.StartTB(t)
	cfg := moto.Config(gcpLoopRegion)
	// One request at a time: moto's DynamoDB does not isolate concurrent
	// transactions.
	cfg.HTTPClient = motoserver.SerialClient()
	creds, err := cfg.Credentials.Retrieve(ctx)
	if err != nil {
		t.Fatal(err)
	}
	l.google = gcpfedtest.Start(t, gcpfedtest.Expect{
		Audience: gcpAudience, ServiceAccount: gcpPublisher, Region: gcpLoopRegion, Credentials: aws.Credentials{
			AccessKeyID: creds.AccessKeyID, SecretAccessKey: creds.SecretAccessKey, SessionToken: creds.SessionToken,
		}, Scope: gcpfed.PubSubScope,
	})

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
		"DRIFTWATCH_ACCOUNTS":         `{"` + gcpProject + `": {"name": "payments-prod", "environment": "prod"}}`,
		"DRIFTWATCH_LOG_LEVEL":        "debug",
	}
	if auth != nil {
		maps.Copy(env, auth(l))
	}
	getenv := func(k string) string { return env[k] }

	// The GCP detector's pipeline over the same table and Slack.
	dc, err := awsdetector.ConfigFromEnv(getenv)
	if err != nil {
		t.Fatal(err)
	}
	parts, err := awsdetector.NewPartsFor(ctx, []change.Cloud{change.GCP}, dc, cfg, nil)
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
	deps := awsinteract.Deps{
		AWS:    cfg,
		Logger: slog.New(slog.NewJSONHandler(l.logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
	}
	if ic.GCPWIFAudience != "" {
		// Federation: STS and IAM Credentials on the fake, Pub/Sub on the
		// emulator's TLS front (the token only travels over TLS).
		deps.GCPFederation = gcpfed.Config{TokenURL: l.google.TokenURL(), IAMCredentialsURL: l.google.IAMCredentialsURL(), HTTPClient: l.google.Client()}
		deps.GCP = []option.ClientOption{
			option.WithEndpoint(l.pubsub.tlsAddr),
			option.WithGRPCDialOption(grpc.WithTransportCredentials(credentials.NewTLS(&tls.Config{RootCAs: l.pubsub.roots, MinVersion: tls.VersionTLS12}))),
		}
	}
	h, err := awsinteract.NewWithDeps(ctx, ic, deps)
	if err != nil {
		t.Fatal(err)
	}
	l.interact = httptest.NewServer(h)
	t.Cleanup(l.interact.Close)
	return l
}

// openRDP is the drift: someone opens RDP to the Internet with the
// firewall rule name and the GCP detector processes the audit log entry.
// It returns the resource's key and its alert.
func (l *gcpLoop) openRDP(name string) (store.Key, slackrec.Message) {
	l.t.Helper()
	doc := firewall(name)
	ref := change.ResourceRef{Cloud: change.GCP, Type: gcpres.TypeFirewall, ID: gcpres.FirewallID(gcpProject, name), Name: name, Account: gcpProject, Region: "global"}
	l.fetcher[ref.ID] = doc
	_, err := l.detector.Process(l.t.Context(), change.Change{
		EventID: "gcp-" + name + "-" + fmt.Sprint(time.Now().UnixNano()), Cloud: change.GCP, Account: gcpProject, Region: "global",
		Service: "compute.googleapis.com", Operation: "v1.compute.firewalls.insert",
		Resources: []change.ResourceRef{ref},
		Actor:     change.Actor{Principal: "mallory@example.com", Type: "User", Name: "mallory@example.com", Via: "console"},
		Time:      time.Now(),
	})
	if err != nil {
		l.t.Fatal(err)
	}
	var found []slackrec.Message
	for _, m := range l.slack.Messages() {
		if m.ThreadTS == "" && strings.Contains(string(m.Blocks), gcpRDPRule) && strings.Contains(string(m.Blocks), name) {
			found = append(found, m)
		}
	}
	if len(found) != 1 {
		l.t.Fatalf("%d alerts for %s, want 1", len(found), name)
	}
	return store.KeyOf(ref), found[0]
}

// approve clicks Remediate on m as user and returns the ephemeral reply.
func (l *gcpLoop) approve(user string, m slackrec.Message) string {
	l.t.Helper()
	ref, err := awsdemo.ButtonRef(m.Blocks, slackalert.RemediateActionID)
	if err != nil {
		l.t.Fatalf("the alert offers no Remediate button: %v: %s", err, m.Blocks)
	}
	l.clicks++
	respID := fmt.Sprintf("gcp-click-%d", l.clicks)
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

// publishedMessages decodes what the topic holds: each message must be
// one the GCP function's remediation route would accept.
func (l *gcpLoop) publishedMessages() []*pstest.Message {
	l.t.Helper()
	var out []*pstest.Message
	for _, m := range l.pubsub.srv.Messages() {
		if m.Topic != gcpTopic {
			l.t.Errorf("a message on topic %s", m.Topic)
		}
		out = append(out, m)
	}
	return out
}

// checkApplyRequest: the published message is the approved fix of the
// finding, by alice, with the attributes the remediation subscription
// filters on.
func (l *gcpLoop) checkApplyRequest(m *pstest.Message, key store.Key, before time.Time) {
	l.t.Helper()
	req, err := gcpbus.Decode(m.Data, m.Attributes)
	if err != nil {
		l.t.Fatalf("the remediation route would refuse the message: %v", err)
	}
	if got := m.Attributes["driftwatch_type"]; got != "Driftwatch.RemediationApproved" {
		l.t.Errorf("driftwatch_type %q, want Driftwatch.RemediationApproved", got)
	}
	if got := m.Attributes["driftwatch_data_version"]; got != "1.0" {
		l.t.Errorf("driftwatch_data_version %q, want 1.0", got)
	}
	// What a push subscription would post decodes the same.
	push, err := json.Marshal(map[string]any{"message": map[string]any{
		"data": m.Data, "attributes": m.Attributes, "messageId": m.ID, "publishTime": m.PublishTime.Format(time.RFC3339Nano),
	}, "subscription": "projects/" + gcpProject + "/subscriptions/driftwatch-remediation-push"})
	if err != nil {
		l.t.Fatal(err)
	}
	if pushed, err := gcpbus.DecodePush(push); err != nil || pushed != req {
		l.t.Errorf("the push delivery decodes to %+v, %v; want %+v", pushed, err, req)
	}
	loaded, err := l.store.LoadAll(l.t.Context(), key)
	if err != nil {
		l.t.Fatal(err)
	}
	if len(loaded.Remediations) != 1 {
		l.t.Fatalf("%d remediations recorded, want 1", len(loaded.Remediations))
	}
	rem := loaded.Remediations[0]
	if rem.State != store.RemediationApproved || rem.Action != gcpRDPFix {
		l.t.Errorf("remediation %s %s, want approved %s", rem.State, rem.Action, gcpRDPFix)
	}
	want := remediation.Request{Op: remediation.OpApply, Key: key, ResourceType: gcpres.TypeFirewall, Region: "global",
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

// The production path: the approval of a GCP finding is published to the
// remediation topic as the publisher service account, whose token the
// function obtained by workload identity federation with its AWS role (a
// signed GetCallerIdentity, no secret); the token is reused for the next
// approval, so STS and IAM Credentials are each called once.
func TestApproveGCPFixPublishesWithFederation(t *testing.T) {
	l := newGCPLoop(t, federationAuth)
	key, m := l.openRDP("allow-rdp")
	before := time.Now()
	if reply := l.approve(alice, m); reply != "" {
		t.Fatalf("the approval answered %q", reply)
	}
	msgs := l.publishedMessages()
	if len(msgs) != 1 {
		t.Fatalf("the topic holds %d messages, want exactly 1", len(msgs))
	}
	l.checkApplyRequest(msgs[0], key, before)

	// Pub/Sub saw the service account's token, which STS and IAM
	// Credentials issued for the signed AWS request.
	reqs := l.google.Requests()
	if len(reqs) != 2 || reqs[0].Path != "/v1/token" || !strings.HasSuffix(reqs[1].Path, gcpPublisher+":generateAccessToken") {
		t.Fatalf("Google requests %+v, want the STS exchange then the impersonation", reqs)
	}
	for _, r := range reqs {
		if r.Refused != "" {
			t.Errorf("%s refused: %s", r.Path, r.Refused)
		}
	}
	auth := l.pubsub.publishAuth()
	if len(auth) != 1 {
		t.Fatalf("%d publishes over TLS, want 1", len(auth))
	}
	bearer, ok := strings.CutPrefix(auth[0], "Bearer ")
	if !ok || !l.google.IssuedAccessToken(bearer) {
		t.Errorf("Publish authorization %q, want the service account's token", auth[0])
	}

	// A second approval reuses the token.
	_, m2 := l.openRDP("allow-rdp-2")
	if reply := l.approve(alice, m2); reply != "" {
		t.Fatalf("the second approval answered %q", reply)
	}
	if n := len(l.publishedMessages()); n != 2 {
		t.Fatalf("the topic holds %d messages after two approvals, want 2", n)
	}
	if auth := l.pubsub.publishAuth(); len(auth) != 2 || auth[1] != auth[0] {
		t.Errorf("second publish authorization %q, want the cached token", auth)
	}
	if n := len(l.google.Requests()); n != 2 {
		t.Errorf("%d Google requests after two approvals, want 2 (the token is cached)", n)
	}

	// No token is ever logged.
	logs := l.logs.String()
	if strings.Contains(logs, bearer) || strings.Contains(logs, "federated-") {
		t.Errorf("a token was logged: %s", logs)
	}
	if !strings.Contains(logs, `"msg":"gcp remediation topic configured"`) || !strings.Contains(logs, `"auth":"workload identity federation"`) {
		t.Errorf("the cold start did not log the topic: %s", logs)
	}
}

// The local path: the emulator named by PUBSUB_EMULATOR_HOST, without
// credentials; nothing asks Google STS.
func TestApproveGCPFixPublishesToEmulator(t *testing.T) {
	l := newGCPLoop(t, emulatorAuth)
	key, m := l.openRDP("allow-rdp")
	before := time.Now()
	if reply := l.approve(alice, m); reply != "" {
		t.Fatalf("the approval answered %q", reply)
	}
	msgs := l.publishedMessages()
	if len(msgs) != 1 {
		t.Fatalf("the topic holds %d messages, want exactly 1", len(msgs))
	}
	l.checkApplyRequest(msgs[0], key, before)
	if n := len(l.google.Requests()); n != 0 {
		t.Errorf("%d Google requests with the emulator, want 0", n)
	}
	if n := len(l.pubsub.publishAuth()); n != 0 {
		t.Errorf("%d publishes reached the TLS front, want 0 (the emulator's own address)", n)
	}
}

// Without the GCP variables the approval is recorded but cannot be sent,
// and the clicker is told so.
func TestApproveGCPFixWithoutTopic(t *testing.T) {
	l := newGCPLoop(t, nil)
	_, m := l.openRDP("allow-rdp")
	if reply := l.approve(alice, m); !strings.Contains(reply, "could not be sent to the cloud") {
		t.Errorf("the approval answered %q, want the dispatch failure", reply)
	}
	if !strings.Contains(l.logs.String(), "no remediation bus configured for gcp resources") {
		t.Errorf("the log does not say why: %s", l.logs.String())
	}
	if n := len(l.publishedMessages()); n != 0 {
		t.Errorf("the topic holds %d messages", n)
	}
}

// A federation Google refuses (here: the pool's principal may not
// impersonate the configured service account): nothing is published, the clicker can retry, and no credential is
// logged.
func TestApproveGCPFixFederationRefused(t *testing.T) {
	l := newGCPLoop(t, func(l *gcpLoop) map[string]string {
		env := federationAuth(l)
		env["DRIFTWATCH_GCP_PUBLISHER_SERVICE_ACCOUNT"] = "someone-else@" + gcpProject + ".iam.gserviceaccount.com"
		return env
	})
	_, m := l.openRDP("allow-rdp")
	if reply := l.approve(alice, m); !strings.Contains(reply, "Click Remediate again to retry") {
		t.Errorf("the approval answered %q, want the retryable dispatch failure", reply)
	}
	if n := len(l.publishedMessages()); n != 0 {
		t.Errorf("the topic holds %d messages without a token", n)
	}
	if logs := l.logs.String(); !strings.Contains(logs, "no permission to impersonate") || strings.Contains(logs, "federated-") {
		t.Errorf("the log does not say why, or carries the federated token: %s", logs)
	}
}

// The GCP publishing variables are optional as a group; when the topic is
// set, exactly one way to reach it must be. PUBSUB_EMULATOR_HOST alone is
// not ours and is ignored.
func TestConfigGCP(t *testing.T) {
	type gcp struct{ topic, audience, sa, emulator string }
	const (
		audVar   = "DRIFTWATCH_GCP_WIF_AUDIENCE"
		saVar    = "DRIFTWATCH_GCP_PUBLISHER_SERVICE_ACCOUNT"
		topicVar = "DRIFTWATCH_GCP_REMEDIATION_TOPIC"
		emuVar   = "PUBSUB_EMULATOR_HOST"
		creds    = "DRIFTWATCH_GCP_WIF_AUDIENCE and DRIFTWATCH_GCP_PUBLISHER_SERVICE_ACCOUNT (workload identity federation with the function's role)"
	)
	tests := []struct {
		name    string
		env     map[string]string
		want    gcp
		wantErr string
	}{
		{name: "none", env: map[string]string{}},
		{name: "emulator host alone is ignored", env: map[string]string{emuVar: "localhost:8085"}},
		{
			name: "federation, spaces trimmed",
			env:  map[string]string{topicVar: " " + gcpTopic + "\n", audVar: gcpAudience, saVar: " " + gcpPublisher},
			want: gcp{topic: gcpTopic, audience: gcpAudience, sa: gcpPublisher},
		},
		{
			name: "emulator",
			env:  map[string]string{topicVar: gcpTopic, emuVar: "localhost:8085"},
			want: gcp{topic: gcpTopic, emulator: "localhost:8085"},
		},
		{
			name:    "audience without a topic",
			env:     map[string]string{audVar: gcpAudience},
			wantErr: "DRIFTWATCH_GCP_WIF_AUDIENCE is set but DRIFTWATCH_GCP_REMEDIATION_TOPIC is not: set the topic approved GCP fixes are published to, or unset DRIFTWATCH_GCP_WIF_AUDIENCE",
		},
		{
			name:    "service account without a topic",
			env:     map[string]string{saVar: gcpPublisher},
			wantErr: "DRIFTWATCH_GCP_PUBLISHER_SERVICE_ACCOUNT is set but DRIFTWATCH_GCP_REMEDIATION_TOPIC is not: set the topic approved GCP fixes are published to, or unset DRIFTWATCH_GCP_PUBLISHER_SERVICE_ACCOUNT",
		},
		{
			name:    "topic id only",
			env:     map[string]string{topicVar: "driftwatch-remediation", emuVar: "localhost:8085"},
			wantErr: `DRIFTWATCH_GCP_REMEDIATION_TOPIC: "driftwatch-remediation" is not a Pub/Sub topic name (projects/<project>/topics/<topic>)`,
		},
		{
			name:    "a subscription",
			env:     map[string]string{topicVar: "projects/" + gcpProject + "/subscriptions/driftwatch-remediation", emuVar: "localhost:8085"},
			wantErr: `DRIFTWATCH_GCP_REMEDIATION_TOPIC: "projects/driftwatch-payments/subscriptions/driftwatch-remediation" is not a Pub/Sub topic name (projects/<project>/topics/<topic>)`,
		},
		{
			name:    "a topic URL",
			env:     map[string]string{topicVar: "https://pubsub.googleapis.com/v1/" + gcpTopic, emuVar: "localhost:8085"},
			wantErr: `DRIFTWATCH_GCP_REMEDIATION_TOPIC: "https://pubsub.googleapis.com/v1/projects/driftwatch-payments/topics/driftwatch-remediation" is not a Pub/Sub topic name (projects/<project>/topics/<topic>)`,
		},
		{
			name:    "a reserved topic id",
			env:     map[string]string{topicVar: "projects/" + gcpProject + "/topics/google-remediation", emuVar: "localhost:8085"},
			wantErr: `DRIFTWATCH_GCP_REMEDIATION_TOPIC: "projects/driftwatch-payments/topics/google-remediation" is not a Pub/Sub topic name (projects/<project>/topics/<topic>)`,
		},
		{
			name:    "topic without credentials",
			env:     map[string]string{topicVar: gcpTopic},
			wantErr: "DRIFTWATCH_GCP_REMEDIATION_TOPIC needs credentials: " + creds + ", or PUBSUB_EMULATOR_HOST (local runs only)",
		},
		{
			name:    "federation and emulator",
			env:     map[string]string{topicVar: gcpTopic, audVar: gcpAudience, saVar: gcpPublisher, emuVar: "localhost:8085"},
			wantErr: "set either " + creds + " or PUBSUB_EMULATOR_HOST (local runs only), not both",
		},
		{
			name:    "half of federation and emulator",
			env:     map[string]string{topicVar: gcpTopic, saVar: gcpPublisher, emuVar: "localhost:8085"},
			wantErr: "set either " + creds + " or PUBSUB_EMULATOR_HOST (local runs only), not both",
		},
		{
			name:    "emulator not host:port",
			env:     map[string]string{topicVar: gcpTopic, emuVar: "http://localhost:8085"},
			wantErr: `PUBSUB_EMULATOR_HOST: "http://localhost:8085" is not host:port (the Pub/Sub emulator)`,
		},
		{
			name:    "audience without service account",
			env:     map[string]string{topicVar: gcpTopic, audVar: gcpAudience},
			wantErr: "DRIFTWATCH_GCP_PUBLISHER_SERVICE_ACCOUNT is required with DRIFTWATCH_GCP_WIF_AUDIENCE",
		},
		{
			name:    "service account without audience",
			env:     map[string]string{topicVar: gcpTopic, saVar: gcpPublisher},
			wantErr: "DRIFTWATCH_GCP_WIF_AUDIENCE is required with DRIFTWATCH_GCP_PUBLISHER_SERVICE_ACCOUNT",
		},
		{
			name:    "audience of the pool, not the provider",
			env:     map[string]string{topicVar: gcpTopic, audVar: "//iam.googleapis.com/projects/123456789012/locations/global/workloadIdentityPools/driftwatch", saVar: gcpPublisher},
			wantErr: `DRIFTWATCH_GCP_WIF_AUDIENCE: "//iam.googleapis.com/projects/123456789012/locations/global/workloadIdentityPools/driftwatch" is not a workload identity pool provider (//iam.googleapis.com/projects/<number>/locations/global/workloadIdentityPools/<pool>/providers/<provider>)`,
		},
		{
			name:    "service account not an email",
			env:     map[string]string{topicVar: gcpTopic, audVar: gcpAudience, saVar: "driftwatch-publisher"},
			wantErr: `DRIFTWATCH_GCP_PUBLISHER_SERVICE_ACCOUNT: "driftwatch-publisher" is not a service account email (<name>@<project>.iam.gserviceaccount.com)`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := baseEnv()
			maps.Copy(env, tt.env)
			c, err := awsinteract.ConfigFromEnv(func(k string) string { return env[k] })
			if tt.wantErr != "" {
				if err == nil || err.Error() != tt.wantErr {
					t.Fatalf("error\n%v\nwant\n%s", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := (gcp{c.GCPTopic, c.GCPWIFAudience, c.GCPPublisherServiceAccount, c.GCPEmulatorHost}); got != tt.want {
				t.Errorf("gcp configuration %+v, want %+v", got, tt.want)
			}
		})
	}
}

// Logging the whole configuration shows where GCP fixes go and as whom.
func TestConfigLogValueShowsGCP(t *testing.T) {
	env := baseEnv()
	maps.Copy(env, map[string]string{
		"DRIFTWATCH_GCP_REMEDIATION_TOPIC": gcpTopic, "DRIFTWATCH_GCP_WIF_AUDIENCE": gcpAudience, "DRIFTWATCH_GCP_PUBLISHER_SERVICE_ACCOUNT": gcpPublisher,
	})
	c, err := awsinteract.ConfigFromEnv(func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	slog.New(slog.NewJSONHandler(&buf, nil)).Info("config", "config", c)
	out := buf.String()
	for _, want := range []string{`"gcp_topic":"` + gcpTopic + `"`, `"gcp_wif_audience":"` + gcpAudience + `"`, `"gcp_publisher_service_account":"` + gcpPublisher + `"`} {
		if !strings.Contains(out, want) {
			t.Errorf("the log lacks %s: %s", want, out)
		}
	}
	if strings.Contains(out, env["SLACK_SIGNING_SECRET"]) {
		t.Errorf("the log carries the signing secret: %s", out)
	}
}
