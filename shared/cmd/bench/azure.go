package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"time"

	azfake "github.com/Azure/azure-sdk-for-go/sdk/azcore/fake"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/network/armnetwork/v6"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/driftwatch/driftwatch/shared/azfunc"
	"github.com/driftwatch/driftwatch/shared/azremedy/armfake"
	"github.com/driftwatch/driftwatch/shared/internal/azdemo"
	"github.com/driftwatch/driftwatch/shared/slackalert/slackrec"
	"github.com/driftwatch/driftwatch/shared/store/dynamostore"
)

// azureSection heads the Azure function's rows, Go benchmark rows
// included.
const azureSection = "Azure function (custom handler)"

// The Azure deployment the benchmark emulates: the demo's subscription,
// the function's identity, its role on the AWS posture table.
const (
	azureSecret         = "bench-eventgrid-secret-not-a-secret"
	azureIdentityHeader = "bench-identity-header-not-a-secret"
	azureClientID       = "6d1c0b7a-4e3f-4a2b-9c8d-1e0f2a3b4c5d"
	azurePrincipalID    = "5b0c8f3e-9a7d-4c6b-8e1f-0a2b3c4d5e6f"
	azureRoleARN        = "arn:aws:iam::123456789012:role/driftwatch-azure-function"
	azureAccounts       = `{"` + azdemo.Subscription + `": {"name": "web-prod", "environment": "prod"}}`
	// azureTable is the Azure function's own table in the AWS world's
	// moto: moto's DynamoDB slows down as a table grows (it is Python in
	// memory), so the Azure figures do not depend on the AWS phases run
	// before them.
	azureTable = "driftwatch-bench-azure"
)

// azureWorld runs the real handler binary against the fakes Azure has no
// emulator for (ARM over HTTPS, the managed identity endpoint), moto (STS
// and the posture table, shared with the AWS world) and its own Slack
// recorder.
type azureWorld struct {
	handler    string
	events     string
	governance string
	motoURL    string

	arm      *azdemo.ARM
	identity *azdemo.Identity
	slack    *slackrec.Recorder
	nsgs     *armnetwork.SecurityGroupsClient
	dir      string // the CA file and the rewritten events
	caFile   string
	nsgSeq   int
}

func newAzureWorld(ctx context.Context, w *world, o options) (_ *azureWorld, err error) {
	a := &azureWorld{handler: o.azureHandler, events: o.azureEvents, motoURL: w.moto.URL,
		arm:      azdemo.ServeARM(armfake.New(azdemo.Subscription, nil)),
		identity: azdemo.NewIdentity(azureIdentityHeader, azdemo.Tenant, azureClientID, azurePrincipalID),
		slack:    slackrec.Start(),
	}
	defer func() {
		if err != nil {
			a.close()
		}
	}()
	if err := dynamostore.CreateTable(ctx, dynamodb.NewFromConfig(w.moto.Config(region)), azureTable); err != nil {
		return nil, fmt.Errorf("create table %s: %w", azureTable, err)
	}
	// The demo's governance, so that a drift plans its fix as deployed.
	if g := filepath.Join(o.eventsDir, "governance-demo.yaml"); fileExists(g) {
		a.governance = g
	}
	if a.dir, err = os.MkdirTemp("", "driftwatch-bench-azure-"); err != nil {
		return nil, err
	}
	a.caFile = filepath.Join(a.dir, "fakes-ca.pem")
	if err := azdemo.WriteCA(a.arm.Server(), a.caFile); err != nil {
		return nil, err
	}
	if a.nsgs, err = armnetwork.NewSecurityGroupsClient(azdemo.Subscription, &azfake.TokenCredential{}, a.arm.ClientOptions()); err != nil {
		return nil, err
	}
	return a, nil
}

func (a *azureWorld) close() {
	a.slack.Close()
	a.identity.Close()
	a.arm.Close()
	if a.dir != "" {
		os.RemoveAll(a.dir)
	}
}

func fileExists(p string) bool {
	st, err := os.Stat(p)
	return err == nil && !st.IsDir()
}

// env is the handler's environment: the app settings infra/azure sets,
// what the Functions platform sets, and the local endpoints.
func (a *azureWorld) env(port int) []string {
	env := []string{
		azfunc.EnvPort + "=" + strconv.Itoa(port),
		azfunc.EnvSecret + "=" + azureSecret,
		"IDENTITY_ENDPOINT=" + a.identity.Endpoint(),
		"IDENTITY_HEADER=" + azureIdentityHeader,
		"AZURE_CLIENT_ID=" + azureClientID,
		"SSL_CERT_FILE=" + a.caFile,
		"DRIFTWATCH_ARM_ENDPOINT=" + a.arm.Endpoint(),
		"DRIFTWATCH_TABLE=" + azureTable,
		"DRIFTWATCH_AWS_ROLE_ARN=" + azureRoleARN,
		"DRIFTWATCH_AWS_REGION=" + region,
		"DRIFTWATCH_AWS_TOKEN_AUDIENCE=api://driftwatch-aws-federation",
		"DRIFTWATCH_AWS_ENDPOINT_URL=" + a.motoURL,
		"DRIFTWATCH_GOVERNANCE_FILE=" + a.governance,
		"DRIFTWATCH_ACCOUNTS=" + azureAccounts,
		"DRIFTWATCH_AZURE_SUBSCRIPTIONS=" + azdemo.Subscription,
		"DRIFTWATCH_LOG_LEVEL=info",
		"SLACK_BOT_TOKEN=" + botToken,
		"SLACK_CHANNEL=" + channel,
		"SLACK_API_URL=" + a.slack.URL() + "/",
		"AWS_ACCESS_KEY_ID=", "AWS_SECRET_ACCESS_KEY=", "AWS_SESSION_TOKEN=", "AWS_PROFILE=",
	}
	return env
}

// process is one run of the handler binary.
type process struct {
	cmd  *exec.Cmd
	url  string
	logs *syncBuffer
	// listening is when the handler logged that it listens: after it
	// read its configuration, compiled the rules, loaded the policy and
	// built its clients.
	listening time.Duration
	started   time.Time
	exited    chan error
}

// syncBuffer is a bytes.Buffer safe for the log reader and the reporter.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// start runs the handler and waits for its "handler listening" log line,
// timed from just before the process starts.
func (a *azureWorld) start(ctx context.Context) (*process, error) {
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	return startListener(ctx, a.handler, port, a.env(port))
}

// startListener runs bin, an HTTP function listening on port, with env
// added to this process's environment, and waits for its "handler
// listening" log line (shared/httpserve), timed from just before the
// process starts.
func startListener(ctx context.Context, bin string, port int, env []string) (*process, error) {
	p := &process{url: "http://127.0.0.1:" + strconv.Itoa(port), logs: &syncBuffer{}, exited: make(chan error, 1)}
	p.cmd = exec.Command(bin)
	p.cmd.Env = append(os.Environ(), env...)
	out, err := p.cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	p.cmd.Stderr = p.logs
	p.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	listening := make(chan time.Time, 1)
	p.started = time.Now()
	if err := p.cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", bin, err)
	}
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			line := sc.Bytes()
			if bytes.Contains(line, []byte(`"msg":"handler listening"`)) {
				select {
				case listening <- time.Now():
				default:
				}
			}
			p.logs.Write(append(line, '\n'))
		}
		p.exited <- p.cmd.Wait()
	}()
	select {
	case at := <-listening:
		p.listening = at.Sub(p.started)
		return p, nil
	case err := <-p.exited:
		return nil, fmt.Errorf("%s exited at start: %v\nhandler output:\n%s", bin, err, tail(p.logs.String(), 20))
	case <-time.After(30 * time.Second):
		p.stop()
		return nil, fmt.Errorf("%s did not listen within 30s\nhandler output:\n%s", bin, tail(p.logs.String(), 20))
	case <-ctx.Done():
		p.stop()
		return nil, ctx.Err()
	}
}

// stop kills the handler's process group and waits for it.
func (p *process) stop() {
	_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
	<-p.exited
}

// deliver posts a delivery as Event Grid does and decodes the summary.
func (p *process) deliver(ctx context.Context, body []byte) (azfunc.Summary, error) {
	var sum azfunc.Summary
	status, answer, err := azdemo.Deliver(ctx, http.DefaultClient, p.url+azfunc.ResourceEventsPath+"?code="+azureSecret, body)
	if err != nil {
		return sum, err
	}
	if status != http.StatusOK {
		return sum, fmt.Errorf("HTTP %d: %s\nhandler output:\n%s", status, answer, tail(p.logs.String(), 20))
	}
	if err := json.Unmarshal(answer, &sum); err != nil {
		return sum, fmt.Errorf("summary %s: %w", answer, err)
	}
	return sum, nil
}

// drift creates a new NSG opened to RDP from anywhere in the fake ARM and
// returns the delivery of its securityRules/write (events/azure, renamed).
func (a *azureWorld) drift(ctx context.Context) ([]byte, error) {
	a.nsgSeq++
	name := "nsg-bench-" + strconv.Itoa(a.nsgSeq)
	p, err := a.nsgs.BeginCreateOrUpdate(ctx, azdemo.ResourceGroup, name, armnetwork.SecurityGroup{
		Location: to.Ptr(azdemo.Location),
		Properties: &armnetwork.SecurityGroupPropertiesFormat{SecurityRules: []*armnetwork.SecurityRule{{
			Name: to.Ptr(azdemo.RDPRule), Properties: &armnetwork.SecurityRulePropertiesFormat{
				Priority: to.Ptr[int32](300), Direction: to.Ptr(armnetwork.SecurityRuleDirectionInbound),
				Access: to.Ptr(armnetwork.SecurityRuleAccessAllow), Protocol: to.Ptr(armnetwork.SecurityRuleProtocolTCP),
				SourceAddressPrefix: to.Ptr("*"), SourcePortRange: to.Ptr("*"),
				DestinationAddressPrefix: to.Ptr("*"), DestinationPortRange: to.Ptr("3389"),
			},
		}}},
	}, nil)
	if err != nil {
		return nil, fmt.Errorf("create NSG %s: %w", name, err)
	}
	if _, err := p.PollUntilDone(ctx, nil); err != nil {
		return nil, fmt.Errorf("create NSG %s: %w", name, err)
	}
	tmpl, err := os.ReadFile(filepath.Join(a.events, azdemo.EventRDPOpened))
	if err != nil {
		return nil, err
	}
	file := name + ".json"
	if err := os.WriteFile(filepath.Join(a.dir, file), bytes.ReplaceAll(tmpl, []byte("${NSG}"), []byte(name)), 0o644); err != nil {
		return nil, err
	}
	return azdemo.Event(a.dir, file, time.Now())
}

// irrelevant is a delivery no rule can be affected by: a storage account's
// listKeys action (read-only), with a fresh event id.
func (a *azureWorld) irrelevant() ([]byte, error) {
	raw, err := azdemo.Event(a.events, azdemo.EventRDPOpened, time.Now())
	if err != nil {
		return nil, err
	}
	var evs []map[string]any
	if err := json.Unmarshal(raw, &evs); err != nil {
		return nil, err
	}
	const op = "Microsoft.Storage/storageAccounts/listKeys/action"
	res := "/subscriptions/" + azdemo.Subscription + "/resourceGroups/" + azdemo.ResourceGroup + "/providers/Microsoft.Storage/storageAccounts/stwebprod"
	for _, ev := range evs {
		data, ok := ev["data"].(map[string]any)
		authz, ok2 := data["authorization"].(map[string]any)
		if !ok || !ok2 {
			return nil, errors.New("events/azure: unexpected delivery shape")
		}
		ev["eventType"], ev["subject"] = "Microsoft.Resources.ResourceActionSuccess", res
		data["operationName"], data["resourceUri"] = op, res
		authz["action"], authz["scope"] = op, res
	}
	return json.Marshal(evs)
}

// checkAzure checks a delivery's outcome: dropped as read-only, or one
// drift notified.
func checkAzure(drift bool, s azfunc.Summary) error {
	switch {
	case drift && (s.Processed != 1 || s.Drifted != 1 || s.Notified != 1 || s.Failed != 0):
		return fmt.Errorf("summary %+v, want one drift notified", s)
	case !drift && (s.Dropped["read_only"] != 1 || s.Processed != 0):
		return fmt.Errorf("summary %+v, want the event dropped as read-only", s)
	}
	return nil
}

// azureReport measures the real handler binary: cold starts (to
// listening, to the first delivery answered, once to a drift handled),
// its peak memory, and warm delivery latencies, drift to alert.
func azureReport(ctx context.Context, w *world, o options, log *slog.Logger) (report, error) {
	var rep report
	a, err := newAzureWorld(ctx, w, o)
	if err != nil {
		return rep, err
	}
	defer a.close()

	log.Info("Azure handler cold starts", "runs", o.coldRuns, "handler", o.azureHandler)
	var listen, first []time.Duration
	var rss int64
	for range o.coldRuns {
		body, err := a.irrelevant()
		if err != nil {
			return rep, err
		}
		d, sum, kb, p, err := a.coldStart(ctx, body)
		if err == nil {
			err = checkAzure(false, sum)
		}
		if err != nil {
			return rep, fmt.Errorf("Azure handler cold start with an irrelevant delivery: %w", err)
		}
		listen, first, rss = append(listen, p.listening), append(first, d), max(rss, kb)
	}
	rep.add(
		row{section: azureSection, measure: "cold start: process start → listening (init alone: configuration, rules compiled, policy, clients)", n: fmt.Sprint(o.coldRuns),
			result: spread(listen), detail: "the handler's \"handler listening\" log line, read from its stdout"},
		row{section: azureSection, measure: "cold start: process start → irrelevant delivery answered", n: fmt.Sprint(o.coldRuns),
			result: spread(first), detail: fmt.Sprintf("peak RSS then (VmHWM, max of runs): %.1f MB", float64(rss)/1024)},
	)

	body, err := a.drift(ctx)
	if err != nil {
		return rep, err
	}
	calls := len(a.slack.Calls())
	d, sum, kb, _, err := a.coldStart(ctx, body)
	if err == nil {
		err = checkAzure(true, sum)
	}
	if err != nil {
		return rep, fmt.Errorf("Azure handler cold start with a drifting delivery: %w", err)
	}
	rep.add(row{section: azureSection, measure: "cold start: process start → drifting delivery handled (RDP opened)", n: "1", result: fmtDur(d),
		detail: fmt.Sprintf("identity tokens, ARM read, STS web identity, DynamoDB, %d Slack call(s); peak RSS %.1f MB", len(a.slack.Calls())-calls, float64(kb)/1024)})

	log.Info("Azure handler warm deliveries", "drifts", o.azureDrifts)
	p, err := a.start(ctx)
	if err != nil {
		return rep, err
	}
	defer p.stop()
	var drifts, drops []time.Duration
	for i := range o.azureDrifts + 1 {
		body, err := a.drift(ctx)
		if err != nil {
			return rep, err
		}
		posts := len(a.alerts())
		start := time.Now()
		sum, err := p.deliver(ctx, body)
		took := time.Since(start)
		if err == nil {
			err = checkAzure(true, sum)
		}
		if err == nil && len(a.alerts()) != posts+1 {
			err = fmt.Errorf("%d alerts posted, want 1", len(a.alerts())-posts)
		}
		if err != nil {
			return rep, fmt.Errorf("warm drifting delivery: %w", err)
		}
		if body, err = a.irrelevant(); err != nil {
			return rep, err
		}
		start = time.Now()
		sum, err = p.deliver(ctx, body)
		dropTook := time.Since(start)
		if err == nil {
			err = checkAzure(false, sum)
		}
		if err != nil {
			return rep, fmt.Errorf("warm irrelevant delivery: %w", err)
		}
		if i == 0 {
			continue // the first pair warms the connections and caches
		}
		drifts, drops = append(drifts, took), append(drops, dropTook)
	}
	warmRSS, err := peakRSS(p.cmd.Process.Pid)
	if err != nil {
		return rep, err
	}
	rep.add(
		row{section: azureSection, measure: "warm: drifting delivery → alert posted in Slack → answered", n: fmt.Sprint(len(drifts)), result: durationSummary(drifts),
			detail: "a new NSG opened to RDP per delivery: ARM read (fake over HTTPS), evaluate, DynamoDB (moto, STS credentials cached), fix planned, alert posted"},
		row{section: azureSection, measure: "warm: irrelevant delivery answered (read-only action, dropped)", n: fmt.Sprint(len(drops)), result: durationSummary(drops),
			detail: fmt.Sprintf("peak RSS of the warm handler after %d deliveries: %.1f MB", 2*len(drifts)+2, float64(warmRSS)/1024)},
	)
	rep.note("Azure function: the built handler (bin/azure-function/<arch>/handler) run on its own, as the Functions host starts it, with deliveries posted to it over loopback HTTP as Event Grid posts them; the ARM and the managed identity endpoint are local fakes (shared/internal/azdemo), the posture table is moto's DynamoDB (a table of its own) reached through moto's STS. Each warm drift is a new NSG, so the table grows by a resource, a finding, an alert and an event claim per drift; moto answers slower as it grows (the drift latency rises steadily over the run, with a pause of a few hundred ms every dozen or so drifts), which is the emulator, not DynamoDB: p99 reflects it. The Functions host, Event Grid and the Linux Consumption plan's sandbox add their own latency.")
	return rep, nil
}

// coldStart starts a handler, posts body as soon as it listens, and
// returns the time from the process start to the answer, the summary and
// the process's peak RSS (KiB). The process is stopped.
func (a *azureWorld) coldStart(ctx context.Context, body []byte) (time.Duration, azfunc.Summary, int64, *process, error) {
	p, err := a.start(ctx)
	if err != nil {
		return 0, azfunc.Summary{}, 0, nil, err
	}
	defer p.stop()
	sum, err := p.deliver(ctx, body)
	d := time.Since(p.started)
	if err != nil {
		return d, sum, 0, p, err
	}
	kb, err := peakRSS(p.cmd.Process.Pid)
	return d, sum, kb, p, err
}

// alerts returns the top-level messages posted.
func (a *azureWorld) alerts() []slackrec.Call {
	var out []slackrec.Call
	for _, c := range a.slack.Calls() {
		if c.Method == slackrec.MethodPostMessage && c.ThreadTS == "" && c.OK() {
			out = append(out, c)
		}
	}
	return out
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// azureSizeReport is the handler's size, and the amd64 package's (the
// deployed zip) when make package-azure has built it.
func azureSizeReport(handler string) report {
	var rep report
	if st, err := os.Stat(handler); err == nil {
		rep.add(row{section: "binary", measure: "size of azure-function/" + filepath.Base(filepath.Dir(handler)) + "/handler", result: fmtBytes(st.Size()),
			detail: fmt.Sprintf("%d bytes", st.Size())})
	}
	zip := filepath.Join(filepath.Dir(filepath.Dir(handler)), "amd64", "function.zip")
	if st, err := os.Stat(zip); err == nil {
		rep.add(row{section: "binary", measure: "size of azure-function/amd64/function.zip (run-from-package)", result: fmtBytes(st.Size()),
			detail: fmt.Sprintf("%d bytes", st.Size())})
	}
	return rep
}
