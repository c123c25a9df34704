package infratest

import (
	"bytes"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"

	"go.yaml.in/yaml/v3"
)

// slackManifest is the whole shape the Slack app manifest may have. The
// decoder refuses any other field, so slash commands, event subscriptions,
// shortcuts, user scopes or redirect URLs cannot be added unnoticed.
type slackManifest struct {
	Metadata struct {
		MajorVersion int `yaml:"major_version"`
		MinorVersion int `yaml:"minor_version"`
	} `yaml:"_metadata"`
	DisplayInformation struct {
		Name            string `yaml:"name"`
		Description     string `yaml:"description"`
		LongDescription string `yaml:"long_description"`
		BackgroundColor string `yaml:"background_color"`
	} `yaml:"display_information"`
	Features struct {
		BotUser struct {
			DisplayName  string `yaml:"display_name"`
			AlwaysOnline bool   `yaml:"always_online"`
		} `yaml:"bot_user"`
	} `yaml:"features"`
	OAuthConfig struct {
		Scopes struct {
			Bot []string `yaml:"bot"`
		} `yaml:"scopes"`
	} `yaml:"oauth_config"`
	Settings struct {
		Interactivity struct {
			IsEnabled  bool   `yaml:"is_enabled"`
			RequestURL string `yaml:"request_url"`
		} `yaml:"interactivity"`
		OrgDeployEnabled     bool `yaml:"org_deploy_enabled"`
		SocketModeEnabled    bool `yaml:"socket_mode_enabled"`
		TokenRotationEnabled bool `yaml:"token_rotation_enabled"`
	} `yaml:"settings"`
}

// botScopes are the only scopes the bot gets, each with what needs it.
var botScopes = map[string]string{
	"chat:write":       "post and update alerts, thread replies and ephemeral refusals in channels the bot is in",
	"usergroups:read":  "approvers named as user groups: their members",
	"users:read":       "the clicker's profile for the audit log and approver rules",
	"users:read.email": "matching Slack users to the cloud principal that caused a drift (no self-approval)",
}

// requestURLPlaceholder is replaced by the interactivity_url output when
// the app is created (infra/aws/README.md).
const requestURLPlaceholder = "https://<function-url>/"

func TestSlackManifest(t *testing.T) {
	data, err := os.ReadFile(filepath.Join(infraDir, "slack-app-manifest.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var m slackManifest
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&m); err != nil {
		t.Fatalf("slack-app-manifest.yaml may declare only the bot user, its scopes and interactivity (no slash commands, events, shortcuts or user scopes): %v", err)
	}

	got := slices.Sorted(slices.Values(m.OAuthConfig.Scopes.Bot))
	var want []string
	for s := range botScopes {
		want = append(want, s)
	}
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("bot scopes are %v, want exactly %v", m.OAuthConfig.Scopes.Bot, want)
	}
	if !m.Settings.Interactivity.IsEnabled {
		t.Error("interactivity is disabled: the buttons would do nothing")
	}
	if u := m.Settings.Interactivity.RequestURL; u != requestURLPlaceholder {
		t.Errorf("request_url is %q, want the placeholder %q that the README tells to replace", u, requestURLPlaceholder)
	}
	if m.Settings.SocketModeEnabled {
		t.Error("socket mode is on: Slack would not call the Function URL")
	}
	if m.Metadata.MajorVersion != 1 {
		t.Errorf("_metadata.major_version is %d, want 1", m.Metadata.MajorVersion)
	}
	// Slack's limits on the display fields.
	for _, f := range []struct {
		name     string
		v        string
		min, max int
	}{
		{"display_information.name", m.DisplayInformation.Name, 1, 35},
		{"display_information.description", m.DisplayInformation.Description, 1, 140},
		{"display_information.long_description", m.DisplayInformation.LongDescription, 175, 4000},
		{"features.bot_user.display_name", m.Features.BotUser.DisplayName, 1, 80},
	} {
		if n := utf8.RuneCountInString(f.v); n < f.min || n > f.max {
			t.Errorf("%s is %d characters, Slack takes %d-%d", f.name, n, f.min, f.max)
		}
	}
	if c := m.DisplayInformation.BackgroundColor; len(c) != 7 || !strings.HasPrefix(c, "#") {
		t.Errorf("display_information.background_color %q is not #rrggbb", c)
	}
}
