package main

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"time"

	"github.com/driftwatch/driftwatch/shared/gcpbus"
	"github.com/driftwatch/driftwatch/shared/gcpdetector"
	"github.com/driftwatch/driftwatch/shared/gcpevent"
	"github.com/driftwatch/driftwatch/shared/gcpfunc"
	"github.com/driftwatch/driftwatch/shared/httpserve"
)

// shutdownGrace is how long deliveries in flight may run after the stop
// signal. Cloud Run kills the instance 10 s after SIGTERM; a delivery cut
// short is redelivered, and the pipeline recognizes it.
const shutdownGrace = 9 * time.Second

// Pull-mode flow control: at most this many messages handled at once per
// subscription (each is one resource read, one evaluation, one store
// write), and leases extended while a handler runs, up to the limit.
const (
	pullMaxOutstanding = 16
	pullMaxExtension   = 10 * time.Minute
)

// run reads the environment, builds the function and serves (push) or
// pulls (pull) until ctx ends.
func run(ctx context.Context, getenv func(string) string, log *slog.Logger) error {
	c, err := gcpdetector.ConfigFromEnv(getenv)
	if err != nil {
		return err
	}
	log = slog.New(leveled{log.Handler(), c.LogLevel})
	var addr string
	var auth gcpfunc.Authenticator
	if c.Mode == gcpdetector.ModePush {
		// Checked before anything is built: a push deployment without its
		// token checks must not start.
		if addr, err = gcpfunc.ListenAddr(getenv); err != nil {
			return err
		}
		// Google's keys are fetched on the first delivery, not at start.
		if auth, err = gcpfunc.AuthFromEnv(getenv, &gcpfunc.KeySetOptions{Logger: log}); err != nil {
			return err
		}
	}
	norm, err := gcpevent.New(nil)
	if err != nil {
		return fmt.Errorf("method table: %w", err)
	}
	w, err := wire(ctx, c, getenv, log)
	if err != nil {
		return err
	}
	defer w.close()
	cfg := gcpfunc.Config{Normalizer: norm, Processor: w.fn.Detector, Executor: w.fn.Executor, Requests: gcpbus.PushDecoder{}}
	if c.Mode == gcpdetector.ModePull {
		srv, err := gcpfunc.NewPull(cfg, &gcpfunc.Options{Logger: log})
		if err != nil {
			return err
		}
		return pull(ctx, c, w, srv, log)
	}
	cfg.Auth = auth
	srv, err := gcpfunc.New(cfg, &gcpfunc.Options{Logger: log})
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", addr, err)
	}
	return httpserve.Serve(ctx, ln, srv, log, shutdownGrace)
}

// pull receives from the audit subscription and, when configured, the
// remediation subscription, until ctx ends or one fails for good.
func pull(ctx context.Context, c gcpdetector.Config, w *wired, srv *gcpfunc.Server, log *slog.Logger) error {
	client, err := w.pubsub(ctx, projectOf(c.AuditSubscription))
	if err != nil {
		return err
	}
	audit := client.Subscriber(c.AuditSubscription)
	log.Info("pulling", "subscription", c.AuditSubscription)
	var remedy gcpbus.Subscriber
	if c.RemediationSubscription != "" {
		client, err := w.pubsub(ctx, projectOf(c.RemediationSubscription))
		if err != nil {
			return err
		}
		remedy = client.Subscriber(c.RemediationSubscription)
		log.Info("pulling", "subscription", c.RemediationSubscription)
	}
	err = srv.Pull(ctx, audit, remedy, &gcpbus.ReceiveOptions{MaxOutstandingMessages: pullMaxOutstanding, MaxExtension: pullMaxExtension, Logger: log})
	log.Info("function stopped pulling")
	return err
}

// projectOf is the project of a topic or subscription name
// (projects/<project>/...), validated by gcpdetector.ConfigFromEnv.
func projectOf(name string) string {
	parts := strings.SplitN(name, "/", 3)
	if len(parts) < 2 {
		return ""
	}
	return parts[1]
}

// leveled drops records below the configured level (DRIFTWATCH_LOG_LEVEL).
type leveled struct {
	slog.Handler
	min slog.Level
}

func (h leveled) Enabled(ctx context.Context, l slog.Level) bool {
	return l >= h.min && h.Handler.Enabled(ctx, l)
}

func (h leveled) WithAttrs(as []slog.Attr) slog.Handler {
	return leveled{h.Handler.WithAttrs(as), h.min}
}
func (h leveled) WithGroup(n string) slog.Handler { return leveled{h.Handler.WithGroup(n), h.min} }
