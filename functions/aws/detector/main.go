// Command detector is the AWS detector Lambda (provided.al2023, built as
// bootstrap with -tags lambda.norpc): CloudTrail management events arrive
// from an EventBridge rule; each changed resource is re-read, evaluated,
// stored and alerted on. All configuration comes from the environment (see
// the README); it is read once, here.
package main

import (
	"context"
	"log/slog"
	"os"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/config"

	"github.com/driftwatch/driftwatch/shared/awsdetector"
)

func main() {
	ctx := context.Background()
	cfg, err := awsdetector.ConfigFromEnv(os.Getenv)
	if err != nil {
		slog.New(slog.NewJSONHandler(os.Stderr, nil)).Error("invalid configuration", "error", err)
		os.Exit(1)
	}
	log := slog.New(slog.NewJSONHandler(os.Stdout, &slog.HandlerOptions{Level: cfg.LogLevel})).
		With("function", "aws-detector")
	// Credentials, Region and AWS_ENDPOINT_URL come from the standard AWS_*
	// variables the Lambda runtime (or a local emulator run) provides.
	awsCfg, err := config.LoadDefaultConfig(ctx)
	if err != nil {
		log.Error("load AWS configuration", "error", err)
		os.Exit(1)
	}
	h, err := awsdetector.New(ctx, cfg, awsCfg, log)
	if err != nil {
		log.Error("cold start failed", "error", err)
		os.Exit(1)
	}
	lambda.Start(h.Handle)
}
