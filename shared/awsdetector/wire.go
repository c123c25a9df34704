package awsdetector

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/slack-go/slack"

	"github.com/driftwatch/driftwatch/shared/awsbus"
	"github.com/driftwatch/driftwatch/shared/awsevent"
	"github.com/driftwatch/driftwatch/shared/awsfetch"
	"github.com/driftwatch/driftwatch/shared/awsremedy"
	"github.com/driftwatch/driftwatch/shared/awsres"
	"github.com/driftwatch/driftwatch/shared/change"
	"github.com/driftwatch/driftwatch/shared/pipeline"
	"github.com/driftwatch/driftwatch/shared/rules"
	"github.com/driftwatch/driftwatch/shared/ruleset"
	"github.com/driftwatch/driftwatch/shared/slackalert"
	"github.com/driftwatch/driftwatch/shared/store/dynamostore"
	"github.com/driftwatch/driftwatch/shared/store/memstore"
)

// New builds the detector from its configuration and the function's AWS
// configuration (credentials, Region, endpoint): everything that can fail
// (rules that do not compile, a missing secret) fails here, at cold start,
// not on an event.
func New(ctx context.Context, c Config, awsCfg aws.Config, log *slog.Logger) (*Handler, error) {
	p, err := NewParts(ctx, c, awsCfg, log)
	if err != nil {
		return nil, err
	}
	det, err := NewPipeline(c, awsCfg, p.Engine, p.Store, p.Notifier, log)
	if err != nil {
		return nil, err
	}
	norm, err := awsevent.New(nil)
	if err != nil {
		return nil, fmt.Errorf("event table: %w", err)
	}
	return NewHandler(norm, det, log, 0), nil
}

// Parts are what every AWS function builds from the same configuration:
// the compiled rules, the posture store and Slack.
type Parts struct {
	Engine   *rules.Engine
	Store    pipeline.Store
	Slack    *slack.Client
	Notifier *slackalert.Notifier
}

// NewParts builds the AWS rules, the store and the Slack client and
// notifier.
func NewParts(ctx context.Context, c Config, awsCfg aws.Config, log *slog.Logger) (Parts, error) {
	return NewPartsFor(ctx, []change.Cloud{change.AWS}, c, awsCfg, log)
}

// NewPartsFor is NewParts with the rules of the given clouds (the
// interactivity function renders and governs every cloud's alerts).
func NewPartsFor(ctx context.Context, clouds []change.Cloud, c Config, awsCfg aws.Config, log *slog.Logger) (Parts, error) {
	engine, err := ruleset.Compile(clouds, c.RulesDir, c.DisabledRules)
	if err != nil {
		return Parts{}, err
	}
	token := c.SlackToken
	if c.SlackTokenSecret != "" {
		if token, err = slackToken(ctx, secretsmanager.NewFromConfig(awsCfg), c.SlackTokenSecret); err != nil {
			return Parts{}, err
		}
	}
	var st pipeline.Store
	if c.StoreFile != "" {
		ms, err := memstore.Open(c.StoreFile)
		if err != nil {
			return Parts{}, fmt.Errorf("open store file: %w", err)
		}
		st = ms
	} else {
		st = dynamostore.New(dynamodb.NewFromConfig(awsCfg), c.Table)
	}
	var slackOpts []slack.Option
	if c.SlackAPIURL != "" {
		slackOpts = append(slackOpts, slack.OptionAPIURL(c.SlackAPIURL))
	}
	client := slack.New(token, slackOpts...)
	notifier, err := slackalert.New(client, c.SlackChannel, &slackalert.Options{Logger: log})
	if err != nil {
		return Parts{}, fmt.Errorf("slack: %w", err)
	}
	return Parts{Engine: engine, Store: st, Slack: client, Notifier: notifier}, nil
}

// NewPipeline builds the drift path the detector and the remediator share:
// AWS fetchers, the rules, the store, Slack and, when configured, the
// governance policy and the remediation bus.
func NewPipeline(c Config, awsCfg aws.Config, engine *rules.Engine, st pipeline.Store, n pipeline.Notifier, log *slog.Logger) (*pipeline.Detector, error) {
	actions, err := awsremedy.New(awsCfg, &awsremedy.Options{S3UsePathStyle: c.S3PathStyle, Logger: log})
	if err != nil {
		return nil, fmt.Errorf("remediation actions: %w", err)
	}
	policy, err := ruleset.LoadPolicy(c.GovernanceFile, c.RulesDir, actions)
	if err != nil {
		return nil, err
	}
	opts := &pipeline.Options{
		Logger:     log,
		Accounts:   c.Accounts,
		ConsoleURL: awsres.ConsoleURL,
		Governor:   ruleset.Governor{Policy: policy},
		Planner:    ruleset.Planner{Actions: actions},
	}
	if c.Bus != "" {
		opts.Dispatcher = awsbus.NewDispatcher(eventbridge.NewFromConfig(awsCfg), c.Bus)
	}
	fetcher := awsfetch.New(awsCfg, &awsfetch.Options{S3UsePathStyle: c.S3PathStyle, Logger: log})
	return pipeline.New(fetcher, engine, st, n, opts), nil
}

// CompileRules compiles the built-in AWS catalogue together with the AWS
// rules among the custom ones in dir (if any), leaving out the disabled rule
// ids. Disabling a rule that does not exist is an error: a typo must not
// silently keep a rule on.
func CompileRules(dir string, disabled []string) (*rules.Engine, error) {
	return ruleset.Compile([]change.Cloud{change.AWS}, dir, disabled)
}

// SecretsAPI is the Secrets Manager call the detector makes.
type SecretsAPI interface {
	GetSecretValue(ctx context.Context, in *secretsmanager.GetSecretValueInput, optFns ...func(*secretsmanager.Options)) (*secretsmanager.GetSecretValueOutput, error)
}

// slackToken reads the bot token from a secret holding either the token
// itself or a JSON object {"bot_token": "..."}.
func slackToken(ctx context.Context, sm SecretsAPI, id string) (string, error) {
	return SecretValue(ctx, sm, id, "Slack token secret", "token", "bot_token")
}

// SecretValue reads a secret that holds a value itself or a JSON object
// with the value under key. label names the secret in errors ("Slack token
// secret") and noun the value ("token"); the value is never in an error.
func SecretValue(ctx context.Context, sm SecretsAPI, id, label, noun, key string) (string, error) {
	out, err := sm.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String(id)})
	if err != nil {
		return "", fmt.Errorf("read %s %s: %w", label, id, err)
	}
	if out.SecretString == nil && len(out.SecretBinary) > 0 {
		// Not "empty": the operator stored the value the wrong way.
		return "", fmt.Errorf("%s %s holds binary data; store the %s as a secret string", label, id, noun)
	}
	v := strings.TrimSpace(aws.ToString(out.SecretString))
	if strings.HasPrefix(v, "{") {
		var doc map[string]json.RawMessage
		var val string
		err := json.Unmarshal([]byte(v), &doc)
		if raw, ok := doc[key]; err == nil && ok {
			err = json.Unmarshal(raw, &val)
		}
		if err != nil {
			return "", fmt.Errorf("%s %s: not a %s and not JSON: %w", label, id, noun, err)
		}
		v = strings.TrimSpace(val)
	}
	if v == "" {
		return "", fmt.Errorf("%s %s is empty (want the %s or {\"%s\": ...})", label, id, noun, key)
	}
	return v, nil
}
