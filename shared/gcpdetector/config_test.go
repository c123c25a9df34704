package gcpdetector_test

import (
	"log/slog"
	"reflect"
	"strings"
	"testing"

	"github.com/driftwatch/driftwatch/shared/awsfed"
	"github.com/driftwatch/driftwatch/shared/fnenv"
	"github.com/driftwatch/driftwatch/shared/gcpdetector"
	"github.com/driftwatch/driftwatch/shared/pipeline"
)

func with(base map[string]string, kv ...string) map[string]string {
	m := map[string]string{}
	for k, v := range base {
		m[k] = v
	}
	for i := 0; i+1 < len(kv); i += 2 {
		m[kv[i]] = kv[i+1]
	}
	return m
}

func TestConfigFromEnv(t *testing.T) {
	base := map[string]string{
		"DRIFTWATCH_TABLE":              "driftwatch-posture",
		"DRIFTWATCH_AWS_ROLE_ARN":       "arn:aws:iam::123456789012:role/driftwatch-gcp",
		"DRIFTWATCH_AWS_REGION":         "eu-west-1",
		"DRIFTWATCH_AWS_TOKEN_AUDIENCE": "driftwatch-aws",
		"SLACK_CHANNEL":                 "C0DRIFT",
		"SLACK_BOT_TOKEN":               "xoxb-1",
	}
	want := gcpdetector.Config{Mode: gcpdetector.ModePush, Common: fnenv.Common{
		Table: "driftwatch-posture", SlackChannel: "C0DRIFT", SlackToken: "xoxb-1",
		AWS: awsfed.Env{RoleARN: "arn:aws:iam::123456789012:role/driftwatch-gcp", Region: "eu-west-1", Audience: "driftwatch-aws"},
	}}
	tests := []struct {
		name    string
		env     map[string]string
		want    func(*gcpdetector.Config)
		wantErr string
	}{
		{name: "minimal", env: base, want: func(*gcpdetector.Config) {}},
		{
			name: "everything, pull mode",
			env: with(base,
				"DRIFTWATCH_MODE", "Pull",
				"DRIFTWATCH_AUDIT_SUBSCRIPTION", "projects/sec-tools-1/subscriptions/driftwatch-audit",
				"DRIFTWATCH_REMEDIATION_SUBSCRIPTION", "projects/sec-tools-1/subscriptions/driftwatch-remediation",
				"DRIFTWATCH_REMEDIATION_TOPIC", "projects/sec-tools-1/topics/driftwatch-remediation",
				"DRIFTWATCH_GCP_PROJECTS", " payments-prod-7, ,shop-staging",
				"DRIFTWATCH_GCP_API_ENDPOINT", "http://127.0.0.1:4443",
				"DRIFTWATCH_ACCOUNTS", `{"payments-prod-7": {"name": "Payments (prod)", "environment": "prod"}}`,
				"DRIFTWATCH_DISABLED_RULES", "gcp_kms_rotation_90_days, gcp_sql_backups_enabled",
				"SLACK_API_URL", "http://127.0.0.1:9999/api",
				"DRIFTWATCH_LOG_LEVEL", "debug",
				"DRIFTWATCH_AWS_ENDPOINT_URL", "http://127.0.0.1:5000",
				"DRIFTWATCH_AWS_TOKEN_FILE", "/var/run/token"),
			want: func(c *gcpdetector.Config) {
				c.Mode = gcpdetector.ModePull
				c.AuditSubscription = "projects/sec-tools-1/subscriptions/driftwatch-audit"
				c.RemediationSubscription = "projects/sec-tools-1/subscriptions/driftwatch-remediation"
				c.RemediationTopic = "projects/sec-tools-1/topics/driftwatch-remediation"
				c.Projects = []string{"payments-prod-7", "shop-staging"}
				c.APIEndpoint = "http://127.0.0.1:4443"
				c.Accounts = map[string]pipeline.Account{"payments-prod-7": {Name: "Payments (prod)", Environment: "prod"}}
				c.DisabledRules = []string{"gcp_kms_rotation_90_days", "gcp_sql_backups_enabled"}
				c.SlackAPIURL = "http://127.0.0.1:9999/api/"
				c.LogLevel = slog.LevelDebug
				c.AWSEndpoint = "http://127.0.0.1:5000"
				c.AWSTokenFile = "/var/run/token"
			},
		},
		{
			name: "embedded store needs no federation",
			env:  map[string]string{"DRIFTWATCH_STORE_FILE": "/tmp/posture.json", "SLACK_CHANNEL": "C0DRIFT", "SLACK_BOT_TOKEN": "xoxb-1"},
			want: func(c *gcpdetector.Config) { c.Table, c.StoreFile, c.AWS = "", "/tmp/posture.json", awsfed.Env{} },
		},
		{name: "unknown mode", env: with(base, "DRIFTWATCH_MODE", "poll"), wantErr: `DRIFTWATCH_MODE: "poll" is not push or pull`},
		{name: "pull without subscription", env: with(base, "DRIFTWATCH_MODE", "pull"), wantErr: "DRIFTWATCH_AUDIT_SUBSCRIPTION is required in pull mode"},
		{name: "subscription in push mode", env: with(base, "DRIFTWATCH_AUDIT_SUBSCRIPTION", "projects/sec-tools-1/subscriptions/a-b-c"), wantErr: "are for pull mode"},
		{name: "subscription by short name", env: with(base, "DRIFTWATCH_MODE", "pull", "DRIFTWATCH_AUDIT_SUBSCRIPTION", "driftwatch-audit"), wantErr: `DRIFTWATCH_AUDIT_SUBSCRIPTION: "driftwatch-audit" is not a subscription name`},
		{name: "topic by short name", env: with(base, "DRIFTWATCH_REMEDIATION_TOPIC", "driftwatch-remediation"), wantErr: `DRIFTWATCH_REMEDIATION_TOPIC: "driftwatch-remediation" is not a topic name`},
		{name: "project by number", env: with(base, "DRIFTWATCH_GCP_PROJECTS", "123456789"), wantErr: `DRIFTWATCH_GCP_PROJECTS: "123456789" is not a project id`},
		{name: "no store", env: with(base, "DRIFTWATCH_TABLE", ""), wantErr: "DRIFTWATCH_TABLE is required (or DRIFTWATCH_STORE_FILE for a local embedded store)"},
		{name: "two stores", env: with(base, "DRIFTWATCH_STORE_FILE", "/tmp/p.json"), wantErr: "set only one of DRIFTWATCH_TABLE and DRIFTWATCH_STORE_FILE"},
		{name: "no channel", env: with(base, "SLACK_CHANNEL", ""), wantErr: "SLACK_CHANNEL is required"},
		{name: "no token", env: with(base, "SLACK_BOT_TOKEN", " "), wantErr: "SLACK_BOT_TOKEN is required (a Secret Manager secret in Google Cloud)"},
		{name: "no role", env: with(base, "DRIFTWATCH_AWS_ROLE_ARN", ""), wantErr: "DRIFTWATCH_AWS_ROLE_ARN"},
		{name: "API endpoint with a path", env: with(base, "DRIFTWATCH_GCP_API_ENDPOINT", "http://127.0.0.1:4443/storage/v1"), wantErr: `DRIFTWATCH_GCP_API_ENDPOINT: "http://127.0.0.1:4443/storage/v1" is not an absolute http(s) URL of a host`},
		{name: "relative AWS endpoint", env: with(base, "DRIFTWATCH_AWS_ENDPOINT_URL", "localhost"), wantErr: `DRIFTWATCH_AWS_ENDPOINT_URL: "localhost" is not an absolute http(s) URL`},
		{name: "account by display name", env: with(base, "DRIFTWATCH_ACCOUNTS", `{"Payments Prod": {"name": "payments"}}`), wantErr: `DRIFTWATCH_ACCOUNTS: "Payments Prod" is not a 12-digit AWS account id, an Azure subscription id (a lower-case GUID) or a GCP project id`},
		{name: "log level", env: with(base, "DRIFTWATCH_LOG_LEVEL", "verbose"), wantErr: `DRIFTWATCH_LOG_LEVEL: "verbose" is not one of debug, info, warn, error`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := gcpdetector.ConfigFromEnv(func(k string) string { return tt.env[k] })
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error = %v, want it to contain %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			w := want
			tt.want(&w)
			if !reflect.DeepEqual(got, w) {
				t.Errorf("config =\n%+v\nwant\n%+v", got, w)
			}
		})
	}
}

func TestConfigLogValueHidesTheToken(t *testing.T) {
	c := gcpdetector.Config{Common: fnenv.Common{SlackToken: "xoxb-secret-token", Table: "t"}}
	var b strings.Builder
	slog.New(slog.NewJSONHandler(&b, nil)).Info("config", "config", c)
	if strings.Contains(b.String(), "xoxb-secret-token") || !strings.Contains(b.String(), "REDACTED") {
		t.Fatalf("log = %s", b.String())
	}
}
