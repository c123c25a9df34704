package slackalert

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
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

			golden(t, tt.name, m)
		})
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
		}},
		Resolved: []alert.Finding{{RuleID: s, Title: s, Severity: posture.High}},
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
	a.Resolved = a.Failing[:20]

	text, blocks := Render(a)
	m := marshalMessage(t, text, blocks)
	bs := checkBlockKit(t, m)
	all := allText(t, bs)
	for _, want := range []string{":red_circle: CRITICAL · Title 01", "(+39 more)", "more failing rules*", "_…and ", "+16 more", "_+22 more settings_"} {
		if !strings.Contains(all, want) {
			t.Errorf("message lacks %q", want)
		}
	}
	if n := len(m.Blocks); n > 60000 {
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
