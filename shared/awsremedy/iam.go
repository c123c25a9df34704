package awsremedy

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	iamtypes "github.com/aws/aws-sdk-go-v2/service/iam/types"

	"github.com/driftwatch/driftwatch/shared/awsres"
	"github.com/driftwatch/driftwatch/shared/change"
	"github.com/driftwatch/driftwatch/shared/remediation"
)

func userFromDoc(d *awsres.IAMUser) loc {
	return loc{Name: d.Name, Account: accountOfARN(d.ARN)}
}

func userFromRef(ref change.ResourceRef, _ string) loc {
	return loc{Name: refName(ref), Account: firstNonEmpty(ref.Account, accountOfARN(ref.ID))}
}

// accessKeysAPI is what iam_deactivate_access_key calls.
type accessKeysAPI interface {
	ListAccessKeys(ctx context.Context, in *iam.ListAccessKeysInput, optFns ...func(*iam.Options)) (*iam.ListAccessKeysOutput, error)
	GetAccessKeyLastUsed(ctx context.Context, in *iam.GetAccessKeyLastUsedInput, optFns ...func(*iam.Options)) (*iam.GetAccessKeyLastUsedOutput, error)
	UpdateAccessKey(ctx context.Context, in *iam.UpdateAccessKeyInput, optFns ...func(*iam.Options)) (*iam.UpdateAccessKeyOutput, error)
}

// idleKeys selects the keys iam_deactivate_access_key deactivates: Active
// keys unused for AccessKeyUnusedAfter or longer, counted from the last use
// or, for a key never used, from its creation. This is exactly the failing
// side of aws_iam_user_access_key_unused_45d, the rule that names the
// action. Keys that are merely old but in use (the 90-day rotation rule)
// are never selected: deactivating a key in use breaks its consumers, which
// is why that rule offers guidance only.
func idleKeys(keys []awsres.AccessKey, now time.Time) []awsres.AccessKey {
	var out []awsres.AccessKey
	for _, k := range keys {
		if k.Status == string(iamtypes.StatusTypeActive) && idleFor(k, now) >= AccessKeyUnusedAfter {
			out = append(out, k)
		}
	}
	return out
}

func idleFor(k awsres.AccessKey, now time.Time) time.Duration {
	if k.Used {
		return now.Sub(k.LastUsed)
	}
	return now.Sub(k.Created)
}

func describeKey(k awsres.AccessKey, now time.Time) string {
	days := int(idleFor(k, now).Hours() / 24)
	if k.Used {
		return fmt.Sprintf("%s (last used %s, %d days ago)", k.ID, k.LastUsed.UTC().Format(time.DateOnly), days)
	}
	return fmt.Sprintf("%s (never used, created %s, %d days ago)", k.ID, k.Created.UTC().Format(time.DateOnly), days)
}

// listKeys reads a user's access keys; with lastUsed, also when each
// Active key was last used.
func listKeys(ctx context.Context, c accessKeysAPI, user string, lastUsed bool) ([]awsres.AccessKey, error) {
	var keys []awsres.AccessKey
	p := iam.NewListAccessKeysPaginator(c, &iam.ListAccessKeysInput{UserName: aws.String(user)})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, err
		}
		for _, k := range page.AccessKeyMetadata {
			ak := awsres.AccessKey{ID: aws.ToString(k.AccessKeyId), Status: string(k.Status)}
			if k.CreateDate != nil {
				ak.Created = k.CreateDate.UTC()
			}
			keys = append(keys, ak)
		}
	}
	if !lastUsed {
		return keys, nil
	}
	// A user has at most two keys: reading them one after the other costs
	// no more than a fan-out would.
	for i, k := range keys {
		if k.Status != string(iamtypes.StatusTypeActive) {
			continue
		}
		out, err := c.GetAccessKeyLastUsed(ctx, &iam.GetAccessKeyLastUsedInput{AccessKeyId: aws.String(k.ID)})
		if err != nil {
			return nil, fmt.Errorf("access key %s last used: %w", k.ID, err)
		}
		if lu := out.AccessKeyLastUsed; lu != nil && lu.LastUsedDate != nil {
			keys[i].LastUsed, keys[i].Used = lu.LastUsedDate.UTC(), true
		}
	}
	return keys, nil
}

// iamDeactivateAccessKey deactivates (never deletes) the user's Active
// access keys that have gone unused for 45 days or more (see idleKeys). The
// snapshot is the ids it deactivated; Undo activates exactly those again.
// When one deactivation fails, the keys already deactivated are activated
// again before the error is returned.
func iamDeactivateAccessKey(b *builder) remediation.Action {
	perms := []string{"iam:GetAccessKeyLastUsed", "iam:ListAccessKeys", "iam:UpdateAccessKey"}
	now := b.opts.Now
	setStatus := func(ctx context.Context, c accessKeysAPI, user, id string, s iamtypes.StatusType) error {
		_, err := c.UpdateAccessKey(ctx, &iam.UpdateAccessKeyInput{UserName: aws.String(user), AccessKeyId: aws.String(id), Status: s})
		if err != nil {
			return fmt.Errorf("set access key %s %s: %w", id, s, err)
		}
		return nil
	}
	return &action[awsres.IAMUser, []string, accessKeysAPI]{
		name: IAMDeactivateAccessKey, resourceType: awsres.TypeIAMUser, service: iam.ServiceID, perms: perms, opts: &b.opts,
		clients: newRegional(b.iam(IAMDeactivateAccessKey, perms), func(c *iam.Client) accessKeysAPI { return c }),
		fromDoc: userFromDoc, fromRef: userFromRef,
		plan: func(d *awsres.IAMUser) (remediation.Plan, error) {
			t := now()
			idle := idleKeys(d.AccessKeys, t)
			if len(idle) == 0 {
				return remediation.Plan{Noop: true, Change: "IAM user " + d.Name + " has no active access key unused for 45 days or more"}, nil
			}
			desc := make([]string, len(idle))
			for i, k := range idle {
				desc[i] = describeKey(k, t)
			}
			return remediation.Plan{Change: fmt.Sprintf("Deactivate, without deleting, %s of IAM user %s unused for 45 days or more: %s; the user's other keys stay as they are",
				plural(len(idle), "access key", "access keys"), d.Name, strings.Join(desc, ", "))}, nil
		},
		apply: func(ctx context.Context, c accessKeysAPI, l loc) ([]string, bool, error) {
			keys, err := listKeys(ctx, c, l.Name, true)
			if err != nil {
				return nil, false, err
			}
			done := []string{}
			for _, k := range idleKeys(keys, now()) {
				if err := setStatus(ctx, c, l.Name, k.ID, iamtypes.StatusTypeInactive); err != nil {
					// Leave the user as it was: activate again what this
					// call deactivated.
					var rollback []error
					for _, id := range done {
						if rerr := setStatus(ctx, c, l.Name, id, iamtypes.StatusTypeActive); rerr != nil {
							rollback = append(rollback, rerr)
						}
					}
					if len(rollback) > 0 {
						return nil, false, errors.Join(err, fmt.Errorf("activating again the keys already deactivated also failed: %w", errors.Join(rollback...)))
					}
					return nil, false, err
				}
				done = append(done, k.ID)
			}
			return done, len(done) > 0, nil
		},
		undo: func(ctx context.Context, c accessKeysAPI, l loc, before []string) error {
			keys, err := listKeys(ctx, c, l.Name, false)
			if err != nil {
				return err
			}
			var gone []string
			for _, id := range before {
				i := slices.IndexFunc(keys, func(k awsres.AccessKey) bool { return k.ID == id })
				switch {
				case i < 0:
					gone = append(gone, id)
				case keys[i].Status != string(iamtypes.StatusTypeActive):
					if err := setStatus(ctx, c, l.Name, id, iamtypes.StatusTypeActive); err != nil {
						return err
					}
				}
			}
			if len(gone) > 0 {
				return fmt.Errorf("%w: access %s %s of user %s deleted since: cannot activate", ErrNotFound,
					map[bool]string{true: "key", false: "keys"}[len(gone) == 1], joinAnd(gone), l.Name)
			}
			return nil
		},
	}
}

// What iam_update_password_policy requires: the thresholds of the rules
// that name it (aws_iam_password_policy_min_length_14 and
// aws_iam_password_policy_reuse_prevention_24).
const (
	minPasswordLength      = 14
	passwordReusePrevented = 24
)

// passwordPolicy is the account password policy, or none.
type passwordPolicy struct {
	Configured                 bool  `json:"configured"`
	MinimumLength              int32 `json:"minimum_length"`
	RequireSymbols             bool  `json:"require_symbols"`
	RequireNumbers             bool  `json:"require_numbers"`
	RequireUppercase           bool  `json:"require_uppercase"`
	RequireLowercase           bool  `json:"require_lowercase"`
	MaxAgeDays                 int32 `json:"max_age_days"`
	ReusePrevention            int32 `json:"reuse_prevention"`
	AllowUsersToChangePassword bool  `json:"allow_users_to_change_password"`
	HardExpiry                 bool  `json:"hard_expiry"`
}

func (p passwordPolicy) complies() bool {
	return p.Configured && p.MinimumLength >= minPasswordLength && p.ReusePrevention >= passwordReusePrevented
}

// input is the UpdateAccountPasswordPolicy call that sets p. The call
// replaces the whole policy, so every field is passed; zero ages and reuse
// counts mean "not set", which IAM expresses by leaving them out.
func (p passwordPolicy) input() *iam.UpdateAccountPasswordPolicyInput {
	in := &iam.UpdateAccountPasswordPolicyInput{
		MinimumPasswordLength:      aws.Int32(p.MinimumLength),
		RequireSymbols:             p.RequireSymbols,
		RequireNumbers:             p.RequireNumbers,
		RequireUppercaseCharacters: p.RequireUppercase,
		RequireLowercaseCharacters: p.RequireLowercase,
		AllowUsersToChangePassword: p.AllowUsersToChangePassword,
		HardExpiry:                 aws.Bool(p.HardExpiry),
	}
	if p.MaxAgeDays > 0 {
		in.MaxPasswordAge = aws.Int32(p.MaxAgeDays)
	}
	if p.ReusePrevention > 0 {
		in.PasswordReusePrevention = aws.Int32(p.ReusePrevention)
	}
	return in
}

// passwordPolicyAPI is what iam_update_password_policy calls.
type passwordPolicyAPI interface {
	GetAccountPasswordPolicy(ctx context.Context, in *iam.GetAccountPasswordPolicyInput, optFns ...func(*iam.Options)) (*iam.GetAccountPasswordPolicyOutput, error)
	UpdateAccountPasswordPolicy(ctx context.Context, in *iam.UpdateAccountPasswordPolicyInput, optFns ...func(*iam.Options)) (*iam.UpdateAccountPasswordPolicyOutput, error)
	DeleteAccountPasswordPolicy(ctx context.Context, in *iam.DeleteAccountPasswordPolicyInput, optFns ...func(*iam.Options)) (*iam.DeleteAccountPasswordPolicyOutput, error)
}

// iamUpdatePasswordPolicy raises the account password policy's minimum
// length to 14 and its reuse prevention to 24, keeping every other setting
// (a policy with stricter values keeps them). Without a policy it creates
// one with those two settings and IAM's defaults for the rest. Undo puts the
// previous policy back, or deletes the policy when there was none.
func iamUpdatePasswordPolicy(b *builder) remediation.Action {
	perms := []string{"iam:DeleteAccountPasswordPolicy", "iam:GetAccountPasswordPolicy", "iam:UpdateAccountPasswordPolicy"}
	return &action[awsres.Account, passwordPolicy, passwordPolicyAPI]{
		name: IAMUpdatePasswordPolicy, resourceType: awsres.TypeAccount, service: iam.ServiceID, perms: perms, opts: &b.opts,
		clients: newRegional(b.iam(IAMUpdatePasswordPolicy, perms), func(c *iam.Client) passwordPolicyAPI { return c }),
		fromDoc: accountFromDoc, fromRef: accountFromRef,
		plan: func(d *awsres.Account) (remediation.Plan, error) {
			p := d.PasswordPolicy
			if !p.Configured {
				return remediation.Plan{Change: fmt.Sprintf("Create a password policy for account %s with minimum length %d and password reuse prevention %d "+
					"(there is none now; its other settings take IAM's defaults)", d.ID, minPasswordLength, passwordReusePrevented)}, nil
			}
			var changes []string
			if p.MinimumLength < minPasswordLength {
				changes = append(changes, fmt.Sprintf("minimum length from %d to %d", p.MinimumLength, minPasswordLength))
			}
			if p.ReusePrevention < passwordReusePrevented {
				changes = append(changes, fmt.Sprintf("password reuse prevention from %d to %d", p.ReusePrevention, passwordReusePrevented))
			}
			if len(changes) == 0 {
				return remediation.Plan{Noop: true, Change: fmt.Sprintf("The password policy of account %s already requires %d characters and prevents reusing %d passwords",
					d.ID, p.MinimumLength, p.ReusePrevention)}, nil
			}
			return remediation.Plan{Change: "Set the password policy of account " + d.ID + ": " + joinAnd(changes) + " (its other settings stay)"}, nil
		},
		apply: func(ctx context.Context, c passwordPolicyAPI, _ loc) (passwordPolicy, bool, error) {
			out, err := c.GetAccountPasswordPolicy(ctx, &iam.GetAccountPasswordPolicyInput{})
			configured, err := optional(err)
			if err != nil {
				return passwordPolicy{}, false, err
			}
			var before passwordPolicy
			if configured && out.PasswordPolicy != nil {
				p := out.PasswordPolicy
				before = passwordPolicy{
					Configured:                 true,
					MinimumLength:              aws.ToInt32(p.MinimumPasswordLength),
					RequireSymbols:             p.RequireSymbols,
					RequireNumbers:             p.RequireNumbers,
					RequireUppercase:           p.RequireUppercaseCharacters,
					RequireLowercase:           p.RequireLowercaseCharacters,
					MaxAgeDays:                 aws.ToInt32(p.MaxPasswordAge),
					ReusePrevention:            aws.ToInt32(p.PasswordReusePrevention),
					AllowUsersToChangePassword: p.AllowUsersToChangePassword,
					HardExpiry:                 aws.ToBool(p.HardExpiry),
				}
			}
			if before.complies() {
				return before, false, nil
			}
			after := before
			after.MinimumLength = max(after.MinimumLength, minPasswordLength)
			after.ReusePrevention = max(after.ReusePrevention, passwordReusePrevented)
			_, err = c.UpdateAccountPasswordPolicy(ctx, after.input())
			return before, true, err
		},
		undo: func(ctx context.Context, c passwordPolicyAPI, _ loc, before passwordPolicy) error {
			if !before.Configured {
				_, err := c.DeleteAccountPasswordPolicy(ctx, &iam.DeleteAccountPasswordPolicyInput{})
				if errors.Is(err, ErrNotFound) {
					return nil // already gone
				}
				return err
			}
			_, err := c.UpdateAccountPasswordPolicy(ctx, before.input())
			return err
		},
	}
}
