package gcpfunc_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/driftwatch/driftwatch/shared/change"
	"github.com/driftwatch/driftwatch/shared/gcpevent"
	"github.com/driftwatch/driftwatch/shared/gcpfunc"
	"github.com/driftwatch/driftwatch/shared/pipeline"
	"github.com/driftwatch/driftwatch/shared/posture"
)

// TestPushCorpus delivers every push body of the corpus (real LogEntries
// in Pub/Sub's push envelope): each is acked; those gcpevent normalizes
// reach the processor, the others are dropped with gcpevent's reason.
func TestPushCorpus(t *testing.T) {
	f := newFixture(t, nil)
	n := newNormalizer(t)
	tok := goodToken(t)
	processed := 0
	for _, s := range pushSamples(t) {
		want, err := n.Decode(s.body)
		if err != nil {
			t.Fatalf("%s: %v", s.name, err)
		}
		before := len(f.proc.changes())
		rec := f.post(t, "/", tok, s.body, nil)
		if rec.Code != http.StatusOK {
			t.Fatalf("%s: status %d %s", s.name, rec.Code, rec.Body)
		}
		a := answerOf(t, rec)
		if a.MessageID != want.MessageID || a.EventID != want.EventID {
			t.Errorf("%s: answer %+v, want message %q event %q", s.name, a, want.MessageID, want.EventID)
		}
		if want.Err != nil {
			reason, _ := change.DropReasonOf(want.Err)
			if a.Outcome != gcpfunc.OutcomeDropped || a.Reason != string(reason) || len(f.proc.changes()) != before {
				t.Errorf("%s: answer %+v, want dropped %s, unprocessed", s.name, a, reason)
			}
			continue
		}
		processed++
		seen := f.proc.changes()
		if a.Outcome != gcpfunc.OutcomeProcessed || len(seen) != before+1 || seen[len(seen)-1].EventID != want.Change.EventID {
			t.Errorf("%s: answer %+v, %d changes processed", s.name, a, len(seen)-before)
		}
	}
	if processed == 0 {
		t.Fatal("no corpus push body was processed")
	}
	t.Logf("%d push bodies processed", processed)
}

// TestDeliveryForms delivers one real LogEntry in each form a push
// subscription or an Eventarc trigger sends, on "/" and on the configured
// path: every one is processed, as the same change.
func TestDeliveryForms(t *testing.T) {
	s, want := processable(t)
	ceStructured := http.Header{"Content-Type": {"application/cloudevents+json; charset=utf-8"}}
	forms := []struct {
		name, path string
		body       []byte
		header     http.Header
		form       gcpevent.Form
	}{
		{"push", "/", s.body, nil, gcpevent.FormPush},
		{"push on the configured path", "/pubsub/audit", s.body, nil, gcpevent.FormPush},
		{"push on the configured path with a slash", "/pubsub/audit/", s.body, nil, gcpevent.FormPush},
		{"eventarc binary", "/", s.body, binaryHeaders(), gcpevent.FormPush},
		{"eventarc structured", "/", structured(t, s.body), ceStructured, gcpevent.FormEventarcPubSub},
	}
	for _, tt := range forms {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, &gcpfunc.Options{Path: "/pubsub/audit"})
			rec := f.post(t, tt.path, goodToken(t), tt.body, tt.header)
			if rec.Code != http.StatusOK {
				t.Fatalf("status %d %s", rec.Code, rec.Body)
			}
			if ct := rec.Header().Get("Content-Type"); ct != "application/json; charset=utf-8" {
				t.Errorf("Content-Type %q", ct)
			}
			a := answerOf(t, rec)
			seen := f.proc.changes()
			if a.Outcome != gcpfunc.OutcomeProcessed || len(seen) != 1 || seen[0].EventID != want.EventID || a.EventID != want.EventID {
				t.Fatalf("answer %+v, processed %+v, want %s", a, seen, want.EventID)
			}
			logs := f.logs.String()
			if !strings.Contains(logs, `"msg":"delivery handled"`) || !strings.Contains(logs, `"form":"`+string(tt.form)+`"`) {
				t.Errorf("logs:\n%s", logs)
			}
			if tt.header.Get("Ce-Id") != "" && !strings.Contains(logs, `"ce_id":"3103425958877813"`) {
				t.Errorf("the binary-mode CloudEvent id is not logged:\n%s", logs)
			}
		})
	}
}

// TestRealEventarcSamples delivers Google's own Pub/Sub and Eventarc
// example bodies (their messages carry no LogEntry, or a Data Access
// one): every one is acked, with the outcome gcpevent decides.
func TestRealEventarcSamples(t *testing.T) {
	n := newNormalizer(t)
	for _, s := range realSamples(t) {
		t.Run(s.name, func(t *testing.T) {
			f := newFixture(t, nil)
			var h http.Header
			switch {
			case strings.HasPrefix(s.name, "examples__structured__"):
				h = http.Header{"Content-Type": {"application/cloudevents+json"}}
			case strings.Contains(s.name, "__audit__"):
				h = binaryHeaders()
				h.Set("Ce-Type", gcpevent.EventTypeAuditLogWritten)
			default:
				h = binaryHeaders()
			}
			want, err := n.Decode(s.body)
			if err != nil {
				t.Fatal(err)
			}
			rec := f.post(t, "/", goodToken(t), s.body, h)
			if rec.Code != http.StatusOK {
				t.Fatalf("status %d %s", rec.Code, rec.Body)
			}
			a := answerOf(t, rec)
			switch reason, _ := change.DropReasonOf(want.Err); {
			case want.Err == nil && a.Outcome != gcpfunc.OutcomeProcessed:
				t.Errorf("answer %+v, want processed", a)
			case want.Err != nil && (a.Outcome != gcpfunc.OutcomeDropped || a.Reason != string(reason)):
				t.Errorf("answer %+v, want dropped %s", a, reason)
			}
		})
	}
}

// TestRejected: a request without a valid token is answered 401 (503
// when the keys cannot be fetched) before its body is read, with a log
// line giving the reason and never the token.
func TestRejected(t *testing.T) {
	keys := testKeys(t)
	s, _ := processable(t)
	expired := claims()
	expired["exp"] = t0.Add(-time.Hour).Unix()
	wrongAud := claims()
	wrongAud["aud"] = "https://other.example/"
	tests := []struct {
		name, token, reason string
		down                bool
		status              int
	}{
		{"no token", "", "0 Authorization headers", false, http.StatusUnauthorized},
		{"forged", mint(t, keys[1], "k1", claims()), "verification error", false, http.StatusUnauthorized},
		{"expired", mint(t, keys[0], "k1", expired), "token is expired", false, http.StatusUnauthorized},
		{"wrong audience", mint(t, keys[0], "k1", wrongAud), "invalid audience", false, http.StatusUnauthorized},
		{"keys unavailable", goodToken(t), "token signing keys unavailable", true, http.StatusServiceUnavailable},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, nil)
			f.google.setFailing(tt.down)
			body := &watchedBody{r: strings.NewReader(string(s.body))}
			req := httptest.NewRequest(http.MethodPost, "/", body)
			if tt.token != "" {
				req.Header.Set("Authorization", "Bearer "+tt.token)
			}
			rec := httptest.NewRecorder()
			f.srv.ServeHTTP(rec, req)
			if rec.Code != tt.status {
				t.Fatalf("status %d, want %d", rec.Code, tt.status)
			}
			if body.read {
				t.Error("the body was read before authentication")
			}
			if len(f.proc.changes()) != 0 {
				t.Error("an unauthenticated delivery was processed")
			}
			logs := f.logs.String()
			if !strings.Contains(logs, `"msg":"delivery rejected"`) || !strings.Contains(logs, tt.reason) {
				t.Errorf("logs do not give the reason %q:\n%s", tt.reason, logs)
			}
			if tt.token != "" && strings.Contains(logs, tt.token[strings.LastIndex(tt.token, ".")+1:]) {
				t.Error("the token is logged")
			}
		})
	}
}

// watchedBody records whether it was read.
type watchedBody struct {
	r    io.Reader
	read bool
}

func (b *watchedBody) Read(p []byte) (int, error) {
	b.read = true
	return b.r.Read(p)
}

// TestPoison: a delivery no retry can fix is acked (200, so that Pub/Sub
// does not redeliver it until it expires), logged with its reason, and
// not processed.
func TestPoison(t *testing.T) {
	tests := []struct {
		name   string
		body   string
		header http.Header
		reason string
	}{
		{"empty", ``, nil, gcpfunc.ReasonNotDelivery},
		{"not JSON", `hello`, nil, gcpfunc.ReasonNotDelivery},
		{"an array", `[{"message":{}}]`, nil, gcpfunc.ReasonNotDelivery},
		{"an unrelated object", `{"hello":"world"}`, nil, gcpfunc.ReasonNotDelivery},
		{"message without data", `{"message":{"messageId":"1"},"subscription":"projects/p/subscriptions/s"}`, nil, string(change.ReasonMalformed)},
		{"data not base64", `{"message":{"data":"!!!","messageId":"2"}}`, nil, string(change.ReasonMalformed)},
		{"data not a LogEntry", `{"message":{"data":"aGVsbG8=","messageId":"3"}}`, nil, string(change.ReasonMalformed)},
		{"another CloudEvent type", `{"specversion":"1.0","id":"4","source":"s","type":"google.cloud.storage.object.v1.finalized","data":{}}`, nil, string(change.ReasonNotAudit)},
		{"binary mode of another type", `{"bucket":"b","name":"o"}`, http.Header{"Ce-Id": {"5"}, "Ce-Specversion": {"1.0"}, "Ce-Type": {"google.cloud.storage.object.v1.finalized"}}, string(change.ReasonNotAudit)},
		{"too large", `{"message":{"data":"` + strings.Repeat("A", 2048) + `"}}`, nil, gcpfunc.ReasonTooLarge},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, &gcpfunc.Options{MaxBody: 1024})
			rec := f.post(t, "/", goodToken(t), []byte(tt.body), tt.header)
			if rec.Code != http.StatusOK {
				t.Fatalf("status %d, want 200 (ack)", rec.Code)
			}
			if a := answerOf(t, rec); a.Outcome != gcpfunc.OutcomeDropped || a.Reason != tt.reason {
				t.Errorf("answer %+v, want dropped %s", a, tt.reason)
			}
			if len(f.proc.changes()) != 0 {
				t.Error("processed")
			}
			var found bool
			for _, l := range f.logs.lines(t) {
				if l["msg"] == "delivery dropped" && l["reason"] == tt.reason && l["detail"] != "" {
					found = true
					level := "WARN"
					if tt.reason == string(change.ReasonNotAudit) {
						level = "INFO"
					}
					if l["level"] != level {
						t.Errorf("level %v, want %s", l["level"], level)
					}
				}
			}
			if !found {
				t.Errorf("no dropped line with reason %s:\n%s", tt.reason, f.logs)
			}
		})
	}
}

// procFunc is a Processor of a function.
type procFunc func(context.Context, change.Change) (pipeline.Outcome, error)

func (p procFunc) Process(ctx context.Context, c change.Change) (pipeline.Outcome, error) {
	return p(ctx, c)
}

// panicky is a Normalizer that panics.
type panicky struct{}

func (panicky) Decode([]byte) (gcpevent.Result, error) { panic("normalizer bug") }

func (panicky) DecodeMessage([]byte, map[string]string, string, time.Time) gcpevent.Result {
	panic("normalizer bug")
}

// TestOutcomes: the status of each processor outcome: 200 processed (with
// the drift counts) or duplicate, 503 on an error (a retry can help), 500
// on a panic of the processor or the normalizer (nack: the message is
// redelivered, then dead-lettered, never lost); the processor runs under
// the handling deadline.
func TestOutcomes(t *testing.T) {
	s, _ := processable(t)
	drift := pipeline.Outcome{Resources: []pipeline.ResourceOutcome{
		{Drift: posture.Drift{Opened: []string{"gcp-bucket-public"}}, Notified: true},
		{Drift: posture.Drift{Resolved: []string{"gcp-firewall-open"}}},
	}}
	tests := []struct {
		name    string
		proc    procFunc
		norm    gcpfunc.Normalizer
		status  int
		outcome string
		want    gcpfunc.Answer
	}{
		{"drift", func(ctx context.Context, c change.Change) (pipeline.Outcome, error) {
			dl, ok := ctx.Deadline()
			if !ok || time.Until(dl) > 2*time.Second {
				return pipeline.Outcome{}, errors.New("no deadline of the Timeout option")
			}
			return drift, nil
		}, nil, http.StatusOK, gcpfunc.OutcomeProcessed, gcpfunc.Answer{Drifted: 1, Resolved: 1, Notified: 1}},
		{"duplicate", func(context.Context, change.Change) (pipeline.Outcome, error) {
			return pipeline.Outcome{Duplicate: true}, nil
		}, nil, http.StatusOK, gcpfunc.OutcomeDropped, gcpfunc.Answer{Reason: string(change.ReasonDuplicate)}},
		{"processor error", func(context.Context, change.Change) (pipeline.Outcome, error) {
			return pipeline.Outcome{}, errors.New("posture store throttled")
		}, nil, http.StatusServiceUnavailable, gcpfunc.OutcomeFailed, gcpfunc.Answer{}},
		{"processor deadline", func(ctx context.Context, c change.Change) (pipeline.Outcome, error) {
			<-ctx.Done()
			return pipeline.Outcome{}, ctx.Err()
		}, nil, http.StatusServiceUnavailable, gcpfunc.OutcomeFailed, gcpfunc.Answer{}},
		{"processor panic", func(context.Context, change.Change) (pipeline.Outcome, error) {
			panic("processor bug")
		}, nil, http.StatusInternalServerError, "", gcpfunc.Answer{}},
		{"normalizer panic", nil, panicky{}, http.StatusInternalServerError, "", gcpfunc.Answer{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			logs := &logBuffer{}
			google := newGoogleFake(t, "k1")
			var norm gcpfunc.Normalizer = newNormalizer(t)
			if tt.norm != nil {
				norm = tt.norm
			}
			var proc gcpfunc.Processor = tt.proc
			if tt.proc == nil {
				proc = &recorder{}
			}
			srv, err := gcpfunc.New(gcpfunc.Config{Normalizer: norm, Processor: proc, Auth: verifier(t, google)},
				&gcpfunc.Options{Logger: newJSONLogger(logs), Timeout: 50 * time.Millisecond})
			if err != nil {
				t.Fatal(err)
			}
			f := &fixture{srv: srv, google: google, logs: logs}
			rec := f.post(t, "/", goodToken(t), s.body, nil)
			if rec.Code != tt.status {
				t.Fatalf("status %d %s, want %d\n%s", rec.Code, rec.Body, tt.status, logs)
			}
			if tt.outcome == "" {
				if !strings.Contains(logs.String(), "bug") {
					t.Errorf("the panic is not logged:\n%s", logs)
				}
				return
			}
			a := answerOf(t, rec)
			if a.Outcome != tt.outcome || a.Reason != tt.want.Reason || a.Drifted != tt.want.Drifted ||
				a.Resolved != tt.want.Resolved || a.Notified != tt.want.Notified || a.EventID == "" {
				t.Errorf("answer %+v, want %s %+v", a, tt.outcome, tt.want)
			}
		})
	}
}

// TestRouting: only POST on "/" or the configured path.
func TestRouting(t *testing.T) {
	f := newFixture(t, &gcpfunc.Options{Path: "/push"})
	for _, tt := range []struct {
		method, path string
		status       int
	}{
		{http.MethodGet, "/", http.StatusMethodNotAllowed},
		{http.MethodPut, "/push", http.StatusMethodNotAllowed},
		{http.MethodPost, "/other", http.StatusNotFound},
		{http.MethodPost, "/push/more", http.StatusNotFound},
		{http.MethodPost, "/push", http.StatusUnauthorized},
	} {
		req := httptest.NewRequest(tt.method, tt.path, strings.NewReader("{}"))
		rec := httptest.NewRecorder()
		f.srv.ServeHTTP(rec, req)
		if rec.Code != tt.status {
			t.Errorf("%s %s: status %d, want %d", tt.method, tt.path, rec.Code, tt.status)
		}
		if rec.Code == http.StatusMethodNotAllowed && rec.Header().Get("Allow") != http.MethodPost {
			t.Errorf("%s %s: Allow %q", tt.method, tt.path, rec.Header().Get("Allow"))
		}
	}
}

func TestNew(t *testing.T) {
	google := newGoogleFake(t, "k1")
	auth := verifier(t, google)
	norm := newNormalizer(t)
	for _, tt := range []struct {
		name string
		cfg  gcpfunc.Config
		opts *gcpfunc.Options
		want string
	}{
		{"no processor", gcpfunc.Config{Normalizer: norm, Auth: auth}, nil, "gcpfunc: a server needs a normalizer, a processor and an authenticator"},
		{"no auth", gcpfunc.Config{Normalizer: norm, Processor: &recorder{}}, nil, "gcpfunc: a server needs a normalizer, a processor and an authenticator"},
		{"relative path", gcpfunc.Config{Normalizer: norm, Processor: &recorder{}, Auth: auth}, &gcpfunc.Options{Path: "push"}, `gcpfunc: path "push" does not start with /`},
	} {
		if _, err := gcpfunc.New(tt.cfg, tt.opts); err == nil || err.Error() != tt.want {
			t.Errorf("%s: %v, want %q", tt.name, err, tt.want)
		}
	}
}
