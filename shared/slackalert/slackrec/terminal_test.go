package slackrec_test

import (
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/driftwatch/driftwatch/shared/alert"
	"github.com/driftwatch/driftwatch/shared/slackalert"
	"github.com/driftwatch/driftwatch/shared/slackalert/slackrec"
)

var update = flag.Bool("update", false, "rewrite testdata/slackalert/*.terminal.txt")

const testdata = "../../../testdata/slackalert"

func renderFixture(t *testing.T, name string) json.RawMessage {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(testdata, name+".alert.json"))
	if err != nil {
		t.Fatal(err)
	}
	var a alert.Alert
	if err := json.Unmarshal(raw, &a); err != nil {
		t.Fatal(err)
	}
	_, blocks := slackalert.Render(a)
	b, err := json.Marshal(blocks)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestRenderTerminalGolden(t *testing.T) {
	tests := []struct {
		name string
		want []string
	}{
		{"open_s3_public_acl", []string{
			"🔴 CRITICAL · S3 bucket ACL grants access to everyone\n",
			"  Resource: payments-exports-prod\n",
			"  Account: 111122223333 · payments-prod\n",
			"  Operation: PutBucketAcl · 2025-03-14 02:58 UTC\n",
			"  [Open in console] https://s3.console.aws.amazon.com/s3/buckets/payments-exports-prod?region=eu-west-1&tab=permissions\n",
		}},
		{"resolved", []string{"✅ RESOLVED · S3 bucket ACL grants access to everyone", "  • ✅ S3 bucket ACL grants access to everyone aws_s3_bucket_acl_no_public_grants was CRITICAL"}},
		{"resolved_deleted", []string{"🗑️ The resource no longer exists."}},
		{"hostile", []string{"Changed by: mallory >>> everyone look <!channel>", "(IAMUser ∗bold∗)"}},
		{"fix_two_approver_in_progress", []string{
			"  ⏳ Remediation proposed · 1 of 2 approvals: Alice Martin\n",
			"  [Remediate]  [Accept risk]\n",
			"  Risk accepted\n",
		}},
		{"fix_succeeded_undo", []string{"✅ Fixed by driftwatch: bucket ACL set to private", "  [Undo]\n"}},
		{"fix_rolled_back", []string{"↩️ Undone: previous setting restored · undone by Bob Chen: bucket ACL restored"}},
		{"accepted_risk", []string{"🟡 RISK ACCEPTED · Security group opens SSH (TCP 22) to the internet\n", "accepted by Carol Diaz until 2025-04-13 09:30 UTC"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := slackrec.RenderTerminal(renderFixture(t, tt.name), nil)
			if err != nil {
				t.Fatal(err)
			}
			for _, w := range tt.want {
				if !strings.Contains(out, w) {
					t.Errorf("output lacks %q:\n%s", w, out)
				}
			}
			if strings.Contains(out, "\x1b") {
				t.Error("ANSI escape without colour")
			}
			path := filepath.Join(testdata, tt.name+".terminal.txt")
			if *update {
				if err := os.WriteFile(path, []byte(out), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run go test -update to create it)", err)
			}
			if string(want) != out {
				t.Errorf("%s differs (run go test -update and review):\n got:\n%s\nwant:\n%s", path, out, want)
			}
		})
	}
}

func TestRenderTerminalMrkdwn(t *testing.T) {
	tests := []struct {
		name  string
		text  string
		color bool
		want  string
	}{
		{"bold stripped", "*Resource* x", false, "  Resource x\n"},
		{"bold styled", "*Resource* x", true, "  \x1b[1mResource\x1b[0m x\n"},
		{"italic", "_(empty)_", false, "  (empty)\n"},
		{"strike styled", "~gone~", true, "  \x1b[9mgone\x1b[0m\n"},
		{"code", "`a*b*c`", false, "  a*b*c\n"},
		{"code styled", "`id`", true, "  \x1b[36mid\x1b[0m\n"},
		{"mid-word markers kept", "snake_case_name a*b", false, "  snake_case_name a*b\n"},
		{"entities", "a &lt;b&gt; &amp; c", false, "  a <b> & c\n"},
		{"link with label", "<https://example.com|docs>", false, "  docs (https://example.com)\n"},
		{"bare link", "<https://example.com>", false, "  https://example.com\n"},
		{"date", "<!date^1741921121^{date_short_pretty} {time}|2025-03-14 02:58 UTC>", false, "  2025-03-14 02:58 UTC\n"},
		{"mentions", "<!channel> <@U1> <!subteam^S1|@sec> <#C1|general>", false, "  @channel @U1 @sec #general\n"},
		{"emoji", ":red_circle: :unknown_emoji:", false, "  🔴 :unknown_emoji:\n"},
		{"terminal escape removed", "a\x1b[31mred\x07", false, "  a[31mred\n"},
		{"unclosed markers literal", "*open and `tick", false, "  *open and `tick\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			blocks, err := json.Marshal([]map[string]any{{"type": "section", "text": map[string]any{"type": "mrkdwn", "text": tt.text}}})
			if err != nil {
				t.Fatal(err)
			}
			got, err := slackrec.RenderTerminal(blocks, &slackrec.TerminalOptions{Color: tt.color})
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("RenderTerminal(%q) = %q, want %q", tt.text, got, tt.want)
			}
		})
	}
}

func TestRenderTerminalBlocks(t *testing.T) {
	blocks := `[
	  {"type":"header","text":{"type":"plain_text","text":":white_check_mark: RESOLVED · x"}},
	  {"type":"section","fields":[{"type":"mrkdwn","text":"*Region*\n` + "`eu-west-1`" + `"}]},
	  {"type":"divider"},
	  {"type":"context","elements":[{"type":"mrkdwn","text":"First seen"},{"type":"image","image_url":"https://x/y.png","alt_text":"logo"}]},
	  {"type":"actions","block_id":"driftwatch_actions","elements":[{"type":"button","text":{"type":"plain_text","text":"Open in console"},"url":"https://console.example/"},{"type":"button","text":{"type":"plain_text","text":"Remediate"},"action_id":"fix"}]},
	  {"type":"video"}
	]`
	want := "✅ RESOLVED · x\n" +
		"  Region: eu-west-1\n" +
		"────────────────────────────────────────────────────────────\n" +
		"  First seen  [image: logo]\n" +
		"  [Open in console] https://console.example/  [Remediate]\n" +
		"  [video block]\n"
	got, err := slackrec.RenderTerminal(json.RawMessage(blocks), nil)
	if err != nil {
		t.Fatal(err)
	}
	if got != want {
		t.Errorf("got:\n%s\nwant:\n%s", got, want)
	}
	colored, err := slackrec.RenderTerminal(json.RawMessage(blocks), &slackrec.TerminalOptions{Color: true})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(colored, "\x1b[1m✅ RESOLVED · x\x1b[0m") || !strings.Contains(colored, "\x1b[2mFirst seen") {
		t.Errorf("colour output lacks styles:\n%q", colored)
	}
}

func TestRenderTerminalErrors(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"empty", "", "render terminal: no blocks"},
		{"not json", "{oops", "render terminal: decoding blocks: invalid character 'o' looking for beginning of object key string"},
		{"not an array", `{"type":"header"}`, "render terminal: decoding blocks: json: cannot unmarshal object into Go value of type []slackrec.termBlock"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := slackrec.RenderTerminal(json.RawMessage(tt.in), nil)
			if err == nil || err.Error() != tt.want {
				t.Errorf("err = %v, want %q", err, tt.want)
			}
		})
	}
}

func TestUseColor(t *testing.T) {
	tests := []struct {
		env  map[string]string
		want bool
	}{
		{map[string]string{}, true},
		{map[string]string{"NO_COLOR": ""}, true},
		{map[string]string{"NO_COLOR": "1"}, false},
	}
	for _, tt := range tests {
		if got := slackrec.UseColor(func(k string) string { return tt.env[k] }); got != tt.want {
			t.Errorf("UseColor(%v) = %v, want %v", tt.env, got, tt.want)
		}
	}
}

func FuzzRenderTerminal(f *testing.F) {
	for _, name := range []string{"open_s3_public_acl", "hostile", "resolved_deleted"} {
		raw, err := os.ReadFile(filepath.Join(testdata, name+".golden.json"))
		if err != nil {
			f.Fatal(err)
		}
		var m struct {
			Blocks []json.RawMessage `json:"blocks"`
		}
		if err := json.Unmarshal(raw, &m); err != nil {
			f.Fatal(err)
		}
		// One block per seed: small inputs keep minimization (which the
		// fuzzer runs on every new find) quick.
		for _, b := range m.Blocks {
			f.Add([]byte("[" + string(b) + "]"))
		}
	}
	f.Add([]byte(`[{"type":"section","text":{"type":"mrkdwn","text":"*a _b ~c~ d_ e* <x|y> &lt;"}}]`))
	f.Add([]byte(`[{"type":"context","elements":[1,"x",{"type":"button","text":"str"}]}]`))
	f.Fuzz(func(t *testing.T, in []byte) {
		out, err := slackrec.RenderTerminal(in, nil)
		if err != nil {
			return
		}
		if strings.ContainsRune(out, '\x1b') {
			t.Fatalf("escape character in colourless output %q", out)
		}
		if _, err := slackrec.RenderTerminal(in, &slackrec.TerminalOptions{Color: true}); err != nil {
			t.Fatalf("colour rendering failed where plain succeeded: %v", err)
		}
	})
}
