package slackrec

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// TerminalOptions tune RenderTerminal.
type TerminalOptions struct {
	// Color turns on ANSI styles (bold header and labels, struck-through
	// resolved rules, dim context). See UseColor.
	Color bool
}

// UseColor reports whether colour is allowed by the environment, following
// https://no-color.org: NO_COLOR set to anything non-empty turns it off.
// main passes os.Getenv; the library never reads the environment itself.
func UseColor(getenv func(string) string) bool { return getenv("NO_COLOR") == "" }

// ANSI styles.
const (
	ansiBold     = "\x1b[1m"
	ansiDim      = "\x1b[2m"
	ansiItalic   = "\x1b[3m"
	ansiStrike   = "\x1b[9m"
	ansiCyan     = "\x1b[36m"
	ansiReset    = "\x1b[0m"
	ruleLine     = "────────────────────────────────────────────────────────────"
	maxTermWidth = 100
	// maxSpan bounds how far a code span, control sequence or format span
	// is looked for, and maxDepth how deeply format spans nest, so that
	// hostile input cannot make rendering quadratic.
	maxSpan      = 1000
	maxShortcode = 64
	maxDepth     = 4
)

// emojiGlyph maps the shortcodes driftwatch messages use to glyphs;
// others stay as ":name:".
func emojiGlyph(name string) (string, bool) {
	switch name {
	case "red_circle":
		return "🔴", true
	case "large_orange_circle":
		return "🟠", true
	case "large_yellow_circle":
		return "🟡", true
	case "large_blue_circle":
		return "🔵", true
	case "white_circle":
		return "⚪", true
	case "white_check_mark":
		return "✅", true
	case "wastebasket":
		return "🗑️", true
	case "warning":
		return "⚠️", true
	case "rotating_light":
		return "🚨", true
	case "x":
		return "❌", true
	case "hourglass_flowing_sand":
		return "⏳", true
	case "hourglass":
		return "⌛", true
	case "gear":
		return "⚙️", true
	case "leftwards_arrow_with_hook":
		return "↩️", true
	case "no_entry":
		return "⛔", true
	case "grey_question":
		return "❔", true
	}
	return "", false
}

type termBlock struct {
	Type     string            `json:"type"`
	Text     *termText         `json:"text"`
	Fields   []termText        `json:"fields"`
	Elements []json.RawMessage `json:"elements"`
}

type termText struct {
	Type string `json:"type"`
	Text string `json:"text"`
}

type termElement struct {
	Type    string          `json:"type"`
	Text    json.RawMessage `json:"text"`
	URL     string          `json:"url"`
	AltText string          `json:"alt_text"`
}

// RenderTerminal prints a Block Kit message (the JSON array of blocks)
// readably for a terminal: the header, section text and fields, context
// lines and buttons as "[Open in console] <url>", with mrkdwn decorations
// turned into ANSI styles (or dropped without colour), links shown as
// "label (url)" and dates as their fallback text. Control characters in
// the input never reach the terminal.
func RenderTerminal(blocks json.RawMessage, opts *TerminalOptions) (string, error) {
	var o TerminalOptions
	if opts != nil {
		o = *opts
	}
	if len(blocks) == 0 {
		return "", errors.New("render terminal: no blocks")
	}
	var bs []termBlock
	if err := json.Unmarshal(blocks, &bs); err != nil {
		return "", fmt.Errorf("render terminal: decoding blocks: %w", err)
	}
	t := termRenderer{color: o.Color}
	var b strings.Builder
	for _, blk := range bs {
		switch blk.Type {
		case "header":
			if blk.Text != nil {
				b.WriteString(t.style(ansiBold, t.text(*blk.Text)) + "\n")
			}
		case "divider":
			b.WriteString(t.style(ansiDim, ruleLine) + "\n")
		case "section":
			if blk.Text != nil {
				b.WriteString(indent(t.text(*blk.Text)) + "\n")
			}
			for _, f := range blk.Fields {
				b.WriteString(indent(t.field(f)) + "\n")
			}
		case "context":
			var parts []string
			for _, raw := range blk.Elements {
				if s := t.element(raw); s != "" {
					parts = append(parts, s)
				}
			}
			b.WriteString(indent(t.style(ansiDim, strings.Join(parts, "  "))) + "\n")
		case "actions":
			var parts []string
			for _, raw := range blk.Elements {
				if s := t.element(raw); s != "" {
					parts = append(parts, s)
				}
			}
			b.WriteString(indent(strings.Join(parts, "  ")) + "\n")
		default:
			b.WriteString(indent(t.style(ansiDim, "["+sanitize(blk.Type)+" block]")) + "\n")
		}
	}
	return b.String(), nil
}

type termRenderer struct{ color bool }

func (t termRenderer) style(code, s string) string {
	if !t.color || s == "" {
		return s
	}
	// Re-apply after inner resets so nested styles do not end the outer one.
	return code + strings.ReplaceAll(s, ansiReset, ansiReset+code) + ansiReset
}

func (t termRenderer) text(x termText) string {
	if x.Type == "plain_text" {
		return emojify(sanitize(x.Text))
	}
	return t.mrkdwn(sanitize(x.Text), 0)
}

// field renders "*Label*\nvalue\nmore" as "Label: value · more".
func (t termRenderer) field(x termText) string {
	lines := strings.Split(strings.TrimSpace(t.text(x)), "\n")
	if len(lines) == 1 {
		return lines[0]
	}
	return lines[0] + ": " + strings.Join(lines[1:], " · ")
}

func (t termRenderer) element(raw json.RawMessage) string {
	var e termElement
	if err := json.Unmarshal(raw, &e); err != nil {
		return ""
	}
	switch e.Type {
	case "mrkdwn", "plain_text":
		var s string
		if json.Unmarshal(e.Text, &s) != nil {
			return ""
		}
		return t.text(termText{Type: e.Type, Text: s})
	case "button":
		var label termText
		if json.Unmarshal(e.Text, &label) != nil {
			return "[button]"
		}
		s := t.style(ansiBold, "["+t.text(label)+"]")
		if e.URL != "" {
			s += " " + sanitize(e.URL)
		}
		return s
	case "image":
		return "[image: " + sanitize(e.AltText) + "]"
	}
	return "[" + sanitize(e.Type) + "]"
}

// mrkdwn converts Slack mrkdwn (already sanitized) to terminal text.
func (t termRenderer) mrkdwn(s string, depth int) string {
	var b strings.Builder
	rs := []rune(s)
	for i := 0; i < len(rs); i++ {
		r := rs[i]
		switch r {
		case '`':
			if j := indexRune(rs, i+1, '`', maxSpan); j > i {
				b.WriteString(t.style(ansiCyan, entities(string(rs[i+1:j]))))
				i = j
				continue
			}
		case '<':
			if j := indexRune(rs, i+1, '>', maxSpan); j > i {
				b.WriteString(t.control(string(rs[i+1 : j])))
				i = j
				continue
			}
		case '*', '_', '~':
			if j := closer(rs, i); j > 0 && depth < maxDepth {
				inner := t.mrkdwn(string(rs[i+1:j]), depth+1)
				switch r {
				case '*':
					b.WriteString(t.style(ansiBold, inner))
				case '_':
					b.WriteString(t.style(ansiItalic, inner))
				default:
					b.WriteString(t.style(ansiStrike, inner))
				}
				i = j
				continue
			}
		case ':':
			if j := indexRune(rs, i+1, ':', maxShortcode); j > i+1 {
				if g, ok := emojiGlyph(string(rs[i+1 : j])); ok {
					b.WriteString(g)
					i = j
					continue
				}
			}
		case '&':
			if j := indexRune(rs, i+1, ';', 5); j > i {
				if e := entities(string(rs[i : j+1])); e != string(rs[i:j+1]) {
					b.WriteString(e)
					i = j
					continue
				}
			}
		}
		b.WriteRune(r)
	}
	return b.String()
}

// control renders the inside of <...>: dates, mentions and links.
func (t termRenderer) control(c string) string {
	target, label, hasLabel := strings.Cut(c, "|")
	switch {
	case strings.HasPrefix(target, "!date^"):
		if hasLabel {
			return entities(label)
		}
		return "(date)"
	case strings.HasPrefix(target, "!subteam^"):
		if hasLabel {
			return entities(label)
		}
		return "@group"
	case strings.HasPrefix(target, "!"):
		return "@" + target[1:]
	case strings.HasPrefix(target, "@"), strings.HasPrefix(target, "#"):
		if hasLabel {
			return target[:1] + strings.TrimPrefix(entities(label), target[:1])
		}
		return target
	}
	if hasLabel {
		return entities(label) + " (" + target + ")"
	}
	return target
}

// closer finds the marker closing the span opened at rs[i], on the same
// line, following Slack's rules: an opener follows a boundary and precedes
// a non-space; a closer follows a non-space and precedes a boundary.
func closer(rs []rune, i int) int {
	m := rs[i]
	if i > 0 && !boundary(rs[i-1]) || i+1 >= len(rs) || unicode.IsSpace(rs[i+1]) {
		return -1
	}
	for j := i + 2; j < len(rs) && j <= i+maxSpan; j++ {
		if rs[j] == '\n' {
			return -1
		}
		if rs[j] == m && !unicode.IsSpace(rs[j-1]) && (j+1 == len(rs) || boundary(rs[j+1])) {
			return j
		}
	}
	return -1
}

func boundary(r rune) bool { return unicode.IsSpace(r) || unicode.IsPunct(r) && r != '_' }

// indexRune finds r in rs[from:] on the same line, at most limit runes on.
func indexRune(rs []rune, from int, r rune, limit int) int {
	for j := from; j < len(rs) && j < from+limit; j++ {
		if rs[j] == r {
			return j
		}
		if rs[j] == '\n' && r != '\n' {
			return -1
		}
	}
	return -1
}

func entities(s string) string {
	if !strings.Contains(s, "&") {
		return s
	}
	return strings.NewReplacer("&lt;", "<", "&gt;", ">", "&amp;", "&").Replace(s)
}

func emojify(s string) string {
	rs := []rune(s)
	var b strings.Builder
	for i := 0; i < len(rs); i++ {
		if rs[i] == ':' {
			if j := indexRune(rs, i+1, ':', maxShortcode); j > i+1 {
				if g, ok := emojiGlyph(string(rs[i+1 : j])); ok {
					b.WriteString(g)
					i = j
					continue
				}
			}
		}
		b.WriteRune(rs[i])
	}
	return b.String()
}

// sanitize keeps terminal escapes and other control characters that arrive
// in message content from reaching the terminal.
func sanitize(s string) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	clean := true
	for _, r := range s {
		if isControl(r) {
			clean = false
			break
		}
	}
	if clean {
		return s
	}
	var b strings.Builder
	for _, r := range s {
		if isControl(r) {
			if r == '\t' {
				b.WriteByte(' ')
			}
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

func isControl(r rune) bool {
	return r != '\n' && (r < 0x20 || r == 0x7f || r >= 0x80 && r < 0xa0 || r >= 0x202a && r <= 0x202e || r >= 0x2066 && r <= 0x2069)
}

func indent(s string) string {
	lines := strings.Split(s, "\n")
	for i, l := range lines {
		lines[i] = "  " + truncateWidth(l)
	}
	return strings.Join(lines, "\n")
}

// truncateWidth keeps one very long value from flooding the terminal.
func truncateWidth(l string) string {
	if utf8.RuneCountInString(l) <= maxTermWidth*4 {
		return l
	}
	rs := []rune(l)
	out := string(rs[:maxTermWidth*4-1]) + "…"
	if strings.Contains(out, "\x1b[") {
		out += ansiReset // the cut may have dropped a style's end
	}
	return out
}
