package slackinteract

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/slack-go/slack"

	"github.com/driftwatch/driftwatch/shared/alert"
	"github.com/driftwatch/driftwatch/shared/internal/logbuf"
	"github.com/driftwatch/driftwatch/shared/slackalert"
	"github.com/driftwatch/driftwatch/shared/slackalert/slackrec"
	"github.com/driftwatch/driftwatch/shared/store/memstore"
)

const (
	testdata       = "../../testdata/slackinteract"
	alertTestdata  = "../../testdata/slackalert"
	testSecret     = "8f742231b10e8888abcd99yyyzzz85a5"
	fixtureChannel = "C0DRIFT001"
	fixtureTS      = "1700000000.000100"
)

// testNow is the clock of every handler under test.
var testNow = time.Date(2025, 3, 14, 3, 0, 0, 0, time.UTC)

func testRef() alert.FixRef {
	return alert.FixRef{Cloud: "aws", Account: "111122223333", ResourceID: "arn:aws:s3:::payments-exports-prod",
		RuleID: "aws_s3_bucket_acl_no_public_grants", FirstSeen: 1741921121000000000}
}

// fixture loads a payload from testdata/slackinteract as a generic JSON
// object, so a test can change any field the way Slack could send it.
func fixture(t testing.TB, name string) map[string]any {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(testdata, name))
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return m
}

// clickPayload is a block_actions payload for a click on action of the
// rendered fix_approve_buttons alert: the message carries the real blocks
// and the action the real button (its value included).
func clickPayload(t testing.TB, action string) map[string]any {
	t.Helper()
	p := fixture(t, "block_actions.json")
	raw, err := os.ReadFile(filepath.Join(alertTestdata, "fix_approve_buttons.golden.json"))
	if err != nil {
		t.Fatal(err)
	}
	var golden struct {
		Blocks []map[string]any `json:"blocks"`
	}
	if err := json.Unmarshal(raw, &golden); err != nil {
		t.Fatal(err)
	}
	p["message"].(map[string]any)["blocks"] = golden.Blocks
	act := p["actions"].([]any)[0].(map[string]any)
	for _, b := range golden.Blocks {
		if b["type"] != "actions" {
			continue
		}
		for _, e := range b["elements"].([]any) {
			el := e.(map[string]any)
			if el["action_id"] == action {
				act["action_id"], act["block_id"], act["text"] = action, b["block_id"], el["text"]
				act["value"], act["style"] = el["value"], el["style"]
				if el["url"] != nil {
					act["url"] = el["url"]
				}
				return p
			}
		}
	}
	if action == slackalert.UndoActionID {
		// The approve-mode message has no Undo; Slack would send the same
		// shape for the Undo of a fixed alert.
		act["action_id"], act["style"] = action, "danger"
		act["text"] = map[string]any{"type": "plain_text", "text": "Undo", "emoji": true}
		return p
	}
	act["action_id"] = action // an action the message does not have
	return p
}

// submissionPayload is a view_submission of the Accept risk modal with
// reason and expiry entered (nil leaves a field out of the state).
func submissionPayload(t testing.TB, reason, days *string) map[string]any {
	t.Helper()
	p := fixture(t, "view_submission.json")
	m := slackalert.AcceptRiskModal(testRef(), "S3 bucket ACL grants access to everyone", 90, fixtureChannel, fixtureTS)
	raw, err := json.Marshal(m.Blocks)
	if err != nil {
		t.Fatal(err)
	}
	var blocks []any
	if err := json.Unmarshal(raw, &blocks); err != nil {
		t.Fatal(err)
	}
	v := p["view"].(map[string]any)
	v["blocks"], v["private_metadata"] = blocks, m.PrivateMetadata
	values := map[string]any{}
	if reason != nil {
		values[slackalert.AcceptRiskReasonBlockID] = map[string]any{
			slackalert.AcceptRiskReasonActionID: map[string]any{"type": "plain_text_input", "value": *reason},
		}
	}
	if days != nil {
		values[slackalert.AcceptRiskExpiryBlockID] = map[string]any{
			slackalert.AcceptRiskExpiryActionID: map[string]any{"type": "static_select", "selected_option": map[string]any{
				"text": map[string]any{"type": "plain_text", "text": *days + " days", "emoji": true}, "value": *days,
			}},
		}
	}
	v["state"] = map[string]any{"values": values}
	return p
}

func ptr(s string) *string { return &s }

// formBody encodes a payload the way Slack posts it.
func formBody(t testing.TB, payload any) []byte {
	t.Helper()
	var js []byte
	switch p := payload.(type) {
	case string:
		js = []byte(p)
	default:
		var err error
		if js, err = json.Marshal(p); err != nil {
			t.Fatal(err)
		}
	}
	return []byte(url.Values{"payload": {string(js)}}.Encode())
}

// signed is a POST of body as Slack sends it, signed at at.
func signed(body []byte, at time.Time) *http.Request {
	r := httptest.NewRequest(http.MethodPost, "/slack/interactivity", bytes.NewReader(body))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	SignRequest(r, testSecret, at, body)
	return r
}

// recController is a test Controller: it records what the handler passed
// and answers as the test says. (The real controller is the remediation
// service's; it is tested there, end to end with this handler.)
type recController struct {
	mu      sync.Mutex
	clicks  []Click
	subs    []Submission
	reply   Reply
	err     error
	fields  map[string]string
	block   chan struct{} // when set, calls wait for it or their context
	ctxErr  chan error    // when set, receives the context's error after block
	panicky bool
}

func (c *recController) click(ctx context.Context, k Click) (Reply, error) {
	c.mu.Lock()
	c.clicks = append(c.clicks, k)
	c.mu.Unlock()
	c.wait(ctx)
	if c.panicky {
		panic("controller bug")
	}
	return c.reply, c.err
}

func (c *recController) wait(ctx context.Context) {
	if c.block == nil {
		return
	}
	select {
	case <-c.block:
	case <-ctx.Done():
	}
	if c.ctxErr != nil {
		c.ctxErr <- ctx.Err()
	}
}

func (c *recController) Remediate(ctx context.Context, k Click) (Reply, error) {
	return c.click(ctx, k)
}
func (c *recController) Undo(ctx context.Context, k Click) (Reply, error) { return c.click(ctx, k) }
func (c *recController) OpenAcceptRisk(ctx context.Context, k Click) (Reply, error) {
	return c.click(ctx, k)
}

func (c *recController) SubmitAcceptRisk(ctx context.Context, s Submission) (map[string]string, error) {
	c.mu.Lock()
	c.subs = append(c.subs, s)
	c.mu.Unlock()
	c.wait(ctx)
	return c.fields, c.err
}

func (c *recController) calls() ([]Click, []Submission) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]Click(nil), c.clicks...), append([]Submission(nil), c.subs...)
}

// logBuffer is a log sink safe for the handlers' goroutines.
type logBuffer = logbuf.Buffer

// harness is a handler with a recording controller, a real (embedded)
// replay store, the recording Slack server for response URLs and captured
// logs.
type harness struct {
	h     *Handler
	ctrl  *recController
	slack *slackrec.Recorder
	logs  *logBuffer
}

func newHarness(t testing.TB, opts *Options) *harness {
	t.Helper()
	rec := slackrec.Start()
	t.Cleanup(rec.Close)
	hs := &harness{ctrl: &recController{}, slack: rec, logs: &logBuffer{}}
	var o Options
	if opts != nil {
		o = *opts
	}
	o.Logger = slog.New(slog.NewJSONHandler(hs.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	o.Now = func() time.Time { return testNow }
	local, _ := url.Parse(rec.URL())
	o.AllowResponseURL = func(u *url.URL) bool { return u.Host == local.Host }
	h, err := NewHandler(testSecret, hs.ctrl, StoreReplays(memstore.New()), &o)
	if err != nil {
		t.Fatal(err)
	}
	hs.h = h
	return hs
}

// pointAt makes the payload's response_url the recorder's.
func (hs *harness) pointAt(p map[string]any) {
	p["response_url"] = hs.slack.ResponseURL("actions/T0DRIFT001/6123456789012/AbCdEfGhIjKlMnOpQrStUvWx")
}

// posted returns what was posted to response URLs.
func (hs *harness) posted() []slackrec.Call {
	var out []slackrec.Call
	for _, c := range hs.slack.Calls() {
		if c.Method == slackrec.MethodResponseURL {
			out = append(out, c)
		}
	}
	return out
}

func (hs *harness) serve(r *http.Request) *httptest.ResponseRecorder {
	w := httptest.NewRecorder()
	hs.h.ServeHTTP(w, r)
	return w
}

// viewAnswer decodes a view_submission answer.
func viewAnswer(t testing.TB, w *httptest.ResponseRecorder) slack.ViewSubmissionResponse {
	t.Helper()
	var v slack.ViewSubmissionResponse
	if err := json.Unmarshal(w.Body.Bytes(), &v); err != nil {
		t.Fatalf("answer %q is not a view submission response: %v", w.Body.String(), err)
	}
	return v
}

func hasLog(logs, msg string) bool { return strings.Contains(logs, `"msg":"`+msg+`"`) }
