package awsdetector_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambdacontext"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/driftwatch/driftwatch/shared/awsdetector"
	"github.com/driftwatch/driftwatch/shared/internal/awsdemo"
	"github.com/driftwatch/driftwatch/shared/internal/motoserver"
	"github.com/driftwatch/driftwatch/shared/posture"
	"github.com/driftwatch/driftwatch/shared/slackalert/slackrec"
	"github.com/driftwatch/driftwatch/shared/store"
	"github.com/driftwatch/driftwatch/shared/store/dynamostore"
)

const channel = "C0DRIFTWATCH"

// world is one emulated AWS account with driftwatch deployed in it.
type world struct {
	t       *testing.T
	env     *awsdemo.Env
	handler lambda.Handler
	slack   *slackrec.Recorder
	store   store.Store
	events  string
}

func newWorld(t *testing.T) *world {
	t.Helper()
	ctx := t.Context()
	moto := motoserver.StartTB(t)
	cfg := moto.Config("eu-west-1")
	// The SDK's standard retries, as the function has in Lambda: moto's
	// server sometimes closes a kept-alive connection under a request.
	cfg.RetryMaxAttempts = 3
	cfg.HTTPClient = motoserver.SerialClient()

	table := "driftwatch-e2e"
	ddb := dynamodb.NewFromConfig(cfg)
	if err := dynamostore.CreateTable(ctx, ddb, table); err != nil {
		t.Fatal(err)
	}
	rec := slackrec.Start()
	t.Cleanup(rec.Close)

	env := awsdemo.NewEnv(cfg)
	w := &world{t: t, env: env, slack: rec, store: dynamostore.New(ddb, table), events: eventsDir(t)}
	c, err := awsdetector.ConfigFromEnv(func(k string) string {
		return map[string]string{
			"DRIFTWATCH_TABLE":          table,
			"SLACK_CHANNEL":             channel,
			"SLACK_BOT_TOKEN":           "xoxb-e2e-not-a-secret",
			"SLACK_API_URL":             rec.URL(),
			"DRIFTWATCH_S3_PATH_STYLE":  "true",
			"DRIFTWATCH_ACCOUNTS":       `{"123456789012": {"name": "payments-prod", "environment": "prod"}}`,
			"DRIFTWATCH_LOG_LEVEL":      "warn",
			"DRIFTWATCH_DISABLED_RULES": awsdemo.DisabledRules,
		}[k]
	})
	if err != nil {
		t.Fatal(err)
	}
	h, err := awsdetector.New(ctx, c, cfg, slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: c.LogLevel})))
	if err != nil {
		t.Fatal(err)
	}
	w.handler = lambda.NewHandler(h.Handle)
	return w
}

func eventsDir(t *testing.T) string {
	dir, err := filepath.Abs(filepath.Join("..", "..", "events", "aws"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(dir); err != nil {
		t.Fatalf("events directory: %v", err)
	}
	return dir
}

// deliver invokes the function with one event file, as Lambda would.
func (w *world) deliver(name string) awsdetector.Summary {
	w.t.Helper()
	payload, err := w.env.Event(w.events, name, time.Now())
	if err != nil {
		w.t.Fatal(err)
	}
	ctx := lambdacontext.NewContext(context.Background(), &lambdacontext.LambdaContext{
		AwsRequestID: "req-" + name, InvokedFunctionArn: "arn:aws:lambda:eu-west-1:123456789012:function:driftwatch-aws-detector"})
	out, err := w.handler.Invoke(ctx, payload)
	if err != nil {
		w.t.Fatalf("deliver %s: %v", name, err)
	}
	var sum awsdetector.Summary
	if err := json.Unmarshal(out, &sum); err != nil {
		w.t.Fatalf("deliver %s: response %s: %v", name, out, err)
	}
	return sum
}

func (w *world) apply(s awsdemo.Step) {
	w.t.Helper()
	if s.Apply == nil {
		return
	}
	if err := s.Apply(w.t.Context(), w.env); err != nil {
		w.t.Fatalf("%s: %v", s.Title, err)
	}
}

// topPosts are the successful top-level chat.postMessage calls.
func (w *world) topPosts() []slackrec.Call {
	var out []slackrec.Call
	for _, c := range w.slack.Calls() {
		if c.Method == slackrec.MethodPostMessage && c.ThreadTS == "" && c.OK() {
			out = append(out, c)
		}
	}
	return out
}

// messageAbout returns the current blocks of the one message mentioning s.
func (w *world) messageAbout(s string) (slackrec.Message, bool) {
	var found []slackrec.Message
	for _, c := range w.topPosts() {
		m, _ := w.slack.Message(c.TS)
		if strings.Contains(string(m.Blocks), s) {
			found = append(found, m)
		}
	}
	if len(found) > 1 {
		w.t.Fatalf("%d messages mention %q, want at most 1", len(found), s)
	}
	if len(found) == 0 {
		return slackrec.Message{}, false
	}
	return found[0], true
}

func (w *world) baseline() {
	w.t.Helper()
	steps, err := w.env.Baseline(w.t.Context())
	if err != nil {
		w.t.Fatal(err)
	}
	for _, s := range steps {
		sum := w.deliver(s.Event)
		if sum.Processed != 1 || sum.Failed != 0 {
			w.t.Fatalf("%s: summary %+v", s.Event, sum)
		}
	}
	if n := len(w.slack.Calls()); n != 0 {
		for _, c := range w.slack.Calls() {
			m, _ := w.slack.Message(c.TS)
			w.t.Logf("unexpected message: %s", m.Text)
		}
		w.t.Fatalf("the compliant baseline made %d Slack calls", n)
	}
}

// TestEndToEnd runs the demo scenario through the Lambda handler against
// the emulator and a recording Slack server: baseline, drift, duplicates,
// the fix resolving in place.
func TestEndToEnd(t *testing.T) {
	w := newWorld(t)
	w.baseline()

	// Each drift step: the resource whose message must now show it, and
	// whether that is a new message or an update of an open one.
	expect := map[string]struct {
		about   string
		rule    string
		newPost bool
	}{
		"10-delete-account-public-access-block.json": {"123456789012", "aws_s3_account_public_access_block_enabled", true},
		"11-delete-bucket-public-access-block.json":  {"payments-invoices-prod", "aws_s3_bucket_public_access_block_enabled", true},
		"12-put-bucket-acl-public-read.json":         {"payments-invoices-prod", "aws_s3_bucket_acl_no_public_grants", false},
		"13-authorize-ssh-from-anywhere.json":        {"payments-web", "aws_ec2_sg_no_public_ingress_tcp_22", true},
		"14-stop-logging.json":                       {"org-audit-trail", "aws_cloudtrail_trail_logging", true},
		"15-disable-key-rotation.json":               {"arn:aws:kms:eu-west-1:123456789012:key/", "aws_kms_cmk_rotation_enabled", true},
		"16-modify-db-instance-public.json":          {"payments-ledger", "aws_rds_instance_not_publicly_accessible", true},
		"17-disable-ebs-encryption-by-default.json":  {"123456789012/eu-west-1", "aws_ec2_ebs_default_encryption_enabled", true},
		"18-attach-admin-policy.json":                {"reports-exporter", "aws_iam_user_no_admin_star_policy", true},
	}
	for _, s := range awsdemo.Drift() {
		want := expect[s.Event]
		before := len(w.topPosts())
		w.apply(s)
		sum := w.deliver(s.Event)
		if sum.Failed != 0 || sum.Drifted == 0 || sum.Notified == 0 {
			t.Fatalf("%s: summary %+v", s.Event, sum)
		}
		after := len(w.topPosts())
		if want.newPost && after <= before || !want.newPost && after != before {
			t.Errorf("%s: top-level posts %d -> %d (new post expected: %v)", s.Event, before, after, want.newPost)
		}
		m, ok := w.messageAbout(want.rule)
		if !ok {
			t.Fatalf("%s: no message shows %s", s.Event, want.rule)
		}
		if !strings.Contains(string(m.Blocks), want.about) {
			t.Errorf("%s: the message showing %s does not name %q", s.Event, want.rule, want.about)
		}
	}

	// StopLogging also broke the account's "a multi-Region trail is logging"
	// rule: the account's open message was updated, not duplicated.
	acct, ok := w.messageAbout("aws_s3_account_public_access_block_enabled")
	if !ok || !strings.Contains(string(acct.Blocks), "aws_cloudtrail_multi_region_trail_logging") || acct.Updates == 0 {
		t.Errorf("account message = %s (updates %d)", acct.Blocks, acct.Updates)
	}
	// The public ACL came after the bucket message: it was added in place
	// with a thread note.
	bucket, _ := w.messageAbout("aws_s3_bucket_acl_no_public_grants")
	if replies := w.slack.Replies(bucket.TS); len(replies) == 0 || !strings.Contains(replies[0].Text, "aws_s3_bucket_acl_no_public_grants") {
		t.Errorf("bucket thread = %+v", replies)
	}
	// Before -> after of the setting that matters, and who did it.
	sg, _ := w.messageAbout("aws_ec2_sg_no_public_ingress_tcp_22")
	for _, want := range []string{"bob", "192.0.2.44", "AuthorizeSecurityGroupIngress", "0.0.0.0/0", "payments-prod"} {
		if !strings.Contains(string(sg.Blocks), want) {
			t.Errorf("security group alert lacks %q", want)
		}
	}

	// A redelivered event changes nothing.
	calls := len(w.slack.Calls())
	sum := w.deliver("13-authorize-ssh-from-anywhere.json")
	if sum.Dropped["duplicate"] != 1 || len(w.slack.Calls()) != calls {
		t.Fatalf("redelivery: summary %+v, Slack calls %d -> %d", sum, calls, len(w.slack.Calls()))
	}

	// The fix resolves the SSH alert in place.
	posts := len(w.topPosts())
	for _, s := range awsdemo.Fix() {
		w.apply(s)
		if sum := w.deliver(s.Event); sum.Resolved != 1 || sum.Notified != 1 {
			t.Fatalf("%s: summary %+v", s.Event, sum)
		}
	}
	if len(w.topPosts()) != posts {
		t.Errorf("the fix posted a new message")
	}
	sg, _ = w.messageAbout("aws_ec2_sg_no_public_ingress_tcp_22")
	if !strings.Contains(string(sg.Blocks), "RESOLVED") {
		t.Errorf("security group message after the fix: %s", sg.Blocks)
	}

	// The posture store agrees: the SSH finding is resolved, the others open.
	ctx := t.Context()
	var open []string
	for _, sev := range []string{"critical", "high", "medium", "low"} {
		fs, err := w.store.OpenFindings(ctx, store.FindingQuery{Severity: posture.Severity(sev)})
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range fs {
			open = append(open, f.RuleID)
		}
	}
	slices.Sort(open)
	for _, e := range expect {
		if e.rule == "aws_ec2_sg_no_public_ingress_tcp_22" {
			if slices.Contains(open, e.rule) {
				t.Errorf("%s is still open after the fix", e.rule)
			}
			continue
		}
		if !slices.Contains(open, e.rule) {
			t.Errorf("%s is not open; open findings: %v", e.rule, open)
		}
	}
}

// TestDuplicateAndOutOfOrderDelivery delivers the bucket's two drift events
// several times each, in reverse order and concurrently: one message, both
// rules failing, whatever the order.
func TestDuplicateAndOutOfOrderDelivery(t *testing.T) {
	w := newWorld(t)
	w.baseline()
	// Account and bucket Block Public Access removed, then a public ACL; only
	// the two bucket events are delivered.
	for _, s := range awsdemo.Drift()[:3] {
		w.apply(s)
	}
	steps := awsdemo.Drift()[1:3]
	order := []string{steps[1].Event, steps[0].Event, steps[1].Event, steps[0].Event, steps[1].Event, steps[0].Event}
	var wg sync.WaitGroup
	sums := make([]awsdetector.Summary, len(order))
	for i, name := range order {
		wg.Go(func() { sums[i] = w.deliver(name) })
	}
	wg.Wait()
	processed, dups := 0, 0
	for _, s := range sums {
		processed += s.Processed
		dups += s.Dropped["duplicate"]
	}
	if processed != 2 || dups != 4 {
		t.Fatalf("processed %d, duplicates %d; want 2 and 4 (%+v)", processed, dups, sums)
	}
	posts := w.topPosts()
	if len(posts) != 1 {
		t.Fatalf("%d top-level messages, want exactly 1", len(posts))
	}
	m, _ := w.slack.Message(posts[0].TS)
	for _, rule := range []string{"aws_s3_bucket_public_access_block_enabled", "aws_s3_bucket_acl_no_public_grants"} {
		if !strings.Contains(string(m.Blocks), rule) {
			t.Errorf("final message lacks %s: %s", rule, m.Text)
		}
	}
	state, err := w.store.GetResource(t.Context(), store.Key{Cloud: "aws", Account: "123456789012", ResourceID: "arn:aws:s3:::payments-invoices-prod"})
	if err != nil {
		t.Fatal(err)
	}
	if got := fmt.Sprint(state.Failing()); got != "[aws_s3_bucket_acl_no_public_grants aws_s3_bucket_public_access_block_enabled]" {
		t.Errorf("final failing set = %s", got)
	}
	if state.Alert.Pending() || !state.Alert.Open || state.Alert.Ref.TS != posts[0].TS {
		t.Errorf("alert bookkeeping = %+v", state.Alert)
	}
}
