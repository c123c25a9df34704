// Command remediator is the AWS remediator Lambda (provided.al2023,
// bootstrap, -tags lambda.norpc): an EventBridge rule on the driftwatch bus
// delivers approved remediations, undo requests and re-evaluation requests;
// it runs them with its own least-privilege role (exactly the write actions
// the remediation actions declare), re-evaluates the resource and updates
// the Slack alert. Configuration comes from the environment, as for the
// detector (see the README).
package main

import (
	"context"
	"log/slog"
	"os"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/config"

	"github.com/driftwatch/driftwatch/shared/awsdetector"
	"github.com/driftwatch/driftwatch/shared/awsremediator"
)

func main() {
	ctx := context.Background()
	cfg, err := awsdetector.ConfigFromEnv(os.Getenv)
	if err != nil {
		slog.New(slog.NewJSONHandler(os.Stderr, nil)).Error("invalid configuration", "error", err)
		os.Exit(1)
	}
	log := slog.New(slog.NewJSONHandler(os.Stdout, &slog.HandlerOptions{Level: cfg.LogLevel})).With("function", "aws-remediator")
	awsCfg, err := config.LoadDefaultConfig(ctx)
	if err != nil {
		log.Error("load AWS configuration", "error", err)
		os.Exit(1)
	}
	h, err := awsremediator.New(ctx, cfg, awsCfg, log)
	if err != nil {
		log.Error("cold start failed", "error", err)
		os.Exit(1)
	}
	lambda.Start(h.Handle)
}
