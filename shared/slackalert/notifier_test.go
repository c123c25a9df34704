package slackalert_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/slack-go/slack"

	"github.com/driftwatch/driftwatch/shared/alert"
	"github.com/driftwatch/driftwatch/shared/slackalert"
	"github.com/driftwatch/driftwatch/shared/slackalert/slackrec"
)

// token looks like a real bot token so that any leak is unmistakable.
const (
	token   = "xoxb-1111111111-2222222222222-SeCrEtToKeNvAlUe0123"
	secret  = "SeCrEtToKeNvAlUe0123"
	channel = "C0DRIFTWATCH"
)

func fixture(t *testing.T, name string) alert.Alert {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("../../testdata/slackalert", name+".alert.json"))
	if err != nil {
		t.Fatal(err)
	}
	var a alert.Alert
	if err := json.Unmarshal(raw, &a); err != nil {
		t.Fatal(err)
	}
	return a
}

// syncBuffer collects log output from concurrent handlers.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// setup starts a recorder and a notifier on it; logs go to the returned
// buffer so tests can check the token never reaches them.
func setup(t *testing.T, opts slackalert.Options) (*slackrec.Recorder, *slackalert.Notifier, *syncBuffer) {
	t.Helper()
	rec := slackrec.Start()
	t.Cleanup(rec.Close)
	logs := &syncBuffer{}
	opts.Logger = slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	n, err := slackalert.New(rec.Client(token), channel, &opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if strings.Contains(logs.String(), secret) {
			t.Errorf("the token leaked into the logs:\n%s", logs)
		}
	})
	return rec, n, logs
}

func renderedBlocks(t *testing.T, a alert.Alert) string {
	t.Helper()
	_, blocks := slackalert.Render(a)
	b, err := json.Marshal(blocks)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestPostReturnsRecordedTS(t *testing.T) {
	rec, n, _ := setup(t, slackalert.Options{})
	ctx := t.Context()
	first, err := n.Post(ctx, fixture(t, "open_s3_public_acl"))
	if err != nil {
		t.Fatal(err)
	}
	second, err := n.Post(ctx, fixture(t, "open_sg_ssh_terraform_ipv6"))
	if err != nil {
		t.Fatal(err)
	}
	calls := rec.Calls()
	if len(calls) != 2 {
		t.Fatalf("%d calls, want 2", len(calls))
	}
	for i, ref := range []slackalert.Ref{first, second} {
		if ref.Channel != channel || ref.TS == "" || ref.TS != calls[i].TS {
			t.Errorf("post %d returned %+v, recorder answered channel %s ts %s", i, ref, calls[i].Channel, calls[i].TS)
		}
		if calls[i].Method != slackrec.MethodPostMessage || calls[i].ThreadTS != "" {
			t.Errorf("post %d recorded as %s thread %q", i, calls[i].Method, calls[i].ThreadTS)
		}
	}
	if !(first.TS < second.TS) {
		t.Errorf("ts not increasing: %s then %s", first.TS, second.TS)
	}
	m, ok := rec.Message(first.TS)
	if !ok {
		t.Fatalf("no message at %s", first.TS)
	}
	if want := renderedBlocks(t, fixture(t, "open_s3_public_acl")); string(m.Blocks) != want {
		t.Errorf("posted blocks differ from Render:\n got %s\nwant %s", m.Blocks, want)
	}
	if want, _ := slackalert.Render(fixture(t, "open_s3_public_acl")); m.Text != want {
		t.Errorf("fallback text = %q, want %q", m.Text, want)
	}
}

func TestUpdateRewritesSameMessage(t *testing.T) {
	tests := []struct {
		name      string
		update    string // fixture posted by Update
		wantReply string // escaped note in the thread, "" for none
	}{
		{"resolved with note", "resolved", "aws_s3_bucket_acl_no_public_grants resolved by OnCall/bob"},
		{"hostile note is escaped", "hostile", "&lt;!channel&gt; resolved by ∗mallory∗"},
		{"no note, no reply", "open_multi_rule", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec, n, _ := setup(t, slackalert.Options{})
			ctx := t.Context()
			ref, err := n.Post(ctx, fixture(t, "open_s3_public_acl"))
			if err != nil {
				t.Fatal(err)
			}
			next := fixture(t, tt.update)
			if tt.wantReply == "" {
				next.Note = ""
			}
			if err := n.Update(ctx, ref, next); err != nil {
				t.Fatal(err)
			}
			m, ok := rec.Message(ref.TS)
			if !ok || m.Updates != 1 {
				t.Fatalf("message %s: found %v, %d updates; want 1", ref.TS, ok, m.Updates)
			}
			if want := renderedBlocks(t, next); string(m.Blocks) != want {
				t.Errorf("message shows\n%s\nwant\n%s", m.Blocks, want)
			}
			replies := rec.Replies(ref.TS)
			var top int
			for _, msg := range rec.Messages() {
				if msg.ThreadTS == "" {
					top++
				}
			}
			if top != 1 {
				t.Errorf("%d top-level messages, want 1 (the update must not post a new one)", top)
			}
			if tt.wantReply == "" {
				if len(replies) != 0 {
					t.Errorf("%d thread replies, want none", len(replies))
				}
				return
			}
			if len(replies) != 1 || replies[0].Text != tt.wantReply || replies[0].Channel != ref.Channel {
				t.Fatalf("thread replies = %+v, want one with text %q", replies, tt.wantReply)
			}
			calls := rec.Calls()
			if last := calls[len(calls)-1]; last.Method != slackrec.MethodPostMessage || last.ThreadTS != ref.TS {
				t.Errorf("last call %s thread %q, want a reply under %s", last.Method, last.ThreadTS, ref.TS)
			}
		})
	}
}

func TestRateLimit(t *testing.T) {
	tests := []struct {
		name        string
		limited     int
		retryAfter  time.Duration
		opts        slackalert.Options
		timeout     time.Duration
		wantErr     bool
		wantCalls   int
		minDuration time.Duration
	}{
		{
			name: "waits out Retry-After then succeeds", limited: 1, retryAfter: time.Second,
			opts: slackalert.Options{MaxWait: 2 * time.Second}, wantCalls: 2, minDuration: time.Second,
		},
		{
			name: "Retry-After beyond MaxWait returns", limited: 1, retryAfter: 5 * time.Second,
			opts: slackalert.Options{MaxWait: time.Second}, wantErr: true, wantCalls: 1,
		},
		{
			name: "Retry-After beyond the context deadline returns", limited: 1, retryAfter: 2 * time.Second,
			opts: slackalert.Options{MaxWait: time.Minute}, timeout: 500 * time.Millisecond, wantErr: true, wantCalls: 1,
		},
		{
			name: "negative MaxWait never waits", limited: 1, retryAfter: time.Second,
			opts: slackalert.Options{MaxWait: -1}, wantErr: true, wantCalls: 1,
		},
		{
			name: "attempts exhausted", limited: 5, retryAfter: time.Second,
			opts: slackalert.Options{MaxWait: 2 * time.Second, MaxAttempts: 2}, wantErr: true, wantCalls: 2, minDuration: time.Second,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec, n, logs := setup(t, tt.opts)
			ctx := t.Context()
			if tt.timeout > 0 {
				var cancel context.CancelFunc
				ctx, cancel = context.WithTimeout(ctx, tt.timeout)
				defer cancel()
			}
			rec.RateLimitNext(tt.limited, tt.retryAfter)
			start := time.Now()
			ref, err := n.Post(ctx, fixture(t, "open_s3_public_acl"))
			took := time.Since(start)
			if calls := rec.Calls(); len(calls) != tt.wantCalls {
				t.Errorf("%d calls, want %d", len(calls), tt.wantCalls)
			}
			if took < tt.minDuration {
				t.Errorf("returned after %v, before Retry-After %v", took, tt.minDuration)
			}
			if !tt.wantErr {
				if err != nil {
					t.Fatal(err)
				}
				if _, ok := rec.Message(ref.TS); !ok {
					t.Errorf("no message at %s", ref.TS)
				}
				if !strings.Contains(logs.String(), "slack rate limited, waiting") {
					t.Errorf("wait not logged:\n%s", logs)
				}
				return
			}
			if err == nil {
				t.Fatal("no error")
			}
			if !slackalert.Retryable(err) || !errors.Is(err, slackalert.ErrRateLimited) {
				t.Errorf("err = %v: retryable %v, is ErrRateLimited %v; want both", err, slackalert.Retryable(err), errors.Is(err, slackalert.ErrRateLimited))
			}
			var se *slackalert.Error
			if !errors.As(err, &se) || se.RetryAfter != tt.retryAfter || se.Method != "chat.postMessage" {
				t.Errorf("err = %#v, want *Error with RetryAfter %v", err, tt.retryAfter)
			}
			if took > tt.retryAfter*time.Duration(tt.wantCalls) {
				t.Errorf("took %v: waited although it could not", took)
			}
			if strings.Contains(err.Error(), secret) {
				t.Errorf("token in error: %v", err)
			}
		})
	}
}

func TestErrorClassification(t *testing.T) {
	tests := []struct {
		name      string
		fault     slackrec.Fault
		update    bool // inject on chat.update instead of chat.postMessage
		retryable bool
		code      string
		is        error
	}{
		{name: "channel_not_found", fault: slackrec.Fault{Error: "channel_not_found"}, code: "channel_not_found"},
		{name: "not_in_channel", fault: slackrec.Fault{Error: "not_in_channel"}, code: "not_in_channel"},
		{name: "invalid_auth", fault: slackrec.Fault{Error: "invalid_auth"}, code: "invalid_auth"},
		{name: "msg_too_long", fault: slackrec.Fault{Error: "msg_too_long"}, code: "msg_too_long"},
		{name: "invalid_blocks", fault: slackrec.Fault{Error: "invalid_blocks"}, code: "invalid_blocks"},
		{name: "internal_error", fault: slackrec.Fault{Error: "internal_error"}, retryable: true, code: "internal_error"},
		{name: "ok:false ratelimited", fault: slackrec.Fault{Error: "ratelimited"}, retryable: true, code: "ratelimited", is: slackalert.ErrRateLimited},
		{name: "HTTP 503", fault: slackrec.Fault{Status: http.StatusServiceUnavailable}, retryable: true, code: "http_503"},
		{name: "HTTP 500", fault: slackrec.Fault{Status: http.StatusInternalServerError}, retryable: true, code: "http_500"},
		{name: "HTTP 400", fault: slackrec.Fault{Status: http.StatusBadRequest}, code: "http_400"},
		{name: "update of a deleted message", update: true, fault: slackrec.Fault{Error: "message_not_found"}, code: "message_not_found", is: slackalert.ErrMessageNotFound},
		{name: "update edit window closed", update: true, fault: slackrec.Fault{Error: "cant_update_message"}, code: "cant_update_message"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec, n, _ := setup(t, slackalert.Options{MaxWait: -1})
			ctx := t.Context()
			a := fixture(t, "open_s3_public_acl")
			var err error
			if tt.update {
				ref, perr := n.Post(ctx, a)
				if perr != nil {
					t.Fatal(perr)
				}
				rec.InjectNext(1, tt.fault)
				err = n.Update(ctx, ref, fixture(t, "resolved"))
			} else {
				rec.InjectNext(1, tt.fault)
				_, err = n.Post(ctx, a)
			}
			if err == nil {
				t.Fatal("no error")
			}
			if got := slackalert.Retryable(err); got != tt.retryable {
				t.Errorf("Retryable(%v) = %v, want %v", err, got, tt.retryable)
			}
			var se *slackalert.Error
			if !errors.As(err, &se) || se.Code != tt.code {
				t.Errorf("err = %v, want *Error with code %q", err, tt.code)
			}
			if tt.is != nil && !errors.Is(err, tt.is) {
				t.Errorf("err = %v, want errors.Is %v", err, tt.is)
			}
			if strings.Contains(err.Error(), secret) || strings.Contains(err.Error(), token) {
				t.Errorf("token in error: %v", err)
			}
		})
	}
}

func TestNetworkErrorIsRetryable(t *testing.T) {
	rec := slackrec.Start()
	client := rec.Client(token)
	rec.Close() // nothing listens any more
	n, err := slackalert.New(client, channel, nil)
	if err != nil {
		t.Fatal(err)
	}
	_, err = n.Post(t.Context(), fixture(t, "open_s3_public_acl"))
	if err == nil || !slackalert.Retryable(err) {
		t.Fatalf("err = %v, want a retryable network error", err)
	}
	var se *slackalert.Error
	if !errors.As(err, &se) || se.Code != "network" {
		t.Errorf("err = %v, want code network", err)
	}
	if strings.Contains(err.Error(), secret) {
		t.Errorf("token in error: %v", err)
	}
}

func TestCanceledContextIsRetryable(t *testing.T) {
	_, n, _ := setup(t, slackalert.Options{})
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	_, err := n.Post(ctx, fixture(t, "open_s3_public_acl"))
	if err == nil || !slackalert.Retryable(err) || !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want retryable context.Canceled", err)
	}
}

func TestThreadReplyFailure(t *testing.T) {
	tests := []struct {
		name        string
		fault       slackrec.Fault
		wantUpdated bool
		wantReplies int
		retryable   bool
	}{
		{
			name:        "reply rejected after a successful update",
			fault:       slackrec.Fault{Method: slackrec.MethodPostMessage, Error: "not_in_channel"},
			wantUpdated: true,
		},
		{
			name:        "reply rate limited beyond the wait budget",
			fault:       slackrec.Fault{Method: slackrec.MethodPostMessage, Status: http.StatusTooManyRequests, RetryAfter: 30 * time.Second},
			wantUpdated: true, retryable: true,
		},
		{
			name:  "failed update posts no reply",
			fault: slackrec.Fault{Method: slackrec.MethodUpdate, Error: "invalid_auth"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec, n, _ := setup(t, slackalert.Options{MaxWait: time.Second})
			ctx := t.Context()
			ref, err := n.Post(ctx, fixture(t, "open_s3_public_acl"))
			if err != nil {
				t.Fatal(err)
			}
			rec.InjectNext(1, tt.fault)
			err = n.Update(ctx, ref, fixture(t, "resolved"))
			if err == nil || slackalert.Retryable(err) != tt.retryable {
				t.Fatalf("Update = %v, want an error with retryable %v", err, tt.retryable)
			}
			if tt.wantUpdated != strings.Contains(err.Error(), "message updated, thread reply failed") {
				t.Errorf("error %q does not say whether the message was updated", err)
			}
			m, _ := rec.Message(ref.TS)
			if got := m.Updates == 1; got != tt.wantUpdated {
				t.Errorf("message updated: %v, want %v", got, tt.wantUpdated)
			}
			if got := len(rec.Replies(ref.TS)); got != tt.wantReplies {
				t.Errorf("%d replies, want %d", got, tt.wantReplies)
			}
		})
	}
}

func TestUpdateRejectsInvalidRef(t *testing.T) {
	rec, n, _ := setup(t, slackalert.Options{})
	for _, ref := range []slackalert.Ref{{}, {Channel: channel}, {TS: "1700000000.000100"}} {
		err := n.Update(t.Context(), ref, fixture(t, "resolved"))
		if !errors.Is(err, slackalert.ErrInvalidRef) || slackalert.Retryable(err) {
			t.Errorf("Update(%+v) = %v, want non-retryable ErrInvalidRef", ref, err)
		}
	}
	if n := len(rec.Calls()); n != 0 {
		t.Errorf("%d calls for invalid refs, want 0", n)
	}
}

func TestNewValidates(t *testing.T) {
	client := slack.New(token)
	tests := []struct {
		name    string
		client  *slack.Client
		channel string
		wantErr string
	}{
		{"nil client", nil, channel, "slackalert: nil slack client"},
		{"empty channel", client, " ", "slackalert: empty channel"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n, err := slackalert.New(tt.client, tt.channel, nil)
			if err == nil || err.Error() != tt.wantErr || n != nil {
				t.Errorf("New = %v, %v; want error %q", n, err, tt.wantErr)
			}
		})
	}
	if _, err := slackalert.New(client, channel, nil); err != nil {
		t.Errorf("valid New: %v", err)
	}
}

func TestRetryableRawErrors(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want bool
	}{
		{"nil", nil, false},
		{"rate limited", &slack.RateLimitedError{RetryAfter: time.Second}, true},
		{"status 502", slack.StatusCodeError{Code: 502, Status: "502 Bad Gateway"}, true},
		{"status 403", slack.StatusCodeError{Code: 403, Status: "403 Forbidden"}, false},
		{"channel_not_found", slack.SlackErrorResponse{Err: "channel_not_found"}, false},
		{"fatal_error", slack.SlackErrorResponse{Err: "fatal_error"}, true},
		{"wrapped deadline", errors.Join(errors.New("ctx"), context.DeadlineExceeded), true},
		{"unexpected EOF", io.ErrUnexpectedEOF, true},
		{"plain error", errors.New("boom"), false},
	}
	for _, tt := range tests {
		if got := slackalert.Retryable(tt.err); got != tt.want {
			t.Errorf("%s: Retryable = %v, want %v", tt.name, got, tt.want)
		}
	}
}
