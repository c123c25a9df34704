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
