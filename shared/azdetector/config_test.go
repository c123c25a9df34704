package azdetector_test

import (
	"log/slog"
	"reflect"
	"strings"
	"testing"

	"github.com/driftwatch/driftwatch/shared/awsfed"
	"github.com/driftwatch/driftwatch/shared/azdetector"
	"github.com/driftwatch/driftwatch/shared/fnenv"
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
		"DRIFTWATCH_AWS_ROLE_ARN":       "arn:aws:iam::123456789012:role/driftwatch-azure",
		"DRIFTWATCH_AWS_REGION":         "eu-west-1",
		"DRIFTWATCH_AWS_TOKEN_AUDIENCE": "api://driftwatch-aws",
		"SLACK_CHANNEL":                 "C0DRIFT",
		"SLACK_BOT_TOKEN":               "xoxb-1",
	}
	want := azdetector.Config{Common: fnenv.Common{
		Table: "driftwatch-posture", SlackChannel: "C0DRIFT", SlackToken: "xoxb-1",
		AWS: awsfed.Env{RoleARN: "arn:aws:iam::123456789012:role/driftwatch-azure", Region: "eu-west-1", Audience: "api://driftwatch-aws"},
	}}
	tests := []struct {
		name    string
		env     map[string]string
		want    func(*azdetector.Config)
		wantErr string
	}{
		{name: "minimal", env: base, want: func(*azdetector.Config) {}},
		{
			name: "everything",
			env: with(base,
				"DRIFTWATCH_ARM_ENDPOINT", "https://management.chinacloudapi.cn",
				"DRIFTWATCH_REMEDIATION_TOPIC", "https://fixes.westeurope-1.eventgrid.azure.net/api/events",
				"DRIFTWATCH_AZURE_SUBSCRIPTIONS", " 0B1F6471-1BF0-4DDA-AEC3-CB9272F09590, ,",
				"DRIFTWATCH_ACCOUNTS", `{"0B1F6471-1BF0-4DDA-AEC3-CB9272F09590": {"name": "payments-prod"}}`,
				"DRIFTWATCH_DISABLED_RULES", "azure_storage_min_tls_1_2, azure_sql_database_tde_enabled",
				"SLACK_API_URL", "http://127.0.0.1:9999/api",
				"DRIFTWATCH_LOG_LEVEL", "debug",
				"DRIFTWATCH_AWS_ENDPOINT_URL", "http://127.0.0.1:5000",
				"DRIFTWATCH_AWS_TOKEN_FILE", "/var/run/token"),
			want: func(c *azdetector.Config) {
				c.ARMEndpoint = "https://management.chinacloudapi.cn"
				c.RemediationTopic = "https://fixes.westeurope-1.eventgrid.azure.net/api/events"
				c.Subscriptions = []string{"0b1f6471-1bf0-4dda-aec3-cb9272f09590"}
				c.Accounts = map[string]pipeline.Account{"0b1f6471-1bf0-4dda-aec3-cb9272f09590": {Name: "payments-prod"}}
				c.DisabledRules = []string{"azure_storage_min_tls_1_2", "azure_sql_database_tde_enabled"}
				c.SlackAPIURL = "http://127.0.0.1:9999/api/"
				c.LogLevel = slog.LevelDebug
				c.AWSEndpoint = "http://127.0.0.1:5000"
				c.AWSTokenFile = "/var/run/token"
			},
		},
		{
			name: "embedded store needs no federation",
			env:  map[string]string{"DRIFTWATCH_STORE_FILE": "/tmp/posture.json", "SLACK_CHANNEL": "C0DRIFT", "SLACK_BOT_TOKEN": "xoxb-1"},
			want: func(c *azdetector.Config) { c.Table, c.StoreFile, c.AWS = "", "/tmp/posture.json", awsfed.Env{} },
		},
		{name: "no store", env: with(base, "DRIFTWATCH_TABLE", ""), wantErr: "DRIFTWATCH_TABLE is required (or DRIFTWATCH_STORE_FILE for a local embedded store)"},
		{name: "two stores", env: with(base, "DRIFTWATCH_STORE_FILE", "/tmp/p.json"), wantErr: "set only one of DRIFTWATCH_TABLE and DRIFTWATCH_STORE_FILE"},
		{name: "no channel", env: with(base, "SLACK_CHANNEL", ""), wantErr: "SLACK_CHANNEL is required"},
		{name: "no token", env: with(base, "SLACK_BOT_TOKEN", " "), wantErr: "SLACK_BOT_TOKEN is required (a Key Vault reference in Azure)"},
		{name: "no role", env: with(base, "DRIFTWATCH_AWS_ROLE_ARN", ""), wantErr: "DRIFTWATCH_AWS_ROLE_ARN"},
		{name: "plain-text ARM", env: with(base, "DRIFTWATCH_ARM_ENDPOINT", "http://127.0.0.1:8443"), wantErr: `DRIFTWATCH_ARM_ENDPOINT: "http://127.0.0.1:8443" is not an https URL`},
		{name: "topic without scheme", env: with(base, "DRIFTWATCH_REMEDIATION_TOPIC", "fixes.westeurope-1.eventgrid.azure.net"), wantErr: `DRIFTWATCH_REMEDIATION_TOPIC: "fixes.westeurope-1.eventgrid.azure.net" is not an https URL`},
		{name: "relative AWS endpoint", env: with(base, "DRIFTWATCH_AWS_ENDPOINT_URL", "localhost"), wantErr: `DRIFTWATCH_AWS_ENDPOINT_URL: "localhost" is not an absolute http(s) URL`},
		{name: "account by name", env: with(base, "DRIFTWATCH_ACCOUNTS", `{"Payments": {"name": "payments"}}`), wantErr: `DRIFTWATCH_ACCOUNTS: "Payments" is not a 12-digit AWS account id, an Azure subscription id (a lower-case GUID) or a GCP project id`},
		{name: "log level", env: with(base, "DRIFTWATCH_LOG_LEVEL", "verbose"), wantErr: `DRIFTWATCH_LOG_LEVEL: "verbose" is not one of debug, info, warn, error`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := azdetector.ConfigFromEnv(func(k string) string { return tt.env[k] })
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
	c := azdetector.Config{Common: fnenv.Common{SlackToken: "xoxb-secret-token", Table: "t"}}
	var b strings.Builder
	slog.New(slog.NewJSONHandler(&b, nil)).Info("config", "config", c)
	if strings.Contains(b.String(), "xoxb-secret-token") || !strings.Contains(b.String(), "REDACTED") {
		t.Fatalf("log = %s", b.String())
	}
}
