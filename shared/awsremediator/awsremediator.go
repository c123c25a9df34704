// Package awsremediator wires the AWS remediator function: it receives the
// remediation requests the interactivity function (or the detector, in auto
// mode) publishes on the driftwatch EventBridge bus and runs them inside
// AWS with the remediator's own role: apply an approved fix, undo one, or
// re-evaluate a resource after an accepted risk.
package awsremediator

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/driftwatch/driftwatch/shared/awsbus"
	"github.com/driftwatch/driftwatch/shared/awsdetector"
	"github.com/driftwatch/driftwatch/shared/awsfetch"
	"github.com/driftwatch/driftwatch/shared/awsremedy"
	"github.com/driftwatch/driftwatch/shared/awsres"
	"github.com/driftwatch/driftwatch/shared/change"
	"github.com/driftwatch/driftwatch/shared/remediation"
)

// Executor runs one request.
type Executor interface {
	Handle(ctx context.Context, req remediation.Request) error
}

// Handler is the remediator's Lambda handler.
type Handler struct {
	exec Executor
	log  *slog.Logger
}

// NewHandler wires a Handler.
func NewHandler(x Executor, log *slog.Logger) *Handler {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Handler{exec: x, log: log}
}

// Handle runs one delivered request. An event that is not a driftwatch
// request is logged and dropped; an error (only when a retry can help)
// makes the platform retry and finally dead-letter it.
func (h *Handler) Handle(ctx context.Context, ev events.EventBridgeEvent) error {
	req, err := awsbus.Decode(ev)
	if err != nil {
		h.log.Error("event dropped", "reason", "not a remediation request", "event_id", ev.ID, "error", err)
		return nil
	}
	if err := h.exec.Handle(ctx, req); err != nil {
		if errors.Is(err, remediation.ErrRetry) {
			return err
		}
		h.log.Error("remediation request failed", "remediation_id", req.RemediationID, "error", err)
	}
	return nil
}

// New builds the remediator from the same configuration as the detector.
func New(ctx context.Context, c awsdetector.Config, awsCfg aws.Config, log *slog.Logger) (*Handler, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	p, err := awsdetector.NewParts(ctx, c, awsCfg, log)
	if err != nil {
		return nil, err
	}
	det, err := awsdetector.NewPipeline(c, awsCfg, p.Engine, p.Store, p.Notifier, log)
	if err != nil {
		return nil, err
	}
	actions, err := awsremedy.New(awsCfg, &awsremedy.Options{S3UsePathStyle: c.S3PathStyle, Logger: log})
	if err != nil {
		return nil, fmt.Errorf("remediation actions: %w", err)
	}
	fetcher := awsfetch.New(awsCfg, &awsfetch.Options{S3UsePathStyle: c.S3PathStyle, Logger: log})
	x := remediation.NewExecutor(p.Store, fetcher, actions, det, log, nil).WithRelated(Related)
	return NewHandler(x, log), nil
}

// Related are the resources whose posture a change to ref also decides: a
// trail's account (the account-level "a multi-Region trail is logging"
// rule), as the event table maps trail operations.
func Related(ref change.ResourceRef) []change.ResourceRef {
	if ref.Type != awsres.TypeTrail {
		return nil
	}
	return []change.ResourceRef{{Cloud: ref.Cloud, Type: awsres.TypeAccount, ID: ref.Account, Account: ref.Account, Region: ref.Region}}
}
