// Command function is driftwatch's GCP function: a Go web server for Cloud
// Run (or Cloud Run functions) on $PORT, to which two Pub/Sub push
// subscriptions deliver:
//
//	POST /             the Cloud Audit Logs entries (Admin Activity) a Log
//	                   Router sink publishes -> the drift pipeline
//	POST /remediation  approved fixes, undos and re-evaluations (the
//	                   remediation topic) -> the remediation executor, with
//	                   the function's service account
//
// shared/gcpfunc is the HTTP layer (the push subscriptions' OIDC token
// verified before any body is read; 200 ack, 503 retry). In pull mode
// (DRIFTWATCH_MODE=pull: make demo, and deployments that prefer pull) it
// serves no HTTP and pulls both subscriptions instead, with flow control,
// acking each message once its posture or fix is stored (gcpbus).
// Configuration comes from the environment (see README.md).
package main

import (
	"context"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	log := slog.New(slog.NewJSONHandler(os.Stdout, nil)).With("function", "gcp")
	// Cloud Run stops the instance with SIGTERM and 10 s of grace:
	// deliveries in flight finish first.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Getenv, log); err != nil {
		log.Error("function stopped", "error", err.Error())
		os.Exit(1)
	}
}
