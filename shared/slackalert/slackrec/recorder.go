// Package slackrec is a recording Slack Web API server for tests and the
// local demo. It is built on slack-go's slacktest server with its own
// handlers for chat.postMessage, chat.update, chat.postEphemeral and
// views.open, plus interaction response URLs (ResponseURL): each call is
// recorded, every message gets a unique, increasing ts, the current state
// of each message is kept (so a test can ask what message X shows now),
// and the next calls can be told to fail with a rate limit, an HTTP status
// or a Slack error code.
//
// It is a hand-written fake because no emulator for the Slack Web API
// exists; it answers in Slack's wire format so the real slack-go client is
// exercised end to end.
package slackrec

import (
	"cmp"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"mime"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/slack-go/slack"
	"github.com/slack-go/slack/slacktest"
)

// Recorded Slack methods.
const (
	// MethodPostMessage posts a message or a thread reply.
	MethodPostMessage = "chat.postMessage"
	// MethodUpdate rewrites a posted message.
	MethodUpdate = "chat.update"
	// MethodPostEphemeral shows a message to one user only.
	MethodPostEphemeral = "chat.postEphemeral"
	// MethodViewsOpen opens a modal for the user whose click gave the
	// trigger_id.
	MethodViewsOpen = "views.open"
	// MethodResponseURL is a POST to an interaction's response_url (not a
	// Web API method: a webhook Slack hands out per click).
	MethodResponseURL = "response_url"
)

// responsePath prefixes the recorder's response URLs.
const responsePath = "/interaction-response/"

// firstTS is the first ts handed out, in microseconds. Slack's ts is
// "<unix seconds>.<6 digits>" and unique per channel; slacktest's default
// uses whole seconds, so two posts within a second collide.
const (
	firstTS = 1_700_000_000_000_100
	tsStep  = 100
)

// Call is one recorded API call.
type Call struct {
	Method  string `json:"method"`
	Channel string `json:"channel"`
	// TS is the ts answered for a post, or the ts targeted by an update.
	TS       string `json:"ts,omitempty"`
	ThreadTS string `json:"thread_ts,omitempty"`
	// User is the recipient of an ephemeral message.
	User   string          `json:"user,omitempty"`
	Text   string          `json:"text,omitempty"`
	Blocks json.RawMessage `json:"blocks,omitempty"`
	// TriggerID and View are a views.open call's trigger and modal.
	TriggerID string          `json:"trigger_id,omitempty"`
	View      json.RawMessage `json:"view,omitempty"`
	// ResponseType ("ephemeral", "in_channel") and Path (what follows
	// ResponseURL's prefix) describe a post to a response URL;
	// ReplaceOriginal is its replace_original flag.
	ResponseType    string `json:"response_type,omitempty"`
	ReplaceOriginal bool   `json:"replace_original,omitempty"`
	Path            string `json:"path,omitempty"`
	// Status is the HTTP status answered; Error is the Slack error code
	// when the answer was ok:false or a rate limit.
	Status int    `json:"status"`
	Error  string `json:"error,omitempty"`
}

// OK reports whether the call succeeded.
func (c Call) OK() bool { return c.Status == http.StatusOK && c.Error == "" }

// Message is the current state of a posted message.
type Message struct {
	Channel string `json:"channel"`
	TS      string `json:"ts"`
	// ThreadTS is the parent's ts for a thread reply, empty otherwise.
	ThreadTS string          `json:"thread_ts,omitempty"`
	Text     string          `json:"text"`
	Blocks   json.RawMessage `json:"blocks,omitempty"`
	// Updates counts the chat.update calls applied to the message.
	Updates int `json:"updates"`
}

// Fault is how the recorder answers an injected failure.
type Fault struct {
	// Status is the HTTP status (default 200 with ok:false when Error is
	// set, 429 for RateLimitNext).
	Status int
	// RetryAfter sets the Retry-After header, rounded up to whole seconds
	// as Slack sends it.
	RetryAfter time.Duration
	// Error is the Slack error code answered with ok:false.
	Error string
	// Method limits the fault to one method (MethodUpdate, ...); empty
	// matches any recorded method.
	Method string
}

// Recorder is a running recording server. It is safe for concurrent use.
type Recorder struct {
	srv *slacktest.Server

	mu     sync.Mutex
	calls  []Call
	msgs   map[string]*Message // by ts
	order  []string            // ts of messages in post order
	nextTS int64
	views  int
	faults []Fault
	dir    directory
}

// Start starts a recorder on a local port. Close it when done.
func Start() *Recorder {
	r := &Recorder{msgs: map[string]*Message{}, nextTS: firstTS,
		dir: directory{users: map[string]dirUser{}, groups: map[string]dirGroup{}}}
	// Binders run before slacktest registers its defaults, and the first
	// registration of a pattern wins, so these replace slacktest's handlers.
	r.srv = slacktest.NewTestServer(func(c slacktest.Customize) {
		c.Handle("/"+MethodPostMessage, r.handler(MethodPostMessage))
		c.Handle("/"+MethodUpdate, r.handler(MethodUpdate))
		c.Handle("/"+MethodPostEphemeral, r.handler(MethodPostEphemeral))
		c.Handle("/"+MethodViewsOpen, r.handler(MethodViewsOpen))
		c.Handle(responsePath, r.handler(MethodResponseURL))
		c.Handle("/"+MethodUsersInfo, r.usersInfo)
		c.Handle("/"+MethodUserGroupsList, r.userGroupsList)
	})
	r.srv.Start()
	return r
}

// URL is the server's base URL without a trailing slash; slack-go wants
// slack.OptionAPIURL(URL() + "/").
func (r *Recorder) URL() string { return strings.TrimSuffix(r.srv.GetAPIURL(), "/") }

// Client returns a slack-go client that talks to the recorder.
func (r *Recorder) Client(token string, opts ...slack.Option) *slack.Client {
	return slack.New(token, append([]slack.Option{slack.OptionAPIURL(r.URL() + "/")}, opts...)...)
}

// ResponseURL returns a response_url for an interaction payload: posts to
// it are recorded as MethodResponseURL calls with Path id. Slack's own are
// https://hooks.slack.com/actions/…; this one is the recorder's http URL,
// so a handler must be told to allow it.
func (r *Recorder) ResponseURL(id string) string {
	return r.URL() + responsePath + strings.TrimPrefix(id, "/")
}

// Close stops the server.
func (r *Recorder) Close() { r.srv.Stop() }

// Calls returns every recorded call in arrival order, failed ones included.
func (r *Recorder) Calls() []Call {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.calls)
}

// Messages returns the current state of every message by ts, thread
// replies included.
func (r *Recorder) Messages() map[string]Message {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make(map[string]Message, len(r.msgs))
	for ts, m := range r.msgs {
		out[ts] = *m
	}
	return out
}

// Message returns what the message with ts shows now.
func (r *Recorder) Message(ts string) (Message, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	m, ok := r.msgs[ts]
	if !ok {
		return Message{}, false
	}
	return *m, true
}

// Replies returns the thread replies under the message with ts, oldest
// first.
func (r *Recorder) Replies(ts string) []Message {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []Message
	for _, t := range r.order {
		if m := r.msgs[t]; m.ThreadTS == ts {
			out = append(out, *m)
		}
	}
	return out
}

// RateLimitNext answers the next n recorded calls with HTTP 429 and
// Retry-After.
func (r *Recorder) RateLimitNext(n int, retryAfter time.Duration) {
	r.InjectNext(n, Fault{Status: http.StatusTooManyRequests, RetryAfter: retryAfter, Error: "ratelimited"})
}

// FailNext answers the next n recorded calls with ok:false and the Slack
// error code ("channel_not_found", "invalid_auth", ...).
func (r *Recorder) FailNext(n int, code string) {
	r.InjectNext(n, Fault{Error: code})
}

// InjectNext answers the next n recorded calls (of f.Method, when set) with
// f. Faults queue up in the order they are injected.
func (r *Recorder) InjectNext(n int, f Fault) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for range n {
		r.faults = append(r.faults, f)
	}
}

// request is the part of a chat.* request the recorder understands.
type request struct {
	Channel   string
	TS        string
	ThreadTS  string
	User      string
	Text      string
	HasText   bool
	Blocks    json.RawMessage
	Token     bool
	TriggerID string
	View      json.RawMessage
	// For response URLs.
	ResponseType    string
	ReplaceOriginal bool
	Path            string
}

func (r *Recorder) handler(method string) http.HandlerFunc {
	return func(w http.ResponseWriter, req *http.Request) {
		in, err := parseRequest(req)
		if method == MethodResponseURL {
			in.Path = strings.TrimPrefix(req.URL.Path, responsePath)
		}
		if err != nil {
			r.mu.Lock()
			r.calls = append(r.calls, Call{Method: method, Status: http.StatusOK, Error: "invalid_arguments"})
			r.mu.Unlock()
			writeJSON(w, http.StatusOK, map[string]any{"ok": false, "error": "invalid_arguments", "detail": err.Error()})
			return
		}
		status, body, header := r.serve(method, in)
		for k, v := range header {
			w.Header().Set(k, v)
		}
		writeJSON(w, status, body)
	}
}

// serve applies one call to the recorded state under the lock and returns
// the answer.
func (r *Recorder) serve(method string, in request) (int, map[string]any, map[string]string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	call := Call{Method: method, Channel: in.Channel, ThreadTS: in.ThreadTS, User: in.User, Text: in.Text, Blocks: in.Blocks, TS: in.TS,
		TriggerID: in.TriggerID, View: in.View, ResponseType: in.ResponseType, ReplaceOriginal: in.ReplaceOriginal, Path: in.Path, Status: http.StatusOK}
	fail := func(code string) (int, map[string]any, map[string]string) {
		call.Error = code
		r.calls = append(r.calls, call)
		return http.StatusOK, map[string]any{"ok": false, "error": code}, nil
	}

	if i := slices.IndexFunc(r.faults, func(f Fault) bool { return f.Method == "" || f.Method == method }); i >= 0 {
		f := r.faults[i]
		r.faults = slices.Delete(r.faults, i, i+1)
		call.Status = cmp.Or(f.Status, http.StatusOK)
		call.Error = cmp.Or(f.Error, http.StatusText(call.Status))
		r.calls = append(r.calls, call)
		var header map[string]string
		if f.RetryAfter > 0 {
			header = map[string]string{"Retry-After": strconv.Itoa(int(math.Ceil(f.RetryAfter.Seconds())))}
		}
		return call.Status, map[string]any{"ok": false, "error": call.Error}, header
	}

	switch method {
	case MethodResponseURL:
		// A response URL authorises by its path, not a token.
		if in.Text == "" && len(in.Blocks) == 0 {
			return fail("no_text")
		}
		r.calls = append(r.calls, call)
		return http.StatusOK, map[string]any{"ok": true}, nil
	case MethodViewsOpen:
		return r.openView(in, call, fail)
	}

	switch {
	case !in.Token:
		return fail("not_authed")
	case in.Channel == "":
		return fail("channel_not_found")
	case in.Blocks != nil && !blocksArray(in.Blocks):
		call.Blocks = nil // keep Calls marshalable
		return fail("invalid_blocks_format")
	}

	switch method {
	case MethodPostMessage:
		if in.Text == "" && len(in.Blocks) == 0 {
			return fail("no_text")
		}
		if in.ThreadTS != "" {
			if p, ok := r.msgs[in.ThreadTS]; !ok || p.Channel != in.Channel {
				return fail("thread_not_found")
			}
		}
		ts := r.allocTS()
		m := &Message{Channel: in.Channel, TS: ts, ThreadTS: in.ThreadTS, Text: in.Text, Blocks: in.Blocks}
		r.msgs[ts] = m
		r.order = append(r.order, ts)
		call.TS = ts
		r.calls = append(r.calls, call)
		msg := map[string]any{"type": "message", "text": in.Text, "ts": ts}
		if in.ThreadTS != "" {
			msg["thread_ts"] = in.ThreadTS
		}
		return http.StatusOK, map[string]any{"ok": true, "channel": in.Channel, "ts": ts, "message": msg}, nil

	case MethodUpdate:
		m, ok := r.msgs[in.TS]
		if in.TS == "" || !ok || m.Channel != in.Channel {
			return fail("message_not_found")
		}
		if !in.HasText && in.Blocks == nil {
			return fail("no_text")
		}
		// Like Slack: a field left out of chat.update keeps its value.
		if in.HasText {
			m.Text = in.Text
		}
		if in.Blocks != nil {
			m.Blocks = in.Blocks
		}
		m.Updates++
		r.calls = append(r.calls, call)
		return http.StatusOK, map[string]any{"ok": true, "channel": m.Channel, "ts": m.TS, "text": m.Text}, nil

	default: // MethodPostEphemeral
		if in.User == "" {
			return fail("user_not_found")
		}
		if in.Text == "" && len(in.Blocks) == 0 {
			return fail("no_text")
		}
		// Ephemeral messages are seen once by one user and cannot be
		// updated, so they are recorded as calls, not as messages.
		ts := r.allocTS()
		call.TS = ts
		r.calls = append(r.calls, call)
		return http.StatusOK, map[string]any{"ok": true, "message_ts": ts}, nil
	}
}

// openView records a views.open call and answers with the view and its
// new id; callers hold the lock.
func (r *Recorder) openView(in request, call Call, fail func(string) (int, map[string]any, map[string]string)) (int, map[string]any, map[string]string) {
	var view map[string]any
	switch {
	case !in.Token:
		return fail("not_authed")
	case in.TriggerID == "":
		return fail("invalid_trigger_id")
	case len(in.View) == 0 || json.Unmarshal(in.View, &view) != nil || view == nil:
		call.View = nil // keep Calls marshalable
		return fail("invalid_arguments")
	case view["type"] != "modal":
		return fail("invalid_arguments")
	}
	r.views++
	view["id"] = fmt.Sprintf("V%08d", r.views)
	r.calls = append(r.calls, call)
	return http.StatusOK, map[string]any{"ok": true, "view": view}, nil
}

// allocTS hands out the next ts; callers hold the lock.
func (r *Recorder) allocTS() string {
	v := r.nextTS
	r.nextTS += tsStep
	return fmt.Sprintf("%d.%06d", v/1_000_000, v%1_000_000)
}

// parseRequest reads a form-encoded request (what slack-go sends for chat.*)
// or a JSON one (what other clients send), never keeping the token.
func parseRequest(req *http.Request) (request, error) {
	var in request
	ct, _, _ := mime.ParseMediaType(req.Header.Get("Content-Type"))
	body, err := io.ReadAll(io.LimitReader(req.Body, 8<<20))
	if err != nil {
		return in, fmt.Errorf("reading body: %w", err)
	}
	in.Token = strings.HasPrefix(req.Header.Get("Authorization"), "Bearer ") && len(req.Header.Get("Authorization")) > len("Bearer ")
	if ct == "application/json" {
		var j struct {
			Channel         string          `json:"channel"`
			TS              string          `json:"ts"`
			ThreadTS        string          `json:"thread_ts"`
			User            string          `json:"user"`
			Text            *string         `json:"text"`
			Blocks          json.RawMessage `json:"blocks"`
			TriggerID       string          `json:"trigger_id"`
			View            json.RawMessage `json:"view"`
			ResponseType    string          `json:"response_type"`
			ReplaceOriginal bool            `json:"replace_original"`
		}
		if err := json.Unmarshal(body, &j); err != nil {
			return in, fmt.Errorf("decoding JSON body: %w", err)
		}
		in.Channel, in.TS, in.ThreadTS, in.User = j.Channel, j.TS, j.ThreadTS, j.User
		in.TriggerID, in.ResponseType, in.ReplaceOriginal = j.TriggerID, j.ResponseType, j.ReplaceOriginal
		if len(j.View) > 0 && string(j.View) != "null" {
			in.View = j.View
		}
		if j.Text != nil {
			in.Text, in.HasText = *j.Text, true
		}
		if len(j.Blocks) > 0 && string(j.Blocks) != "null" {
			in.Blocks = j.Blocks
			// Some clients send blocks as a string holding the JSON array.
			var s string
			if json.Unmarshal(j.Blocks, &s) == nil {
				in.Blocks = json.RawMessage(s)
			}
		}
		return in, nil
	}
	v, err := url.ParseQuery(string(body))
	if err != nil {
		return in, fmt.Errorf("decoding form body: %w", err)
	}
	in.Token = in.Token || v.Get("token") != ""
	in.Channel, in.TS, in.ThreadTS, in.User = v.Get("channel"), v.Get("ts"), v.Get("thread_ts"), v.Get("user")
	in.TriggerID = v.Get("trigger_id")
	if v.Has("view") {
		in.View = json.RawMessage(v.Get("view"))
	}
	in.Text, in.HasText = v.Get("text"), v.Has("text")
	if v.Has("blocks") {
		in.Blocks = json.RawMessage(v.Get("blocks"))
	}
	return in, nil
}

// blocksArray reports whether raw is a JSON array, as Slack requires.
func blocksArray(raw json.RawMessage) bool {
	t := strings.TrimLeft(string(raw), " \t\r\n")
	return strings.HasPrefix(t, "[") && json.Valid(raw)
}

func writeJSON(w http.ResponseWriter, status int, body any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(body)
}
