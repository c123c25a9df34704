package slackrec_test

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/slack-go/slack"

	"github.com/driftwatch/driftwatch/shared/slackalert/slackrec"
)

const token = "xoxb-test-token"

func start(t *testing.T) (*slackrec.Recorder, *slack.Client) {
	t.Helper()
	rec := slackrec.Start()
	t.Cleanup(rec.Close)
	return rec, rec.Client(token)
}

func TestConcurrentPostsGetUniqueIncreasingTS(t *testing.T) {
	rec, api := start(t)
	const n = 64
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		wg.Go(func() {
			ch := "C1"
			if i%2 == 1 {
				ch = "C2"
			}
			if _, _, err := api.PostMessageContext(t.Context(), ch, slack.MsgOptionText("hello", false)); err != nil {
				errs <- err
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	calls := rec.Calls()
	if len(calls) != n {
		t.Fatalf("%d calls, want %d", len(calls), n)
	}
	tsFormat := regexp.MustCompile(`^\d{10}\.\d{6}$`)
	seen := map[string]bool{}
	for i, c := range calls {
		if !tsFormat.MatchString(c.TS) || seen[c.TS] {
			t.Errorf("call %d: ts %q malformed or duplicate", i, c.TS)
		}
		seen[c.TS] = true
		if i > 0 && c.TS <= calls[i-1].TS {
			t.Errorf("call %d: ts %s not after %s", i, c.TS, calls[i-1].TS)
		}
	}
	if got := len(rec.Messages()); got != n {
		t.Errorf("%d messages, want %d", got, n)
	}
}

func TestFirstTS(t *testing.T) {
	_, api := start(t)
	_, ts, err := api.PostMessageContext(t.Context(), "C1", slack.MsgOptionText("x", false))
	if err != nil {
		t.Fatal(err)
	}
	if ts != "1700000000.000100" {
		t.Errorf("first ts = %s, want 1700000000.000100", ts)
	}
}

func TestMessageState(t *testing.T) {
	rec, api := start(t)
	ctx := t.Context()
	blocks := slack.MsgOptionBlocks(slack.NewSectionBlock(slack.NewTextBlockObject(slack.MarkdownType, "*v1*", false, false), nil, nil))
	ch, ts, err := api.PostMessageContext(ctx, "C1", slack.MsgOptionText("v1", false), blocks)
	if err != nil {
		t.Fatal(err)
	}
	if ch != "C1" {
		t.Errorf("channel = %s, want C1", ch)
	}
	original, _ := rec.Message(ts)

	// A chat.update without blocks keeps them, as Slack does.
	if _, _, _, err := api.UpdateMessageContext(ctx, "C1", ts, slack.MsgOptionText("v2", false)); err != nil {
		t.Fatal(err)
	}
	m, ok := rec.Message(ts)
	if !ok || m.Text != "v2" || string(m.Blocks) != string(original.Blocks) || m.Updates != 1 {
		t.Errorf("after text update: %+v", m)
	}
	v3 := slack.NewSectionBlock(slack.NewTextBlockObject(slack.MarkdownType, "*v3*", false, false), nil, nil)
	if _, _, _, err := api.UpdateMessageContext(ctx, "C1", ts, slack.MsgOptionBlocks(v3)); err != nil {
		t.Fatal(err)
	}
	m, _ = rec.Message(ts)
	if m.Text != "v2" || !strings.Contains(string(m.Blocks), "*v3*") || m.Updates != 2 {
		t.Errorf("after blocks update: %+v", m)
	}

	// Thread replies hang under their parent.
	if _, _, err := api.PostMessageContext(ctx, "C1", slack.MsgOptionTS(ts), slack.MsgOptionText("r1", false)); err != nil {
		t.Fatal(err)
	}
	if _, _, err := api.PostMessageContext(ctx, "C1", slack.MsgOptionTS(ts), slack.MsgOptionText("r2", false)); err != nil {
		t.Fatal(err)
	}
	replies := rec.Replies(ts)
	if len(replies) != 2 || replies[0].Text != "r1" || replies[1].Text != "r2" || replies[0].ThreadTS != ts {
		t.Errorf("replies = %+v", replies)
	}

	// Ephemeral messages are calls, not messages.
	ets, err := api.PostEphemeralContext(ctx, "C1", "U1", slack.MsgOptionText("only you", false))
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := rec.Message(ets); ok {
		t.Error("ephemeral message stored as a message")
	}
	calls := rec.Calls()
	last := calls[len(calls)-1]
	if last.Method != slackrec.MethodPostEphemeral || last.User != "U1" || last.TS != ets || !last.OK() {
		t.Errorf("ephemeral call = %+v", last)
	}
	if got := len(rec.Messages()); got != 3 {
		t.Errorf("%d messages, want 3 (parent and two replies)", got)
	}
}

func TestSlackErrors(t *testing.T) {
	tests := []struct {
		name string
		call func(api *slack.Client) error
		want string
	}{
		{"update unknown ts", func(api *slack.Client) error {
			_, _, _, err := api.UpdateMessage("C1", "1.000000", slack.MsgOptionText("x", false))
			return err
		}, "message_not_found"},
		{"reply to unknown thread", func(api *slack.Client) error {
			_, _, err := api.PostMessage("C1", slack.MsgOptionTS("1.000000"), slack.MsgOptionText("x", false))
			return err
		}, "thread_not_found"},
		{"empty message", func(api *slack.Client) error {
			_, _, err := api.PostMessage("C1")
			return err
		}, "no_text"},
		{"no channel", func(api *slack.Client) error {
			_, _, err := api.PostMessage("", slack.MsgOptionText("x", false))
			return err
		}, "channel_not_found"},
		{"ephemeral without user", func(api *slack.Client) error {
			_, err := api.PostEphemeral("C1", "", slack.MsgOptionText("x", false))
			return err
		}, "user_not_found"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec, api := start(t)
			err := tt.call(api)
			var se slack.SlackErrorResponse
			if !errors.As(err, &se) || se.Err != tt.want {
				t.Fatalf("err = %v, want Slack error %s", err, tt.want)
			}
			calls := rec.Calls()
			if len(calls) != 1 || calls[0].Error != tt.want || calls[0].OK() {
				t.Errorf("recorded %+v", calls)
			}
		})
	}
}

func TestNotAuthed(t *testing.T) {
	rec := slackrec.Start()
	t.Cleanup(rec.Close)
	_, _, err := rec.Client("").PostMessage("C1", slack.MsgOptionText("x", false))
	var se slack.SlackErrorResponse
	if !errors.As(err, &se) || se.Err != "not_authed" {
		t.Errorf("err = %v, want not_authed", err)
	}
}

func TestInjectedFaults(t *testing.T) {
	rec, api := start(t)
	rec.RateLimitNext(1, 1500*time.Millisecond)
	rec.InjectNext(1, slackrec.Fault{Status: http.StatusServiceUnavailable})
	rec.FailNext(1, "channel_not_found")
	rec.InjectNext(1, slackrec.Fault{Method: slackrec.MethodUpdate, Error: "cant_update_message"})

	post := func() error {
		_, _, err := api.PostMessage("C1", slack.MsgOptionText("x", false))
		return err
	}
	var rl *slack.RateLimitedError
	if err := post(); !errors.As(err, &rl) || rl.RetryAfter != 2*time.Second {
		t.Errorf("first post: %v, want rate limited with Retry-After 2s (rounded up)", err)
	}
	var sc slack.StatusCodeError
	if err := post(); !errors.As(err, &sc) || sc.Code != http.StatusServiceUnavailable {
		t.Errorf("second post: %v, want HTTP 503", err)
	}
	var se slack.SlackErrorResponse
	if err := post(); !errors.As(err, &se) || se.Err != "channel_not_found" {
		t.Errorf("third post: %v, want channel_not_found", err)
	}
	// The update-only fault waits for an update; this post goes through.
	_, ts, err := api.PostMessage("C1", slack.MsgOptionText("x", false))
	if err != nil {
		t.Fatalf("fourth post: %v", err)
	}
	if _, _, _, err := api.UpdateMessage("C1", ts, slack.MsgOptionText("y", false)); !errors.As(err, &se) || se.Err != "cant_update_message" {
		t.Errorf("update: %v, want cant_update_message", err)
	}
	if _, _, _, err := api.UpdateMessage("C1", ts, slack.MsgOptionText("y", false)); err != nil {
		t.Errorf("update after the faults: %v", err)
	}
	var statuses []int
	for _, c := range rec.Calls() {
		statuses = append(statuses, c.Status)
	}
	if want := []int{429, 503, 200, 200, 200, 200}; !slices.Equal(statuses, want) {
		t.Errorf("statuses = %v, want %v", statuses, want)
	}
}

func TestJSONRequests(t *testing.T) {
	rec, _ := start(t)
	post := func(method, body, auth string) map[string]any {
		t.Helper()
		req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, rec.URL()+"/"+method, strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", "application/json; charset=utf-8")
		if auth != "" {
			req.Header.Set("Authorization", "Bearer "+auth)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		raw, err := io.ReadAll(resp.Body)
		if err != nil {
			t.Fatal(err)
		}
		var out map[string]any
		if err := json.Unmarshal(raw, &out); err != nil {
			t.Fatalf("%s: %v", raw, err)
		}
		return out
	}
	got := post(slackrec.MethodPostMessage, `{"channel":"C9","text":"hi","blocks":[{"type":"divider"}]}`, token)
	ts, _ := got["ts"].(string)
	if got["ok"] != true || ts == "" {
		t.Fatalf("post answered %v", got)
	}
	m, ok := rec.Message(ts)
	if !ok || m.Channel != "C9" || m.Text != "hi" || string(m.Blocks) != `[{"type":"divider"}]` {
		t.Errorf("message = %+v", m)
	}
	if got := post(slackrec.MethodPostMessage, `{"channel":"C9","text":"hi"}`, ""); got["error"] != "not_authed" {
		t.Errorf("without a token: %v", got)
	}
	if got := post(slackrec.MethodPostMessage, `{not json`, token); got["error"] != "invalid_arguments" {
		t.Errorf("malformed body: %v", got)
	}
	if got := post(slackrec.MethodUpdate, `{"channel":"C9","ts":"`+ts+`","blocks":"[oops"}`, token); got["ok"] != false {
		t.Errorf("blocks as a string of bad JSON: %v", got)
	}
	// Every recorded call must be serializable for demo output.
	if _, err := json.Marshal(rec.Calls()); err != nil {
		t.Errorf("calls do not marshal: %v", err)
	}
	for _, c := range rec.Calls() {
		if strings.Contains(c.Text, token) {
			t.Error("token recorded")
		}
	}
}

func TestViewsOpen(t *testing.T) {
	rec, api := start(t)
	modal := slack.ModalViewRequest{
		Type: slack.VTModal, CallbackID: "cb", Title: slack.NewTextBlockObject(slack.PlainTextType, "Accept risk", false, false),
		Blocks: slack.Blocks{BlockSet: []slack.Block{slack.NewSectionBlock(slack.NewTextBlockObject(slack.MarkdownType, "hi", false, false), nil, nil)}},
	}
	resp, err := api.OpenViewContext(t.Context(), "trigger-1", modal)
	if err != nil {
		t.Fatal(err)
	}
	if resp.ID != "V00000001" || resp.CallbackID != "cb" {
		t.Errorf("view %+v", resp.View)
	}
	// slack-go refuses an empty trigger itself; another client might not.
	req, err := http.NewRequest(http.MethodPost, rec.URL()+"/views.open", strings.NewReader(`{"view":{"type":"modal"}}`))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+token)
	raw, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var answer map[string]any
	json.NewDecoder(raw.Body).Decode(&answer)
	raw.Body.Close()
	if answer["ok"] != false || answer["error"] != "invalid_trigger_id" {
		t.Errorf("no trigger: %v", answer)
	}
	rec.FailNext(1, "expired_trigger_id")
	if _, err := api.OpenViewContext(t.Context(), "trigger-2", modal); err == nil || err.Error() != "expired_trigger_id" {
		t.Errorf("injected expiry: %v", err)
	}
	calls := rec.Calls()
	if len(calls) != 3 {
		t.Fatalf("%d calls, want 3", len(calls))
	}
	if calls[0].Method != slackrec.MethodViewsOpen || calls[0].TriggerID != "trigger-1" || !strings.Contains(string(calls[0].View), `"callback_id":"cb"`) || !calls[0].OK() {
		t.Errorf("calls %+v", calls)
	}
	if calls[1].OK() || calls[2].Error != "expired_trigger_id" {
		t.Errorf("failed calls %+v", calls[1:])
	}
}

func TestResponseURL(t *testing.T) {
	rec, _ := start(t)
	u := rec.ResponseURL("/T1/123/secret")
	resp, err := http.Post(u, "application/json", strings.NewReader(`{"response_type":"ephemeral","replace_original":false,"text":"You may not approve this fix."}`))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), `"ok":true`) {
		t.Fatalf("status %d body %s", resp.StatusCode, body)
	}
	calls := rec.Calls()
	want := slackrec.Call{Method: slackrec.MethodResponseURL, Path: "T1/123/secret", ResponseType: "ephemeral", Text: "You may not approve this fix.", Status: http.StatusOK}
	if len(calls) != 1 || calls[0].Method != want.Method || calls[0].Path != want.Path || calls[0].ResponseType != want.ResponseType || calls[0].Text != want.Text || !calls[0].OK() {
		t.Errorf("calls %+v, want %+v", calls, want)
	}
	if len(rec.Messages()) != 0 {
		t.Error("an ephemeral reply became a channel message")
	}
}
