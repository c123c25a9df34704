package slackalert

import (
	"strings"
	"testing"
	"unicode/utf8"
)

func TestEscapeText(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"plain", "S3 bucket is public", "S3 bucket is public"},
		{"entities", "a & b < c > d", "a &amp; b &lt; c &gt; d"},
		{"mention", "<!channel> hi", "&lt;!channel&gt; hi"},
		{"link", "<http://evil|click>", "&lt;http://evil|click&gt;"},
		{"bold italic strike", "*b* _i_ ~s~", "∗b∗ ˍiˍ ∼s∼"},
		{"backticks", "`code` ```pre```", "ˋcodeˋ ˋˋˋpreˋˋˋ"},
		{"snake case kept", "aws_s3_bucket_acl_no_public_grants", "aws_s3_bucket_acl_no_public_grants"},
		{"mid-word marker kept", "a*b x~y", "a*b x~y"},
		{"marker beside non-ascii letter swapped", "é_x_é", "éˍxˍé"},
		{"quote at start", "> quoted", "› quoted"},
		{"indented quote", "   > quoted", "   › quoted"},
		{"quote on later line", "ok\n> quoted\nok", "ok\n› quoted\nok"},
		{"gt mid-line", "a > b", "a &gt; b"},
		{"emoji shortcode", ":white_check_mark: done", "∶white_check_mark: done"},
		{"time is not a shortcode", "at 03:00:00", "at 03:00:00"},
		{"iso control colon", "ISO 27001:2022 A.8.20", "ISO 27001:2022 A.8.20"},
		{"pre-escaped entity", "&lt;!channel&gt;", "&amp;lt;!channel&amp;gt;"},
		{"controls dropped", "a\x00b\x1bc\x7fd", "abcd"},
		{"bidi dropped", "x\u202ey\u2066z\u2069", "xyz"},
		{"zero width space dropped", "a\u200b*b*", "a*b∗"},
		{"crlf", "a\r\nb\rc", "a\nb\nc"},
		{"line separator", "a\u2028> b", "a\n› b"},
		{"invalid utf-8", "a\xffb", "a\uFFFDb"},
		{"zwj kept", "👩\u200d💻", "👩\u200d💻"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := EscapeText(tt.in); got != tt.want {
				t.Errorf("EscapeText(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestEscapeCode(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"identifier", "arn:aws:s3:::my_bucket", "`arn:aws:s3:::my_bucket`"},
		{"formatting inert inside code", "*b* _i_ ~s~", "`*b* _i_ ~s~`"},
		{"backtick swapped", "a`b", "`aˋb`"},
		{"entities", "<@U1> & >", "`&lt;@U1&gt; &amp; &gt;`"},
		{"newlines flattened", "a\n> b\r\nc", "`a &gt; b c`"},
		{"spaces collapsed", "  a \t  b  ", "`a b`"},
		{"empty", "", "_(empty)_"},
		{"only controls", "\x00\x01", "_(empty)_"},
		{"emoji shortcode left in code", ":x:", "`:x:`"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := EscapeCode(tt.in); got != tt.want {
				t.Errorf("EscapeCode(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestPlainText(t *testing.T) {
	tests := []struct{ in, want string }{
		{"S3 bucket & ACL", "S3 bucket & ACL"},
		{"<!channel> now", "‹!channel› now"},
		{":fire: x", "∶fire: x"},
		{"a\nb\tc", "a b c"},
		{"*kept* in plain text", "*kept* in plain text"},
	}
	for _, tt := range tests {
		if got := plainText(tt.in); got != tt.want {
			t.Errorf("plainText(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestTruncate(t *testing.T) {
	tests := []struct {
		name string
		in   string
		max  int
		want string
	}{
		{"fits", "abc", 3, "abc"},
		{"ascii", "abcdef", 4, "abc…"},
		{"multibyte at boundary", "ééééé", 3, "éé…"},
		{"emoji", "🚨🚨🚨", 2, "🚨…"},
		{"zero", "abc", 0, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := truncate(tt.in, tt.max)
			if got != tt.want || !utf8.ValidString(got) {
				t.Errorf("truncate(%q, %d) = %q, want %q", tt.in, tt.max, got, tt.want)
			}
		})
	}
}

func TestTruncateMrkdwn(t *testing.T) {
	tests := []struct {
		name string
		in   string
		max  int
		want string
	}{
		{"fits", "*a* `b`", 10, "*a* `b`"},
		{"closes code span", "x `abcdefghij`", 8, "x `abc…`"},
		{"drops half entity", "abc &amp; d", 7, "abc …"},
		{"drops half date token", "at <!date^1^{time}|x>", 10, "at …"},
		{"multibyte", "ééééééé", 4, "ééé…"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := truncateMrkdwn(tt.in, tt.max)
			if got != tt.want {
				t.Errorf("truncateMrkdwn(%q, %d) = %q, want %q", tt.in, tt.max, got, tt.want)
			}
			if runeLen(got) > tt.max {
				t.Errorf("%d runes, limit %d", runeLen(got), tt.max)
			}
		})
	}
}

// FuzzEscape checks the escaping invariants on arbitrary input: nothing
// that Slack parses as a control sequence, quote or formatting span can
// come out of EscapeText or EscapeCode.
func FuzzEscape(f *testing.F) {
	for _, s := range []string{
		"<!channel>", "*b* _i_ ~s~ `c`", "> q\n> q", "&lt;", ":fire:", "a_b_c",
		"\u202e\u200b\x00", "\xff", strings.Repeat("<", 100),
		"APN/1.0 HashiCorp/1.0 Terraform/1.6.6 (+https://www.terraform.io)",
		"arn:aws:sts::112233445566:assumed-role/TestAdmin/alan",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		txt := EscapeText(s)
		if strings.ContainsAny(txt, "<>`") || !utf8.ValidString(txt) {
			t.Fatalf("EscapeText(%q) = %q", s, txt)
		}
		rs := []rune(txt)
		for i, r := range rs {
			if (r == '*' || r == '_' || r == '~') && !midWord(rs, i) {
				t.Fatalf("EscapeText(%q) = %q: live marker at %d", s, txt, i)
			}
		}
		for _, line := range strings.Split(txt, "\n") {
			if strings.HasPrefix(strings.TrimLeft(line, " "), "&gt;") {
				t.Fatalf("EscapeText(%q) = %q: quote", s, txt)
			}
		}
		code := EscapeCode(s)
		if code != "_(empty)_" {
			inner := strings.TrimSuffix(strings.TrimPrefix(code, "`"), "`")
			if len(code) < 2 || strings.ContainsAny(inner, "`<>\n") {
				t.Fatalf("EscapeCode(%q) = %q", s, code)
			}
		}
		p := plainText(s)
		if strings.ContainsAny(p, "<>\n") {
			t.Fatalf("plainText(%q) = %q", s, p)
		}
		for _, n := range []int{1, 2, 5, 50} {
			if got := truncateMrkdwn(txt, n); runeLen(got) > n || !utf8.ValidString(got) {
				t.Fatalf("truncateMrkdwn(%q, %d) = %q", txt, n, got)
			}
		}
	})
}
