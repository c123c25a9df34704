package slackalert_test

import (
	"context"
	"fmt"
	"time"

	"github.com/driftwatch/driftwatch/shared/alert"
	"github.com/driftwatch/driftwatch/shared/change"
	"github.com/driftwatch/driftwatch/shared/posture"
	"github.com/driftwatch/driftwatch/shared/slackalert"
	"github.com/driftwatch/driftwatch/shared/slackalert/slackrec"
)

// Example posts an alert to a local recording Slack server, resolves it in
// place and prints what the channel shows, the way `make demo` does.
func Example() {
	rec := slackrec.Start()
	defer rec.Close()
	n, err := slackalert.New(rec.Client("xoxb-demo"), "C0DEMO", nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	at := time.Date(2025, 3, 14, 2, 58, 41, 0, time.UTC)
	rule := alert.Finding{
		RuleID: "aws_s3_bucket_acl_no_public_grants", Title: "S3 bucket ACL grants access to everyone",
		Severity: posture.Critical, Controls: []string{"PCI DSS 4.0 1.3.1"},
		Settings:    []alert.Setting{{Path: "acl.grants[AllUsers]", Before: "none", After: "READ", Known: true}},
		Remediation: "Set the bucket ACL back to private.",
	}
	a := alert.Alert{
		State:    alert.Open,
		Resource: change.ResourceRef{Cloud: change.AWS, Type: "AWS::S3::Bucket", ID: "arn:aws:s3:::exports", Name: "exports", Account: "111122223333", Region: "eu-west-1"},
		Cause: alert.Cause{EventID: "evt-1", Operation: "PutBucketAcl", Time: at,
			Actor: change.Actor{Name: "alice", Type: "IAMUser", Via: "cli", SourceIP: "203.0.113.7"}},
		Failing:  []alert.Finding{rule},
		OpenedAt: at,
	}
	ctx := context.Background()
	ref, err := n.Post(ctx, a)
	if err != nil {
		fmt.Println(err)
		return
	}
	a.State, a.Failing, a.Resolved = alert.Resolved, nil, []alert.Finding{rule}
	a.Cause = alert.Cause{EventID: "evt-2", Operation: "PutBucketAcl", Time: at.Add(18 * time.Minute),
		Actor: change.Actor{Name: "bob", Type: "IAMUser", Via: "console"}}
	a.Note = "aws_s3_bucket_acl_no_public_grants resolved by bob"
	if err := n.Update(ctx, ref, a); err != nil {
		fmt.Println(err)
		return
	}

	msg, _ := rec.Message(ref.TS)
	out, err := slackrec.RenderTerminal(msg.Blocks, &slackrec.TerminalOptions{Color: false})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("message %s, %d update(s):\n%s", msg.TS, msg.Updates, out)
	for _, r := range rec.Replies(ref.TS) {
		fmt.Println("thread:", r.Text)
	}
	// Output:
	// message 1700000000.000100, 1 update(s):
	// ✅ RESOLVED · S3 bucket ACL grants access to everyone
	//   Resource: exports
	//   Type: AWS::S3::Bucket
	//   Account: 111122223333
	//   Region: eu-west-1
	//   ID: arn:aws:s3:::exports
	//   Resolved by: bob (IAMUser) via the console
	//   Operation: PutBucketAcl · 2025-03-14 03:16 UTC
	// ────────────────────────────────────────────────────────────
	//   Resolved rules
	//   • ✅ S3 bucket ACL grants access to everyone aws_s3_bucket_acl_no_public_grants was CRITICAL
	//   Opened 2025-03-14 02:58 UTC · Resolved 2025-03-14 03:16 UTC · Event evt-2
	// thread: aws_s3_bucket_acl_no_public_grants resolved by bob
}
