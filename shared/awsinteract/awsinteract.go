// Package awsinteract wires the interactivity function: Slack's button
// clicks and modal submissions arrive at a Lambda Function URL (or, locally,
// a plain HTTP server), are verified, and become recorded approvals, undo
// requests and accepted risks; the work itself is dispatched to the
// resource's cloud: on the driftwatch EventBridge bus to the AWS remediator,
// and, when configured, to the Azure remediation Event Grid topic (as an
// Entra application federated with the function's role, see entrafed) and
// to the GCP remediation Pub/Sub topic (as a service account impersonated
// by workload identity federation with the function's role, see gcpfed).
// The function holds no cloud read or write permission.
package awsinteract

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"regexp"
	"strings"

	"cloud.google.com/go/pubsub/v2"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/messaging/eventgrid/azeventgrid"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"google.golang.org/api/option"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/driftwatch/driftwatch/shared/approval"
	"github.com/driftwatch/driftwatch/shared/awsbus"
	"github.com/driftwatch/driftwatch/shared/awsdetector"
	"github.com/driftwatch/driftwatch/shared/azbus"
	"github.com/driftwatch/driftwatch/shared/change"
	"github.com/driftwatch/driftwatch/shared/entrafed"
	"github.com/driftwatch/driftwatch/shared/gcpbus"
	"github.com/driftwatch/driftwatch/shared/gcpfed"
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

	// AzureTopic is the endpoint of the Event Grid custom topic approved
	// Azure fixes are published to (DRIFTWATCH_AZURE_REMEDIATION_TOPIC,
	// https://<topic>.<region>-1.eventgrid.azure.net/api/events). Without
	// it, approving a fix of an Azure finding fails with "no remediation
	// bus configured for azure resources".
	AzureTopic string
	// AzureTenantID and AzurePublisherClientID are the Entra tenant and the
	// application the function publishes as (DRIFTWATCH_AZURE_TENANT_ID,
	// DRIFTWATCH_AZURE_PUBLISHER_CLIENT_ID): its federated identity
	// credential trusts the AWS tokens of the function's role
	// (sts:GetWebIdentityToken), so no secret exists anywhere.
	AzureTenantID          string
	AzurePublisherClientID string
	// AzureTopicKey is the topic's access key instead
	// (DRIFTWATCH_AZURE_TOPIC_KEY; local runs only: the deployed topic has
	// key authentication turned off). It is never logged.
	AzureTopicKey string

	// GCPTopic is the Pub/Sub topic approved GCP fixes are published to
	// (DRIFTWATCH_GCP_REMEDIATION_TOPIC, projects/<project>/topics/<topic>).
	// Without it, approving a fix of a GCP finding fails with "no
	// remediation bus configured for gcp resources".
	GCPTopic string
	// GCPWIFAudience and GCPPublisherServiceAccount are the workload
	// identity pool provider trusting the function's AWS account and the
	// service account the function publishes as
	// (DRIFTWATCH_GCP_WIF_AUDIENCE,
	// //iam.googleapis.com/projects/<number>/locations/global/workloadIdentityPools/<pool>/providers/<provider>;
	// DRIFTWATCH_GCP_PUBLISHER_SERVICE_ACCOUNT, its email): the function's
	// role credentials sign the subject token, so no secret exists
	// anywhere.
	GCPWIFAudience             string
	GCPPublisherServiceAccount string
	// GCPEmulatorHost is the Pub/Sub emulator instead (the standard
	// PUBSUB_EMULATOR_HOST, host:port; local runs only), reached without
	// credentials. Without a topic it is ignored: a local run may export
	// it for every function.
	GCPEmulatorHost string
}

// Azure publishing variables.
const (
	envAzureTopic    = "DRIFTWATCH_AZURE_REMEDIATION_TOPIC"
	envAzureTenant   = "DRIFTWATCH_AZURE_TENANT_ID"
	envAzureClientID = "DRIFTWATCH_AZURE_PUBLISHER_CLIENT_ID"
	envAzureTopicKey = "DRIFTWATCH_AZURE_TOPIC_KEY"
)

// GCP publishing variables.
const (
	envGCPTopic          = "DRIFTWATCH_GCP_REMEDIATION_TOPIC"
	envGCPAudience       = "DRIFTWATCH_GCP_WIF_AUDIENCE"
	envGCPServiceAccount = "DRIFTWATCH_GCP_PUBLISHER_SERVICE_ACCOUNT"
	envGCPEmulator       = "PUBSUB_EMULATOR_HOST"
)

var (
	guid = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)
	// tenantName is what Entra accepts as a tenant: its GUID or one of its
	// domains (contoso.onmicrosoft.com).
	tenantName = regexp.MustCompile(`^[0-9A-Za-z][0-9A-Za-z.-]*$`)
	// gcpTopic is a Pub/Sub topic's full name: a project id (6 to 30
	// lower-case letters, digits and hyphens) and a topic id (3 to 255
	// characters, starting with a letter, not with "goog").
	gcpTopic = regexp.MustCompile(`^projects/[a-z][a-z0-9-]{4,28}[a-z0-9]/topics/[A-Za-z][A-Za-z0-9._~+%-]{2,254}$`)
)

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
	if err := c.readAzure(getenv); err != nil {
		return Config{}, err
	}
	if err := c.readGCP(getenv); err != nil {
		return Config{}, err
	}
	return c, nil
}

// readAzure reads the optional Azure publishing group: the topic and
// exactly one way to authenticate to it.
func (c *Config) readAzure(getenv func(string) string) error {
	c.AzureTopic = strings.TrimSpace(getenv(envAzureTopic))
	c.AzureTenantID = strings.TrimSpace(getenv(envAzureTenant))
	c.AzurePublisherClientID = strings.TrimSpace(getenv(envAzureClientID))
	c.AzureTopicKey = strings.TrimSpace(getenv(envAzureTopicKey))
	entra := c.AzureTenantID != "" || c.AzurePublisherClientID != ""
	if c.AzureTopic == "" {
		for _, v := range []struct{ name, val string }{
			{envAzureTenant, c.AzureTenantID}, {envAzureClientID, c.AzurePublisherClientID}, {envAzureTopicKey, c.AzureTopicKey},
		} {
			if v.val != "" {
				return fmt.Errorf("%s is set but %s is not: set the topic approved Azure fixes are published to, or unset %s", v.name, envAzureTopic, v.name)
			}
		}
		return nil
	}
	u, err := url.Parse(c.AzureTopic)
	switch {
	case err == nil && u.User != nil:
		return fmt.Errorf("%s: %q is not an absolute https URL (the topic endpoint, https://<topic>.<region>-1.eventgrid.azure.net/api/events)", envAzureTopic, u.Redacted())
	case err != nil || u.Scheme != "https" || u.Host == "":
		return fmt.Errorf("%s: %q is not an absolute https URL (the topic endpoint, https://<topic>.<region>-1.eventgrid.azure.net/api/events)", envAzureTopic, c.AzureTopic)
	case u.Path != "/api/events" || u.RawQuery != "" || u.Fragment != "":
		return fmt.Errorf("%s: %q is not a topic endpoint: it ends with /api/events (https://<topic>.<region>-1.eventgrid.azure.net/api/events)", envAzureTopic, c.AzureTopic)
	case entra && c.AzureTopicKey != "":
		return fmt.Errorf("set either %s and %s (Entra, federated with the function's role) or %s (local runs only), not both", envAzureTenant, envAzureClientID, envAzureTopicKey)
	case !entra && c.AzureTopicKey == "":
		return fmt.Errorf("%s needs credentials: %s and %s (Entra, federated with the function's role), or %s (local runs only)", envAzureTopic, envAzureTenant, envAzureClientID, envAzureTopicKey)
	case c.AzureTopicKey != "":
		return nil
	case c.AzureTenantID == "":
		return fmt.Errorf("%s is required with %s", envAzureTenant, envAzureClientID)
	case c.AzurePublisherClientID == "":
		return fmt.Errorf("%s is required with %s", envAzureClientID, envAzureTenant)
	case !tenantName.MatchString(c.AzureTenantID):
		return fmt.Errorf("%s: %q is not a tenant id (a GUID, or one of the tenant's domains)", envAzureTenant, c.AzureTenantID)
	case !guid.MatchString(c.AzurePublisherClientID):
		return fmt.Errorf("%s: %q is not an application (client) id, a GUID", envAzureClientID, c.AzurePublisherClientID)
	}
	return nil
}

// readGCP reads the optional GCP publishing group: the topic and exactly
// one way to reach it.
func (c *Config) readGCP(getenv func(string) string) error {
	c.GCPTopic = strings.TrimSpace(getenv(envGCPTopic))
	c.GCPWIFAudience = strings.TrimSpace(getenv(envGCPAudience))
	c.GCPPublisherServiceAccount = strings.TrimSpace(getenv(envGCPServiceAccount))
	emulator := strings.TrimSpace(getenv(envGCPEmulator))
	wif := c.GCPWIFAudience != "" || c.GCPPublisherServiceAccount != ""
	if c.GCPTopic == "" {
		for _, v := range []struct{ name, val string }{
			{envGCPAudience, c.GCPWIFAudience}, {envGCPServiceAccount, c.GCPPublisherServiceAccount},
		} {
			if v.val != "" {
				return fmt.Errorf("%s is set but %s is not: set the topic approved GCP fixes are published to, or unset %s", v.name, envGCPTopic, v.name)
			}
		}
		return nil
	}
	c.GCPEmulatorHost = emulator
	const creds = "DRIFTWATCH_GCP_WIF_AUDIENCE and DRIFTWATCH_GCP_PUBLISHER_SERVICE_ACCOUNT (workload identity federation with the function's role)"
	switch {
	case !gcpTopic.MatchString(c.GCPTopic) || strings.HasPrefix(c.GCPTopic[strings.LastIndex(c.GCPTopic, "/")+1:], "goog"):
		return fmt.Errorf("%s: %q is not a Pub/Sub topic name (projects/<project>/topics/<topic>)", envGCPTopic, c.GCPTopic)
	case wif && emulator != "":
		return fmt.Errorf("set either %s or %s (local runs only), not both", creds, envGCPEmulator)
	case !wif && emulator == "":
		return fmt.Errorf("%s needs credentials: %s, or %s (local runs only)", envGCPTopic, creds, envGCPEmulator)
	case emulator != "":
		if host, port, err := net.SplitHostPort(emulator); err != nil || host == "" || port == "" {
			return fmt.Errorf("%s: %q is not host:port (the Pub/Sub emulator)", envGCPEmulator, emulator)
		}
		return nil
	case c.GCPWIFAudience == "":
		return fmt.Errorf("%s is required with %s", envGCPAudience, envGCPServiceAccount)
	case c.GCPPublisherServiceAccount == "":
		return fmt.Errorf("%s is required with %s", envGCPServiceAccount, envGCPAudience)
	case !gcpfed.ValidAudience(c.GCPWIFAudience):
		return fmt.Errorf("%s: %q is not a workload identity pool provider (//iam.googleapis.com/projects/<number>/locations/global/workloadIdentityPools/<pool>/providers/<provider>)", envGCPAudience, c.GCPWIFAudience)
	case !gcpfed.ValidServiceAccount(c.GCPPublisherServiceAccount):
		return fmt.Errorf("%s: %q is not a service account email (<name>@<project>.iam.gserviceaccount.com)", envGCPServiceAccount, c.GCPPublisherServiceAccount)
	}
	return nil
}

// LogValue keeps the signing secret and the topic key out of logs should
// anyone log the whole configuration (the detector's part redacts the
// Slack token).
func (c Config) LogValue() slog.Value {
	redact := func(s string) string {
		if s == "" {
			return ""
		}
		return "REDACTED"
	}
	return slog.GroupValue(
		slog.Any("detector", c.Config),
		slog.String("signing_secret", redact(c.SigningSecret)), slog.String("signing_secret_secret", c.SigningSecretSecret),
		slog.Any("response_url_prefixes", c.ResponseURLPrefixes),
		slog.String("azure_topic", c.AzureTopic), slog.String("azure_tenant_id", c.AzureTenantID),
		slog.String("azure_publisher_client_id", c.AzurePublisherClientID), slog.String("azure_topic_key", redact(c.AzureTopicKey)),
		// Nothing of the GCP group is secret: federation has none.
		slog.String("gcp_topic", c.GCPTopic), slog.String("gcp_wif_audience", c.GCPWIFAudience),
		slog.String("gcp_publisher_service_account", c.GCPPublisherServiceAccount), slog.String("gcp_emulator_host", c.GCPEmulatorHost),
	)
}

// Deps are what the host gives the function besides its configuration.
type Deps struct {
	// AWS is the function's AWS configuration: the table, the bus, Secrets
	// Manager and, for the Entra credential, STS (regional).
	AWS aws.Config
	// Azure are the client options of the Event Grid publisher and of the
	// Entra credential (cloud, transport, retries); the zero value is
	// Azure's public cloud. Tests point Cloud and Transport at local fakes.
	Azure azcore.ClientOptions
	// DisableInstanceDiscovery skips Entra's instance discovery, for an
	// authority host the SDK does not know (a local fake in tests).
	DisableInstanceDiscovery bool
	// GCP are further options of the Pub/Sub client, after the
	// credentials (tests: the emulated endpoint and its TLS).
	GCP []option.ClientOption
	// GCPFederation overrides the federation's endpoints and HTTP client
	// (TokenURL, IAMCredentialsURL, HTTPClient; tests point them at
	// gcpfedtest); the audience and service account are the Config's.
	GCPFederation gcpfed.Config
	// Logger receives structured logs; nil discards them.
	Logger *slog.Logger
}

// New builds the interactivity endpoint (an http.Handler; see
// slackinteract.FunctionURL for Lambda) with Azure's public cloud.
func New(ctx context.Context, c Config, awsCfg aws.Config, log *slog.Logger) (*slackinteract.Handler, error) {
	return NewWithDeps(ctx, c, Deps{AWS: awsCfg, Logger: log})
}

// NewWithDeps is New with every dependency explicit.
func NewWithDeps(ctx context.Context, c Config, d Deps) (*slackinteract.Handler, error) {
	log, awsCfg := d.Logger, d.AWS
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
	if c.AzureTopic != "" {
		topic, err := newAzureTopic(c, d)
		if err != nil {
			return nil, err
		}
		dispatcher[change.Azure] = azbus.NewDispatcher(topic, nil)
		auth := "entra"
		if c.AzureTopicKey != "" {
			auth = "topic key"
		}
		log.Info("azure remediation topic configured", "topic", c.AzureTopic, "auth", auth,
			"tenant_id", c.AzureTenantID, "client_id", c.AzurePublisherClientID)
	}
	if c.GCPTopic != "" {
		pub, err := newGCPTopic(ctx, c, d)
		if err != nil {
			return nil, err
		}
		dispatcher[change.GCP] = gcpbus.NewDispatcher(gcpbus.Publisher{P: pub}, nil)
		auth := "workload identity federation"
		if c.GCPEmulatorHost != "" {
			auth = "emulator"
		}
		log.Info("gcp remediation topic configured", "topic", c.GCPTopic, "auth", auth,
			"wif_audience", c.GCPWIFAudience, "service_account", c.GCPPublisherServiceAccount, "emulator_host", c.GCPEmulatorHost)
	}
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

// newAzureTopic is the Event Grid publisher of the Azure remediation topic:
// as the Entra application federated with the function's role, or with the
// topic key (local runs). It does no I/O; the first publish authenticates.
func newAzureTopic(c Config, d Deps) (*azeventgrid.Client, error) {
	opts := &azeventgrid.ClientOptions{ClientOptions: d.Azure}
	if c.AzureTopicKey != "" {
		client, err := azeventgrid.NewClientWithSharedKeyCredential(c.AzureTopic, azcore.NewKeyCredential(c.AzureTopicKey), opts)
		if err != nil {
			return nil, fmt.Errorf("azure remediation topic: %w", err)
		}
		return client, nil
	}
	cred, err := entrafed.NewCredential(c.AzureTenantID, c.AzurePublisherClientID, sts.NewFromConfig(d.AWS), &entrafed.Options{
		ClientOptions: d.Azure, DisableInstanceDiscovery: d.DisableInstanceDiscovery,
	})
	if err != nil {
		return nil, fmt.Errorf("azure remediation topic: %w", err)
	}
	client, err := azeventgrid.NewClient(c.AzureTopic, cred, opts)
	if err != nil {
		return nil, fmt.Errorf("azure remediation topic: %w", err)
	}
	return client, nil
}

// newGCPTopic is the publisher of the GCP remediation topic: as the
// service account impersonated by workload identity federation with the
// function's role, or on the emulator without credentials (local runs).
// It does no I/O; the first publish authenticates. The client lives as
// long as the function.
func newGCPTopic(ctx context.Context, c Config, d Deps) (*pubsub.Publisher, error) {
	// The topic name was validated: projects/<project>/topics/<topic>.
	project := strings.Split(c.GCPTopic, "/")[1]
	var opts []option.ClientOption
	if c.GCPEmulatorHost != "" {
		// What the client library does itself when the process has
		// PUBSUB_EMULATOR_HOST; here from the configuration, read once.
		opts = append(opts, option.WithEndpoint(c.GCPEmulatorHost), option.WithoutAuthentication(),
			option.WithGRPCDialOption(grpc.WithTransportCredentials(insecure.NewCredentials())), option.WithTelemetryDisabled())
	} else {
		fed := d.GCPFederation
		fed.Audience, fed.ServiceAccount = c.GCPWIFAudience, c.GCPPublisherServiceAccount
		ts, err := gcpfed.NewTokenSource(ctx, fed, d.AWS)
		if err != nil {
			return nil, fmt.Errorf("gcp remediation topic: %w", err)
		}
		opts = append(opts, option.WithTokenSource(ts))
	}
	opts = append(opts, d.GCP...)
	client, err := pubsub.NewClient(context.WithoutCancel(ctx), project, opts...)
	if err != nil {
		return nil, fmt.Errorf("gcp remediation topic: %w", err)
	}
	return gcpbus.NewPublisher(client, c.GCPTopic).P, nil
}
