package awsdetector

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"sync"

	"github.com/driftwatch/driftwatch/shared/awsevent"
	"github.com/driftwatch/driftwatch/shared/change"
	"github.com/driftwatch/driftwatch/shared/pipeline"
)

// Normalizer turns an invocation payload into changes or drops.
type Normalizer interface {
	Normalize(raw []byte) []awsevent.Result
}

// Processor runs the drift path for one change.
type Processor interface {
	Process(ctx context.Context, c change.Change) (pipeline.Outcome, error)
}

// Handler is the Lambda handler of the AWS detector. One invocation carries
// an EventBridge event (one CloudTrail record) or, for backfills and local
// runs, a raw record or a CloudTrail log file.
type Handler struct {
	norm    Normalizer
	proc    Processor
	log     *slog.Logger
	workers int
}

// NewHandler wires a Handler. workers bounds how many records of one log
// file are processed at once (default 8).
func NewHandler(n Normalizer, p Processor, log *slog.Logger, workers int) *Handler {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if workers <= 0 {
		workers = 8
	}
	return &Handler{norm: n, proc: p, log: log, workers: workers}
}

// Summary is the invocation result: what happened to each record. It is the
// function's response, useful to operators invoking it by hand.
type Summary struct {
	Records   int            `json:"records"`
	Dropped   map[string]int `json:"dropped,omitempty"`
	Processed int            `json:"processed"`
	Drifted   int            `json:"drifted"`
	Resolved  int            `json:"resolved"`
	Notified  int            `json:"notified"`
	Failed    int            `json:"failed"`
}

// Handle processes one invocation. Drops (malformed, read-only, failed,
// unsupported, duplicate) are logged with their reason and never fail the
// invocation. It returns an error only when a record failed in a way a
// retry can fix; the platform then retries and finally dead-letters the
// event, so nothing is lost.
func (h *Handler) Handle(ctx context.Context, payload json.RawMessage) (Summary, error) {
	results := h.norm.Normalize(payload)
	sum := Summary{Records: len(results)}
	var (
		mu   sync.Mutex
		errs []error
		wg   sync.WaitGroup
		sem  = make(chan struct{}, h.workers)
	)
	for _, r := range results {
		if r.Err != nil {
			reason, ok := change.DropReasonOf(r.Err)
			if !ok {
				reason = change.ReasonMalformed
			}
			h.log.Info("event dropped", "event_id", r.EventID, "reason", string(reason), "detail", r.Err.Error())
			mu.Lock()
			if sum.Dropped == nil {
				sum.Dropped = map[string]int{}
			}
			sum.Dropped[string(reason)]++
			mu.Unlock()
			continue
		}
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			out, err := h.proc.Process(ctx, r.Change)
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err != nil:
				sum.Failed++
				errs = append(errs, err)
				h.log.Error("event failed", "event_id", r.Change.EventID, "operation", r.Change.Operation, "error", err)
			case out.Duplicate:
				if sum.Dropped == nil {
					sum.Dropped = map[string]int{}
				}
				sum.Dropped[string(change.ReasonDuplicate)]++
			default:
				sum.Processed++
				for _, ro := range out.Resources {
					if len(ro.Drift.Opened) > 0 {
						sum.Drifted++
					}
					if len(ro.Drift.Resolved) > 0 {
						sum.Resolved++
					}
					if ro.Notified {
						sum.Notified++
					}
				}
			}
		})
	}
	wg.Wait()
	return sum, errors.Join(errs...)
}
