// Package gcpfunc is the HTTP layer of driftwatch's GCP function, a Go web
// server on $PORT (Cloud Run, or Cloud Functions 2nd gen) to which a
// Pub/Sub push subscription, or an Eventarc Pub/Sub trigger, delivers the
// Cloud Audit Logs entries a Log Router sink publishes.
//
//	POST /  (and Options.Path)  one delivery: a Pub/Sub push body
//	        {"message": {...}, "subscription": ...}; an Eventarc
//	        google.cloud.pubsub.topic.v1.messagePublished CloudEvent in
//	        binary mode (ce-* headers, the push body as the body) or in
//	        structured mode (application/cloudevents+json). The entry is
//	        normalized (Normalizer, gcpevent) and run through the drift
//	        pipeline (Processor).
//	POST /remediation  (Options.RemediationPath; only with an Executor)
//	        one delivery of the remediation topic's push subscription:
//	        an approved fix, undo or re-evaluation (RequestDecoder,
//	        gcpbus), run by the Executor with the function's service
//	        account.
//
// In pull mode (no push subscription) the same handling is reached
// through Message and Request, which answer ack (nil) or nack (ErrRetry)
// instead of a status.
//
// Every POST is authenticated (Authenticator: the push subscription's
// OIDC token, PushVerifier) before its body is read.
//
// The status is Pub/Sub's ack or nack (it acks 102, 200, 201, 202 and 204
// and redelivers on anything else, then dead-letters when the subscription
// says so):
//
//	200 the change was processed, or the delivery was deliberately
//	    dropped, logged with its reason: a body that is not a delivery,
//	    is too large, is malformed, or carries an irrelevant or unknown
//	    event. No redelivery can fix those, and a nack would bring them
//	    back until they expire;
//	503 the processor returned an error (a retry can help): Pub/Sub
//	    redelivers with its backoff, and the pipeline's event claim
//	    recognizes a change already handled;
//	500 a handler panicked (a bug): redelivered, then dead-lettered, so
//	    the message is kept;
//	401 no valid token (the body is not read); 503 when the token
//	    signing keys cannot be fetched (the delivery may be genuine);
//	400 the body could not be read (the connection failed);
//	405 another method; 404 another path.
//
// A 200 or 503 answer carries a JSON Answer. Logs are structured, with
// constant messages; the token and the body are never logged.
package gcpfunc

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"runtime/debug"
	"strings"
	"time"

	"github.com/driftwatch/driftwatch/shared/change"
	"github.com/driftwatch/driftwatch/shared/gcpevent"
	"github.com/driftwatch/driftwatch/shared/pipeline"
)

// Defaults of Options.
const (
	// DefaultMaxBody bounds a delivery's body. A Pub/Sub message is at
	// most 10 MB; its data travels base64-encoded (4/3 as large) in the
	// push body, with its attributes beside it.
	DefaultMaxBody = 14 << 20
	// DefaultTimeout bounds the handling of one delivery. It must be
	// shorter than the subscription's ack deadline (driftwatch deploys
	// 30 s), past which Pub/Sub redelivers while the first delivery is
	// still being handled.
	DefaultTimeout = 25 * time.Second
)

// Drop reasons of the deliveries themselves (an entry's own are the
// change.DropReason of its gcpevent.Result).
const (
	// ReasonNotDelivery: the body is not a Pub/Sub push body, an
	// Eventarc CloudEvent or a LogEntry (gcpevent.ErrNotDelivery).
	ReasonNotDelivery = "not_delivery"
	// ReasonTooLarge: the body exceeds MaxBody.
	ReasonTooLarge = "too_large"
)

// Normalizer turns a delivery's body into a change (*gcpevent.Normalizer).
// It returns an error wrapping gcpevent.ErrNotDelivery only when the body
// is not a delivery at all; an entry it cannot or need not process is a
// Result whose Err is a *change.DroppedError.
type Normalizer interface {
	Decode(body []byte) (gcpevent.Result, error)
	// DecodeMessage reads a pulled message's data (pull mode).
	DecodeMessage(data []byte, attributes map[string]string, messageID string, publishTime time.Time) gcpevent.Result
}

// Processor runs the drift path for one change. It returns an error only
// when a retry of the event can help (pipeline.Detector.Process).
type Processor interface {
	Process(ctx context.Context, c change.Change) (pipeline.Outcome, error)
}

// Config is what the Server serves. Normalizer, Processor and Auth are
// required; Executor and Requests, together, enable the remediation route.
type Config struct {
	Normalizer Normalizer
	Processor  Processor
	Auth       Authenticator
	// Executor runs the remediation topic's requests (RemediationPath).
	Executor Executor
	// Requests decodes them (gcpbus).
	Requests RequestDecoder
}

// Options tune a Server. The zero value is usable.
type Options struct {
	// Logger receives structured logs; nil discards them.
	Logger *slog.Logger
	// Path is served besides "/" (for a push endpoint URL with a path);
	// empty means "/" only.
	Path string
	// RemediationPath is the remediation route's path;
	// DefaultRemediationPath when empty. It is served only when
	// Config.Executor is set.
	RemediationPath string
	// MaxBody is DefaultMaxBody when zero.
	MaxBody int64
	// Timeout is DefaultTimeout when zero.
	Timeout time.Duration
}

// Server is the function's http.Handler.
type Server struct {
	norm    Normalizer
	proc    Processor
	auth    Authenticator
	exec    Executor
	reqs    RequestDecoder
	log     *slog.Logger
	path    string
	remPath string // empty: no remediation route
	maxBody int64
	timeout time.Duration
}

// New returns the Server for cfg.
func New(cfg Config, opts *Options) (*Server, error) {
	if cfg.Normalizer == nil || cfg.Processor == nil || cfg.Auth == nil {
		return nil, errors.New("gcpfunc: a server needs a normalizer, a processor and an authenticator")
	}
	if (cfg.Executor == nil) != (cfg.Requests == nil) {
		return nil, errors.New("gcpfunc: the remediation route needs both an executor and a request decoder")
	}
	var o Options
	if opts != nil {
		o = *opts
	}
	if o.RemediationPath == "" {
		o.RemediationPath = DefaultRemediationPath
	}
	for _, p := range []string{o.Path, o.RemediationPath} {
		if p != "" && !strings.HasPrefix(p, "/") {
			return nil, fmt.Errorf("gcpfunc: path %q does not start with /", p)
		}
	}
	if o.RemediationPath = strings.TrimSuffix(o.RemediationPath, "/"); cfg.Executor != nil && (o.RemediationPath == "" || o.RemediationPath == strings.TrimSuffix(o.Path, "/")) {
		return nil, fmt.Errorf("gcpfunc: the remediation path %q must differ from / and the events path", o.RemediationPath)
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.MaxBody <= 0 {
		o.MaxBody = DefaultMaxBody
	}
	if o.Timeout <= 0 {
		o.Timeout = DefaultTimeout
	}
	srv := &Server{norm: cfg.Normalizer, proc: cfg.Processor, auth: cfg.Auth, exec: cfg.Executor, reqs: cfg.Requests,
		log: o.Logger, path: strings.TrimSuffix(o.Path, "/"), maxBody: o.MaxBody, timeout: o.Timeout}
	if cfg.Executor != nil {
		srv.remPath = o.RemediationPath
	}
	return srv, nil
}

// Answer is the JSON body of a 200 or 503: what happened to the delivery.
type Answer struct {
	// Outcome is "processed", "dropped" or "failed".
	Outcome string `json:"outcome"`
	// Reason is why a delivery was dropped.
	Reason    string `json:"reason,omitempty"`
	MessageID string `json:"message_id,omitempty"`
	EventID   string `json:"event_id,omitempty"`
	// RemediationID is the request's, on the remediation route.
	RemediationID string `json:"remediation_id,omitempty"`
	Drifted       int    `json:"drifted,omitempty"`
	Resolved      int    `json:"resolved,omitempty"`
	Notified      int    `json:"notified,omitempty"`
}

// The outcomes of an Answer.
const (
	OutcomeProcessed = "processed"
	OutcomeDropped   = "dropped"
	OutcomeFailed    = "failed"
)

// ServeHTTP handles one request (see the package documentation).
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	remedy := s.remPath != "" && strings.TrimSuffix(r.URL.Path, "/") == s.remPath
	if !remedy && !s.routed(r.URL.Path) {
		plainError(w, http.StatusNotFound)
		return
	}
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		plainError(w, http.StatusMethodNotAllowed)
		return
	}
	start := time.Now()
	ctx := r.Context()
	log := s.log
	rw := &statusWriter{ResponseWriter: w}
	defer func() {
		if p := recover(); p != nil {
			log.ErrorContext(ctx, "delivery panicked", "panic", fmt.Sprint(p), "stack", string(debug.Stack()))
			if !rw.wrote {
				plainError(rw, http.StatusInternalServerError)
			}
		}
	}()
	if err := s.auth.Authenticate(r); err != nil {
		status := http.StatusUnauthorized
		if errors.Is(err, ErrKeysUnavailable) {
			status = http.StatusServiceUnavailable
		}
		log.WarnContext(ctx, "delivery rejected", "reason", err.Error(), "status", status, "remote", r.RemoteAddr)
		plainError(rw, status)
		return
	}
	// Binary-mode Eventarc: the CloudEvent's attributes are headers.
	if id := r.Header.Get("Ce-Id"); id != "" {
		log = log.With("ce_id", truncate(id, 100))
	}
	if remedy {
		s.remediation(ctx, rw, log, r, start)
		return
	}
	ceType := r.Header.Get("Ce-Type")
	if ceType != "" {
		log = log.With("ce_type", truncate(ceType, 100))
	}
	body, err := s.readBody(r)
	switch {
	case errors.Is(err, errBodyTooLarge):
		s.dropped(ctx, rw, log, Answer{Reason: ReasonTooLarge}, err, start)
		return
	case err != nil:
		log.WarnContext(ctx, "delivery rejected", "reason", err.Error(), "status", http.StatusBadRequest)
		plainError(rw, http.StatusBadRequest)
		return
	}
	if ceType != "" && ceType != gcpevent.EventTypeMessagePublished && ceType != gcpevent.EventTypeAuditLogWritten {
		s.dropped(ctx, rw, log, Answer{Reason: string(change.ReasonNotAudit)},
			fmt.Errorf("CloudEvent type %s is not a Pub/Sub message or an audit log entry", truncate(ceType, 100)), start)
		return
	}
	res, err := s.decode(body)
	switch {
	case errors.Is(err, errNormalizerPanic):
		// A bug, not the body's fault: nack, so that the message is
		// redelivered and then dead-lettered, not lost.
		log.ErrorContext(ctx, "delivery failed", "error", err.Error(), "status", http.StatusInternalServerError)
		plainError(rw, http.StatusInternalServerError)
		return
	case err != nil:
		s.dropped(ctx, rw, log, Answer{Reason: ReasonNotDelivery}, err, start)
		return
	}
	log = withResult(log, res)
	status, ans, why := s.handle(ctx, res)
	s.answer(ctx, rw, log, status, ans, why, start)
}

// withResult adds a normalized delivery's correlation fields to log.
func withResult(log *slog.Logger, res gcpevent.Result) *slog.Logger {
	log = log.With("form", string(res.Form), "message_id", truncate(res.MessageID, 100), "event_id", truncate(res.EventID, 200))
	if res.Err == nil {
		log = log.With("cloud", string(res.Change.Cloud), "operation", res.Change.Operation)
	}
	return log
}

// handle runs one normalized delivery through the processor and says how
// to answer it: 200 with a processed or dropped Answer, or 503 when the
// processor failed. why is the reason of a drop or the failure.
func (s *Server) handle(ctx context.Context, res gcpevent.Result) (status int, ans Answer, why error) {
	ans = Answer{MessageID: res.MessageID, EventID: res.EventID}
	if res.Err != nil {
		reason, ok := change.DropReasonOf(res.Err)
		if !ok {
			reason = change.ReasonMalformed
		}
		ans.Outcome, ans.Reason = OutcomeDropped, string(reason)
		return http.StatusOK, ans, res.Err
	}
	pctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	out, err := s.proc.Process(pctx, res.Change)
	if err != nil {
		ans.Outcome = OutcomeFailed
		return http.StatusServiceUnavailable, ans, err
	}
	if out.Duplicate {
		ans.Outcome, ans.Reason = OutcomeDropped, string(change.ReasonDuplicate)
		return http.StatusOK, ans, errors.New("the event was already processed")
	}
	ans.Outcome = OutcomeProcessed
	for _, ro := range out.Resources {
		if len(ro.Drift.Opened) > 0 {
			ans.Drifted++
		}
		if len(ro.Drift.Resolved) > 0 {
			ans.Resolved++
		}
		if ro.Notified {
			ans.Notified++
		}
	}
	return http.StatusOK, ans, nil
}

// answer writes the answer (nothing when w is nil: a pulled message) and
// logs the delivery's end: handled, dropped with its reason, or failed.
func (s *Server) answer(ctx context.Context, w http.ResponseWriter, log *slog.Logger, status int, ans Answer, why error, start time.Time) {
	if w != nil {
		writeAnswer(w, status, ans)
	}
	switch ans.Outcome {
	case OutcomeFailed:
		log.ErrorContext(ctx, "delivery failed", "error", why.Error(), "status", status, "elapsed", time.Since(start))
	case OutcomeDropped:
		level := slog.LevelInfo
		switch ans.Reason {
		case ReasonNotDelivery, ReasonTooLarge, ReasonNotARequest, string(change.ReasonMalformed):
			level = slog.LevelWarn
		}
		log.Log(ctx, level, "delivery dropped", "reason", ans.Reason, "detail", truncate(why.Error(), 500), "status", status, "elapsed", time.Since(start))
	default:
		log.InfoContext(ctx, "delivery handled", "status", status, "drifted", ans.Drifted, "resolved", ans.Resolved,
			"notified", ans.Notified, "remediation_id", ans.RemediationID, "elapsed", time.Since(start))
	}
}

// routed reports whether path is served: "/" or the configured path (with
// or without a trailing slash).
func (s *Server) routed(path string) bool {
	return path == "/" || path == "" || (s.path != "" && strings.TrimSuffix(path, "/") == s.path)
}

// dropped acks a delivery no redelivery can fix, logging why: a warning
// when the delivery itself is broken (a misconfigured subscription or
// sink, or a bug upstream), information when it is an event driftwatch
// need not process.
func (s *Server) dropped(ctx context.Context, w http.ResponseWriter, log *slog.Logger, ans Answer, why error, start time.Time) {
	ans.Outcome = OutcomeDropped
	s.answer(ctx, w, log, http.StatusOK, ans, why, start)
}

// errBodyTooLarge: the body exceeds MaxBody.
var errBodyTooLarge = errors.New("request body too large")

// readBody reads the whole body, refusing more than MaxBody bytes before
// reading when the length is declared.
func (s *Server) readBody(r *http.Request) ([]byte, error) {
	if r.ContentLength > s.maxBody {
		return nil, fmt.Errorf("%w: Content-Length %d, limit %d", errBodyTooLarge, r.ContentLength, s.maxBody)
	}
	if r.Body == nil {
		return nil, nil
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, s.maxBody+1))
	if err != nil {
		return nil, fmt.Errorf("reading request body: %w", err)
	}
	if int64(len(body)) > s.maxBody {
		return nil, fmt.Errorf("%w: limit %d", errBodyTooLarge, s.maxBody)
	}
	return body, nil
}

// errNormalizerPanic marks a normalizer that panicked.
var errNormalizerPanic = errors.New("normalizer panic")

// decode runs the normalizer, turning its panic into an error: a parser
// bug must not take the function down.
func (s *Server) decode(body []byte) (res gcpevent.Result, err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("%w: %v\n%s", errNormalizerPanic, p, debug.Stack())
		}
	}()
	return s.norm.Decode(body)
}

// statusWriter records whether the answer was started, so that a panic
// after it is not answered twice.
type statusWriter struct {
	http.ResponseWriter
	wrote bool
}

func (w *statusWriter) WriteHeader(status int) {
	w.wrote = true
	w.ResponseWriter.WriteHeader(status)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	w.wrote = true
	return w.ResponseWriter.Write(b)
}

func writeAnswer(w http.ResponseWriter, status int, ans Answer) {
	body, _ := json.Marshal(ans) // strings and ints always marshal
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	w.Write(body)
}

// plainError answers status with its standard text and nothing else.
func plainError(w http.ResponseWriter, status int) {
	http.Error(w, http.StatusText(status), status)
}

// truncate bounds an untrusted value quoted in a log line or an error.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return strings.ToValidUTF8(s[:n], "") + "…"
}
