package governance

import (
	"context"
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/driftwatch/driftwatch/shared/posture"
	"github.com/driftwatch/driftwatch/shared/store"
	"github.com/driftwatch/driftwatch/shared/store/memstore"
)

// Instants against the example's windows: weekday-nights is 22:00-06:00
// Europe/Madrid Monday to Friday, weekend is all Saturday and Sunday in
// America/New_York.
var (
	tueNightMadrid = time.Date(2026, 3, 10, 22, 30, 0, 0, time.UTC) // Tue 23:30 CET
	tueNoon        = time.Date(2026, 3, 10, 12, 0, 0, 0, time.UTC)  // Tue 13:00 CET, 08:00 EDT
	satNewYork     = time.Date(2026, 3, 14, 15, 0, 0, 0, time.UTC)  // Sat 11:00 EDT
)

const (
	prodAccount    = "111111111111"
	sandboxAccount = "222222222222"
	otherAccount   = "333333333333"
)

var (
	secops       = Approvers{Groups: []string{"S0614TZR7"}}
	platformLead = Approvers{Users: []string{"U024BE7LH", "U0G9QF9C6"}, Groups: []string{"S0615G0KT"}}
	hour5        = func(account string) *RateLimit {
		return &RateLimit{Bucket: "auto|" + account, PerAccount: 5, Window: time.Hour}
	}
)

// TestDecideExample runs the documented example through every branch of
// Decide.
func TestDecideExample(t *testing.T) {
	p := loadExample(t)
	for _, tc := range []struct {
		name string
		in   Input
		want Decision
	}{
		{
			name: "default mode",
			in:   Input{RuleID: "aws_kms_cmk_rotation_enabled", Action: "kms_enable_rotation", Severity: posture.Medium, Account: otherAccount, Now: tueNoon},
			want: Decision{Mode: Approve, Reason: "approve: set by the policy's default", Approvers: platformLead, RequiredApprovals: 1},
		},
		{
			name: "rule sets alert",
			in:   Input{RuleID: "aws_s3_bucket_versioning_enabled", Action: "s3_enable_versioning", Severity: posture.Medium, Account: otherAccount, Now: tueNightMadrid},
			want: Decision{Mode: Alert, Reason: "alert: set by rule aws_s3_bucket_versioning_enabled", Approvers: platformLead, RequiredApprovals: 1},
		},
		{
			name: "rule sets auto, inside a window",
			in:   Input{RuleID: "aws_cloudtrail_trail_logging", Action: "cloudtrail_start_logging", Severity: posture.Critical, Account: otherAccount, Now: tueNightMadrid},
			want: Decision{Mode: Auto, Approvers: platformLead, RequiredApprovals: 1, RateLimit: hour5(otherAccount),
				Reason: "auto (set by rule aws_cloudtrail_trail_logging) inside maintenance window weekday-nights, at most 5 automatic fixes per account per 1h"},
		},
		{
			name: "rule sets auto, inside the second window",
			in:   Input{RuleID: "aws_cloudtrail_trail_logging", Action: "cloudtrail_start_logging", Severity: posture.Critical, Account: otherAccount, Now: satNewYork},
			want: Decision{Mode: Auto, Approvers: platformLead, RequiredApprovals: 1, RateLimit: hour5(otherAccount),
				Reason: "auto (set by rule aws_cloudtrail_trail_logging) inside maintenance window weekend, at most 5 automatic fixes per account per 1h"},
		},
		{
			name: "rule sets auto, outside every window",
			in:   Input{RuleID: "aws_cloudtrail_trail_logging", Action: "cloudtrail_start_logging", Severity: posture.Critical, Account: otherAccount, Now: tueNoon},
			want: Decision{Mode: Approve, Approvers: platformLead, RequiredApprovals: 1,
				Reason: "auto outside maintenance windows weekday-nights, weekend: falls back to approve (auto set by rule aws_cloudtrail_trail_logging)"},
		},
		{
			name: "auto with no time given is outside every window",
			in:   Input{RuleID: "aws_cloudtrail_trail_logging", Action: "cloudtrail_start_logging", Severity: posture.Critical, Account: otherAccount},
			want: Decision{Mode: Approve, Approvers: platformLead, RequiredApprovals: 1,
				Reason: "auto outside maintenance windows weekday-nights, weekend: falls back to approve (auto set by rule aws_cloudtrail_trail_logging)"},
		},
		{
			name: "rule asks for two approvers",
			in:   Input{RuleID: "aws_rds_instance_not_publicly_accessible", Action: "rds_disable_public_access", Severity: posture.Critical, Account: otherAccount, Now: tueNoon},
			want: Decision{Mode: Approve, Approvers: platformLead, RequiredApprovals: 2,
				Reason: "approve: set by the policy's default; needs two distinct approvers (rule aws_rds_instance_not_publicly_accessible)"},
		},
		{
			name: "high-risk action needs two approvers",
			in:   Input{RuleID: "aws_iam_user_access_key_unused_45d", Action: "iam_deactivate_access_key", Severity: posture.Medium, Account: otherAccount, Now: tueNoon},
			want: Decision{Mode: Approve, Approvers: platformLead, RequiredApprovals: 2,
				Reason: "approve: set by the policy's default; needs two distinct approvers (action iam_deactivate_access_key is high risk)"},
		},
		{
			name: "high-risk action is never auto, even inside a window",
			in:   Input{RuleID: "aws_ec2_default_sg_restricts_all_traffic", Action: "ec2_revoke_default_sg_rules", Severity: posture.High, Account: sandboxAccount, Now: tueNightMadrid},
			want: Decision{Mode: Approve, Approvers: platformLead, RequiredApprovals: 2,
				Reason: `auto (set by override "sandbox-auto") does not apply: action ec2_revoke_default_sg_rules is high risk and always needs two approvers, so it falls back to approve; needs two distinct approvers (action ec2_revoke_default_sg_rules is high risk)`},
		},
		{
			name: "override by account beats the rule",
			in:   Input{RuleID: "aws_s3_bucket_versioning_enabled", Action: "s3_enable_versioning", Severity: posture.Medium, Account: sandboxAccount, Now: tueNightMadrid},
			want: Decision{Mode: Auto, Approvers: platformLead, RequiredApprovals: 1, RateLimit: hour5(sandboxAccount),
				Reason: `auto (set by override "sandbox-auto") inside maintenance window weekday-nights, at most 5 automatic fixes per account per 1h`},
		},
		{
			name: "override by account falls back outside the window",
			in:   Input{RuleID: "aws_s3_bucket_versioning_enabled", Action: "s3_enable_versioning", Severity: posture.Medium, Account: sandboxAccount, Now: tueNoon},
			want: Decision{Mode: Approve, Approvers: platformLead, RequiredApprovals: 1,
				Reason: `auto outside maintenance windows weekday-nights, weekend: falls back to approve (auto set by override "sandbox-auto")`},
		},
		{
			name: "override by account and tag beats the rule's auto",
			in: Input{RuleID: "aws_cloudtrail_trail_logging", Action: "cloudtrail_start_logging", Severity: posture.Critical, Account: prodAccount,
				Tags: map[string]string{"environment": "prod", "team": "payments"}, Now: tueNightMadrid},
			want: Decision{Mode: Approve, Approvers: secops, RequiredApprovals: 2,
				Reason: `approve: set by override "prod-strict"; needs two distinct approvers (override "prod-strict")`},
		},
		{
			name: "override's tag must match: another value",
			in: Input{RuleID: "aws_cloudtrail_trail_logging", Action: "cloudtrail_start_logging", Severity: posture.Critical, Account: prodAccount,
				Tags: map[string]string{"environment": "staging"}, Now: tueNightMadrid},
			want: Decision{Mode: Auto, Approvers: secops, RequiredApprovals: 1, RateLimit: hour5(prodAccount),
				Reason: "auto (set by rule aws_cloudtrail_trail_logging) inside maintenance window weekday-nights, at most 5 automatic fixes per account per 1h"},
		},
		{
			name: "override's account must match: the prod tag elsewhere",
			in: Input{RuleID: "aws_kms_cmk_rotation_enabled", Action: "kms_enable_rotation", Severity: posture.Medium, Account: otherAccount,
				Tags: map[string]string{"environment": "prod"}, Now: tueNoon},
			want: Decision{Mode: Approve, Reason: "approve: set by the policy's default", Approvers: platformLead, RequiredApprovals: 1},
		},
		{
			name: "override by tag alone, for its rules only",
			in: Input{RuleID: "aws_ec2_sg_no_public_ingress_tcp_22", Action: "ec2_revoke_public_ingress", Severity: posture.High, Account: otherAccount,
				Tags: map[string]string{"team": "legacy"}, Now: tueNoon},
			want: Decision{Mode: Alert, Reason: `alert: set by override "legacy-hands-off"`, Approvers: platformLead, RequiredApprovals: 1},
		},
		{
			name: "override by tag does not cover another rule",
			in: Input{RuleID: "aws_ec2_sg_no_public_ingress_all_ports", Action: "ec2_revoke_public_ingress", Severity: posture.Critical, Account: otherAccount,
				Tags: map[string]string{"team": "legacy"}, Now: tueNoon},
			want: Decision{Mode: Approve, Reason: "approve: set by the policy's default", Approvers: platformLead, RequiredApprovals: 1},
		},
		{
			name: "tag values match exactly",
			in: Input{RuleID: "aws_ec2_sg_no_public_ingress_tcp_22", Action: "ec2_revoke_public_ingress", Severity: posture.High, Account: otherAccount,
				Tags: map[string]string{"team": "Legacy"}, Now: tueNoon},
			want: Decision{Mode: Approve, Reason: "approve: set by the policy's default", Approvers: platformLead, RequiredApprovals: 1},
		},
		{
			name: "the later of two matching overrides wins",
			in: Input{RuleID: "aws_ec2_sg_no_public_ingress_tcp_22", Action: "ec2_revoke_public_ingress", Severity: posture.High, Account: sandboxAccount,
				Tags: map[string]string{"team": "legacy"}, Now: tueNightMadrid},
			want: Decision{Mode: Alert, Reason: `alert: set by override "legacy-hands-off"`, Approvers: platformLead, RequiredApprovals: 1},
		},
		{
			name: "no automatic fix: alert with guidance",
			in:   Input{RuleID: "aws_rds_instance_storage_encrypted", Severity: posture.High, Account: sandboxAccount, Now: tueNightMadrid},
			want: Decision{Mode: Alert, Reason: "rule aws_rds_instance_storage_encrypted offers no automatic fix: alert with guidance only", Approvers: platformLead, RequiredApprovals: 1},
		},
		{
			name: "opted out, value in any case",
			in: Input{RuleID: "aws_cloudtrail_trail_logging", Action: "cloudtrail_start_logging", Severity: posture.Critical, Account: otherAccount,
				Tags: map[string]string{"driftwatch-remediation": "OFF"}, Now: tueNightMadrid},
			want: Decision{Mode: Alert, OptedOut: true, Approvers: platformLead, RequiredApprovals: 1,
				Reason: "the resource is tagged driftwatch-remediation=OFF: it is never remediated, alert only"},
		},
		{
			name: "opted out beats every override",
			in: Input{RuleID: "aws_kms_cmk_rotation_enabled", Action: "kms_enable_rotation", Severity: posture.Medium, Account: prodAccount,
				Tags: map[string]string{"environment": "prod", "driftwatch-remediation": "off"}, Now: tueNoon},
			want: Decision{Mode: Alert, OptedOut: true, Approvers: platformLead, RequiredApprovals: 2,
				Reason: "the resource is tagged driftwatch-remediation=off: it is never remediated, alert only"},
		},
		{
			name: "opted out without a fix says there is no fix",
			in: Input{RuleID: "aws_rds_instance_storage_encrypted", Severity: posture.High, Account: otherAccount,
				Tags: map[string]string{"driftwatch-remediation": "off"}, Now: tueNoon},
			want: Decision{Mode: Alert, OptedOut: true, Approvers: platformLead, RequiredApprovals: 1,
				Reason: "rule aws_rds_instance_storage_encrypted offers no automatic fix: alert with guidance only"},
		},
		{
			name: "the tag with another value does not opt out",
			in: Input{RuleID: "aws_kms_cmk_rotation_enabled", Action: "kms_enable_rotation", Severity: posture.Medium, Account: otherAccount,
				Tags: map[string]string{"driftwatch-remediation": "on"}, Now: tueNoon},
			want: Decision{Mode: Approve, Reason: "approve: set by the policy's default", Approvers: platformLead, RequiredApprovals: 1},
		},
		{
			name: "approvers: the first entry matching severity and account",
			in:   Input{RuleID: "aws_ec2_sg_no_public_ingress_tcp_22", Action: "ec2_revoke_public_ingress", Severity: posture.High, Account: prodAccount, Now: tueNoon},
			want: Decision{Mode: Approve, Reason: "approve: set by the policy's default", Approvers: secops, RequiredApprovals: 1},
		},
		{
			name: "approvers: a severity the first entry does not list",
			in:   Input{RuleID: "aws_kms_cmk_rotation_enabled", Action: "kms_enable_rotation", Severity: posture.Low, Account: prodAccount, Now: tueNoon},
			want: Decision{Mode: Approve, Reason: "approve: set by the policy's default", Approvers: platformLead, RequiredApprovals: 1},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.want.ApprovalExpiry = 24 * time.Hour
			got := p.Decide(tc.in)
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("Decide:\n got %+v (rate %+v)\nwant %+v (rate %+v)", got, got.RateLimit, tc.want, tc.want.RateLimit)
			}
		})
	}
}

// TestDecideEdges covers what the example does not: the built-in default,
// approvers nobody could satisfy, opt-out settings, unnamed overrides.
func TestDecideEdges(t *testing.T) {
	in := Input{RuleID: "rule_a", Action: "fix_a", Severity: posture.Medium, Account: otherAccount, Now: tueNoon}
	for _, tc := range []struct {
		name   string
		policy *Policy
		in     Input
		mode   Mode
		reason string
		opted  bool
	}{
		{
			name: "no policy file: alert only", policy: Default(), in: in, mode: Alert,
			reason: "alert: set by the built-in default (no governance policy file)",
		},
		{
			name: "no policy file still honours the opt-out tag", policy: Default(), opted: true,
			in:     Input{RuleID: "rule_a", Action: "fix_a", Tags: map[string]string{DefaultOptOutKey: "off"}},
			mode:   Alert,
			reason: "the resource is tagged driftwatch-remediation=off: it is never remediated, alert only",
		},
		{
			name: "no approvers entry for the severity: alert",
			policy: mustParse(t, `version: 1
defaults: {mode: approve}
approvers: [{severities: [critical], users: [U024BE7LH]}]
`),
			in: in, mode: Alert,
			reason: "approve: set by the policy's default; no approvers are configured for medium findings in account 333333333333, so alert only",
		},
		{
			name: "no approvers entry for the account: alert",
			policy: mustParse(t, `version: 1
defaults: {mode: approve}
approvers: [{severities: [medium], accounts: ["111111111111"], users: [U024BE7LH]}]
`),
			in: in, mode: Alert,
			reason: "approve: set by the policy's default; no approvers are configured for medium findings in account 333333333333, so alert only",
		},
		{
			name: "two approvers needed, one user configured: alert",
			policy: mustParse(t, `version: 1
defaults: {mode: approve, two_approvers: true}
approvers: [{severities: [medium], users: [U024BE7LH]}]
`),
			in: in, mode: Alert,
			reason: "approve: set by the policy's default; needs two distinct approvers (the policy's default); two approvers are needed but only U024BE7LH is configured for medium findings in account 333333333333, so alert only",
		},
		{
			name: "two approvers needed, a group configured",
			policy: mustParse(t, `version: 1
defaults: {mode: approve, two_approvers: true}
approvers: [{severities: [medium], groups: [S0614TZR7]}]
`),
			in: in, mode: Approve,
			reason: "approve: set by the policy's default; needs two distinct approvers (the policy's default)",
		},
		{
			name: "a rule's two_approvers: false beats the default",
			policy: mustParse(t, `version: 1
defaults: {mode: approve, two_approvers: true}
approvers: [{severities: [medium], users: [U024BE7LH]}]
rules: {rule_a: {two_approvers: false}}
`),
			in: in, mode: Approve,
			reason: "approve: set by the policy's default",
		},
		{
			name: "an unnamed override is named by its position and line",
			policy: mustParse(t, `version: 1
approvers: [{severities: [medium], users: [U024BE7LH]}]
overrides:
  - rules: [rule_b]
    mode: alert
  - rules: [rule_a]
    mode: approve
`),
			in: in, mode: Approve,
			reason: "approve: set by override 2 (line 6)",
		},
		{
			name: "opt_out: {} disables the default tag",
			policy: mustParse(t, `version: 1
defaults: {mode: approve}
approvers: [{severities: [medium], users: [U024BE7LH]}]
opt_out: {}
`),
			in:   Input{RuleID: "rule_a", Action: "fix_a", Severity: posture.Medium, Account: otherAccount, Tags: map[string]string{DefaultOptOutKey: "off"}},
			mode: Approve, reason: "approve: set by the policy's default",
		},
		{
			name: "a custom opt-out tag replaces the default",
			policy: mustParse(t, `version: 1
defaults: {mode: approve}
approvers: [{severities: [medium], users: [U024BE7LH]}]
opt_out: {"acme:remediation": never}
`),
			in:   Input{RuleID: "rule_a", Action: "fix_a", Severity: posture.Medium, Account: otherAccount, Tags: map[string]string{"acme:remediation": "never"}},
			mode: Alert, opted: true,
			reason: "the resource is tagged acme:remediation=never: it is never remediated, alert only",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := tc.policy.Decide(tc.in)
			if got.Mode != tc.mode || got.Reason != tc.reason || got.OptedOut != tc.opted {
				t.Errorf("Decide = %s, opted out %v: %q\nwant %s, opted out %v: %q", got.Mode, got.OptedOut, got.Reason, tc.mode, tc.opted, tc.reason)
			}
			if got.Fixable() != (tc.mode != Alert) {
				t.Errorf("Fixable() = %v for mode %s", got.Fixable(), got.Mode)
			}
		})
	}
}

// TestDecideDoesNotShareState: changing a decision's approvers does not
// change the policy.
func TestDecideDoesNotShareState(t *testing.T) {
	p := loadExample(t)
	in := Input{RuleID: "aws_kms_cmk_rotation_enabled", Action: "kms_enable_rotation", Severity: posture.Medium, Account: otherAccount}
	d := p.Decide(in)
	d.Approvers.Users[0] = "UMALLORY"
	if got := p.Decide(in).Approvers; !reflect.DeepEqual(got, platformLead) {
		t.Errorf("approvers after a caller changed a decision = %+v", got)
	}
}

// TestTakeAutoToken: auto takes a token from the real in-memory store,
// falls back to approve when the account's tokens are used up, and on a
// store error falls back and reports it.
func TestTakeAutoToken(t *testing.T) {
	ctx := context.Background()
	p := loadExample(t)
	st := memstore.New()
	auto := p.Decide(Input{RuleID: "aws_cloudtrail_trail_logging", Action: "cloudtrail_start_logging", Severity: posture.Critical, Account: otherAccount, Now: tueNightMadrid})
	if auto.Mode != Auto {
		t.Fatalf("premise: mode %s, want auto", auto.Mode)
	}
	for i := range 5 {
		got, err := auto.TakeAutoToken(ctx, st, tueNightMadrid.Add(time.Duration(i)*time.Minute))
		if err != nil || !reflect.DeepEqual(got, auto) {
			t.Fatalf("token %d: %+v, %v; want the auto decision unchanged", i+1, got, err)
		}
	}
	got, err := auto.TakeAutoToken(ctx, st, tueNightMadrid.Add(10*time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	want := auto
	want.Mode, want.RateLimit = Approve, nil
	want.Reason = "auto rate limit reached (5 automatic fixes per account per 1h): falls back to approve (was: " + auto.Reason + ")"
	if !reflect.DeepEqual(got, want) {
		t.Errorf("sixth token: %+v\nwant %+v", got, want)
	}

	// Another account has its own tokens.
	other := p.Decide(Input{RuleID: "aws_cloudtrail_trail_logging", Action: "cloudtrail_start_logging", Severity: posture.Critical, Account: sandboxAccount, Now: tueNightMadrid})
	if got, err := other.TakeAutoToken(ctx, st, tueNightMadrid); err != nil || got.Mode != Auto {
		t.Errorf("other account: %s, %v; want auto", got.Mode, err)
	}
	// The next window has fresh tokens.
	if got, err := auto.TakeAutoToken(ctx, st, tueNightMadrid.Add(time.Hour)); err != nil || got.Mode != Auto {
		t.Errorf("next hour: %s, %v; want auto", got.Mode, err)
	}

	// A store error (here: the store refuses a zero time) falls back too.
	got, err = auto.TakeAutoToken(ctx, st, time.Time{})
	if err == nil || errors.Is(err, store.ErrClaimed) || got.Mode != Approve || got.RateLimit != nil {
		t.Errorf("store error: %s, %v; want approve and the store's error", got.Mode, err)
	}

	// Not auto: nothing to take.
	approve := p.Decide(Input{RuleID: "aws_kms_cmk_rotation_enabled", Action: "kms_enable_rotation", Severity: posture.Medium, Account: otherAccount})
	if got, err := approve.TakeAutoToken(ctx, st, time.Time{}); err != nil || !reflect.DeepEqual(got, approve) {
		t.Errorf("approve decision: %+v, %v; want it unchanged", got, err)
	}
}

// TestTakeAutoTokenWithoutApprovers: when auto falls back and nobody could
// approve, the fix is alert only.
func TestTakeAutoTokenWithoutApprovers(t *testing.T) {
	p := mustParse(t, `version: 1
defaults: {mode: auto}
maintenance_windows: [{name: always, timezone: UTC, start: "00:00", end: "24:00"}]
auto: {windows: [always], rate_limit: {per_account: 1, window: 1d}}
`)
	ctx := context.Background()
	st := memstore.New()
	d := p.Decide(Input{RuleID: "rule_a", Action: "fix_a", Severity: posture.High, Account: otherAccount, Now: tueNoon})
	if d.Mode != Auto || !d.Approvers.Empty() {
		t.Fatalf("premise: %+v", d)
	}
	if _, err := d.TakeAutoToken(ctx, st, tueNoon); err != nil {
		t.Fatal(err)
	}
	got, err := d.TakeAutoToken(ctx, st, tueNoon)
	want := "auto rate limit reached (1 automatic fix per account per 1 day): falls back to approve (was: " + d.Reason + "); no approvers are configured, so alert only"
	if err != nil || got.Mode != Alert || got.Reason != want {
		t.Errorf("second token: %s %q, %v\nwant alert %q", got.Mode, got.Reason, err, want)
	}
}

// TestCheckAcceptRisk bounds an accepted risk's expiry by the policy.
func TestCheckAcceptRisk(t *testing.T) {
	p := loadExample(t)
	now := tueNoon
	for _, tc := range []struct {
		until time.Time
		want  string
	}{
		{until: now.Add(time.Hour)},
		{until: now.Add(90 * 24 * time.Hour)},
		{until: now, want: "the expiry must be in the future"},
		{until: now.Add(-time.Hour), want: "the expiry must be in the future"},
		{until: now.Add(90*24*time.Hour + time.Minute), want: "the expiry is 90 days 1m away; the policy allows accepting a risk for at most 90 days"},
		{until: now.Add(120 * 24 * time.Hour), want: "the expiry is 120 days away; the policy allows accepting a risk for at most 90 days"},
	} {
		err := p.CheckAcceptRisk(now, tc.until)
		var den *Denial
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("CheckAcceptRisk(%v) = %v, want nil", tc.until.Sub(now), err)
		case tc.want != "" && (!errors.As(err, &den) || den.Reason != tc.want || !errors.Is(err, ErrExpiryNotAllowed)):
			t.Errorf("CheckAcceptRisk(%v) = %v, want a denial: %s", tc.until.Sub(now), err, tc.want)
		}
	}
}

// BenchmarkDecide measures a decision on the per-alert path: the example
// policy, a resource matching an override, inside a window.
func BenchmarkDecide(b *testing.B) {
	p := loadExample(b)
	in := Input{RuleID: "aws_s3_bucket_versioning_enabled", Action: "s3_enable_versioning", Severity: posture.Medium, Account: sandboxAccount,
		Tags: map[string]string{"environment": "dev", "team": "payments"}, Now: tueNightMadrid}
	for b.Loop() {
		p.Decide(in)
	}
}

// An action the catalogue declares irreversible is high risk even when the
// policy file does not list it: never automatic, two approvers, and the
// reason says why.
func TestIrreversibleActions(t *testing.T) {
	p := loadExample(t)
	in := Input{RuleID: "azure_keyvault_soft_delete_and_purge_protection", Action: "azure_keyvault_enable_purge_protection",
		Severity: posture.High, Account: sandboxAccount, Now: tueNightMadrid}
	if d := p.Decide(in); d.Mode != Auto || d.RequiredApprovals != 1 {
		t.Fatalf("before marking: %+v (the sandbox override makes everything auto)", d)
	}
	p.MarkIrreversible("azure_keyvault_enable_purge_protection")
	want := Decision{Mode: Approve, Approvers: platformLead, RequiredApprovals: 2, ApprovalExpiry: 24 * time.Hour,
		Reason: `auto (set by override "sandbox-auto") does not apply: action azure_keyvault_enable_purge_protection cannot be undone and always needs two approvers, so it falls back to approve; needs two distinct approvers (action azure_keyvault_enable_purge_protection cannot be undone)`}
	if got := p.Decide(in); !reflect.DeepEqual(got, want) {
		t.Errorf("Decide =\n%+v\nwant\n%+v", got, want)
	}
	// Default (no file) alerts only; marking changes nothing there but the
	// approvals a later policy would need.
	d := Default()
	d.MarkIrreversible("azure_keyvault_enable_purge_protection")
	if got := d.Decide(in); got.Mode != Alert || got.RequiredApprovals != 2 {
		t.Errorf("default policy: %+v", got)
	}
}
