package slackinteract

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"maps"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/driftwatch/driftwatch/shared/slackalert"
	"github.com/driftwatch/driftwatch/shared/slackalert/slackrec"
	"github.com/driftwatch/driftwatch/shared/store/memstore"
)

func TestNewHandlerRefusesIncompleteSetup(t *testing.T) {
	ctrl, replays := &recController{}, StoreReplays(memstore.New())
	tests := []struct {
		name    string
		secret  string
		ctrl    Controller
		replays Replays
		want    string
	}{
		{"no secret", "", ctrl, replays, "slackinteract: slack signing secret is empty"},
		{"no controller", "s", nil, replays, "slackinteract: nil controller"},
		{"no replay store", "s", ctrl, nil, "slackinteract: nil replay store"},
	}
	for _, tt := range tests {
		if _, err := NewHandler(tt.secret, tt.ctrl, tt.replays, nil); err == nil || err.Error() != tt.want {
			t.Errorf("%s: NewHandler error = %v, want %q", tt.name, err, tt.want)
		}
	}
}

// TestHandlerRejectsUnverified: nothing unverified reaches the controller
// or the replay store, and the answer says nothing about why.
func TestHandlerRejectsUnverified(t *testing.T) {
	body := formBody(t, clickPayload(t, slackalert.RemediateActionID))
	tests := []struct {
		name   string
		req    func() *http.Request
		status int
		reason string // logged
	}{
		{"forged signature", func() *http.Request {
			r := signed(body, testNow)
			r.Header.Set(HeaderSignature, Sign("not-our-secret", r.Header.Get(HeaderTimestamp), body))
			return r
		}, 401, "Slack signature does not match the request"},
		{"body altered after signing", func() *http.Request {
			r := signed(body, testNow)
			r.Body = httptestBody(bytes.Replace(body, []byte("alice"), []byte("mallo"), 1))
			return r
		}, 401, "Slack signature does not match the request"},
		{"stale timestamp", func() *http.Request { return signed(body, testNow.Add(-6*time.Minute)) }, 401,
			"Slack request timestamp outside the 5-minute window: signed 6m0s ago"},
		{"timestamp from the future", func() *http.Request { return signed(body, testNow.Add(6*time.Minute)) }, 401,
			"Slack request timestamp outside the 5-minute window: signed 6m0s in the future"},
		{"missing headers", func() *http.Request {
			r := signed(body, testNow)
			r.Header.Del(HeaderSignature)
			r.Header.Del(HeaderTimestamp)
			return r
		}, 401, "missing X-Slack-Signature header (0 values)"},
		{"wrong version", func() *http.Request {
			r := signed(body, testNow)
			r.Header.Set(HeaderSignature, "v1="+r.Header.Get(HeaderSignature)[3:])
			return r
		}, 401, "unsupported Slack signature version (want v0)"},
		{"oversized body", func() *http.Request {
			big := append(bytes.Clone(body), bytes.Repeat([]byte("x"), MaxBody)...)
			return signed(big, testNow)
		}, 413, "request body larger than 1 MiB: Content-Length"},
		{"GET", func() *http.Request {
			r := signed(nil, testNow)
			r.Method = http.MethodGet
			return r
		}, 405, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			hs := newHarness(t, nil)
			w := hs.serve(tt.req())
			if w.Code != tt.status {
				t.Fatalf("status %d, want %d (%s)", w.Code, tt.status, w.Body)
			}
			if got, want := w.Body.String(), http.StatusText(tt.status)+"\n"; got != want {
				t.Errorf("body %q, want %q", got, want)
			}
			if clicks, subs := hs.ctrl.calls(); len(clicks)+len(subs) > 0 {
				t.Errorf("controller called for an unverified request: %v %v", clicks, subs)
			}
			if tt.reason != "" && !strings.Contains(hs.logs.String(), tt.reason) {
				t.Errorf("log lacks %q:\n%s", tt.reason, hs.logs)
			}
			if strings.Contains(hs.logs.String(), testSecret) {
				t.Error("the signing secret was logged")
			}
			// The same request, correctly signed now, is not a replay: a
			// rejected request was never claimed.
			if tt.status == 401 {
				if w := hs.serve(signed(body, testNow)); w.Code != http.StatusOK {
					t.Errorf("valid request after a rejected one: status %d", w.Code)
				}
			}
		})
	}
}

func httptestBody(b []byte) *readCloser { return &readCloser{bytes.NewReader(b)} }

type readCloser struct{ *bytes.Reader }

func (readCloser) Close() error { return nil }

func TestHandlerRejectsReplay(t *testing.T) {
	hs := newHarness(t, nil)
	body := formBody(t, clickPayload(t, slackalert.RemediateActionID))
	first := signed(body, testNow)
	sig, ts := first.Header.Get(HeaderSignature), first.Header.Get(HeaderTimestamp)
	if w := hs.serve(first); w.Code != http.StatusOK {
		t.Fatalf("first request: status %d", w.Code)
	}
	// A captured request sent again inside the 5-minute window: same
	// body, same headers, valid signature.
	again := httptest.NewRequest(http.MethodPost, "/slack/interactivity", bytes.NewReader(body))
	again.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	again.Header.Set(HeaderSignature, sig)
	again.Header.Set(HeaderTimestamp, ts)
	w := hs.serve(again)
	if w.Code != http.StatusConflict {
		t.Fatalf("replay: status %d, want 409", w.Code)
	}
	// The same signature in upper-case hex verifies too: still a replay.
	upper := httptest.NewRequest(http.MethodPost, "/slack/interactivity", bytes.NewReader(body))
	upper.Header = again.Header.Clone()
	upper.Header.Set(HeaderSignature, "v0="+strings.ToUpper(sig[3:]))
	if w := hs.serve(upper); w.Code != http.StatusConflict {
		t.Fatalf("replay in upper-case hex: status %d, want 409", w.Code)
	}
	if clicks, _ := hs.ctrl.calls(); len(clicks) != 1 {
		t.Errorf("controller called %d times, want once", len(clicks))
	}
	if !hasLog(hs.logs.String(), "replayed slack request rejected") {
		t.Errorf("replay not logged:\n%s", hs.logs)
	}
	// Concurrent copies of one request: exactly one is handled.
	body2 := formBody(t, clickPayload(t, slackalert.UndoActionID))
	base := signed(body2, testNow)
	var wg sync.WaitGroup
	codes := make(chan int, 8)
	for range 8 {
		wg.Go(func() {
			r := httptest.NewRequest(http.MethodPost, "/slack/interactivity", bytes.NewReader(body2))
			r.Header = base.Header.Clone()
			codes <- hs.serve(r).Code
		})
	}
	wg.Wait()
	close(codes)
	ok := 0
	for c := range codes {
		switch c {
		case http.StatusOK:
			ok++
		case http.StatusConflict:
		default:
			t.Errorf("concurrent copy: status %d", c)
		}
	}
	if ok != 1 {
		t.Errorf("%d concurrent copies handled, want 1", ok)
	}
}

// downReplays is a replay store that is unreachable; the embedded store
// cannot be made to fail, and the handler's answer to that case matters.
type downReplays struct{}

func (downReplays) Claim(context.Context, string, time.Time) error {
	return errors.New("dynamodb: RequestError: send request failed: dial tcp: i/o timeout")
}

func TestHandlerFailsClosedWhenReplayStoreIsDown(t *testing.T) {
	ctrl := &recController{}
	var logs logBuffer
	h, err := NewHandler(testSecret, ctrl, downReplays{}, &Options{Now: func() time.Time { return testNow }, Logger: newLogger(&logs)})
	if err != nil {
		t.Fatal(err)
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, signed(formBody(t, clickPayload(t, slackalert.RemediateActionID)), testNow))
	if w.Code != http.StatusServiceUnavailable || strings.Contains(w.Body.String(), "dynamodb") {
		t.Errorf("status %d, body %q: want 503 without internals", w.Code, w.Body)
	}
	if clicks, _ := ctrl.calls(); len(clicks) > 0 {
		t.Error("controller called without replay protection")
	}
	if !strings.Contains(logs.String(), "i/o timeout") {
		t.Errorf("cause not logged:\n%s", logs.String())
	}
}

func TestHandlerRoutesClicks(t *testing.T) {
	tests := []struct {
		action   string
		wantCall bool
	}{
		{slackalert.RemediateActionID, true},
		{slackalert.UndoActionID, true},
		{slackalert.AcceptRiskActionID, true},
		{slackalert.OpenConsoleActionID, false},
		{"some_other_apps_button", false},
	}
	for _, tt := range tests {
		t.Run(tt.action, func(t *testing.T) {
			hs := newHarness(t, nil)
			p := clickPayload(t, tt.action)
			w := hs.serve(signed(formBody(t, p), testNow))
			if w.Code != http.StatusOK || w.Body.Len() != 0 {
				t.Fatalf("status %d body %q, want 200 and an empty body", w.Code, w.Body)
			}
			clicks, subs := hs.ctrl.calls()
			if len(subs) > 0 {
				t.Error("a click reached SubmitAcceptRisk")
			}
			if !tt.wantCall {
				if len(clicks) > 0 {
					t.Errorf("controller called: %+v", clicks)
				}
				return
			}
			if len(clicks) != 1 {
				t.Fatalf("%d calls, want 1", len(clicks))
			}
			want := Click{
				ActionID:    tt.action,
				User:        User{ID: "U04ALICE01", Name: "alice.martin", TeamID: "T0DRIFT001"},
				TeamID:      "T0DRIFT001",
				APIAppID:    "A0DRIFT001",
				Channel:     fixtureChannel,
				MessageTS:   fixtureTS,
				TriggerID:   "6123456789012.1234567890123.8ad1f7a2b3c4d5e6f7a8b9c0d1e2f3a4",
				ResponseURL: "https://hooks.slack.com/actions/T0DRIFT001/6123456789012/AbCdEfGhIjKlMnOpQrStUvWx",
				ActionTS:    "1700000123.456789",
				Ref:         testRef(),
			}
			if clicks[0] != want {
				t.Errorf("click =\n%+v\nwant\n%+v", clicks[0], want)
			}
		})
	}
}

// TestHandlerRoutesEachActionToItsMethod checks the method, not only that
// some method ran.
func TestHandlerRoutesEachActionToItsMethod(t *testing.T) {
	for action, want := range map[string]string{
		slackalert.RemediateActionID:  "Remediate",
		slackalert.UndoActionID:       "Undo",
		slackalert.AcceptRiskActionID: "OpenAcceptRisk",
	} {
		c := &methodController{}
		h, err := NewHandler(testSecret, c, StoreReplays(memstore.New()), &Options{Now: func() time.Time { return testNow }})
		if err != nil {
			t.Fatal(err)
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, signed(formBody(t, clickPayload(t, action)), testNow))
		if w.Code != http.StatusOK || c.called != want {
			t.Errorf("%s: status %d, called %q, want %q", action, w.Code, c.called, want)
		}
	}
}

// methodController records which method ran.
type methodController struct{ called string }

func (m *methodController) Remediate(context.Context, Click) (Reply, error) {
	m.called = "Remediate"
	return Reply{}, nil
}
func (m *methodController) Undo(context.Context, Click) (Reply, error) {
	m.called = "Undo"
	return Reply{}, nil
}
func (m *methodController) OpenAcceptRisk(context.Context, Click) (Reply, error) {
	m.called = "OpenAcceptRisk"
	return Reply{}, nil
}
func (m *methodController) SubmitAcceptRisk(context.Context, Submission) (map[string]string, error) {
	m.called = "SubmitAcceptRisk"
	return nil, nil
}

func TestHandlerRejectsMalformedClicks(t *testing.T) {
	edit := func(f func(p, act map[string]any)) func(testing.TB) any {
		return func(t testing.TB) any {
			p := clickPayload(t, slackalert.RemediateActionID)
			f(p, p["actions"].([]any)[0].(map[string]any))
			return p
		}
	}
	tests := []struct {
		name    string
		payload func(testing.TB) any
		ctype   string
		status  int
		reason  string
	}{
		{"not form-encoded", func(t testing.TB) any { return clickPayload(t, slackalert.RemediateActionID) }, "application/json", 415,
			`content type is not application/x-www-form-urlencoded: \"application/json\"`},
		{"payload not JSON", func(testing.TB) any { return "{not json" }, "", 400, "decoding payload JSON"},
		{"payload without type", func(testing.TB) any { return `{"actions":[]}` }, "", 400, "payload has no type"},
		{"no action", edit(func(p, _ map[string]any) { p["actions"] = []any{} }), "", 400, "want one block action, got 0"},
		{"two actions", edit(func(p, act map[string]any) { p["actions"] = []any{act, act} }), "", 400, "want one block action, got 2"},
		{"value tampered", edit(func(_, act map[string]any) { act["value"] = `{"c":"aws","a":"111122223333"}` }), "", 400,
			`invalid driftwatch button value: missing key \"k\"`},
		{"value not ours", edit(func(_, act map[string]any) { act["value"] = "click_me_123" }), "", 400,
			"invalid driftwatch button value: not a JSON object"},
		{"block not a fix block", edit(func(_, act map[string]any) { act["block_id"] = "driftwatch_actions" }), "", 400,
			`block_id \"driftwatch_actions\" is not a fix block`},
		{"button in a modal", edit(func(p, _ map[string]any) {
			p["container"] = map[string]any{"type": "view", "view_id": "V123"}
		}), "", 400, `container type \"view\" is not a message`},
		{"no user", edit(func(p, _ map[string]any) { delete(p, "user") }), "", 400, "missing or malformed user id"},
		{"user id with markup", edit(func(p, _ map[string]any) { p["user"].(map[string]any)["id"] = "<!channel>" }), "", 400, "missing or malformed user id"},
		{"no channel", edit(func(p, _ map[string]any) {
			delete(p["container"].(map[string]any), "channel_id")
			delete(p, "channel")
		}), "", 400, "missing or malformed channel id"},
		{"no message ts", edit(func(p, _ map[string]any) {
			delete(p["container"].(map[string]any), "message_ts")
			delete(p["message"].(map[string]any), "ts")
		}), "", 400, "missing or malformed message ts"},
		{"accept risk without trigger", func(t testing.TB) any {
			p := clickPayload(t, slackalert.AcceptRiskActionID)
			delete(p, "trigger_id")
			return p
		}, "", 400, "accept risk click without trigger_id"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			hs := newHarness(t, nil)
			r := signed(formBody(t, tt.payload(t)), testNow)
			if tt.ctype != "" {
				r.Header.Set("Content-Type", tt.ctype)
			}
			w := hs.serve(r)
			if w.Code != tt.status {
				t.Fatalf("status %d, want %d", w.Code, tt.status)
			}
			if clicks, subs := hs.ctrl.calls(); len(clicks)+len(subs) > 0 {
				t.Errorf("controller called: %+v %+v", clicks, subs)
			}
			if !strings.Contains(hs.logs.String(), tt.reason) {
				t.Errorf("log lacks %q:\n%s", tt.reason, hs.logs)
			}
		})
	}
}

func TestHandlerQueryStringIsNotAPayload(t *testing.T) {
	hs := newHarness(t, nil)
	// Signed empty body; a payload smuggled into the unsigned URL.
	r := signed([]byte(""), testNow)
	r.URL.RawQuery = url.Values{"payload": {`{"type":"view_submission"}`}}.Encode()
	if w := hs.serve(r); w.Code != http.StatusBadRequest {
		t.Errorf("status %d, want 400", w.Code)
	}
}

func TestHandlerEphemeralReplies(t *testing.T) {
	tests := []struct {
		name     string
		reply    Reply
		err      error
		panicky  bool
		wantText string // "" when nothing is posted
		wantLog  string
	}{
		{"refusal", Reply{Ephemeral: "You caused this drift, so you cannot approve its fix. <!channel> *ask* someone else."}, nil, false,
			"You caused this drift, so you cannot approve its fix. &lt;!channel&gt; ∗ask∗ someone else.", "slack click handled"},
		{"silent success", Reply{}, nil, false, "", "slack click handled"},
		{"controller error", Reply{}, errors.New("conditional check failed on rem-abc: version 3"), false, MsgClickFailed, "version 3"},
		{"controller panic", Reply{}, nil, true, MsgClickFailed, "controller panic: controller bug"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			hs := newHarness(t, nil)
			hs.ctrl.reply, hs.ctrl.err, hs.ctrl.panicky = tt.reply, tt.err, tt.panicky
			p := clickPayload(t, slackalert.RemediateActionID)
			hs.pointAt(p)
			w := hs.serve(signed(formBody(t, p), testNow))
			if w.Code != http.StatusOK || w.Body.Len() != 0 {
				t.Fatalf("status %d body %q: want 200, empty (never the internal error)", w.Code, w.Body)
			}
			posted := hs.posted()
			if tt.wantText == "" {
				if len(posted) > 0 {
					t.Errorf("posted %+v", posted)
				}
			} else {
				if len(posted) != 1 {
					t.Fatalf("%d posts to response_url, want 1", len(posted))
				}
				want := slackrec.Call{Method: slackrec.MethodResponseURL, ResponseType: "ephemeral", Text: tt.wantText,
					Path: "actions/T0DRIFT001/6123456789012/AbCdEfGhIjKlMnOpQrStUvWx", Status: http.StatusOK}
				if got := posted[0]; got.ResponseType != want.ResponseType || got.ReplaceOriginal || got.Text != want.Text || got.Path != want.Path || !got.OK() {
					t.Errorf("posted %+v\nwant   %+v", got, want)
				}
			}
			if !strings.Contains(hs.logs.String(), tt.wantLog) {
				t.Errorf("log lacks %q:\n%s", tt.wantLog, hs.logs)
			}
			if strings.Contains(hs.logs.String(), "AbCdEfGhIjKlMnOpQrStUvWx") {
				t.Error("the response_url path was logged")
			}
		})
	}
}

func TestHandlerResponseURLAllowList(t *testing.T) {
	hs := newHarness(t, nil)
	hs.ctrl.reply = Reply{Ephemeral: "no"}
	// The default allow-list: only Slack's hooks hosts over https.
	for u, want := range map[string]bool{
		"https://hooks.slack.com/actions/T/1/x":     true,
		"https://hooks.slack-gov.com/actions/T/1/x": true,
		"http://hooks.slack.com/actions/T/1/x":      false,
		"https://hooks.slack.com:8443/actions/T/1/": false,
		"https://evil.example/hooks.slack.com":      false,
		"https://hooks.slack.com.evil.example/x":    false,
		"https://user:pw@hooks.slack.com/x":         false,
		"http://169.254.169.254/latest/meta-data/":  false,
	} {
		parsed, err := url.Parse(u)
		if err != nil {
			t.Fatal(err)
		}
		if got := slackHooksOnly(parsed); got != want {
			t.Errorf("slackHooksOnly(%s) = %v, want %v", u, got, want)
		}
	}
	// A response_url the handler may not call: nothing is posted.
	p := clickPayload(t, slackalert.RemediateActionID)
	p["response_url"] = "http://169.254.169.254/latest/meta-data/"
	if w := hs.serve(signed(formBody(t, p), testNow)); w.Code != http.StatusOK {
		t.Fatalf("status %d", w.Code)
	}
	if len(hs.posted()) > 0 || !hasLog(hs.logs.String(), "ephemeral reply not sent: response_url missing or not allowed") {
		t.Errorf("posted %v; log:\n%s", hs.posted(), hs.logs)
	}
}

// TestHandlerAcksSlowController: a controller that does not return in
// time does not hold the answer; it is told to stop (its context ends)
// and the miss is logged clearly.
func TestHandlerAcksSlowController(t *testing.T) {
	t.Run("click", func(t *testing.T) {
		hs := newHarness(t, &Options{AckTimeout: 50 * time.Millisecond})
		hs.ctrl.block = make(chan struct{}) // never released
		hs.ctrl.ctxErr = make(chan error, 1)
		hs.ctrl.reply = Reply{Ephemeral: "late"}
		p := clickPayload(t, slackalert.RemediateActionID)
		hs.pointAt(p)
		w := hs.serve(signed(formBody(t, p), testNow))
		if w.Code != http.StatusOK || w.Body.Len() != 0 {
			t.Fatalf("status %d body %q", w.Code, w.Body)
		}
		if err := <-hs.ctrl.ctxErr; !errors.Is(err, context.DeadlineExceeded) && !errors.Is(err, context.Canceled) {
			t.Errorf("controller context ended with %v", err)
		}
		if !hasLog(hs.logs.String(), "controller missed the slack ack deadline; acknowledged without its answer") ||
			!strings.Contains(hs.logs.String(), `"deadline":50000000`) {
			t.Errorf("miss not logged clearly:\n%s", hs.logs)
		}
		if len(hs.posted()) > 0 {
			t.Error("the late controller's reply was posted")
		}
	})
	t.Run("submission", func(t *testing.T) {
		hs := newHarness(t, &Options{AckTimeout: 50 * time.Millisecond})
		hs.ctrl.block = make(chan struct{})
		w := hs.serve(signed(formBody(t, submissionPayload(t, ptr("ok"), ptr("30"))), testNow))
		v := viewAnswer(t, w)
		if v.ResponseAction != "errors" || v.Errors[slackalert.AcceptRiskReasonBlockID] != MsgSubmitFailed {
			t.Errorf("answer %+v: want the modal kept open with %q", v, MsgSubmitFailed)
		}
		if !hasLog(hs.logs.String(), "controller missed the slack ack deadline; asked the user to retry") {
			t.Errorf("miss not logged:\n%s", hs.logs)
		}
	})
}

func TestHandlerViewSubmission(t *testing.T) {
	R, E := slackalert.AcceptRiskReasonBlockID, slackalert.AcceptRiskExpiryBlockID
	tests := []struct {
		name       string
		payload    func(testing.TB) any
		fields     map[string]string // the controller's field errors
		err        error
		wantErrors map[string]string // nil: 200 with an empty body
		wantCall   bool
	}{
		{"accepted", func(t testing.TB) any {
			return submissionPayload(t, ptr("Public dataset by design (DATA-12)."), ptr("30"))
		},
			nil, nil, nil, true},
		{"missing reason and expiry", func(t testing.TB) any { return submissionPayload(t, nil, nil) },
			nil, nil, map[string]string{R: slackalert.MsgReasonRequired, E: slackalert.MsgExpiryRequired}, false},
		{"reason too long", func(t testing.TB) any { return submissionPayload(t, ptr(strings.Repeat("x", 1001)), ptr("7")) },
			nil, nil, map[string]string{R: slackalert.MsgReasonTooLong}, false},
		{"expiry not offered", func(t testing.TB) any { return submissionPayload(t, ptr("ok"), ptr("3650")) },
			nil, nil, map[string]string{E: slackalert.MsgExpiryInvalid}, false},
		{"governance refuses the expiry", func(t testing.TB) any { return submissionPayload(t, ptr("ok"), ptr("90")) },
			map[string]string{E: "At most 30 days for critical findings in payments-prod."}, nil,
			map[string]string{E: "At most 30 days for critical findings in payments-prod."}, true},
		{"controller error on an unknown field", func(t testing.TB) any { return submissionPayload(t, ptr("ok"), ptr("7")) },
			map[string]string{"approver": "Only the security team may accept critical risks."}, nil,
			map[string]string{R: "Only the security team may accept critical risks."}, true},
		{"controller error", func(t testing.TB) any { return submissionPayload(t, ptr("ok"), ptr("7")) },
			nil, errors.New("dynamodb: ProvisionedThroughputExceededException"), map[string]string{R: MsgSubmitFailed}, true},
		{"metadata tampered", func(t testing.TB) any {
			p := submissionPayload(t, ptr("ok"), ptr("7"))
			p["view"].(map[string]any)["private_metadata"] = `{"ref":{"c":"aws"},"channel":"C0DRIFT001","ts":"1700000000.000100"}`
			return p
		}, nil, nil, map[string]string{R: MsgSubmitFailed}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			hs := newHarness(t, nil)
			hs.ctrl.fields, hs.ctrl.err = tt.fields, tt.err
			w := hs.serve(signed(formBody(t, tt.payload(t)), testNow))
			if w.Code != http.StatusOK {
				t.Fatalf("status %d", w.Code)
			}
			if tt.wantErrors == nil {
				if w.Body.Len() != 0 {
					t.Errorf("body %q, want empty (closes the modal)", w.Body)
				}
			} else {
				v := viewAnswer(t, w)
				if v.ResponseAction != "errors" || !maps.Equal(v.Errors, tt.wantErrors) {
					t.Errorf("answer %+v, want errors %v", v, tt.wantErrors)
				}
				if strings.Contains(w.Body.String(), "dynamodb") {
					t.Error("internal error sent to Slack")
				}
			}
			_, subs := hs.ctrl.calls()
			if (len(subs) == 1) != tt.wantCall || len(subs) > 1 {
				t.Fatalf("%d submissions reached the controller, want call=%v", len(subs), tt.wantCall)
			}
			if !tt.wantCall {
				return
			}
			got := subs[0]
			if got.User != (User{ID: "U07CAROL01", Name: "carol.diaz", TeamID: "T0DRIFT001"}) || got.TeamID != "T0DRIFT001" || got.ViewID != "V0ACCEPT01" {
				t.Errorf("submission %+v", got)
			}
			ar := got.AcceptRisk
			if ar.Ref != testRef() || ar.Channel != fixtureChannel || ar.TS != fixtureTS || ar.Days == 0 || ar.Reason == "" {
				t.Errorf("accept risk %+v", ar)
			}
		})
	}
}

func TestHandlerIgnoresOtherInteractions(t *testing.T) {
	hs := newHarness(t, nil)
	other := submissionPayload(t, ptr("ok"), ptr("7"))
	other["view"].(map[string]any)["callback_id"] = "meal_choice"
	closed := map[string]any{"type": "view_closed", "team": map[string]any{"id": "T0DRIFT001"},
		"user": map[string]any{"id": "U07CAROL01"}, "view": map[string]any{"id": "V0ACCEPT01", "callback_id": slackalert.AcceptRiskCallbackID}, "is_cleared": false}
	shortcut := map[string]any{"type": "shortcut", "callback_id": "x", "trigger_id": "1.2.3", "user": map[string]any{"id": "U07CAROL01"}}
	for name, p := range map[string]any{"other modal": other, "view closed": closed, "shortcut": shortcut} {
		w := hs.serve(signed(formBody(t, p), testNow))
		if w.Code != http.StatusOK || w.Body.Len() != 0 {
			t.Errorf("%s: status %d body %q", name, w.Code, w.Body)
		}
	}
	if clicks, subs := hs.ctrl.calls(); len(clicks)+len(subs) > 0 {
		t.Errorf("controller called: %v %v", clicks, subs)
	}
}

// FuzzHandlerPayload: whatever a verified request carries, the handler
// answers with one of its documented statuses, never panics, and only
// hands the controller clicks and submissions that passed validation.
func FuzzHandlerPayload(f *testing.F) {
	for _, a := range []string{slackalert.RemediateActionID, slackalert.UndoActionID, slackalert.AcceptRiskActionID, slackalert.OpenConsoleActionID} {
		f.Add(string(jsonOf(f, clickPayload(f, a))))
	}
	f.Add(string(jsonOf(f, submissionPayload(f, ptr("Accepted until the migration (CHG-1)."), ptr("30")))))
	f.Add(string(jsonOf(f, submissionPayload(f, nil, ptr("90")))))
	f.Add(`{"type":"view_closed"}`)
	f.Add(`{"type":"block_actions","actions":[{"block_id":"driftwatch_fix:x","action_id":"driftwatch_remediate","value":"{}"}]}`)
	f.Add(`{"type":"block_actions","actions":[{"action_id":"driftwatch_undo"}]}`)
	f.Add(`[]`)
	f.Fuzz(func(t *testing.T, payload string) {
		// A fresh handler per input: the inputs are independent requests.
		ctrl := &recController{}
		h, err := NewHandler(testSecret, ctrl, StoreReplays(memstore.New()), &Options{Now: func() time.Time { return testNow }})
		if err != nil {
			t.Fatal(err)
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, signed(formBody(t, payload), testNow))
		switch w.Code {
		case http.StatusOK, http.StatusBadRequest:
		default:
			t.Fatalf("status %d for %q", w.Code, payload)
		}
		clicks, subs := ctrl.calls()
		for _, c := range clicks {
			if slackalert.EncodeFixValue(c.Ref) == "" || !slackalert.ValidSlackID(c.User.ID) || !slackalert.ValidSlackID(c.Channel) || !slackalert.ValidSlackTS(c.MessageTS) {
				t.Fatalf("invalid click reached the controller: %+v", c)
			}
		}
		for _, s := range subs {
			if s.AcceptRisk.Days < 1 || s.AcceptRisk.Reason == "" || !slackalert.ValidSlackID(s.User.ID) {
				t.Fatalf("invalid submission reached the controller: %+v", s)
			}
		}
	})
}

// BenchmarkHandlerAck is the interactivity ack latency: a signed click,
// verified, claimed against the embedded replay store, parsed, routed to
// a controller that returns at once, answered. Each iteration signs a new
// request (one more HMAC over the body, as costly as the verification) so
// that none is a replay; a counter in an extra form field, which the
// handler ignores, makes each body distinct.
func BenchmarkHandlerAck(b *testing.B) {
	h, err := NewHandler(testSecret, &methodController{}, StoreReplays(memstore.New()), &Options{Now: func() time.Time { return testNow }})
	if err != nil {
		b.Fatal(err)
	}
	base := string(formBody(b, clickPayload(b, slackalert.RemediateActionID)))
	b.ReportAllocs()
	b.SetBytes(int64(len(base)))
	i := 0
	for b.Loop() {
		i++
		body := []byte(base + "&n=" + strconv.Itoa(i))
		w := httptest.NewRecorder()
		h.ServeHTTP(w, signed(body, testNow))
		if w.Code != http.StatusOK {
			b.Fatalf("status %d", w.Code)
		}
	}
}

func jsonOf(t testing.TB, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func newLogger(w io.Writer) *slog.Logger {
	return slog.New(slog.NewJSONHandler(w, &slog.HandlerOptions{Level: slog.LevelDebug}))
}
