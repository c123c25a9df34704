// Package governance is the remediation policy: for a failing rule on a
// resource it decides whether driftwatch only alerts, offers a fix that
// approvers must approve, or fixes automatically; and for a click it decides
// whether that person may approve.
//
// The policy is one YAML file, validated strictly when a function starts
// (Parse, Load): unknown fields and every invalid value are errors that
// name the file, line and field. testdata/governance/README.md documents
// every field and testdata/governance/example.yaml is a complete example.
// In short:
//
//	version: 1                       # required
//	defaults:
//	  mode: approve                  # alert | approve | auto (default alert)
//	  two_approvers: false           # every fix needs two approvers (default false)
//	  approval_expiry: 24h           # approvals older than this expire (default 24h)
//	  accept_risk_max: 90d           # longest accepted risk (default 90d)
//	  match_email: true              # a clicker's Slack email equal to the drift actor's
//	                                 # name or session name is that actor (default true)
//	approvers:                       # the FIRST entry matching severity and account wins
//	  - severities: [critical, high]
//	    accounts: ["111111111111"]   # optional: any account when absent
//	    users: [U024BE7LH]           # Slack user ids (U..., W...)
//	    groups: [S0614TZR7]          # Slack user group ids (S...)
//	rules:                           # per rule id: mode and/or two_approvers
//	  aws_cloudtrail_trail_logging: {mode: auto}
//	overrides:                       # in order; a later matching override wins
//	  - name: prod                   # optional, names it in decisions' reasons
//	    accounts: ["111111111111"]   # the resource's account is listed (or none are)
//	    tags: {environment: prod}    # and every tag matches exactly
//	    rules: ["*"]                 # rule ids, or "*" for all
//	    mode: approve
//	    two_approvers: true
//	high_risk_actions: [iam_deactivate_access_key]  # always two approvers, never auto
//	maintenance_windows:
//	  - name: weekday-nights
//	    timezone: Europe/Madrid      # IANA name; wall-clock times, DST-correct
//	    days: [mon, tue, wed, thu, fri]  # the day a window STARTS (default every day)
//	    start: "22:00"
//	    end: "06:00"                 # may wrap past midnight; "24:00" ends the day
//	auto:
//	  windows: [weekday-nights]      # auto only runs inside one of these
//	  rate_limit: {per_account: 5, window: 1h}
//	opt_out:                         # a resource with any of these tags is never touched
//	  driftwatch-remediation: "off"  # (this is the default when opt_out is absent;
//	                                 #  "opt_out: {}" disables opt-out tags)
//	identities:                      # Slack users and the cloud principals they act as
//	  - slack: U024BE7LH
//	    principals: [arn:aws:iam::111111111111:user/alice, alice@example.com]
//
// Decide resolves a mode in this order: the default, the rule's entry, then
// every matching override in file order. Then, whatever was configured: a
// rule with no automatic fix is alert only (guidance); an opted-out resource
// is alert only; auto becomes approve outside every auto window and for a
// high-risk action; approve becomes alert when no approver could ever
// approve. Every Decision says why in Reason.
//
// Without a policy file (Default) every finding is alert only: with no
// approvers configured nobody could approve a fix, and no fix should run
// that nobody approved. Offering fixes is something a team opts into by
// writing the file.
//
// This package is pure Go: the Slack user-group lookup and the rate-limit
// store are small interfaces the caller satisfies.
package governance

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	// The Lambda provided.al2023 image has no zoneinfo; maintenance
	// windows must still load their time zones there.
	_ "time/tzdata"

	"github.com/driftwatch/driftwatch/shared/posture"
)

// Mode is how a failing rule's fix is offered.
type Mode string

// The modes, from the least to the most automatic.
const (
	// Alert: the alert offers no fix button (guidance only).
	Alert Mode = "alert"
	// Approve: a Remediate button; the fix runs once enough approvers
	// clicked it.
	Approve Mode = "approve"
	// Auto: the fix runs without a click, inside a maintenance window and
	// under the per-account rate limit.
	Auto Mode = "auto"
)

// ParseMode validates a mode name.
func ParseMode(s string) (Mode, error) {
	switch m := Mode(s); m {
	case Alert, Approve, Auto:
		return m, nil
	}
	return "", fmt.Errorf("unknown mode %q (want alert, approve or auto)", s)
}

// Policy is a validated governance policy. It is immutable and safe for
// concurrent use.
type Policy struct {
	// source names the file; "" for Default.
	source string

	mode           Mode
	twoApprovers   bool
	approvalExpiry time.Duration
	acceptRiskMax  time.Duration
	matchEmail     bool

	approvers []approverEntry
	rules     map[string]ruleSetting
	overrides []override
	highRisk  map[string]bool
	// irreversible actions are high risk whatever the file says.
	irreversible map[string]bool
	windows      map[string]*window
	autoWindows  []string
	rate         RateLimit
	optOut       map[string]string
	identities   map[string][]string

	// refs are the rule ids and action names the file names, for
	// CheckReferences.
	refs []reference
}

type approverEntry struct {
	severities []posture.Severity
	accounts   []string
	users      []string
	groups     []string
}

type ruleSetting struct {
	mode         Mode  // "" when not set
	twoApprovers *bool // nil when not set
}

type override struct {
	index        int // 1-based, for people
	line         int
	name         string
	accounts     []string
	tags         map[string]string
	rules        []string
	allRules     bool
	mode         Mode
	twoApprovers *bool
}

type refKind int

const (
	refRule refKind = iota
	refAction
)

type reference struct {
	kind  refKind
	id    string
	field string
	line  int
}

// Default is the policy without a file: every finding alert only, approval
// expiry 24h, accepted risks up to 90 days, and the default opt-out tag.
func Default() *Policy {
	return &Policy{
		mode:           DefaultMode,
		approvalExpiry: DefaultApprovalExpiry,
		acceptRiskMax:  DefaultAcceptRiskMax,
		matchEmail:     true,
		rules:          map[string]ruleSetting{},
		highRisk:       map[string]bool{},
		windows:        map[string]*window{},
		optOut:         map[string]string{DefaultOptOutKey: DefaultOptOutValue},
		identities:     map[string][]string{},
	}
}

// Input is what Decide needs to know about one failing rule on one
// resource.
type Input struct {
	RuleID string
	// Action is the automatic fix the rule offers; "" when it offers only
	// guidance.
	Action   string
	Severity posture.Severity
	// Account is the resource's account (subscription, project).
	Account string
	Tags    map[string]string
	// Now decides whether auto is inside a maintenance window; a zero Now
	// is inside none.
	Now time.Time
}

// Approvers are who may approve a fix: any listed user, or any member of a
// listed user group.
type Approvers struct {
	Users  []string
	Groups []string
}

// Empty reports whether nobody at all may approve.
func (a Approvers) Empty() bool { return len(a.Users) == 0 && len(a.Groups) == 0 }

// RateLimit bounds automatic fixes per account.
type RateLimit struct {
	// Bucket is the store's rate-limit bucket of the resource's account.
	Bucket     string
	PerAccount int
	Window     time.Duration
}

// Decision is what the policy says about fixing one failing rule on one
// resource.
type Decision struct {
	Mode Mode
	// Reason says why, in plain words, for the alert, the audit log and
	// people reading logs.
	Reason string
	// Approvers may approve the fix (and accept the risk); filled whatever
	// the mode, empty when no approvers entry matches.
	Approvers Approvers
	// RequiredApprovals is 1, or 2 distinct approvers.
	RequiredApprovals int
	// OptedOut is true when the resource carries an opt-out tag; Mode is
	// then alert.
	OptedOut bool
	// ApprovalExpiry bounds how long a proposed fix waits for approvals.
	ApprovalExpiry time.Duration
	// RateLimit is set when Mode is auto: the caller must take a token
	// before running the fix and fall back to approve when refused
	// (TakeAutoToken does both).
	RateLimit *RateLimit
}

// Fixable reports whether the decision offers a fix (approve or auto). A
// click asking to run a fix whose fresh decision is not fixable must be
// refused; Authorize only decides who, not whether.
func (d Decision) Fixable() bool { return d.Mode == Approve || d.Mode == Auto }

// MarkIrreversible makes actions whose change cannot be undone high risk
// (two approvers, never automatic) whatever the policy file says. The rule
// catalogue declares them (remediation.irreversible).
func (p *Policy) MarkIrreversible(actions ...string) {
	if p.irreversible == nil {
		p.irreversible = map[string]bool{}
	}
	for _, a := range actions {
		p.irreversible[a] = true
	}
}

// Decide applies the policy to one failing rule on one resource.
func (p *Policy) Decide(in Input) Decision {
	d := Decision{
		ApprovalExpiry:    p.approvalExpiry,
		RequiredApprovals: 1,
		Approvers:         p.approversFor(in.Severity, in.Account),
	}
	mode, modeSrc, two, twoSrc := p.configured(in)
	highRisk := in.Action != "" && (p.highRisk[in.Action] || p.irreversible[in.Action])
	switch {
	case in.Action != "" && p.irreversible[in.Action]:
		d.RequiredApprovals = 2
		twoSrc = fmt.Sprintf("action %s cannot be undone", in.Action)
	case highRisk:
		d.RequiredApprovals = 2
		twoSrc = fmt.Sprintf("action %s is high risk", in.Action)
	case two:
		d.RequiredApprovals = 2
	}
	optKey, optValue, optedOut := p.optedOut(in.Tags)
	d.OptedOut = optedOut

	switch {
	case in.Action == "":
		d.Mode = Alert
		d.Reason = fmt.Sprintf("rule %s offers no automatic fix: alert with guidance only", in.RuleID)
		return d
	case optedOut:
		d.Mode = Alert
		d.Reason = fmt.Sprintf("the resource is tagged %s=%s: it is never remediated, alert only", optKey, optValue)
		return d
	case mode == Alert:
		d.Mode = Alert
		d.Reason = "alert: set by " + modeSrc
		return d
	case mode == Auto && highRisk:
		d.Mode = Approve
		what := "is high risk"
		if p.irreversible[in.Action] {
			what = "cannot be undone"
		}
		d.Reason = fmt.Sprintf("auto (set by %s) does not apply: action %s %s and always needs two approvers, so it falls back to approve", modeSrc, in.Action, what)
	case mode == Auto:
		if w := p.activeWindow(in.Now); w != "" {
			d.Mode = Auto
			d.RateLimit = &RateLimit{Bucket: RateBucket(in.Account), PerAccount: p.rate.PerAccount, Window: p.rate.Window}
			d.Reason = fmt.Sprintf("auto (set by %s) inside maintenance window %s, at most %s per account per %s",
				modeSrc, w, fixes(p.rate.PerAccount), formatDuration(p.rate.Window))
			return d
		}
		d.Mode = Approve
		d.Reason = fmt.Sprintf("auto outside maintenance %s %s: falls back to approve (auto set by %s)",
			plural(len(p.autoWindows), "window", "windows"), strings.Join(p.autoWindows, ", "), modeSrc)
	default:
		d.Mode = Approve
		d.Reason = "approve: set by " + modeSrc
	}
	if d.RequiredApprovals == 2 {
		d.Reason += fmt.Sprintf("; needs two distinct approvers (%s)", twoSrc)
	}
	if why := unreachable(d); why != "" {
		d.Mode = Alert
		d.Reason += fmt.Sprintf("; %s for %s findings in account %s, so alert only", why, severityName(in.Severity), in.Account)
	}
	return d
}

// unreachable says why nobody could ever give d its approvals; "" when
// someone could. A group may have any number of members.
func unreachable(d Decision) string {
	switch {
	case d.Approvers.Empty():
		return "no approvers are configured"
	case d.RequiredApprovals > 1 && len(d.Approvers.Groups) == 0 && len(d.Approvers.Users) < d.RequiredApprovals:
		return fmt.Sprintf("two approvers are needed but only %s is configured", d.Approvers.Users[0])
	}
	return ""
}

// configured resolves the configured mode and two-approver setting and
// where each came from: the default, the rule's entry, then every matching
// override in order.
func (p *Policy) configured(in Input) (mode Mode, modeSrc string, two bool, twoSrc string) {
	mode, two = p.mode, p.twoApprovers
	modeSrc, twoSrc = "the policy's default", "the policy's default"
	if p.source == "" {
		modeSrc = "the built-in default (no governance policy file)"
	}
	if r, ok := p.rules[in.RuleID]; ok {
		if r.mode != "" {
			mode, modeSrc = r.mode, "rule "+in.RuleID
		}
		if r.twoApprovers != nil {
			two, twoSrc = *r.twoApprovers, "rule "+in.RuleID
		}
	}
	for i := range p.overrides {
		o := &p.overrides[i]
		if !o.matches(in) {
			continue
		}
		if o.mode != "" {
			mode, modeSrc = o.mode, o.String()
		}
		if o.twoApprovers != nil {
			two, twoSrc = *o.twoApprovers, o.String()
		}
	}
	return mode, modeSrc, two, twoSrc
}

// matches reports whether the override applies: the rule is listed (or
// "*"), the account is listed (or none are), and every tag matches exactly.
func (o *override) matches(in Input) bool {
	if !o.allRules && !slices.Contains(o.rules, in.RuleID) {
		return false
	}
	if len(o.accounts) > 0 && !slices.Contains(o.accounts, in.Account) {
		return false
	}
	for k, v := range o.tags {
		if got, ok := in.Tags[k]; !ok || got != v {
			return false
		}
	}
	return true
}

// String names the override for a decision's reason.
func (o *override) String() string {
	if o.name != "" {
		return fmt.Sprintf("override %q", o.name)
	}
	return fmt.Sprintf("override %d (line %d)", o.index, o.line)
}

// approversFor returns the first approvers entry that lists the severity
// and the account (or lists no accounts).
func (p *Policy) approversFor(sev posture.Severity, account string) Approvers {
	for _, e := range p.approvers {
		if !slices.Contains(e.severities, sev) {
			continue
		}
		if len(e.accounts) > 0 && !slices.Contains(e.accounts, account) {
			continue
		}
		return Approvers{Users: slices.Clone(e.users), Groups: slices.Clone(e.groups)}
	}
	return Approvers{}
}

// optedOut reports the first opt-out tag the resource carries. Values are
// compared ignoring case: missing an opt-out ("Off", "OFF") is the
// dangerous mistake, so the comparison errs towards opting out.
func (p *Policy) optedOut(tags map[string]string) (key, value string, ok bool) {
	for _, k := range slices.Sorted(maps.Keys(p.optOut)) {
		if v, has := tags[k]; has && strings.EqualFold(v, p.optOut[k]) {
			return k, v, true
		}
	}
	return "", "", false
}

// RateBucket is the rate-limit bucket of automatic fixes in one account.
func RateBucket(account string) string { return "auto|" + account }

// ApprovalExpiry is how long a proposed fix waits for its approvals.
func (p *Policy) ApprovalExpiry() time.Duration { return p.approvalExpiry }

// AcceptRiskMax is the longest an accepted risk may last.
func (p *Policy) AcceptRiskMax() time.Duration { return p.acceptRiskMax }

// CheckAcceptRisk validates the expiry someone asked for when accepting a
// risk at now: it must be in the future and at most AcceptRiskMax away. A
// refusal is a *Denial wrapping ErrExpiryNotAllowed whose Reason can be
// shown to the person as is.
func (p *Policy) CheckAcceptRisk(now, until time.Time) error {
	switch d := until.Sub(now); {
	case d <= 0:
		return &Denial{Reason: "the expiry must be in the future", Err: ErrExpiryNotAllowed}
	case d > p.acceptRiskMax:
		return &Denial{
			Reason: fmt.Sprintf("the expiry is %s away; the policy allows accepting a risk for at most %s", formatDuration(d.Round(time.Minute)), formatDuration(p.acceptRiskMax)),
			Err:    ErrExpiryNotAllowed,
		}
	}
	return nil
}

// CheckReferences reports the rule ids and action names the policy names
// that are not among those given (the compiled rule catalogue and the
// remediation actions): a typo would otherwise silently never match. Call
// it at start, after compiling the rules. The errors are ConfigErrors.
func (p *Policy) CheckReferences(ruleIDs, actions []string) error {
	c := &checker{file: p.source}
	for _, r := range p.refs {
		switch {
		case r.kind == refRule && !slices.Contains(ruleIDs, r.id):
			c.errs = append(c.errs, &ConfigError{File: p.source, Line: r.line, Field: r.field, Msg: fmt.Sprintf("unknown rule %q (not in the rule catalogue)", r.id)})
		case r.kind == refAction && !slices.Contains(actions, r.id):
			c.errs = append(c.errs, &ConfigError{File: p.source, Line: r.line, Field: r.field, Msg: fmt.Sprintf("unknown action %q (no remediation action has this name)", r.id)})
		}
	}
	return c.err()
}

// severityName is a severity as a reason says it.
func severityName(s posture.Severity) string {
	if s == "" {
		return "unrated"
	}
	return string(s)
}

// fixes counts automatic fixes in words: "1 automatic fix", "5 automatic
// fixes".
func fixes(n int) string { return fmt.Sprintf("%d automatic %s", n, plural(n, "fix", "fixes")) }

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// formatDuration writes a duration as people read it: "90 days", "1 day
// 12h", "1h", "1h30m".
func formatDuration(d time.Duration) string {
	const day = 24 * time.Hour
	var parts []string
	switch days := d / day; days {
	case 0:
	case 1:
		parts = append(parts, "1 day")
	default:
		parts = append(parts, fmt.Sprintf("%d days", days))
	}
	if rest := d % day; rest != 0 || d == 0 {
		s := rest.String() // "1h30m0s"
		if strings.HasSuffix(s, "m0s") {
			s = strings.TrimSuffix(s, "0s")
		}
		if strings.HasSuffix(s, "h0m") {
			s = strings.TrimSuffix(s, "0m")
		}
		parts = append(parts, s)
	}
	return strings.Join(parts, " ")
}
