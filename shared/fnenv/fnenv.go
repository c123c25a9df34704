// Package fnenv reads the part of the environment the Azure and GCP
// functions share: the posture store, Slack, the rule catalogue, the
// accounts table, governance and the log level. Each function's own
// configuration (azdetector.Config, gcpdetector.Config) embeds Common and
// reads its cloud's variables besides.
package fnenv

import (
	"fmt"
	"log/slog"
	"net/url"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/slack-go/slack"

	"github.com/driftwatch/driftwatch/shared/awsfed"
	"github.com/driftwatch/driftwatch/shared/pipeline"
	"github.com/driftwatch/driftwatch/shared/slackalert"
	"github.com/driftwatch/driftwatch/shared/store/dynamostore"
	"github.com/driftwatch/driftwatch/shared/store/memstore"
)

// Common is the shared configuration.
type Common struct {
	// Table is the DynamoDB posture table (DRIFTWATCH_TABLE), shared by
	// every function.
	Table string
	// AWS is the web identity federation to the table's account
	// (DRIFTWATCH_AWS_ROLE_ARN, DRIFTWATCH_AWS_REGION,
	// DRIFTWATCH_AWS_TOKEN_AUDIENCE); required with Table.
	AWS awsfed.Env
	// StoreFile, when set, selects the embedded store persisted to this
	// file instead of DynamoDB (DRIFTWATCH_STORE_FILE; local runs only).
	StoreFile string
	// AWSTokenFile, when set, is read for the web identity token instead
	// of asking the platform's identity (DRIFTWATCH_AWS_TOKEN_FILE: hosts
	// outside the cloud, local runs).
	AWSTokenFile string
	// AWSEndpoint overrides the AWS endpoints, STS included
	// (DRIFTWATCH_AWS_ENDPOINT_URL; local emulators only).
	AWSEndpoint string
	// SlackChannel is the channel id alerts go to (SLACK_CHANNEL).
	SlackChannel string
	// SlackToken is the bot token (SLACK_BOT_TOKEN), a secret the platform
	// resolves into the environment.
	SlackToken string
	// SlackAPIURL overrides https://slack.com/api/ (SLACK_API_URL).
	SlackAPIURL string
	// RulesDir holds custom rules (DRIFTWATCH_RULES_DIR); the function
	// compiles its cloud's.
	RulesDir string
	// DisabledRules are rule ids left out (DRIFTWATCH_DISABLED_RULES,
	// comma-separated).
	DisabledRules []string
	// Accounts names accounts, subscriptions and projects for alerts and
	// rule scope (DRIFTWATCH_ACCOUNTS, see pipeline.ParseAccounts).
	Accounts map[string]pipeline.Account
	// GovernanceFile is the remediation governance policy
	// (DRIFTWATCH_GOVERNANCE_FILE); without it alerts offer no fix.
	GovernanceFile string
	// LogLevel is debug, info, warn or error (DRIFTWATCH_LOG_LEVEL).
	LogLevel slog.Level
}

// Read reads and validates the shared variables. tokenHint says where the
// Slack token comes from in the function's cloud, for the error when it is
// missing ("a Key Vault reference in Azure").
func Read(getenv func(string) string, tokenHint string) (Common, error) {
	get := func(k string) string { return strings.TrimSpace(getenv(k)) }
	c := Common{
		Table:          get("DRIFTWATCH_TABLE"),
		StoreFile:      get("DRIFTWATCH_STORE_FILE"),
		AWSTokenFile:   get("DRIFTWATCH_AWS_TOKEN_FILE"),
		AWSEndpoint:    get("DRIFTWATCH_AWS_ENDPOINT_URL"),
		SlackChannel:   get("SLACK_CHANNEL"),
		SlackToken:     get("SLACK_BOT_TOKEN"),
		SlackAPIURL:    get("SLACK_API_URL"),
		RulesDir:       get("DRIFTWATCH_RULES_DIR"),
		GovernanceFile: get("DRIFTWATCH_GOVERNANCE_FILE"),
	}
	switch {
	case c.Table == "" && c.StoreFile == "":
		return Common{}, fmt.Errorf("DRIFTWATCH_TABLE is required (or DRIFTWATCH_STORE_FILE for a local embedded store)")
	case c.Table != "" && c.StoreFile != "":
		return Common{}, fmt.Errorf("set only one of DRIFTWATCH_TABLE and DRIFTWATCH_STORE_FILE")
	case c.SlackChannel == "":
		return Common{}, fmt.Errorf("SLACK_CHANNEL is required")
	case c.SlackToken == "":
		return Common{}, fmt.Errorf("SLACK_BOT_TOKEN is required (%s)", tokenHint)
	}
	if c.Table != "" {
		env, err := awsfed.FromEnv(getenv)
		if err != nil {
			return Common{}, err
		}
		c.AWS = env
	}
	if c.AWSEndpoint != "" {
		if u, err := url.Parse(c.AWSEndpoint); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return Common{}, fmt.Errorf("DRIFTWATCH_AWS_ENDPOINT_URL: %q is not an absolute http(s) URL", c.AWSEndpoint)
		}
	}
	if c.SlackAPIURL != "" && !strings.HasSuffix(c.SlackAPIURL, "/") {
		c.SlackAPIURL += "/"
	}
	c.DisabledRules = List(getenv("DRIFTWATCH_DISABLED_RULES"))
	accounts, err := pipeline.ParseAccounts(getenv("DRIFTWATCH_ACCOUNTS"))
	if err != nil {
		return Common{}, fmt.Errorf("DRIFTWATCH_ACCOUNTS: %w", err)
	}
	c.Accounts = accounts
	if v := get("DRIFTWATCH_LOG_LEVEL"); v != "" {
		if err := c.LogLevel.UnmarshalText([]byte(v)); err != nil {
			return Common{}, fmt.Errorf("DRIFTWATCH_LOG_LEVEL: %q is not one of debug, info, warn, error", v)
		}
	}
	return c, nil
}

// List splits a comma-separated value, trimming blanks and dropping empty
// items; nil when there is none.
func List(v string) []string {
	var out []string
	for _, s := range strings.Split(v, ",") {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, s)
		}
	}
	return out
}

// LogAttrs are the shared settings as log attributes, the Slack token
// redacted.
func (c Common) LogAttrs() []slog.Attr {
	token := ""
	if c.SlackToken != "" {
		token = "REDACTED"
	}
	return []slog.Attr{
		slog.String("table", c.Table), slog.String("store_file", c.StoreFile),
		slog.String("aws_role_arn", c.AWS.RoleARN), slog.String("aws_region", c.AWS.Region),
		slog.String("aws_endpoint", c.AWSEndpoint), slog.String("aws_token_file", c.AWSTokenFile),
		slog.String("slack_channel", c.SlackChannel), slog.String("slack_token", token), slog.String("slack_api_url", c.SlackAPIURL),
		slog.String("rules_dir", c.RulesDir), slog.Any("disabled_rules", c.DisabledRules),
		slog.Int("accounts", len(c.Accounts)), slog.String("governance_file", c.GovernanceFile),
		slog.String("log_level", c.LogLevel.String()),
	}
}

// Store returns the posture store c names: the embedded store persisted
// to StoreFile, or the DynamoDB Table reached with awsCfg.
func (c Common) Store(awsCfg aws.Config) (pipeline.Store, error) {
	if c.StoreFile != "" {
		ms, err := memstore.Open(c.StoreFile)
		if err != nil {
			return nil, fmt.Errorf("open store file: %w", err)
		}
		return ms, nil
	}
	return dynamostore.New(dynamodb.NewFromConfig(awsCfg), c.Table), nil
}

// Notifier returns the Slack notifier posting to SlackChannel.
func (c Common) Notifier(log *slog.Logger) (*slackalert.Notifier, error) {
	var opts []slack.Option
	if c.SlackAPIURL != "" {
		opts = append(opts, slack.OptionAPIURL(c.SlackAPIURL))
	}
	n, err := slackalert.New(slack.New(c.SlackToken, opts...), c.SlackChannel, &slackalert.Options{Logger: log})
	if err != nil {
		return nil, fmt.Errorf("slack: %w", err)
	}
	return n, nil
}
