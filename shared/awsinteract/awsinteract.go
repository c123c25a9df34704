// Package awsinteract wires the interactivity function: Slack's button
// clicks and modal submissions arrive at a Lambda Function URL (or, locally,
// a plain HTTP server), are verified, and become recorded approvals, undo
// requests and accepted risks; the work itself is dispatched on the
// driftwatch EventBridge bus to the remediator. The function holds no cloud
// read or write permission.
package awsinteract

import (
	"context"
	"fmt"
	"log/slog"
	"net/url"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/driftwatch/driftwatch/shared/approval"
	"github.com/driftwatch/driftwatch/shared/awsbus"
	"github.com/driftwatch/driftwatch/shared/awsdetector"
	"github.com/driftwatch/driftwatch/shared/change"
	"github.com/driftwatch/driftwatch/shared/pipeline"
	"github.com/driftwatch/driftwatch/shared/ruleset"
	"github.com/driftwatch/driftwatch/shared/slackinteract"
)

// Config is the interactivity function's configuration: the detector's
// (table, Slack, rules, accounts, governance, bus) plus the signing secret.
type Config struct {
	awsdetector.Config
	// SigningSecret (SLACK_SIGNING_SECRET) or SigningSecretSecret, the
	// Secrets Manager secret holding it (SLACK_SIGNING_SECRET_SECRET).
	SigningSecret       string
	SigningSecretSecret string
	// ResponseURLPrefixes are further response_url prefixes ephemeral
	// replies may go to besides Slack's own (SLACK_RESPONSE_URL_PREFIXES,
	// comma-separated; local runs against a recording Slack server only).
	ResponseURLPrefixes []string
}

// ConfigFromEnv reads and validates the configuration.
func ConfigFromEnv(getenv func(string) string) (Config, error) {
	base, err := awsdetector.ConfigFromEnv(getenv)
	if err != nil {
		return Config{}, err
	}
	c := Config{Config: base,
		SigningSecret:       strings.TrimSpace(getenv("SLACK_SIGNING_SECRET")),
		SigningSecretSecret: strings.TrimSpace(getenv("SLACK_SIGNING_SECRET_SECRET")),
	}
	switch {
	case c.SigningSecret == "" && c.SigningSecretSecret == "":
		return Config{}, fmt.Errorf("SLACK_SIGNING_SECRET or SLACK_SIGNING_SECRET_SECRET is required")
	case c.SigningSecret != "" && c.SigningSecretSecret != "":
		return Config{}, fmt.Errorf("set only one of SLACK_SIGNING_SECRET and SLACK_SIGNING_SECRET_SECRET")
	case c.Bus == "":
		return Config{}, fmt.Errorf("DRIFTWATCH_BUS is required: approved fixes are sent to the remediator on it")
	}
	for _, p := range strings.Split(getenv("SLACK_RESPONSE_URL_PREFIXES"), ",") {
		if p = strings.TrimSpace(p); p == "" {
			continue
		}
		if u, err := url.Parse(p); err != nil || u.Scheme == "" || u.Host == "" {
			return Config{}, fmt.Errorf("SLACK_RESPONSE_URL_PREFIXES: %q is not an absolute URL", p)
		}
		c.ResponseURLPrefixes = append(c.ResponseURLPrefixes, p)
	}
	return c, nil
}

// New builds the interactivity endpoint (an http.Handler; see
// slackinteract.FunctionURL for Lambda).
func New(ctx context.Context, c Config, awsCfg aws.Config, log *slog.Logger) (*slackinteract.Handler, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	// One Slack app serves every cloud: the function renders and governs
	// the alerts of all of them.
	p, err := awsdetector.NewPartsFor(ctx, ruleset.Clouds, c.Config, awsCfg, log)
	if err != nil {
		return nil, err
	}
	secret := c.SigningSecret
	if c.SigningSecretSecret != "" {
		if secret, err = awsdetector.SecretValue(ctx, secretsmanager.NewFromConfig(awsCfg), c.SigningSecretSecret,
			"Slack signing secret", "signing secret", "signing_secret"); err != nil {
			return nil, err
		}
	}
	// What a fix will change is on the finding, planned by the detector of
	// the resource's cloud: this function links no remediation code and
	// holds no cloud permission. The policy's action names are checked
	// against those the rules offer.
	policy, err := ruleset.LoadPolicy(c.GovernanceFile, c.RulesDir, nil)
	if err != nil {
		return nil, err
	}
	alerts := pipeline.NewAlerts(p.Engine, p.Store, p.Notifier, &pipeline.Options{
		Logger: log, Accounts: c.Accounts, ConsoleURL: ruleset.ConsoleURL,
		Governor: ruleset.Governor{Policy: policy},
	})
	dispatcher := pipeline.ByCloud{change.AWS: awsbus.NewDispatcher(eventbridge.NewFromConfig(awsCfg), c.Bus)}
	ctrl := approval.New(p.Store, approval.EngineRules{Engine: p.Engine}, policy, approval.SlackClient{C: p.Slack}, dispatcher, alerts,
		&approval.Options{Logger: log})
	opts := &slackinteract.Options{Logger: log}
	if len(c.ResponseURLPrefixes) > 0 {
		prefixes := c.ResponseURLPrefixes
		opts.AllowResponseURL = func(u *url.URL) bool {
			if u.Scheme == "https" && (u.Host == "hooks.slack.com" || u.Host == "hooks.slack-gov.com") {
				return true
			}
			for _, p := range prefixes {
				if strings.HasPrefix(u.String(), p) {
					return true
				}
			}
			return false
		}
	}
	return slackinteract.NewHandler(secret, ctrl, slackinteract.StoreReplays(p.Store), opts)
}
