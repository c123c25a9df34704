package slackalert

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/driftwatch/driftwatch/shared/alert"
	"github.com/driftwatch/driftwatch/shared/change"
	"github.com/driftwatch/driftwatch/shared/posture"
)

var update = flag.Bool("update", false, "rewrite testdata/slackalert/*.golden.json")

const testdata = "../../testdata/slackalert"

func loadAlert(t testing.TB, name string) alert.Alert {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(testdata, name+".alert.json"))
	if err != nil {
		t.Fatal(err)
	}
	var a alert.Alert
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&a); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return a
}

func TestRenderGolden(t *testing.T) {
	tests := []struct {
		name       string
		wantHeader string
		want       []string // substrings of the blocks JSON
		dontWant   []string
		actions    bool
		// fix maps each fix actions block id to its buttons' action ids.
		fix map[string][]string
		// confirm are the exact texts of the buttons' confirm dialogs, by
		// action id.
		confirm map[string]string
	}{
		{
			name:       "open_s3_public_acl",
			wantHeader: ":red_circle: CRITICAL · S3 bucket ACL grants access to everyone",
			want: []string{
				"`payments-exports-prod`", "`111122223333` · payments-prod", "`eu-west-1`",
				"*Changed by:* `alice` (IAMUser) via the CLI",
				"`203.0.113.7` · `aws-cli/2.13.0`",
				"*Operation:* `PutBucketAcl` · <!date^1741921121^{date_short_pretty} {time}|2025-03-14 02:58 UTC>",
				"`acl.grants`: `[{\"grantee\":\"CanonicalUser:owner\",\"permission\":\"FULL_CONTROL\"}]` → `[{",
				"*Automatic fix available:* `s3_make_acl_private`",
				"First seen <!date^1741921121^", "Event `607b9532-1423-41c7-b048-ec2641693c47`",
			},
			actions: true,
		},
		{
			name:       "open_sg_ssh_terraform_ipv6",
			wantHeader: ":large_orange_circle: HIGH · Security group opens SSH (TCP 22) to the internet",
			want: []string{
				"via Terraform", "`2001:db8:4006:812::200e`", "`Terraform/1.6.6 terraform-provider-aws/5.31.0`",
				"*Session issuer:* `arn:aws:iam::112233445566:role/TerraformDeployer`",
				"`ingress[tcp/22].ipv6_ranges`: `[]` → `[\"::/0\"]`",
				"+2 more", // six controls, four shown
			},
			actions: true,
		},
		{
			name:       "open_cloudtrail_stoplogging",
			wantHeader: ":red_circle: CRITICAL · CloudTrail trail stopped logging: audit events are no longer recorded",
			want:       []string{"`root` (Root) via the console", "`Chrome 131`", "`status.is_logging`: `true` → `false`"},
			actions:    true,
		},
		{
			name:       "open_multi_rule",
			wantHeader: ":red_circle: CRITICAL · S3 bucket policy grants access to anonymous principals (+3 more)",
			want: []string{
				"`versioning.status`: _(not observed before)_ → _(empty)_",
				"*Resolved since the alert opened*", "~S3 bucket server access logging is off~",
				"`S3Console/0.4`",
				"`AWSReservedSSO_AdministratorAccess_0123456789abcdef/carol@example.com`",
			},
			actions: true,
		},
		{
			name:       "resolved",
			wantHeader: ":white_check_mark: RESOLVED · S3 bucket ACL grants access to everyone",
			want: []string{
				"*Resolved by:* `OnCall/bob` (AssumedRole) via the console",
				"*Resolved rules*", ":white_check_mark: ~S3 bucket ACL grants access to everyone~ `aws_s3_bucket_acl_no_public_grants` _was CRITICAL_",
				"Opened <!date^1741921121^", "Resolved <!date^1741922222^",
			},
			dontWant: []string{"First seen", "*Fix:*"},
			actions:  true,
		},
		{
			name:       "resolved_deleted",
			wantHeader: ":white_check_mark: RESOLVED · Security group opens SSH (TCP 22) to the internet",
			want:       []string{":wastebasket: *The resource no longer exists.*", "*Deleted by:* `TerraformDeployer/gha-run-8812399`", "`DeleteSecurityGroup`"},
			dontWant:   []string{"Open in console"},
		},
		{
			name:       "hostile",
			wantHeader: ":red_circle: CRITICAL · Public ACL on *everything* _now_ ~gone~ ‹!channel› `x` ∶rotating_light:",
			want:       []string{"&lt;!channel&gt;", "_(not observed before)_"},
			dontWant:   []string{"javascript:", "Open in console"},
		},
		{
			name:       "fix_approve_buttons",
			wantHeader: ":red_circle: CRITICAL · S3 bucket ACL grants access to everyone",
			want: []string{
				"*Automatic fix:* Set the ACL of bucket payments-exports-prod to private: remove the READ grant to everyone (Group:AllUsers). The owner keeps FULL_CONTROL; nothing else changes. `s3_acl_private`",
			},
			dontWant: []string{"*Automatic fix available:*", "Remediation proposed", "Undo"},
			actions:  true,
			fix:      map[string][]string{"driftwatch_fix:aws_s3_bucket_acl_no_public_grants": {RemediateActionID, AcceptRiskActionID}},
			confirm: map[string]string{RemediateActionID: "Set the ACL of bucket payments-exports-prod to private: remove the READ grant to everyone (Group:AllUsers). The owner keeps FULL_CONTROL; nothing else changes.\n\n" +
				"0 of 1 approval"},
		},
		{
			name:       "fix_two_approver_in_progress",
			wantHeader: ":large_orange_circle: HIGH · Security group opens SSH (TCP 22) to the internet",
			want: []string{
				":hourglass_flowing_sand: *Remediation proposed* · 1 of 2 approvals: Alice Martin",
				"*Risk accepted*",
				":large_orange_circle: Security group opens RDP (TCP 3389) to the internet `aws_ec2_sg_no_public_ingress_tcp_3389` — accepted by Carol Diaz until <!date^1744536600^{date_short_pretty} {time}|2025-04-13 09:30 UTC>: “Vendor jump host for the ∗legacy∗ ERP until the VPN cut-over (CHG-4821) &lt;!channel&gt;”",
			},
			actions: true,
			fix:     map[string][]string{"driftwatch_fix:aws_ec2_sg_no_public_ingress_tcp_22": {RemediateActionID, AcceptRiskActionID}},
			confirm: map[string]string{RemediateActionID: "Revoke the ingress rule of sg-0a1b2c3d4e5f67890 that allows tcp/22 from ::/0. The rule allowing tcp/22 from 10.0.0.0/8 stays.\n\n" +
				"1 of 2 approvals: Alice Martin"},
		},
		{
			name:       "fix_running",
			wantHeader: ":red_circle: CRITICAL · CloudTrail trail stopped logging: audit events are no longer recorded",
			want:       []string{":gear: *Remediation approved by Alice Martin and Bob Chen, running…*"},
			dontWant:   []string{"Remediate", "Undo"},
			actions:    true,
			fix:        map[string][]string{},
		},
		{
			name:       "fix_succeeded_undo",
			wantHeader: ":white_check_mark: RESOLVED · S3 bucket ACL grants access to everyone",
			want: []string{
				"*Resolved by:* `driftwatch-remediator/rem-7h3kq2` (AssumedRole) via an SDK",
				"S3 bucket ACL grants access to everyone · :white_check_mark: *Fixed by driftwatch*: bucket ACL set to private; the READ grant to everyone was removed — approved by Alice Martin",
			},
			dontWant: []string{"Accept risk", "Remediate?"},
			actions:  true,
			fix:      map[string][]string{"driftwatch_fix:aws_s3_bucket_acl_no_public_grants": {UndoActionID}},
			confirm: map[string]string{UndoActionID: "Restore the previous setting?\nThis reverses: " +
				"Set the ACL of bucket payments-exports-prod to private: remove the READ grant to everyone (Group:AllUsers). The owner keeps FULL_CONTROL; nothing else changes."},
		},
		{
			name:       "fix_failed",
			wantHeader: ":red_circle: CRITICAL · S3 bucket ACL grants access to everyone",
			want:       []string{":x: *Remediation failed:* S3 refused PutBucketAcl (AccessDenied): the remediator role may not change this bucket's ACL. Nothing was changed."},
			dontWant:   []string{"Remediate?", "Undo"},
			actions:    true,
			fix:        map[string][]string{"driftwatch_fix:aws_s3_bucket_acl_no_public_grants": {AcceptRiskActionID}},
		},
		{
			name:       "fix_rolled_back",
			wantHeader: ":red_circle: CRITICAL · S3 bucket ACL grants access to everyone",
			want:       []string{":leftwards_arrow_with_hook: *Undone:* previous setting restored · undone by Bob Chen: bucket ACL restored from the snapshot taken before the fix"},
			dontWant:   []string{"Remediate?", "Accept risk"},
			actions:    true,
			fix:        map[string][]string{},
		},
		{
			name:       "accepted_risk",
			wantHeader: ":large_yellow_circle: RISK ACCEPTED · Security group opens SSH (TCP 22) to the internet",
			want: []string{
				"*Risk accepted*",
				"— accepted by Carol Diaz until <!date^1744536600^{date_short_pretty} {time}|2025-04-13 09:30 UTC>: “Bastion for the vendor's support team until the VPN cut-over (CHG-4821). Owner: platform team.”",
			},
			actions: true,
			fix:     map[string][]string{},
		},
		{
			name:       "fix_auto_succeeded",
			wantHeader: ":white_check_mark: RESOLVED · S3 bucket Block Public Access is off",
			want: []string{
				"S3 bucket Block Public Access is off · :white_check_mark: *Fixed automatically (maintenance window)*: Block Public Access turned on for staging-assets (window Sat 01:00–05:00 Europe/Madrid)",
			},
			dontWant: []string{"approved by"},
			actions:  true,
			fix:      map[string][]string{"driftwatch_fix:aws_s3_bucket_public_access_block_enabled": {UndoActionID}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := loadAlert(t, tt.name)
			text, blocks := Render(a)
			m := marshalMessage(t, text, blocks)
			bs := checkBlockKit(t, m)

			if bs[0].Type != "header" || bs[0].Text.Text != tt.wantHeader {
				t.Errorf("header = %q, want %q", bs[0].Text.Text, tt.wantHeader)
			}
			js := string(m.Blocks)
			var plainJS bytes.Buffer
			if err := json.Compact(&plainJS, m.Blocks); err != nil {
				t.Fatal(err)
			}
			// Compare against the decoded strings, not JSON escapes.
			all := allText(t, bs)
			for _, w := range tt.want {
				if !strings.Contains(all, w) {
					t.Errorf("message lacks %q", w)
				}
			}
			for _, w := range tt.dontWant {
				if strings.Contains(all, w) || strings.Contains(js, w) {
					t.Errorf("message contains %q", w)
				}
			}
			last := bs[len(bs)-1]
			if got := last.Type == "actions" && last.BlockID == ActionsBlockID; got != tt.actions {
				t.Errorf("ends with the %s actions block: %v, want %v", ActionsBlockID, got, tt.actions)
			}
			for _, o := range textObjects(t, bs) {
				checkInert(t, o.where, o.Text, o.Type == "mrkdwn")
			}
			checkInert(t, "fallback", text, true)
			if tt.fix != nil {
				checkFixButtons(t, a, bs, tt.fix, tt.confirm)
			}

			golden(t, tt.name, m)
		})
	}
}

// checkFixButtons asserts the fix actions blocks (block id -> action ids,
// in order), that every fix button carries the finding's reference, and
// the exact confirm dialog texts.
func checkFixButtons(t *testing.T, a alert.Alert, bs []kitBlock, want map[string][]string, confirm map[string]string) {
	t.Helper()
	refs := map[string]alert.FixRef{}
	for _, f := range append(slices.Clone(a.Failing), a.Resolved...) {
		if f.Fix != nil {
			refs[FixBlockID(f.RuleID)] = f.Fix.Ref
		}
	}
	got := map[string][]string{}
	gotConfirm := map[string]string{}
	for _, b := range bs {
		if b.Type != "actions" || !strings.HasPrefix(b.BlockID, FixBlockIDPrefix) {
			continue
		}
		for _, raw := range b.Elements {
			var e kitElement
			if err := json.Unmarshal(raw, &e); err != nil {
				t.Fatal(err)
			}
			got[b.BlockID] = append(got[b.BlockID], e.ActionID)
			ref, err := DecodeFixValue(e.Value)
			if err != nil {
				t.Errorf("%s %s: value %q: %v", b.BlockID, e.ActionID, e.Value, err)
			} else if ref != refs[b.BlockID] {
				t.Errorf("%s %s: value carries %+v, want %+v", b.BlockID, e.ActionID, ref, refs[b.BlockID])
			}
			if e.Confirm != nil {
				gotConfirm[e.ActionID] = e.Confirm.Text.Text
			}
		}
	}
	if !maps.EqualFunc(got, want, slices.Equal) {
		t.Errorf("fix buttons = %v, want %v", got, want)
	}
	for id, w := range confirm {
		if gotConfirm[id] != w {
			t.Errorf("%s confirm text =\n%q\nwant\n%q", id, gotConfirm[id], w)
		}
	}
}

// allText joins every text object's text for substring checks.
func allText(t testing.TB, bs []kitBlock) string {
	var b strings.Builder
	for _, o := range textObjects(t, bs) {
		b.WriteString(o.Text)
		b.WriteByte('\n')
	}
	return b.String()
}

func golden(t *testing.T, name string, m message) {
	t.Helper()
	var compact bytes.Buffer
	enc := json.NewEncoder(&compact)
	enc.SetEscapeHTML(false) // keep <, > and & readable in the golden file
	if err := enc.Encode(m); err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := json.Indent(&buf, unescapeHTML(bytes.TrimSpace(compact.Bytes())), "", "  "); err != nil {
		t.Fatal(err)
	}
	buf.WriteByte('\n')
	path := filepath.Join(testdata, name+".golden.json")
	if *update {
		if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if !bytes.Equal(buf.Bytes(), want) {
		t.Errorf("%s differs from the rendering (run go test -update and review the diff):\n%s", path, firstDiff(string(want), buf.String()))
	}
}

// unescapeHTML turns the \u003c, \u003e and \u0026 escapes that slack-go's
// own MarshalJSON methods emit back into <, > and &, which is the same JSON
// and reads better in a golden file. An escaped backslash is skipped whole.
func unescapeHTML(b []byte) []byte {
	out := make([]byte, 0, len(b))
	for i := 0; i < len(b); i++ {
		if b[i] != '\\' || i+1 >= len(b) {
			out = append(out, b[i])
			continue
		}
		if b[i+1] == 'u' && i+6 <= len(b) {
			switch string(b[i+2 : i+6]) {
			case "003c":
				out, i = append(out, '<'), i+5
				continue
			case "003e":
				out, i = append(out, '>'), i+5
				continue
			case "0026":
				out, i = append(out, '&'), i+5
				continue
			}
		}
		out = append(out, b[i], b[i+1])
		i++
	}
	return out
}

func firstDiff(want, got string) string {
	wl, gl := strings.Split(want, "\n"), strings.Split(got, "\n")
	for i := range max(len(wl), len(gl)) {
		var w, g string
		if i < len(wl) {
			w = wl[i]
		}
		if i < len(gl) {
			g = gl[i]
		}
		if w != g {
			return fmt.Sprintf("line %d:\n want %s\n  got %s", i+1, w, g)
		}
	}
	return ""
}

// everywhere puts s in every untrusted field of an open alert.
func everywhere(s string) alert.Alert {
	ts := time.Date(2025, 3, 14, 2, 58, 41, 0, time.UTC)
	return alert.Alert{
		State: alert.Open,
		Resource: change.ResourceRef{
			Cloud: change.AWS, Type: s, ID: s, Name: s, Account: s, Region: s,
		},
		AccountName: s,
		ConsoleURL:  "https://console.aws.amazon.com/",
		Cause: alert.Cause{
			EventID: s, Operation: s, Time: ts,
			Actor: change.Actor{Principal: s, Type: s, Name: s, SessionIssuer: s, SourceIP: s, UserAgent: s, Via: s},
		},
		Failing: []alert.Finding{{
			RuleID: s, Title: s, Severity: posture.Critical, Controls: []string{s, s},
			Settings:    []alert.Setting{{Path: s, Before: s, After: s, Known: true}, {Path: s, After: s}},
			Remediation: s, Action: s,
			// The reference is built by the pipeline from stored keys, not
			// from the strings under test; everything shown is untrusted.
			Fix: &alert.Fix{Ref: validRef(), Mode: ModeApprove, Change: s, State: "proposed",
				Approvals: []string{s}, Required: 2, Result: s, AcceptRisk: true},
		}},
		Resolved: []alert.Finding{{RuleID: s, Title: s, Severity: posture.High,
			Fix: &alert.Fix{Ref: validRef(), Mode: ModeApprove, Change: s, State: "succeeded",
				Approvals: []string{s, s}, Required: 2, Result: s, CanUndo: true}}},
		Accepted: []alert.Accepted{{RuleID: s, Title: s, Severity: posture.Medium, By: s, Reason: s, Until: ts.Add(720 * time.Hour)}},
		OpenedAt: ts,
		Note:     s,
	}
}

func TestRenderEscapesUntrusted(t *testing.T) {
	tests := []struct {
		name string
		in   string
		// exact: the hostile rendering has exactly the formatting markers
		// of a benign one. Inputs long enough to be truncated can lose
		// some of the layout's own markers, so they only compare ≤.
		exact bool
	}{
		{"channel mention", "<!channel>", true},
		{"here mention with label", "<!here|here>", true},
		{"everyone", "<!everyone>", true},
		{"user mention", "<@U024BE7LH>", true},
		{"user group mention", "<!subteam^S0614TZR7|@security-team>", true},
		{"link with label", "<http://evil.example|click here>", true},
		{"mailto link", "<mailto:a@evil.example|mail>", true},
		{"date token", "<!date^1392734382^{date}|Feb 18>", true},
		{"bold italic strike code", "*bold* _italic_ ~strike~ `code`", true},
		{"code block", "```\nblock\n```", true},
		{"quote at start", "> quoted", true},
		{"multi-line quote", "line1\n> quote on line 2\n>>> the rest", true},
		{"CRLF quote", "x\r\n>crlf quote", true},
		{"unicode line separator quote", "x\u2028> quote", true},
		{"pre-escaped entities", "&lt;!channel&gt; &amp;lt;", true},
		{"emoji shortcode", ":white_check_mark: resolved :rotating_light:", true},
		{"bare mentions and url", "@channel @here #general http://evil.example/login", true},
		{"bidi override", "invoice\u202egnp.exe\u202c", true},
		{"zero width around markers", "a\u200b*zero*\u200bb", true},
		{"fullwidth brackets", "＜!channel＞", true},
		{"control characters", "a\x00b\x1b[31mc\x7fd\u0085e", true},
		{"invalid utf-8", "ok\xff\xfe<!channel>", true},
		{"markers between words", "a*b*c snake_case_name x~y~z", true},
		{"only markers", "*_~`", true},
		{"very long hostile", strings.Repeat("<!channel>*x*_y_", 800), false},
		{"very long multibyte", strings.Repeat("é漢🚨", 3000), false},
		{"very long newlines", strings.Repeat("\n> q", 2000), false},
	}
	benign := render(t, everywhere("x"))
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := render(t, everywhere(tt.in))
			if len(got) != len(benign) {
				t.Fatalf("%d text objects, benign rendering has %d", len(got), len(benign))
			}
			for i, o := range got {
				if o.Type != benign[i].Type {
					t.Fatalf("%s: type %s, benign %s", o.where, o.Type, benign[i].Type)
				}
				live := checkInert(t, o.where, o.Text, o.Type == "mrkdwn")
				want := checkInert(t, o.where, benign[i].Text, o.Type == "mrkdwn")
				for _, r := range []rune{'*', '_', '~', '`'} {
					if tt.exact && live[r] != want[r] || live[r] > want[r] {
						t.Errorf("%s: %d live %q markers, the layout has %d: %q", o.where, live[r], r, want[r], o.Text)
					}
				}
			}
		})
	}
}

// render returns every text object of the rendered alert, the fallback
// text last.
func render(t *testing.T, a alert.Alert) []textObject {
	t.Helper()
	text, blocks := Render(a)
	m := marshalMessage(t, text, blocks)
	bs := checkBlockKit(t, m)
	return append(textObjects(t, bs), textObject{"fallback", kitText{Type: "mrkdwn", Text: text}})
}

func TestRenderFixStates(t *testing.T) {
	ref := validRef()
	base := func(fx alert.Fix) alert.Alert {
		fx.Ref = ref
		fx.Change = "Set the bucket ACL to private."
		return alert.Alert{State: alert.Open, ConsoleURL: "https://console.aws.amazon.com/", Failing: []alert.Finding{{
			RuleID: ref.RuleID, Title: "Public ACL", Severity: posture.Critical, Fix: &fx,
		}}}
	}
	two := []string{"Alice", "Bob"}
	tests := []struct {
		name    string
		fix     alert.Fix
		status  string // "" for none
		buttons []string
	}{
		{"offered", alert.Fix{Mode: ModeApprove, Required: 1}, "", []string{RemediateActionID}},
		{"offered with accept risk", alert.Fix{Mode: ModeApprove, AcceptRisk: true}, "", []string{RemediateActionID, AcceptRiskActionID}},
		{"alert mode accept risk only", alert.Fix{Mode: "alert", AcceptRisk: true}, "", []string{AcceptRiskActionID}},
		{"proposed, none yet", alert.Fix{Mode: ModeApprove, State: "proposed", Required: 2},
			":hourglass_flowing_sand: *Remediation proposed* · 0 of 2 approvals", []string{RemediateActionID}},
		{"proposed, one of two", alert.Fix{Mode: ModeApprove, State: "proposed", Approvals: []string{"Alice"}, Required: 2},
			":hourglass_flowing_sand: *Remediation proposed* · 1 of 2 approvals: Alice", []string{RemediateActionID}},
		{"approved", alert.Fix{Mode: ModeApprove, State: "approved", Approvals: two, Required: 2},
			":gear: *Remediation approved by Alice and Bob, running…*", nil},
		{"running", alert.Fix{Mode: ModeApprove, State: "running", Approvals: []string{"Alice"}},
			":gear: *Remediation approved by Alice, running…*", nil},
		{"running, many approvers", alert.Fix{Mode: ModeApprove, State: "running", Approvals: []string{"A", "B", "C", "D", "E", "F", "G"}},
			":gear: *Remediation approved by A, B, C, D, E and 2 more, running…*", nil},
		{"succeeded", alert.Fix{Mode: ModeApprove, State: "succeeded", Approvals: []string{"Alice"}, Result: "ACL set to private.", CanUndo: true},
			":white_check_mark: *Fixed by driftwatch*: ACL set to private — approved by Alice", []string{UndoActionID}},
		{"succeeded without snapshot", alert.Fix{Mode: ModeApprove, State: "succeeded", Approvals: []string{"Alice"}},
			":white_check_mark: *Fixed by driftwatch* — approved by Alice", nil},
		{"auto running", alert.Fix{Mode: ModeAuto, State: "running"},
			":gear: *Fixing automatically (maintenance window), running…*", nil},
		{"auto succeeded", alert.Fix{Mode: ModeAuto, State: "succeeded", Approvals: []string{"auto"}, Result: "ACL set to private (window Sat 01:00–05:00 Europe/Madrid)", CanUndo: true},
			":white_check_mark: *Fixed automatically (maintenance window)*: ACL set to private (window Sat 01:00–05:00 Europe/Madrid)", []string{UndoActionID}},
		{"failed", alert.Fix{Mode: ModeApprove, State: "failed", Result: "AccessDenied from S3", AcceptRisk: true},
			":x: *Remediation failed:* AccessDenied from S3. Nothing was changed.", []string{AcceptRiskActionID}},
		{"failed without result", alert.Fix{Mode: ModeApprove, State: "failed"},
			":x: *Remediation failed.* Nothing was changed.", nil},
		{"rolling back", alert.Fix{Mode: ModeApprove, State: "rolling_back", Approvals: two},
			":leftwards_arrow_with_hook: *Undo requested:* restoring the previous setting…", nil},
		{"rolled back", alert.Fix{Mode: ModeApprove, State: "rolled_back", Approvals: two, Result: "undone by Carol: ACL restored from the snapshot"},
			":leftwards_arrow_with_hook: *Undone:* previous setting restored · undone by Carol: ACL restored from the snapshot", nil},
		{"rolled back without result", alert.Fix{Mode: ModeApprove, State: "rolled_back", Approvals: two},
			":leftwards_arrow_with_hook: *Undone:* previous setting restored", nil},
		{"denied", alert.Fix{Mode: ModeApprove, State: "denied", Result: "the actor who caused the drift cannot approve its fix"},
			":no_entry: *Remediation denied:* the actor who caused the drift cannot approve its fix.", nil},
		{"expired", alert.Fix{Mode: ModeApprove, State: "expired", Approvals: []string{"Alice"}, Required: 2},
			":hourglass: *Approval expired:* not enough approvals in time. Nothing was changed.", nil},
		{"unknown state", alert.Fix{Mode: ModeApprove, State: "<!channel>"},
			":grey_question: *Remediation state:* `&lt;!channel&gt;`", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := base(tt.fix)
			text, blocks := Render(a)
			bs := checkBlockKit(t, marshalMessage(t, text, blocks))
			// header, resource, cause, divider, rule, [status], [fix actions], context, console
			var status string
			if bs[5].Type == "section" {
				status = bs[5].Text.Text
			}
			if status != tt.status {
				t.Errorf("status = %q\nwant     %q", status, tt.status)
			}
			want := map[string][]string{}
			if tt.buttons != nil {
				want[FixBlockID(ref.RuleID)] = tt.buttons
			}
			checkFixButtons(t, a, bs, want, nil)
			for _, o := range textObjects(t, bs) {
				checkInert(t, o.where, o.Text, o.Type == "mrkdwn")
			}
			if last := bs[len(bs)-1]; last.BlockID != ActionsBlockID {
				t.Errorf("last block %q, want the console actions block", last.BlockID)
			}
		})
	}
}

func TestRenderFixButtonsEdgeCases(t *testing.T) {
	ref := validRef()
	fx := func(r alert.FixRef) *alert.Fix {
		return &alert.Fix{Ref: r, Mode: ModeApprove, Change: "c", AcceptRisk: true}
	}
	t.Run("rule listed twice gets one actions block", func(t *testing.T) {
		f := alert.Finding{RuleID: ref.RuleID, Title: "t", Severity: posture.High, Fix: fx(ref)}
		a := alert.Alert{State: alert.Open, Failing: []alert.Finding{f, f}}
		text, blocks := Render(a)
		bs := checkBlockKit(t, marshalMessage(t, text, blocks)) // fails on a duplicate block_id
		checkFixButtons(t, a, bs, map[string][]string{FixBlockID(ref.RuleID): {RemediateActionID, AcceptRiskActionID}}, nil)
	})
	t.Run("invalid reference gets no buttons and says why", func(t *testing.T) {
		bad := ref
		bad.Cloud = "oci"
		a := alert.Alert{State: alert.Open, Failing: []alert.Finding{{RuleID: ref.RuleID, Title: "t", Severity: posture.High, Fix: fx(bad)}}}
		text, blocks := Render(a)
		bs := checkBlockKit(t, marshalMessage(t, text, blocks))
		checkFixButtons(t, a, bs, map[string][]string{}, nil)
		if !strings.Contains(allText(t, bs), "The fix buttons are unavailable for this finding") {
			t.Error("no note explains the missing buttons")
		}
	})
	t.Run("resolved finding offers only undo", func(t *testing.T) {
		f := alert.Finding{RuleID: ref.RuleID, Title: "t", Severity: posture.High, Fix: fx(ref)}
		f.Fix.State, f.Fix.CanUndo = "succeeded", true
		a := alert.Alert{State: alert.Resolved, Resolved: []alert.Finding{f}}
		text, blocks := Render(a)
		bs := checkBlockKit(t, marshalMessage(t, text, blocks))
		checkFixButtons(t, a, bs, map[string][]string{FixBlockID(ref.RuleID): {UndoActionID}}, nil)
	})
	t.Run("resolved finding nobody acted on shows nothing", func(t *testing.T) {
		a := alert.Alert{State: alert.Resolved, Resolved: []alert.Finding{{RuleID: ref.RuleID, Title: "t", Severity: posture.High, Fix: fx(ref)}}}
		text, blocks := Render(a)
		bs := checkBlockKit(t, marshalMessage(t, text, blocks))
		checkFixButtons(t, a, bs, map[string][]string{}, nil)
	})
	t.Run("long change is cut in the dialog, whole in the message", func(t *testing.T) {
		f := alert.Finding{RuleID: ref.RuleID, Title: "t", Severity: posture.High, Fix: fx(ref)}
		f.Fix.Change = strings.Repeat("Revoke rule sgr-0123456789abcdef0. ", 15) + "END"
		f.Fix.Approvals, f.Fix.Required = []string{"Alice"}, 2
		a := alert.Alert{State: alert.Open, Failing: []alert.Finding{f}}
		text, blocks := Render(a)
		bs := checkBlockKit(t, marshalMessage(t, text, blocks)) // confirm text ≤ 300
		if !strings.Contains(allText(t, bs), "sgr-0123456789abcdef0. END") {
			t.Error("the message does not show the whole change")
		}
		var dialog string
		for _, b := range bs {
			for _, raw := range b.Elements {
				var e kitElement
				if json.Unmarshal(raw, &e) == nil && e.ActionID == RemediateActionID {
					dialog = e.Confirm.Text.Text
				}
			}
		}
		if !strings.HasSuffix(dialog, "…\n\n1 of 2 approvals: Alice") || runeLen(dialog) != 300 {
			t.Errorf("dialog (%d characters) = %q", runeLen(dialog), dialog)
		}
	})
	t.Run("fully accepted resolved alert stays resolved", func(t *testing.T) {
		a := alert.Alert{State: alert.Resolved, Resolved: []alert.Finding{{RuleID: "r", Title: "Fixed one", Severity: posture.Low}},
			Accepted: []alert.Accepted{{RuleID: "x", Title: "Accepted one", Severity: posture.High}}}
		text, blocks := Render(a)
		bs := checkBlockKit(t, marshalMessage(t, text, blocks))
		if got := bs[0].Text.Text; got != ":white_check_mark: RESOLVED · Fixed one" {
			t.Errorf("header = %q", got)
		}
		if !strings.Contains(allText(t, bs), "— accepted by an unknown user until _unknown time_") {
			t.Error("accepted risk without who and until is not rendered plainly")
		}
	})
	t.Run("accepted fallback text", func(t *testing.T) {
		a := alert.Alert{State: alert.Open, Resource: change.ResourceRef{Name: "b"}, Accepted: []alert.Accepted{
			{RuleID: "low", Title: "Low one", Severity: posture.Low}, {RuleID: "high", Title: "High <one>", Severity: posture.High}}}
		text, blocks := Render(a)
		bs := checkBlockKit(t, marshalMessage(t, text, blocks))
		if text != "RISK ACCEPTED: High &lt;one&gt; (+1 more) on b" {
			t.Errorf("fallback = %q", text)
		}
		if got := bs[0].Text.Text; got != ":large_yellow_circle: RISK ACCEPTED · High ‹one› (+1 more)" {
			t.Errorf("header = %q", got)
		}
	})
}

func TestRenderManyHugeRules(t *testing.T) {
	huge := strings.Repeat("v<&>", 5000)
	a := loadAlert(t, "open_s3_public_acl")
	a.Resource.Name = strings.Repeat("n", 5000)
	a.Resource.ID = strings.Repeat("arn:", 3000)
	a.AccountName = strings.Repeat("a", 5000)
	a.Cause.Actor.UserAgent = huge
	a.Failing = nil
	for i := range 40 {
		f := alert.Finding{
			RuleID:      fmt.Sprintf("rule_%02d_%s", i, strings.Repeat("r", 300)),
			Title:       fmt.Sprintf("Title %02d %s", i, strings.Repeat("t", 500)),
			Severity:    []posture.Severity{posture.Low, posture.Critical, posture.Medium, posture.High}[i%4],
			Remediation: strings.Repeat("fix it. ", 2000),
			Action:      "action",
		}
		for j := range 20 {
			f.Controls = append(f.Controls, fmt.Sprintf("CIS AWS 6.0.0 %d.%d", i, j))
		}
		for j := range 30 {
			f.Settings = append(f.Settings, alert.Setting{Path: fmt.Sprintf("s%d", j), Before: huge, After: huge, Known: j%2 == 0})
		}
		a.Failing = append(a.Failing, f)
	}
	// Every rule offers a fix; twenty were fixed and can be undone, and as
	// many risks were accepted: the message must still fit 50 blocks.
	for i := range a.Failing {
		r := validRef()
		r.RuleID = fmt.Sprintf("rule_%02d", i)
		a.Failing[i].RuleID = r.RuleID
		a.Failing[i].Fix = &alert.Fix{Ref: r, Mode: ModeApprove, Change: strings.Repeat("change ", 500), State: "proposed",
			Approvals: []string{strings.Repeat("n", 500), "b"}, Required: 3, AcceptRisk: true}
	}
	for i := range 20 {
		f := a.Failing[i]
		fx := *f.Fix
		fx.State, fx.CanUndo, fx.Result = "succeeded", true, huge
		f.Fix = &fx
		a.Resolved = append(a.Resolved, f)
		a.Accepted = append(a.Accepted, alert.Accepted{RuleID: f.RuleID, Title: f.Title, Severity: f.Severity, By: huge, Reason: huge})
	}

	text, blocks := Render(a)
	m := marshalMessage(t, text, blocks)
	bs := checkBlockKit(t, m)
	all := allText(t, bs)
	for _, want := range []string{":red_circle: CRITICAL · Title 01", "(+39 more)", "more failing rules*", "_…and ", "+16 more", "_+22 more settings_", "*Risk accepted*"} {
		if !strings.Contains(all, want) {
			t.Errorf("message lacks %q", want)
		}
	}
	if last := bs[len(bs)-1]; last.BlockID != ActionsBlockID {
		t.Errorf("the console actions block was cut: last block is %q", last.BlockID)
	}
	if n := len(m.Blocks); n > 100000 {
		t.Errorf("blocks JSON is %d bytes; the budgets should keep it far smaller", n)
	}
	for _, o := range textObjects(t, bs) {
		checkInert(t, o.where, o.Text, o.Type == "mrkdwn")
	}
}

func TestRenderDegenerateInput(t *testing.T) {
	tests := []struct {
		name       string
		a          alert.Alert
		wantHeader string
	}{
		{"zero alert", alert.Alert{}, ":white_circle: INFO · Posture drift on unknown resource"},
		{"open without findings", alert.Alert{State: alert.Open, Resource: change.ResourceRef{ID: "i-1"}}, ":white_circle: INFO · Posture drift on i-1"},
		{"resolved without findings", alert.Alert{State: alert.Resolved, Resource: change.ResourceRef{Name: "b"}}, ":white_check_mark: RESOLVED · Posture drift on b"},
		{"deleted without findings", alert.Alert{State: alert.Resolved, Deleted: true, Resource: change.ResourceRef{Name: "b"}}, ":white_check_mark: RESOLVED · b was deleted"},
		{"finding without title or id", alert.Alert{State: alert.Open, Failing: []alert.Finding{{Severity: "bogus"}}}, ":white_circle: INFO · unnamed rule"},
		{"title of control characters", alert.Alert{State: alert.Resolved, Resolved: []alert.Finding{{Title: "\x00\x01", Severity: posture.Low}}}, ":white_check_mark: RESOLVED · unknown"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			text, blocks := Render(tt.a)
			bs := checkBlockKit(t, marshalMessage(t, text, blocks))
			if got := bs[0].Text.Text; got != tt.wantHeader {
				t.Errorf("header = %q, want %q", got, tt.wantHeader)
			}
			if strings.Contains(allText(t, bs), "~~") {
				t.Error("empty strikethrough renders as literal ~~")
			}
		})
	}
}

func TestRenderSortsBySeverity(t *testing.T) {
	a := alert.Alert{State: alert.Open, Failing: []alert.Finding{
		{RuleID: "low", Title: "Low one", Severity: posture.Low},
		{RuleID: "crit", Title: "Critical one", Severity: posture.Critical},
		{RuleID: "high", Title: "High one", Severity: posture.High},
	}}
	_, blocks := Render(a)
	bs := checkBlockKit(t, marshalMessage(t, "x", blocks))
	if got, want := bs[0].Text.Text, ":red_circle: CRITICAL · Critical one (+2 more)"; got != want {
		t.Errorf("header = %q, want %q", got, want)
	}
	all := allText(t, bs)
	ci, hi, li := strings.Index(all, "`crit`"), strings.Index(all, "`high`"), strings.Index(all, "`low`")
	if ci < 0 || hi < 0 || li < 0 || !(ci < hi && hi < li) {
		t.Errorf("rules not most severe first: crit@%d high@%d low@%d", ci, hi, li)
	}
	if a.Failing[0].RuleID != "low" {
		t.Error("Render reordered the caller's slice")
	}
}

func TestSafeURL(t *testing.T) {
	tests := []struct {
		in   string
		want bool
	}{
		{"https://console.aws.amazon.com/s3/buckets/b?region=eu-west-1&tab=permissions", true},
		{"http://localhost:8080/demo", true},
		{"", false},
		{"javascript:alert(1)", false},
		{"slack://open", false},
		{"https://user:pass@evil.example/", false},
		{"https://evil.example/|label", false},
		{"https://evil.example/<!channel>", false},
		{"/relative/path", false},
		{"https://" + strings.Repeat("a", 3000) + ".example/", false},
	}
	for _, tt := range tests {
		if got := safeURL(tt.in); got != tt.want {
			t.Errorf("safeURL(%.40q) = %v, want %v", tt.in, got, tt.want)
		}
	}
}

func BenchmarkRender(b *testing.B) {
	a := loadAlert(b, "open_sg_ssh_terraform_ipv6")
	b.ReportAllocs()
	for b.Loop() {
		Render(a)
	}
}
