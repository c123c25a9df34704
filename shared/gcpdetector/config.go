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

	"github.com/driftwatch/driftwatch/shared/awsfed"
	"github.com/driftwatch/driftwatch/shared/pipeline"
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
	// Mode is ModePush or ModePull (DRIFTWATCH_MODE, push by default).
	Mode string
	// AuditSubscription and RemediationSubscription are the pull
	// subscriptions (DRIFTWATCH_AUDIT_SUBSCRIPTION,
	// DRIFTWATCH_REMEDIATION_SUBSCRIPTION, projects/<p>/subscriptions/<s>);
	// the first is required in pull mode, the second optional (without
	// it approved fixes are not received).
	AuditSubscription       string
	RemediationSubscription string
	// Table is the DynamoDB posture table (DRIFTWATCH_TABLE), shared with
	// the AWS and Azure functions.
	Table string
	// StoreFile, when set, selects the embedded store persisted to this
	// file instead of DynamoDB (DRIFTWATCH_STORE_FILE; local runs only).
	StoreFile string
	// AWS is the web identity federation to the table's account
	// (DRIFTWATCH_AWS_ROLE_ARN, DRIFTWATCH_AWS_REGION,
	// DRIFTWATCH_AWS_TOKEN_AUDIENCE); required with Table.
	AWS awsfed.Env
	// AWSTokenFile, when set, is read for the identity token instead of
	// asking the metadata server (DRIFTWATCH_AWS_TOKEN_FILE: hosts outside
	// Google Cloud, local runs).
	AWSTokenFile string
	// AWSEndpoint overrides the AWS endpoints, STS included
	// (DRIFTWATCH_AWS_ENDPOINT_URL; local emulators only).
	AWSEndpoint string
	// APIEndpoint sends every Google API request (Storage, Compute, Cloud
	// SQL Admin, Resource Manager, IAM, KMS) to this host, with no
	// credentials (DRIFTWATCH_GCP_API_ENDPOINT; local fakes only).
	APIEndpoint string
	// SlackChannel is the channel id alerts go to (SLACK_CHANNEL).
	SlackChannel string
	// SlackToken is the bot token (SLACK_BOT_TOKEN).
	SlackToken string
	// SlackAPIURL overrides https://slack.com/api/ (SLACK_API_URL).
	SlackAPIURL string
	// RulesDir holds custom rules (DRIFTWATCH_RULES_DIR); the function
	// compiles the GCP ones.
	RulesDir string
	// DisabledRules are rule ids left out (DRIFTWATCH_DISABLED_RULES,
	// comma-separated).
	DisabledRules []string
	// Accounts names projects for alerts and rule scope
	// (DRIFTWATCH_ACCOUNTS, see pipeline.ParseAccounts).
	Accounts map[string]pipeline.Account
	// GovernanceFile is the remediation governance policy
	// (DRIFTWATCH_GOVERNANCE_FILE); without it alerts offer no fix.
	GovernanceFile string
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
	// LogLevel is debug, info, warn or error (DRIFTWATCH_LOG_LEVEL).
	LogLevel slog.Level
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
		Table:                   get("DRIFTWATCH_TABLE"),
		StoreFile:               get("DRIFTWATCH_STORE_FILE"),
		AWSTokenFile:            get("DRIFTWATCH_AWS_TOKEN_FILE"),
		AWSEndpoint:             get("DRIFTWATCH_AWS_ENDPOINT_URL"),
		APIEndpoint:             get("DRIFTWATCH_GCP_API_ENDPOINT"),
		SlackChannel:            get("SLACK_CHANNEL"),
		SlackToken:              get("SLACK_BOT_TOKEN"),
		SlackAPIURL:             get("SLACK_API_URL"),
		RulesDir:                get("DRIFTWATCH_RULES_DIR"),
		GovernanceFile:          get("DRIFTWATCH_GOVERNANCE_FILE"),
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
	case c.Table == "" && c.StoreFile == "":
		return Config{}, fmt.Errorf("DRIFTWATCH_TABLE is required (or DRIFTWATCH_STORE_FILE for a local embedded store)")
	case c.Table != "" && c.StoreFile != "":
		return Config{}, fmt.Errorf("set only one of DRIFTWATCH_TABLE and DRIFTWATCH_STORE_FILE")
	case c.SlackChannel == "":
		return Config{}, fmt.Errorf("SLACK_CHANNEL is required")
	case c.SlackToken == "":
		return Config{}, fmt.Errorf("SLACK_BOT_TOKEN is required (a Secret Manager secret in Google Cloud)")
	}
	for name, v := range map[string]string{"DRIFTWATCH_AUDIT_SUBSCRIPTION": c.AuditSubscription, "DRIFTWATCH_REMEDIATION_SUBSCRIPTION": c.RemediationSubscription} {
		if v != "" && !subscriptionName.MatchString(v) {
			return Config{}, fmt.Errorf("%s: %q is not a subscription name, projects/<project>/subscriptions/<subscription>", name, v)
		}
	}
	if c.RemediationTopic != "" && !topicName.MatchString(c.RemediationTopic) {
		return Config{}, fmt.Errorf("DRIFTWATCH_REMEDIATION_TOPIC: %q is not a topic name, projects/<project>/topics/<topic>", c.RemediationTopic)
	}
	if c.Table != "" {
		env, err := awsfed.FromEnv(getenv)
		if err != nil {
			return Config{}, err
		}
		c.AWS = env
	}
	for name, v := range map[string]string{"DRIFTWATCH_AWS_ENDPOINT_URL": c.AWSEndpoint, "DRIFTWATCH_GCP_API_ENDPOINT": c.APIEndpoint} {
		if v == "" {
			continue
		}
		if u, err := url.Parse(v); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || (u.Path != "" && u.Path != "/") {
			return Config{}, fmt.Errorf("%s: %q is not an absolute http(s) URL of a host", name, v)
		}
	}
	if c.SlackAPIURL != "" && !strings.HasSuffix(c.SlackAPIURL, "/") {
		c.SlackAPIURL += "/"
	}
	for _, id := range strings.Split(getenv("DRIFTWATCH_DISABLED_RULES"), ",") {
		if id = strings.TrimSpace(id); id != "" {
			c.DisabledRules = append(c.DisabledRules, id)
		}
	}
	for _, p := range strings.Split(getenv("DRIFTWATCH_GCP_PROJECTS"), ",") {
		if p = strings.TrimSpace(p); p == "" {
			continue
		}
		if !projectID.MatchString(p) {
			return Config{}, fmt.Errorf("DRIFTWATCH_GCP_PROJECTS: %q is not a project id", p)
		}
		c.Projects = append(c.Projects, p)
	}
	accounts, err := pipeline.ParseAccounts(getenv("DRIFTWATCH_ACCOUNTS"))
	if err != nil {
		return Config{}, fmt.Errorf("DRIFTWATCH_ACCOUNTS: %w", err)
	}
	c.Accounts = accounts
	if v := get("DRIFTWATCH_LOG_LEVEL"); v != "" {
		if err := c.LogLevel.UnmarshalText([]byte(v)); err != nil {
			return Config{}, fmt.Errorf("DRIFTWATCH_LOG_LEVEL: %q is not one of debug, info, warn, error", v)
		}
	}
	return c, nil
}

// LogValue keeps the Slack token out of logs should anyone log the whole
// configuration.
func (c Config) LogValue() slog.Value {
	token := ""
	if c.SlackToken != "" {
		token = "REDACTED"
	}
	return slog.GroupValue(
		slog.String("mode", c.Mode), slog.String("audit_subscription", c.AuditSubscription),
		slog.String("remediation_subscription", c.RemediationSubscription),
		slog.String("table", c.Table), slog.String("store_file", c.StoreFile),
		slog.String("aws_role_arn", c.AWS.RoleARN), slog.String("aws_region", c.AWS.Region),
		slog.String("gcp_api_endpoint", c.APIEndpoint),
		slog.String("slack_channel", c.SlackChannel), slog.String("slack_token", token), slog.String("slack_api_url", c.SlackAPIURL),
		slog.String("rules_dir", c.RulesDir), slog.Any("disabled_rules", c.DisabledRules),
		slog.Int("accounts", len(c.Accounts)), slog.String("governance_file", c.GovernanceFile),
		slog.String("remediation_topic", c.RemediationTopic), slog.Any("projects", c.Projects),
	)
}
