package azdetector

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/arm"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/driftwatch/driftwatch/shared/azbus"
	"github.com/driftwatch/driftwatch/shared/azfetch"
	"github.com/driftwatch/driftwatch/shared/azremedy"
	"github.com/driftwatch/driftwatch/shared/change"
	"github.com/driftwatch/driftwatch/shared/pipeline"
	"github.com/driftwatch/driftwatch/shared/remediation"
	"github.com/driftwatch/driftwatch/shared/rules"
	"github.com/driftwatch/driftwatch/shared/ruleset"
)

// Deps are what the host gives the function besides its configuration.
type Deps struct {
	// Credential is the function's Azure identity (its managed identity
	// in Azure), for ARM reads and fixes.
	Credential azcore.TokenCredential
	// ARM are the ARM client options (the cloud, retries, transport).
	ARM arm.ClientOptions
	// Transports replace ARM.Transport per SDK client or provider (see
	// azfetch.Options); tests plug the SDK's fake servers in here.
	Transports map[string]policy.Transporter
	// AWS reaches the posture table (awsfed in Azure).
	AWS aws.Config
	// Store, when set, is the posture store, in place of the one Config
	// names (DynamoDB or the store file): benchmarks measure the function
	// on an in-memory store.
	Store pipeline.Store
	// Topic publishes automatic fixes to the remediation topic; nil when
	// Config.RemediationTopic is not set.
	Topic azbus.PublishEventsAPI
	// Logger receives structured logs; nil discards them.
	Logger *slog.Logger
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// Function is the wired Azure function: the two things shared/azfunc
// hands deliveries to.
type Function struct {
	// Detector runs resource events (azfunc.Processor).
	Detector *pipeline.Detector
	// Executor runs remediation requests (azfunc.Executor).
	Executor *remediation.Executor
	// Engine and Store are exposed for tests and tools.
	Engine *rules.Engine
	Store  pipeline.Store
}

// New builds the function. Everything that can fail (rules that do not
// compile, a policy naming unknown rules, a store file that cannot be read)
// fails here, at start, not on an event.
func New(ctx context.Context, c Config, d Deps) (*Function, error) {
	log := d.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	engine, err := ruleset.Compile([]change.Cloud{change.Azure}, c.RulesDir, c.DisabledRules)
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
	actions, err := azremedy.New(d.Credential, &azremedy.Options{ClientOptions: d.ARM, Transports: d.Transports, Subscriptions: c.Subscriptions, Logger: log})
	if err != nil {
		return nil, fmt.Errorf("remediation actions: %w", err)
	}
	policy, err := ruleset.LoadPolicy(c.GovernanceFile, c.RulesDir, actions)
	if err != nil {
		return nil, err
	}
	fetcher := azfetch.New(d.Credential, &azfetch.Options{ClientOptions: d.ARM, Transports: d.Transports, Now: d.Now, Logger: log})
	opts := &pipeline.Options{
		Logger:     log,
		Now:        d.Now,
		Accounts:   c.Accounts,
		ConsoleURL: ruleset.ConsoleURL,
		Governor:   ruleset.Governor{Policy: policy},
		Planner:    ruleset.Planner{Actions: actions},
	}
	if d.Topic != nil {
		opts.Dispatcher = azbus.NewDispatcher(d.Topic, &azbus.DispatcherOptions{Now: d.Now})
	}
	det := pipeline.New(fetcher, engine, st, notifier, opts)
	exec := remediation.NewExecutor(st, fetcher, actions, det, log, d.Now)
	return &Function{Detector: det, Executor: exec, Engine: engine, Store: st}, nil
}
