// Package azfunc is the HTTP layer of driftwatch's Azure Function, a
// custom handler (a Go web server on FUNCTIONS_CUSTOMHANDLER_PORT) to which
// the Functions host forwards the original HTTP requests
// (enableForwardingHttpRequest). It serves two routes, one per function of
// functions/azure:
//
//	POST /api/resource-events  Event Grid deliveries from the subscription's
//	                           system topic (ARM resource events), in the
//	                           Event Grid schema or CloudEvents 1.0; each
//	                           event is normalized (Normalizer) and run
//	                           through the drift pipeline (Processor).
//	POST /api/remediation      Event Grid deliveries from the remediation
//	                           custom topic; each event's data is a
//	                           remediation.Request (azbus.Decode) run by
//	                           the Executor with the function's identity.
//	OPTIONS (both)             The CloudEvents 1.0 abuse-protection
//	                           handshake.
//
// Every POST is authenticated (Authenticator: a shared secret or an Entra
// bearer token) before its body is read. Then the media type, the size
// and the body are checked, the Event Grid SubscriptionValidationEvent
// handshake is answered, and the events of a batch are handled
// concurrently (bounded), one bad event never failing the others.
//
// The status tells Event Grid what to do with the whole batch:
//
//	200 every event was handled or deliberately dropped (logged with its
//	    reason), or a handshake was answered;
//	503 an event failed in a way a retry can fix (the processor or the
//	    executor returned an error, or the delivery ran out of time):
//	    Event Grid redelivers the whole batch after 30 s or more (503 is
//	    the failure it retries latest, giving a throttled dependency
//	    time); events already handled are then recognized (the
//	    pipeline's event claims, the remediation state machine) and not
//	    handled twice;
//	500 a handler panicked (a bug): retried, then dead-lettered, so the
//	    batch is kept;
//	401 no valid credential (never parsed); 503 when the token signing
//	    keys cannot be fetched (the delivery may be genuine);
//	400 the body is not an Event Grid delivery, 413 it is larger than
//	    MaxBody: no retry can help, and Event Grid dead-letters both at
//	    once;
//	415 another media type; 405 another method; 404 another path.
//
// A 200 or 503 answer carries a JSON Summary. Logs are structured, with
// constant messages; the credentials, the query string and the bodies are
// never logged.
package azfunc

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/messaging/eventgrid/azsystemevents"

	"github.com/driftwatch/driftwatch/shared/azbus"
	"github.com/driftwatch/driftwatch/shared/azevent"
	"github.com/driftwatch/driftwatch/shared/change"
	"github.com/driftwatch/driftwatch/shared/pipeline"
	"github.com/driftwatch/driftwatch/shared/remediation"
)

// The functions (folder names under functions/azure) and the paths the
// Functions host forwards their requests to: "/api/" (the host's default
// route prefix) and the function name.
const (
	ResourceEventsFunction = "resource-events"
	RemediationFunction    = "remediation"
	ResourceEventsPath     = "/api/" + ResourceEventsFunction
	RemediationPath        = "/api/" + RemediationFunction
)

// Defaults of Options.
const (
	// DefaultMaxBody bounds a delivery's body. Event Grid events are at
	// most 1 MB and a batch exceeds its preferred size (at most 1 MB)
	// only when it holds a single larger event.
	DefaultMaxBody = 2 << 20
	// DefaultTimeout bounds the handling of one delivery: Event Grid
	// waits 30 s for the answer, then counts the delivery failed.
	DefaultTimeout = 25 * time.Second
	// DefaultWorkers bounds the events of a batch handled at once.
	DefaultWorkers = 8
	// DefaultOrigin is the WebHook-Request-Origin Event Grid sends in
	// the CloudEvents handshake (public cloud).
	DefaultOrigin = "eventgrid.azure.net"
)

// Normalizer turns a delivery's body (the Event Grid schema or
// CloudEvents 1.0, one event or a batch) into changes
// (*azevent.Normalizer). It returns an error only when the body is not a
// delivery at all; an event it cannot or need not process is a Result with
// a *change.DroppedError; a SubscriptionValidationEvent sets Validation.
type Normalizer interface {
	Decode(body []byte) (azevent.Delivery, error)
}

// Processor runs the drift path for one change. It returns an error only
// when a retry of the event can help (pipeline.Detector.Process).
type Processor interface {
	Process(ctx context.Context, c change.Change) (pipeline.Outcome, error)
}

// Executor runs one remediation request. It returns an error only when a
// retry can help (remediation.Executor.Handle).
type Executor interface {
	Handle(ctx context.Context, req remediation.Request) error
}

// Config is what the Server serves. A route is served when any of its
// dependencies is set, and then all of them must be.
type Config struct {
	// The resource-events route.
	Normalizer   Normalizer
	Processor    Processor
	ResourceAuth Authenticator
	// The remediation route.
	Executor        Executor
	RemediationAuth Authenticator
}

// Options tune a Server. The zero value is usable.
type Options struct {
	// Logger receives structured logs; nil discards them.
	Logger *slog.Logger
	// Workers is DefaultWorkers when zero.
	Workers int
	// MaxBody is DefaultMaxBody when zero.
	MaxBody int64
	// Timeout is DefaultTimeout when zero.
	Timeout time.Duration
	// AllowedOrigins are the WebHook-Request-Origin values the
	// CloudEvents handshake consents to (compared without case); nil
	// means DefaultOrigin only. Sovereign clouds send their own
	// (eventgrid.azure.us, eventgrid.azure.cn).
	AllowedOrigins []string
	// AllowedRate is the WebHook-Allowed-Rate answered, in requests per
	// minute; zero answers "*" (no limit: the Functions platform scales).
	AllowedRate int
}

// Server is the custom handler's http.Handler.
type Server struct {
	norm     Normalizer
	proc     Processor
	exec     Executor
	resAuth  Authenticator
	remAuth  Authenticator
	log      *slog.Logger
	workers  int
	maxBody  int64
	timeout  time.Duration
	origins  []string
	rate     string
	resource bool
	remedy   bool
}

// New returns the Server for cfg.
func New(cfg Config, opts *Options) (*Server, error) {
	s := &Server{norm: cfg.Normalizer, proc: cfg.Processor, exec: cfg.Executor, resAuth: cfg.ResourceAuth, remAuth: cfg.RemediationAuth}
	s.resource = cfg.Normalizer != nil || cfg.Processor != nil || cfg.ResourceAuth != nil
	s.remedy = cfg.Executor != nil || cfg.RemediationAuth != nil
	switch {
	case !s.resource && !s.remedy:
		return nil, errors.New("azfunc: no route configured")
	case s.resource && (cfg.Normalizer == nil || cfg.Processor == nil || cfg.ResourceAuth == nil):
		return nil, errors.New("azfunc: the resource-events route needs a normalizer, a processor and an authenticator")
	case s.remedy && (cfg.Executor == nil || cfg.RemediationAuth == nil):
		return nil, errors.New("azfunc: the remediation route needs an executor and an authenticator")
	}
	var o Options
	if opts != nil {
		o = *opts
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Workers <= 0 {
		o.Workers = DefaultWorkers
	}
	if o.MaxBody <= 0 {
		o.MaxBody = DefaultMaxBody
	}
	if o.Timeout <= 0 {
		o.Timeout = DefaultTimeout
	}
	if o.AllowedOrigins == nil {
		o.AllowedOrigins = []string{DefaultOrigin}
	}
	s.log, s.workers, s.maxBody, s.timeout = o.Logger, o.Workers, o.MaxBody, o.Timeout
	for _, origin := range o.AllowedOrigins {
		s.origins = append(s.origins, strings.ToLower(origin))
	}
	s.rate = "*"
	if o.AllowedRate > 0 {
		s.rate = strconv.Itoa(o.AllowedRate)
	}
	return s, nil
}

// Summary is the JSON answer to a delivery: what happened to its events.
type Summary struct {
	Events int `json:"events"`
	// Dropped counts the events deliberately not handled, by reason.
	Dropped map[string]int `json:"dropped,omitempty"`
	// Processed counts the changes processed (resource-events) or the
	// requests executed (remediation).
	Processed int `json:"processed"`
	Drifted   int `json:"drifted,omitempty"`
	Resolved  int `json:"resolved,omitempty"`
	Notified  int `json:"notified,omitempty"`
	// Failed counts the events a retry may fix.
	Failed int `json:"failed"`
}

// Drop reasons of the remediation route (the resource-events route uses
// the change.DropReason of each azevent.Result).
const (
	// ReasonNotARequest: a valid event that is not a remediation request.
	ReasonNotARequest = "not_a_request"
)

// allowedMethods is the Allow header of both routes.
const allowedMethods = "OPTIONS, POST"

// ServeHTTP routes one request (see the package documentation).
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	route, auth := s.route(r.URL.Path)
	if route == "" {
		plainError(w, http.StatusNotFound)
		return
	}
	log := s.log.With("route", route)
	ctx := r.Context()
	switch r.Method {
	case http.MethodOptions:
		s.handshake(ctx, w, r, log)
		return
	case http.MethodPost:
	default:
		w.Header().Set("Allow", allowedMethods)
		plainError(w, http.StatusMethodNotAllowed)
		return
	}
	start := time.Now()
	if err := auth.Authenticate(r); err != nil {
		status := http.StatusUnauthorized
		if errors.Is(err, ErrKeysUnavailable) {
			status = http.StatusServiceUnavailable
		}
		log.WarnContext(ctx, "delivery rejected", "reason", err.Error(), "status", status, "remote", r.RemoteAddr)
		plainError(w, status)
		return
	}
	mt, err := mediaType(r.Header.Get("Content-Type"))
	if err != nil {
		s.reject(ctx, w, log, err, http.StatusUnsupportedMediaType)
		return
	}
	body, err := s.readBody(r)
	if err != nil {
		status := http.StatusBadRequest
		if errors.Is(err, errBodyTooLarge) {
			status = http.StatusRequestEntityTooLarge
		}
		s.reject(ctx, w, log, err, status)
		return
	}
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	if route == ResourceEventsFunction {
		s.resourceEvents(ctx, w, log, body, start)
		return
	}
	s.remediation(ctx, w, log, body, mt, start)
}

// route returns the function a path belongs to and its authenticator. The
// Functions host matches routes without regard to case, so this does too.
func (s *Server) route(path string) (string, Authenticator) {
	path = strings.TrimSuffix(path, "/")
	switch {
	case s.resource && strings.EqualFold(path, ResourceEventsPath):
		return ResourceEventsFunction, s.resAuth
	case s.remedy && strings.EqualFold(path, RemediationPath):
		return RemediationFunction, s.remAuth
	}
	return "", nil
}

// handshake answers the CloudEvents 1.0 abuse-protection handshake:
// consent (WebHook-Allowed-Origin, WebHook-Allowed-Rate) for an allowed
// WebHook-Request-Origin, none otherwise. It is not authenticated: it
// carries no data and grants nothing (every delivery is authenticated),
// the CloudEvents webhook specification says it is not an authentication
// step, and a sender that does not attach its credential to it would
// otherwise never get its event subscription created.
func (s *Server) handshake(ctx context.Context, w http.ResponseWriter, r *http.Request, log *slog.Logger) {
	w.Header().Set("Allow", allowedMethods)
	origins := r.Header.Values("WebHook-Request-Origin")
	if len(origins) != 1 || origins[0] == "" {
		log.WarnContext(ctx, "handshake refused", "reason", fmt.Sprintf("%d WebHook-Request-Origin headers, want one", len(origins)))
		plainError(w, http.StatusBadRequest)
		return
	}
	origin := origins[0]
	if !slices.Contains(s.origins, strings.ToLower(origin)) {
		log.WarnContext(ctx, "handshake refused", "reason", "origin not allowed", "origin", truncate(origin, 120))
		plainError(w, http.StatusForbidden)
		return
	}
	w.Header().Set("WebHook-Allowed-Origin", origin)
	w.Header().Set("WebHook-Allowed-Rate", s.rate)
	w.Header().Set("Content-Length", "0")
	w.WriteHeader(http.StatusOK)
	log.InfoContext(ctx, "handshake answered", "origin", origin, "requested_rate", truncate(r.Header.Get("WebHook-Request-Rate"), 20))
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
		return nil, errors.New("no request body")
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

func (s *Server) reject(ctx context.Context, w http.ResponseWriter, log *slog.Logger, err error, status int) {
	log.WarnContext(ctx, "delivery rejected", "reason", err.Error(), "status", status)
	plainError(w, status)
}

// resourceEvents handles a delivery of the system topic.
func (s *Server) resourceEvents(ctx context.Context, w http.ResponseWriter, log *slog.Logger, body []byte, start time.Time) {
	d, err := s.decode(body)
	if err != nil {
		status := http.StatusBadRequest
		if errors.Is(err, errNormalizerPanic) {
			// A bug, not the body's fault: let Event Grid retry, then
			// dead-letter, so that the batch is kept.
			status = http.StatusInternalServerError
		}
		s.reject(ctx, w, log, err, status)
		return
	}
	if d.Validation != nil {
		// Event Grid sends the validation event alone; nothing else of
		// such a delivery is processed.
		s.validated(ctx, w, log, d.Validation.Code)
		return
	}
	for _, del := range d.Deleted {
		log.WarnContext(ctx, "event subscription deleted: no more events will arrive through it",
			"event_id", truncate(del.EventID, 100), "event_subscription_id", truncate(del.EventSubscriptionID, 300))
	}
	tally := newTally(len(d.Results))
	jobs := make([]job, 0, len(d.Results))
	for _, res := range d.Results {
		if res.Err != nil {
			reason, ok := change.DropReasonOf(res.Err)
			if !ok {
				reason = change.ReasonMalformed
			}
			log.InfoContext(ctx, "event dropped", "event_id", truncate(res.EventID, 100), "event_type", truncate(res.EventType, 100),
				"correlation_id", truncate(res.CorrelationID, 100), "reason", string(reason), "detail", res.Err.Error())
			tally.drop(string(reason))
			continue
		}
		c := res.Change
		elog := log.With("event_id", c.EventID, "operation", c.Operation, "correlation_id", res.CorrelationID)
		jobs = append(jobs, job{log: elog, do: func(ctx context.Context) error {
			out, err := s.proc.Process(ctx, c)
			if err != nil {
				return err
			}
			if out.Duplicate {
				elog.InfoContext(ctx, "event dropped", "reason", string(change.ReasonDuplicate))
				tally.drop(string(change.ReasonDuplicate))
				return nil
			}
			tally.processed(out)
			return nil
		}})
	}
	s.run(ctx, w, log, jobs, tally, start)
}

// errNormalizerPanic marks a normalizer that panicked.
var errNormalizerPanic = errors.New("normalizer panic")

// decode runs the normalizer, turning its panic into an error: a parser
// bug must not take the function down.
func (s *Server) decode(body []byte) (d azevent.Delivery, err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("%w: %v\n%s", errNormalizerPanic, p, debug.Stack())
		}
	}()
	return s.norm.Decode(body)
}

// remediation handles a delivery of the remediation topic.
func (s *Server) remediation(ctx context.Context, w http.ResponseWriter, log *slog.Logger, body []byte, mt string, start time.Time) {
	d, err := parseDelivery(body, mt)
	if err != nil {
		s.reject(ctx, w, log, err, http.StatusBadRequest)
		return
	}
	if d.validation != "" {
		s.validated(ctx, w, log, d.validation)
		return
	}
	tally := newTally(len(d.events))
	var jobs []job
	for _, ev := range d.events {
		if ev.err != nil {
			log.InfoContext(ctx, "event dropped", "event_id", truncate(ev.id, 100), "reason", string(change.ReasonMalformed), "detail", ev.err.Error())
			tally.drop(string(change.ReasonMalformed))
			continue
		}
		var (
			req remediation.Request
			err error
		)
		if ev.eg != nil {
			req, err = azbus.Decode(*ev.eg)
		} else {
			req, err = azbus.DecodeCloudEvent(*ev.ce)
		}
		if err != nil {
			log.InfoContext(ctx, "event dropped", "event_id", truncate(ev.id, 100), "event_type", truncate(ev.typ, 100), "reason", ReasonNotARequest, "detail", err.Error())
			tally.drop(ReasonNotARequest)
			continue
		}
		elog := log.With("event_id", ev.id, "op", string(req.Op), "remediation_id", req.RemediationID, "resource_id", req.Key.ResourceID)
		jobs = append(jobs, job{log: elog, do: func(ctx context.Context) error {
			if err := s.exec.Handle(ctx, req); err != nil {
				return err
			}
			elog.InfoContext(ctx, "remediation request handled")
			tally.executed()
			return nil
		}})
	}
	s.run(ctx, w, log, jobs, tally, start)
}

// validated answers the Event Grid SubscriptionValidationEvent handshake.
func (s *Server) validated(ctx context.Context, w http.ResponseWriter, log *slog.Logger, code string) {
	body, _ := json.Marshal(azsystemevents.SubscriptionValidationResponse{ValidationResponse: &code}) // a string always marshals
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(http.StatusOK)
	w.Write(body)
	log.InfoContext(ctx, "subscription validated")
}

// job is the handling of one event.
type job struct {
	log *slog.Logger // with the event's correlation fields
	do  func(context.Context) error
}

// run does the jobs, at most Workers at once, and answers with the
// summary: 200, 503 when a job failed (or could not start before the
// deadline), 500 when one panicked. A job's failure or panic never stops
// the others.
func (s *Server) run(ctx context.Context, w http.ResponseWriter, log *slog.Logger, jobs []job, t *tally, start time.Time) {
	var (
		wg       sync.WaitGroup
		sem      = make(chan struct{}, s.workers)
		mu       sync.Mutex
		panicked bool
	)
	for _, j := range jobs {
		acquired := false
		select {
		case sem <- struct{}{}:
			acquired = true
		case <-ctx.Done():
		}
		if err := ctx.Err(); err != nil {
			if acquired {
				<-sem
			}
			// Out of time before this event could start: a retry of the
			// batch will handle it.
			j.log.ErrorContext(ctx, "event failed", "error", fmt.Sprintf("not started: %v", err))
			t.fail()
			continue
		}
		wg.Go(func() {
			defer func() { <-sem }()
			defer func() {
				if p := recover(); p != nil {
					j.log.ErrorContext(ctx, "event panicked", "panic", fmt.Sprint(p), "stack", string(debug.Stack()))
					t.fail()
					mu.Lock()
					panicked = true
					mu.Unlock()
				}
			}()
			if err := j.do(ctx); err != nil {
				j.log.ErrorContext(ctx, "event failed", "error", err.Error())
				t.fail()
			}
		})
	}
	wg.Wait()
	sum := t.summary()
	status := http.StatusOK
	switch {
	case panicked:
		status = http.StatusInternalServerError
	case sum.Failed > 0:
		status = http.StatusServiceUnavailable
	}
	body, _ := json.Marshal(sum) // ints and a map of ints always marshal
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	w.Write(body)
	log.InfoContext(ctx, "delivery handled", "status", status, "events", sum.Events, "processed", sum.Processed,
		"dropped", sum.Dropped, "failed", sum.Failed, "elapsed", time.Since(start))
}

// tally counts a delivery's outcomes; it is safe for concurrent use.
type tally struct {
	mu  sync.Mutex
	sum Summary
}

func newTally(events int) *tally { return &tally{sum: Summary{Events: events}} }

func (t *tally) drop(reason string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.sum.Dropped == nil {
		t.sum.Dropped = map[string]int{}
	}
	t.sum.Dropped[reason]++
}

func (t *tally) fail() {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.sum.Failed++
}

func (t *tally) executed() {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.sum.Processed++
}

func (t *tally) processed(out pipeline.Outcome) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.sum.Processed++
	for _, ro := range out.Resources {
		if len(ro.Drift.Opened) > 0 {
			t.sum.Drifted++
		}
		if len(ro.Drift.Resolved) > 0 {
			t.sum.Resolved++
		}
		if ro.Notified {
			t.sum.Notified++
		}
	}
}

func (t *tally) summary() Summary {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.sum
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
