package slackalert

import (
	"strings"
	"unicode/utf8"
)

// Slack has no escape character for mrkdwn formatting, only entities for
// &, < and >. Untrusted strings therefore go through one of three paths:
//
//   - identifiers and setting values (names, ARNs, principals, IPs, user
//     agents, JSON values) become inline code spans: Slack applies no
//     formatting inside code, so they stay exact and copyable; only a
//     backtick, which would end the span, is replaced by a lookalike;
//   - prose (titles, remediation, account names, notes) keeps its words but
//     every formatting character that could open or close a span is swapped
//     for a lookalike; one between two ASCII letters or digits stays, since
//     Slack never formats mid-word (so snake_case survives);
//   - plain_text objects (the header, button labels) cannot format at all;
//     angle brackets are swapped anyway so no text anywhere looks like a
//     mention or a link.
//
// Every mrkdwn text object is also sent with verbatim=true, which stops Slack
// from auto-linking bare URLs, #channels and @here in what we send.

// Lookalikes for mrkdwn control characters. They render almost the same and
// Slack does not treat them as markup.
const (
	lookAsterisk = '∗' // U+2217 ASTERISK OPERATOR
	lookUnder    = 'ˍ' // U+02CD MODIFIER LETTER LOW MACRON
	lookTilde    = '∼' // U+223C TILDE OPERATOR
	lookBacktick = 'ˋ' // U+02CB MODIFIER LETTER GRAVE ACCENT
	lookColon    = '∶' // U+2236 RATIO
	lookLT       = '‹' // U+2039 SINGLE LEFT-POINTING ANGLE QUOTATION MARK
	lookGT       = '›' // U+203A SINGLE RIGHT-POINTING ANGLE QUOTATION MARK
	ellipsis     = "…"
)

// EscapeText makes an untrusted string safe to embed in Slack mrkdwn as
// prose: it cannot mention, link, format, quote or show an emoji shortcode.
// Newlines are kept; control and bidirectional-override characters are
// removed.
func EscapeText(s string) string { return escapeText(s, true) }

// EscapeCode renders an untrusted identifier or value as an inline code span
// on one line. The text inside stays exact except for backticks, which are
// replaced by a lookalike. An empty value renders as "_(empty)_".
func EscapeCode(s string) string {
	c := collapseSpace(clean(s, false))
	if c == "" {
		return "_(empty)_"
	}
	if !strings.ContainsAny(c, "&<>`") {
		return "`" + c + "`"
	}
	var b strings.Builder
	b.Grow(len(c) + 8)
	b.WriteByte('`')
	for _, r := range c {
		switch r {
		case '&':
			b.WriteString("&amp;")
		case '<':
			b.WriteString("&lt;")
		case '>':
			b.WriteString("&gt;")
		case '`':
			b.WriteRune(lookBacktick)
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte('`')
	return b.String()
}

// escapeText implements EscapeText; multiline=false flattens line breaks to
// spaces for values that sit inside a line of our own layout.
func escapeText(s string, multiline bool) string {
	c := clean(s, multiline)
	if !multiline {
		c = collapseSpace(c)
	}
	if !strings.ContainsAny(c, "&<>*_~`:") {
		return c // nothing to neutralize ('>' included, so no quote either)
	}
	rs := []rune(c)
	var b strings.Builder
	b.Grow(len(c) + 8)
	lineStart := true
	for i, r := range rs {
		switch r {
		case '\n':
			b.WriteByte('\n')
			lineStart = true
			continue
		case ' ':
			b.WriteByte(' ')
			continue // spaces keep lineStart: "  > x" still quotes
		case '&':
			b.WriteString("&amp;")
		case '<':
			b.WriteString("&lt;")
		case '>':
			if lineStart {
				// "&gt;" at the start of a line is Slack's block quote.
				b.WriteRune(lookGT)
			} else {
				b.WriteString("&gt;")
			}
		case '*', '_', '~':
			if midWord(rs, i) {
				b.WriteRune(r)
			} else {
				b.WriteRune(lookalike(r))
			}
		case '`':
			b.WriteRune(lookBacktick)
		case ':':
			if startsShortcode(rs, i) {
				b.WriteRune(lookColon)
			} else {
				b.WriteByte(':')
			}
		default:
			b.WriteRune(r)
		}
		lineStart = false
	}
	return b.String()
}

// plainText prepares an untrusted string for a plain_text object: one line,
// no control characters, no angle brackets and no emoji shortcodes (plain
// text objects with emoji=true render them).
func plainText(s string) string {
	c := collapseSpace(clean(s, false))
	rs := []rune(c)
	var b strings.Builder
	b.Grow(len(c))
	for i, r := range rs {
		switch {
		case r == '<':
			b.WriteRune(lookLT)
		case r == '>':
			b.WriteRune(lookGT)
		case r == ':' && startsShortcode(rs, i):
			b.WriteRune(lookColon)
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

func lookalike(r rune) rune {
	switch r {
	case '*':
		return lookAsterisk
	case '_':
		return lookUnder
	case '~':
		return lookTilde
	}
	return r
}

// midWord reports whether rs[i] sits between two ASCII letters or digits,
// where Slack never opens or closes a format span.
func midWord(rs []rune, i int) bool {
	return i > 0 && i+1 < len(rs) && asciiAlnum(rs[i-1]) && asciiAlnum(rs[i+1])
}

func asciiAlnum(r rune) bool {
	return r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9'
}

// startsShortcode reports whether the colon at rs[i] opens an emoji
// shortcode such as ":white_check_mark:" (at least one letter, then a
// closing colon). Times like "03:00:00" are left alone.
func startsShortcode(rs []rune, i int) bool {
	letter := false
	for j := i + 1; j < len(rs); j++ {
		r := rs[j]
		switch {
		case r == ':':
			return letter
		case r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z':
			letter = true
		case r >= '0' && r <= '9' || r == '_' || r == '-' || r == '+' || r == '\'':
		default:
			return false
		}
	}
	return false
}

// clean removes what must never reach a reader: invalid UTF-8, control
// characters, bidirectional overrides (which make text render in an order
// other than it reads) and invisible zero-width characters. Line
// separators become '\n' when multiline, spaces otherwise; tabs become
// spaces.
func clean(s string, multiline bool) string {
	if isClean(s) {
		return s
	}
	s = strings.ToValidUTF8(s, "\uFFFD")
	var b strings.Builder
	b.Grow(len(s))
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		i += n
		switch {
		case r == '\r':
			if i < len(s) && s[i] == '\n' {
				continue // CRLF: the '\n' follows
			}
			r = '\n'
		case r == '\u2028' || r == '\u2029' || r == '\u0085':
			r = '\n'
		case r == '\t':
			r = ' '
		}
		switch {
		case r == '\n':
			if multiline {
				b.WriteByte('\n')
			} else {
				b.WriteByte(' ')
			}
		case r < 0x20 || r == 0x7f || r >= 0x80 && r < 0xa0:
			// C0 and C1 controls: invisible or terminal escapes.
		case invisible(r):
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// isClean is the fast path for the common ASCII-printable string.
func isClean(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < 0x20 || c >= 0x7f {
			return false
		}
	}
	return true
}

// invisible reports bidi controls and zero-width characters that hide or
// reorder text. ZWJ and ZWNJ are kept: emoji sequences and several scripts
// need them, and they cannot open a format span.
func invisible(r rune) bool {
	switch {
	case r == '\u061c', r == '\u200b', r == '\u200e', r == '\u200f',
		r >= '\u202a' && r <= '\u202e',
		r >= '\u2060' && r <= '\u2064',
		r >= '\u2066' && r <= '\u2069',
		r == '\ufeff':
		return true
	}
	return false
}

// collapseSpace trims and folds runs of spaces into one; values shown
// inline read better without layout whitespace.
func collapseSpace(s string) string {
	if !strings.Contains(s, "  ") && strings.TrimSpace(s) == s {
		return s
	}
	return strings.Join(strings.Fields(s), " ")
}

// truncate shortens s to at most max runes, cutting at a rune boundary and
// ending with an ellipsis when it cuts.
func truncate(s string, max int) string {
	if max <= 0 {
		return ""
	}
	if len(s) <= max || utf8.RuneCountInString(s) <= max {
		return s
	}
	n := 0
	for i := range s {
		if n == max-1 {
			return s[:i] + ellipsis
		}
		n++
	}
	return s
}

// truncateMrkdwn is truncate for text we already escaped: it never leaves a
// half entity ("&am") or half control sequence ("<!date^…") behind and closes
// a code span it cut open, so what remains renders as intended.
func truncateMrkdwn(s string, max int) string {
	if max <= 2 {
		return truncate(s, max)
	}
	if len(s) <= max || utf8.RuneCountInString(s) <= max {
		return s
	}
	rs := []rune(s)[:max-1] // room for the ellipsis
	cut := string(rs)
	if amp := strings.LastIndexByte(cut, '&'); amp >= 0 && !strings.Contains(cut[amp:], ";") {
		cut = cut[:amp]
	}
	if lt := strings.LastIndexByte(cut, '<'); lt >= 0 && !strings.Contains(cut[lt:], ">") {
		cut = cut[:lt]
	}
	if strings.Count(cut, "`")%2 == 0 {
		return cut + ellipsis
	}
	// Inside a code span: make room for the closing backtick.
	if runeLen(cut) > max-2 {
		_, n := utf8.DecodeLastRuneInString(cut)
		cut = cut[:len(cut)-n]
		if strings.Count(cut, "`")%2 == 0 {
			return cut + ellipsis // the dropped rune was the opening backtick
		}
	}
	return cut + ellipsis + "`"
}

// runeLen counts runes: Slack's limits are in characters.
func runeLen(s string) int { return utf8.RuneCountInString(s) }
