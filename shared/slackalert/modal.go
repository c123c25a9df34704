package slackalert

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/slack-go/slack"

	"github.com/driftwatch/driftwatch/shared/alert"
)

// Ids of the Accept risk modal. The interactivity handler routes the
// view_submission by AcceptRiskCallbackID; the response_action "errors"
// keys are the input block ids.
const (
	// AcceptRiskCallbackID is the modal's callback_id.
	AcceptRiskCallbackID = "driftwatch_accept_risk"
	// AcceptRiskReasonBlockID and AcceptRiskReasonActionID identify the
	// reason input.
	AcceptRiskReasonBlockID  = "driftwatch_accept_reason"
	AcceptRiskReasonActionID = "driftwatch_accept_reason_input"
	// AcceptRiskExpiryBlockID and AcceptRiskExpiryActionID identify the
	// expiry select.
	AcceptRiskExpiryBlockID  = "driftwatch_accept_expiry"
	AcceptRiskExpiryActionID = "driftwatch_accept_expiry_select"
)

// Bounds of an accepted risk.
const (
	// MaxAcceptReason is the longest reason, in characters.
	MaxAcceptReason = 1000
	// MaxAcceptDays is the longest expiry the modal ever offers.
	MaxAcceptDays = 90
	// maxPrivateMetadata is Slack's limit on a view's private_metadata.
	maxPrivateMetadata = 3000
	maxModalTitle      = 24 // Slack's limit on a modal's title and buttons
)

// The exact validation messages ParseAcceptRisk returns per input block.
// Slack shows them under the field.
const (
	MsgReasonRequired = "Say why this risk is acceptable."
	MsgReasonTooLong  = "Keep the reason within 1000 characters."
	MsgReasonInvalid  = "The reason contains characters that cannot be stored."
	MsgExpiryRequired = "Choose when the exception expires."
	MsgExpiryInvalid  = "Choose one of the offered expiry periods."
)

// ErrNotAcceptRisk is returned (wrapped) by ParseAcceptRisk for a view that
// is not an intact Accept risk modal: another callback_id, or missing or
// altered private metadata. It is not the submitter's mistake.
var ErrNotAcceptRisk = errors.New("not a driftwatch accept-risk view")

// FieldErrors maps an input block id to what is wrong with its value. It
// is exactly the "errors" object of a view_submission answer with
// response_action "errors".
type FieldErrors map[string]string

// Error lists the field errors in block id order.
func (e FieldErrors) Error() string {
	keys := slices.Sorted(maps.Keys(e))
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = k + ": " + e[k]
	}
	return "invalid accept-risk submission: " + strings.Join(parts, "; ")
}

// AcceptRisk is a validated Accept risk submission.
type AcceptRisk struct {
	// Ref is the finding episode the risk is accepted for.
	Ref alert.FixRef
	// Reason is the submitter's reason, trimmed, at most MaxAcceptReason
	// characters, without control characters other than line breaks.
	Reason string
	// Days is the chosen expiry, 1..MaxAcceptDays. The controller still
	// checks it against governance (the modal offered only what was
	// allowed when it opened).
	Days int
	// Channel and TS locate the alert message the modal was opened from.
	Channel string
	TS      string
}

// modalMetadata is the private_metadata of the modal: which finding and
// which message.
type modalMetadata struct {
	Ref     json.RawMessage `json:"ref"`
	Channel string          `json:"channel"`
	TS      string          `json:"ts"`
}

// acceptDayChoices are the expiry periods offered, shortest first.
func acceptDayChoices(maxDays int) []int {
	var out []int
	for _, d := range []int{7, 30, MaxAcceptDays} {
		if maxDays <= 0 || d <= maxDays {
			out = append(out, d)
		}
	}
	if len(out) == 0 {
		// Governance allows less than a week: offer exactly that.
		out = []int{maxDays}
	}
	return out
}

// AcceptRiskModal is the modal the Accept risk button opens (views.open
// with the click's trigger_id): it names the rule, asks why the risk is
// acceptable (required, at most 1000 characters) and for how long (7, 30
// or 90 days, none longer than maxDays; maxDays ≤ 0 means no bound below
// 90, and a bound under 7 days is offered as is). Its private_metadata
// carries ref and the alert message's channel and ts, for
// ParseAcceptRisk.
func AcceptRiskModal(ref alert.FixRef, ruleTitle string, maxDays int, channel, ts string) slack.ModalViewRequest {
	var meta bytes.Buffer
	enc := json.NewEncoder(&meta)
	enc.SetEscapeHTML(false)
	md := ""
	if v := EncodeFixValue(ref); v != "" {
		if enc.Encode(modalMetadata{Ref: json.RawMessage(v), Channel: channel, TS: ts}) == nil {
			md = strings.TrimSuffix(meta.String(), "\n")
		}
	}
	if utf8.RuneCountInString(md) > maxPrivateMetadata {
		// Cannot happen for a valid ref (≤ 2000) and Slack ids; an empty
		// metadata makes the submission fail cleanly rather than Slack
		// refusing the modal.
		md = ""
	}

	t := strings.TrimSpace(ruleTitle)
	if t == "" {
		t = ref.RuleID
	}
	intro := "*" + prose(t, maxTitle) + "*"
	if ref.RuleID != "" {
		intro += "\n" + code(ref.RuleID, 128)
	}
	if ref.ResourceID != "" {
		intro += " on " + code(ref.ResourceID, maxIdent)
	}
	intro += "\nThe finding stops alerting until the exception expires. The alert shows who accepted the risk, why and until when."

	reason := slack.NewPlainTextInputBlockElement(plain("Why is this risk acceptable? Who owns it?"), AcceptRiskReasonActionID)
	reason.Multiline = true
	reason.MaxLength = MaxAcceptReason

	days := acceptDayChoices(maxDays)
	opts := make([]*slack.OptionBlockObject, len(days))
	for i, d := range days {
		label := strconv.Itoa(d) + " days"
		if d == 1 {
			label = "1 day"
		}
		opts[i] = slack.NewOptionBlockObject(strconv.Itoa(d), plain(label), nil)
	}
	expiry := slack.NewOptionsSelectBlockElement(slack.OptTypeStatic, plain("Choose a period"), AcceptRiskExpiryActionID, opts...)

	return slack.ModalViewRequest{
		Type:            slack.VTModal,
		CallbackID:      AcceptRiskCallbackID,
		Title:           plain(truncate("Accept risk", maxModalTitle)),
		Submit:          plain("Accept risk"),
		Close:           plain("Cancel"),
		PrivateMetadata: md,
		Blocks: slack.Blocks{BlockSet: []slack.Block{
			slack.NewSectionBlock(mrkdwn(truncateMrkdwn(intro, maxText)), nil, nil),
			slack.NewInputBlock(AcceptRiskReasonBlockID, plain("Reason"), nil, reason),
			slack.NewInputBlock(AcceptRiskExpiryBlockID, plain("Expires after"), nil, expiry),
		}},
	}
}

// ParseAcceptRisk reads a submitted Accept risk modal. A view that is not
// an intact Accept risk modal gives an error wrapping ErrNotAcceptRisk; a
// reason or expiry the submitter must correct gives FieldErrors (use
// errors.As), whose messages are the Msg* constants, keyed by input block
// id, ready for response_action "errors".
func ParseAcceptRisk(view slack.View) (AcceptRisk, error) {
	var out AcceptRisk
	if view.CallbackID != AcceptRiskCallbackID {
		return out, fmt.Errorf("%w: callback_id %q", ErrNotAcceptRisk, truncate(view.CallbackID, 64))
	}
	md, err := parseMetadata(view.PrivateMetadata)
	if err != nil {
		return out, err
	}
	out.Channel, out.TS = md.Channel, md.TS
	if out.Ref, err = DecodeFixValue(string(md.Ref)); err != nil {
		return AcceptRisk{}, fmt.Errorf("%w: %w", ErrNotAcceptRisk, err)
	}

	fe := FieldErrors{}
	var values map[string]map[string]slack.BlockAction
	if view.State != nil {
		values = view.State.Values
	}
	reason, ok := values[AcceptRiskReasonBlockID][AcceptRiskReasonActionID]
	r := strings.TrimSpace(reason.Value)
	switch {
	case !ok || r == "":
		fe[AcceptRiskReasonBlockID] = MsgReasonRequired
	case !utf8.ValidString(r) || strings.ContainsFunc(r, badReasonRune):
		fe[AcceptRiskReasonBlockID] = MsgReasonInvalid
	case utf8.RuneCountInString(r) > MaxAcceptReason:
		fe[AcceptRiskReasonBlockID] = MsgReasonTooLong
	default:
		out.Reason = r
	}
	exp, ok := values[AcceptRiskExpiryBlockID][AcceptRiskExpiryActionID]
	switch d, err := strconv.Atoi(exp.SelectedOption.Value); {
	case !ok || exp.SelectedOption.Value == "":
		fe[AcceptRiskExpiryBlockID] = MsgExpiryRequired
	case err != nil || d < 1 || d > MaxAcceptDays || strconv.Itoa(d) != exp.SelectedOption.Value:
		fe[AcceptRiskExpiryBlockID] = MsgExpiryInvalid
	default:
		out.Days = d
	}
	if len(fe) > 0 {
		return AcceptRisk{}, fe
	}
	return out, nil
}

// badReasonRune reports control characters other than line breaks and
// tabs: nothing a person types into a text box.
func badReasonRune(c rune) bool {
	return c != '\n' && c != '\t' && c != '\r' && (c < 0x20 || c == 0x7f || c >= 0x80 && c < 0xa0)
}

// parseMetadata decodes the modal's private_metadata strictly.
func parseMetadata(s string) (modalMetadata, error) {
	var md modalMetadata
	if s == "" || len(s) > 4*maxPrivateMetadata {
		return md, fmt.Errorf("%w: private_metadata empty or too long", ErrNotAcceptRisk)
	}
	dec := json.NewDecoder(strings.NewReader(s))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&md); err != nil {
		return md, fmt.Errorf("%w: private_metadata: %v", ErrNotAcceptRisk, err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return md, fmt.Errorf("%w: private_metadata: data after the object", ErrNotAcceptRisk)
	}
	if !ValidSlackID(md.Channel) || !ValidSlackTS(md.TS) {
		return md, fmt.Errorf("%w: private_metadata: invalid channel or ts", ErrNotAcceptRisk)
	}
	return md, nil
}

// ValidSlackID accepts Slack object ids such as C0123ABCD or U024BE7LH.
func ValidSlackID(s string) bool {
	if len(s) < 2 || len(s) > 32 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'A' && c <= 'Z' || c >= '0' && c <= '9') {
			return false
		}
	}
	return true
}

// ValidSlackTS accepts a message ts: digits, a dot, digits.
func ValidSlackTS(s string) bool {
	sec, frac, ok := strings.Cut(s, ".")
	return ok && len(s) <= 32 && digits(sec) && digits(frac)
}

func digits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}
