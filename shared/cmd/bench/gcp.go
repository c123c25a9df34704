package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/driftwatch/driftwatch/shared/change"
	"github.com/driftwatch/driftwatch/shared/gcpfunc"
	"github.com/driftwatch/driftwatch/shared/internal/gcpdemo"
	"github.com/driftwatch/driftwatch/shared/internal/gcpfake"
	"github.com/driftwatch/driftwatch/shared/slackalert/slackrec"
	"github.com/driftwatch/driftwatch/shared/store/dynamostore"
)

// gcpSection heads the GCP function's rows, Go benchmark rows included.
const gcpSection = "GCP function (Cloud Run, push)"

// The GCP deployment the benchmark emulates: the demo's project, the push
// subscription's audience, the function's role on the AWS posture table.
const (
	gcpAudience      = "https://driftwatch-function-bench.a.run.app/"
	gcpRoleARN       = "arn:aws:iam::123456789012:role/driftwatch-gcp-function"
	gcpTokenAudience = "driftwatch-aws-federation"
	gcpAccounts      = `{"` + gcpdemo.Project + `": {"name": "web-prod", "environment": "prod"}}`
	// gcpTable is the GCP function's own table in the AWS world's moto,
	// for the reason azureTable is the Azure function's.
	gcpTable = "driftwatch-bench-gcp"
)

// gcpWorld runs the real function binary in push mode, as Cloud Run runs
// it, against the fakes Google has no emulator for (the Google APIs:
// gcpfake; Google's token signing keys and the metadata server:
// gcpdemo.Google), moto (STS and the posture table, shared with the AWS
// world) and its own Slack recorder. The pushes are made here, as the
// push subscription makes them: no Pub/Sub emulator is involved.
type gcpWorld struct {
	function   string
	events     string
	governance string
	motoURL    string

	api      *gcpfake.Server
	apiSrv   *http.Server
	endpoint string
	google   *gcpdemo.Google
	slack    *slackrec.Recorder
	seq      int // buckets and message ids
}

func newGCPWorld(ctx context.Context, w *world, o options) (_ *gcpWorld, err error) {
	g := &gcpWorld{function: o.gcpFunction, events: o.gcpEvents, motoURL: w.moto.URL, api: gcpfake.New(), slack: slackrec.Start()}
	defer func() {
		if err != nil {
			g.close()
		}
	}()
	if err := dynamostore.CreateTable(ctx, dynamodb.NewFromConfig(w.moto.Config(region)), gcpTable); err != nil {
		return nil, fmt.Errorf("create table %s: %w", gcpTable, err)
	}
	// The demo's governance, so that a drift plans its fix as deployed.
	if gov := filepath.Join(o.eventsDir, "governance-demo.yaml"); fileExists(gov) {
		g.governance = gov
	}
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
	return g, nil
}

func (g *gcpWorld) close() {
	g.slack.Close()
	if g.google != nil {
		g.google.Close()
	}
	if g.apiSrv != nil {
		g.apiSrv.Close()
	}
}

// env is the function's environment in push mode: what infra/gcp sets,
// what Cloud Run sets, and the local endpoints (Google's keys, the
// metadata server, the Google APIs, moto).
func (g *gcpWorld) env(port int) []string {
	return []string{
		gcpfunc.EnvPort + "=" + strconv.Itoa(port),
		gcpfunc.EnvPushAudience + "=" + gcpAudience,
		gcpfunc.EnvPushServiceAccount + "=" + gcpdemo.PushServiceAccount,
		gcpfunc.EnvGoogleCertsURL + "=" + g.google.CertsURL(),
		"DRIFTWATCH_MODE=push",
		"GCE_METADATA_HOST=" + g.google.MetadataHost(),
		"DRIFTWATCH_GCP_API_ENDPOINT=" + g.endpoint,
		"DRIFTWATCH_GCP_PROJECTS=" + gcpdemo.Project,
		"DRIFTWATCH_DISABLED_RULES=" + gcpdemo.PAPRuleID,
		"DRIFTWATCH_TABLE=" + gcpTable,
		"DRIFTWATCH_AWS_ROLE_ARN=" + gcpRoleARN,
		"DRIFTWATCH_AWS_REGION=" + region,
		"DRIFTWATCH_AWS_TOKEN_AUDIENCE=" + gcpTokenAudience,
		"DRIFTWATCH_AWS_ENDPOINT_URL=" + g.motoURL,
		"DRIFTWATCH_GOVERNANCE_FILE=" + g.governance,
		"DRIFTWATCH_ACCOUNTS=" + gcpAccounts,
		"DRIFTWATCH_LOG_LEVEL=info",
		"SLACK_BOT_TOKEN=" + botToken,
		"SLACK_CHANNEL=" + channel,
		"SLACK_API_URL=" + g.slack.URL() + "/",
		// No Google or AWS credentials of the caller's: the function's
		// only AWS credentials are the ones STS gives its ID token.
		"GOOGLE_APPLICATION_CREDENTIALS=", "DRIFTWATCH_AWS_TOKEN_FILE=", "PUBSUB_EMULATOR_HOST=",
		"AWS_ACCESS_KEY_ID=", "AWS_SECRET_ACCESS_KEY=", "AWS_SESSION_TOKEN=", "AWS_PROFILE=",
	}
}

// start runs the function and waits until it listens.
func (g *gcpWorld) start(ctx context.Context) (*process, error) {
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	return startListener(ctx, g.function, port, g.env(port))
}

// drift seeds a new bucket, public to allUsers, in the Google API fake and
// returns the entry of Alice's setIamPermissions on it (events/gcp,
// renamed).
func (g *gcpWorld) drift() ([]byte, error) {
	g.seq++
	name := "web-bench-" + strconv.Itoa(g.seq)
	gcpdemo.SeedPublicBucket(g.api, name)
	return gcpdemo.BucketEntry(g.events, gcpdemo.EventBucketPublic, name, time.Now())
}

// irrelevant is an entry no rule can be affected by: the bucket created
// (event 01) read back, storage.buckets.get (read-only).
func (g *gcpWorld) irrelevant() ([]byte, error) {
	entry, err := gcpdemo.Entry(g.events, gcpdemo.EventBucketCreated, time.Now())
	if err != nil {
		return nil, err
	}
	return gcpdemo.Rewrite(entry, "storage.googleapis.com", "storage.buckets.get")
}

// push delivers entry to the function as the audit subscription's push
// does (the push body, a fresh message id, the push service account's
// OIDC token for the audience, minted before the timing starts) and
// returns the answer and the time from the request sent to the answer
// read.
func (g *gcpWorld) push(ctx context.Context, p *process, entry []byte) (gcpfunc.Answer, time.Duration, error) {
	var ans gcpfunc.Answer
	g.seq++
	now := time.Now()
	tok, err := g.google.PushToken(gcpAudience, now)
	if err != nil {
		return ans, 0, err
	}
	body := gcpdemo.AuditPush(entry, strconv.Itoa(17000000000000+g.seq), now)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, p.url+"/", bytes.NewReader(body))
	if err != nil {
		return ans, 0, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+tok)
	req.Header.Set("User-Agent", "APIs-Google; (+https://developers.google.com/webmasters/APIs-Google.html)")
	start := time.Now()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return ans, 0, err
	}
	answer, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	took := time.Since(start)
	if err != nil {
		return ans, took, err
	}
	if resp.StatusCode != http.StatusOK {
		return ans, took, fmt.Errorf("HTTP %d: %s\nfunction output:\n%s", resp.StatusCode, answer, tail(p.logs.String(), 20))
	}
	if err := json.Unmarshal(answer, &ans); err != nil {
		return ans, took, fmt.Errorf("answer %s: %w", answer, err)
	}
	return ans, took, nil
}

// checkGCP checks a delivery's answer: dropped as read-only, or one drift
// notified.
func checkGCP(drift bool, a gcpfunc.Answer) error {
	switch {
	case drift && (a.Outcome != gcpfunc.OutcomeProcessed || a.Drifted != 1 || a.Notified != 1):
		return fmt.Errorf("answer %+v, want one drift notified", a)
	case !drift && (a.Outcome != gcpfunc.OutcomeDropped || a.Reason != string(change.ReasonReadOnly)):
		return fmt.Errorf("answer %+v, want the entry dropped as read-only", a)
	}
	return nil
}

// coldStart starts the function, pushes entry as soon as it listens, and
// returns the time from the process start to the answer, the answer and
// the process's peak RSS (KiB). The process is stopped.
func (g *gcpWorld) coldStart(ctx context.Context, entry []byte) (time.Duration, gcpfunc.Answer, int64, *process, error) {
	p, err := g.start(ctx)
	if err != nil {
		return 0, gcpfunc.Answer{}, 0, nil, err
	}
	defer p.stop()
	ans, _, err := g.push(ctx, p, entry)
	d := time.Since(p.started)
	if err != nil {
		return d, ans, 0, p, err
	}
	kb, err := peakRSS(p.cmd.Process.Pid)
	return d, ans, kb, p, err
}

// alerts returns the top-level messages posted.
func (g *gcpWorld) alerts() int {
	n := 0
	for _, c := range g.slack.Calls() {
		if c.Method == slackrec.MethodPostMessage && c.ThreadTS == "" && c.OK() {
			n++
		}
	}
	return n
}

// gcpReport measures the real function binary in push mode: cold starts
// (to listening, to the first push answered, once to a drift handled), its
// peak memory, and warm push latencies, drift to alert.
func gcpReport(ctx context.Context, w *world, o options, log *slog.Logger) (report, error) {
	var rep report
	g, err := newGCPWorld(ctx, w, o)
	if err != nil {
		return rep, err
	}
	defer g.close()

	log.Info("GCP function cold starts", "runs", o.coldRuns, "function", o.gcpFunction)
	var listen, first []time.Duration
	var rss int64
	for range o.coldRuns {
		entry, err := g.irrelevant()
		if err != nil {
			return rep, err
		}
		d, ans, kb, p, err := g.coldStart(ctx, entry)
		if err == nil {
			err = checkGCP(false, ans)
		}
		if err != nil {
			return rep, fmt.Errorf("GCP function cold start with an irrelevant push: %w", err)
		}
		listen, first, rss = append(listen, p.listening), append(first, d), max(rss, kb)
	}
	rep.add(
		row{section: gcpSection, measure: "cold start: process start → listening (init alone: configuration, rules compiled, policy, clients)", n: fmt.Sprint(o.coldRuns),
			result: spread(listen), detail: "the function's \"handler listening\" log line, read from its stdout"},
		row{section: gcpSection, measure: "cold start: process start → irrelevant push answered (read-only method)", n: fmt.Sprint(o.coldRuns),
			result: spread(first), detail: fmt.Sprintf("Google's signing keys fetched for the token check; peak RSS then (VmHWM, max of runs): %.1f MB", float64(rss)/1024)},
	)

	entry, err := g.drift()
	if err != nil {
		return rep, err
	}
	calls := len(g.slack.Calls())
	d, ans, kb, _, err := g.coldStart(ctx, entry)
	if err == nil {
		err = checkGCP(true, ans)
	}
	if err != nil {
		return rep, fmt.Errorf("GCP function cold start with a drifting push: %w", err)
	}
	rep.add(row{section: gcpSection, measure: "cold start: process start → drifting push handled (bucket made public)", n: "1", result: fmtDur(d),
		detail: fmt.Sprintf("signing keys, Google API reads, ID token from the metadata server, STS web identity, DynamoDB, %d Slack call(s); peak RSS %.1f MB", len(g.slack.Calls())-calls, float64(kb)/1024)})

	log.Info("GCP function warm pushes", "drifts", o.gcpDrifts)
	p, err := g.start(ctx)
	if err != nil {
		return rep, err
	}
	defer p.stop()
	var drifts, drops []time.Duration
	for i := range o.gcpDrifts + 1 {
		entry, err := g.drift()
		if err != nil {
			return rep, err
		}
		posts := g.alerts()
		ans, took, err := g.push(ctx, p, entry)
		if err == nil {
			err = checkGCP(true, ans)
		}
		if err == nil && g.alerts() != posts+1 {
			err = fmt.Errorf("%d alerts posted, want 1", g.alerts()-posts)
		}
		if err != nil {
			return rep, fmt.Errorf("warm drifting push: %w", err)
		}
		if entry, err = g.irrelevant(); err != nil {
			return rep, err
		}
		ans, dropTook, err := g.push(ctx, p, entry)
		if err == nil {
			err = checkGCP(false, ans)
		}
		if err != nil {
			return rep, fmt.Errorf("warm irrelevant push: %w", err)
		}
		if i == 0 {
			continue // the first pair warms the connections, caches and keys
		}
		drifts, drops = append(drifts, took), append(drops, dropTook)
	}
	warmRSS, err := peakRSS(p.cmd.Process.Pid)
	if err != nil {
		return rep, err
	}
	rep.add(
		row{section: gcpSection, measure: "warm: drifting push → alert posted in Slack → answered", n: fmt.Sprint(len(drifts)), result: durationSummary(drifts),
			detail: "a new public bucket per push: Google API reads (fake over loopback HTTP), evaluate, DynamoDB (moto, STS credentials cached), fix planned, alert posted"},
		row{section: gcpSection, measure: "warm: irrelevant push answered (read-only method, dropped)", n: fmt.Sprint(len(drops)), result: durationSummary(drops),
			detail: fmt.Sprintf("peak RSS of the warm function after %d pushes: %.1f MB", 2*len(drifts)+2, float64(warmRSS)/1024)},
	)
	rep.note("GCP function: the built binary (bin/gcp-function/<arch>/function) run on its own in push mode, as Cloud Run runs it, with each delivery posted to it over loopback HTTP as a Pub/Sub push subscription posts it: the documented push body and a freshly minted OIDC token of the push service account, which the function verifies (RS256, audience, issuer, email) against the signing keys it fetches on its first push. Real: the binary, its token check, normalization, rules, governance, its STS web identity exchange and DynamoDB calls (against moto, a table of its own), its Slack calls (against a recorder). Fake: the Google APIs (gcpfake, hand-written: no emulator serves Storage's IAM policies), Google's signing keys and the metadata server's identity endpoint (gcpdemo.Google), Slack. No Pub/Sub is involved (no remediation topic is set, so the function opens no Pub/Sub client). Moto slows as its table grows (see the Azure note). Cloud Run's front end, its cold start of the container (image pull, sandbox) and Pub/Sub's push latency add their own time.")
	return rep, nil
}

// gcpSizeReport is the function binary's size, and the other
// architecture's beside it when built.
func gcpSizeReport(function string) report {
	var rep report
	root := filepath.Dir(filepath.Dir(function))
	seen := map[string]bool{}
	for _, p := range []string{function, filepath.Join(root, "amd64", "function"), filepath.Join(root, "arm64", "function")} {
		abs, err := filepath.Abs(p)
		if err != nil || seen[abs] {
			continue
		}
		seen[abs] = true
		if st, err := os.Stat(abs); err == nil {
			rep.add(row{section: "binary", measure: "size of gcp-function/" + filepath.Base(filepath.Dir(abs)) + "/function", result: fmtBytes(st.Size()),
				detail: fmt.Sprintf("%d bytes", st.Size())})
		}
	}
	return rep
}
