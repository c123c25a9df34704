package governance

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/driftwatch/driftwatch/shared/change"
	"github.com/driftwatch/driftwatch/shared/store"
)

// Why a click is refused. Authorize returns them wrapped in a *Denial.
var (
	// ErrNotApprover: the clicker is not among the decision's approvers.
	ErrNotApprover = errors.New("not an approver")
	// ErrSelfApproval: the clicker is the principal who caused the drift.
	ErrSelfApproval = errors.New("self-approval")
	// ErrAlreadyApproved: the clicker already approved this fix; a second
	// approval must come from someone else.
	ErrAlreadyApproved = errors.New("already approved")
	// ErrExpiryNotAllowed: an accepted risk's expiry is in the past or
	// beyond the policy's maximum.
	ErrExpiryNotAllowed = errors.New("expiry not allowed")
)

// Denial is a refusal with a reason to show the person (an ephemeral
// message). It wraps one of the sentinel errors above.
type Denial struct {
	// Reason says why, in plain words, addressed to the clicker.
	Reason string
	Err    error
}

// Error includes the sentinel for logs and the reason.
func (d *Denial) Error() string { return fmt.Sprintf("denied (%v): %s", d.Err, d.Reason) }

// Unwrap returns the sentinel, for errors.Is.
func (d *Denial) Unwrap() error { return d.Err }

// Clicker is the person who clicked, as Slack identifies them.
type Clicker struct {
	SlackUser string
	// Name is the Slack name, for messages.
	Name string
	// Email is the Slack profile email, "" when unknown (it needs the
	// users:read.email scope).
	Email string
}

// Directory tells which Slack user groups a user belongs to. The Slack
// side implements it (usergroups.list / usergroups.users.list).
type Directory interface {
	UserGroups(ctx context.Context, slackUser string) ([]string, error)
}

// Authorize decides whether c may approve the fix (or accept the risk)
// that d describes, given who caused the drift and the approvals already
// recorded. It returns nil, a *Denial (ErrAlreadyApproved,
// ErrSelfApproval, ErrNotApprover), or an error from dir. It decides who,
// not whether: check d.Fixable before running a fix.
//
// dir is asked only when the approver users alone do not decide, so a
// listed user is authorised without a Slack call; it may be nil when no
// approver groups are configured.
func (p *Policy) Authorize(ctx context.Context, d Decision, c Clicker, causedBy change.Actor, dir Directory, already []store.Approval) error {
	if c.SlackUser == "" {
		return &Denial{Reason: "your Slack user could not be identified", Err: ErrNotApprover}
	}
	if slices.ContainsFunc(already, func(a store.Approval) bool { return a.SlackUser == c.SlackUser }) {
		return &Denial{Reason: "you already approved this fix; the second approval must come from someone else", Err: ErrAlreadyApproved}
	}
	if self, how := p.causedBy(c, causedBy); self {
		return &Denial{Reason: how + ": someone else must approve it", Err: ErrSelfApproval}
	}
	if d.Approvers.Empty() {
		return &Denial{Reason: "no approvers are configured for this finding", Err: ErrNotApprover}
	}
	if slices.Contains(d.Approvers.Users, c.SlackUser) {
		return nil
	}
	notApprover := &Denial{Reason: "you are not one of the approvers of this fix", Err: ErrNotApprover}
	if len(d.Approvers.Groups) == 0 {
		return notApprover
	}
	if dir == nil {
		return errors.New("authorize: approver groups are configured but no directory was given to check them")
	}
	groups, err := dir.UserGroups(ctx, c.SlackUser)
	if err != nil {
		return fmt.Errorf("authorize %s: user groups: %w", c.SlackUser, err)
	}
	if slices.ContainsFunc(groups, func(g string) bool { return slices.Contains(d.Approvers.Groups, g) }) {
		return nil
	}
	return notApprover
}

// causedBy reports whether the clicker is the actor, and how we know it:
// through the identities mapping of their Slack user, or (match_email)
// their Slack email being the actor's name or session name. Names compare
// ignoring case: a false match refuses an approval someone else can give,
// a missed one lets a person approve their own drift.
func (p *Policy) causedBy(c Clicker, a change.Actor) (bool, string) {
	names := actorNames(a)
	matches := func(s string) bool {
		return s != "" && slices.ContainsFunc(names, func(n string) bool { return strings.EqualFold(n, s) })
	}
	for _, pr := range p.identities[c.SlackUser] {
		if matches(pr) {
			return true, fmt.Sprintf("you made this change (your Slack user acts as %s)", pr)
		}
	}
	if p.matchEmail && matches(c.Email) {
		return true, fmt.Sprintf("you made this change (as %s)", c.Email)
	}
	return false, ""
}

// actorNames lists every name the actor is known by: the principal (ARN),
// the short name, the session issuer, and the last path element of the
// name and the principal (the IAM user name, or the session name of an
// assumed role, which IAM Identity Center sets to the person's user name
// or email).
func actorNames(a change.Actor) []string {
	var out []string
	add := func(s string) {
		if s != "" && !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	add(a.Principal)
	add(a.Name)
	add(a.SessionIssuer)
	add(lastElem(a.Name))
	add(lastElem(a.Principal))
	return out
}

func lastElem(s string) string {
	if i := strings.LastIndexByte(s, '/'); i >= 0 {
		return s[i+1:]
	}
	return ""
}

// RateTaker is the one store method automatic mode needs
// (store.Governance has it).
type RateTaker interface {
	TakeRateToken(ctx context.Context, bucket string, now time.Time, window time.Duration, limit int) error
}

// TakeAutoToken takes one token of d's rate limit before an automatic fix.
// It returns d unchanged when d is not auto or the token was taken; when
// the account's limit is used up (store.ErrClaimed) it returns d fallen
// back to approve. On any other error it returns the fallback too, with the
// error: a caller that only logs the error still never fixes automatically
// without a token.
func (d Decision) TakeAutoToken(ctx context.Context, rt RateTaker, now time.Time) (Decision, error) {
	if d.Mode != Auto {
		return d, nil
	}
	rl := d.RateLimit
	if rl == nil {
		return d.fallBack("auto without a rate limit: falls back to approve"), nil
	}
	err := rt.TakeRateToken(ctx, rl.Bucket, now, rl.Window, rl.PerAccount)
	switch {
	case err == nil:
		return d, nil
	case errors.Is(err, store.ErrClaimed):
		return d.fallBack(fmt.Sprintf("auto rate limit reached (%s per account per %s): falls back to approve",
			fixes(rl.PerAccount), formatDuration(rl.Window))), nil
	}
	return d.fallBack("auto rate limit could not be checked: falls back to approve"),
		fmt.Errorf("take auto rate token %s: %w", rl.Bucket, err)
}

// fallBack turns an auto decision into approve (alert when nobody could
// approve), keeping its approvers and why it was auto.
func (d Decision) fallBack(why string) Decision {
	d.Mode = Approve
	d.RateLimit = nil
	d.Reason = why + " (was: " + d.Reason + ")"
	if u := unreachable(d); u != "" {
		d.Mode = Alert
		d.Reason += "; " + u + ", so alert only"
	}
	return d
}
