package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/driftwatch/driftwatch/shared/internal/awsdemo"
	"github.com/driftwatch/driftwatch/shared/internal/procgroup"
	"github.com/driftwatch/driftwatch/shared/slackalert"
	"github.com/driftwatch/driftwatch/shared/store"
)

// signingSecret is the demo Slack app's signing secret: the interactivity
// endpoint verifies every click against it.
const signingSecret = "demo-signing-secret-not-a-secret"

// demoUsers are the Slack workspace's people.
var demoUsers = []struct{ id, name, email string }{
	{"U0ALICE", "alice", "alice@example.com"}, // developer; made the console changes
	{"U0BOB", "bob", "bob@example.com"},       // developer; made the CLI changes
	{"U0CAROL", "carol", "carol@example.com"}, // platform lead: an approver
	{"U0DAVE", "dave", "dave@example.com"},    // @secops: an approver through the group
}

// startInteractivity runs the interactivity binary as a local HTTP server
// (DRIFTWATCH_LISTEN) and waits until it accepts connections.
func startInteractivity(ctx context.Context, bin string, env []string, logw io.Writer) (string, func(), error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, err
	}
	addr := l.Addr().String()
	l.Close()
	cmd := exec.Command(bin)
	cmd.Env = append(append(os.Environ(), env...), "DRIFTWATCH_LISTEN="+addr)
	cmd.Stdout, cmd.Stderr = logw, logw
	procgroup.Isolate(cmd)
	if err := cmd.Start(); err != nil {
		return "", nil, fmt.Errorf("start %s: %w", bin, err)
	}
	stop := func() { procgroup.Stop(cmd, 5*time.Second) }
	deadline := time.Now().Add(15 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond)
		if err == nil {
			c.Close()
			return "http://" + addr + "/", stop, nil
		}
		if ctx.Err() != nil || time.Now().After(deadline) {
			stop()
			return "", nil, fmt.Errorf("the interactivity function did not listen on %s (see the function log)", addr)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// runRemediator delivers what the driftwatch bus routed to the remediator
// (automatic fixes, approved fixes, undo requests) and shows the result.
func (d *demo) runRemediator(ctx context.Context) error {
	_, err := d.bus.Drain(ctx, func(ctx context.Context, ev events.EventBridgeEvent, raw []byte) error {
		var req struct {
			Op            string `json:"op"`
			RemediationID string `json:"remediation_id"`
			By            string `json:"by"`
		}
		_ = json.Unmarshal(ev.Detail, &req)
		fmt.Printf("  ⚙️  EventBridge %s → remediator: %s %s (asked by %s)\n", ev.DetailType, req.Op, req.RemediationID, req.By)
		out, err := d.remediator.Invoke(ctx, raw)
		if err != nil {
			return fmt.Errorf("remediator: %w", err)
		}
		if len(out) > 0 && string(out) != "null" {
			fmt.Printf("     remediator answered %s\n", out)
		}
		return d.showSlack()
	})
	return err
}

// clicker names the user behind a recorded response_url.
func (d *demo) clicker(path string) string {
	for _, u := range demoUsers {
		if strings.Contains(path, "-"+u.id+"-") {
			return u.name
		}
	}
	return "the clicker"
}

// click posts a signed button click on message ts as user, like Slack.
func (d *demo) click(ctx context.Context, user, actionID, ts string) error {
	m, ok := d.slack.Message(ts)
	if !ok {
		return fmt.Errorf("message %s not found", ts)
	}
	ref, err := awsdemo.ButtonRef(m.Blocks, actionID)
	if err != nil {
		return err
	}
	d.clicks++
	respID := "click-" + user + "-" + strconv.Itoa(d.clicks)
	c := awsdemo.Click{User: user, ActionID: actionID, Ref: ref, Channel: m.Channel, TS: m.TS,
		ResponseURL: d.slack.ResponseURL(respID), TriggerID: "trigger-" + strconv.Itoa(d.clicks),
		Team: "T0DRIFT", AppID: "A0DRIFT", ActionTimestamp: time.Now()}
	req, err := awsdemo.SignedRequest(d.interact, signingSecret, c.Payload(), time.Now())
	if err != nil {
		return err
	}
	start := time.Now()
	resp, err := http.DefaultClient.Do(req.WithContext(ctx))
	if err != nil {
		return fmt.Errorf("click: %w", err)
	}
	resp.Body.Close()
	fmt.Printf("  Slack → interactivity: signed click, HTTP %d in %s\n", resp.StatusCode, time.Since(start).Round(time.Millisecond))
	if err := d.showSlack(); err != nil {
		return err
	}
	return d.runRemediator(ctx)
}

func (d *demo) chatops(ctx context.Context, st store.Governance) error {
	var bucketTS string
	for _, m := range d.slack.Messages() {
		if m.ThreadTS == "" && strings.Contains(string(m.Blocks), "aws_s3_bucket_acl_no_public_grants") {
			bucketTS = m.TS
		}
	}
	if bucketTS == "" {
		return fmt.Errorf("no alert about the public bucket ACL")
	}
	steps := []struct {
		title, user, action string
	}{
		{"alice clicks Remediate on the alert about her own change", "U0ALICE", slackalert.RemediateActionID},
		{"bob, who is not an approver, clicks Remediate", "U0BOB", slackalert.RemediateActionID},
		{"carol (an approver) clicks Remediate and confirms", "U0CAROL", slackalert.RemediateActionID},
		{"carol clicks Undo: the previous ACL comes back", "U0CAROL", slackalert.UndoActionID},
	}
	for _, s := range steps {
		fmt.Printf("\n▶ %s\n", s.title)
		if err := d.click(ctx, s.user, s.action, bucketTS); err != nil {
			return fmt.Errorf("%s: %w", s.title, err)
		}
	}
	m, _ := d.slack.Message(bucketTS)
	key := store.Key{Cloud: "aws", Account: "123456789012", ResourceID: "arn:aws:s3:::" + d.env.Vars["BUCKET"]}
	entries, err := st.Audit(ctx, key)
	if err != nil {
		return err
	}
	fmt.Printf("\n  Audit log of %s (append-only; what an auditor exports):\n", d.env.Vars["BUCKET"])
	for _, e := range entries {
		fmt.Printf("    %s  %-22s %-28s %s\n", e.At.UTC().Format("15:04:05"), e.Kind, e.Who, e.What)
	}
	fmt.Printf("\n  The bucket alert (%s) was updated %d time(s) in place and has %d thread replies.\n", bucketTS, m.Updates, len(d.slack.Replies(bucketTS)))
	return nil
}
