package fnenv_test

import (
	"log/slog"
	"reflect"
	"strings"
	"testing"

	"github.com/driftwatch/driftwatch/shared/awsfed"
	"github.com/driftwatch/driftwatch/shared/fnenv"
	"github.com/driftwatch/driftwatch/shared/pipeline"
)

func TestRead(t *testing.T) {
	env := map[string]string{
		"DRIFTWATCH_TABLE":              "driftwatch-posture",
		"DRIFTWATCH_AWS_ROLE_ARN":       "arn:aws:iam::123456789012:role/driftwatch-gcp",
		"DRIFTWATCH_AWS_REGION":         "eu-west-1",
		"DRIFTWATCH_AWS_TOKEN_AUDIENCE": "driftwatch-aws",
		"DRIFTWATCH_AWS_ENDPOINT_URL":   "http://127.0.0.1:5000",
		"SLACK_CHANNEL":                 " C0DRIFT ",
		"SLACK_BOT_TOKEN":               "xoxb-1",
		"SLACK_API_URL":                 "http://127.0.0.1:9/api",
		"DRIFTWATCH_DISABLED_RULES":     " a, ,b ",
		"DRIFTWATCH_ACCOUNTS":           `{"web-prod-4821": {"name": "web-prod"}}`,
		"DRIFTWATCH_LOG_LEVEL":          "warn",
	}
	got, err := fnenv.Read(func(k string) string { return env[k] }, "a secret")
	if err != nil {
		t.Fatal(err)
	}
	want := fnenv.Common{
		Table: "driftwatch-posture", AWSEndpoint: "http://127.0.0.1:5000",
		AWS:          awsfed.Env{RoleARN: "arn:aws:iam::123456789012:role/driftwatch-gcp", Region: "eu-west-1", Audience: "driftwatch-aws"},
		SlackChannel: "C0DRIFT", SlackToken: "xoxb-1", SlackAPIURL: "http://127.0.0.1:9/api/",
		DisabledRules: []string{"a", "b"}, Accounts: map[string]pipeline.Account{"web-prod-4821": {Name: "web-prod"}},
		LogLevel: slog.LevelWarn,
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Read =\n%+v\nwant\n%+v", got, want)
	}
	if _, err := fnenv.Read(func(k string) string {
		if k == "SLACK_BOT_TOKEN" {
			return ""
		}
		return env[k]
	}, "a Secret Manager secret"); err == nil || err.Error() != "SLACK_BOT_TOKEN is required (a Secret Manager secret)" {
		t.Errorf("no token: %v", err)
	}
	var b strings.Builder
	slog.New(slog.NewJSONHandler(&b, nil)).Info("config", slog.Any("c", slog.GroupValue(got.LogAttrs()...)))
	if strings.Contains(b.String(), "xoxb-1") || !strings.Contains(b.String(), "REDACTED") {
		t.Errorf("log = %s", b.String())
	}
}

func TestList(t *testing.T) {
	if got := fnenv.List(" a,, b ,"); !reflect.DeepEqual(got, []string{"a", "b"}) {
		t.Errorf("List = %q", got)
	}
	if got := fnenv.List(" "); got != nil {
		t.Errorf("List of blank = %q, want nil", got)
	}
}
