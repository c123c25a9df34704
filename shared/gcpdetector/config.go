// Package gcpdetector wires driftwatch's GCP function: the drift pipeline
// for Cloud Audit Logs entries (the Google API fetchers, the GCP rules,
// the posture store in DynamoDB reached through AWS web identity
// federation with the function's Google-signed ID token, Slack and
// governance) and the remediation executor that runs approved fixes with
// the function's service account. shared/gcpfunc is its HTTP layer (push)
// and gcpbus its pull loop.
package gcpdetector

import (
	"fmt"
	"log/slog"
	"net/url"
	"regexp"
	"strings"

	"github.com/driftwatch/driftwatch/shared/fnenv"
)

// The delivery modes: a push subscription (Cloud Run, the deployed
// default) or pulling from subscriptions (make demo, and deployments that
// prefer pull).
const (
	ModePush = "push"
	ModePull = "pull"
)

// Config is everything the GCP function reads from its environment. The
// Slack bot token is a Secret Manager secret Cloud Run mounts as an
// environment variable (infra/gcp), so it arrives as a plain setting.
type Config struct {
	// Common is what every function reads: the posture store and its AWS
	// federation, Slack, rules, accounts (projects), governance, log
	// level.
	fnenv.Common
	// Mode is ModePush or ModePull (DRIFTWATCH_MODE, push by default).
	Mode string
	// AuditSubscription and RemediationSubscription are the pull
	// subscriptions (DRIFTWATCH_AUDIT_SUBSCRIPTION,
	// DRIFTWATCH_REMEDIATION_SUBSCRIPTION, projects/<p>/subscriptions/<s>);
	// the first is required in pull mode, the second optional (without
	// it approved fixes are not received).
	AuditSubscription       string
	RemediationSubscription string
	// APIEndpoint sends every Google API request (Storage, Compute, Cloud
	// SQL Admin, Resource Manager, IAM, KMS) to this host, with no
	// credentials (DRIFTWATCH_GCP_API_ENDPOINT; local fakes only).
	APIEndpoint string
	// RemediationTopic is the remediation topic
	// (DRIFTWATCH_REMEDIATION_TOPIC, projects/<p>/topics/<t>): fixes the
	// policy makes automatic are published there. Without it automatic
	// fixes are not dispatched.
	RemediationTopic string
	// Projects, when set, are the only projects fixes may change
	// (DRIFTWATCH_GCP_PROJECTS, comma-separated project ids): a request
	// for a resource elsewhere is refused even if the service account
	// could do it.
	Projects []string
}

var (
	subscriptionName = regexp.MustCompile(`^projects/[a-z][a-z0-9-]{4,28}[a-z0-9]/subscriptions/[A-Za-z][A-Za-z0-9._~+%-]{2,254}$`)
	topicName        = regexp.MustCompile(`^projects/[a-z][a-z0-9-]{4,28}[a-z0-9]/topics/[A-Za-z][A-Za-z0-9._~+%-]{2,254}$`)
	projectID        = regexp.MustCompile(`^[a-z][a-z0-9-]{4,28}[a-z0-9]$`)
)

// ConfigFromEnv reads and validates the configuration. getenv is os.Getenv
// in production.
func ConfigFromEnv(getenv func(string) string) (Config, error) {
	get := func(k string) string { return strings.TrimSpace(getenv(k)) }
	c := Config{
		Mode:                    strings.ToLower(get("DRIFTWATCH_MODE")),
		AuditSubscription:       get("DRIFTWATCH_AUDIT_SUBSCRIPTION"),
		RemediationSubscription: get("DRIFTWATCH_REMEDIATION_SUBSCRIPTION"),
		APIEndpoint:             get("DRIFTWATCH_GCP_API_ENDPOINT"),
		RemediationTopic:        get("DRIFTWATCH_REMEDIATION_TOPIC"),
	}
	if c.Mode == "" {
		c.Mode = ModePush
	}
	switch {
	case c.Mode != ModePush && c.Mode != ModePull:
		return Config{}, fmt.Errorf("DRIFTWATCH_MODE: %q is not push or pull", c.Mode)
	case c.Mode == ModePull && c.AuditSubscription == "":
		return Config{}, fmt.Errorf("DRIFTWATCH_AUDIT_SUBSCRIPTION is required in pull mode")
	case c.Mode == ModePush && (c.AuditSubscription != "" || c.RemediationSubscription != ""):
		return Config{}, fmt.Errorf("DRIFTWATCH_AUDIT_SUBSCRIPTION and DRIFTWATCH_REMEDIATION_SUBSCRIPTION are for pull mode (DRIFTWATCH_MODE=pull)")
	}
	common, err := fnenv.Read(getenv, "a Secret Manager secret in Google Cloud")
	if err != nil {
		return Config{}, err
	}
	c.Common = common
	for name, v := range map[string]string{"DRIFTWATCH_AUDIT_SUBSCRIPTION": c.AuditSubscription, "DRIFTWATCH_REMEDIATION_SUBSCRIPTION": c.RemediationSubscription} {
		if v != "" && !subscriptionName.MatchString(v) {
			return Config{}, fmt.Errorf("%s: %q is not a subscription name, projects/<project>/subscriptions/<subscription>", name, v)
		}
	}
	if c.RemediationTopic != "" && !topicName.MatchString(c.RemediationTopic) {
		return Config{}, fmt.Errorf("DRIFTWATCH_REMEDIATION_TOPIC: %q is not a topic name, projects/<project>/topics/<topic>", c.RemediationTopic)
	}
	if c.APIEndpoint != "" {
		if u, err := url.Parse(c.APIEndpoint); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || (u.Path != "" && u.Path != "/") {
			return Config{}, fmt.Errorf("DRIFTWATCH_GCP_API_ENDPOINT: %q is not an absolute http(s) URL of a host", c.APIEndpoint)
		}
	}
	for _, p := range fnenv.List(getenv("DRIFTWATCH_GCP_PROJECTS")) {
		if !projectID.MatchString(p) {
			return Config{}, fmt.Errorf("DRIFTWATCH_GCP_PROJECTS: %q is not a project id", p)
		}
		c.Projects = append(c.Projects, p)
	}
	return c, nil
}

// LogValue keeps the Slack token out of logs should anyone log the whole
// configuration.
func (c Config) LogValue() slog.Value {
	return slog.GroupValue(append(c.LogAttrs(),
		slog.String("mode", c.Mode), slog.String("audit_subscription", c.AuditSubscription),
		slog.String("remediation_subscription", c.RemediationSubscription),
		slog.String("gcp_api_endpoint", c.APIEndpoint), slog.String("remediation_topic", c.RemediationTopic),
		slog.Any("projects", c.Projects))...)
}
