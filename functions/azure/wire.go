package main

import (
	"context"
	"errors"
	"log/slog"

	"github.com/driftwatch/driftwatch/shared/azfunc"
)

// errNotWired: the handler has no drift pipeline or executor to hand
// deliveries to.
var errNotWired = errors.New("the Azure detector and remediator are not wired yet (shared/azdetector)")

// wire builds, from the environment, the two dependencies the HTTP layer
// hands deliveries to: the drift pipeline (pipeline.Detector with the ARM
// fetchers, the Azure rule catalogue, the posture store reached through
// awsfed, Slack and governance) as the Processor, and the remediation
// executor (remediation.Executor with the Azure actions and the
// function's managed identity) as the Executor.
//
// The lead wires them (shared/azdetector). Until then the handler refuses
// to start rather than acknowledge deliveries it cannot process: Event
// Grid keeps retrying, then dead-letters, so nothing is lost.
func wire(ctx context.Context, getenv func(string) string, log *slog.Logger) (azfunc.Processor, azfunc.Executor, error) {
	return nil, nil, errNotWired
}
