package awsdetector

import (
	"bytes"
	"encoding/json"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	smtypes "github.com/aws/aws-sdk-go-v2/service/secretsmanager/types"

	"github.com/driftwatch/driftwatch/shared/internal/motoserver"
)

// These tests are internal to reach slackToken: New only passes its token
// on to the Slack client, where a test cannot read it back.

// secret is what a test stores in Secrets Manager.
type secret struct {
	name   string
	str    *string
	binary []byte
}

func createSecrets(t *testing.T, sm *secretsmanager.Client, secrets ...secret) map[string]string {
	t.Helper()
	arns := map[string]string{}
	for _, s := range secrets {
		out, err := sm.CreateSecret(t.Context(), &secretsmanager.CreateSecretInput{
			Name: aws.String(s.name), SecretString: s.str, SecretBinary: s.binary,
		})
		if err != nil {
			t.Fatalf("create secret %s: %v", s.name, err)
		}
		arns[s.name] = aws.ToString(out.ARN)
	}
	return arns
}

func TestSlackTokenSecret(t *testing.T) {
	moto := motoserver.StartTB(t)
	cfg := moto.Config("eu-west-1")
	sm := secretsmanager.NewFromConfig(cfg)

	// Every token stored below contains this marker, so that no error can
	// quote a token without the test noticing.
	const marker = "xoxb-SECRET-"
	arns := createSecrets(t, sm,
		secret{name: "slack/plain", str: aws.String(marker + "plain")},
		secret{name: "slack/padded", str: aws.String("\n  " + marker + "padded \n")},
		secret{name: "slack/json", str: aws.String(`{"bot_token": "` + marker + `json"}`)},
		secret{name: "slack/json-more", str: aws.String(` {"signing_secret": "` + marker + `signing", "bot_token": " ` + marker + `json-more "}`)},
		secret{name: "slack/json-other-key", str: aws.String(`{"token": "` + marker + `other-key"}`)},
		secret{name: "slack/json-empty-token", str: aws.String(`{"bot_token": ""}`)},
		secret{name: "slack/json-broken", str: aws.String(`{"bot_token": ` + marker + `broken}`)},
		secret{name: "slack/json-number", str: aws.String(`{"bot_token": 1234567890}`)},
		secret{name: "slack/blank", str: aws.String(" \n\t ")},
		secret{name: "slack/binary", binary: []byte(marker + "binary")},
		// Created without a value, as a Terraform aws_secretsmanager_secret
		// without its aws_secretsmanager_secret_version is.
		secret{name: "slack/no-value"},
	)

	tests := []struct {
		name    string
		id      string
		want    string
		wantErr string
		// wantPrefix is used instead of wantErr where the rest of the
		// message is the SDK's or encoding/json's.
		wantPrefix string
	}{
		{name: "plain token", id: "slack/plain", want: marker + "plain"},
		{name: "plain token by ARN", id: arns["slack/plain"], want: marker + "plain"},
		{name: "plain token with whitespace", id: "slack/padded", want: marker + "padded"},
		{name: "JSON", id: "slack/json", want: marker + "json"},
		{name: "JSON with other keys", id: "slack/json-more", want: marker + "json-more"},
		{
			name:    "JSON without bot_token",
			id:      "slack/json-other-key",
			wantErr: `Slack token secret slack/json-other-key is empty (want the token or {"bot_token": ...})`,
		},
		{
			name:    "JSON with an empty bot_token",
			id:      "slack/json-empty-token",
			wantErr: `Slack token secret slack/json-empty-token is empty (want the token or {"bot_token": ...})`,
		},
		{
			name:       "broken JSON",
			id:         "slack/json-broken",
			wantPrefix: "Slack token secret slack/json-broken: not a token and not JSON: ",
		},
		{
			name:       "JSON with a number for bot_token",
			id:         "slack/json-number",
			wantPrefix: "Slack token secret slack/json-number: not a token and not JSON: ",
		},
		{
			name:    "only whitespace",
			id:      "slack/blank",
			wantErr: `Slack token secret slack/blank is empty (want the token or {"bot_token": ...})`,
		},
		{
			name:    "binary secret",
			id:      "slack/binary",
			wantErr: "Slack token secret slack/binary holds binary data; store the token as a secret string",
		},
		{
			name:       "secret without a value",
			id:         "slack/no-value",
			wantPrefix: "read Slack token secret slack/no-value: ",
		},
		{
			name:       "missing secret",
			id:         "slack/missing",
			wantPrefix: "read Slack token secret slack/missing: ",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := slackToken(t.Context(), sm, tt.id)
			if tt.wantErr == "" && tt.wantPrefix == "" {
				if err != nil {
					t.Fatal(err)
				}
				if got != tt.want {
					t.Errorf("token = %q, want %q", got, tt.want)
				}
				return
			}
			if err == nil {
				t.Fatalf("token = %q, want an error", got)
			}
			if got != "" {
				t.Errorf("token = %q with the error, want none", got)
			}
			if tt.wantErr != "" && err.Error() != tt.wantErr {
				t.Errorf("error = %q\nwant %q", err, tt.wantErr)
			}
			if tt.wantPrefix != "" && !strings.HasPrefix(err.Error(), tt.wantPrefix) {
				t.Errorf("error = %q\nwant it to start with %q", err, tt.wantPrefix)
			}
			if strings.Contains(err.Error(), marker) {
				t.Errorf("error quotes the secret: %q", err)
			}
		})
	}

	// Callers can tell "not there" from other failures.
	for _, id := range []string{"slack/missing", "slack/no-value"} {
		_, err := slackToken(t.Context(), sm, id)
		if nf := (*smtypes.ResourceNotFoundException)(nil); !errors.As(err, &nf) {
			t.Errorf("%s: error %v does not wrap ResourceNotFoundException", id, err)
		}
	}

	t.Run("New", func(t *testing.T) {
		testNewWithTokenSecret(t, cfg, marker)
	})
}

// testNewWithTokenSecret builds the whole detector with its token in
// Secrets Manager. The DynamoDB table is never created: New must not need
// it (it is first used by an event), and events then fail with a retryable
// error. Nothing logged or returned on the way may quote the token.
func testNewWithTokenSecret(t *testing.T, cfg aws.Config, marker string) {
	var buf lockedBuffer
	log := slog.New(slog.NewJSONHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
	base := Config{
		Table:            "driftwatch-not-created",
		SlackChannel:     "C0DRIFTWATCH",
		SlackTokenSecret: "slack/json",
		SlackAPIURL:      "http://127.0.0.1:1/api/",
		S3PathStyle:      true,
	}

	h, err := New(t.Context(), base, cfg, log)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	payload := demoEvent(t, "14-stop-logging.json")
	sum, err := h.Handle(t.Context(), payload)
	if err == nil || sum.Failed != 1 {
		t.Fatalf("Handle without a table: summary %+v, error %v; want one retryable failure", sum, err)
	}
	if strings.Contains(err.Error(), marker) {
		t.Errorf("Handle error quotes the token: %v", err)
	}

	missing := base
	missing.SlackTokenSecret = "slack/missing"
	if h, err := New(t.Context(), missing, cfg, log); err == nil || h != nil {
		t.Errorf("New with a missing secret: handler %v, error %v", h, err)
	} else if !strings.Contains(err.Error(), "slack/missing") || strings.Contains(err.Error(), marker) {
		t.Errorf("New with a missing secret: error %q should name the secret and no token", err)
	}
	empty := base
	empty.SlackTokenSecret = "slack/json-other-key"
	if _, err := New(t.Context(), empty, cfg, log); err == nil || strings.Contains(err.Error(), marker) {
		t.Errorf("New with a secret without bot_token: error %v", err)
	}

	out := buf.Bytes()
	if bytes.Contains(out, []byte(marker)) {
		t.Errorf("the log quotes the token:\n%s", out)
	}
	// The failure was logged with its event id: the check above read real
	// log output, not an empty buffer.
	if !bytes.Contains(out, []byte(`"msg":"event failed"`)) || !bytes.Contains(out, []byte(`"event_id":"8867d96a-2bd5-5a19-bdb5-827b6aaa528e"`)) {
		t.Errorf("no failure line for the event in the log:\n%s", out)
	}
}

// demoEvent reads one EventBridge event of the demo with its placeholders
// filled with fixed values.
func demoEvent(t *testing.T, name string) json.RawMessage {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("..", "..", "events", "aws", name))
	if err != nil {
		t.Fatal(err)
	}
	vars := map[string]string{"ACCOUNT": "123456789012", "REGION": "eu-west-1", "TIME": "2025-06-01T10:00:00Z", "TRAIL": "org-audit-trail"}
	return []byte(os.Expand(string(raw), func(k string) string {
		v, ok := vars[k]
		if !ok {
			t.Fatalf("%s: no value for ${%s}", name, k)
		}
		return v
	}))
}

// lockedBuffer collects log output written from the handler's goroutines.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) Bytes() []byte {
	b.mu.Lock()
	defer b.mu.Unlock()
	return bytes.Clone(b.buf.Bytes())
}
