package main

import (
	"log/slog"
	"strings"
	"testing"
)

// The configuration errors stop the function before it listens or pulls,
// with the variable named.
func TestRunConfigErrors(t *testing.T) {
	base := map[string]string{"DRIFTWATCH_STORE_FILE": "/tmp/posture.json", "SLACK_CHANNEL": "C0", "SLACK_BOT_TOKEN": "xoxb-1"}
	with := func(kv ...string) map[string]string {
		m := map[string]string{}
		for k, v := range base {
			m[k] = v
		}
		for i := 0; i+1 < len(kv); i += 2 {
			m[kv[i]] = kv[i+1]
		}
		return m
	}
	tests := []struct {
		name    string
		env     map[string]string
		wantErr string
	}{
		{"no store", map[string]string{}, "DRIFTWATCH_TABLE is required (or DRIFTWATCH_STORE_FILE for a local embedded store)"},
		{"no port", base, "PORT is not set: Cloud Run sets it (set it to run the function on its own)"},
		{"no audience", with("PORT", "8080"), "DRIFTWATCH_PUSH_AUDIENCE is not set"},
		{"no push account", with("PORT", "8080", "DRIFTWATCH_PUSH_AUDIENCE", "https://f.a.run.app/"), "DRIFTWATCH_PUSH_SERVICE_ACCOUNT is not set"},
		{"pull without subscription", with("DRIFTWATCH_MODE", "pull"), "DRIFTWATCH_AUDIT_SUBSCRIPTION is required in pull mode"},
	}
	for _, tt := range tests {
		err := run(t.Context(), func(k string) string { return tt.env[k] }, slog.New(slog.DiscardHandler))
		if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
			t.Errorf("%s: error %v, want it to contain %q", tt.name, err, tt.wantErr)
		}
	}
}
