package pipeline

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"

	"github.com/driftwatch/driftwatch/shared/alert"
	"github.com/driftwatch/driftwatch/shared/change"
	"github.com/driftwatch/driftwatch/shared/posture"
	"github.com/driftwatch/driftwatch/shared/remediation"
	"github.com/driftwatch/driftwatch/shared/store"
)

// deliverPending renders a pending alert and then, while a concurrent
// worker moved the posture on during the rendering (its own claim was
// refused because this worker held the lease), renders again so that the
// message never stays behind the stored posture.
func (d *Alerts) deliverPending(ctx context.Context, l store.Loaded, log *slog.Logger) (bool, error) {
	return d.deliverNote(ctx, l, "", log)
}

// deliverNote is deliverPending with a thread note that replaces the one
// computed from the drift (for status changes that are not drift).
func (d *Alerts) deliverNote(ctx context.Context, l store.Loaded, note string, log *slog.Logger) (bool, error) {
	notifiedAny := false
	key := l.State.Key
	for range maxConflicts {
		notified, rendered, err := d.deliver(ctx, l, note, log)
		note = ""
		notifiedAny = notifiedAny || notified
		if err != nil || !rendered {
			return notifiedAny, err
		}
		fresh, err := d.store.GetResource(ctx, key)
		if err != nil {
			return notifiedAny, fmt.Errorf("re-read posture of %s: %w", key, err)
		}
		if !fresh.Alert.Pending() {
			return notifiedAny, nil
		}
		if l, err = d.store.LoadAll(ctx, key); err != nil {
			return notifiedAny, fmt.Errorf("re-read posture of %s: %w", key, err)
		}
	}
	return notifiedAny, nil
}

// Refresh re-renders a resource's alert after something other than its
// posture changed (a fix was approved, started, failed or was undone; a
// risk was accepted) and posts note (if any) in its thread. It is
// exactly-once like every rendering: the store's alert revision moves, and
// whoever holds the alert claim renders the newest state.
func (d *Alerts) Refresh(ctx context.Context, key store.Key, note string) error {
	if _, err := d.store.BumpAlert(ctx, key); err != nil {
		return fmt.Errorf("refresh alert of %s: %w", key, err)
	}
	l, err := d.store.LoadAll(ctx, key)
	if err != nil {
		return fmt.Errorf("refresh alert of %s: %w", key, err)
	}
	_, err = d.deliverNote(ctx, l, note, d.log.With("resource_id", key.ResourceID))
	return err
}

// deliver renders the alert of a resource whose failing set changed: a new
// message when drift opens, an in-place update while the message is open
// (including its resolution). The alert claim makes it exactly-once across
// concurrent workers and redeliveries.
// It reports whether a message was posted or updated and whether this worker
// rendered the revision (held the claim).
func (d *Alerts) deliver(ctx context.Context, l store.Loaded, note string, log *slog.Logger) (notified, rendered bool, err error) {
	st := l.State
	rev := st.Alert.WantRevision
	// The claim returns the alert bookkeeping as stored now: another worker
	// may have posted the message after this one read the state.
	cur, err := d.store.ClaimAlert(ctx, st.Key, rev, d.opts.Now(), d.opts.AlertLease)
	if err != nil {
		if errors.Is(err, store.ErrClaimed) {
			return false, false, nil
		}
		return false, false, fmt.Errorf("claim alert of %s: %w", st.Key, err)
	}
	if cur.WantRevision > rev {
		// A concurrent worker moved the posture on since this one read it:
		// render the newest posture under this claim.
		fresh, err := d.store.LoadAll(ctx, st.Key)
		if err != nil {
			return false, false, fmt.Errorf("re-read posture of %s: %w", st.Key, err)
		}
		l, st, rev = fresh, fresh.State, cur.WantRevision
	}
	st.Alert = cur
	l.State = st
	failing := st.Failing()
	a := d.buildAlert(ctx, l, failing)
	if note != "" {
		a.Note = note
	}
	ref := st.Alert.Ref
	// An undo brings the drift back: the resolved message it came from is
	// reopened in place rather than a new one posted.
	reopen := false
	inPlace := st.Alert.Open || len(failing) > 0 && st.LastChange.Operation == undoOperation
	if inPlace && !ref.IsZero() {
		err := d.notify.Update(ctx, ref, a)
		switch {
		case errors.Is(err, alert.ErrMessageGone) && len(failing) > 0:
			log.Warn("alert message gone, posting it again", "channel", ref.Channel, "ts", ref.TS)
			reopen = true
		case errors.Is(err, alert.ErrMessageGone):
			log.Warn("alert message gone, nothing left to show", "channel", ref.Channel, "ts", ref.TS)
		case err != nil:
			return false, false, fmt.Errorf("update alert of %s: %w", st.Key, err)
		default:
			notified = true
			log.Info("alert updated", "state", string(a.State), "channel", ref.Channel, "ts", ref.TS)
			kind := "alert_updated"
			if a.State == alert.Resolved {
				kind = "alert_resolved"
			}
			d.audit(ctx, store.AuditEntry{Key: st.Key, Seq: fmt.Sprintf("%s-%d", kind, rev), Kind: kind, Who: "driftwatch",
				What: fmt.Sprintf("Slack message %s updated (%s): %s", ref.TS, a.State, firstNonEmpty(a.Note, strings.Join(failing, ", ")))})
		}
	}
	switch {
	case inPlace && !ref.IsZero() && !reopen:
	case len(failing) > 0:
		a.Note = ""
		if ref, err = d.notify.Post(ctx, a); err != nil {
			return false, false, fmt.Errorf("post alert of %s: %w", st.Key, err)
		}
		notified = true
		log.Info("alert posted", "severity", string(a.Severity()), "channel", ref.Channel, "ts", ref.TS)
		d.audit(ctx, store.AuditEntry{Key: st.Key, Seq: fmt.Sprintf("alert_posted-%d", rev), Kind: "alert_posted", Who: "driftwatch",
			What: fmt.Sprintf("Slack message %s posted: %s failing (%s by %s)", ref.TS, strings.Join(failing, ", "), a.Cause.Operation, a.Cause.Actor.Name)})
	}
	if err := d.store.RecordAlert(ctx, st.Key, rev, ref, len(failing) > 0, failing); err != nil {
		return notified, false, fmt.Errorf("record alert of %s: %w", st.Key, err)
	}
	return notified, true, nil
}

// undoOperation is the operation of the re-evaluation after an undo.
const undoOperation = remediation.UndoOperation

// buildAlert assembles what the message shows from the stored state,
// findings, remediations and accepted risks.
func (d *Alerts) buildAlert(ctx context.Context, l store.Loaded, failing []string) alert.Alert {
	st, findings := l.State, l.Findings
	ref := change.ResourceRef{
		Cloud: st.Key.Cloud, Type: st.Type, ID: st.Key.ResourceID, Name: st.Name,
		Account: st.Key.Account, Region: st.Region,
	}
	a := alert.Alert{
		State:       alert.Resolved,
		Resource:    ref,
		AccountName: d.opts.Accounts[st.Key.Account].Name,
		ConsoleURL:  d.opts.ConsoleURL(ref),
		Cause: alert.Cause{
			EventID: st.LastChange.EventID, Operation: st.LastChange.Operation,
			Actor: st.LastChange.Actor, Time: st.LastChange.Time,
		},
		Deleted: !st.Exists,
	}
	if len(failing) > 0 {
		a.State = alert.Open
	}
	var opened, resolved []string
	for _, f := range findings {
		switch {
		case f.Status == store.FindingOpen && slices.Contains(failing, f.RuleID):
			af := d.alertFinding(f, st)
			af.Fix = d.fix(ctx, l, f, af.Action, true)
			a.Failing = append(a.Failing, af)
			if a.OpenedAt.IsZero() || f.FirstSeen.Before(a.OpenedAt) {
				a.OpenedAt = f.FirstSeen
			}
			if f.FirstSeen.Equal(st.ObservedAt) {
				opened = append(opened, f.RuleID)
			}
		case f.Status == store.FindingResolved && st.Alert.Open && f.Alert == st.Alert.Ref && !suppressed(st, f.RuleID):
			af := d.alertFinding(f, st)
			af.Fix = d.fix(ctx, l, f, af.Action, false)
			a.Resolved = append(a.Resolved, af)
			if len(failing) == 0 && (a.OpenedAt.IsZero() || f.FirstSeen.Before(a.OpenedAt)) {
				a.OpenedAt = f.FirstSeen
			}
			if f.ResolvedAt.Equal(st.ObservedAt) {
				resolved = append(resolved, f.RuleID)
			}
		}
	}
	bySeverity := func(x, y alert.Finding) int {
		if c := x.Severity.Rank() - y.Severity.Rank(); c != 0 {
			return c
		}
		return strings.Compare(x.RuleID, y.RuleID)
	}
	slices.SortFunc(a.Failing, bySeverity)
	slices.SortFunc(a.Resolved, bySeverity)
	a.Accepted = d.accepted(l)
	if len(failing) == 0 && len(a.Accepted) > 0 {
		// Nothing fails but something fails under an accepted risk: the
		// message says so rather than "resolved".
		a.State = alert.Open
	}
	a.Note = note(opened, resolved, a.Cause)
	return a
}

func (d *Alerts) alertFinding(f store.Finding, st store.ResourceState) alert.Finding {
	af := alert.Finding{RuleID: f.RuleID, Title: f.RuleID, Severity: f.Severity}
	r, ok := d.rules.Rule(f.RuleID)
	if !ok {
		return af
	}
	af.Title = r.Title
	if af.Severity == "" {
		af.Severity = r.Severity
	}
	for _, c := range r.Controls {
		af.Controls = append(af.Controls, c.String())
	}
	af.Remediation = r.Remediation.Guidance
	af.Action = r.Remediation.Action
	vals, err := d.rules.SettingValuesAt(f.RuleID, st.Document, d.evalContextAt(st.Key.Account, st.ObservedAt), st.Tags)
	if err != nil {
		d.log.Warn("settings after the change", "rule_id", f.RuleID, "resource_id", st.Key.ResourceID, "error", err)
	}
	for _, v := range vals {
		s := alert.Setting{Path: v.Label, Known: f.BeforeKnown, After: v.Value}
		if f.BeforeKnown {
			s.Before = f.Before[v.Label]
		}
		af.Settings = append(af.Settings, s)
	}
	return af
}

// note is the one-line thread summary of an update.
func note(opened, resolved []string, cause alert.Cause) string {
	var parts []string
	if len(opened) > 0 {
		parts = append(parts, "now failing: "+strings.Join(opened, ", "))
	}
	if len(resolved) > 0 {
		parts = append(parts, "resolved: "+strings.Join(resolved, ", "))
	}
	if len(parts) == 0 {
		return ""
	}
	who := cause.Actor.Name
	if who == "" {
		who = cause.Actor.Principal
	}
	s := strings.Join(parts, "; ")
	if cause.Operation != "" {
		s += " (" + cause.Operation
		if who != "" {
			s += " by " + who
		}
		s += ")"
	}
	return s
}

func firstNonEmpty(s ...string) string {
	for _, x := range s {
		if x != "" {
			return x
		}
	}
	return ""
}

// suppressed reports whether a rule fails under an accepted risk: the alert
// lists it as accepted, not as resolved.
func suppressed(st store.ResourceState, ruleID string) bool {
	for _, e := range st.Evaluations {
		if e.RuleID == ruleID {
			return e.Status == posture.Suppressed
		}
	}
	return false
}
