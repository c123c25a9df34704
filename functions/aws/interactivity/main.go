// Command interactivity is Slack's interactivity endpoint: a Lambda behind a
// Function URL (provided.al2023, bootstrap, -tags lambda.norpc), or, with
// DRIFTWATCH_LISTEN set (e.g. 127.0.0.1:8080), the same handler on a plain
// HTTP server for local runs. It verifies every request's Slack signature
// before reading it, records approvals, undo requests and accepted risks,
// and dispatches the work to the remediator. Configuration comes from the
// environment (see the README).
package main

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"os"
	"time"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/config"

	"github.com/driftwatch/driftwatch/shared/awsinteract"
	"github.com/driftwatch/driftwatch/shared/slackinteract"
)

func main() {
	ctx := context.Background()
	cfg, err := awsinteract.ConfigFromEnv(os.Getenv)
	if err != nil {
		slog.New(slog.NewJSONHandler(os.Stderr, nil)).Error("invalid configuration", "error", err)
		os.Exit(1)
	}
	log := slog.New(slog.NewJSONHandler(os.Stdout, &slog.HandlerOptions{Level: cfg.LogLevel})).With("function", "aws-interactivity")
	awsCfg, err := config.LoadDefaultConfig(ctx)
	if err != nil {
		log.Error("load AWS configuration", "error", err)
		os.Exit(1)
	}
	h, err := awsinteract.New(ctx, cfg, awsCfg, log)
	if err != nil {
		log.Error("cold start failed", "error", err)
		os.Exit(1)
	}
	if addr := os.Getenv("DRIFTWATCH_LISTEN"); addr != "" {
		srv := &http.Server{Addr: addr, Handler: h, ReadHeaderTimeout: 5 * time.Second}
		log.Info("listening", "addr", addr)
		if err := srv.ListenAndServe(); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error("serve", "error", err)
			os.Exit(1)
		}
		return
	}
	lambda.Start(slackinteract.FunctionURL(h))
}
