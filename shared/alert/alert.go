// Package alert is the notifier-neutral content of a drift alert: what
// changed, who changed it, why it matters and how to fix it. The pipeline
// builds it; a notifier (Slack) renders it.
package alert

import (
	"errors"
	"time"

	"github.com/driftwatch/driftwatch/shared/change"
	"github.com/driftwatch/driftwatch/shared/posture"
)

// ErrMessageGone is returned (wrapped) by a notifier asked to update a
// message that no longer exists, e.g. deleted by someone in the channel. The
// pipeline then posts a new message.
var ErrMessageGone = errors.New("alert message no longer exists")

// State is the state the message must show.
type State string

// Alert states.
const (
	// Open: at least one rule fails.
	Open State = "open"
	// Resolved: every rule that failed now passes (or the resource is gone).
	Resolved State = "resolved"
)

// Alert is one resource's drift, as one message.
type Alert struct {
	State    State              `json:"state"`
	Resource change.ResourceRef `json:"resource"`
	// AccountName is the business name of the account ("payments-prod").
	AccountName string `json:"account_name,omitempty"`
	ConsoleURL  string `json:"console_url,omitempty"`
	// Cause is the change that made the posture what the message shows.
	Cause Cause `json:"cause"`
	// Failing are the rules failing now, most severe first.
	Failing []Finding `json:"failing,omitempty"`
	// Resolved are rules that failed earlier in this alert and pass now.
	Resolved []Finding `json:"resolved,omitempty"`
	// Accepted are failing rules suppressed by an accepted risk.
	Accepted []Accepted `json:"accepted,omitempty"`
	// Deleted is true when the resource no longer exists.
	Deleted bool `json:"deleted,omitempty"`
	// OpenedAt is when the alert (its first failing rule) opened.
	OpenedAt time.Time `json:"opened_at"`
	// Note is a one-line summary of this update for the message's thread
	// ("aws_s3_bucket_acl_no_public_grants resolved by alice"); empty on the
	// first post.
	Note string `json:"note,omitempty"`
}

// Cause is the change behind an alert state.
type Cause struct {
	EventID   string       `json:"event_id"`
	Operation string       `json:"operation"`
	Actor     change.Actor `json:"actor"`
	Time      time.Time    `json:"time"`
}

// Finding is one rule's result as the reader needs it.
type Finding struct {
	RuleID   string           `json:"rule_id"`
	Title    string           `json:"title"`
	Severity posture.Severity `json:"severity"`
	// Controls are framework control ids ("CIS AWS 6.0.0 3.1.4",
	// "ISO 27001:2022 A.8.20", "PCI DSS 4.0 1.3.1", ...).
	Controls []string `json:"controls,omitempty"`
	// Settings are the settings that matter to the rule, before and after.
	Settings []Setting `json:"settings,omitempty"`
	// Remediation says how to fix it; Action names the automatic fix the
	// rule offers ("" when only guidance exists).
	Remediation string `json:"remediation,omitempty"`
	Action      string `json:"action,omitempty"`
	// Fix is what the message offers or reports about fixing this finding
	// from chat; nil when nothing is offered (mode alert, or no action).
	Fix *Fix `json:"fix,omitempty"`
}

// Fix is the chat-side state of one finding's remediation.
type Fix struct {
	// Ref identifies the finding episode; the buttons carry it (see
	// ButtonValue).
	Ref FixRef `json:"ref"`
	// Mode is approve (a Remediate button) or auto (fixed without a click
	// inside maintenance windows).
	Mode string `json:"mode"`
	// Change says exactly what Remediate will change (the confirm dialog).
	Change string `json:"change"`
	// State is "" before anyone clicked, else the remediation's state
	// (proposed, approved, running, succeeded, failed, rolling_back,
	// rolled_back, denied, expired).
	State string `json:"state,omitempty"`
	// Approvals are the approvers' names so far, Required how many are
	// needed.
	Approvals []string `json:"approvals,omitempty"`
	Required  int      `json:"required,omitempty"`
	// Result says what the last run did, in plain words.
	Result string `json:"result,omitempty"`
	// CanUndo is true when a succeeded fix has a snapshot to restore.
	CanUndo bool `json:"can_undo,omitempty"`
	// AcceptRisk offers the Accept risk button.
	AcceptRisk bool `json:"accept_risk,omitempty"`
}

// FixRef identifies one finding episode across a click: the resource, the
// rule and when the finding opened (its remediation id derives from them).
type FixRef struct {
	Cloud      string `json:"c"`
	Account    string `json:"a"`
	ResourceID string `json:"k"`
	RuleID     string `json:"r"`
	// FirstSeen is the finding's first-seen time in Unix nanoseconds.
	FirstSeen int64 `json:"f"`
}

// Accepted is a failing rule whose risk was accepted: it does not alert
// until Until.
type Accepted struct {
	RuleID   string           `json:"rule_id"`
	Title    string           `json:"title"`
	Severity posture.Severity `json:"severity"`
	By       string           `json:"by"`
	Reason   string           `json:"reason"`
	Until    time.Time        `json:"until"`
}

// Setting is one configuration value before and after the change. Before
// is empty when the resource was not observed before.
type Setting struct {
	Path   string `json:"path"`
	Before string `json:"before"`
	After  string `json:"after"`
	// Known is false when there is no earlier observation to compare.
	Known bool `json:"known"`
}

// Severity returns the most severe failing severity (or the most severe
// resolved one when nothing fails).
func (a Alert) Severity() posture.Severity {
	best := posture.Informational
	list := a.Failing
	if len(list) == 0 {
		list = a.Resolved
	}
	for _, f := range list {
		if f.Severity.Rank() < best.Rank() {
			best = f.Severity
		}
	}
	return best
}
