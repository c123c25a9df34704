package gcpdetector

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/driftwatch/driftwatch/shared/change"
	"github.com/driftwatch/driftwatch/shared/gcpapi"
	"github.com/driftwatch/driftwatch/shared/gcpbus"
	"github.com/driftwatch/driftwatch/shared/gcpfetch"
	"github.com/driftwatch/driftwatch/shared/gcpremedy"
	"github.com/driftwatch/driftwatch/shared/pipeline"
	"github.com/driftwatch/driftwatch/shared/remediation"
	"github.com/driftwatch/driftwatch/shared/rules"
	"github.com/driftwatch/driftwatch/shared/ruleset"
)

// Deps are what the host gives the function besides its configuration.
type Deps struct {
	// API says how the Google API clients authenticate (the service
	// account's default credentials when HTTPClient is nil) and, for local
	// runs, where they send requests (Config.APIEndpoint).
	API gcpapi.Options
	// AWS reaches the posture table (awsfed with the function's Google ID
	// token).
	AWS aws.Config
	// Store, when set, is the posture store, in place of the one Config
	// names (DynamoDB or the store file): benchmarks measure the function
	// on an in-memory store.
	Store pipeline.Store
	// Topic publishes automatic fixes to the remediation topic; nil when
	// Config.RemediationTopic is not set.
	Topic gcpbus.PublishAPI
	// Logger receives structured logs; nil discards them.
	Logger *slog.Logger
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// Function is the wired GCP function: the two things shared/gcpfunc (or
// the pull loop) hands messages to.
type Function struct {
	// Detector runs audit-log changes (gcpfunc.Processor).
	Detector *pipeline.Detector
	// Executor runs remediation requests (gcpfunc.Executor).
	Executor *remediation.Executor
	// Engine and Store are exposed for tests and tools.
	Engine *rules.Engine
	Store  pipeline.Store
}

// New builds the function. Everything that can fail (rules that do not
// compile, a policy naming unknown rules or actions, a store file that
// cannot be read) fails here, at start, not on an event.
func New(ctx context.Context, c Config, d Deps) (*Function, error) {
	log := d.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	api := d.API
	if c.APIEndpoint != "" {
		api.Endpoint = c.APIEndpoint
	}
	engine, err := ruleset.Compile([]change.Cloud{change.GCP}, c.RulesDir, c.DisabledRules)
	if err != nil {
		return nil, err
	}
	st := d.Store
	if st == nil {
		if st, err = c.Store(d.AWS); err != nil {
			return nil, err
		}
	}
	notifier, err := c.Notifier(log)
	if err != nil {
		return nil, err
	}
	actions, err := gcpremedy.New(ctx, &gcpremedy.Options{API: api, Projects: c.Projects, Logger: log, Now: d.Now})
	if err != nil {
		return nil, fmt.Errorf("remediation actions: %w", err)
	}
	policy, err := ruleset.LoadPolicy(c.GovernanceFile, c.RulesDir, actions)
	if err != nil {
		return nil, err
	}
	fetcher, err := gcpfetch.New(ctx, &gcpfetch.Options{API: api, Now: d.Now, Logger: log})
	if err != nil {
		return nil, fmt.Errorf("fetchers: %w", err)
	}
	opts := &pipeline.Options{
		Logger:     log,
		Now:        d.Now,
		Accounts:   c.Accounts,
		ConsoleURL: ruleset.ConsoleURL,
		Governor:   ruleset.Governor{Policy: policy},
		Planner:    ruleset.Planner{Actions: actions},
	}
	if d.Topic != nil {
		opts.Dispatcher = gcpbus.NewDispatcher(d.Topic, &gcpbus.DispatcherOptions{Now: d.Now})
	}
	det := pipeline.New(fetcher, engine, st, notifier, opts)
	exec := remediation.NewExecutor(st, fetcher, actions, det, log, d.Now)
	return &Function{Detector: det, Executor: exec, Engine: engine, Store: st}, nil
}
