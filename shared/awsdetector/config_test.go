package awsdetector_test

import (
	"bytes"
	"errors"
	"io/fs"
	"log/slog"
	"maps"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/driftwatch/driftwatch/shared/awsdetector"
	"github.com/driftwatch/driftwatch/shared/pipeline"
	"github.com/driftwatch/driftwatch/shared/rules"
)

// env is a getenv over a fixed set of variables, as ConfigFromEnv takes it.
func env(vars map[string]string) func(string) string {
	return func(k string) string { return vars[k] }
}

// with returns base with the given variables added or replaced.
func with(base map[string]string, kv ...string) map[string]string {
	out := maps.Clone(base)
	for i := 0; i+1 < len(kv); i += 2 {
		out[kv[i]] = kv[i+1]
	}
	return out
}

func TestConfigFromEnv(t *testing.T) {
	base := map[string]string{
		"DRIFTWATCH_TABLE": "driftwatch",
		"SLACK_CHANNEL":    "C0DRIFTWATCH",
		"SLACK_BOT_TOKEN":  "xoxb-config-test",
	}
	minimal := awsdetector.Config{Table: "driftwatch", SlackChannel: "C0DRIFTWATCH", SlackToken: "xoxb-config-test"}
	// want returns minimal changed by edit.
	want := func(edit func(*awsdetector.Config)) awsdetector.Config {
		c := minimal
		edit(&c)
		return c
	}

	tests := []struct {
		name    string
		vars    map[string]string
		want    awsdetector.Config
		wantErr string
	}{
		{name: "minimal", vars: base, want: minimal},
		{
			name: "embedded store instead of a table",
			vars: with(base, "DRIFTWATCH_TABLE", "", "DRIFTWATCH_STORE_FILE", "/tmp/posture.json"),
			want: want(func(c *awsdetector.Config) { c.Table, c.StoreFile = "", "/tmp/posture.json" }),
		},
		{
			name: "token from Secrets Manager",
			vars: with(base, "SLACK_BOT_TOKEN", "", "SLACK_BOT_TOKEN_SECRET", "driftwatch/slack"),
			want: want(func(c *awsdetector.Config) { c.SlackToken, c.SlackTokenSecret = "", "driftwatch/slack" }),
		},
		{
			name: "everything set, padded with whitespace",
			vars: map[string]string{
				"DRIFTWATCH_TABLE":          "  driftwatch\t",
				"SLACK_CHANNEL":             " C0DRIFTWATCH ",
				"SLACK_BOT_TOKEN":           "\txoxb-config-test\n",
				"SLACK_API_URL":             " http://127.0.0.1:9000/api/ ",
				"DRIFTWATCH_RULES_DIR":      " /etc/driftwatch/rules ",
				"DRIFTWATCH_DISABLED_RULES": " aws_s3_bucket_mfa_delete_enabled , aws_iam_user_access_key_unused_45d ",
				"DRIFTWATCH_ACCOUNTS":       ` {"123456789012": {"name": "payments-prod", "environment": "prod", "labels": {"team": "payments"}}, "210987654321": {"name": "Sandbox"}} `,
				"DRIFTWATCH_S3_PATH_STYLE":  " true ",
				"DRIFTWATCH_LOG_LEVEL":      " debug ",
			},
			want: awsdetector.Config{
				Table:         "driftwatch",
				SlackChannel:  "C0DRIFTWATCH",
				SlackToken:    "xoxb-config-test",
				SlackAPIURL:   "http://127.0.0.1:9000/api/",
				RulesDir:      "/etc/driftwatch/rules",
				DisabledRules: []string{"aws_s3_bucket_mfa_delete_enabled", "aws_iam_user_access_key_unused_45d"},
				Accounts: map[string]pipeline.Account{
					"123456789012": {Name: "payments-prod", Environment: "prod", Labels: map[string]string{"team": "payments"}},
					"210987654321": {Name: "Sandbox"},
				},
				S3PathStyle: true,
				LogLevel:    slog.LevelDebug,
			},
		},

		// The store.
		{
			name:    "neither table nor store file",
			vars:    with(base, "DRIFTWATCH_TABLE", ""),
			wantErr: "DRIFTWATCH_TABLE is required (or DRIFTWATCH_STORE_FILE for a local embedded store)",
		},
		{
			name:    "table that is only whitespace",
			vars:    with(base, "DRIFTWATCH_TABLE", "  \t"),
			wantErr: "DRIFTWATCH_TABLE is required (or DRIFTWATCH_STORE_FILE for a local embedded store)",
		},
		{
			name:    "both table and store file",
			vars:    with(base, "DRIFTWATCH_STORE_FILE", "/tmp/posture.json"),
			wantErr: "set only one of DRIFTWATCH_TABLE and DRIFTWATCH_STORE_FILE",
		},

		// Slack.
		{
			name:    "no channel",
			vars:    with(base, "SLACK_CHANNEL", ""),
			wantErr: "SLACK_CHANNEL is required",
		},
		{
			name:    "channel that is only whitespace",
			vars:    with(base, "SLACK_CHANNEL", " "),
			wantErr: "SLACK_CHANNEL is required",
		},
		{
			name:    "no token",
			vars:    with(base, "SLACK_BOT_TOKEN", ""),
			wantErr: "SLACK_BOT_TOKEN or SLACK_BOT_TOKEN_SECRET is required",
		},
		{
			name:    "both token and secret",
			vars:    with(base, "SLACK_BOT_TOKEN_SECRET", "driftwatch/slack"),
			wantErr: "set only one of SLACK_BOT_TOKEN and SLACK_BOT_TOKEN_SECRET",
		},
		{
			name: "API URL gets a trailing slash",
			vars: with(base, "SLACK_API_URL", "http://127.0.0.1:9000/api"),
			want: want(func(c *awsdetector.Config) { c.SlackAPIURL = "http://127.0.0.1:9000/api/" }),
		},
		{
			name: "API URL keeps its trailing slash",
			vars: with(base, "SLACK_API_URL", "https://slack.com/api/"),
			want: want(func(c *awsdetector.Config) { c.SlackAPIURL = "https://slack.com/api/" }),
		},

		// Disabled rules.
		{
			name: "disabled rules: spaces and empty items are ignored",
			vars: with(base, "DRIFTWATCH_DISABLED_RULES", ",a_rule,, b_rule ,\t,c_rule,"),
			want: want(func(c *awsdetector.Config) { c.DisabledRules = []string{"a_rule", "b_rule", "c_rule"} }),
		},
		{
			name: "disabled rules: only separators",
			vars: with(base, "DRIFTWATCH_DISABLED_RULES", " , ,"),
			want: minimal,
		},

		// Accounts.
		{
			name: "accounts: empty object",
			vars: with(base, "DRIFTWATCH_ACCOUNTS", "{}"),
			want: want(func(c *awsdetector.Config) { c.Accounts = map[string]pipeline.Account{} }),
		},
		{
			name: "accounts: only whitespace",
			vars: with(base, "DRIFTWATCH_ACCOUNTS", " \n "),
			want: minimal,
		},
		{
			name:    "accounts: truncated JSON",
			vars:    with(base, "DRIFTWATCH_ACCOUNTS", `{"123456789012": {"name": "payments-prod"`),
			wantErr: "DRIFTWATCH_ACCOUNTS: unexpected EOF",
		},
		{
			name:    "accounts: not JSON",
			vars:    with(base, "DRIFTWATCH_ACCOUNTS", `payments-prod=123456789012`),
			wantErr: "DRIFTWATCH_ACCOUNTS: invalid character 'p' looking for beginning of value",
		},
		{
			name:    "accounts: a list instead of an object",
			vars:    with(base, "DRIFTWATCH_ACCOUNTS", `[{"name": "payments-prod"}]`),
			wantErr: "DRIFTWATCH_ACCOUNTS: json: cannot unmarshal array into Go value of type map[string]pipeline.Account",
		},
		{
			name:    "accounts: unknown field inside an account",
			vars:    with(base, "DRIFTWATCH_ACCOUNTS", `{"123456789012": {"name": "payments-prod", "env": "prod"}}`),
			wantErr: `DRIFTWATCH_ACCOUNTS: json: unknown field "env"`,
		},
		{
			name:    "accounts: a second object after the first",
			vars:    with(base, "DRIFTWATCH_ACCOUNTS", `{"123456789012": {"name": "payments-prod"}} {"210987654321": {"name": "Sandbox"}}`),
			wantErr: "DRIFTWATCH_ACCOUNTS: unexpected data after the JSON object",
		},
		{
			name:    "accounts: keyed by name instead of id",
			vars:    with(base, "DRIFTWATCH_ACCOUNTS", `{"123456789012": {"name": "payments-prod"}, "Sandbox": {"name": "Sandbox"}}`),
			wantErr: `DRIFTWATCH_ACCOUNTS: "Sandbox" is not a 12-digit AWS account id, an Azure subscription id (a lower-case GUID) or a GCP project id`,
		},
		{
			name:    "accounts: id one digit short",
			vars:    with(base, "DRIFTWATCH_ACCOUNTS", `{"12345678901": {"name": "payments-prod"}}`),
			wantErr: `DRIFTWATCH_ACCOUNTS: "12345678901" is not a 12-digit AWS account id, an Azure subscription id (a lower-case GUID) or a GCP project id`,
		},
		{
			name:    "accounts: subscription id with a group missing",
			vars:    with(base, "DRIFTWATCH_ACCOUNTS", `{"0b1f6471-1bf0-4dda-aec3-111122223333x": {"name": "payments-prod"}}`),
			wantErr: `DRIFTWATCH_ACCOUNTS: "0b1f6471-1bf0-4dda-aec3-111122223333x" is not a 12-digit AWS account id, an Azure subscription id (a lower-case GUID) or a GCP project id`,
		},
		{
			name: "accounts: an Azure subscription as the portal shows it",
			vars: with(base, "DRIFTWATCH_ACCOUNTS", `{"123456789012": {"name": "payments-prod"}, "0B1F6471-1BF0-4DDA-AEC3-CB9272F09590": {"name": "azure-payments"}}`),
			want: want(func(c *awsdetector.Config) {
				c.Accounts = map[string]pipeline.Account{
					"123456789012":                         {Name: "payments-prod"},
					"0b1f6471-1bf0-4dda-aec3-cb9272f09590": {Name: "azure-payments"},
				}
			}),
		},

		// S3 addressing.
		{
			name: "path style: 1",
			vars: with(base, "DRIFTWATCH_S3_PATH_STYLE", "1"),
			want: want(func(c *awsdetector.Config) { c.S3PathStyle = true }),
		},
		{
			name: "path style: false",
			vars: with(base, "DRIFTWATCH_S3_PATH_STYLE", "false"),
			want: minimal,
		},
		{
			name:    "path style: not a boolean",
			vars:    with(base, "DRIFTWATCH_S3_PATH_STYLE", " yes "),
			wantErr: `DRIFTWATCH_S3_PATH_STYLE: "yes" is not a boolean`,
		},

		// Log level.
		{
			name: "log level in capitals",
			vars: with(base, "DRIFTWATCH_LOG_LEVEL", "WARN"),
			want: want(func(c *awsdetector.Config) { c.LogLevel = slog.LevelWarn }),
		},
		{
			name: "log level error",
			vars: with(base, "DRIFTWATCH_LOG_LEVEL", "error"),
			want: want(func(c *awsdetector.Config) { c.LogLevel = slog.LevelError }),
		},
		{
			name:    "log level unknown",
			vars:    with(base, "DRIFTWATCH_LOG_LEVEL", "verbose"),
			wantErr: `DRIFTWATCH_LOG_LEVEL: "verbose" is not one of debug, info, warn, error`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := awsdetector.ConfigFromEnv(env(tt.vars))
			if tt.wantErr != "" {
				if err == nil || err.Error() != tt.wantErr {
					t.Fatalf("error = %v, want %q", err, tt.wantErr)
				}
				if !reflect.DeepEqual(got, awsdetector.Config{}) {
					t.Errorf("config with the error = %+v, want the zero Config", got)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("config =\n%+v\nwant\n%+v", got, tt.want)
			}
		})
	}
}

// A custom rule an organisation might add: buckets must be versioned with
// MFA delete, stricter than the built-in versioning rule.
const customRule = `id: acme_s3_bucket_versioning_mfa_delete
title: ACME buckets keep versions and need MFA to delete them
description: ACME's retention policy requires both settings on every bucket.
resource_type: AWS::S3::Bucket
severity: low
condition: resource.versioning_status == 'Enabled' && resource.mfa_delete == 'Enabled'
settings: [versioning_status, mfa_delete]
remediation:
  guidance: Enable versioning with MFA delete as the root user.
triggers: [PutBucketVersioning, CreateBucket]
`

// badRule is customRule under another id, changed by the replacer's pairs.
func badRule(oldnew ...string) string {
	r := strings.Replace(customRule, "acme_s3_bucket_versioning_mfa_delete", "acme_bad_rule", 1)
	return strings.NewReplacer(oldnew...).Replace(r)
}

func writeRule(t *testing.T, dir, name, body string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func builtinCount(t *testing.T) int {
	t.Helper()
	e, err := awsdetector.CompileRules("", nil)
	if err != nil {
		t.Fatal(err)
	}
	return len(e.Rules())
}

func TestCompileRulesWithCustomDir(t *testing.T) {
	n := builtinCount(t)
	dir := t.TempDir()
	writeRule(t, dir, "versioning.yaml", customRule)
	// Files that are not rules are ignored (a README beside the rules).
	writeRule(t, dir, "README.md", "# ACME rules\n")

	e, err := awsdetector.CompileRules(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := len(e.Rules()); got != n+1 {
		t.Errorf("%d rules, want the %d built-in ones and the custom one", got, n)
	}
	r, ok := e.Rule("acme_s3_bucket_versioning_mfa_delete")
	if !ok {
		t.Fatal("custom rule not compiled")
	}
	if r.ResourceType != "AWS::S3::Bucket" || r.Source != filepath.Join(dir, "versioning.yaml") {
		t.Errorf("custom rule: type %s, source %s", r.ResourceType, r.Source)
	}
	if _, ok := e.Rule("aws_s3_bucket_versioning_enabled"); !ok {
		t.Error("built-in rule missing next to the custom one")
	}

	// A custom rule can be disabled like a built-in one.
	e, err = awsdetector.CompileRules(dir, []string{"acme_s3_bucket_versioning_mfa_delete"})
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := e.Rule("acme_s3_bucket_versioning_mfa_delete"); ok || len(e.Rules()) != n {
		t.Errorf("disabled custom rule still compiled (%d rules)", len(e.Rules()))
	}
}

func TestCompileRulesInvalidCustomRule(t *testing.T) {
	tests := []struct {
		name string
		body string
		// wantPrefix is what the error starts with: it names the file on
		// disk, whether the problem is found when parsing or compiling.
		wantPrefix string
	}{
		{
			name:       "unknown field",
			body:       badRule() + "owner: acme-security\n",
			wantPrefix: `custom rules in DIR: bad.yaml:11: unknown field "owner"`,
		},
		{
			name:       "YAML syntax",
			body:       "id: [unclosed\n",
			wantPrefix: "custom rules in DIR: bad.yaml:",
		},
		{
			name:       "condition on a field buckets do not have",
			body:       badRule("resource.mfa_delete == 'Enabled'", "resource.no_such_field == 'x'"),
			wantPrefix: "compile rules: DIR/bad.yaml:6: condition:",
		},
		{
			name:       "id of a built-in rule",
			body:       strings.Replace(customRule, "acme_s3_bucket_versioning_mfa_delete", "aws_s3_bucket_versioning_enabled", 1),
			wantPrefix: `compile rules: DIR/bad.yaml:1: id: duplicate rule id "aws_s3_bucket_versioning_enabled"`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			writeRule(t, dir, "good.yaml", customRule)
			writeRule(t, dir, "bad.yaml", tt.body)
			e, err := awsdetector.CompileRules(dir, nil)
			if err == nil {
				t.Fatalf("compiled %d rules, want an error", len(e.Rules()))
			}
			if !errors.Is(err, rules.ErrInvalidRule) {
				t.Errorf("error %v does not match rules.ErrInvalidRule", err)
			}
			want := strings.ReplaceAll(tt.wantPrefix, "DIR", dir)
			if !strings.HasPrefix(err.Error(), want) {
				t.Errorf("error = %q\nwant it to start with %q", err, want)
			}
		})
	}
}

func TestCompileRulesMissingDir(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "rules")
	_, err := awsdetector.CompileRules(dir, nil)
	if !errors.Is(err, fs.ErrNotExist) || !strings.HasPrefix(err.Error(), "custom rules in "+dir+": ") {
		t.Fatalf("error = %v, want a not-exist error naming %s", err, dir)
	}
}

func TestCompileRulesDisabled(t *testing.T) {
	n := builtinCount(t)
	tests := []struct {
		name     string
		disabled []string
		wantErr  string
		wantOff  []string
	}{
		{
			name:     "one built-in rule",
			disabled: []string{"aws_s3_bucket_mfa_delete_enabled"},
			wantOff:  []string{"aws_s3_bucket_mfa_delete_enabled"},
		},
		{
			name:     "two rules, one listed twice",
			disabled: []string{"aws_s3_bucket_mfa_delete_enabled", "aws_kms_cmk_rotation_enabled", "aws_s3_bucket_mfa_delete_enabled"},
			wantOff:  []string{"aws_s3_bucket_mfa_delete_enabled", "aws_kms_cmk_rotation_enabled"},
		},
		{
			name:     "a typo",
			disabled: []string{"aws_kms_cmk_rotation_enabled", "aws_s3_bucket_mfa_delete_enable"},
			wantErr:  `DRIFTWATCH_DISABLED_RULES: no rule "aws_s3_bucket_mfa_delete_enable"`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e, err := awsdetector.CompileRules("", tt.disabled)
			if tt.wantErr != "" {
				if err == nil || err.Error() != tt.wantErr {
					t.Fatalf("error = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			for _, id := range tt.wantOff {
				if _, ok := e.Rule(id); ok {
					t.Errorf("disabled rule %s is still compiled", id)
				}
			}
			if got := len(e.Rules()); got != n-len(tt.wantOff) {
				t.Errorf("%d rules, want %d", got, n-len(tt.wantOff))
			}
		})
	}
}

func TestConfigLogValueHidesToken(t *testing.T) {
	var buf bytes.Buffer
	c := awsdetector.Config{Table: "posture", SlackChannel: "C1", SlackToken: "xoxb-very-secret"}
	slog.New(slog.NewJSONHandler(&buf, nil)).Info("config", "config", c)
	if strings.Contains(buf.String(), "xoxb-very-secret") || !strings.Contains(buf.String(), `"slack_token":"REDACTED"`) || !strings.Contains(buf.String(), `"table":"posture"`) {
		t.Fatalf("logged config = %s", buf.String())
	}
}
