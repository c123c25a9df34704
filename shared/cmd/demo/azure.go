package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	azfake "github.com/Azure/azure-sdk-for-go/sdk/azcore/fake"

	"github.com/driftwatch/driftwatch/shared/azfunc"
	"github.com/driftwatch/driftwatch/shared/azremedy/armfake"
	"github.com/driftwatch/driftwatch/shared/internal/awsdemo"
	"github.com/driftwatch/driftwatch/shared/internal/azdemo"
	"github.com/driftwatch/driftwatch/shared/internal/procgroup"
	"github.com/driftwatch/driftwatch/shared/slackalert"
	"github.com/driftwatch/driftwatch/shared/slackalert/slackrec"
	"github.com/driftwatch/driftwatch/shared/store"
)

// The Azure deployment the demo stands up locally. None of these is a
// secret: every endpoint they open is a fake on loopback.
const (
	azureSecret         = "demo-eventgrid-secret-not-a-secret"
	azureTopicKey       = "demo-topic-key-not-a-secret"
	azureIdentityHeader = "demo-identity-header-not-a-secret"
	// The function's user-assigned managed identity.
	azureClientID    = "6d1c0b7a-4e3f-4a2b-9c8d-1e0f2a3b4c5d"
	azurePrincipalID = "5b0c8f3e-9a7d-4c6b-8e1f-0a2b3c4d5e6f"
	// The posture table's role for the Azure function (infra/aws/azure.tf)
	// and the audience of the identity token exchanged for it.
	azureRoleARN       = "arn:aws:iam::123456789012:role/driftwatch-azure-function"
	azureTokenAudience = "api://driftwatch-aws-federation"
	azureAccounts      = `{"` + azdemo.Subscription + `": {"name": "web-prod", "environment": "prod"}}`
)

// azureTopicID is the remediation custom topic's ARM id.
var azureTopicID = "/subscriptions/" + azdemo.Subscription + "/resourceGroups/rg-driftwatch/providers/Microsoft.EventGrid/topics/driftwatch-remediation"

// azureWorld is the Azure side of the local world: the fake ARM over HTTPS
// holding the subscription, the managed identity endpoint the Functions
// platform provides, and the remediation custom topic. It starts before
// the interactivity function, which is told the topic.
type azureWorld struct {
	// arm is the fake ARM, served over HTTPS to the function's process.
	arm      *azdemo.ARM
	identity *azdemo.Identity
	topic    *azdemo.Topic
	// caFile holds the certificate the fakes present, for SSL_CERT_FILE
	// of the processes that call them.
	caFile string
	dir    string
	// env makes the changes the scenario's people make, with plain SDK
	// clients on the fake ARM.
	env *azdemo.Env
}

func startAzure() (_ *azureWorld, err error) {
	a := &azureWorld{
		arm:      azdemo.ServeARM(armfake.New(azdemo.Subscription, nil)),
		identity: azdemo.NewIdentity(azureIdentityHeader, azdemo.Tenant, azureClientID, azurePrincipalID),
		topic:    azdemo.NewTopic(azureTopicID, azureTopicKey),
	}
	defer func() {
		if err != nil {
			a.close()
		}
	}()
	if a.dir, err = os.MkdirTemp("", "driftwatch-demo-azure-"); err != nil {
		return nil, err
	}
	a.caFile = filepath.Join(a.dir, "fakes-ca.pem")
	if err := azdemo.WriteCA(a.arm.Server(), a.caFile); err != nil {
		return nil, err
	}
	if a.env, err = azdemo.NewEnv(&azfake.TokenCredential{}, a.arm.ClientOptions()); err != nil {
		return nil, err
	}
	return a, nil
}

func (a *azureWorld) close() {
	if a.topic != nil {
		a.topic.Close()
	}
	a.identity.Close()
	a.arm.Close()
	if a.dir != "" {
		os.RemoveAll(a.dir)
	}
}

// interactivityEnv is what the interactivity function needs to publish
// approved Azure fixes: the topic, its key (local runs) and trust in the
// topic's certificate; and, as the one Slack app of every cloud, the
// names of the Azure subscription besides the AWS account (it replaces
// the detector's DRIFTWATCH_ACCOUNTS: the last value of a variable wins).
func (a *azureWorld) interactivityEnv() []string {
	return []string{
		`DRIFTWATCH_ACCOUNTS={"123456789012": {"name": "payments-prod", "environment": "prod"}, "` +
			azdemo.Subscription + `": {"name": "web-prod", "environment": "prod"}}`,
		"DRIFTWATCH_AZURE_REMEDIATION_TOPIC=" + a.topic.Endpoint(),
		"DRIFTWATCH_AZURE_TOPIC_KEY=" + azureTopicKey,
		"SSL_CERT_FILE=" + a.caFile,
	}
}

// handlerEnv is the Azure function's app settings, as infra/azure sets
// them, plus what the Functions platform sets (the port, the identity
// endpoint) and the local endpoints of the fakes and emulators.
func (a *azureWorld) handlerEnv(port int, motoURL, region, slackURL, governance string) []string {
	return []string{
		azfunc.EnvPort + "=" + strconv.Itoa(port),
		azfunc.EnvSecret + "=" + azureSecret,
		"IDENTITY_ENDPOINT=" + a.identity.Endpoint(),
		"IDENTITY_HEADER=" + azureIdentityHeader,
		"AZURE_CLIENT_ID=" + azureClientID,
		"SSL_CERT_FILE=" + a.caFile,
		"DRIFTWATCH_ARM_ENDPOINT=" + a.arm.Endpoint(),
		"DRIFTWATCH_TABLE=" + table,
		"DRIFTWATCH_AWS_ROLE_ARN=" + azureRoleARN,
		"DRIFTWATCH_AWS_REGION=" + region,
		"DRIFTWATCH_AWS_TOKEN_AUDIENCE=" + azureTokenAudience,
		"DRIFTWATCH_AWS_ENDPOINT_URL=" + motoURL,
		"DRIFTWATCH_GOVERNANCE_FILE=" + governance,
		"DRIFTWATCH_ACCOUNTS=" + azureAccounts,
		"DRIFTWATCH_AZURE_SUBSCRIPTIONS=" + azdemo.Subscription,
		"SLACK_BOT_TOKEN=xoxb-demo-not-a-secret",
		"SLACK_CHANNEL=" + channel,
		"SLACK_API_URL=" + slackURL + "/",
		// No AWS key, profile or session of the caller's: the function's
		// only AWS credentials are the ones STS gives its identity.
		"AWS_ACCESS_KEY_ID=", "AWS_SECRET_ACCESS_KEY=", "AWS_SESSION_TOKEN=", "AWS_PROFILE=",
	}
}

// startAzureHandler runs the handler binary on its own, as the Functions
// host would start it, and waits until it listens: it builds everything
// (rules, policy, clients) before it does.
func startAzureHandler(ctx context.Context, bin string, port int, env []string, logw io.Writer) (string, func(), time.Duration, error) {
	cmd := exec.Command(bin)
	cmd.Env = append(os.Environ(), env...)
	cmd.Stdout, cmd.Stderr = logw, logw
	procgroup.Isolate(cmd)
	start := time.Now()
	if err := cmd.Start(); err != nil {
		return "", nil, 0, fmt.Errorf("start %s: %w", bin, err)
	}
	stop := func() { procgroup.Stop(cmd, 5*time.Second) }
	addr := "127.0.0.1:" + strconv.Itoa(port)
	deadline := start.Add(20 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond)
		if err == nil {
			c.Close()
			return "http://" + addr, stop, time.Since(start), nil
		}
		if ctx.Err() != nil || time.Now().After(deadline) {
			stop()
			return "", nil, 0, fmt.Errorf("the Azure handler did not listen on %s (see the function log)", addr)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// azureDemo runs the NSG scenario against the real handler binary.
type azureDemo struct {
	cloudPart
	az     *azureWorld
	url    string // the handler
	events string
}

// azureOptions are the Azure part's inputs.
type azureOptions struct {
	handler, events, logPath string
	motoURL, region          string
	governance               string
}

// runAzure is the Azure scenario: a compliant NSG, Alice opening RDP to the
// Internet in the portal, the alert, a refused and an approved fix from
// Slack carried to the function by the remediation topic, and the Undo.
// Every step is checked; the first one that does not do what it should
// ends the demo with an error.
func (d *demo) runAzure(ctx context.Context, az *azureWorld, st postureReader, o azureOptions) error {
	a := &azureDemo{az: az, events: o.events, cloudPart: cloudPart{
		demo: d, cloud: "Azure", st: st, key: nsgKey(), name: azdemo.NSG, ruleID: azdemo.RDPRuleID, earlier: "AWS's", start: time.Now(),
	}}
	section("7. Azure: the same pipeline for an Azure subscription (custom handler on Event Grid)")
	fmt.Printf("  ARM:      fake Resource Manager (armfake) over HTTPS at %s, subscription %s\n", az.arm.Endpoint(), azdemo.Subscription)
	fmt.Printf("  Identity: fake managed identity endpoint at %s (client id %s)\n", az.identity.Endpoint(), azureClientID)
	fmt.Printf("  Topic:    fake Event Grid remediation topic at %s\n", az.topic.Endpoint())
	fmt.Printf("  Posture:  the same DynamoDB table %s, reached through STS AssumeRoleWithWebIdentity as %s\n", table, azureRoleARN)

	if err := os.MkdirAll(filepath.Dir(o.logPath), 0o755); err != nil {
		return err
	}
	logFile, err := os.Create(o.logPath)
	if err != nil {
		return err
	}
	defer logFile.Close()
	port, err := freePort()
	if err != nil {
		return err
	}
	url, stop, took, err := startAzureHandler(ctx, o.handler, port, az.handlerEnv(port, o.motoURL, o.region, d.slack.URL(), o.governance), logFile)
	if err != nil {
		return err
	}
	defer stop()
	a.url = url
	a.mark("handler started and listening (rules compiled, policy loaded)", took)
	az.topic.SetWebhook(url + azfunc.RemediationPath + "?code=" + azureSecret)
	fmt.Printf("  Function: %s on %s, listening after %s (function logs: %s)\n", o.handler, url, took.Round(time.Millisecond), o.logPath)
	fmt.Printf("  Event subscription: the topic delivers to %s?code=…\n", azfunc.RemediationPath)

	if err := a.scenario(ctx); err != nil {
		return err
	}
	a.printTimeline()
	return nil
}

func (a *azureDemo) scenario(ctx context.Context) error {
	fmt.Printf("\n▶ The platform team's Terraform creates %s (HTTPS from the Internet only)\n", azdemo.NSG)
	if err := a.az.env.CreateBaseline(ctx); err != nil {
		return err
	}
	calls := len(a.slack.Calls())
	sum, took, err := a.deliver(ctx, azdemo.EventNSGCreated)
	if err != nil {
		return err
	}
	if sum.Processed != 1 || sum.Drifted != 0 || sum.Failed != 0 {
		return fmt.Errorf("%s: the function answered %+v, want the NSG processed with no drift", azdemo.EventNSGCreated, sum)
	}
	if n := len(a.slack.Calls()) - calls; n != 0 {
		return fmt.Errorf("the compliant baseline NSG made %d Slack calls, want none", n)
	}
	a.mark("01-nsg-created delivered → baseline stored, no alert", took)
	if err := a.showSlack(); err != nil {
		return err
	}

	fmt.Printf("\n▶ Alice adds %s in the portal: RDP (TCP 3389) from any source\n", azdemo.RDPRule)
	if err := a.az.env.OpenRDP(ctx); err != nil {
		return err
	}
	before := a.alerts()
	sum, took, err = a.deliver(ctx, azdemo.EventRDPOpened)
	if err != nil {
		return err
	}
	if sum.Processed != 1 || sum.Drifted == 0 || sum.Notified == 0 || sum.Failed != 0 {
		return fmt.Errorf("%s: the function answered %+v, want one drift notified", azdemo.EventRDPOpened, sum)
	}
	added := a.alerts()[len(before):]
	if len(added) != 1 {
		return fmt.Errorf("%s: %d new alerts name %s, want 1", azdemo.EventRDPOpened, len(added), azdemo.NSG)
	}
	ts := added[0].TS
	for _, want := range []string{"alice@example.com", "3389", azdemo.RDPRule, "web-prod"} {
		if !strings.Contains(string(added[0].Blocks), want) {
			return fmt.Errorf("the RDP alert does not say %q", want)
		}
	}
	if _, err := awsdemo.ButtonRef(added[0].Blocks, slackalert.RemediateActionID); err != nil {
		return fmt.Errorf("the RDP alert offers no fix: %w", err)
	}
	a.mark("02-rdp-opened delivered → drift, alert posted in Slack", took)
	if err := a.showSlack(); err != nil {
		return err
	}
	if err := a.checkFinding(ctx, store.FindingOpen); err != nil {
		return err
	}

	fmt.Println("\n▶ alice clicks Remediate on the alert about her own change")
	start := time.Now()
	deliveries := len(a.az.topic.Deliveries())
	if _, err := a.clickOnly(ctx, "U0ALICE", slackalert.RemediateActionID, ts); err != nil {
		return err
	}
	if err := waitFor(ctx, 10*time.Second, func() bool { return a.ephemeralTo("U0ALICE", "made this change") }); err != nil {
		return errors.New("alice's own approval was not refused with \"you made this change\"")
	}
	if err := a.requireRule(ctx, true); err != nil {
		return err
	}
	if n := len(a.az.topic.Deliveries()); n != deliveries {
		return fmt.Errorf("alice's refused click published %d remediation request(s)", n-deliveries)
	}
	a.mark("alice's own approval refused (ephemeral reply)", time.Since(start))
	if err := a.showNew(); err != nil {
		return err
	}

	fmt.Println("\n▶ carol (an approver) clicks Remediate: interactivity → Event Grid topic → the function deletes the rule")
	if err := a.remediate(ctx, "U0CAROL", slackalert.RemediateActionID, ts, false); err != nil {
		return err
	}

	fmt.Println("\n▶ carol clicks Undo: the function puts the rule back from its snapshot")
	if err := a.remediate(ctx, "U0CAROL", slackalert.UndoActionID, ts, true); err != nil {
		return err
	}
	return a.printAudit(ctx)
}

// remediate clicks action on the alert as user and follows the request
// through the Event Grid topic to the function: one delivery answered
// 200, the rule gone (or back, for an Undo), the alert resolved (or
// reopened) in place.
func (a *azureDemo) remediate(ctx context.Context, user, action, ts string, undo bool) error {
	return a.cloudPart.remediate(ctx, fixPath{
		published: func() int { return len(a.az.topic.Deliveries()) },
		wait:      a.az.topic.Wait,
		delivered: func(before int, _ bool) error {
			got := a.az.topic.Deliveries()[before:]
			if len(got) != 1 {
				return fmt.Errorf("%d remediation deliveries, want 1: %+v", len(got), got)
			}
			dl := got[0]
			fmt.Printf("  ⚙️  Event Grid topic → %s: %s for %s (HTTP %d, %d attempt(s))\n", azfunc.RemediationPath, dl.EventType, short(dl.Subject), dl.Status, dl.Attempts)
			if dl.Status != http.StatusOK || dl.Attempts != 1 {
				return fmt.Errorf("the function answered the remediation delivery %d after %d attempt(s), want 200 at once (see the Azure function log)", dl.Status, dl.Attempts)
			}
			return nil
		},
		require: a.requireRule,
		missing: "no remediation request reached the function through the topic: the interactivity function did not publish it " +
			"(does it read DRIFTWATCH_AZURE_REMEDIATION_TOPIC? see its log, bin/demo-function.log)",
		fixed:  "approval → fix published → rule deleted → alert RESOLVED",
		undone: "Undo → request published → rule restored → alert reopened",
	}, user, action, ts, undo)
}

// clickOnly posts a signed click on message ts as user, like Slack, to
// the interactivity function, and prints its answer and what it said in
// Slack. Unlike click, it does not drain the AWS bus: nothing of Azure's
// goes there. It returns the time to the answer.
func (a *demo) clickOnly(ctx context.Context, user, actionID, ts string) (time.Duration, error) {
	m, ok := a.slack.Message(ts)
	if !ok {
		return 0, fmt.Errorf("message %s not found", ts)
	}
	ref, err := awsdemo.ButtonRef(m.Blocks, actionID)
	if err != nil {
		return 0, err
	}
	a.clicks++
	n := strconv.Itoa(a.clicks)
	c := awsdemo.Click{User: user, ActionID: actionID, Ref: ref, Channel: m.Channel, TS: m.TS,
		ResponseURL: a.slack.ResponseURL("click-" + user + "-" + n), TriggerID: "trigger-" + n,
		Team: "T0DRIFT", AppID: "A0DRIFT", ActionTimestamp: time.Now()}
	req, err := awsdemo.SignedRequest(a.interact, signingSecret, c.Payload(), time.Now())
	if err != nil {
		return 0, err
	}
	start := time.Now()
	resp, err := http.DefaultClient.Do(req.WithContext(ctx))
	if err != nil {
		return 0, fmt.Errorf("click: %w", err)
	}
	resp.Body.Close()
	took := time.Since(start)
	fmt.Printf("  Slack → interactivity: signed click, HTTP %d in %s\n", resp.StatusCode, took.Round(time.Millisecond))
	if resp.StatusCode != http.StatusOK {
		return took, fmt.Errorf("the interactivity function answered the click %d", resp.StatusCode)
	}
	return took, a.showNew()
}

// showNew prints the Slack calls made since the last print, if any.
func (a *demo) showNew() error {
	if len(a.slack.Calls()) == a.seen {
		return nil
	}
	return a.showSlack()
}

// deliver posts an events/azure file to the resource-events route as Event
// Grid delivers it and prints the function's answer.
func (a *azureDemo) deliver(ctx context.Context, name string) (azfunc.Summary, time.Duration, error) {
	var sum azfunc.Summary
	body, err := azdemo.Event(a.events, name, time.Now())
	if err != nil {
		return sum, 0, err
	}
	start := time.Now()
	status, answer, err := azdemo.Deliver(ctx, http.DefaultClient, a.url+azfunc.ResourceEventsPath+"?code="+azureSecret, body)
	took := time.Since(start)
	if err != nil {
		return sum, took, fmt.Errorf("deliver %s: %w", name, err)
	}
	if status != http.StatusOK {
		return sum, took, fmt.Errorf("deliver %s: HTTP %d %s (see the Azure function log)", name, status, answer)
	}
	if err := json.Unmarshal(answer, &sum); err != nil {
		return sum, took, fmt.Errorf("deliver %s: the function answered %s", name, answer)
	}
	fmt.Printf("  Event Grid ResourceWriteSuccess %s delivered → HTTP %d, %s (%s)\n", strings.TrimSuffix(name, ".json"), status, describeAzure(sum), took.Round(time.Millisecond))
	return sum, took, nil
}

func describeAzure(s azfunc.Summary) string {
	var parts []string
	for reason, n := range s.Dropped {
		parts = append(parts, fmt.Sprintf("dropped %d (%s)", n, reason))
	}
	if s.Processed > 0 {
		parts = append(parts, "resource re-read from ARM and evaluated")
	}
	if s.Drifted > 0 {
		parts = append(parts, fmt.Sprintf("%d drifted", s.Drifted))
	}
	if s.Resolved > 0 {
		parts = append(parts, fmt.Sprintf("%d resolved", s.Resolved))
	}
	if s.Notified > 0 {
		parts = append(parts, fmt.Sprintf("%d Slack message(s) posted or updated", s.Notified))
	}
	if s.Failed > 0 {
		parts = append(parts, fmt.Sprintf("%d failed", s.Failed))
	}
	if s.Processed > 0 && s.Drifted == 0 && s.Resolved == 0 {
		parts = append(parts, "posture unchanged: nothing to say")
	}
	return strings.Join(parts, ", ")
}

// ephemeralTo reports whether user was told something containing text
// through a click's response_url.
func (a *demo) ephemeralTo(user, text string) bool {
	for _, c := range a.slack.Calls() {
		if c.Method == slackrec.MethodResponseURL && strings.Contains(c.Path, "-"+user+"-") && strings.Contains(c.Text, text) {
			return true
		}
	}
	return false
}

// requireRule checks the live NSG in ARM for the RDP rule.
func (a *azureDemo) requireRule(ctx context.Context, want bool) error {
	ok, err := a.az.env.RuleExists(ctx, azdemo.RDPRule)
	if err != nil {
		return err
	}
	fmt.Printf("  ARM: %s/%s %s\n", azdemo.NSG, azdemo.RDPRule, map[bool]string{true: "exists", false: "does not exist"}[ok])
	if ok != want {
		return fmt.Errorf("security rule %s exists: %t, want %t", azdemo.RDPRule, ok, want)
	}
	return nil
}

func nsgKey() store.Key {
	return store.Key{Cloud: "azure", Account: azdemo.Subscription, ResourceID: azdemo.NSGID()}
}

// resolved reports whether a message shows the alert resolved.
func resolved(m slackrec.Message) bool {
	var bs []struct {
		Text struct {
			Text string `json:"text"`
		} `json:"text"`
	}
	if json.Unmarshal(m.Blocks, &bs) != nil || len(bs) == 0 {
		return false
	}
	return strings.Contains(bs[0].Text.Text, "RESOLVED")
}

// waitFor polls cond until it holds or timeout passes.
func waitFor(ctx context.Context, timeout time.Duration, cond func() bool) error {
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			return errors.New("timed out")
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
	}
	return nil
}
