// Package awsdetector wires the AWS detector function: the CloudTrail
// normalizer, the AWS fetchers, the rules, the posture store and Slack, behind
// one aws-lambda-go handler.
package awsdetector

import (
	"fmt"
	"log/slog"
	"strconv"
	"strings"

	"github.com/driftwatch/driftwatch/shared/pipeline"
)

// Config is everything the detector reads from its environment. Standard
// AWS_* variables (AWS_REGION, AWS_ENDPOINT_URL, credentials) are read by the
// SDK itself.
type Config struct {
	// Table is the DynamoDB posture table (DRIFTWATCH_TABLE).
	Table string
	// StoreFile, when set, selects the embedded store persisted to this file
	// instead of DynamoDB (DRIFTWATCH_STORE_FILE; local runs only).
	StoreFile string
	// SlackChannel is the channel id alerts go to (SLACK_CHANNEL).
	SlackChannel string
	// SlackToken is the bot token (SLACK_BOT_TOKEN), or SlackTokenSecret the
	// Secrets Manager secret holding it (SLACK_BOT_TOKEN_SECRET).
	SlackToken       string
	SlackTokenSecret string
	// SlackAPIURL overrides https://slack.com/api/ (SLACK_API_URL).
	SlackAPIURL string
	// RulesDir holds custom rules compiled with the built-in catalogue
	// (DRIFTWATCH_RULES_DIR).
	RulesDir string
	// DisabledRules are rule ids left out of the deployment
	// (DRIFTWATCH_DISABLED_RULES, comma-separated), e.g. checks the
	// organisation has decided not to enforce.
	DisabledRules []string
	// Accounts describes accounts for alerts and rule scope
	// (DRIFTWATCH_ACCOUNTS, JSON: {"123456789012": {"name": "payments-prod",
	// "environment": "prod"}}).
	Accounts map[string]pipeline.Account
	// S3PathStyle forces path-style S3 addressing (DRIFTWATCH_S3_PATH_STYLE;
	// needed by local emulators).
	S3PathStyle bool
	// LogLevel is debug, info, warn or error (DRIFTWATCH_LOG_LEVEL).
	LogLevel slog.Level
	// GovernanceFile is the remediation governance policy
	// (DRIFTWATCH_GOVERNANCE_FILE); without it alerts offer no fix.
	GovernanceFile string
	// Bus is the EventBridge bus remediation requests go to
	// (DRIFTWATCH_BUS); without it automatic fixes are not dispatched.
	Bus string
}

// ConfigFromEnv reads and validates the configuration. getenv is os.Getenv
// in production.
func ConfigFromEnv(getenv func(string) string) (Config, error) {
	c := Config{
		Table:            strings.TrimSpace(getenv("DRIFTWATCH_TABLE")),
		StoreFile:        strings.TrimSpace(getenv("DRIFTWATCH_STORE_FILE")),
		SlackChannel:     strings.TrimSpace(getenv("SLACK_CHANNEL")),
		SlackToken:       strings.TrimSpace(getenv("SLACK_BOT_TOKEN")),
		SlackTokenSecret: strings.TrimSpace(getenv("SLACK_BOT_TOKEN_SECRET")),
		SlackAPIURL:      strings.TrimSpace(getenv("SLACK_API_URL")),
		RulesDir:         strings.TrimSpace(getenv("DRIFTWATCH_RULES_DIR")),
		GovernanceFile:   strings.TrimSpace(getenv("DRIFTWATCH_GOVERNANCE_FILE")),
		Bus:              strings.TrimSpace(getenv("DRIFTWATCH_BUS")),
	}
	switch {
	case c.Table == "" && c.StoreFile == "":
		return Config{}, fmt.Errorf("DRIFTWATCH_TABLE is required (or DRIFTWATCH_STORE_FILE for a local embedded store)")
	case c.Table != "" && c.StoreFile != "":
		return Config{}, fmt.Errorf("set only one of DRIFTWATCH_TABLE and DRIFTWATCH_STORE_FILE")
	}
	if c.SlackChannel == "" {
		return Config{}, fmt.Errorf("SLACK_CHANNEL is required")
	}
	switch {
	case c.SlackToken == "" && c.SlackTokenSecret == "":
		return Config{}, fmt.Errorf("SLACK_BOT_TOKEN or SLACK_BOT_TOKEN_SECRET is required")
	case c.SlackToken != "" && c.SlackTokenSecret != "":
		return Config{}, fmt.Errorf("set only one of SLACK_BOT_TOKEN and SLACK_BOT_TOKEN_SECRET")
	}
	for _, id := range strings.Split(getenv("DRIFTWATCH_DISABLED_RULES"), ",") {
		if id = strings.TrimSpace(id); id != "" {
			c.DisabledRules = append(c.DisabledRules, id)
		}
	}
	if c.SlackAPIURL != "" && !strings.HasSuffix(c.SlackAPIURL, "/") {
		c.SlackAPIURL += "/"
	}
	accounts, err := pipeline.ParseAccounts(getenv("DRIFTWATCH_ACCOUNTS"))
	if err != nil {
		return Config{}, fmt.Errorf("DRIFTWATCH_ACCOUNTS: %w", err)
	}
	c.Accounts = accounts
	if v := strings.TrimSpace(getenv("DRIFTWATCH_S3_PATH_STYLE")); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return Config{}, fmt.Errorf("DRIFTWATCH_S3_PATH_STYLE: %q is not a boolean", v)
		}
		c.S3PathStyle = b
	}
	if v := strings.TrimSpace(getenv("DRIFTWATCH_LOG_LEVEL")); v != "" {
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
		slog.String("slack_channel", c.SlackChannel), slog.String("slack_token", token),
		slog.String("slack_token_secret", c.SlackTokenSecret), slog.String("slack_api_url", c.SlackAPIURL),
		slog.String("rules_dir", c.RulesDir), slog.Any("disabled_rules", c.DisabledRules),
		slog.Int("accounts", len(c.Accounts)), slog.Bool("s3_path_style", c.S3PathStyle),
		slog.String("governance_file", c.GovernanceFile), slog.String("bus", c.Bus),
	)
}
