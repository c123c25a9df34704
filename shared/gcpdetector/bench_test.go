package gcpdetector_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/driftwatch/driftwatch/shared/change"
	"github.com/driftwatch/driftwatch/shared/gcpdetector"
	"github.com/driftwatch/driftwatch/shared/gcpevent"
	"github.com/driftwatch/driftwatch/shared/gcpfunc"
	"github.com/driftwatch/driftwatch/shared/internal/gcpdemo"
	"github.com/driftwatch/driftwatch/shared/internal/gcpfake"
	"github.com/driftwatch/driftwatch/shared/slackalert/slackrec"
	"github.com/driftwatch/driftwatch/shared/store/memstore"
)

// benchWorld is the GCP function's HTTP layer and drift pipeline in this
// process: the push tokens checked against the Google fake's keys (fetched
// once, then cached as in production), the Google API reads going to
// gcpfake over loopback HTTP (the fetchers' real clients), the posture to
// an in-memory store, Slack to a recorder on loopback. It is
// gcpdetector.New with an in-memory store in place of DynamoDB (the
// file-backed store of DRIFTWATCH_STORE_FILE rewrites and syncs its whole
// file on every write, which is not what is measured).
type benchWorld struct {
	srv    http.Handler
	api    *gcpfake.Server
	slack  *slackrec.Recorder
	token  string
	events string
	seq    int
}

func newBenchWorld(b *testing.B) *benchWorld {
	b.Helper()
	w := &benchWorld{api: gcpfake.New(), slack: slackrec.Start(), events: filepath.Join("..", "..", "events", "gcp")}
	b.Cleanup(w.slack.Close)
	endpoint := w.api.Start(b)
	google, err := gcpdemo.StartGoogle()
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(google.Close)
	// One token for the whole run: Pub/Sub mints one per push, but its
	// signing is Google's cost, not the function's.
	if w.token, err = google.PushToken(audience, time.Now()); err != nil {
		b.Fatal(err)
	}
	gov := filepath.Join(b.TempDir(), "governance.yaml")
	if err := os.WriteFile(gov, []byte(governance), 0o644); err != nil {
		b.Fatal(err)
	}
	c, err := gcpdetector.ConfigFromEnv(func(k string) string {
		return map[string]string{
			"DRIFTWATCH_STORE_FILE":       "unused: Deps.Store",
			"DRIFTWATCH_GCP_API_ENDPOINT": endpoint,
			"SLACK_CHANNEL":               channel,
			"SLACK_BOT_TOKEN":             "xoxb-bench-not-a-secret",
			"SLACK_API_URL":               w.slack.URL(),
			"DRIFTWATCH_ACCOUNTS":         `{"` + gcpdemo.Project + `": {"name": "web-prod", "environment": "prod"}}`,
			"DRIFTWATCH_GCP_PROJECTS":     gcpdemo.Project,
			"DRIFTWATCH_DISABLED_RULES":   gcpdemo.PAPRuleID,
			"DRIFTWATCH_GOVERNANCE_FILE":  gov,
		}[k]
	})
	if err != nil {
		b.Fatal(err)
	}
	f, err := gcpdetector.New(b.Context(), c, gcpdetector.Deps{Store: memstore.New()})
	if err != nil {
		b.Fatal(err)
	}
	norm, err := gcpevent.New(nil)
	if err != nil {
		b.Fatal(err)
	}
	keys, err := gcpfunc.NewJWKS(google.CertsURL(), nil)
	if err != nil {
		b.Fatal(err)
	}
	auth, err := gcpfunc.NewPushVerifier(keys, audience, gcpdemo.PushServiceAccount, nil)
	if err != nil {
		b.Fatal(err)
	}
	if w.srv, err = gcpfunc.New(gcpfunc.Config{Normalizer: norm, Processor: f.Detector, Auth: auth}, nil); err != nil {
		b.Fatal(err)
	}
	return w
}

// push serves one push delivery of entry as the audit subscription sends
// it (a fresh message id) and returns the answer, which must be a 200.
func (w *benchWorld) push(b *testing.B, entry []byte) gcpfunc.Answer {
	w.seq++
	body := gcpdemo.AuditPush(entry, strconv.Itoa(17000000000000+w.seq), time.Now())
	req := httptest.NewRequest(http.MethodPost, "/", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+w.token)
	rec := httptest.NewRecorder()
	w.srv.ServeHTTP(rec, req)
	if rec.Code != http.StatusOK {
		b.Fatalf("HTTP %d: %s", rec.Code, rec.Body)
	}
	var ans gcpfunc.Answer
	if err := json.Unmarshal(rec.Body.Bytes(), &ans); err != nil {
		b.Fatalf("answer %s: %v", rec.Body, err)
	}
	return ans
}

// BenchmarkDeliveryIrrelevant is the handler's cost for an entry the
// audit sink publishes that no rule can be affected by: the push token
// verified, the body read, the entry normalized and dropped, the answer
// written. read-only: event 01 as storage.buckets.get (Data Access logs
// routed to the sink by a broad filter); unsupported: an Admin Activity
// method the method table does not map (a Pub/Sub topic created).
func BenchmarkDeliveryIrrelevant(b *testing.B) {
	w := newBenchWorld(b)
	base, err := gcpdemo.Entry(w.events, gcpdemo.EventBucketCreated, time.Now())
	if err != nil {
		b.Fatal(err)
	}
	for _, bc := range []struct {
		name, service, method, reason string
	}{
		{"read-only", "storage.googleapis.com", "storage.buckets.get", string(change.ReasonReadOnly)},
		{"unsupported", "pubsub.googleapis.com", "google.pubsub.v1.Publisher.CreateTopic", string(change.ReasonUnsupported)},
	} {
		entry, err := gcpdemo.Rewrite(base, bc.service, bc.method)
		if err != nil {
			b.Fatal(err)
		}
		b.Run(bc.name, func(b *testing.B) {
			check := func(ans gcpfunc.Answer) {
				if ans.Outcome != gcpfunc.OutcomeDropped || ans.Reason != bc.reason {
					b.Fatalf("answer %+v, want the entry dropped as %s", ans, bc.reason)
				}
			}
			check(w.push(b, entry))
			b.ReportAllocs()
			for b.Loop() {
				check(w.push(b, entry))
			}
		})
	}
	if n := len(w.slack.Calls()); n != 0 {
		b.Fatalf("irrelevant entries made %d Slack calls", n)
	}
	if n := len(w.api.Requests()); n != 0 {
		b.Fatalf("irrelevant entries made %d Google API requests", n)
	}
}

// BenchmarkDeliveryDrift is the handler's cost for a drifting entry: a
// storage.setIamPermissions delivery (Alice granting allUsers read,
// events/gcp) through the HTTP layer, the bucket and its IAM policy re-read
// from the Google API fake (loopback HTTP), the GCP rules evaluated, the
// posture and the finding stored (in memory), the fix planned, and the
// alert posted to Slack (a recorder on loopback). Each iteration is a new
// public bucket, seeded outside the timer, so that every delivery is a
// drift that posts a new alert.
func BenchmarkDeliveryDrift(b *testing.B) {
	w := newBenchWorld(b)
	i := 0
	next := func() []byte {
		i++
		name := "web-bench-" + strconv.Itoa(i)
		gcpdemo.SeedPublicBucket(w.api, name)
		entry, err := gcpdemo.BucketEntry(w.events, gcpdemo.EventBucketPublic, name, time.Now())
		if err != nil {
			b.Fatal(err)
		}
		return entry
	}
	check := func(ans gcpfunc.Answer) {
		if ans.Outcome != gcpfunc.OutcomeProcessed || ans.Drifted != 1 || ans.Notified != 1 {
			b.Fatalf("answer %+v, want one drift notified", ans)
		}
	}
	check(w.push(b, next()))
	b.ReportAllocs()
	for b.Loop() {
		b.StopTimer()
		entry := next()
		b.StartTimer()
		check(w.push(b, entry))
	}
	b.StopTimer()
	alerts := 0
	for _, m := range w.slack.Messages() {
		if m.ThreadTS == "" && strings.Contains(string(m.Blocks), "web-bench-") {
			alerts++
		}
	}
	if alerts != i {
		b.Fatalf("%d alerts for %d drifts", alerts, i)
	}
}
