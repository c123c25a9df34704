// Command demo runs driftwatch's AWS drift pipeline end to end on local
// emulators, with no cloud account: moto_server stands in for AWS, the real
// detector binary (bootstrap) runs under the AWS Lambda Runtime Interface
// Emulator, and a recording server stands in for Slack. It builds a compliant
// baseline, applies real misconfigurations through the AWS SDK, delivers the
// CloudTrail events they cause (events/aws) to the function, prints the Slack
// alerts it posted and the resulting posture, then fixes one and shows that
// alert resolved in place. Then the Azure function (the real handler
// binary) runs the same pipeline for an Azure subscription: fake ARM,
// managed identity and Event Grid topic, the same table and Slack
// (azure.go).
//
// make demo builds and runs it.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/driftwatch/driftwatch/shared/awsdetector"
	"github.com/driftwatch/driftwatch/shared/internal/awsdemo"
	"github.com/driftwatch/driftwatch/shared/internal/motoserver"
	"github.com/driftwatch/driftwatch/shared/lambdarun"
	"github.com/driftwatch/driftwatch/shared/posture"
	"github.com/driftwatch/driftwatch/shared/slackalert/slackrec"
	"github.com/driftwatch/driftwatch/shared/store"
	"github.com/driftwatch/driftwatch/shared/store/dynamostore"
)

const (
	table   = "driftwatch-posture"
	channel = "C0DRIFTWATCH"
)

func main() {
	rie := flag.String("rie", "", "path to aws-lambda-rie")
	bootstrap := flag.String("bootstrap", "", "path to the detector's bootstrap binary")
	events := flag.String("events", "events/aws", "directory of the demo events (and governance-demo.yaml)")
	remediatorBin := flag.String("remediator", "", "path to the remediator's bootstrap binary")
	interactBin := flag.String("interactivity", "", "path to the interactivity function's bootstrap binary")
	region := flag.String("region", "eu-west-1", "AWS Region of the demo account")
	logPath := flag.String("log", "bin/demo-function.log", "where the function's JSON logs go")
	azureBin := flag.String("azure-handler", "", "path to the Azure function's custom handler binary (bin/azure-function/<arch>/handler)")
	azureEvents := flag.String("azure-events", "events/azure", "directory of the Azure demo events")
	azureLog := flag.String("azure-log", "bin/demo-azure-function.log", "where the Azure function's JSON logs go")
	gcpBin := flag.String("gcp-function", "", "path to the GCP function's binary (bin/gcp-function/<arch>/function)")
	gcpEvents := flag.String("gcp-events", "events/gcp", "directory of the GCP demo events")
	gcpLog := flag.String("gcp-log", "bin/demo-gcp-function.log", "where the GCP function's JSON logs go")
	flag.Parse()
	bin := paths{rie: *rie, detector: *bootstrap, remediator: *remediatorBin, interactivity: *interactBin, azure: *azureBin, gcp: *gcpBin}
	azure := azureOptions{handler: *azureBin, events: *azureEvents, logPath: *azureLog, region: *region}
	gcp := gcpOptions{function: *gcpBin, events: *gcpEvents, logPath: *gcpLog, region: *region}
	if err := run(context.Background(), bin, *events, *region, *logPath, azure, gcp); err != nil {
		fmt.Fprintln(os.Stderr, "demo failed:", err)
		os.Exit(1)
	}
}

// paths are the binaries the demo runs.
type paths struct{ rie, detector, remediator, interactivity, azure, gcp string }

type demo struct {
	fn         *lambdarun.RIE // the detector
	remediator *lambdarun.RIE
	interact   string // the interactivity endpoint
	bus        *awsdemo.Bus
	env        *awsdemo.Env
	slack      *slackrec.Recorder
	events     string
	seen       int // Slack calls already shown
	color      bool
	clicks     int
}

func run(ctx context.Context, bin paths, events, region, logPath string, azure azureOptions, gcp gcpOptions) error {
	riePath, bootstrap := bin.rie, bin.detector
	for _, p := range []string{bin.rie, bin.detector, bin.remediator, bin.interactivity, bin.azure, bin.gcp} {
		if _, err := os.Stat(p); err != nil {
			return fmt.Errorf("%w (run it through `make demo`, which builds both)", err)
		}
	}
	section("Starting local emulators")
	moto, err := motoserver.Start(ctx)
	if err != nil {
		return err
	}
	defer moto.Close()
	fmt.Printf("  AWS:   moto_server at %s (account 123456789012, %s)\n", moto.URL, region)
	rec := slackrec.Start()
	defer rec.Close()
	fmt.Printf("  Slack: recording Slack API at %s, channel %s\n", rec.URL(), channel)

	cfg := moto.Config(region)
	// The SDK's standard retries, as the function has in Lambda: moto's
	// server sometimes closes a kept-alive connection under a request.
	cfg.RetryMaxAttempts = 3
	if err := dynamostore.CreateTable(ctx, dynamodb.NewFromConfig(cfg), table); err != nil {
		return fmt.Errorf("create posture table: %w", err)
	}
	fmt.Printf("  Posture table %s created (DynamoDB, GSI for open findings, TTL)\n", table)

	if err := os.MkdirAll(filepath.Dir(logPath), 0o755); err != nil {
		return err
	}
	logFile, err := os.Create(logPath)
	if err != nil {
		return err
	}
	defer logFile.Close()
	bus, err := awsdemo.NewBus(ctx, cfg, "driftwatch")
	if err != nil {
		return err
	}
	fnEnv := []string{
		"AWS_ENDPOINT_URL=" + moto.URL,
		"AWS_REGION=" + region,
		"AWS_ACCESS_KEY_ID=test", "AWS_SECRET_ACCESS_KEY=test",
		"DRIFTWATCH_TABLE=" + table,
		"DRIFTWATCH_BUS=" + bus.Name,
		"DRIFTWATCH_GOVERNANCE_FILE=" + filepath.Join(events, "governance-demo.yaml"),
		"DRIFTWATCH_S3_PATH_STYLE=true",
		"DRIFTWATCH_DISABLED_RULES=" + awsdemo.DisabledRules,
		`DRIFTWATCH_ACCOUNTS={"123456789012": {"name": "payments-prod", "environment": "prod"}}`,
		"SLACK_BOT_TOKEN=xoxb-demo-not-a-secret",
		"SLACK_CHANNEL=" + channel,
		"SLACK_API_URL=" + rec.URL() + "/",
	}
	fn, err := lambdarun.StartRIE(ctx, riePath, bootstrap, fnEnv, logFile)
	if err != nil {
		return err
	}
	defer fn.Close()
	fmt.Printf("  Detector: %s under aws-lambda-rie (function logs: %s)\n", bootstrap, logPath)
	remediator, err := lambdarun.StartRIE(ctx, riePath, bin.remediator, fnEnv, logFile)
	if err != nil {
		return err
	}
	defer remediator.Close()
	fmt.Printf("  Remediator: %s under aws-lambda-rie, fed by the %s EventBridge bus\n", bin.remediator, bus.Name)
	// The Azure fakes start first: the interactivity function publishes
	// approved Azure fixes to the remediation topic.
	az, err := startAzure()
	if err != nil {
		return err
	}
	defer az.close()
	// And the GCP ones: it publishes approved GCP fixes to Pub/Sub.
	gw, err := startGCP(ctx)
	if err != nil {
		return err
	}
	defer gw.close()
	interactEnv := append(append(append(fnEnv, "SLACK_SIGNING_SECRET="+signingSecret, "SLACK_RESPONSE_URL_PREFIXES="+rec.URL()), az.interactivityEnv()...), gw.interactivityEnv()...)
	interact, stopInteract, err := startInteractivity(ctx, bin.interactivity, interactEnv, logFile)
	if err != nil {
		return err
	}
	defer stopInteract()
	fmt.Printf("  Interactivity: %s serving Slack's clicks at %s\n", bin.interactivity, interact)
	for _, u := range demoUsers {
		rec.SetUser(u.id, u.name, u.email)
	}
	rec.SetUserGroup("S0SECOPS", "secops", "U0DAVE")

	d := &demo{fn: fn, remediator: remediator, interact: interact, bus: bus, env: awsdemo.NewEnv(cfg), slack: rec, events: events, color: slackrec.UseColor(os.Getenv)}

	section("1. Baseline: the platform team's Terraform builds a compliant account")
	baseline, err := d.env.Baseline(ctx)
	if err != nil {
		return err
	}
	for _, s := range baseline {
		if err := d.step(ctx, s); err != nil {
			return err
		}
	}
	fmt.Printf("\n  Baseline stored. Slack messages so far: %d\n", len(rec.Calls()))

	section("2. Drift: real misconfigurations, applied through the AWS SDK")
	for _, s := range awsdemo.Drift() {
		if err := d.step(ctx, s); err != nil {
			return err
		}
	}

	section("3. The same CloudTrail event delivered again (EventBridge is at-least-once)")
	dup := awsdemo.Drift()[3]
	if err := d.step(ctx, awsdemo.Step{Title: "redelivery of: " + dup.Title, Event: dup.Event}); err != nil {
		return err
	}

	section("4. The fix: the alert resolves in place")
	for _, s := range awsdemo.Fix() {
		if err := d.step(ctx, s); err != nil {
			return err
		}
	}

	st := dynamostore.New(dynamodb.NewFromConfig(cfg), table)
	section("5. Approve-to-remediate from Slack (signed clicks on the public-bucket alert)")
	if err := d.chatops(ctx, st); err != nil {
		return err
	}

	section("6. Posture now (open findings in the DynamoDB table, by severity)")
	if err := printPosture(ctx, st, rec); err != nil {
		return err
	}

	azure.motoURL, azure.governance = moto.URL, filepath.Join(events, "governance-demo.yaml")
	if err := d.runAzure(ctx, az, st, azure); err != nil {
		return err
	}
	gcp.motoURL, gcp.governance = moto.URL, azure.governance
	return d.runGCP(ctx, gw, st, gcp)
}

// step applies one change (if any), delivers its event to the function and
// prints what the function did and what it said in Slack.
func (d *demo) step(ctx context.Context, s awsdemo.Step) error {
	fmt.Printf("\n▶ %s\n", s.Title)
	if s.Apply != nil {
		if err := s.Apply(ctx, d.env); err != nil {
			return fmt.Errorf("%s: %w", s.Title, err)
		}
	}
	payload, err := d.env.Event(d.events, s.Event, time.Now())
	if err != nil {
		return err
	}
	start := time.Now()
	out, err := d.fn.Invoke(ctx, payload)
	if err != nil {
		return fmt.Errorf("%s: %w", s.Event, err)
	}
	took := time.Since(start)
	var sum awsdetector.Summary
	if err := json.Unmarshal(out, &sum); err != nil || sum.Records == 0 {
		return fmt.Errorf("%s: the function answered %s", s.Event, out)
	}
	fmt.Printf("  CloudTrail %s delivered → %s (%s)\n", strings.TrimSuffix(s.Event, ".json"), describe(sum), took.Round(time.Millisecond))
	if err := d.showSlack(); err != nil {
		return err
	}
	return d.runRemediator(ctx)
}

func describe(s awsdetector.Summary) string {
	var parts []string
	for reason, n := range s.Dropped {
		parts = append(parts, fmt.Sprintf("dropped %d (%s)", n, reason))
	}
	if s.Processed > 0 {
		parts = append(parts, "resource re-read and evaluated")
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
	if s.Processed > 0 && s.Drifted == 0 && s.Resolved == 0 {
		parts = append(parts, "posture unchanged: nothing to say")
	}
	return strings.Join(parts, ", ")
}

// showSlack prints the Slack calls made since the last step.
func (d *demo) showSlack() error {
	calls := d.slack.Calls()
	for _, c := range calls[d.seen:] {
		if !c.OK() {
			fmt.Printf("  Slack %s failed: %s\n", c.Method, c.Error)
			continue
		}
		switch {
		case c.Method == slackrec.MethodPostMessage && c.ThreadTS != "":
			fmt.Printf("  💬 thread reply under %s: %s\n", c.ThreadTS, c.Text)
		case c.Method == slackrec.MethodPostMessage:
			fmt.Printf("  🔔 Slack: new message %s in %s\n", c.TS, c.Channel)
			if err := d.printMessage(c.TS); err != nil {
				return err
			}
		case c.Method == slackrec.MethodResponseURL:
			fmt.Printf("  🔒 Slack: only %s sees: %s\n", d.clicker(c.Path), c.Text)
		case c.Method == slackrec.MethodUpdate:
			fmt.Printf("  ✎ Slack: message %s updated in place\n", c.TS)
			if err := d.printMessage(c.TS); err != nil {
				return err
			}
		}
	}
	if len(calls) == d.seen {
		fmt.Println("  (no Slack call)")
	}
	d.seen = len(calls)
	return nil
}

func (d *demo) printMessage(ts string) error {
	m, ok := d.slack.Message(ts)
	if !ok {
		return fmt.Errorf("message %s not recorded", ts)
	}
	text, err := slackrec.RenderTerminal(m.Blocks, &slackrec.TerminalOptions{Color: d.color})
	if err != nil {
		return err
	}
	for _, line := range strings.Split(strings.TrimRight(text, "\n"), "\n") {
		fmt.Println("    │ " + line)
	}
	return nil
}

func printPosture(ctx context.Context, st store.Store, rec *slackrec.Recorder) error {
	w := tabwriter.NewWriter(os.Stdout, 2, 4, 2, ' ', 0)
	fmt.Fprintln(w, "  SEVERITY\tRULE\tRESOURCE\tOPENED BY")
	total := 0
	for _, sev := range []posture.Severity{posture.Critical, posture.High, posture.Medium, posture.Low} {
		fs, err := st.OpenFindings(ctx, store.FindingQuery{Severity: sev})
		if err != nil {
			return err
		}
		for _, f := range fs {
			total++
			who := f.OpenedBy.Actor.Name
			fmt.Fprintf(w, "  %s\t%s\t%s\t%s (%s)\n", strings.ToUpper(string(sev)), f.RuleID, short(f.Key.ResourceID), who, f.OpenedBy.Operation)
		}
	}
	if err := w.Flush(); err != nil {
		return err
	}
	posts, updates := 0, 0
	for _, c := range rec.Calls() {
		switch {
		case c.Method == slackrec.MethodPostMessage && c.ThreadTS == "" && c.OK():
			posts++
		case c.Method == slackrec.MethodUpdate && c.OK():
			updates++
		}
	}
	fmt.Printf("\n  %d open findings · %d Slack alerts posted · %d updated in place (no duplicates)\n", total, posts, updates)
	resolved := 0
	for _, m := range rec.Messages() {
		if m.ThreadTS == "" && strings.Contains(string(m.Blocks), "RESOLVED") {
			resolved++
			fmt.Printf("  ✅ message %s now shows RESOLVED (updated %d time(s) in place)\n", m.TS, m.Updates)
		}
	}
	if resolved == 0 {
		return errors.New("no alert was resolved in place")
	}
	return nil
}

func short(id string) string {
	if i := strings.LastIndexAny(id, "/:"); i >= 0 && i < len(id)-1 {
		return id[i+1:]
	}
	return id
}

func section(title string) {
	fmt.Printf("\n%s\n%s\n", title, strings.Repeat("═", len([]rune(title))))
}
