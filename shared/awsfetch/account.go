package awsfetch

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/driftwatch/driftwatch/shared/awsres"
)

// stsAPI finds the account of the credentials when nothing else names it.
type stsAPI interface {
	GetCallerIdentity(ctx context.Context, in *sts.GetCallerIdentityInput, optFns ...func(*sts.Options)) (*sts.GetCallerIdentityOutput, error)
}

// fetchAccount reads the account-wide settings: S3 account Block Public
// Access, the IAM password policy, the root user's keys and MFA, and every
// trail the account can see (with shadow copies of multi-Region trails, so
// a trail whose home is another Region still counts).
func (f *Fetcher) fetchAccount(ctx context.Context, t target) (observation, error) {
	account, err := f.account(ctx, t)
	if err != nil {
		return observation{}, err
	}
	doc := &awsres.Account{ID: account, Trails: []awsres.TrailSummary{}}
	c := f.iam()
	g := newGroup(ctx, 0)
	g.Go(func(ctx context.Context) (err error) {
		doc.PublicAccessBlock, err = f.accountPublicAccessBlock(ctx, account)
		return err
	})
	g.Go(func(ctx context.Context) error {
		out, err := c.GetAccountPasswordPolicy(ctx, &iam.GetAccountPasswordPolicyInput{})
		switch {
		case errors.Is(err, errNotFound):
			return nil // NoSuchEntity: the account has no password policy.
		case err != nil:
			return fmt.Errorf("password policy: %w", err)
		}
		p := out.PasswordPolicy
		doc.PasswordPolicy = awsres.PasswordPolicy{
			Configured:                 true,
			MinimumLength:              int64(aws.ToInt32(p.MinimumPasswordLength)),
			RequireSymbols:             p.RequireSymbols,
			RequireNumbers:             p.RequireNumbers,
			RequireUppercase:           p.RequireUppercaseCharacters,
			RequireLowercase:           p.RequireLowercaseCharacters,
			MaxAgeDays:                 int64(aws.ToInt32(p.MaxPasswordAge)),
			ReusePrevention:            int64(aws.ToInt32(p.PasswordReusePrevention)),
			AllowUsersToChangePassword: p.AllowUsersToChangePassword,
			HardExpiry:                 aws.ToBool(p.HardExpiry),
		}
		return nil
	})
	g.Go(func(ctx context.Context) error {
		out, err := c.GetAccountSummary(ctx, &iam.GetAccountSummaryInput{})
		if err != nil {
			return fmt.Errorf("account summary: %w", err)
		}
		doc.RootAccessKeysPresent = out.SummaryMap["AccountAccessKeysPresent"] > 0
		doc.RootMFAEnabled = out.SummaryMap["AccountMFAEnabled"] > 0
		return nil
	})
	g.Go(func(ctx context.Context) (err error) {
		doc.Trails, err = f.accountTrails(ctx, t.region)
		return err
	})
	if err := g.Wait(); err != nil {
		return observation{}, fmt.Errorf("account %s: %w", account, err)
	}
	return observation{id: account, name: account, account: account, tags: map[string]string{}, doc: doc}, nil
}

// accountTrails lists the trails visible from region and reads each one's
// status and selectors from its home Region, a bounded number at a time.
func (f *Fetcher) accountTrails(ctx context.Context, region string) ([]awsres.TrailSummary, error) {
	out, err := f.cloudtrail.get(region).DescribeTrails(ctx, &cloudtrail.DescribeTrailsInput{IncludeShadowTrails: aws.Bool(true)})
	if err != nil {
		return nil, fmt.Errorf("trails: %w", err)
	}
	trails := make([]awsres.TrailSummary, len(out.TrailList))
	err = forEach(ctx, f.opts.MaxConcurrency, len(out.TrailList), func(ctx context.Context, i int) error {
		tr := out.TrailList[i]
		s := awsres.TrailSummary{
			Name:          aws.ToString(tr.Name),
			ARN:           aws.ToString(tr.TrailARN),
			HomeRegion:    firstNonEmpty(aws.ToString(tr.HomeRegion), region),
			IsMultiRegion: aws.ToBool(tr.IsMultiRegionTrail),
		}
		var err error
		s.IsLogging, s.ManagementEvents, err = trailState(ctx, f.cloudtrail.get(s.HomeRegion), s.ARN)
		if err != nil {
			return fmt.Errorf("trail %s: %w", s.ARN, err)
		}
		trails[i] = s
		return nil
	})
	if err != nil {
		return nil, err
	}
	slices.SortFunc(trails, func(a, b awsres.TrailSummary) int { return strings.Compare(a.ARN, b.ARN) })
	return trails, nil
}
