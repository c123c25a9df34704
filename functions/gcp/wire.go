package main

import (
	"context"
	"fmt"
	"log/slog"
	"sync"

	"cloud.google.com/go/pubsub/v2"
	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/driftwatch/driftwatch/shared/awsfed"
	"github.com/driftwatch/driftwatch/shared/awsfed/gcpid"
	"github.com/driftwatch/driftwatch/shared/gcpbus"
	"github.com/driftwatch/driftwatch/shared/gcpdetector"
)

// sessionName names the function's AWS sessions in CloudTrail.
const sessionName = "driftwatch-gcp-function"

// wired is the built function and the Pub/Sub clients it opened.
type wired struct {
	fn      *gcpdetector.Function
	mu      sync.Mutex
	clients map[string]*pubsub.Client // by project
}

// wire builds, from the configuration, the drift pipeline and the
// remediation executor, both acting with the function's service account
// (Application Default Credentials: the metadata server in Google Cloud)
// and reaching the posture table through AWS web identity federation with
// the service account's Google-signed ID token.
func wire(ctx context.Context, c gcpdetector.Config, getenv func(string) string, log *slog.Logger) (*wired, error) {
	w := &wired{clients: map[string]*pubsub.Client{}}
	d := gcpdetector.Deps{Logger: log}
	if c.Table != "" {
		cfg, err := awsConfig(c, getenv(gcpid.EnvMetadataHost), log)
		if err != nil {
			return nil, err
		}
		d.AWS = cfg
	}
	if c.RemediationTopic != "" {
		client, err := w.pubsub(ctx, projectOf(c.RemediationTopic))
		if err != nil {
			return nil, err
		}
		// The service account holds roles/pubsub.publisher on this topic
		// only (infra/gcp).
		d.Topic = gcpbus.NewPublisher(client, c.RemediationTopic)
	}
	fn, err := gcpdetector.New(ctx, c, d)
	if err != nil {
		w.close()
		return nil, err
	}
	w.fn = fn
	return w, nil
}

// pubsub returns the client of project, made once. PUBSUB_EMULATOR_HOST
// (local runs) makes it talk to the emulator without credentials.
func (w *wired) pubsub(ctx context.Context, project string) (*pubsub.Client, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if c, ok := w.clients[project]; ok {
		return c, nil
	}
	c, err := pubsub.NewClient(ctx, project)
	if err != nil {
		return nil, fmt.Errorf("pubsub client for %s: %w", project, err)
	}
	w.clients[project] = c
	return c, nil
}

func (w *wired) close() {
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, c := range w.clients {
		c.Close()
	}
}

// awsConfig exchanges the service account's ID token (from the metadata
// server, or a file outside Google Cloud) for AWS credentials of the
// posture table's role; credentials are fetched on the first store call.
func awsConfig(c gcpdetector.Config, metadataHost string, log *slog.Logger) (aws.Config, error) {
	var src awsfed.TokenSource
	if c.AWSTokenFile != "" {
		src = awsfed.TokenFile(c.AWSTokenFile)
	} else {
		id, err := gcpid.New(c.AWS.Audience, &gcpid.Options{Host: metadataHost})
		if err != nil {
			return aws.Config{}, err
		}
		src = id
	}
	return awsfed.Config(awsfed.Options{
		Region: c.AWS.Region, RoleARN: c.AWS.RoleARN, RoleSessionName: sessionName,
		TokenSource: src, BaseEndpoint: c.AWSEndpoint, Logger: log,
	})
}
