package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net/http"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambdacontext"
	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/s3control"
	s3ctypes "github.com/aws/aws-sdk-go-v2/service/s3control/types"

	"github.com/driftwatch/driftwatch/shared/awsdetector"
	"github.com/driftwatch/driftwatch/shared/internal/awsdemo"
	"github.com/driftwatch/driftwatch/shared/internal/motoserver"
	"github.com/driftwatch/driftwatch/shared/posture"
	"github.com/driftwatch/driftwatch/shared/slackalert/slackrec"
	"github.com/driftwatch/driftwatch/shared/store"
	"github.com/driftwatch/driftwatch/shared/store/dynamostore"
)

// The deployment the benchmark emulates: the demo's account and Region.
const (
	region      = "eu-west-1"
	table       = "driftwatch-bench"
	channel     = "C0DRIFTWATCH"
	botToken    = "xoxb-bench-not-a-secret"
	accounts    = `{"123456789012": {"name": "payments-prod", "environment": "prod"}}`
	functionARN = "arn:aws:lambda:eu-west-1:123456789012:function:driftwatch-aws-detector"
)

// world is one emulated AWS account with driftwatch deployed in it: moto,
// the recording Slack server, the real handler, and SDK clients that make
// the changes people make.
type world struct {
	moto      *motoserver.Server
	slack     *slackrec.Recorder
	handler   lambda.Handler
	requests  *countingClient  // the handler's AWS requests
	store     store.Store      // for checks, not counted
	ddb       *dynamodb.Client // the same, for counting items
	eventsDir string
	lanes     []lane
	seq       atomic.Int64 // event ids
}

// lane is a group of drift/fix pairs touching resources no other lane
// touches, so that lanes can run concurrently and every event still has a
// known outcome. Each lane has its own copy of the scenario's variables
// (the SSH step records the new rule id in them).
type lane struct {
	pairs []pair
	env   *awsdemo.Env
}

// mutation is a change made through the SDK and the CloudTrail event that
// records it.
type mutation struct {
	event string // file under events/aws
	// eventName, when set, replaces the record's eventName: the inverse
	// operation (StartLogging for StopLogging) takes the same request
	// parameters, and the demo ships no file for it.
	eventName string
	apply     func(ctx context.Context, e *awsdemo.Env) error
}

// pair is a misconfiguration and its fix.
type pair struct {
	what       string
	drift, fix mutation
}

// detectorEnv is the detector's configuration, as the function's
// environment holds it.
func (w *world) detectorEnv() map[string]string {
	return map[string]string{
		"DRIFTWATCH_TABLE":          table,
		"SLACK_CHANNEL":             channel,
		"SLACK_BOT_TOKEN":           botToken,
		"SLACK_API_URL":             w.slack.URL() + "/",
		"DRIFTWATCH_S3_PATH_STYLE":  "true",
		"DRIFTWATCH_ACCOUNTS":       accounts,
		"DRIFTWATCH_LOG_LEVEL":      "warn",
		"DRIFTWATCH_DISABLED_RULES": awsdemo.DisabledRules,
	}
}

// newWorld starts the emulators, creates the table, builds the handler and
// delivers the compliant baseline.
func newWorld(ctx context.Context, eventsDir string, log *slog.Logger) (_ *world, err error) {
	if st, err := os.Stat(eventsDir); err != nil || !st.IsDir() {
		return nil, fmt.Errorf("events directory %s not found (run from the repository root or pass -eventdir)", eventsDir)
	}
	moto, err := motoserver.Start(ctx)
	if err != nil {
		return nil, fmt.Errorf("moto_server: %w", err)
	}
	w := &world{moto: moto, slack: slackrec.Start(), eventsDir: eventsDir}
	defer func() {
		if err != nil {
			w.close()
		}
	}()

	cfg := moto.Config(region)
	// The SDK's standard retries, as the function has in Lambda: moto's
	// server sometimes closes a kept-alive connection under a request.
	cfg.RetryMaxAttempts = 3
	ddb := dynamodb.NewFromConfig(cfg)
	if err := dynamostore.CreateTable(ctx, ddb, table); err != nil {
		return nil, fmt.Errorf("create table: %w", err)
	}
	w.store, w.ddb = dynamostore.New(ddb, table), ddb

	// The handler gets its own configuration whose HTTP client counts
	// requests (and serialises DynamoDB's, see countingClient); the
	// scenario's changes and checks use the plain one. checkStore verifies
	// that moto kept every write.
	w.requests = &countingClient{next: awshttp.NewBuildableClient(), n: map[string]int64{}}
	hcfg := cfg.Copy()
	hcfg.HTTPClient = w.requests
	env := w.detectorEnv()
	c, err := awsdetector.ConfigFromEnv(func(k string) string { return env[k] })
	if err != nil {
		return nil, err
	}
	h, err := awsdetector.New(ctx, c, hcfg, slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: c.LogLevel})))
	if err != nil {
		return nil, fmt.Errorf("build the detector: %w", err)
	}
	w.handler = lambda.NewHandler(h.Handle)

	log.Info("building the compliant baseline")
	demo := awsdemo.NewEnv(cfg)
	steps, err := demo.Baseline(ctx)
	if err != nil {
		return nil, err
	}
	for _, s := range steps {
		payload, err := w.payload(demo, mutation{event: s.Event}, false)
		if err != nil {
			return nil, err
		}
		sum, _, err := w.deliver(ctx, payload)
		if err != nil {
			return nil, err
		}
		if sum.Processed != 1 || sum.Failed != 0 {
			return nil, fmt.Errorf("baseline event %s: summary %+v", s.Event, sum)
		}
	}
	if n := len(w.slack.Calls()); n != 0 {
		return nil, fmt.Errorf("the compliant baseline made %d Slack calls, want none", n)
	}
	lanes, err := scenarioLanes()
	if err != nil {
		return nil, err
	}
	for _, pairs := range lanes {
		e := *demo
		e.Vars = maps.Clone(demo.Vars)
		w.lanes = append(w.lanes, lane{pairs: pairs, env: &e})
	}
	return w, nil
}

func (w *world) close() {
	w.slack.Close()
	w.moto.Close()
}

// scenarioLanes pairs the demo's drift steps with their fixes. Each fix is
// a real event of the demo (the baseline's PutAccountPublicAccessBlock and
// EnableEbsEncryptionByDefault, the SSH revoke) or the inverse operation
// of a drift event. The account's Block Public Access and the trail share
// a lane because both events re-read the account. The SSH pair is lane 0
// (the cold start uses it).
func scenarioLanes() ([][]pair, error) {
	byEvent := map[string]awsdemo.Step{}
	for _, s := range slices.Concat(awsdemo.Drift(), awsdemo.Fix()) {
		byEvent[s.Event] = s
	}
	var missing []string
	step := func(name string) mutation {
		s, ok := byEvent[name]
		if !ok || s.Apply == nil {
			missing = append(missing, name)
		}
		return mutation{event: name, apply: s.Apply}
	}
	ssh := pair{"SSH opened to the world", step("13-authorize-ssh-from-anywhere.json"), step("20-revoke-ssh-from-anywhere.json")}
	bpa := pair{"account Block Public Access removed", step("10-delete-account-public-access-block.json"),
		mutation{event: "09-put-account-public-access-block.json", apply: func(ctx context.Context, e *awsdemo.Env) error {
			_, err := e.S3C.PutPublicAccessBlock(ctx, &s3control.PutPublicAccessBlockInput{AccountId: aws.String(e.Vars["ACCOUNT"]),
				PublicAccessBlockConfiguration: &s3ctypes.PublicAccessBlockConfiguration{BlockPublicAcls: aws.Bool(true), IgnorePublicAcls: aws.Bool(true), BlockPublicPolicy: aws.Bool(true), RestrictPublicBuckets: aws.Bool(true)}})
			return err
		}}}
	trail := pair{"audit trail stopped", step("14-stop-logging.json"),
		mutation{event: "14-stop-logging.json", eventName: "StartLogging", apply: func(ctx context.Context, e *awsdemo.Env) error {
			_, err := e.CT.StartLogging(ctx, &cloudtrail.StartLoggingInput{Name: aws.String(e.Vars["TRAIL"])})
			return err
		}}}
	key := pair{"KMS key rotation disabled", step("15-disable-key-rotation.json"),
		mutation{event: "15-disable-key-rotation.json", eventName: "EnableKeyRotation", apply: func(ctx context.Context, e *awsdemo.Env) error {
			_, err := e.KMS.EnableKeyRotation(ctx, &kms.EnableKeyRotationInput{KeyId: aws.String(e.Vars["KEY_ID"])})
			return err
		}}}
	ebs := pair{"EBS encryption by default disabled", step("17-disable-ebs-encryption-by-default.json"),
		mutation{event: "06-enable-ebs-encryption-by-default.json", apply: func(ctx context.Context, e *awsdemo.Env) error {
			_, err := e.EC2.EnableEbsEncryptionByDefault(ctx, &ec2.EnableEbsEncryptionByDefaultInput{})
			return err
		}}}
	if len(missing) > 0 {
		return nil, fmt.Errorf("the demo scenario (internal/awsdemo) has no step for %s", strings.Join(missing, ", "))
	}
	return [][]pair{{ssh}, {bpa, trail}, {key}, {ebs}}, nil
}

// class is what an event is expected to do.
type class int

const (
	classDrift      class = iota // a misconfiguration: a finding opens, an alert is posted or updated
	classFix                     // the fix: the finding resolves, the alert is updated
	classUnchanged               // a relevant event that changes no posture: no write, no Slack call
	classIrrelevant              // a failed call: dropped before any I/O
)

func (c class) String() string {
	return [...]string{"drift → alert", "fix → alert resolved", "unchanged (no drift)", "irrelevant (dropped)"}[c]
}

// job is one delivery.
type job struct {
	class class
	m     mutation
}

// laneJobs cycles through a lane's pairs until it has at least n jobs.
// Each pair contributes six events: drift, its re-read (new event id,
// nothing changed), a failed attempt of the same call, then the same for
// the fix. A lane therefore always ends compliant.
func laneJobs(pairs []pair, n int) []job {
	var jobs []job
	for i := 0; len(jobs) < n; i++ {
		p := pairs[i%len(pairs)]
		jobs = append(jobs,
			job{classDrift, p.drift}, job{classUnchanged, p.drift}, job{classIrrelevant, p.drift},
			job{classFix, p.fix}, job{classUnchanged, p.fix}, job{classIrrelevant, p.fix})
	}
	return jobs
}

// sample is one measured delivery. The counts are exact only when
// deliveries run one at a time.
type sample struct {
	class    class
	latency  time.Duration
	requests map[string]int64 // the handler's AWS requests, see countingClient
	slack    int64            // Slack calls
	applied  time.Duration    // the SDK change made before the event
}

// reads and store split the AWS requests: fetches, posture store.
func (s sample) reads() (n int64) {
	for k, v := range s.requests {
		if !isStore(k) {
			n += v
		}
	}
	return n
}

func (s sample) store() (n int64) {
	for k, v := range s.requests {
		if isStore(k) {
			n += v
		}
	}
	return n
}

// do makes a job's change (if any) and delivers its event.
func (w *world) do(ctx context.Context, l *lane, j job) (sample, error) {
	s := sample{class: j.class}
	if j.class == classDrift || j.class == classFix {
		start := time.Now()
		if err := j.m.apply(ctx, l.env); err != nil {
			return s, fmt.Errorf("make the change of %s: %w", j.m.event, err)
		}
		s.applied = time.Since(start)
	}
	payload, err := w.payload(l.env, j.m, j.class == classIrrelevant)
	if err != nil {
		return s, err
	}
	before := w.requests.snapshot()
	calls := int64(len(w.slack.Calls()))
	sum, took, err := w.deliver(ctx, payload)
	if err != nil {
		return s, fmt.Errorf("%s (%s): %w", j.m.event, j.class, err)
	}
	if err := checkOutcome(j.class, sum); err != nil {
		return s, fmt.Errorf("%s (%s): %w", j.m.event, j.class, err)
	}
	s.latency, s.requests, s.slack = took, requestDelta(before, w.requests.snapshot()), int64(len(w.slack.Calls()))-calls
	return s, nil
}

// checkOutcome fails the run when an event did not do what its class says:
// the figures would otherwise describe something else.
func checkOutcome(c class, s awsdetector.Summary) error {
	ok := s.Failed == 0
	switch c {
	case classDrift:
		ok = ok && s.Processed == 1 && s.Drifted > 0 && s.Notified > 0
	case classFix:
		ok = ok && s.Processed == 1 && s.Resolved > 0 && s.Notified > 0
	case classUnchanged:
		ok = ok && s.Processed == 1 && s.Drifted == 0 && s.Resolved == 0 && s.Notified == 0
	case classIrrelevant:
		ok = ok && s.Processed == 0 && s.Dropped["failed"] == 1
	}
	if !ok {
		return fmt.Errorf("unexpected summary %+v", s)
	}
	return nil
}

// payload renders an event file for e's resources with a fresh event id
// (the detector drops a redelivered id as a duplicate). failed turns it
// into the record of a denied attempt of the same call.
func (w *world) payload(e *awsdemo.Env, m mutation, failed bool) ([]byte, error) {
	return eventPayload(e, w.eventsDir, m, failed, fmt.Sprintf("bc4e0000-0000-4000-8000-%012d", w.seq.Add(1)))
}

// eventPayload renders the event file of m from dir for e's resources
// under event id id; failed makes it a denied attempt of the same call.
func eventPayload(e *awsdemo.Env, dir string, m mutation, failed bool, id string) ([]byte, error) {
	raw, err := e.Event(dir, m.event, time.Now())
	if err != nil {
		return nil, err
	}
	return rewriteEvent(raw, id, func(d map[string]any) {
		if m.eventName != "" {
			d["eventName"] = m.eventName
		}
		if failed {
			d["errorCode"] = "AccessDenied"
			d["errorMessage"] = "User is not authorized to perform this operation"
			d["responseElements"] = nil
		}
	})
}

// rewriteEvent sets the event id of an EventBridge event (the envelope's
// and the CloudTrail record's) and lets edit change the record.
func rewriteEvent(raw []byte, id string, edit func(detail map[string]any)) ([]byte, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var ev map[string]any
	if err := dec.Decode(&ev); err != nil {
		return nil, fmt.Errorf("event: %w", err)
	}
	detail, ok := ev["detail"].(map[string]any)
	if !ok {
		return nil, errors.New("event: not an EventBridge event (no detail object)")
	}
	ev["id"], detail["eventID"] = id, id
	edit(detail)
	return json.Marshal(ev)
}

// deliver invokes the handler as Lambda would and times the invocation.
func (w *world) deliver(ctx context.Context, payload []byte) (awsdetector.Summary, time.Duration, error) {
	return invokeDetector(ctx, w.handler, fmt.Sprintf("bench-%d", w.seq.Add(1)), payload)
}

// invokeDetector invokes a detector handler as Lambda would, under request
// id requestID, and times the invocation.
func invokeDetector(ctx context.Context, h lambda.Handler, requestID string, payload []byte) (awsdetector.Summary, time.Duration, error) {
	ctx = lambdacontext.NewContext(ctx, &lambdacontext.LambdaContext{AwsRequestID: requestID, InvokedFunctionArn: functionARN})
	start := time.Now()
	out, err := h.Invoke(ctx, payload)
	took := time.Since(start)
	var sum awsdetector.Summary
	if err != nil {
		return sum, took, fmt.Errorf("invoke: %w", err)
	}
	if err := json.Unmarshal(out, &sum); err != nil {
		return sum, took, fmt.Errorf("invoke: response %s: %w", out, err)
	}
	return sum, took, nil
}

// phase is one measured run of the workload.
type phase struct {
	workers  int
	samples  []sample
	wall     time.Duration
	applying time.Duration // summed over workers
	// cpu is this process's CPU time (user + system) during the phase: the
	// handler, the SDK changes and the Slack recorder, not moto.
	cpu time.Duration
}

// runPhase delivers perLane events on every lane, with workers lanes at a
// time; a worker with several lanes interleaves them.
func (w *world) runPhase(ctx context.Context, perLane, workers int) (phase, error) {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	p := phase{workers: workers}
	var (
		mu sync.Mutex
		wg sync.WaitGroup
	)
	cpu0 := processCPU()
	start := time.Now()
	for wk := range workers {
		var mine []*lane
		var jobs [][]job
		for i := wk; i < len(w.lanes); i += workers {
			mine = append(mine, &w.lanes[i])
			jobs = append(jobs, laneJobs(w.lanes[i].pairs, perLane))
		}
		if len(mine) == 0 {
			break // more workers than lanes
		}
		wg.Go(func() {
			for k := range len(jobs[0]) {
				for i, l := range mine {
					if ctx.Err() != nil {
						return
					}
					s, err := w.do(ctx, l, jobs[i][k])
					if err != nil {
						cancel(err)
						return
					}
					mu.Lock()
					p.samples = append(p.samples, s)
					p.applying += s.applied
					mu.Unlock()
				}
			}
		})
	}
	wg.Wait()
	p.wall = time.Since(start)
	p.cpu = processCPU() - cpu0
	if err := context.Cause(ctx); err != nil {
		return p, err
	}
	return p, nil
}

// processCPU is the user and system CPU time this process used so far.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// checkStore verifies what moto kept: every lane ends with its fixes, so no
// finding may be open. A lost or reordered write would leave one open.
func (w *world) checkStore(ctx context.Context) error {
	var open []string
	for _, sev := range []posture.Severity{posture.Critical, posture.High, posture.Medium, posture.Low, posture.Informational} {
		fs, err := w.store.OpenFindings(ctx, store.FindingQuery{Severity: sev})
		if err != nil {
			return fmt.Errorf("check the store: %w", err)
		}
		for _, f := range fs {
			open = append(open, f.RuleID+" on "+f.Key.ResourceID)
		}
	}
	if len(open) > 0 {
		return fmt.Errorf("after every drift was fixed the store still has open findings (the emulator lost or reordered writes): %s", strings.Join(open, "; "))
	}
	return nil
}

// measure runs the workload one event at a time, then with workers lanes
// at a time, and reports latency per class and throughput.
func (w *world) measure(ctx context.Context, events, workers int, log *slog.Logger) (report, error) {
	var rep report
	perLane := (events + len(w.lanes) - 1) / len(w.lanes)
	conc := min(workers, len(w.lanes))

	itemsBefore, err := w.tableItems(ctx)
	if err != nil {
		return rep, err
	}
	log.Info("end to end, sequential", "events", perLane*len(w.lanes))
	seq, err := w.runPhase(ctx, perLane, 1)
	if err != nil {
		return rep, fmt.Errorf("sequential phase: %w", err)
	}
	if err := w.checkStore(ctx); err != nil {
		return rep, err
	}
	log.Info("end to end, concurrent", "workers", conc)
	par, err := w.runPhase(ctx, perLane, conc)
	if err != nil {
		return rep, fmt.Errorf("concurrent phase (%d workers): %w", conc, err)
	}
	if err := w.checkStore(ctx); err != nil {
		return rep, err
	}

	for _, p := range []phase{seq, par} {
		section := "end to end, sequential"
		if p.workers > 1 {
			section = fmt.Sprintf("end to end, %d workers", p.workers)
		}
		for _, c := range []class{classDrift, classFix, classUnchanged, classIrrelevant} {
			var ss []sample
			for _, s := range p.samples {
				if s.class == c {
					ss = append(ss, s)
				}
			}
			detail := "counts: see the sequential rows"
			if p.workers == 1 {
				detail = "per event: " + countSummary(ss)
			}
			rep.add(row{section: section, measure: c.String(), n: fmt.Sprint(len(ss)), result: latencySummary(ss), detail: detail})
		}
		detail := fmt.Sprintf("wall %s, which includes %s of SDK changes", fmtDur(p.wall), fmtDur(p.applying))
		if p.workers > 1 {
			detail = fmt.Sprintf("wall %s, which includes the SDK changes (%s summed over workers)", fmtDur(p.wall), fmtDur(p.applying))
		}
		detail += fmt.Sprintf("; this process's CPU %s/event", fmtDur(p.cpu/time.Duration(len(p.samples))))
		rep.add(row{section: section, measure: "all events: throughput", n: fmt.Sprint(len(p.samples)),
			result: fmt.Sprintf("%.1f events/s", float64(len(p.samples))/p.wall.Seconds()), detail: detail + "; all: " + latencySummary(p.samples)})
	}
	var what []string
	for _, l := range w.lanes {
		for _, p := range l.pairs {
			what = append(what, p.what)
		}
	}
	rep.notef("End to end: the real handler (awsdetector.New, lambda.NewHandler) invoked in-process against moto_server and the slackrec recorder, after the demo's compliant baseline. "+
		"Workload: drift/fix pairs (%s), each as six events — the drift, a re-delivery under a new event id (nothing changed), a failed attempt of the same call, then the same three for the fix — so the mix is 1/6 drift, 1/6 fix, 1/3 unchanged, 1/3 irrelevant. "+
		"Latency is the handler's Invoke alone; the SDK call that makes each change runs before it and is only in the wall time. "+
		"\"This process's CPU\" is the bench process's user + system time over the phase divided by its events: the handler, the SDK clients, the in-process Slack recorder and the harness, not moto.", strings.Join(what, "; "))
	rep.note("Irrelevant events are failed calls (errorCode AccessDenied) of the same operations: the EventBridge pattern matches operation names only, so these are what reaches the function and gets dropped; they make no AWS, store or Slack request.")
	rep.notef("Counts per event, from the sequential phase: \"AWS reads\" are the handler's non-DynamoDB requests (the fetches), \"DynamoDB\" its store requests (event claim and completion included), \"Slack\" the calls the recorder saw; a value in brackets is the min–max range. "+
		"Concurrency is at most one worker per lane of resources no other lane touches (%d lanes), so every event keeps a known outcome.", len(w.lanes))
	var mix []string
	for _, c := range []class{classDrift, classFix, classUnchanged} {
		var ss []sample
		for _, s := range seq.samples {
			if s.class == c {
				ss = append(ss, s)
			}
		}
		mix = append(mix, fmt.Sprintf("%s: %s", c, requestMix(ss)))
	}
	rep.note("AWS requests per event by operation (sequential phase, averaged): " + strings.Join(mix, "; ") + ".")
	items, err := w.tableItems(ctx)
	if err != nil {
		return rep, err
	}
	rep.notef("moto's TransactWriteItems deep-copies the whole table before applying (to roll back on failure), so each transaction costs time proportional to the table's size, which grows by one event-claim item per relevant event (%d items before the sequential phase, %d at the end); DynamoDB has no such cost, so the drift and fix latencies here overstate it, increasingly as the run goes on.", itemsBefore, items)
	rep.note("The handler's DynamoDB requests are serialised (one at a time, fetches stay concurrent): without that moto 5.2.1 fails concurrent TransactWriteItems with HTTP 500 (its deep copy of the table for rollback raises \"dictionary changed size during iteration\" when another request writes), and a cancelled transaction restores that copy over concurrent writes. DynamoDB isolates requests, so the concurrent rows understate what it allows: store requests queue here. After each phase the store was checked (no finding left open once every drift was fixed) and every event's summary matched its class.")
	return rep, nil
}

// requestMix averages the requests per event by operation.
func requestMix(ss []sample) string {
	total := map[string]int64{}
	for _, s := range ss {
		for k, v := range s.requests {
			total[k] += v
		}
	}
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(total)) {
		parts = append(parts, k+" "+trimFloat(float64(total[k])/float64(len(ss))))
	}
	if len(parts) == 0 {
		return "none"
	}
	return strings.Join(parts, ", ")
}

// trimFloat prints v with one decimal, without a trailing ".0".
func trimFloat(v float64) string {
	return strings.TrimSuffix(fmt.Sprintf("%.1f", v), ".0")
}

// tableItems counts the items in the posture table.
func (w *world) tableItems(ctx context.Context) (int64, error) {
	var n int64
	p := dynamodb.NewScanPaginator(w.ddb, &dynamodb.ScanInput{TableName: aws.String(table), Select: ddbtypes.SelectCount})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return 0, fmt.Errorf("count the table's items: %w", err)
		}
		n += int64(page.Count)
	}
	return n, nil
}

// latencySummary is p50, p99 and max (nearest rank).
func latencySummary(ss []sample) string {
	if len(ss) == 0 {
		return "no events"
	}
	d := make([]time.Duration, len(ss))
	for i, s := range ss {
		d[i] = s.latency
	}
	return durationSummary(d)
}

// percentile is the nearest-rank percentile of sorted durations.
func percentile(sorted []time.Duration, p int) time.Duration {
	i := (p*len(sorted) + 99) / 100
	return sorted[max(i, 1)-1]
}

// countSummary averages the per-event request counts.
func countSummary(ss []sample) string {
	if len(ss) == 0 {
		return ""
	}
	stat := func(get func(sample) int64) string {
		lo, hi, sum := get(ss[0]), get(ss[0]), int64(0)
		for _, s := range ss {
			v := get(s)
			lo, hi, sum = min(lo, v), max(hi, v), sum+v
		}
		avg := trimFloat(float64(sum) / float64(len(ss)))
		if lo == hi {
			return avg
		}
		return fmt.Sprintf("%s (%d–%d)", avg, lo, hi)
	}
	return fmt.Sprintf("AWS reads %s, DynamoDB %s, Slack %s",
		stat(sample.reads), stat(sample.store), stat(func(s sample) int64 { return s.slack }))
}

// countingClient counts the requests an SDK client sends: DynamoDB ones by
// operation ("dynamodb GetItem"), others by service ("ec2").
//
// It also sends DynamoDB requests one at a time. moto 5.2.1's DynamoDB is
// not safe for concurrent requests: TransactWriteItems deep-copies the
// table (to roll back on failure) and fails with HTTP 500 ("dictionary
// changed size during iteration") when another request writes meanwhile,
// and a cancelled transaction restores that copy over concurrent writes.
// DynamoDB isolates requests; without this the concurrent phase fails.
// Fetches stay concurrent.
type countingClient struct {
	next   aws.HTTPClient
	mu     sync.Mutex
	n      map[string]int64
	serial sync.Mutex // held around each DynamoDB round trip
}

// Do counts the request and sends it.
func (c *countingClient) Do(r *http.Request) (*http.Response, error) {
	key := signingService(r)
	if key == "dynamodb" {
		_, op, _ := strings.Cut(r.Header.Get("X-Amz-Target"), ".")
		key += " " + op
	}
	c.mu.Lock()
	c.n[key]++
	c.mu.Unlock()
	if !isStore(key) {
		return c.next.Do(r)
	}
	c.serial.Lock()
	defer c.serial.Unlock()
	resp, err := c.next.Do(r)
	if err != nil {
		return resp, err
	}
	// The response body is read after Do returns: read it under the lock,
	// so that the next request starts once moto has answered this one.
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	resp.Body = io.NopCloser(bytes.NewReader(body))
	return resp, err
}

// snapshot returns the counts so far.
func (c *countingClient) snapshot() map[string]int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return maps.Clone(c.n)
}

// requestDelta is what was sent between two snapshots.
func requestDelta(before, after map[string]int64) map[string]int64 {
	d := map[string]int64{}
	for k, v := range after {
		if v -= before[k]; v != 0 {
			d[k] = v
		}
	}
	return d
}

// isStore tells DynamoDB requests (the posture store) from the others (the
// fetches).
func isStore(key string) bool { return strings.HasPrefix(key, "dynamodb") }

// signingService reads the service from a SigV4 Authorization header
// ("... Credential=AKID/20250101/eu-west-1/dynamodb/aws4_request, ...").
func signingService(r *http.Request) string {
	_, cred, ok := strings.Cut(r.Header.Get("Authorization"), "Credential=")
	if !ok {
		return "unsigned"
	}
	cred, _, _ = strings.Cut(cred, ",")
	parts := strings.Split(cred, "/")
	if len(parts) != 5 {
		return "unsigned"
	}
	return parts[3]
}
