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

	"github.com/driftwatch/driftwatch/shared/fnenv"
)

// Config is everything the Azure function reads from its app settings.
// The Slack bot token is a Key Vault reference the platform resolves
// (infra/azure), so it arrives as a plain setting.
type Config struct {
	// Common is what every function reads: the posture store and its AWS
	// federation, Slack, rules, accounts (subscriptions), governance, log
	// level.
	fnenv.Common
	// ARMEndpoint overrides https://management.azure.com
	// (DRIFTWATCH_ARM_ENDPOINT: sovereign clouds, local fakes). It must be
	// https: the function sends bearer tokens to it.
	ARMEndpoint string
	// RemediationTopic is the endpoint of the remediation custom topic
	// (DRIFTWATCH_REMEDIATION_TOPIC, https://<topic>.<region>-1.eventgrid.azure.net/api/events):
	// fixes the policy makes automatic are published there. Without it
	// automatic fixes are not dispatched.
	RemediationTopic string
	// Subscriptions, when set, are the only subscriptions fixes may change
	// (DRIFTWATCH_AZURE_SUBSCRIPTIONS, comma-separated): a request for a
	// resource elsewhere is refused even if the identity could do it.
	Subscriptions []string
}

// ConfigFromEnv reads and validates the configuration. getenv is os.Getenv
// in production.
func ConfigFromEnv(getenv func(string) string) (Config, error) {
	common, err := fnenv.Read(getenv, "a Key Vault reference in Azure")
	if err != nil {
		return Config{}, err
	}
	c := Config{
		Common:           common,
		ARMEndpoint:      strings.TrimSpace(getenv("DRIFTWATCH_ARM_ENDPOINT")),
		RemediationTopic: strings.TrimSpace(getenv("DRIFTWATCH_REMEDIATION_TOPIC")),
	}
	for name, v := range map[string]string{"DRIFTWATCH_ARM_ENDPOINT": c.ARMEndpoint, "DRIFTWATCH_REMEDIATION_TOPIC": c.RemediationTopic} {
		if v == "" {
			continue
		}
		if u, err := url.Parse(v); err != nil || u.Scheme != "https" || u.Host == "" {
			return Config{}, fmt.Errorf("%s: %q is not an https URL", name, v)
		}
	}
	for _, s := range fnenv.List(getenv("DRIFTWATCH_AZURE_SUBSCRIPTIONS")) {
		c.Subscriptions = append(c.Subscriptions, strings.ToLower(s))
	}
	return c, nil
}

// LogValue keeps the Slack token out of logs should anyone log the whole
// configuration.
func (c Config) LogValue() slog.Value {
	return slog.GroupValue(append(c.LogAttrs(),
		slog.String("arm_endpoint", c.ARMEndpoint), slog.String("remediation_topic", c.RemediationTopic),
		slog.Any("subscriptions", c.Subscriptions))...)
}
