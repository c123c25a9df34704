// Package slackalert renders a drift alert as a Slack Block Kit message and
// posts, updates and threads it with slack-go.
//
// The message is written for the on-call engineer reading it at 03:00: the
// header says how bad and what, the next blocks say which resource, who
// changed it, from where and when, then each failing rule with its framework
// controls, the before → after of the settings that matter and how to fix
// it. A finding with an automatic fix gets its buttons (Remediate with a
// confirm dialog saying exactly what changes, Accept risk, Undo after a
// fix) and a status line as the fix moves through its states; accepted
// risks are listed with who, why and until when. When the drift is fixed
// the same message is rewritten as resolved. AcceptRiskModal and
// ParseAcceptRisk are the Accept risk modal.
//
// Every string that comes from a cloud (resource names, tags, principals,
// user agents, setting values) or from a rule file is escaped so it cannot
// mention, link or format; see EscapeText and EscapeCode.
package slackalert

import (
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/slack-go/slack"

	"github.com/driftwatch/driftwatch/shared/alert"
	"github.com/driftwatch/driftwatch/shared/posture"
)

// Block IDs and action IDs other packages rely on.
const (
	// ActionsBlockID is the block_id of the message's last block, which
	// holds "Open in console" (left out for a deleted resource or a
	// missing/unsafe console URL). The fix buttons (Remediate, Accept
	// risk, Undo) sit under their finding, in blocks with FixBlockID.
	ActionsBlockID = "driftwatch_actions"
	// OpenConsoleActionID is the action_id of the "Open in console" link
	// button. Slack still sends a block_actions event for URL buttons; the
	// interactivity handler acknowledges and ignores it.
	OpenConsoleActionID = "driftwatch_open_console"
)

// Block Kit limits, in characters (Slack counts characters, not bytes).
const (
	maxBlocks     = 50
	maxHeader     = 150
	maxText       = 3000
	maxField      = 2000
	maxButtonText = 75
	maxURL        = 3000
	maxFallback   = 1000
)

// Budgets of our own, well under Slack's limits, so that one huge value or
// forty failing rules cannot crowd out the part of the message that matters.
const (
	maxDetailed    = 10    // failing rules rendered in full; the rest are listed
	ruleBudget     = 12000 // characters across the detailed rule sections
	maxSettings    = 8     // settings shown per rule
	settingsBudget = 1500  // characters of one rule's settings lines
	maxValue       = 300   // characters of one before or after value
	minValue       = 16    // a value is never cut shorter than this
	maxPath        = 120   // characters of a setting path
	maxControls    = 4     // framework controls shown per rule
	maxRemediation = 700   // characters of remediation guidance
	maxIdent       = 200   // characters of a name, ARN or principal
	maxTitle       = 200   // characters of a rule title
)

// Render turns an alert into the fallback text (used by notifications and
// screen readers) and the Block Kit blocks of its message. It never fails:
// missing fields render as "unknown", oversized ones are truncated to fit
// Block Kit's limits.
func Render(a alert.Alert) (fallbackText string, blocks []slack.Block) {
	failing := bySeverity(a.Failing)
	resolved := bySeverity(a.Resolved)
	accepted := acceptedBySeverity(a.Accepted)

	blocks = make([]slack.Block, 0, 12+maxDetailed)
	blocks = append(blocks,
		slack.NewHeaderBlock(plain(headerText(a, failing, resolved, accepted))),
		resourceBlock(a),
		slack.NewSectionBlock(mrkdwn(causeText(a)), nil, nil),
	)
	ids := map[string]bool{} // fix block ids, unique per message
	if len(failing) > 0 {
		blocks = append(blocks, slack.NewDividerBlock())
		blocks = append(blocks, ruleBlocks(failing, ids)...)
	}
	if len(accepted) > 0 {
		blocks = append(blocks, slack.NewDividerBlock(), acceptedBlock(accepted))
	}
	if len(resolved) > 0 {
		blocks = append(blocks, slack.NewDividerBlock(), resolvedBlock(a, resolved))
		blocks = append(blocks, resolvedFixBlocks(resolved, ids)...)
	}
	blocks = append(blocks, slack.NewContextBlock("", mrkdwn(contextText(a))))
	if act := actionsBlock(a); act != nil {
		blocks = append(blocks, act)
	}
	// The budgets above keep us below the limit (at most 10 detailed rules
	// with a status and an actions block each, and maxResolvedFixes
	// resolved ones: 49 blocks); this is the guarantee.
	if len(blocks) > maxBlocks {
		blocks = blocks[:maxBlocks]
	}
	return fallback(a, failing, resolved, accepted), blocks
}

func mrkdwn(s string) *slack.TextBlockObject {
	return slack.NewTextBlockObject(slack.MarkdownType, s, false, true)
}

func plain(s string) *slack.TextBlockObject {
	return slack.NewTextBlockObject(slack.PlainTextType, s, true, false)
}

// bySeverity returns the findings most severe first; the alert contract
// promises that order, but the message must not depend on it.
func bySeverity(fs []alert.Finding) []alert.Finding {
	if len(fs) < 2 {
		return fs
	}
	if slices.IsSortedFunc(fs, cmpSeverity) {
		return fs
	}
	out := slices.Clone(fs)
	slices.SortStableFunc(out, cmpSeverity)
	return out
}

func cmpSeverity(a, b alert.Finding) int { return a.Severity.Rank() - b.Severity.Rank() }

func severityEmoji(s posture.Severity) string {
	switch s {
	case posture.Critical:
		return ":red_circle:"
	case posture.High:
		return ":large_orange_circle:"
	case posture.Medium:
		return ":large_yellow_circle:"
	case posture.Low:
		return ":large_blue_circle:"
	}
	return ":white_circle:"
}

func severityLabel(s posture.Severity) string {
	switch s {
	case posture.Critical:
		return "CRITICAL"
	case posture.High:
		return "HIGH"
	case posture.Medium:
		return "MEDIUM"
	case posture.Low:
		return "LOW"
	}
	return "INFO"
}

func title(f alert.Finding) string {
	if strings.TrimSpace(f.Title) != "" {
		return f.Title
	}
	if strings.TrimSpace(f.RuleID) != "" {
		return f.RuleID
	}
	return "unnamed rule"
}

func resourceName(a alert.Alert) string {
	if strings.TrimSpace(a.Resource.Name) != "" {
		return a.Resource.Name
	}
	if strings.TrimSpace(a.Resource.ID) != "" {
		return a.Resource.ID
	}
	return ""
}

// resourceLabel is resourceName for prose, never empty.
func resourceLabel(a alert.Alert) string {
	if n := resourceName(a); n != "" {
		return n
	}
	return "unknown resource"
}

// headerText is ":red_circle: CRITICAL · <title> (+N more)" for an open
// alert, ":white_check_mark: RESOLVED · <title>" for a resolved one and
// ":large_yellow_circle: RISK ACCEPTED · <title>" for an open alert whose
// every failing rule has an accepted risk.
func headerText(a alert.Alert, failing, resolved []alert.Finding, accepted []alert.Accepted) string {
	var emoji, label, what string
	more := 0
	switch {
	case a.State == alert.Resolved:
		emoji, label = ":white_check_mark:", "RESOLVED"
		switch {
		case len(resolved) > 0:
			what, more = title(resolved[0]), len(resolved)-1
		case a.Deleted:
			what = resourceLabel(a) + " was deleted"
		default:
			what = "Posture drift on " + resourceLabel(a)
		}
	case len(failing) > 0:
		emoji, label = severityEmoji(failing[0].Severity), severityLabel(failing[0].Severity)
		what, more = title(failing[0]), len(failing)-1
	case len(accepted) > 0:
		emoji, label = ":large_yellow_circle:", "RISK ACCEPTED"
		what, more = acceptedTitle(accepted[0]), len(accepted)-1
	default:
		sev := a.Severity()
		emoji, label = severityEmoji(sev), severityLabel(sev)
		what = "Posture drift on " + resourceLabel(a)
	}
	prefix := emoji + " " + label + " · "
	suffix := ""
	if more > 0 {
		suffix = " (+" + strconv.Itoa(more) + " more)"
	}
	room := maxHeader - runeLen(prefix) - runeLen(suffix)
	what = truncate(plainText(what), room)
	if what == "" {
		what = "unknown"
	}
	return prefix + what + suffix
}

// code escapes an identifier into a code span of at most max+2 characters
// (the backticks). Escaping can grow a value ("<" is "&lt;"), so the bound
// applies to the escaped text.
func code(s string, max int) string {
	c := EscapeCode(truncate(s, max))
	if runeLen(c) > max+2 {
		c = truncateMrkdwn(c, max+2)
	}
	return c
}

// prose escapes a single-line untrusted phrase to at most max characters.
func prose(s string, max int) string {
	return truncateMrkdwn(escapeText(truncate(s, max), false), max)
}

// proseLines is prose that keeps its line breaks (remediation guidance).
func proseLines(s string, max int) string {
	return truncateMrkdwn(escapeText(truncate(s, max), true), max)
}

func resourceBlock(a alert.Alert) *slack.SectionBlock {
	r := a.Resource
	name := "_unknown_"
	if n := resourceName(a); n != "" {
		name = code(n, maxIdent)
	}
	typ := "_unknown_"
	if r.Type != "" {
		typ = code(r.Type, maxIdent)
	}
	account := "_unknown_"
	if r.Account != "" {
		account = code(r.Account, maxIdent)
	}
	if strings.TrimSpace(a.AccountName) != "" {
		account += " · " + prose(a.AccountName, maxIdent)
	}
	region := "_global_"
	if r.Region != "" {
		region = code(r.Region, maxIdent)
	}
	fields := []*slack.TextBlockObject{
		mrkdwn(truncateMrkdwn("*Resource*\n"+name, maxField)),
		mrkdwn(truncateMrkdwn("*Type*\n"+typ, maxField)),
		mrkdwn(truncateMrkdwn("*Account*\n"+account, maxField)),
		mrkdwn(truncateMrkdwn("*Region*\n"+region, maxField)),
	}
	return slack.NewSectionBlock(nil, fields, nil)
}

func viaText(via string) string {
	switch strings.ToLower(strings.TrimSpace(via)) {
	case "":
		return ""
	case "unknown":
		return ""
	case "console":
		return "the console"
	case "cli":
		return "the CLI"
	case "sdk":
		return "an SDK"
	case "terraform":
		return "Terraform"
	case "cloudformation":
		return "CloudFormation"
	case "service":
		return "a cloud service"
	}
	return prose(via, 40)
}

// causeText says who did what, from where and when: the change that opened,
// resolved or deleted.
func causeText(a alert.Alert) string {
	c := a.Cause
	act := c.Actor
	var b strings.Builder
	if a.Deleted {
		b.WriteString(":wastebasket: *The resource no longer exists.*\n")
	}
	if a.Resource.ID != "" {
		b.WriteString("*ID:* " + code(a.Resource.ID, maxIdent*2) + "\n")
	}
	who := "Changed by"
	switch {
	case a.Deleted:
		who = "Deleted by"
	case a.State == alert.Resolved:
		who = "Resolved by"
	}
	b.WriteString("*" + who + ":* ")
	name := act.Name
	if strings.TrimSpace(name) == "" {
		name = act.Principal
	}
	if strings.TrimSpace(name) == "" {
		b.WriteString("_unknown_")
	} else {
		b.WriteString(code(name, maxIdent))
	}
	if act.Type != "" {
		b.WriteString(" (" + prose(act.Type, 40) + ")")
	}
	if v := viaText(act.Via); v != "" {
		b.WriteString(" via " + v)
	}
	b.WriteByte('\n')
	if act.Principal != "" && act.Principal != name {
		b.WriteString("*Principal:* " + code(act.Principal, maxIdent) + "\n")
	}
	if act.SessionIssuer != "" && act.SessionIssuer != act.Principal {
		b.WriteString("*Session issuer:* " + code(act.SessionIssuer, maxIdent) + "\n")
	}
	ua := shortUserAgent(clean(act.UserAgent, false))
	if act.SourceIP != "" || ua != "" {
		b.WriteString("*From:* ")
		if act.SourceIP != "" {
			b.WriteString(code(act.SourceIP, 64))
		}
		if ua != "" {
			if act.SourceIP != "" {
				b.WriteString(" · ")
			}
			b.WriteString(code(ua, maxUserAgent))
		}
		b.WriteByte('\n')
	}
	b.WriteString("*Operation:* ")
	if c.Operation != "" {
		b.WriteString(code(c.Operation, 128))
	} else {
		b.WriteString("_unknown_")
	}
	b.WriteString(" · " + slackDate(c.Time))
	return truncateMrkdwn(b.String(), maxText)
}

// slackDate renders t in the reader's own time zone; the fallback (old
// clients, notifications) is UTC and says so.
func slackDate(t time.Time) string {
	if t.IsZero() {
		return "_unknown time_"
	}
	return fmt.Sprintf("<!date^%d^{date_short_pretty} {time}|%s>", t.Unix(), t.UTC().Format("2006-01-02 15:04 UTC"))
}

// ruleBlocks renders up to maxDetailed failing rules in full within
// ruleBudget characters, then lists the rest one line each.
//
// A detailed rule with a Fix is followed by its status line and its fix
// buttons (see fixBlocks); listed rules get neither, which keeps the
// message within Slack's 50 blocks.
func ruleBlocks(failing []alert.Finding, ids map[string]bool) []slack.Block {
	out := make([]slack.Block, 0, min(len(failing), maxDetailed)+1)
	used, i := 0, 0
	for ; i < len(failing) && i < maxDetailed; i++ {
		txt := ruleText(failing[i])
		if i > 0 && used+runeLen(txt) > ruleBudget {
			break
		}
		used += runeLen(txt)
		out = append(out, slack.NewSectionBlock(mrkdwn(txt), nil, nil))
		out = append(out, fixBlocks(failing[i], false, ids)...)
	}
	if rest := failing[i:]; len(rest) > 0 {
		head := "*+" + strconv.Itoa(len(rest)) + " more failing rule"
		if len(rest) > 1 {
			head += "s"
		}
		lines := make([]string, len(rest))
		for j, f := range rest {
			lines[j] = severityEmoji(f.Severity) + " " + severityLabel(f.Severity) + " · " +
				prose(title(f), 120) + " " + code(f.RuleID, 100)
		}
		out = append(out, slack.NewSectionBlock(mrkdwn(bulletList(head+"*", lines)), nil, nil))
	}
	return out
}

// ruleText is one failing rule: severity and title, rule id and framework
// controls, each setting before → after, and the fix.
func ruleText(f alert.Finding) string {
	var b strings.Builder
	b.WriteString(severityEmoji(f.Severity) + " *" + severityLabel(f.Severity) + "* · " + prose(title(f), maxTitle) + "\n")
	if f.RuleID != "" {
		b.WriteString(code(f.RuleID, 128))
	} else {
		b.WriteString("_unknown rule_")
	}
	for i, c := range f.Controls {
		if i == maxControls {
			b.WriteString(" · +" + strconv.Itoa(len(f.Controls)-maxControls) + " more")
			break
		}
		b.WriteString(" · " + prose(c, 60))
	}
	b.WriteByte('\n')
	// Share the settings budget among the settings shown, so a huge value
	// shortens the values rather than pushing the fix out of the message.
	shown := min(len(f.Settings), maxSettings)
	pathCap, valCap := maxPath, maxValue
	if shown > 0 {
		per := settingsBudget / shown
		pathCap = min(maxPath, per/4)
		valCap = max(minValue, min(maxValue, (per-pathCap-12)/2))
	}
	for i, s := range f.Settings {
		if i == maxSettings {
			b.WriteString("• _+" + strconv.Itoa(len(f.Settings)-maxSettings) + " more settings_\n")
			break
		}
		switch {
		case s.Known && s.Before == s.After:
			// Context the rule shows (the deny rules in front of an
			// allow, say), not part of the change.
			b.WriteString("• " + code(s.Path, pathCap) + ": " + code(s.After, valCap) + " _(unchanged)_\n")
		case s.Known:
			b.WriteString("• " + code(s.Path, pathCap) + ": " + code(s.Before, valCap) + " → " + code(s.After, valCap) + "\n")
		default:
			b.WriteString("• " + code(s.Path, pathCap) + ": _(not observed before)_ → " + code(s.After, valCap) + "\n")
		}
	}
	if strings.TrimSpace(f.Remediation) != "" {
		b.WriteString("*Fix:* " + proseLines(strings.TrimSpace(f.Remediation), maxRemediation) + "\n")
	}
	switch {
	case f.Fix != nil && strings.TrimSpace(f.Fix.Change) != "":
		b.WriteString("*Automatic fix:* " + proseLines(strings.TrimSpace(f.Fix.Change), maxChange))
		if f.Action != "" {
			b.WriteString(" " + code(f.Action, 80))
		}
		b.WriteByte('\n')
	case f.Action != "":
		b.WriteString("*Automatic fix available:* " + code(f.Action, 80) + "\n")
	}
	return truncateMrkdwn(strings.TrimSuffix(b.String(), "\n"), maxText)
}

// resolvedBlock lists the rules that no longer fail, struck through.
func resolvedBlock(a alert.Alert, resolved []alert.Finding) *slack.SectionBlock {
	head := "*Resolved since the alert opened*"
	if a.State == alert.Resolved {
		head = "*Resolved rules*"
	}
	lines := make([]string, len(resolved))
	for i, f := range resolved {
		t := prose(title(f), maxTitle)
		if t == "" {
			t = "unnamed rule" // "~~" would render literally
		}
		lines[i] = ":white_check_mark: ~" + t + "~ " + code(f.RuleID, 100) + " _was " + severityLabel(f.Severity) + "_"
	}
	return slack.NewSectionBlock(mrkdwn(bulletList(head, lines)), nil, nil)
}

// acceptedBySeverity returns the accepted risks most severe first, without
// reordering the caller's slice.
func acceptedBySeverity(as []alert.Accepted) []alert.Accepted {
	cmp := func(a, b alert.Accepted) int { return a.Severity.Rank() - b.Severity.Rank() }
	if len(as) < 2 || slices.IsSortedFunc(as, cmp) {
		return as
	}
	out := slices.Clone(as)
	slices.SortStableFunc(out, cmp)
	return out
}

func acceptedTitle(a alert.Accepted) string {
	return title(alert.Finding{Title: a.Title, RuleID: a.RuleID})
}

// acceptedBlock lists the failing rules whose risk someone accepted: what,
// who, why and until when. The reason is the accepter's own words, so it
// is escaped like any untrusted text.
func acceptedBlock(accepted []alert.Accepted) *slack.SectionBlock {
	lines := make([]string, len(accepted))
	for i, x := range accepted {
		var b strings.Builder
		b.WriteString(severityEmoji(x.Severity) + " " + prose(acceptedTitle(x), maxTitle))
		if x.RuleID != "" {
			b.WriteString(" " + code(x.RuleID, 100))
		}
		b.WriteString(" — accepted by ")
		if strings.TrimSpace(x.By) != "" {
			b.WriteString(prose(x.By, maxIdent))
		} else {
			b.WriteString("an unknown user")
		}
		b.WriteString(" until " + slackDate(x.Until))
		if r := strings.TrimSpace(x.Reason); r != "" {
			b.WriteString(": “" + prose(r, 300) + "”")
		}
		lines[i] = b.String()
	}
	return slack.NewSectionBlock(mrkdwn(bulletList("*Risk accepted*", lines)), nil, nil)
}

// bulletList joins lines under a heading, dropping whole lines (never half
// a line) with a count when they do not fit in one text object.
func bulletList(head string, lines []string) string {
	var b strings.Builder
	b.WriteString(head)
	n := runeLen(head)
	for i, l := range lines {
		line := "\n• " + l
		// Keep room for the "…and N more" line.
		if n+runeLen(line) > maxText-40 {
			b.WriteString("\n• _…and " + strconv.Itoa(len(lines)-i) + " more_")
			break
		}
		b.WriteString(line)
		n += runeLen(line)
	}
	return b.String()
}

func contextText(a alert.Alert) string {
	var b strings.Builder
	if a.State == alert.Resolved {
		b.WriteString("Opened " + slackDate(a.OpenedAt) + " · Resolved " + slackDate(a.Cause.Time))
	} else {
		b.WriteString("First seen " + slackDate(a.OpenedAt))
	}
	if a.Cause.EventID != "" {
		b.WriteString(" · Event " + code(a.Cause.EventID, 128))
	}
	return truncateMrkdwn(b.String(), maxText)
}

// actionsBlock holds the console link; the fix buttons sit under their
// findings (fixBlocks). A deleted resource has no console page, so it gets
// no actions block.
func actionsBlock(a alert.Alert) *slack.ActionBlock {
	if a.Deleted || !safeURL(a.ConsoleURL) {
		return nil
	}
	btn := slack.NewButtonBlockElement(OpenConsoleActionID, "", plain(truncate("Open in console", maxButtonText)))
	btn.URL = a.ConsoleURL
	return slack.NewActionBlock(ActionsBlockID, btn)
}

// safeURL accepts only absolute http(s) URLs that fit Slack's limit, so a
// crafted console URL cannot become a javascript: or slack:// link.
func safeURL(s string) bool {
	if s == "" || len(s) > maxURL || strings.ContainsAny(s, " \t\r\n<>\"|") {
		return false
	}
	u, err := url.Parse(s)
	if err != nil || u.Host == "" || u.User != nil {
		return false
	}
	return u.Scheme == "https" || u.Scheme == "http"
}

// fallback is the top-level text: what a push notification or a screen
// reader says. Slack parses it as mrkdwn, so it is escaped like the rest.
func fallback(a alert.Alert, failing, resolved []alert.Finding, accepted []alert.Accepted) string {
	var b strings.Builder
	switch {
	case a.State == alert.Resolved:
		b.WriteString("RESOLVED: ")
		if len(resolved) > 0 {
			b.WriteString(prose(title(resolved[0]), maxTitle))
			if len(resolved) > 1 {
				b.WriteString(" (+" + strconv.Itoa(len(resolved)-1) + " more)")
			}
		} else {
			b.WriteString("posture drift")
		}
	case len(failing) > 0:
		b.WriteString(severityLabel(failing[0].Severity) + ": " + prose(title(failing[0]), maxTitle))
		if len(failing) > 1 {
			b.WriteString(" (+" + strconv.Itoa(len(failing)-1) + " more)")
		}
	case len(accepted) > 0:
		b.WriteString("RISK ACCEPTED: " + prose(acceptedTitle(accepted[0]), maxTitle))
		if len(accepted) > 1 {
			b.WriteString(" (+" + strconv.Itoa(len(accepted)-1) + " more)")
		}
	default:
		b.WriteString(severityLabel(a.Severity()) + ": posture drift")
	}
	if n := resourceName(a); n != "" {
		b.WriteString(" on " + prose(n, maxIdent))
	}
	if a.Resource.Account != "" {
		b.WriteString(" in " + prose(a.Resource.Account, 64))
		if a.AccountName != "" {
			b.WriteString(" (" + prose(a.AccountName, 64) + ")")
		}
	}
	if a.Deleted {
		b.WriteString(", resource deleted")
	}
	who := a.Cause.Actor.Name
	if who == "" {
		who = a.Cause.Actor.Principal
	}
	if who != "" {
		b.WriteString(" by " + prose(who, maxIdent))
	}
	return truncateMrkdwn(b.String(), maxFallback)
}
