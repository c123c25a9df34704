// Command handler is driftwatch's Azure Function: an Azure Functions custom
// handler, the web server the Functions host starts (host.json,
// defaultExecutablePath "handler") and forwards the original HTTP requests
// of its two functions to (enableForwardingHttpRequest):
//
//	resource-events  Event Grid deliveries of the subscription's ARM
//	                 resource events -> the drift pipeline
//	remediation      Event Grid deliveries of approved remediations, undos
//	                 and re-evaluations (the remediation custom topic) ->
//	                 the remediation executor, with the function's identity
//
// shared/azfunc is the HTTP layer (authentication of every delivery with
// Event Grid's Entra token, the handshakes, batches and the retry status).
// Configuration comes from the environment (see README.md).
package main

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/driftwatch/driftwatch/shared/azevent"
	"github.com/driftwatch/driftwatch/shared/azfunc"
	"github.com/driftwatch/driftwatch/shared/httpserve"
)

func main() {
	log := slog.New(slog.NewJSONHandler(os.Stdout, nil)).With("function", "azure")
	// The host stops the handler with SIGTERM (scale-in, restart):
	// deliveries in flight finish first.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Getenv, log); err != nil {
		log.Error("handler stopped", "error", err.Error())
		os.Exit(1)
	}
}

// run reads the environment, builds the server and serves until ctx ends.
func run(ctx context.Context, getenv func(string) string, log *slog.Logger) error {
	addr, err := azfunc.ListenAddr(getenv)
	if err != nil {
		return err
	}
	// One Entra application receives both routes' deliveries
	// (infra/azure); its keys are fetched on the first delivery, not at
	// cold start.
	auth, err := azfunc.AuthFromEnv(getenv, &azfunc.KeySetOptions{Logger: log})
	if err != nil {
		return err
	}
	norm, err := azevent.New(nil)
	if err != nil {
		return fmt.Errorf("operation table: %w", err)
	}
	proc, exec, err := wire(ctx, getenv, log)
	if err != nil {
		return err
	}
	srv, err := azfunc.New(azfunc.Config{
		Normalizer: norm, Processor: proc, ResourceAuth: auth,
		Executor: exec, RemediationAuth: auth,
	}, &azfunc.Options{Logger: log})
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", addr, err)
	}
	return serve(ctx, ln, srv, log)
}

// shutdownGrace is how long requests in flight may run after the stop
// signal: a delivery's own deadline (azfunc.DefaultTimeout) and a margin.
const shutdownGrace = azfunc.DefaultTimeout + 5*time.Second

// serve answers on ln until ctx ends, then stops accepting and lets the
// deliveries in flight finish (cut short, Event Grid would redeliver them).
func serve(ctx context.Context, ln net.Listener, h http.Handler, log *slog.Logger) error {
	return httpserve.Serve(ctx, ln, h, log, shutdownGrace)
}
