package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/driftwatch/driftwatch/shared/gcpbus"
	"github.com/driftwatch/driftwatch/shared/internal/awsdemo"
	"github.com/driftwatch/driftwatch/shared/internal/azdemo"
	"github.com/driftwatch/driftwatch/shared/internal/gcpdemo"
	"github.com/driftwatch/driftwatch/shared/internal/gcpfake"
	"github.com/driftwatch/driftwatch/shared/internal/procgroup"
	"github.com/driftwatch/driftwatch/shared/remediation"
	"github.com/driftwatch/driftwatch/shared/slackalert"
	"github.com/driftwatch/driftwatch/shared/store"
)

// The GCP deployment the demo stands up locally.
const (
	// The posture table's role for the GCP function (infra/aws/gcp.tf)
	// and the audience of the ID token exchanged for it.
	gcpRoleARN       = "arn:aws:iam::123456789012:role/driftwatch-gcp-function"
	gcpTokenAudience = "driftwatch-aws-federation"
	gcpAccounts      = `{"` + gcpdemo.Project + `": {"name": "web-prod", "environment": "prod"}}`
)

// gcpWorld is the GCP side of the local world: the Google API fake holding
// the project, the Google token endpoints (metadata server, signing keys)
// and the Pub/Sub emulator with the audit and remediation topics. It
// starts before the interactivity function, which is told the emulator.
type gcpWorld struct {
	api      *gcpfake.Server
	apiSrv   *http.Server
	endpoint string
	google   *gcpdemo.Google
	ps       *gcpdemo.PubSub
	env      *gcpdemo.Env
}

func startGCP(ctx context.Context) (_ *gcpWorld, err error) {
	g := &gcpWorld{api: gcpfake.New()}
	defer func() {
		if err != nil {
			g.close()
		}
	}()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	g.apiSrv = &http.Server{Handler: g.api, ReadHeaderTimeout: 5 * time.Second}
	go g.apiSrv.Serve(ln)
	g.endpoint = "http://" + ln.Addr().String()
	if g.google, err = gcpdemo.StartGoogle(); err != nil {
		return nil, err
	}
	if g.ps, err = gcpdemo.StartPubSub(ctx); err != nil {
		return nil, err
	}
	if g.env, err = gcpdemo.NewEnv(ctx, g.api, g.endpoint); err != nil {
		return nil, err
	}
	return g, nil
}

func (g *gcpWorld) close() {
	if g.ps != nil {
		g.ps.Close()
	}
	if g.google != nil {
		g.google.Close()
	}
	if g.apiSrv != nil {
		g.apiSrv.Close()
	}
}

// interactivityEnv is what the interactivity function needs to publish
// approved GCP fixes: the remediation topic, on the emulator (local runs;
// workload identity federation in production); and, as the one Slack app
// of every cloud, the names of all three clouds' accounts (it comes after
// the Azure part's: the last value of a variable wins).
func (g *gcpWorld) interactivityEnv() []string {
	return []string{
		`DRIFTWATCH_ACCOUNTS={"123456789012": {"name": "payments-prod", "environment": "prod"}, "` +
			azdemo.Subscription + `": {"name": "web-prod", "environment": "prod"}, "` +
			gcpdemo.Project + `": {"name": "web-prod", "environment": "prod"}}`,
		"DRIFTWATCH_GCP_REMEDIATION_TOPIC=" + gcpdemo.RemediationTopic,
		"PUBSUB_EMULATOR_HOST=" + g.ps.Addr(),
	}
}

// functionEnv is the GCP function's environment in pull mode: what
// infra/gcp sets, the subscriptions it pulls, and the local endpoints of
// the fakes and emulators (the metadata server included).
func (g *gcpWorld) functionEnv(motoURL, region, slackURL, governance string) []string {
	return []string{
		"DRIFTWATCH_MODE=pull",
		"DRIFTWATCH_AUDIT_SUBSCRIPTION=" + gcpdemo.AuditSubscription,
		"DRIFTWATCH_REMEDIATION_SUBSCRIPTION=" + gcpdemo.RemediationSubscription,
		"DRIFTWATCH_REMEDIATION_TOPIC=" + gcpdemo.RemediationTopic,
		"PUBSUB_EMULATOR_HOST=" + g.ps.Addr(),
		"GCE_METADATA_HOST=" + g.google.MetadataHost(),
		"DRIFTWATCH_GCP_API_ENDPOINT=" + g.endpoint,
		"DRIFTWATCH_GCP_PROJECTS=" + gcpdemo.Project,
		"DRIFTWATCH_DISABLED_RULES=" + gcpdemo.PAPRuleID,
		"DRIFTWATCH_TABLE=" + table,
		"DRIFTWATCH_AWS_ROLE_ARN=" + gcpRoleARN,
		"DRIFTWATCH_AWS_REGION=" + region,
		"DRIFTWATCH_AWS_TOKEN_AUDIENCE=" + gcpTokenAudience,
		"DRIFTWATCH_AWS_ENDPOINT_URL=" + motoURL,
		"DRIFTWATCH_GOVERNANCE_FILE=" + governance,
		"DRIFTWATCH_ACCOUNTS=" + gcpAccounts,
		"SLACK_BOT_TOKEN=xoxb-demo-not-a-secret",
		"SLACK_CHANNEL=" + channel,
		"SLACK_API_URL=" + slackURL + "/",
		// No Google or AWS credentials of the caller's: the function's
		// only AWS credentials are the ones STS gives its ID token.
		"GOOGLE_APPLICATION_CREDENTIALS=", "AWS_ACCESS_KEY_ID=", "AWS_SECRET_ACCESS_KEY=", "AWS_SESSION_TOKEN=", "AWS_PROFILE=",
	}
}

// lineWatch copies a process's log to w and counts the lines containing
// a marker.
type lineWatch struct {
	w      io.Writer
	marker []byte
	mu     sync.Mutex
	buf    []byte
	n      int
}

func (l *lineWatch) Write(p []byte) (int, error) {
	l.mu.Lock()
	l.buf = append(l.buf, p...)
	for {
		i := bytes.IndexByte(l.buf, '\n')
		if i < 0 {
			break
		}
		if bytes.Contains(l.buf[:i], l.marker) {
			l.n++
		}
		l.buf = l.buf[i+1:]
	}
	l.mu.Unlock()
	return l.w.Write(p)
}

func (l *lineWatch) count() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.n
}

// startGCPFunction runs the function binary in pull mode and waits until
// it pulls both subscriptions: it builds everything (rules, policy,
// clients) before it does.
func startGCPFunction(ctx context.Context, bin string, env []string, logw io.Writer) (func(), time.Duration, error) {
	watch := &lineWatch{w: logw, marker: []byte(`"msg":"pulling"`)}
	cmd := exec.Command(bin)
	cmd.Env = append(os.Environ(), env...)
	cmd.Stdout, cmd.Stderr = watch, watch
	procgroup.Isolate(cmd)
	start := time.Now()
	if err := cmd.Start(); err != nil {
		return nil, 0, fmt.Errorf("start %s: %w", bin, err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	stop := func() { procgroup.Stop(cmd, 5*time.Second) }
	deadline := time.After(20 * time.Second)
	for watch.count() < 2 {
		select {
		case err := <-exited:
			return nil, 0, fmt.Errorf("the GCP function exited before pulling (%v; see the function log)", err)
		case <-deadline:
			stop()
			return nil, 0, errors.New("the GCP function did not start pulling in 20 s (see the function log)")
		case <-ctx.Done():
			stop()
			return nil, 0, ctx.Err()
		case <-time.After(5 * time.Millisecond):
		}
	}
	return stop, time.Since(start), nil
}

// gcpDemo runs the bucket scenario against the real function binary.
type gcpDemo struct {
	cloudPart
	g      *gcpWorld
	events string
}

// gcpOptions are the GCP part's inputs.
type gcpOptions struct {
	function, events, logPath string
	motoURL, region           string
	governance                string
}

// runGCP is the GCP scenario: a private bucket, Alice granting allUsers
// read in the console, the alert, a refused and an approved fix from Slack
// carried to the function by the remediation topic, and the Undo. Every
// step is checked; the first one that does not do what it should ends the
// demo with an error.
func (d *demo) runGCP(ctx context.Context, g *gcpWorld, st postureReader, o gcpOptions) error {
	a := &gcpDemo{g: g, events: o.events, cloudPart: cloudPart{
		demo: d, cloud: "GCP", st: st, key: bucketKey(), name: gcpdemo.Bucket, ruleID: gcpdemo.PublicRuleID, earlier: "AWS's and Azure's", start: time.Now(),
	}}
	section("8. GCP: the same pipeline for a Google Cloud project (Cloud Audit Logs over Pub/Sub, pull mode)")
	fmt.Printf("  Google APIs: local fake of Storage/Compute/Cloud SQL/IAM/KMS (gcpfake) at %s, project %s\n", g.endpoint, gcpdemo.Project)
	fmt.Printf("  Pub/Sub:     the client library's emulator (pstest) at %s: %s, %s\n", g.ps.Addr(), gcpdemo.AuditSubscription, gcpdemo.RemediationSubscription)
	fmt.Printf("  Identity:    fake metadata server at %s (ID tokens of %s)\n", g.google.MetadataHost(), gcpdemo.FunctionServiceAccount)
	fmt.Printf("  Posture:     the same DynamoDB table %s, reached through STS AssumeRoleWithWebIdentity as %s\n", table, gcpRoleARN)

	if err := os.MkdirAll(filepath.Dir(o.logPath), 0o755); err != nil {
		return err
	}
	logFile, err := os.Create(o.logPath)
	if err != nil {
		return err
	}
	defer logFile.Close()
	stop, took, err := startGCPFunction(ctx, o.function, g.functionEnv(o.motoURL, o.region, d.slack.URL(), o.governance), logFile)
	if err != nil {
		return err
	}
	defer stop()
	a.mark("function started and pulling (rules compiled, policy loaded)", took)
	fmt.Printf("  Function:    %s pulling both subscriptions after %s (function logs: %s)\n", o.function, took.Round(time.Millisecond), o.logPath)

	if err := a.scenario(ctx); err != nil {
		return err
	}
	a.printTimeline()
	return nil
}

func (a *gcpDemo) scenario(ctx context.Context) error {
	fmt.Printf("\n▶ The platform team's Terraform creates gs://%s (private, uniform bucket-level access)\n", gcpdemo.Bucket)
	if err := a.g.env.CreateBaseline(ctx); err != nil {
		return err
	}
	calls := len(a.slack.Calls())
	took, err := a.publish(ctx, gcpdemo.EventBucketCreated)
	if err != nil {
		return err
	}
	if n := len(a.slack.Calls()) - calls; n != 0 {
		return fmt.Errorf("the compliant baseline bucket made %d Slack calls, want none", n)
	}
	a.mark("01-bucket-created published → pulled, baseline stored, no alert", took)
	if err := a.checkNoFinding(ctx); err != nil {
		return err
	}

	fmt.Printf("\n▶ Alice grants allUsers %s on gs://%s in the console\n", gcpdemo.PublicRole, gcpdemo.Bucket)
	if err := a.g.env.MakePublic(ctx); err != nil {
		return err
	}
	before := a.alerts()
	took, err = a.publish(ctx, gcpdemo.EventBucketPublic)
	if err != nil {
		return err
	}
	added := a.alerts()[len(before):]
	if len(added) != 1 {
		return fmt.Errorf("%s: %d new alerts name %s, want 1", gcpdemo.EventBucketPublic, len(added), gcpdemo.Bucket)
	}
	ts := added[0].TS
	for _, want := range []string{"alice@example.com", "allUsers", "web-prod"} {
		if !strings.Contains(string(added[0].Blocks), want) {
			return fmt.Errorf("the public-bucket alert does not say %q", want)
		}
	}
	if _, err := awsdemo.ButtonRef(added[0].Blocks, slackalert.RemediateActionID); err != nil {
		return fmt.Errorf("the public-bucket alert offers no fix: %w", err)
	}
	a.mark("02-bucket-made-public published → pulled, drift, alert posted", took)
	if err := a.showSlack(); err != nil {
		return err
	}
	if err := a.checkFinding(ctx, store.FindingOpen); err != nil {
		return err
	}

	fmt.Println("\n▶ alice clicks Remediate on the alert about her own change")
	start := time.Now()
	published := len(a.g.ps.Messages(gcpdemo.RemediationTopic))
	if _, err := a.clickOnly(ctx, "U0ALICE", slackalert.RemediateActionID, ts); err != nil {
		return err
	}
	if err := waitFor(ctx, 10*time.Second, func() bool { return a.ephemeralTo("U0ALICE", "made this change") }); err != nil {
		return errors.New("alice's own approval was not refused with \"you made this change\"")
	}
	if err := a.requirePublic(ctx, true); err != nil {
		return err
	}
	if n := len(a.g.ps.Messages(gcpdemo.RemediationTopic)); n != published {
		return fmt.Errorf("alice's refused click published %d remediation request(s)", n-published)
	}
	a.mark("alice's own approval refused (ephemeral reply)", time.Since(start))
	if err := a.showNew(); err != nil {
		return err
	}

	fmt.Println("\n▶ carol (an approver) clicks Remediate: interactivity → Pub/Sub topic → the function removes allUsers")
	if err := a.remediate(ctx, "U0CAROL", slackalert.RemediateActionID, ts, false); err != nil {
		return err
	}
	fmt.Println("\n▶ carol clicks Undo: the function grants allUsers again from its snapshot")
	if err := a.remediate(ctx, "U0CAROL", slackalert.UndoActionID, ts, true); err != nil {
		return err
	}
	return a.printAudit(ctx)
}

// publish publishes an events/gcp entry to the audit topic, as the Log
// Router sink does, and waits until the function acknowledged it (after
// storing the posture).
func (a *gcpDemo) publish(ctx context.Context, name string) (time.Duration, error) {
	now := time.Now()
	entry, err := gcpdemo.Entry(a.events, name, now)
	if err != nil {
		return 0, err
	}
	start := time.Now()
	id, err := a.g.ps.PublishEntry(ctx, entry, now)
	if err != nil {
		return 0, fmt.Errorf("publish %s: %w", name, err)
	}
	wctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := a.g.ps.Wait(wctx, gcpdemo.AuditTopic); err != nil {
		return 0, fmt.Errorf("%s: %w (see the GCP function log)", name, err)
	}
	took := time.Since(start)
	fmt.Printf("  Log Router sink → %s: %s (message %s) → pulled, resource re-read, acked after %s\n",
		gcpdemo.AuditTopic, strings.TrimSuffix(name, ".json"), id, took.Round(time.Millisecond))
	return took, nil
}

// remediate clicks action on the alert as user and follows the request
// through the Pub/Sub topic to the function: one message pulled and
// acknowledged at once, the bucket private (or public again, for an Undo),
// the alert resolved (or reopened) in place.
func (a *gcpDemo) remediate(ctx context.Context, user, action, ts string, undo bool) error {
	return a.cloudPart.remediate(ctx, fixPath{
		published: func() int { return len(a.g.ps.Messages(gcpdemo.RemediationTopic)) },
		wait:      func(ctx context.Context) error { return a.g.ps.Wait(ctx, gcpdemo.RemediationTopic) },
		delivered: func(before int, undo bool) error {
			got := a.g.ps.Messages(gcpdemo.RemediationTopic)[before:]
			if len(got) != 1 {
				return fmt.Errorf("%d remediation messages, want 1", len(got))
			}
			m := got[0]
			want := gcpbus.Types[remediation.OpApply]
			if undo {
				want = gcpbus.Types[remediation.OpUndo]
			}
			fmt.Printf("  ⚙️  Pub/Sub %s → pulled: %s (message %s, %d delivery, acked)\n", gcpdemo.RemediationTopic, m.Attributes[gcpbus.AttrType], m.ID, m.Deliveries)
			if m.Attributes[gcpbus.AttrType] != want || m.Deliveries != 1 {
				return fmt.Errorf("the remediation message is %q after %d deliveries, want %s acked at once (see the GCP function log)", m.Attributes[gcpbus.AttrType], m.Deliveries, want)
			}
			return nil
		},
		require: a.requirePublic,
		missing: "no remediation request reached the Pub/Sub topic: the interactivity function did not publish it " +
			"(does it read DRIFTWATCH_GCP_REMEDIATION_TOPIC? see its log, bin/demo-function.log)",
		fixed:  "approval → fix published → allUsers removed → alert RESOLVED",
		undone: "Undo → request published → allUsers back → alert reopened",
	}, user, action, ts, undo)
}

// requirePublic checks the live bucket policy for allUsers.
func (a *gcpDemo) requirePublic(ctx context.Context, want bool) error {
	public, err := a.g.env.IsPublic(ctx)
	if err != nil {
		return err
	}
	fmt.Printf("  Cloud Storage: gs://%s %s\n", gcpdemo.Bucket, map[bool]string{true: "grants allUsers " + gcpdemo.PublicRole, false: "grants nothing to allUsers"}[public])
	if public != want {
		return fmt.Errorf("bucket %s public: %t, want %t", gcpdemo.Bucket, public, want)
	}
	return nil
}

func bucketKey() store.Key {
	return store.Key{Cloud: "gcp", Account: gcpdemo.Project, ResourceID: gcpdemo.BucketID()}
}

// checkNoFinding checks that the baseline left no open finding.
func (a *gcpDemo) checkNoFinding(ctx context.Context) error {
	_, findings, err := a.st.Load(ctx, bucketKey())
	if err != nil {
		return fmt.Errorf("read the bucket's posture: %w", err)
	}
	for _, f := range findings {
		if f.Status == store.FindingOpen {
			return fmt.Errorf("the baseline bucket has an open finding %s", f.RuleID)
		}
	}
	fmt.Printf("  DynamoDB: gs://%s stored, %d rules evaluated, none failing\n", gcpdemo.Bucket, len(findings))
	return nil
}
