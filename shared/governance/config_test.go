package governance

import (
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/driftwatch/driftwatch/shared/posture"
	"github.com/driftwatch/driftwatch/shared/rules"
)

const (
	examplePath = "../../testdata/governance/example.yaml"
	invalidDir  = "../../testdata/governance/invalid"
)

// loadExample parses testdata/governance/example.yaml or stops the test.
func loadExample(tb testing.TB) *Policy {
	tb.Helper()
	p, err := Load(examplePath)
	if err != nil {
		tb.Fatalf("Load(%s): %v", examplePath, err)
	}
	return p
}

// mustParse parses an inline policy or stops the test.
func mustParse(tb testing.TB, yml string) *Policy {
	tb.Helper()
	p, err := Parse("inline.yaml", []byte(yml))
	if err != nil {
		tb.Fatalf("Parse: %v", err)
	}
	return p
}

// TestParseInvalid: every file under testdata/governance/invalid fails with
// exactly the error listed here, and every file is listed.
func TestParseInvalid(t *testing.T) {
	cases := map[string]string{
		"auto_no_rate_limit.yaml":       `auto_no_rate_limit.yaml:3: defaults.mode: mode auto needs auto.rate_limit (automatic fixes are limited per account)`,
		"bad_account.yaml":              `bad_account.yaml:3: overrides[0].accounts[0]: "11111111111" is not an AWS account id (12 digits), an Azure subscription id or a GCP project id`,
		"bad_bool.yaml":                 `bad_bool.yaml:4: rules.aws_rds_instance_not_publicly_accessible.two_approvers: "yes" is not true or false`,
		"bad_duration.yaml":             `bad_duration.yaml:3: defaults.approval_expiry: "1 day" is not a duration (write e.g. 30m, 24h, 7d or 2w)`,
		"bad_end.yaml":                  `bad_end.yaml:6: maintenance_windows[0].end: "25:00" is not a time of day "HH:MM" (00:00 to 23:59, or "24:00" for the end of the day)`,
		"bad_group_id.yaml":             `bad_group_id.yaml:4: approvers[0].groups[0]: "secops" is not a Slack user group id (they start with S, e.g. S0614TZR7)`,
		"bad_mode.yaml":                 `bad_mode.yaml:7: rules.aws_s3_bucket_acl_no_public_grants.mode: unknown mode "manual" (want alert, approve or auto)`,
		"bad_per_account.yaml":          `bad_per_account.yaml:10: auto.rate_limit.per_account: "0" is not a whole number of 1 or more`,
		"bad_severity.yaml":             `bad_severity.yaml:3: approvers[0].severities[1]: unknown severity "urgent" (want critical, high, medium, low or informational)`,
		"bad_start.yaml":                `bad_start.yaml:5: maintenance_windows[0].start: "9:00" is not a time of day "HH:MM" (00:00 to 23:59)`,
		"bad_timezone.yaml":             `bad_timezone.yaml:4: maintenance_windows[0].timezone: unknown time zone "Europe/Madird" (use an IANA name such as Europe/Madrid, or UTC)`,
		"bad_user_id.yaml":              `bad_user_id.yaml:4: approvers[0].users[1]: "alice" is not a Slack user id (they start with U or W, e.g. U024BE7LH)`,
		"duplicate_identity.yaml":       `duplicate_identity.yaml:5: identities[1].slack: user U024BE7LH is already mapped at line 3 (list all their principals there)`,
		"duplicate_key.yaml":            `duplicate_key.yaml:5: rules: "aws_s3_bucket_acl_no_public_grants" is already defined at line 3`,
		"duplicate_window.yaml":         `duplicate_window.yaml:7: maintenance_windows[1].name: window "nights" is already defined at line 3`,
		"empty.yaml":                    `empty.yaml: empty policy file (start it with "version: 1")`,
		"empty_approver.yaml":           `empty_approver.yaml:3: approvers[0]: names no users or groups (an approver entry needs at least one Slack user or user group)`,
		"empty_list_item.yaml":          `empty_list_item.yaml:5: approvers[1]: empty list item`,
		"empty_window.yaml":             `empty_window.yaml:6: maintenance_windows[0].end: the window starts and ends at 22:00: it would be empty (for a whole day use start "00:00", end "24:00")`,
		"list_expected.yaml":            `list_expected.yaml:4: approvers[0].users: want a list, got "U024BE7LH"`,
		"override_auto_no_windows.yaml": `override_auto_no_windows.yaml:8: overrides[0].mode: mode auto needs auto.windows (automatic fixes only run inside maintenance windows; no maintenance windows are defined)`,
		"override_no_rules.yaml":        `override_no_rules.yaml:3: overrides[0].rules: missing (list the rule ids this override applies to, or "*" for every rule)`,
		"rate_limit_no_window.yaml":     `rate_limit_no_window.yaml:9: auto.rate_limit.window: missing (the period per_account counts fixes in, e.g. 1h)`,
		"several_errors.yaml": `several_errors.yaml:3: defaults.mode: unknown mode "sometimes" (want alert, approve or auto)
several_errors.yaml:6: approvers[0].users[0]: "alice" is not a Slack user id (they start with U or W, e.g. U024BE7LH)
several_errors.yaml:9: maintenance_windows[0].timezone: unknown time zone "Mars/Olympus_Mons" (use an IANA name such as Europe/Madrid, or UTC)
several_errors.yaml:11: maintenance_windows[0].end: "6am" is not a time of day "HH:MM" (00:00 to 23:59, or "24:00" for the end of the day)`,
		"syntax_error.yaml":        `syntax_error.yaml:2: did not find expected ',' or ']'`,
		"two_documents.yaml":       `two_documents.yaml:2: more than one YAML document (a policy is one document)`,
		"unknown_auto_window.yaml": `unknown_auto_window.yaml:8: auto.windows[0]: unknown maintenance window "weekend" (defined: weekday-nights)`,
		"unknown_day.yaml":         `unknown_day.yaml:5: maintenance_windows[0].days[1]: unknown day "tuesday" (want mon, tue, wed, thu, fri, sat or sun)`,
		"unknown_field.yaml":       `unknown_field.yaml:3: defaults: unknown field "mdoe"`,
		"version_missing.yaml":     `version_missing.yaml: version: missing (this file format is version 1: add "version: 1")`,
		"version_not_integer.yaml": `version_not_integer.yaml:1: version: unsupported version "1.5" (this driftwatch reads version 1)`,
		"version_unsupported.yaml": `version_unsupported.yaml:1: version: unsupported version "2" (this driftwatch reads version 1)`,
	}
	files, err := filepath.Glob(filepath.Join(invalidDir, "*.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, f := range files {
		names = append(names, filepath.Base(f))
	}
	for name := range cases {
		if !slices.Contains(names, name) {
			t.Errorf("case %s has no file in %s", name, invalidDir)
		}
	}
	for _, name := range names {
		t.Run(strings.TrimSuffix(name, ".yaml"), func(t *testing.T) {
			want, ok := cases[name]
			if !ok {
				t.Fatalf("%s/%s has no expected error in this test", invalidDir, name)
			}
			data, err := os.ReadFile(filepath.Join(invalidDir, name))
			if err != nil {
				t.Fatal(err)
			}
			p, err := Parse(name, data)
			if err == nil {
				t.Fatalf("Parse succeeded (%+v), want error:\n%s", p, want)
			}
			if got := err.Error(); got != want {
				t.Errorf("error:\n got: %s\nwant: %s", got, want)
			}
			if !errors.Is(err, ErrInvalid) {
				t.Errorf("errors.Is(err, ErrInvalid) = false for %v", err)
			}
			var ce *ConfigError
			if !errors.As(err, &ce) {
				t.Errorf("error is not a *ConfigError: %T", err)
			}
		})
	}
}

// TestLoadExample: the documented example parses and says what it says.
func TestLoadExample(t *testing.T) {
	p := loadExample(t)
	if got, want := p.ApprovalExpiry(), 24*time.Hour; got != want {
		t.Errorf("ApprovalExpiry = %v, want %v", got, want)
	}
	if got, want := p.AcceptRiskMax(), 90*24*time.Hour; got != want {
		t.Errorf("AcceptRiskMax = %v, want %v", got, want)
	}
	if got, want := slices.Sorted(maps.Keys(p.windows)), []string{"weekday-nights", "weekend"}; !slices.Equal(got, want) {
		t.Errorf("windows = %v, want %v", got, want)
	}
	if got, want := p.rate, (RateLimit{PerAccount: 5, Window: time.Hour}); got != want {
		t.Errorf("rate limit = %+v, want %+v", got, want)
	}
	if !p.highRisk["iam_deactivate_access_key"] || !p.highRisk["ec2_revoke_default_sg_rules"] || len(p.highRisk) != 2 {
		t.Errorf("high risk actions = %v", p.highRisk)
	}
	if got := p.identities["U0G9QF9C6"]; !slices.Equal(got, []string{"bob", "arn:aws:iam::111111111111:role/BreakGlass"}) {
		t.Errorf("identities of U0G9QF9C6 = %v", got)
	}
}

// TestLoadMissingFile: a file that cannot be read is not an invalid
// policy, and says which file.
func TestLoadMissingFile(t *testing.T) {
	_, err := Load(filepath.Join(t.TempDir(), "nope.yaml"))
	if err == nil || errors.Is(err, ErrInvalid) || !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("Load(missing) = %v, want a not-exist error that is not ErrInvalid", err)
	}
	if !strings.Contains(err.Error(), "nope.yaml") {
		t.Errorf("error %q does not name the file", err)
	}
}

// TestParseTooLarge: Parse refuses more than a policy could need before
// reading any of it.
func TestParseTooLarge(t *testing.T) {
	data := []byte("version: 1\n" + strings.Repeat("# padding\n", maxFileSize/10))
	_, err := Parse("big.yaml", data)
	want := fmt.Sprintf("big.yaml: the file has %d bytes; a policy is at most 1048576", len(data))
	if err == nil || err.Error() != want || !errors.Is(err, ErrInvalid) {
		t.Errorf("Parse(big) = %v, want %s", err, want)
	}
}

// TestParseMinimal: a file with only a version is the safe default (alert)
// with the documented defaults.
func TestParseMinimal(t *testing.T) {
	p := mustParse(t, "version: 1\n")
	d := p.Decide(Input{RuleID: "r", Action: "a", Severity: posture.High, Account: "123456789012"})
	if d.Mode != Alert || d.Reason != "alert: set by the policy's default" {
		t.Errorf("Decide = %s (%q), want alert set by the policy's default", d.Mode, d.Reason)
	}
	if p.ApprovalExpiry() != DefaultApprovalExpiry || p.AcceptRiskMax() != DefaultAcceptRiskMax {
		t.Errorf("expiries = %v, %v", p.ApprovalExpiry(), p.AcceptRiskMax())
	}
	if !p.matchEmail {
		t.Error("match_email defaults to false, want true")
	}
	if got := p.optOut; len(got) != 1 || got[DefaultOptOutKey] != DefaultOptOutValue {
		t.Errorf("opt-out = %v, want the default tag", got)
	}
}

// TestParseValues: values written in the ways YAML allows are read as the
// author meant them.
func TestParseValues(t *testing.T) {
	p := mustParse(t, `
version: "1"
defaults: {mode: approve, accept_risk_max: 2w, approval_expiry: 1d12h, match_email: false}
approvers:
  - severities: [CRITICAL]
    accounts: [012345678901, 111111111111, 0f5c2e4a-7b1d-4c3e-9a8b-123456789abc, my-gcp-project]
    users: [W012A3CDE]
maintenance_windows:
  - {name: nights, timezone: UTC, start: 22:00, end: 24:00}
opt_out: {}
`)
	if p.AcceptRiskMax() != 14*24*time.Hour || p.ApprovalExpiry() != 36*time.Hour || p.matchEmail {
		t.Errorf("defaults = %v, %v, match_email %v", p.AcceptRiskMax(), p.ApprovalExpiry(), p.matchEmail)
	}
	// Unquoted account ids keep their digits, leading zero included.
	if got, want := p.approvers[0].accounts[0], "012345678901"; got != want {
		t.Errorf("account = %q, want %q", got, want)
	}
	if got := p.approvers[0].severities; !slices.Equal(got, []posture.Severity{posture.Critical}) {
		t.Errorf("severities = %v", got)
	}
	if w := p.windows["nights"]; w.start != 22*60 || w.end != 24*60 || w.days != [7]bool{true, true, true, true, true, true, true} {
		t.Errorf("window = %+v", w)
	}
	if len(p.optOut) != 0 {
		t.Errorf("opt_out: {} left %v, want no opt-out tag", p.optOut)
	}
}

// TestParseDuration covers the d and w units and the limits.
func TestParseDuration(t *testing.T) {
	const day = 24 * time.Hour
	for _, tc := range []struct {
		in   string
		want time.Duration
		err  string
	}{
		{in: "30m", want: 30 * time.Minute},
		{in: "24h", want: day},
		{in: "90d", want: 90 * day},
		{in: "2w", want: 14 * day},
		{in: "1w2d3h", want: 9*day + 3*time.Hour},
		{in: "", err: `"" is not a duration (write e.g. 30m, 24h, 7d or 2w)`},
		{in: "1 day", err: `"1 day" is not a duration (write e.g. 30m, 24h, 7d or 2w)`},
		{in: "1.5d", err: `"1.5d" is not a duration (write e.g. 30m, 24h, 7d or 2w)`},
		{in: "d", err: `"d" is not a duration (write e.g. 30m, 24h, 7d or 2w)`},
		{in: "0d", err: `"0d" is not a positive duration`},
		{in: "-1h", err: `"-1h" is not a positive duration`},
		{in: "3651d", err: `"3651d" is longer than ten years`},
		{in: "99999999999999999999d", err: `"99999999999999999999d" is longer than ten years`},
		{in: "3650d1h", err: `"3650d1h" is longer than ten years`},
	} {
		got, err := ParseDuration(tc.in)
		switch {
		case tc.err != "" && (err == nil || err.Error() != tc.err):
			t.Errorf("ParseDuration(%q) = %v, %v; want error %s", tc.in, got, err, tc.err)
		case tc.err == "" && (err != nil || got != tc.want):
			t.Errorf("ParseDuration(%q) = %v, %v; want %v", tc.in, got, err, tc.want)
		}
	}
}

// TestExampleMatchesCatalogue: every rule id and action the example names
// exists in the built-in catalogue.
func TestExampleMatchesCatalogue(t *testing.T) {
	specs, err := rules.Load(rules.Builtin("aws"))
	if err != nil {
		t.Fatal(err)
	}
	var ids, actions []string
	for _, s := range specs {
		ids = append(ids, s.ID)
		if s.Remediation.Action != "" {
			actions = append(actions, s.Remediation.Action)
		}
	}
	if err := loadExample(t).CheckReferences(ids, actions); err != nil {
		t.Errorf("CheckReferences(built-in catalogue) = %v", err)
	}
}

// TestCheckReferences: unknown rule ids and action names are reported at
// their lines, known ones and "*" are not.
func TestCheckReferences(t *testing.T) {
	p := mustParse(t, `version: 1
rules:
  rule_a: {mode: approve}
  rule_typo: {mode: approve}
overrides:
  - rules: ["*", rule_a, rule_b]
    mode: alert
high_risk_actions: [fix_a, fix_typo]
`)
	if err := p.CheckReferences([]string{"rule_a", "rule_b", "rule_typo"}, []string{"fix_a", "fix_typo"}); err != nil {
		t.Errorf("CheckReferences(all known) = %v", err)
	}
	err := p.CheckReferences([]string{"rule_a"}, []string{"fix_a"})
	want := `inline.yaml:4: rules.rule_typo: unknown rule "rule_typo" (not in the rule catalogue)
inline.yaml:6: overrides[0].rules[2]: unknown rule "rule_b" (not in the rule catalogue)
inline.yaml:8: high_risk_actions[1]: unknown action "fix_typo" (no remediation action has this name)`
	if err == nil || err.Error() != want {
		t.Errorf("CheckReferences = %v\nwant %s", err, want)
	}
	if !errors.Is(err, ErrInvalid) {
		t.Errorf("errors.Is(%v, ErrInvalid) = false", err)
	}
}
