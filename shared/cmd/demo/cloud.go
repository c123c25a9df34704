package main

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/driftwatch/driftwatch/shared/slackalert/slackrec"
	"github.com/driftwatch/driftwatch/shared/store"
)

// postureReader is what the Azure and GCP parts read from the shared table.
type postureReader interface {
	Load(ctx context.Context, key store.Key) (store.ResourceState, []store.Finding, error)
	Audit(ctx context.Context, key store.Key) ([]store.AuditEntry, error)
}

// milestone is one line of a part's timeline.
type milestone struct {
	at   time.Duration // since the part started
	what string
	took time.Duration
}

// cloudPart is what the Azure and GCP parts of the demo share: the
// resource the scenario is about, the rule it fails, the shared posture
// table and the part's timeline.
type cloudPart struct {
	*demo
	cloud  string // "Azure", "GCP"
	st     postureReader
	key    store.Key
	name   string // the resource's name, as alerts show it
	ruleID string // the rule the drift fails
	// earlier names the clouds whose functions wrote the same table before.
	earlier string
	start   time.Time
	history []milestone
}

func (p *cloudPart) mark(what string, took time.Duration) {
	p.history = append(p.history, milestone{at: time.Since(p.start), what: what, took: took})
}

// alerts returns the top-level messages naming the resource, in post
// order.
func (p *cloudPart) alerts() []slackrec.Message {
	var out []slackrec.Message
	for _, c := range p.slack.Calls() {
		if c.Method != slackrec.MethodPostMessage || c.ThreadTS != "" || !c.OK() {
			continue
		}
		if m, ok := p.slack.Message(c.TS); ok && strings.Contains(string(m.Blocks), p.name) {
			out = append(out, m)
		}
	}
	return out
}

// awaitAlert waits until the alert ts was updated past its update count
// then and reads as resolved (a fix) or failing again (an undo).
func (p *cloudPart) awaitAlert(ctx context.Context, ts string, then int, undo bool) error {
	updated := func() bool {
		m, ok := p.slack.Message(ts)
		return ok && m.Updates > then && resolved(m) == !undo
	}
	if err := waitFor(ctx, 10*time.Second, updated); err != nil {
		state := "RESOLVED"
		if undo {
			state = "reopened"
		}
		return fmt.Errorf("the alert %s was not updated in place to %s", ts, state)
	}
	return nil
}

// checkFinding checks the drift's finding status in the shared table.
func (p *cloudPart) checkFinding(ctx context.Context, want store.FindingStatus) error {
	_, findings, err := p.st.Load(ctx, p.key)
	if err != nil {
		return fmt.Errorf("read %s's posture: %w", p.name, err)
	}
	for _, f := range findings {
		if f.RuleID == p.ruleID {
			if f.Status != want {
				return fmt.Errorf("finding %s is %s in the table, want %s", p.ruleID, f.Status, want)
			}
			fmt.Printf("  DynamoDB: finding %s is %s\n", p.ruleID, f.Status)
			return nil
		}
	}
	return fmt.Errorf("no %s finding in the table for %s", p.ruleID, p.key.ResourceID)
}

func (p *cloudPart) printAudit(ctx context.Context) error {
	entries, err := p.st.Audit(ctx, p.key)
	if err != nil {
		return err
	}
	fmt.Printf("\n  Audit log of %s (the same append-only table as %s):\n", p.name, p.earlier)
	for _, e := range entries {
		fmt.Printf("    %s  %-22s %-28s %s\n", e.At.UTC().Format("15:04:05"), e.Kind, e.Who, e.What)
	}
	return nil
}

func (p *cloudPart) printTimeline() {
	fmt.Printf("\n  Timeline (%s)\n", p.cloud)
	for _, m := range p.history {
		fmt.Printf("    %8s  %-62s %8s\n", "+"+strconv.FormatFloat(m.at.Seconds(), 'f', 2, 64)+"s", m.what, m.took.Round(time.Millisecond))
	}
}

// fixPath is how a cloud's part follows an approved fix or undo: the
// remediation topic it travels on and the live resource it changes.
type fixPath struct {
	// published counts the requests the topic has received so far.
	published func() int
	// wait returns once every request published was handled.
	wait func(ctx context.Context) error
	// delivered prints the one delivery made since before and reports
	// whether the function handled it at once.
	delivered func(before int, undo bool) error
	// require checks the live resource after a fix (undo false) or an
	// undo.
	require func(ctx context.Context, undo bool) error
	// missing says why no request reached the topic.
	missing string
	// fixed and undone name the two milestones.
	fixed, undone string
}

// remediate clicks action on the alert ts as user and follows the request
// along path: one delivery handled at once, the resource fixed (or
// restored), the alert resolved (or reopened) in place, the finding's
// status in the table.
func (p *cloudPart) remediate(ctx context.Context, path fixPath, user, action, ts string, undo bool) error {
	before := path.published()
	msg, _ := p.slack.Message(ts)
	start := time.Now()
	acked, err := p.clickOnly(ctx, user, action, ts)
	if err != nil {
		return err
	}
	// The topic delivers in the background; a failed publish is told to
	// the clicker at once.
	published := func() bool { return path.published() > before }
	if err := waitFor(ctx, 30*time.Second, func() bool { return published() || p.ephemeralTo(user, "could not be sent") }); err != nil || !published() {
		_ = p.showNew()
		return errors.New(path.missing)
	}
	wctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := path.wait(wctx); err != nil {
		return fmt.Errorf("%w (see the %s function log)", err, p.cloud)
	}
	delivered := time.Since(start)
	if err := path.delivered(before, undo); err != nil {
		return err
	}
	if err := path.require(ctx, undo); err != nil {
		return err
	}
	// The function updates the alert before it acknowledges the request;
	// the interactivity function's own acknowledgement may land after it.
	if err := p.awaitAlert(ctx, ts, msg.Updates, undo); err != nil {
		return err
	}
	if err := p.showNew(); err != nil {
		return err
	}
	status, what := store.FindingResolved, path.fixed
	if undo {
		status, what = store.FindingOpen, path.undone
	}
	if err := p.checkFinding(ctx, status); err != nil {
		return err
	}
	total := time.Since(start)
	fmt.Printf("  ⏱  click answered in %s · remediation request handled %s after the click · alert updated %s after the click\n",
		acked.Round(time.Millisecond), delivered.Round(time.Millisecond), total.Round(time.Millisecond))
	p.mark(what, total)
	return nil
}
