package awsinteract_test

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"

	"github.com/driftwatch/driftwatch/shared/awsinteract"
)

const (
	testTopic    = "https://dw-remediation-x.westeurope-1.eventgrid.azure.net/api/events"
	testTenant   = "0f0e0d0c-0b0a-4909-8807-060504030201"
	testClientID = "11111111-2222-4333-8444-555555555555"
	testTopicKey = "c2VjcmV0LXRvcGljLWtleS1ub3QtdG8tbG9n"
)

// baseEnv is a valid interactivity configuration without Azure.
func baseEnv() map[string]string {
	return map[string]string{
		"DRIFTWATCH_TABLE":     "driftwatch-posture",
		"DRIFTWATCH_BUS":       "driftwatch",
		"SLACK_CHANNEL":        "C0DRIFTWATCH",
		"SLACK_BOT_TOKEN":      "xoxb-not-a-secret",
		"SLACK_SIGNING_SECRET": "signing-secret-not-a-secret",
	}
}

// The Azure publishing variables are optional as a group; when the topic is
// set, exactly one way to authenticate must be.
func TestConfigAzure(t *testing.T) {
	type azure struct{ topic, tenant, client, key string }
	tests := []struct {
		name    string
		env     map[string]string
		want    azure
		wantErr string
	}{
		{name: "none", env: map[string]string{}},
		{
			name: "entra",
			env:  map[string]string{"DRIFTWATCH_AZURE_REMEDIATION_TOPIC": testTopic, "DRIFTWATCH_AZURE_TENANT_ID": testTenant, "DRIFTWATCH_AZURE_PUBLISHER_CLIENT_ID": testClientID},
			want: azure{topic: testTopic, tenant: testTenant, client: testClientID},
		},
		{
			name: "entra with the tenant's domain, spaces trimmed",
			env:  map[string]string{"DRIFTWATCH_AZURE_REMEDIATION_TOPIC": " " + testTopic + "\n", "DRIFTWATCH_AZURE_TENANT_ID": " contoso.onmicrosoft.com ", "DRIFTWATCH_AZURE_PUBLISHER_CLIENT_ID": testClientID},
			want: azure{topic: testTopic, tenant: "contoso.onmicrosoft.com", client: testClientID},
		},
		{
			name: "topic key",
			env:  map[string]string{"DRIFTWATCH_AZURE_REMEDIATION_TOPIC": testTopic, "DRIFTWATCH_AZURE_TOPIC_KEY": testTopicKey},
			want: azure{topic: testTopic, key: testTopicKey},
		},
		{
			name:    "tenant without a topic",
			env:     map[string]string{"DRIFTWATCH_AZURE_TENANT_ID": testTenant},
			wantErr: "DRIFTWATCH_AZURE_TENANT_ID is set but DRIFTWATCH_AZURE_REMEDIATION_TOPIC is not: set the topic approved Azure fixes are published to, or unset DRIFTWATCH_AZURE_TENANT_ID",
		},
		{
			name:    "client id without a topic",
			env:     map[string]string{"DRIFTWATCH_AZURE_PUBLISHER_CLIENT_ID": testClientID},
			wantErr: "DRIFTWATCH_AZURE_PUBLISHER_CLIENT_ID is set but DRIFTWATCH_AZURE_REMEDIATION_TOPIC is not: set the topic approved Azure fixes are published to, or unset DRIFTWATCH_AZURE_PUBLISHER_CLIENT_ID",
		},
		{
			name:    "key without a topic",
			env:     map[string]string{"DRIFTWATCH_AZURE_TOPIC_KEY": testTopicKey},
			wantErr: "DRIFTWATCH_AZURE_TOPIC_KEY is set but DRIFTWATCH_AZURE_REMEDIATION_TOPIC is not: set the topic approved Azure fixes are published to, or unset DRIFTWATCH_AZURE_TOPIC_KEY",
		},
		{
			name:    "topic over http",
			env:     map[string]string{"DRIFTWATCH_AZURE_REMEDIATION_TOPIC": "http://dw-remediation-x.westeurope-1.eventgrid.azure.net/api/events", "DRIFTWATCH_AZURE_TOPIC_KEY": testTopicKey},
			wantErr: `DRIFTWATCH_AZURE_REMEDIATION_TOPIC: "http://dw-remediation-x.westeurope-1.eventgrid.azure.net/api/events" is not an absolute https URL (the topic endpoint, https://<topic>.<region>-1.eventgrid.azure.net/api/events)`,
		},
		{
			name:    "topic without a scheme",
			env:     map[string]string{"DRIFTWATCH_AZURE_REMEDIATION_TOPIC": "dw-remediation-x.westeurope-1.eventgrid.azure.net/api/events", "DRIFTWATCH_AZURE_TOPIC_KEY": testTopicKey},
			wantErr: `DRIFTWATCH_AZURE_REMEDIATION_TOPIC: "dw-remediation-x.westeurope-1.eventgrid.azure.net/api/events" is not an absolute https URL (the topic endpoint, https://<topic>.<region>-1.eventgrid.azure.net/api/events)`,
		},
		{
			name:    "topic with credentials in the URL",
			env:     map[string]string{"DRIFTWATCH_AZURE_REMEDIATION_TOPIC": "https://user:pw@dw-remediation-x.westeurope-1.eventgrid.azure.net/api/events", "DRIFTWATCH_AZURE_TOPIC_KEY": testTopicKey},
			wantErr: `DRIFTWATCH_AZURE_REMEDIATION_TOPIC: "https://user:xxxxx@dw-remediation-x.westeurope-1.eventgrid.azure.net/api/events" is not an absolute https URL (the topic endpoint, https://<topic>.<region>-1.eventgrid.azure.net/api/events)`,
		},
		{
			name:    "topic host only",
			env:     map[string]string{"DRIFTWATCH_AZURE_REMEDIATION_TOPIC": "https://dw-remediation-x.westeurope-1.eventgrid.azure.net", "DRIFTWATCH_AZURE_TOPIC_KEY": testTopicKey},
			wantErr: `DRIFTWATCH_AZURE_REMEDIATION_TOPIC: "https://dw-remediation-x.westeurope-1.eventgrid.azure.net" is not a topic endpoint: it ends with /api/events (https://<topic>.<region>-1.eventgrid.azure.net/api/events)`,
		},
		{
			name:    "topic with a query",
			env:     map[string]string{"DRIFTWATCH_AZURE_REMEDIATION_TOPIC": testTopic + "?api-version=2018-01-01", "DRIFTWATCH_AZURE_TOPIC_KEY": testTopicKey},
			wantErr: `DRIFTWATCH_AZURE_REMEDIATION_TOPIC: "` + testTopic + `?api-version=2018-01-01" is not a topic endpoint: it ends with /api/events (https://<topic>.<region>-1.eventgrid.azure.net/api/events)`,
		},
		{
			name:    "topic without credentials",
			env:     map[string]string{"DRIFTWATCH_AZURE_REMEDIATION_TOPIC": testTopic},
			wantErr: "DRIFTWATCH_AZURE_REMEDIATION_TOPIC needs credentials: DRIFTWATCH_AZURE_TENANT_ID and DRIFTWATCH_AZURE_PUBLISHER_CLIENT_ID (Entra, federated with the function's role), or DRIFTWATCH_AZURE_TOPIC_KEY (local runs only)",
		},
		{
			name:    "entra and key",
			env:     map[string]string{"DRIFTWATCH_AZURE_REMEDIATION_TOPIC": testTopic, "DRIFTWATCH_AZURE_TENANT_ID": testTenant, "DRIFTWATCH_AZURE_PUBLISHER_CLIENT_ID": testClientID, "DRIFTWATCH_AZURE_TOPIC_KEY": testTopicKey},
			wantErr: "set either DRIFTWATCH_AZURE_TENANT_ID and DRIFTWATCH_AZURE_PUBLISHER_CLIENT_ID (Entra, federated with the function's role) or DRIFTWATCH_AZURE_TOPIC_KEY (local runs only), not both",
		},
		{
			name:    "half of entra and key",
			env:     map[string]string{"DRIFTWATCH_AZURE_REMEDIATION_TOPIC": testTopic, "DRIFTWATCH_AZURE_PUBLISHER_CLIENT_ID": testClientID, "DRIFTWATCH_AZURE_TOPIC_KEY": testTopicKey},
			wantErr: "set either DRIFTWATCH_AZURE_TENANT_ID and DRIFTWATCH_AZURE_PUBLISHER_CLIENT_ID (Entra, federated with the function's role) or DRIFTWATCH_AZURE_TOPIC_KEY (local runs only), not both",
		},
		{
			name:    "tenant without client id",
			env:     map[string]string{"DRIFTWATCH_AZURE_REMEDIATION_TOPIC": testTopic, "DRIFTWATCH_AZURE_TENANT_ID": testTenant},
			wantErr: "DRIFTWATCH_AZURE_PUBLISHER_CLIENT_ID is required with DRIFTWATCH_AZURE_TENANT_ID",
		},
		{
			name:    "client id without tenant",
			env:     map[string]string{"DRIFTWATCH_AZURE_REMEDIATION_TOPIC": testTopic, "DRIFTWATCH_AZURE_PUBLISHER_CLIENT_ID": testClientID},
			wantErr: "DRIFTWATCH_AZURE_TENANT_ID is required with DRIFTWATCH_AZURE_PUBLISHER_CLIENT_ID",
		},
		{
			name:    "tenant not an id",
			env:     map[string]string{"DRIFTWATCH_AZURE_REMEDIATION_TOPIC": testTopic, "DRIFTWATCH_AZURE_TENANT_ID": "contoso tenant", "DRIFTWATCH_AZURE_PUBLISHER_CLIENT_ID": testClientID},
			wantErr: `DRIFTWATCH_AZURE_TENANT_ID: "contoso tenant" is not a tenant id (a GUID, or one of the tenant's domains)`,
		},
		{
			name:    "client id not a GUID",
			env:     map[string]string{"DRIFTWATCH_AZURE_REMEDIATION_TOPIC": testTopic, "DRIFTWATCH_AZURE_TENANT_ID": testTenant, "DRIFTWATCH_AZURE_PUBLISHER_CLIENT_ID": "driftwatch-remediation-publisher"},
			wantErr: `DRIFTWATCH_AZURE_PUBLISHER_CLIENT_ID: "driftwatch-remediation-publisher" is not an application (client) id, a GUID`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := baseEnv()
			for k, v := range tt.env {
				env[k] = v
			}
			c, err := awsinteract.ConfigFromEnv(func(k string) string { return env[k] })
			if err != nil && strings.Contains(err.Error(), testTopicKey) {
				t.Fatalf("the error carries the topic key: %v", err)
			}
			if tt.wantErr != "" {
				if err == nil || err.Error() != tt.wantErr {
					t.Fatalf("error\n%v\nwant\n%s", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := (azure{c.AzureTopic, c.AzureTenantID, c.AzurePublisherClientID, c.AzureTopicKey}); got != tt.want {
				t.Errorf("azure configuration %+v, want %+v", got, tt.want)
			}
		})
	}
}

// Logging the whole configuration shows where fixes go but neither the
// topic key nor the signing secret.
func TestConfigLogValueRedactsSecrets(t *testing.T) {
	env := baseEnv()
	env["DRIFTWATCH_AZURE_REMEDIATION_TOPIC"] = testTopic
	env["DRIFTWATCH_AZURE_TOPIC_KEY"] = testTopicKey
	c, err := awsinteract.ConfigFromEnv(func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	slog.New(slog.NewJSONHandler(&buf, nil)).Info("config", "config", c)
	out := buf.String()
	for _, secret := range []string{testTopicKey, env["SLACK_SIGNING_SECRET"], env["SLACK_BOT_TOKEN"]} {
		if strings.Contains(out, secret) {
			t.Errorf("the log carries a secret: %s", out)
		}
	}
	for _, want := range []string{testTopic, `"azure_topic_key":"REDACTED"`, `"table":"driftwatch-posture"`} {
		if !strings.Contains(out, want) {
			t.Errorf("the log lacks %s: %s", want, out)
		}
	}
}
