package slackalert

import (
	"crypto/sha256"
	"encoding/hex"
	"strconv"
	"strings"

	"github.com/slack-go/slack"

	"github.com/driftwatch/driftwatch/shared/alert"
	"github.com/driftwatch/driftwatch/shared/store"
)

// Block and action ids of the fix buttons. The interactivity handler routes
// clicks by action id; the ids are part of every posted message, so they
// never change.
const (
	// FixBlockIDPrefix starts the block_id of a finding's actions block;
	// FixBlockID gives the whole id.
	FixBlockIDPrefix = "driftwatch_fix:"
	// RemediateActionID is the action_id of the Remediate button.
	RemediateActionID = "driftwatch_remediate"
	// AcceptRiskActionID is the action_id of the Accept risk button (the
	// handler answers it by opening AcceptRiskModal).
	AcceptRiskActionID = "driftwatch_accept_risk"
	// UndoActionID is the action_id of the Undo button.
	UndoActionID = "driftwatch_undo"
)

// Fix modes (alert.Fix.Mode).
const (
	// ModeApprove offers a Remediate button.
	ModeApprove = "approve"
	// ModeAuto fixes without a click inside maintenance windows.
	ModeAuto = "auto"
)

// Slack's limits on a confirmation dialog, in characters.
const (
	maxConfirmTitle  = 100
	maxConfirmText   = 300
	maxConfirmButton = 30
	maxApproverNames = 5  // names listed in a status line or dialog
	maxApproverName  = 40 // characters of one name
	maxResult        = 500
	maxChange        = 700
)

// FixBlockID is the block_id of the actions block holding rule ruleID's fix
// buttons: FixBlockIDPrefix + the rule id. A rule id that is not a valid
// rules-engine id (which never reaches a button) is replaced by a hash so
// the block_id stays within Slack's 255 characters and free of odd bytes.
func FixBlockID(ruleID string) string {
	if validRuleID(ruleID) {
		return FixBlockIDPrefix + ruleID
	}
	h := sha256.Sum256([]byte(ruleID))
	return FixBlockIDPrefix + "h" + hex.EncodeToString(h[:12])
}

// maxResolvedFixes bounds the resolved rules that get a status line and an
// Undo button, so that the message stays within 50 blocks (41 at most
// before them, two each).
const maxResolvedFixes = 4

// fixBlocks are the blocks that follow a finding when it has a Fix: a
// status line once someone acted (or auto mode did) and the buttons that
// apply to its state. A resolved finding (one the fix made compliant) only
// ever offers Undo, and its status line names the rule since it sits under
// the list of resolved rules. used holds the block ids already in the
// message: Slack rejects a message with a duplicate block_id, so a rule
// listed twice gets its buttons once.
func fixBlocks(f alert.Finding, resolved bool, used map[string]bool) []slack.Block {
	fx := f.Fix
	if fx == nil || resolved && fx.State == "" {
		return nil
	}
	var out []slack.Block
	if s := fixStatus(fx); s != "" {
		if resolved {
			s = prose(title(f), 120) + " · " + s
		}
		out = append(out, slack.NewSectionBlock(mrkdwn(truncateMrkdwn(s, maxText)), nil, nil))
	}
	buttons := fixButtons(fx, resolved)
	if len(buttons) == 0 {
		return out
	}
	value := EncodeFixValue(fx.Ref)
	if value == "" {
		// A button that cannot carry its reference could not work.
		return append(out, slack.NewContextBlock("", mrkdwn("_The fix buttons are unavailable for this finding: its reference is invalid or does not fit in a Slack button._")))
	}
	id := FixBlockID(f.RuleID)
	if used[id] {
		return out
	}
	used[id] = true
	elems := make([]slack.BlockElement, len(buttons))
	for i, b := range buttons {
		b.Value = value
		elems[i] = b
	}
	return append(out, slack.NewActionBlock(id, elems...))
}

// resolvedFixBlocks are fixBlocks for the first maxResolvedFixes resolved
// rules with a fix state: "Fixed by driftwatch … [Undo]".
func resolvedFixBlocks(resolved []alert.Finding, used map[string]bool) []slack.Block {
	var out []slack.Block
	n := 0
	for _, f := range resolved {
		if f.Fix == nil || f.Fix.State == "" {
			continue
		}
		if n == maxResolvedFixes {
			break
		}
		n++
		out = append(out, fixBlocks(f, true, used)...)
	}
	return out
}

// fixButtons lists the buttons a fix in its state offers, without values:
// Remediate (approve mode, before approval completes), Accept risk (when
// offered) and Undo (after a fix with a snapshot). A resolved finding
// offers only Undo.
func fixButtons(fx *alert.Fix, resolved bool) []*slack.ButtonBlockElement {
	var out []*slack.ButtonBlockElement
	state := store.RemediationState(fx.State)
	if !resolved && fx.Mode == ModeApprove && (state == "" || state == store.RemediationProposed) {
		b := slack.NewButtonBlockElement(RemediateActionID, "", plain("Remediate"))
		b.Style = slack.StylePrimary
		b.Confirm = remediateConfirm(fx)
		out = append(out, b)
	}
	if !resolved && fx.AcceptRisk {
		out = append(out, slack.NewButtonBlockElement(AcceptRiskActionID, "", plain("Accept risk")))
	}
	if state == store.RemediationSucceeded && fx.CanUndo {
		b := slack.NewButtonBlockElement(UndoActionID, "", plain("Undo"))
		b.Style = slack.StyleDanger
		b.Confirm = undoConfirm(fx)
		out = append(out, b)
	}
	return out
}

// remediateConfirm says exactly what Remediate changes and where the
// approvals stand. Slack caps the text at 300 characters: the approvals
// line is kept whole and the change shortened if it must be (the message
// itself shows the change in full).
func remediateConfirm(fx *alert.Fix) *slack.ConfirmationBlockObject {
	approvals := approvalsText(fx, plainName)
	change := strings.TrimSpace(fx.Change)
	if change == "" {
		change = "Apply the automatic fix for this finding."
	}
	room := maxConfirmText - runeLen(approvals) - 2
	text := truncate(plainLines(change), room) + "\n\n" + approvals
	c := slack.NewConfirmationBlockObject(
		plain("Remediate?"),
		plain(text),
		plain("Remediate"),
		plain("Cancel"),
	)
	return c.WithStyle(slack.StylePrimary)
}

// undoConfirm asks before restoring the snapshot.
func undoConfirm(fx *alert.Fix) *slack.ConfirmationBlockObject {
	text := "Restore the previous setting?"
	if ch := strings.TrimSpace(fx.Change); ch != "" {
		head := text + "\nThis reverses: "
		text = head + truncate(plainLines(ch), maxConfirmText-runeLen(head))
	}
	c := slack.NewConfirmationBlockObject(
		plain("Undo the fix?"),
		plain(text),
		plain("Undo"),
		plain("Cancel"),
	)
	return c.WithStyle(slack.StyleDanger)
}

// approvalsText is "1 of 2 approvals: Alice", each name prepared by esc
// (plainText for a dialog, prose for the message).
func approvalsText(fx *alert.Fix, esc func(string) string) string {
	required := max(fx.Required, 1)
	s := strconv.Itoa(len(fx.Approvals)) + " of " + strconv.Itoa(required) + " approval"
	if required > 1 {
		s += "s"
	}
	if len(fx.Approvals) > 0 {
		s += ": " + names(fx.Approvals, esc)
	}
	return s
}

func plainName(n string) string { return plainText(truncate(n, maxApproverName)) }

func proseName(n string) string { return prose(n, maxApproverName) }

// names joins up to maxApproverNames names ("Alice", "Alice and Bob",
// "Alice, Bob and Carol", "…, +2 more"), each prepared by esc.
func names(list []string, esc func(string) string) string {
	var shown []string
	for _, n := range list {
		if len(shown) == maxApproverNames {
			break
		}
		n = esc(n)
		if strings.TrimSpace(n) == "" {
			n = "unknown"
		}
		shown = append(shown, n)
	}
	if rest := len(list) - len(shown); rest > 0 {
		return strings.Join(shown, ", ") + " and " + strconv.Itoa(rest) + " more"
	}
	if len(shown) == 1 {
		return shown[0]
	}
	return strings.Join(shown[:len(shown)-1], ", ") + " and " + shown[len(shown)-1]
}

// fixStatus is the status line of a fix (mrkdwn), empty while nobody has
// acted in approve mode. Names and results are escaped prose.
//
// Approvals are the fix's approvers; who asked for an Undo is not among
// them, so the rolled-back line names nobody and shows Result, which is
// where the remediation service says who undid it and what was restored.
func fixStatus(fx *alert.Fix) string {
	who := func(list []string) string { return names(list, proseName) }
	result := func() string { return strings.TrimSuffix(prose(strings.TrimSpace(fx.Result), maxResult), ".") }
	auto := fx.Mode == ModeAuto
	switch store.RemediationState(fx.State) {
	case "":
		if auto {
			return ":gear: *Fixing automatically (maintenance window)…*"
		}
		return ""
	case store.RemediationProposed:
		return ":hourglass_flowing_sand: *Remediation proposed* · " + approvalsText(fx, proseName)
	case store.RemediationApproved, store.RemediationRunning:
		if auto {
			return ":gear: *Fixing automatically (maintenance window), running…*"
		}
		if len(fx.Approvals) == 0 {
			return ":gear: *Remediation approved, running…*"
		}
		return ":gear: *Remediation approved by " + who(fx.Approvals) + ", running…*"
	case store.RemediationSucceeded:
		var b strings.Builder
		if auto {
			b.WriteString(":white_check_mark: *Fixed automatically (maintenance window)*")
		} else {
			b.WriteString(":white_check_mark: *Fixed by driftwatch*")
		}
		if r := result(); r != "" {
			b.WriteString(": " + r)
		}
		if !auto && len(fx.Approvals) > 0 {
			b.WriteString(" — approved by " + who(fx.Approvals))
		}
		return b.String()
	case store.RemediationFailed:
		if r := result(); r != "" {
			return ":x: *Remediation failed:* " + r + ". Nothing was changed."
		}
		return ":x: *Remediation failed.* Nothing was changed."
	case store.RemediationRollingBack:
		return ":leftwards_arrow_with_hook: *Undo requested:* restoring the previous setting…"
	case store.RemediationRolledBack:
		s := ":leftwards_arrow_with_hook: *Undone:* previous setting restored"
		if r := result(); r != "" {
			s += " · " + r
		}
		return s
	case store.RemediationDenied:
		if r := result(); r != "" {
			return ":no_entry: *Remediation denied:* " + r + "."
		}
		return ":no_entry: *Remediation denied.*"
	case store.RemediationExpired:
		return ":hourglass: *Approval expired:* not enough approvals in time. Nothing was changed."
	}
	return ":grey_question: *Remediation state:* " + code(fx.State, 40)
}

// plainLines is plainText that keeps line breaks, for dialog text.
func plainLines(s string) string {
	lines := strings.Split(clean(s, true), "\n")
	for i, l := range lines {
		lines[i] = plainText(l)
	}
	return strings.TrimSpace(strings.Join(lines, "\n"))
}
