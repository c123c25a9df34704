package gcpfunc

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/driftwatch/driftwatch/shared/gcpevent"
	"github.com/driftwatch/driftwatch/shared/remediation"
)

// DefaultRemediationPath is where the remediation topic's push
// subscription delivers: approved fixes, undos and re-evaluations.
const DefaultRemediationPath = "/remediation"

// ReasonNotARequest: a remediation-route delivery that is not a valid
// remediation request (gcpbus refused it). No redelivery can fix it.
const ReasonNotARequest = "not_a_request"

// Executor runs one remediation request with the function's service
// account. It returns an error only when a retry can help
// (remediation.Executor.Handle).
type Executor interface {
	Handle(ctx context.Context, req remediation.Request) error
}

// RequestDecoder reads a remediation request from a push body (gcpbus).
// Any error means the body is not a request: it is acked and logged.
type RequestDecoder interface {
	DecodePush(body []byte) (req remediation.Request, messageID string, err error)
}

// remediation handles a delivery of the remediation topic's push
// subscription: 200 when the request was handled (the executor's state
// machine makes a redelivered request harmless) or is not a request, 503
// when the executor failed in a way a retry can fix.
func (s *Server) remediation(ctx context.Context, w http.ResponseWriter, log *slog.Logger, r *http.Request, start time.Time) {
	body, err := s.readBody(r)
	switch {
	case errors.Is(err, errBodyTooLarge):
		s.dropped(ctx, w, log, Answer{Reason: ReasonTooLarge}, err, start)
		return
	case err != nil:
		log.WarnContext(ctx, "delivery rejected", "reason", err.Error(), "status", http.StatusBadRequest)
		plainError(w, http.StatusBadRequest)
		return
	}
	req, id, err := s.reqs.DecodePush(body)
	if err != nil {
		s.dropped(ctx, w, log.With("message_id", truncate(id, 100)), Answer{MessageID: id, Reason: ReasonNotARequest}, err, start)
		return
	}
	status, ans, why := s.execute(ctx, req)
	ans.MessageID = id
	s.answer(ctx, w, requestLog(log, req).With("message_id", truncate(id, 100)), status, ans, why, start)
}

// execute runs one decoded request within the delivery's deadline.
func (s *Server) execute(ctx context.Context, req remediation.Request) (int, Answer, error) {
	ans := Answer{RemediationID: req.RemediationID}
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	if err := s.exec.Handle(ctx, req); err != nil {
		ans.Outcome = OutcomeFailed
		return http.StatusServiceUnavailable, ans, err
	}
	ans.Outcome = OutcomeProcessed
	return http.StatusOK, ans, nil
}

func requestLog(log *slog.Logger, req remediation.Request) *slog.Logger {
	return log.With("op", string(req.Op), "remediation_id", req.RemediationID, "resource_id", truncate(req.Key.ResourceID, 300))
}

// ErrRetry wraps the failure of a pulled message that a redelivery can
// fix: the pull loop nacks it. Every other pulled message is acked.
var ErrRetry = errors.New("retry")

// Message handles one pulled audit-log message (pull mode), as the push
// route handles a delivery: nil means ack it (processed, or dropped with
// its reason logged), an error wrapping ErrRetry means nack it. A panic of
// the normalizer is returned as an ErrRetry error too, so that the
// message is redelivered and then dead-lettered, not lost.
func (s *Server) Message(ctx context.Context, data []byte, attributes map[string]string, messageID string, publishTime time.Time) (err error) {
	start := time.Now()
	log := s.log
	res, err := s.decodeMessage(data, attributes, messageID, publishTime)
	if err != nil {
		log.ErrorContext(ctx, "delivery failed", "message_id", truncate(messageID, 100), "error", err.Error())
		return fmt.Errorf("%w: %w", ErrRetry, err)
	}
	log = withResult(log, res)
	status, ans, why := s.handle(ctx, res)
	s.answer(ctx, nil, log, status, ans, why, start)
	if ans.Outcome == OutcomeFailed {
		return fmt.Errorf("%w: message %s: %w", ErrRetry, truncate(messageID, 100), why)
	}
	return nil
}

// Request handles one pulled remediation request, decoded by the caller
// (gcpbus); its result is Message's.
func (s *Server) Request(ctx context.Context, req remediation.Request, messageID string) error {
	if s.exec == nil {
		return errors.New("gcpfunc: no remediation executor configured")
	}
	start := time.Now()
	log := requestLog(s.log, req).With("message_id", truncate(messageID, 100))
	status, ans, why := s.execute(ctx, req)
	ans.MessageID = messageID
	s.answer(ctx, nil, log, status, ans, why, start)
	if ans.Outcome == OutcomeFailed {
		return fmt.Errorf("%w: remediation %s: %w", ErrRetry, req.RemediationID, why)
	}
	return nil
}

// decodeMessage runs the normalizer on a pulled message, turning its panic
// into an error.
func (s *Server) decodeMessage(data []byte, attributes map[string]string, id string, at time.Time) (res gcpevent.Result, err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("%w: %v", errNormalizerPanic, p)
		}
	}()
	return s.norm.DecodeMessage(data, attributes, id, at), nil
}

// NewPull returns a Server for pull mode: Message and Request only. It
// takes no Authenticator (a pulled message comes from a subscription the
// function's own identity reads), so it refuses every HTTP request with
// 401: pull mode must not be given a listener.
func NewPull(cfg Config, opts *Options) (*Server, error) {
	cfg.Auth = refuseAll{}
	return New(cfg, opts)
}

// refuseAll is the Authenticator of a pull-mode Server.
type refuseAll struct{}

func (refuseAll) Authenticate(*http.Request) error {
	return errors.New("a pull-mode server serves no HTTP request")
}
