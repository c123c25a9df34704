package slackalert

import (
	"bytes"
	"encoding/json"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/slack-go/slack"
)

// Helpers shared by the render tests: Block Kit limit checks and the
// "nothing live" checks on rendered JSON.

type kitText struct {
	Type     string `json:"type"`
	Text     string `json:"text"`
	Verbatim bool   `json:"verbatim"`
}

type kitElement struct {
	Type     string          `json:"type"`
	Text     json.RawMessage `json:"text"`
	ActionID string          `json:"action_id"`
	URL      string          `json:"url"`
	Value    string          `json:"value"`
	Style    string          `json:"style"`
	Confirm  *kitConfirm     `json:"confirm"`
}

// kitConfirm is a confirmation dialog.
type kitConfirm struct {
	Title   *kitText `json:"title"`
	Text    *kitText `json:"text"`
	Confirm *kitText `json:"confirm"`
	Deny    *kitText `json:"deny"`
	Style   string   `json:"style"`
}

type kitBlock struct {
	Type     string            `json:"type"`
	BlockID  string            `json:"block_id"`
	Text     *kitText          `json:"text"`
	Fields   []kitText         `json:"fields"`
	Elements []json.RawMessage `json:"elements"`
}

// message is what the golden files hold.
type message struct {
	Text   string          `json:"text"`
	Blocks json.RawMessage `json:"blocks"`
}

func marshalMessage(t testing.TB, text string, blocks []slack.Block) message {
	t.Helper()
	// Without HTML escaping, so <, > and & read as Slack receives them
	// (slack-go escapes them as \u003c..., which decodes to the same).
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(blocks); err != nil {
		t.Fatalf("marshal blocks: %v", err)
	}
	return message{Text: text, Blocks: bytes.TrimSpace(buf.Bytes())}
}

func decodeBlocks(t testing.TB, raw json.RawMessage) []kitBlock {
	t.Helper()
	var bs []kitBlock
	if err := json.Unmarshal(raw, &bs); err != nil {
		t.Fatalf("decode blocks: %v", err)
	}
	// slack-go must be able to read back what it will send.
	var sb slack.Blocks
	if err := json.Unmarshal(raw, &sb); err != nil {
		t.Fatalf("slack-go cannot decode the blocks: %v", err)
	}
	if len(sb.BlockSet) != len(bs) {
		t.Fatalf("slack-go decoded %d blocks, want %d", len(sb.BlockSet), len(bs))
	}
	return bs
}

// textObject is one text object of a message with where it sits.
type textObject struct {
	where string
	kitText
}

// textObjects lists every text object (header, section text and fields,
// context elements, button labels) in the blocks.
func textObjects(t testing.TB, bs []kitBlock) []textObject {
	t.Helper()
	var out []textObject
	for i, b := range bs {
		where := b.Type + "#" + strconv.Itoa(i)
		if b.Text != nil {
			out = append(out, textObject{where + ".text", *b.Text})
		}
		for _, f := range b.Fields {
			out = append(out, textObject{where + ".field", f})
		}
		for _, raw := range b.Elements {
			var e kitElement
			if err := json.Unmarshal(raw, &e); err != nil {
				t.Fatalf("%s: decode element: %v", where, err)
			}
			switch e.Type {
			case "mrkdwn", "plain_text":
				var k kitText
				if err := json.Unmarshal(raw, &k); err != nil {
					t.Fatalf("%s: decode text element: %v", where, err)
				}
				out = append(out, textObject{where + ".element", k})
			case "button":
				var k kitText
				if err := json.Unmarshal(e.Text, &k); err != nil {
					t.Fatalf("%s: decode button text: %v", where, err)
				}
				out = append(out, textObject{where + ".button", k})
				if c := e.Confirm; c != nil {
					for _, x := range []struct {
						name string
						t    *kitText
					}{{"title", c.Title}, {"text", c.Text}, {"confirm", c.Confirm}, {"deny", c.Deny}} {
						if x.t != nil {
							out = append(out, textObject{where + ".confirm." + x.name, *x.t})
						}
					}
				}
			}
		}
	}
	return out
}

// checkBlockKit asserts Slack's documented limits on a rendered message.
func checkBlockKit(t testing.TB, m message) []kitBlock {
	t.Helper()
	bs := decodeBlocks(t, m.Blocks)
	if len(bs) == 0 || len(bs) > 50 {
		t.Errorf("%d blocks, want 1..50", len(bs))
	}
	if n := utf8.RuneCountInString(m.Text); n == 0 || n > 4000 {
		t.Errorf("fallback text has %d characters, want 1..4000", n)
	}
	ids := map[string]bool{}
	for i, b := range bs {
		if b.BlockID != "" {
			if len(b.BlockID) > 255 || ids[b.BlockID] {
				t.Errorf("block %d: block_id %q too long or duplicate", i, b.BlockID)
			}
			ids[b.BlockID] = true
		}
		switch b.Type {
		case "header":
			if b.Text == nil || b.Text.Type != "plain_text" {
				t.Errorf("block %d: header needs plain_text", i)
			} else if n := utf8.RuneCountInString(b.Text.Text); n == 0 || n > 150 {
				t.Errorf("block %d: header has %d characters, want 1..150", i, n)
			}
		case "section":
			if b.Text == nil && len(b.Fields) == 0 {
				t.Errorf("block %d: section without text or fields", i)
			}
			if b.Text != nil {
				limitText(t, i, "section text", *b.Text, 3000)
			}
			if len(b.Fields) > 10 {
				t.Errorf("block %d: %d fields, want ≤ 10", i, len(b.Fields))
			}
			for _, f := range b.Fields {
				limitText(t, i, "field", f, 2000)
			}
		case "context":
			if len(b.Elements) == 0 || len(b.Elements) > 10 {
				t.Errorf("block %d: %d context elements, want 1..10", i, len(b.Elements))
			}
		case "actions":
			if len(b.Elements) == 0 || len(b.Elements) > 25 {
				t.Errorf("block %d: %d action elements, want 1..25", i, len(b.Elements))
			}
			actionIDs := map[string]bool{}
			for _, raw := range b.Elements {
				var e kitElement
				if err := json.Unmarshal(raw, &e); err != nil {
					t.Fatalf("block %d: %v", i, err)
				}
				var label kitText
				if err := json.Unmarshal(e.Text, &label); err != nil {
					t.Fatalf("block %d: button label: %v", i, err)
				}
				if label.Type != "plain_text" {
					t.Errorf("block %d: button label must be plain_text", i)
				}
				limitText(t, i, "button", label, 75)
				if len(e.URL) > 3000 || len(e.ActionID) > 255 {
					t.Errorf("block %d: button url or action_id too long", i)
				}
				if actionIDs[e.ActionID] {
					t.Errorf("block %d: duplicate action_id %q", i, e.ActionID)
				}
				actionIDs[e.ActionID] = true
				if utf8.RuneCountInString(e.Value) > 2000 {
					t.Errorf("block %d: button value has %d characters, want ≤ 2000", i, utf8.RuneCountInString(e.Value))
				}
				if e.Style != "" && e.Style != "primary" && e.Style != "danger" {
					t.Errorf("block %d: button style %q", i, e.Style)
				}
				if c := e.Confirm; c != nil {
					checkConfirm(t, i, c)
				}
			}
		case "divider":
		default:
			t.Errorf("block %d: unexpected block type %q", i, b.Type)
		}
	}
	for _, o := range textObjects(t, bs) {
		limitText(t, -1, o.where, o.kitText, 3000)
		if o.Type == "mrkdwn" && !o.Verbatim {
			t.Errorf("%s: mrkdwn without verbatim: Slack would auto-link bare URLs and names", o.where)
		}
	}
	return bs
}

// checkConfirm asserts Slack's limits on a confirmation dialog.
func checkConfirm(t testing.TB, block int, c *kitConfirm) {
	t.Helper()
	if c.Title == nil || c.Text == nil || c.Confirm == nil || c.Deny == nil {
		t.Errorf("block %d: confirm dialog needs title, text, confirm and deny", block)
		return
	}
	for _, x := range []*kitText{c.Title, c.Confirm, c.Deny} {
		if x.Type != "plain_text" {
			t.Errorf("block %d: confirm title and buttons must be plain_text", block)
		}
	}
	limitText(t, block, "confirm title", *c.Title, 100)
	limitText(t, block, "confirm text", *c.Text, 300)
	limitText(t, block, "confirm button", *c.Confirm, 30)
	limitText(t, block, "deny button", *c.Deny, 30)
	if c.Style != "" && c.Style != "primary" && c.Style != "danger" {
		t.Errorf("block %d: confirm style %q", block, c.Style)
	}
}

func limitText(t testing.TB, block int, what string, x kitText, limit int) {
	t.Helper()
	if x.Type != "plain_text" && x.Type != "mrkdwn" {
		t.Errorf("block %d %s: text type %q", block, what, x.Type)
	}
	if n := utf8.RuneCountInString(x.Text); n == 0 || n > limit {
		t.Errorf("block %d %s: %d characters, want 1..%d", block, what, n, limit)
	}
	if !utf8.ValidString(x.Text) {
		t.Errorf("block %d %s: invalid UTF-8", block, what)
	}
}

// dateToken matches the only control sequence the renderer emits itself.
var dateToken = regexp.MustCompile(`<!date\^\d+\^\{date_short_pretty\} \{time\}\|\d{4}-\d\d-\d\d \d\d:\d\d UTC>`)

// ourEmoji are the shortcodes the layout itself uses.
var ourEmoji = map[string]bool{
	":red_circle:": true, ":large_orange_circle:": true, ":large_yellow_circle:": true,
	":large_blue_circle:": true, ":white_circle:": true, ":white_check_mark:": true, ":wastebasket:": true,
	":hourglass_flowing_sand:": true, ":gear:": true, ":x:": true, ":leftwards_arrow_with_hook:": true,
	":no_entry:": true, ":hourglass:": true, ":grey_question:": true,
}

var shortcode = regexp.MustCompile(`:[A-Za-z0-9_+'-]*[A-Za-z][A-Za-z0-9_+'-]*:`)

// checkInert asserts that a mrkdwn string contains no live mention, link,
// quote, stray control sequence or foreign emoji, and returns its live
// formatting markers for comparison with a benign rendering.
func checkInert(t testing.TB, where, s string, mrkdwn bool) map[rune]int {
	t.Helper()
	rest := s
	if mrkdwn {
		rest = dateToken.ReplaceAllString(s, "DATE")
	}
	if strings.ContainsAny(rest, "<>") {
		t.Errorf("%s: contains < or > outside our date tokens: %q", where, s)
	}
	for _, r := range s {
		if r < 0x20 && r != '\n' || r == 0x7f || r >= 0x80 && r < 0xa0 || r >= 0x202a && r <= 0x202e || r >= 0x2066 && r <= 0x2069 || r == 0x200b {
			t.Errorf("%s: contains control or invisible character %U", where, r)
		}
	}
	if !mrkdwn {
		for _, sc := range shortcode.FindAllString(rest, -1) {
			if !ourEmoji[sc] {
				t.Errorf("%s: foreign emoji shortcode %q", where, sc)
			}
		}
		return nil
	}
	for _, line := range strings.Split(rest, "\n") {
		l := strings.TrimLeft(line, " ")
		if strings.HasPrefix(l, "&gt;") || strings.HasPrefix(l, ">") {
			t.Errorf("%s: line starts a block quote: %q", where, line)
		}
	}
	counts := map[rune]int{}
	parts := strings.Split(rest, "`")
	counts['`'] = len(parts) - 1
	if len(parts)%2 == 0 {
		t.Errorf("%s: unbalanced code span: %q", where, s)
	}
	for i, p := range parts {
		if i%2 == 1 {
			continue // inside a code span nothing formats
		}
		for _, sc := range shortcode.FindAllString(p, -1) {
			if !ourEmoji[sc] {
				t.Errorf("%s: foreign emoji shortcode %q", where, sc)
			}
		}
		rs := []rune(p)
		for j, r := range rs {
			if (r == '*' || r == '_' || r == '~') && !midWord(rs, j) {
				counts[r]++
			}
		}
	}
	return counts
}
