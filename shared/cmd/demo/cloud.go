package main

import (
	"context"
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
