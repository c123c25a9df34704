package governance

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/driftwatch/driftwatch/shared/change"
	"github.com/driftwatch/driftwatch/shared/posture"
	"github.com/driftwatch/driftwatch/shared/store"
)

// groupDirectory is an in-test Directory: Directory is this package's own
// one-method interface (the Slack side implements it with slack-go), so a
// map stands in for Slack's user groups here. It counts calls so tests can
// show when Slack would not be asked.
type groupDirectory struct {
	groups map[string][]string
	err    error
	calls  int
}

func (g *groupDirectory) UserGroups(_ context.Context, slackUser string) ([]string, error) {
	g.calls++
	if g.err != nil {
		return nil, g.err
	}
	return g.groups[slackUser], nil
}

func TestAuthorize(t *testing.T) {
	p := loadExample(t)
	noMatchEmail := mustParse(t, `version: 1
defaults: {mode: approve, match_email: false}
approvers: [{severities: [medium], users: [U0CAROL01]}]
`)
	// platform: users U024BE7LH (alice) and U0G9QF9C6 (bob), group
	// S0615G0KT. prod: only group S0614TZR7.
	platform := p.Decide(Input{RuleID: "aws_kms_cmk_rotation_enabled", Action: "kms_enable_rotation", Severity: posture.Medium, Account: otherAccount})
	prod := p.Decide(Input{RuleID: "aws_ec2_sg_no_public_ingress_tcp_22", Action: "ec2_revoke_public_ingress", Severity: posture.High, Account: prodAccount})
	nobody := Default().Decide(Input{RuleID: "r", Action: "a", Severity: posture.High, Account: otherAccount})
	carolDecision := noMatchEmail.Decide(Input{RuleID: "r", Action: "a", Severity: posture.Medium, Account: otherAccount})

	alice := Clicker{SlackUser: "U024BE7LH", Name: "alice", Email: "alice@example.com"}
	bob := Clicker{SlackUser: "U0G9QF9C6", Name: "bob", Email: "bob@example.com"}
	carol := Clicker{SlackUser: "U0CAROL01", Name: "carol", Email: "Carol@Example.com"}
	dave := Clicker{SlackUser: "U0DAVE001", Name: "dave"}
	someoneElse := change.Actor{Principal: "arn:aws:iam::111111111111:user/erin", Type: "IAMUser", Name: "erin"}
	dirErr := errors.New("slack: ratelimited")
	groups := map[string][]string{
		"U0CAROL01": {"S0OTHER01", "S0615G0KT"},
		"U0DAVE001": {"S0614TZR7"},
	}

	for _, tc := range []struct {
		name     string
		policy   *Policy
		d        Decision
		c        Clicker
		causedBy change.Actor
		dirErr   error
		noDir    bool
		already  []store.Approval
		want     error  // nil, a sentinel, or dirErr
		reason   string // the denial's reason
		calls    int    // directory calls expected
	}{
		{name: "a listed user, without asking Slack", d: platform, c: alice, causedBy: someoneElse},
		{name: "a member of a listed group", d: platform, c: carol, causedBy: someoneElse, calls: 1},
		{name: "a member of the only group", d: prod, c: dave, causedBy: someoneElse, calls: 1},
		{
			name: "not in any listed group", d: prod, c: carol, causedBy: someoneElse, calls: 1,
			want: ErrNotApprover, reason: "you are not one of the approvers of this fix",
		},
		{
			name: "not a listed user and no groups to check", d: carolDecision, c: dave, causedBy: someoneElse, policy: noMatchEmail,
			want: ErrNotApprover, reason: "you are not one of the approvers of this fix",
		},
		{
			name: "nobody is an approver", d: nobody, c: alice, causedBy: someoneElse, policy: Default(),
			want: ErrNotApprover, reason: "no approvers are configured for this finding",
		},
		{
			name: "an unidentified clicker", d: platform, c: Clicker{Name: "ghost"}, causedBy: someoneElse,
			want: ErrNotApprover, reason: "your Slack user could not be identified",
		},
		{
			name: "self-approval: identities map the Slack user to the IAM user ARN", d: platform, c: alice,
			causedBy: change.Actor{Principal: "arn:aws:iam::111111111111:user/alice", Type: "IAMUser", Name: "alice"},
			want:     ErrSelfApproval, reason: "you made this change (your Slack user acts as arn:aws:iam::111111111111:user/alice): someone else must approve it",
		},
		{
			name: "self-approval: identities map the Slack user to the session name", d: platform, c: bob,
			causedBy: change.Actor{Principal: "arn:aws:sts::111111111111:assumed-role/Deploy/bob", Type: "AssumedRole", Name: "Deploy/bob",
				SessionIssuer: "arn:aws:iam::111111111111:role/Deploy"},
			want: ErrSelfApproval, reason: "you made this change (your Slack user acts as bob): someone else must approve it",
		},
		{
			name: "self-approval: identities map the Slack user to the role", d: platform, c: bob,
			causedBy: change.Actor{Principal: "arn:aws:sts::111111111111:assumed-role/BreakGlass/session-1", Type: "AssumedRole", Name: "BreakGlass/session-1",
				SessionIssuer: "arn:aws:iam::111111111111:role/BreakGlass"},
			want: ErrSelfApproval, reason: "you made this change (your Slack user acts as arn:aws:iam::111111111111:role/BreakGlass): someone else must approve it",
		},
		{
			name: "self-approval: the Slack email is the Identity Center session name, in another case", d: platform, c: carol,
			causedBy: change.Actor{Principal: "arn:aws:sts::111111111111:assumed-role/AWSReservedSSO_Admin_0123abcd/carol@example.com",
				Type: "AssumedRole", Name: "carol@example.com", SessionIssuer: "arn:aws:iam::111111111111:role/aws-reserved/sso.amazonaws.com/AWSReservedSSO_Admin_0123abcd"},
			want: ErrSelfApproval, reason: "you made this change (as Carol@Example.com): someone else must approve it",
		},
		{
			name: "self-approval is checked before asking Slack", d: prod, c: dave,
			causedBy: change.Actor{Principal: "arn:aws:iam::111111111111:user/dave", Name: "dave"},
			policy: mustParse(t, `version: 1
approvers: [{severities: [high], groups: [S0614TZR7]}]
identities: [{slack: U0DAVE001, principals: [dave]}]
`),
			want: ErrSelfApproval, reason: "you made this change (your Slack user acts as dave): someone else must approve it",
		},
		{
			name: "match_email: false ignores the email", d: carolDecision, c: carol, policy: noMatchEmail,
			causedBy: change.Actor{Principal: "arn:aws:sts::111111111111:assumed-role/AWSReservedSSO_Admin_0123abcd/carol@example.com", Name: "carol@example.com"},
		},
		{
			name: "another person's email does not match", d: platform, c: alice,
			causedBy: change.Actor{Principal: "arn:aws:sts::111111111111:assumed-role/AWSReservedSSO_Admin_0123abcd/alice@example.org", Name: "alice@example.org"},
		},
		{
			name: "an unknown email never matches an actor without a name", d: platform, c: Clicker{SlackUser: "U0G9QF9C6"},
			causedBy: change.Actor{Principal: "AIDAEXAMPLE"},
		},
		{
			name: "the same person twice", d: platform, c: alice, causedBy: someoneElse,
			already: []store.Approval{{SlackUser: "U024BE7LH", Name: "alice", At: tueNoon}},
			want:    ErrAlreadyApproved, reason: "you already approved this fix; the second approval must come from someone else",
		},
		{
			name: "a second, different approver", d: platform, c: bob, causedBy: someoneElse,
			already: []store.Approval{{SlackUser: "U024BE7LH", Name: "alice", At: tueNoon}},
		},
		{name: "the directory's error", d: platform, c: carol, causedBy: someoneElse, dirErr: dirErr, calls: 1, want: dirErr},
	} {
		t.Run(tc.name, func(t *testing.T) {
			pol := p
			if tc.policy != nil {
				pol = tc.policy
			}
			dir := &groupDirectory{groups: groups, err: tc.dirErr}
			err := pol.Authorize(context.Background(), tc.d, tc.c, tc.causedBy, dir, tc.already)
			switch {
			case tc.want == nil && err != nil:
				t.Fatalf("Authorize = %v, want nil", err)
			case tc.want != nil && !errors.Is(err, tc.want):
				t.Fatalf("Authorize = %v, want %v", err, tc.want)
			}
			var den *Denial
			isDenial := errors.As(err, &den)
			switch {
			case tc.reason != "" && (!isDenial || den.Reason != tc.reason):
				t.Errorf("Authorize = %v, want a denial with reason %q", err, tc.reason)
			case tc.reason == "" && isDenial:
				t.Errorf("Authorize = %v, want no denial", err)
			}
			if dir.calls != tc.calls {
				t.Errorf("directory called %d times, want %d", dir.calls, tc.calls)
			}
		})
	}
}

// TestAuthorizeWithoutDirectory: a nil directory is fine while users
// decide, and an error (not a denial) when a group would have to be
// checked.
func TestAuthorizeWithoutDirectory(t *testing.T) {
	p := loadExample(t)
	d := p.Decide(Input{RuleID: "aws_kms_cmk_rotation_enabled", Action: "kms_enable_rotation", Severity: posture.Medium, Account: otherAccount, Now: time.Now()})
	actor := change.Actor{Principal: "arn:aws:iam::111111111111:user/erin", Name: "erin"}
	if err := p.Authorize(context.Background(), d, Clicker{SlackUser: "U024BE7LH"}, actor, nil, nil); err != nil {
		t.Errorf("listed user, nil directory: %v", err)
	}
	err := p.Authorize(context.Background(), d, Clicker{SlackUser: "U0CAROL01"}, actor, nil, nil)
	var den *Denial
	if err == nil || errors.As(err, &den) {
		t.Errorf("group check, nil directory: %v, want an error that is not a denial", err)
	}
}

// TestDenialError: the error text carries the sentinel for logs.
func TestDenialError(t *testing.T) {
	err := error(&Denial{Reason: "you are not one of the approvers of this fix", Err: ErrNotApprover})
	if got, want := err.Error(), "denied (not an approver): you are not one of the approvers of this fix"; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
}
