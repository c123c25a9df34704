// Package azdetector wires driftwatch's Azure Function: the drift pipeline
// for ARM resource events (the ARM fetchers, the Azure rules, the posture
// store in DynamoDB reached through AWS web identity federation, Slack and
// governance) and the remediation executor that runs approved fixes with
// the function's managed identity. shared/azfunc is its HTTP layer.
package azdetector

import (
	"fmt"
	"log/slog"
	"net/url"
	"strings"

	"github.com/driftwatch/driftwatch/shared/awsfed"
	"github.com/driftwatch/driftwatch/shared/pipeline"
)

// Config is everything the Azure function reads from its app settings.
// The Slack bot token is a Key Vault reference the platform resolves
// (infra/azure), so it arrives as a plain setting.
type Config struct {
	// Table is the DynamoDB posture table (DRIFTWATCH_TABLE), shared with
	// the AWS functions.
	Table string
	// StoreFile, when set, selects the embedded store persisted to this file
	// instead of DynamoDB (DRIFTWATCH_STORE_FILE; local runs only).
	StoreFile string
	// AWS is the web identity federation to the table's account
	// (DRIFTWATCH_AWS_ROLE_ARN, DRIFTWATCH_AWS_REGION,
	// DRIFTWATCH_AWS_TOKEN_AUDIENCE); required with Table.
	AWS awsfed.Env
	// AWSTokenFile, when set, is read for the identity token instead of
	// asking the managed identity (DRIFTWATCH_AWS_TOKEN_FILE: hosts
	// outside Azure, local runs).
	AWSTokenFile string
	// AWSEndpoint overrides the AWS endpoints, STS included
	// (DRIFTWATCH_AWS_ENDPOINT_URL; local emulators only).
	AWSEndpoint string
	// ARMEndpoint overrides https://management.azure.com
	// (DRIFTWATCH_ARM_ENDPOINT: sovereign clouds, local fakes). It must be
	// https: the function sends bearer tokens to it.
	ARMEndpoint string
	// SlackChannel is the channel id alerts go to (SLACK_CHANNEL).
	SlackChannel string
	// SlackToken is the bot token (SLACK_BOT_TOKEN).
	SlackToken string
	// SlackAPIURL overrides https://slack.com/api/ (SLACK_API_URL).
	SlackAPIURL string
	// RulesDir holds custom rules (DRIFTWATCH_RULES_DIR); the function
	// compiles the Azure ones.
	RulesDir string
	// DisabledRules are rule ids left out (DRIFTWATCH_DISABLED_RULES,
	// comma-separated).
	DisabledRules []string
	// Accounts names subscriptions for alerts and rule scope
	// (DRIFTWATCH_ACCOUNTS, see pipeline.ParseAccounts).
	Accounts map[string]pipeline.Account
	// GovernanceFile is the remediation governance policy
	// (DRIFTWATCH_GOVERNANCE_FILE); without it alerts offer no fix.
	GovernanceFile string
	// RemediationTopic is the endpoint of the remediation custom topic
	// (DRIFTWATCH_REMEDIATION_TOPIC, https://<topic>.<region>-1.eventgrid.azure.net/api/events):
	// fixes the policy makes automatic are published there. Without it
	// automatic fixes are not dispatched.
	RemediationTopic string
	// Subscriptions, when set, are the only subscriptions fixes may change
	// (DRIFTWATCH_AZURE_SUBSCRIPTIONS, comma-separated): a request for a
	// resource elsewhere is refused even if the identity could do it.
	Subscriptions []string
	// LogLevel is debug, info, warn or error (DRIFTWATCH_LOG_LEVEL).
	LogLevel slog.Level
}

// ConfigFromEnv reads and validates the configuration. getenv is os.Getenv
// in production.
func ConfigFromEnv(getenv func(string) string) (Config, error) {
	get := func(k string) string { return strings.TrimSpace(getenv(k)) }
	c := Config{
		Table:            get("DRIFTWATCH_TABLE"),
		StoreFile:        get("DRIFTWATCH_STORE_FILE"),
		AWSTokenFile:     get("DRIFTWATCH_AWS_TOKEN_FILE"),
		AWSEndpoint:      get("DRIFTWATCH_AWS_ENDPOINT_URL"),
		ARMEndpoint:      get("DRIFTWATCH_ARM_ENDPOINT"),
		SlackChannel:     get("SLACK_CHANNEL"),
		SlackToken:       get("SLACK_BOT_TOKEN"),
		SlackAPIURL:      get("SLACK_API_URL"),
		RulesDir:         get("DRIFTWATCH_RULES_DIR"),
		GovernanceFile:   get("DRIFTWATCH_GOVERNANCE_FILE"),
		RemediationTopic: get("DRIFTWATCH_REMEDIATION_TOPIC"),
	}
	switch {
	case c.Table == "" && c.StoreFile == "":
		return Config{}, fmt.Errorf("DRIFTWATCH_TABLE is required (or DRIFTWATCH_STORE_FILE for a local embedded store)")
	case c.Table != "" && c.StoreFile != "":
		return Config{}, fmt.Errorf("set only one of DRIFTWATCH_TABLE and DRIFTWATCH_STORE_FILE")
	case c.SlackChannel == "":
		return Config{}, fmt.Errorf("SLACK_CHANNEL is required")
	case c.SlackToken == "":
		return Config{}, fmt.Errorf("SLACK_BOT_TOKEN is required (a Key Vault reference in Azure)")
	}
	if c.Table != "" {
		env, err := awsfed.FromEnv(getenv)
		if err != nil {
			return Config{}, err
		}
		c.AWS = env
	}
	for name, v := range map[string]string{"DRIFTWATCH_ARM_ENDPOINT": c.ARMEndpoint, "DRIFTWATCH_REMEDIATION_TOPIC": c.RemediationTopic} {
		if v == "" {
			continue
		}
		if u, err := url.Parse(v); err != nil || u.Scheme != "https" || u.Host == "" {
			return Config{}, fmt.Errorf("%s: %q is not an https URL", name, v)
		}
	}
	if c.AWSEndpoint != "" {
		if u, err := url.Parse(c.AWSEndpoint); err != nil || u.Scheme == "" || u.Host == "" {
			return Config{}, fmt.Errorf("DRIFTWATCH_AWS_ENDPOINT_URL: %q is not an absolute URL", c.AWSEndpoint)
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
	for _, s := range strings.Split(getenv("DRIFTWATCH_AZURE_SUBSCRIPTIONS"), ",") {
		if s = strings.ToLower(strings.TrimSpace(s)); s != "" {
			c.Subscriptions = append(c.Subscriptions, s)
		}
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
		slog.String("table", c.Table), slog.String("store_file", c.StoreFile),
		slog.String("aws_role_arn", c.AWS.RoleARN), slog.String("aws_region", c.AWS.Region),
		slog.String("arm_endpoint", c.ARMEndpoint),
		slog.String("slack_channel", c.SlackChannel), slog.String("slack_token", token), slog.String("slack_api_url", c.SlackAPIURL),
		slog.String("rules_dir", c.RulesDir), slog.Any("disabled_rules", c.DisabledRules),
		slog.Int("accounts", len(c.Accounts)), slog.String("governance_file", c.GovernanceFile),
		slog.String("remediation_topic", c.RemediationTopic), slog.Any("subscriptions", c.Subscriptions),
	)
}
