package slackalert

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/slack-go/slack"

	"github.com/driftwatch/driftwatch/shared/alert"
	"github.com/driftwatch/driftwatch/shared/store"
)

// Sentinel errors callers branch on (with errors.Is).
var (
	// ErrRateLimited: Slack answered 429 (or "ratelimited") and the wait it
	// asked for did not fit; RetryAfter says how long to wait.
	ErrRateLimited = errors.New("slack rate limited")
	// ErrMessageNotFound: the message to update no longer exists (someone
	// deleted it); post a new one.
	// It is alert.ErrMessageGone, which the pipeline answers by posting anew.
	ErrMessageNotFound = alert.ErrMessageGone
	// ErrInvalidRef: Update got a reference without channel or ts.
	ErrInvalidRef = errors.New("invalid slack message reference")
)

// Defaults for Options.
const (
	// DefaultMaxWait is the longest Retry-After waited out in-process.
	// Slack's chat methods allow about one message per second per channel,
	// so a short burst clears within it; a Lambda has time to spare.
	DefaultMaxWait = 3 * time.Second
	// DefaultMaxAttempts bounds the calls for one operation while rate
	// limited.
	DefaultMaxAttempts = 3
)

const (
	// minRateLimitWait applies when Slack rate-limits without Retry-After.
	minRateLimitWait = time.Second
	// maxNote bounds a thread reply; Slack's own text limit is far higher.
	maxNote = 3000
)

// Ref locates a posted message (channel id + ts). It is the store's
// AlertRef, so the pipeline stores what Post returns as is and hands it back
// to Update.
type Ref = store.AlertRef

// Options tune a Notifier. The zero value is usable.
type Options struct {
	// Logger receives structured logs; nil discards them. The token is
	// never logged.
	Logger *slog.Logger
	// MaxWait is the longest Retry-After the notifier waits through itself
	// before retrying a rate-limited call; a longer one, or one that would
	// outlast the context's deadline, is returned as a retryable
	// ErrRateLimited. Zero means DefaultMaxWait; negative never waits.
	MaxWait time.Duration
	// MaxAttempts bounds the calls made for one operation while rate
	// limited. Zero means DefaultMaxAttempts.
	MaxAttempts int
}

// Notifier posts alerts to one Slack channel and keeps them up to date.
type Notifier struct {
	client      *slack.Client
	channel     string
	log         *slog.Logger
	maxWait     time.Duration
	maxAttempts int
}

// New returns a Notifier that posts to channel (an id such as C0123456789,
// or a name) with client. The client carries the token; the notifier never
// reads or prints it.
func New(client *slack.Client, channel string, opts *Options) (*Notifier, error) {
	if client == nil {
		return nil, errors.New("slackalert: nil slack client")
	}
	if strings.TrimSpace(channel) == "" {
		return nil, errors.New("slackalert: empty channel")
	}
	var o Options
	if opts != nil {
		o = *opts
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.MaxWait == 0 {
		o.MaxWait = DefaultMaxWait
	}
	if o.MaxAttempts <= 0 {
		o.MaxAttempts = DefaultMaxAttempts
	}
	return &Notifier{client: client, channel: channel, log: o.Logger, maxWait: o.MaxWait, maxAttempts: o.MaxAttempts}, nil
}

// Post sends a new message for the alert (chat.postMessage) and returns
// where it landed. The channel in the Ref is the id Slack answered with.
func (n *Notifier) Post(ctx context.Context, a alert.Alert) (Ref, error) {
	text, blocks := Render(a)
	log := n.logFor(a)
	ch, ts, err := n.do(ctx, log, "chat.postMessage", func(ctx context.Context) (string, string, error) {
		return n.client.PostMessageContext(ctx, n.channel,
			slack.MsgOptionText(text, false), // already escaped
			slack.MsgOptionBlocks(blocks...),
			slack.MsgOptionParse(false), // parse=none: no auto-linking in the fallback text
			slack.MsgOptionDisableLinkUnfurl(),
			slack.MsgOptionDisableMediaUnfurl(),
		)
	})
	if err != nil {
		return Ref{}, err
	}
	log.InfoContext(ctx, "slack alert posted", "channel", ch, "ts", ts, "state", string(a.State))
	return Ref{Channel: ch, TS: ts}, nil
}

// Update rewrites the message at ref to show the alert's current state
// (chat.update) and, when a.Note is set, replies in its thread with the
// note. chat.update is idempotent; if the thread reply fails, retrying the
// whole Update repeats the (harmless) update and posts the note once more.
func (n *Notifier) Update(ctx context.Context, ref Ref, a alert.Alert) error {
	if ref.Channel == "" || ref.TS == "" {
		return fmt.Errorf("%w: channel %q, ts %q", ErrInvalidRef, ref.Channel, ref.TS)
	}
	text, blocks := Render(a)
	log := n.logFor(a).With("channel", ref.Channel, "ts", ref.TS)
	_, _, err := n.do(ctx, log, "chat.update", func(ctx context.Context) (string, string, error) {
		ch, ts, _, err := n.client.UpdateMessageContext(ctx, ref.Channel, ref.TS,
			slack.MsgOptionText(text, false),
			slack.MsgOptionBlocks(blocks...),
			slack.MsgOptionParse(false),
		)
		return ch, ts, err
	})
	if err != nil {
		return err
	}
	log.InfoContext(ctx, "slack alert updated", "state", string(a.State))
	if strings.TrimSpace(a.Note) == "" {
		return nil
	}
	note := truncateMrkdwn(EscapeText(a.Note), maxNote)
	_, replyTS, err := n.do(ctx, log, "chat.postMessage", func(ctx context.Context) (string, string, error) {
		return n.client.PostMessageContext(ctx, ref.Channel,
			slack.MsgOptionTS(ref.TS),
			slack.MsgOptionText(note, false),
			slack.MsgOptionParse(false),
			slack.MsgOptionDisableLinkUnfurl(),
			slack.MsgOptionDisableMediaUnfurl(),
		)
	})
	if err != nil {
		return fmt.Errorf("message updated, thread reply failed: %w", err)
	}
	log.DebugContext(ctx, "slack thread reply posted", "reply_ts", replyTS)
	return nil
}

func (n *Notifier) logFor(a alert.Alert) *slog.Logger {
	return n.log.With("resource_id", a.Resource.ID, "event_id", a.Cause.EventID)
}

// do runs one Slack call, waiting out rate limits in-process when Slack's
// Retry-After fits both MaxWait and the context's deadline. Only rate limits
// are retried here: a 429 guarantees Slack did not act on the call, while a
// network error or 5xx may have posted the message already, so those go back
// to the caller (retryable) instead of risking a duplicate here.
func (n *Notifier) do(ctx context.Context, log *slog.Logger, method string, call func(context.Context) (string, string, error)) (string, string, error) {
	for attempt := 1; ; attempt++ {
		ch, ts, err := call(ctx)
		if err == nil {
			return ch, ts, nil
		}
		e := newError(method, err)
		if !errors.Is(e, ErrRateLimited) || attempt >= n.maxAttempts {
			log.WarnContext(ctx, "slack call failed", "method", method, "code", e.Code, "retryable", e.retryable, "attempt", attempt)
			return "", "", e
		}
		wait := max(e.RetryAfter, minRateLimitWait)
		if !n.canWait(ctx, wait) {
			log.WarnContext(ctx, "slack rate limited beyond wait budget", "method", method, "retry_after", wait, "attempt", attempt)
			return "", "", e
		}
		log.WarnContext(ctx, "slack rate limited, waiting", "method", method, "retry_after", wait, "attempt", attempt)
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return "", "", newError(method, fmt.Errorf("waiting out rate limit: %w", context.Cause(ctx)))
		case <-t.C:
		}
	}
}

func (n *Notifier) canWait(ctx context.Context, wait time.Duration) bool {
	if n.maxWait < 0 || wait > n.maxWait {
		return false
	}
	if dl, ok := ctx.Deadline(); ok && time.Until(dl) <= wait {
		return false
	}
	return true
}

// Error is a failed Slack call, classified once.
type Error struct {
	// Method is the Slack API method ("chat.update").
	Method string
	// Code is Slack's error code ("channel_not_found"), "ratelimited",
	// "http_<status>", "network" or "canceled".
	Code string
	// RetryAfter is Slack's requested wait when rate limited.
	RetryAfter time.Duration
	retryable  bool
	err        error
}

func newError(method string, err error) *Error {
	code, retryable, after := classify(err)
	return &Error{Method: method, Code: code, RetryAfter: after, retryable: retryable, err: err}
}

// Error describes the failure without the token, even if an underlying
// error (a URL, a debug dump) ever carried one.
func (e *Error) Error() string {
	msg := "slack " + e.Method + ": " + e.err.Error()
	if e.RetryAfter > 0 {
		msg += " (retry after " + e.RetryAfter.String() + ")"
	}
	if e.retryable {
		msg += " [retryable]"
	}
	return redactToken(msg)
}

// Unwrap exposes the sentinel for the code and slack-go's error.
func (e *Error) Unwrap() []error {
	switch {
	case e.Code == "ratelimited":
		return []error{ErrRateLimited, e.err}
	case e.Code == "message_not_found":
		return []error{ErrMessageNotFound, e.err}
	}
	return []error{e.err}
}

// Retryable reports whether a later attempt of the same call can succeed.
func (e *Error) Retryable() bool { return e.retryable }

// Retryable reports whether err is worth retrying later: rate limits,
// network failures, timeouts and Slack's 5xx are; authentication, a missing
// channel, a message Slack rejects and any other API error are not. It
// classifies slack-go's errors too, not only this package's.
func Retryable(err error) bool {
	if err == nil {
		return false
	}
	var e *Error
	if errors.As(err, &e) {
		return e.retryable
	}
	_, r, _ := classify(err)
	return r
}

// classify maps slack-go and transport errors to a code and whether a retry
// can help.
func classify(err error) (code string, retryable bool, retryAfter time.Duration) {
	var (
		rl  *slack.RateLimitedError
		ser slack.SlackErrorResponse
		sc  slack.StatusCodeError
		ue  *url.Error
		ne  net.Error
		syn *json.SyntaxError
	)
	switch {
	case errors.As(err, &rl):
		return "ratelimited", true, rl.RetryAfter
	case errors.As(err, &ser):
		c := ser.Err
		switch c {
		case "ratelimited", "rate_limited":
			return "ratelimited", true, 0
		case "internal_error", "fatal_error", "service_unavailable", "request_timeout", "team_added_to_org":
			return c, true, 0
		}
		// invalid_auth, not_authed, token_revoked, channel_not_found,
		// not_in_channel, is_archived, msg_too_long, invalid_blocks,
		// message_not_found, cant_update_message, ...: the same call will
		// fail the same way.
		return c, false, 0
	case errors.As(err, &sc):
		if sc.Code == http.StatusTooManyRequests {
			return "ratelimited", true, 0
		}
		return "http_" + strconv.Itoa(sc.Code), sc.Code >= 500, 0
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		// The call did not complete in time; another invocation can.
		return "canceled", true, 0
	case errors.As(err, &ue), errors.As(err, &ne),
		errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return "network", true, 0
	case errors.As(err, &syn):
		// A proxy or load balancer answered with something other than JSON.
		return "bad_response", true, 0
	}
	return "unknown", false, 0
}

// redactToken replaces the secret part of Slack tokens (xoxb-…, xoxp-…,
// xoxe.xoxp-…, xapp-…) with REDACTED, keeping the type prefix for
// debugging. It is written without regexp to avoid a package-level
// compiled pattern.
func redactToken(s string) string {
	if !strings.Contains(s, "xox") && !strings.Contains(s, "xapp-") {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); {
		j := tokenSecretStart(s, i)
		if j < 0 {
			b.WriteByte(s[i])
			i++
			continue
		}
		k := j
		for k < len(s) && tokenChar(s[k]) {
			k++
		}
		if k == j {
			b.WriteByte(s[i])
			i++
			continue
		}
		b.WriteString(s[i:j])
		b.WriteString("REDACTED")
		i = k
	}
	return b.String()
}

// tokenSecretStart returns the index after the "xoxb-" style prefix that
// starts at i, or -1.
func tokenSecretStart(s string, i int) int {
	rest := s[i:]
	switch {
	case strings.HasPrefix(rest, "xapp-"):
		return i + len("xapp-")
	case strings.HasPrefix(rest, "xox"):
		// xox + letters and dots ("xoxb", "xoxe.xoxp") + "-".
		for j := i + 3; j < len(s) && j < i+16; j++ {
			c := s[j]
			if c == '-' {
				if j == i+3 {
					return -1
				}
				return j + 1
			}
			if !(c >= 'a' && c <= 'z' || c == '.') {
				return -1
			}
		}
	}
	return -1
}

func tokenChar(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '-' || c == '.' || c == '_'
}
