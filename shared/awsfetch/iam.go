package awsfetch

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	iamtypes "github.com/aws/aws-sdk-go-v2/service/iam/types"

	"github.com/driftwatch/driftwatch/shared/awsres"
)

// iamAPI is what the principal, policy and account readers call.
type iamAPI interface {
	GetUser(ctx context.Context, in *iam.GetUserInput, optFns ...func(*iam.Options)) (*iam.GetUserOutput, error)
	ListAttachedUserPolicies(ctx context.Context, in *iam.ListAttachedUserPoliciesInput, optFns ...func(*iam.Options)) (*iam.ListAttachedUserPoliciesOutput, error)
	ListUserPolicies(ctx context.Context, in *iam.ListUserPoliciesInput, optFns ...func(*iam.Options)) (*iam.ListUserPoliciesOutput, error)
	GetUserPolicy(ctx context.Context, in *iam.GetUserPolicyInput, optFns ...func(*iam.Options)) (*iam.GetUserPolicyOutput, error)
	ListGroupsForUser(ctx context.Context, in *iam.ListGroupsForUserInput, optFns ...func(*iam.Options)) (*iam.ListGroupsForUserOutput, error)
	GetLoginProfile(ctx context.Context, in *iam.GetLoginProfileInput, optFns ...func(*iam.Options)) (*iam.GetLoginProfileOutput, error)
	ListAccessKeys(ctx context.Context, in *iam.ListAccessKeysInput, optFns ...func(*iam.Options)) (*iam.ListAccessKeysOutput, error)
	GetAccessKeyLastUsed(ctx context.Context, in *iam.GetAccessKeyLastUsedInput, optFns ...func(*iam.Options)) (*iam.GetAccessKeyLastUsedOutput, error)

	GetRole(ctx context.Context, in *iam.GetRoleInput, optFns ...func(*iam.Options)) (*iam.GetRoleOutput, error)
	ListAttachedRolePolicies(ctx context.Context, in *iam.ListAttachedRolePoliciesInput, optFns ...func(*iam.Options)) (*iam.ListAttachedRolePoliciesOutput, error)
	ListRolePolicies(ctx context.Context, in *iam.ListRolePoliciesInput, optFns ...func(*iam.Options)) (*iam.ListRolePoliciesOutput, error)
	GetRolePolicy(ctx context.Context, in *iam.GetRolePolicyInput, optFns ...func(*iam.Options)) (*iam.GetRolePolicyOutput, error)

	GetGroup(ctx context.Context, in *iam.GetGroupInput, optFns ...func(*iam.Options)) (*iam.GetGroupOutput, error)
	ListAttachedGroupPolicies(ctx context.Context, in *iam.ListAttachedGroupPoliciesInput, optFns ...func(*iam.Options)) (*iam.ListAttachedGroupPoliciesOutput, error)
	ListGroupPolicies(ctx context.Context, in *iam.ListGroupPoliciesInput, optFns ...func(*iam.Options)) (*iam.ListGroupPoliciesOutput, error)
	GetGroupPolicy(ctx context.Context, in *iam.GetGroupPolicyInput, optFns ...func(*iam.Options)) (*iam.GetGroupPolicyOutput, error)

	GetPolicy(ctx context.Context, in *iam.GetPolicyInput, optFns ...func(*iam.Options)) (*iam.GetPolicyOutput, error)
	GetPolicyVersion(ctx context.Context, in *iam.GetPolicyVersionInput, optFns ...func(*iam.Options)) (*iam.GetPolicyVersionOutput, error)

	GetAccountPasswordPolicy(ctx context.Context, in *iam.GetAccountPasswordPolicyInput, optFns ...func(*iam.Options)) (*iam.GetAccountPasswordPolicyOutput, error)
	GetAccountSummary(ctx context.Context, in *iam.GetAccountSummaryInput, optFns ...func(*iam.Options)) (*iam.GetAccountSummaryOutput, error)
}

// Values of awsres.AttachedPolicy.Kind.
const (
	kindManaged    = "managed"
	kindAWSManaged = "aws_managed"
	kindInline     = "inline"
)

// The reads of one principal all start at once, before its existence is
// known: when it is missing every read fails with NoSuchEntity and the
// principal's own Get decides. Reads of its parts (a policy, a key) that
// find them gone were raced by a concurrent detach or delete and are
// skipped, so the principal is not reported missing.

func (f *Fetcher) fetchUser(ctx context.Context, t target) (observation, error) {
	c := f.iam()
	name := aws.String(t.name)
	doc := &awsres.IAMUser{Groups: []string{}, AccessKeys: []awsres.AccessKey{}, Tags: map[string]string{}}
	var managed, inline []awsres.AttachedPolicy
	g := newGroup(ctx, 0)
	g.Go(func(ctx context.Context) error {
		out, err := c.GetUser(ctx, &iam.GetUserInput{UserName: name})
		if err != nil {
			return err
		}
		u := out.User
		doc.Name, doc.ARN, doc.ID, doc.Path = aws.ToString(u.UserName), aws.ToString(u.Arn), aws.ToString(u.UserId), aws.ToString(u.Path)
		doc.Created = utc(u.CreateDate)
		doc.Tags = iamTags(u.Tags)
		return nil
	})
	g.Go(func(ctx context.Context) (err error) {
		var attached []iamtypes.AttachedPolicy
		p := iam.NewListAttachedUserPoliciesPaginator(c, &iam.ListAttachedUserPoliciesInput{UserName: name})
		for p.HasMorePages() {
			page, err := p.NextPage(ctx)
			if err != nil {
				return err
			}
			attached = append(attached, page.AttachedPolicies...)
		}
		managed, err = f.managedPolicies(ctx, c, attached)
		return err
	})
	g.Go(func(ctx context.Context) (err error) {
		var names []string
		p := iam.NewListUserPoliciesPaginator(c, &iam.ListUserPoliciesInput{UserName: name})
		for p.HasMorePages() {
			page, err := p.NextPage(ctx)
			if err != nil {
				return err
			}
			names = append(names, page.PolicyNames...)
		}
		inline, err = f.inlinePolicies(ctx, names, func(ctx context.Context, policy string) (*string, error) {
			out, err := c.GetUserPolicy(ctx, &iam.GetUserPolicyInput{UserName: name, PolicyName: aws.String(policy)})
			if err != nil {
				return nil, err
			}
			return out.PolicyDocument, nil
		})
		return err
	})
	g.Go(func(ctx context.Context) error {
		p := iam.NewListGroupsForUserPaginator(c, &iam.ListGroupsForUserInput{UserName: name})
		for p.HasMorePages() {
			page, err := p.NextPage(ctx)
			if err != nil {
				return err
			}
			for _, gr := range page.Groups {
				doc.Groups = append(doc.Groups, aws.ToString(gr.GroupName))
			}
		}
		return nil
	})
	g.Go(func(ctx context.Context) error {
		_, err := c.GetLoginProfile(ctx, &iam.GetLoginProfileInput{UserName: name})
		switch {
		case err == nil:
			doc.ConsoleAccess = true
		case errors.Is(err, errNotFound):
			// No login profile: no password, no console access.
		default:
			return err
		}
		return nil
	})
	g.Go(func(ctx context.Context) (err error) {
		doc.AccessKeys, err = f.accessKeys(ctx, c, name)
		return err
	})
	if err := g.Wait(); err != nil {
		return observation{}, fmt.Errorf("user %s: %w", t.name, err)
	}
	doc.Policies = append(append(make([]awsres.AttachedPolicy, 0, len(managed)+len(inline)), managed...), inline...)
	return f.principalObservation(awsres.TypeIAMUser, doc.ARN, doc.Name, doc.Tags, doc), nil
}

func (f *Fetcher) accessKeys(ctx context.Context, c iamAPI, user *string) ([]awsres.AccessKey, error) {
	var meta []iamtypes.AccessKeyMetadata
	p := iam.NewListAccessKeysPaginator(c, &iam.ListAccessKeysInput{UserName: user})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, err
		}
		meta = append(meta, page.AccessKeyMetadata...)
	}
	keys := make([]awsres.AccessKey, len(meta))
	gone := make([]bool, len(meta))
	err := forEach(ctx, f.opts.MaxConcurrency, len(meta), func(ctx context.Context, i int) error {
		k := meta[i]
		keys[i] = awsres.AccessKey{ID: aws.ToString(k.AccessKeyId), Status: string(k.Status), Created: utc(k.CreateDate)}
		out, err := c.GetAccessKeyLastUsed(ctx, &iam.GetAccessKeyLastUsedInput{AccessKeyId: k.AccessKeyId})
		switch {
		case errors.Is(err, errNotFound):
			gone[i] = true
			return nil
		case err != nil:
			return err
		}
		if lu := out.AccessKeyLastUsed; lu != nil && lu.LastUsedDate != nil {
			keys[i].LastUsed, keys[i].Used = lu.LastUsedDate.UTC(), true
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return dropGone(keys, gone), nil
}

func (f *Fetcher) fetchRole(ctx context.Context, t target) (observation, error) {
	c := f.iam()
	name := aws.String(t.name)
	doc := &awsres.IAMRole{Tags: map[string]string{}}
	var managed, inline []awsres.AttachedPolicy
	g := newGroup(ctx, 0)
	g.Go(func(ctx context.Context) error {
		out, err := c.GetRole(ctx, &iam.GetRoleInput{RoleName: name})
		if err != nil {
			return err
		}
		r := out.Role
		doc.Name, doc.ARN, doc.ID, doc.Path = aws.ToString(r.RoleName), aws.ToString(r.Arn), aws.ToString(r.RoleId), aws.ToString(r.Path)
		doc.Tags = iamTags(r.Tags)
		if doc.TrustPolicy, err = awsres.ParsePolicy(aws.ToString(r.AssumeRolePolicyDocument)); err != nil {
			return fmt.Errorf("trust policy: %w", err)
		}
		return nil
	})
	g.Go(func(ctx context.Context) (err error) {
		var attached []iamtypes.AttachedPolicy
		p := iam.NewListAttachedRolePoliciesPaginator(c, &iam.ListAttachedRolePoliciesInput{RoleName: name})
		for p.HasMorePages() {
			page, err := p.NextPage(ctx)
			if err != nil {
				return err
			}
			attached = append(attached, page.AttachedPolicies...)
		}
		managed, err = f.managedPolicies(ctx, c, attached)
		return err
	})
	g.Go(func(ctx context.Context) (err error) {
		var names []string
		p := iam.NewListRolePoliciesPaginator(c, &iam.ListRolePoliciesInput{RoleName: name})
		for p.HasMorePages() {
			page, err := p.NextPage(ctx)
			if err != nil {
				return err
			}
			names = append(names, page.PolicyNames...)
		}
		inline, err = f.inlinePolicies(ctx, names, func(ctx context.Context, policy string) (*string, error) {
			out, err := c.GetRolePolicy(ctx, &iam.GetRolePolicyInput{RoleName: name, PolicyName: aws.String(policy)})
			if err != nil {
				return nil, err
			}
			return out.PolicyDocument, nil
		})
		return err
	})
	if err := g.Wait(); err != nil {
		return observation{}, fmt.Errorf("role %s: %w", t.name, err)
	}
	doc.Policies = append(append(make([]awsres.AttachedPolicy, 0, len(managed)+len(inline)), managed...), inline...)
	return f.principalObservation(awsres.TypeIAMRole, doc.ARN, doc.Name, doc.Tags, doc), nil
}

func (f *Fetcher) fetchGroup(ctx context.Context, t target) (observation, error) {
	c := f.iam()
	name := aws.String(t.name)
	doc := &awsres.IAMGroup{}
	var managed, inline []awsres.AttachedPolicy
	g := newGroup(ctx, 0)
	g.Go(func(ctx context.Context) error {
		// GetGroup also lists members; one is enough, only the group is used.
		out, err := c.GetGroup(ctx, &iam.GetGroupInput{GroupName: name, MaxItems: aws.Int32(1)})
		if err != nil {
			return err
		}
		gr := out.Group
		doc.Name, doc.ARN, doc.ID, doc.Path = aws.ToString(gr.GroupName), aws.ToString(gr.Arn), aws.ToString(gr.GroupId), aws.ToString(gr.Path)
		return nil
	})
	g.Go(func(ctx context.Context) (err error) {
		var attached []iamtypes.AttachedPolicy
		p := iam.NewListAttachedGroupPoliciesPaginator(c, &iam.ListAttachedGroupPoliciesInput{GroupName: name})
		for p.HasMorePages() {
			page, err := p.NextPage(ctx)
			if err != nil {
				return err
			}
			attached = append(attached, page.AttachedPolicies...)
		}
		managed, err = f.managedPolicies(ctx, c, attached)
		return err
	})
	g.Go(func(ctx context.Context) (err error) {
		var names []string
		p := iam.NewListGroupPoliciesPaginator(c, &iam.ListGroupPoliciesInput{GroupName: name})
		for p.HasMorePages() {
			page, err := p.NextPage(ctx)
			if err != nil {
				return err
			}
			names = append(names, page.PolicyNames...)
		}
		inline, err = f.inlinePolicies(ctx, names, func(ctx context.Context, policy string) (*string, error) {
			out, err := c.GetGroupPolicy(ctx, &iam.GetGroupPolicyInput{GroupName: name, PolicyName: aws.String(policy)})
			if err != nil {
				return nil, err
			}
			return out.PolicyDocument, nil
		})
		return err
	})
	if err := g.Wait(); err != nil {
		return observation{}, fmt.Errorf("group %s: %w", t.name, err)
	}
	doc.Policies = append(append(make([]awsres.AttachedPolicy, 0, len(managed)+len(inline)), managed...), inline...)
	return f.principalObservation(awsres.TypeIAMGroup, doc.ARN, doc.Name, map[string]string{}, doc), nil
}

func (f *Fetcher) fetchPolicy(ctx context.Context, t target) (observation, error) {
	pol, document, err := f.managedPolicy(ctx, f.iam(), t.name)
	if err != nil {
		return observation{}, fmt.Errorf("policy %s: %w", t.name, err)
	}
	arnStr := aws.ToString(pol.Arn)
	doc := &awsres.IAMPolicy{
		Name:            aws.ToString(pol.PolicyName),
		ARN:             arnStr,
		AWSManaged:      awsManaged(arnStr),
		DefaultVersion:  aws.ToString(pol.DefaultVersionId),
		Document:        document,
		AttachmentCount: int64(aws.ToInt32(pol.AttachmentCount)),
	}
	return f.principalObservation(awsres.TypeIAMPolicy, arnStr, doc.Name, iamTags(pol.Tags), doc), nil
}

func (f *Fetcher) principalObservation(typ, arnStr, name string, tags map[string]string, doc any) observation {
	return observation{
		id:      awsres.CanonicalID(typ, f.opts.Partition, "", accountFromARN(arnStr), arnStr),
		name:    name,
		account: accountFromARN(arnStr),
		tags:    tags,
		doc:     doc,
	}
}

// managedPolicy reads a managed policy and the document of its default
// version.
func (f *Fetcher) managedPolicy(ctx context.Context, c iamAPI, policyARN string) (*iamtypes.Policy, awsres.Policy, error) {
	out, err := c.GetPolicy(ctx, &iam.GetPolicyInput{PolicyArn: aws.String(policyARN)})
	if err != nil {
		return nil, awsres.Policy{}, err
	}
	pol := out.Policy
	ver, err := c.GetPolicyVersion(ctx, &iam.GetPolicyVersionInput{PolicyArn: aws.String(policyARN), VersionId: pol.DefaultVersionId})
	if err != nil {
		return nil, awsres.Policy{}, err
	}
	var raw string
	if ver.PolicyVersion != nil {
		raw = aws.ToString(ver.PolicyVersion.Document)
	}
	doc, err := awsres.ParsePolicy(raw)
	if err != nil {
		return nil, awsres.Policy{}, fmt.Errorf("policy %s version %s: %w", policyARN, aws.ToString(pol.DefaultVersionId), err)
	}
	return pol, doc, nil
}

// managedPolicies reads the attached managed policies in parallel.
func (f *Fetcher) managedPolicies(ctx context.Context, c iamAPI, attached []iamtypes.AttachedPolicy) ([]awsres.AttachedPolicy, error) {
	out := make([]awsres.AttachedPolicy, len(attached))
	gone := make([]bool, len(attached))
	err := forEach(ctx, f.opts.MaxConcurrency, len(attached), func(ctx context.Context, i int) error {
		a := aws.ToString(attached[i].PolicyArn)
		_, doc, err := f.managedPolicy(ctx, c, a)
		switch {
		case errors.Is(err, errNotFound):
			gone[i] = true
			return nil
		case err != nil:
			return err
		}
		kind := kindManaged
		if awsManaged(a) {
			kind = kindAWSManaged
		}
		out[i] = awsres.AttachedPolicy{Name: aws.ToString(attached[i].PolicyName), ARN: a, Kind: kind, Document: doc}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return dropGone(out, gone), nil
}

// inlinePolicies reads the named inline policies in parallel with get.
func (f *Fetcher) inlinePolicies(ctx context.Context, names []string, get func(ctx context.Context, name string) (*string, error)) ([]awsres.AttachedPolicy, error) {
	out := make([]awsres.AttachedPolicy, len(names))
	gone := make([]bool, len(names))
	err := forEach(ctx, f.opts.MaxConcurrency, len(names), func(ctx context.Context, i int) error {
		raw, err := get(ctx, names[i])
		switch {
		case errors.Is(err, errNotFound):
			gone[i] = true
			return nil
		case err != nil:
			return err
		}
		doc, err := awsres.ParsePolicy(aws.ToString(raw))
		if err != nil {
			return fmt.Errorf("inline policy %s: %w", names[i], err)
		}
		out[i] = awsres.AttachedPolicy{Name: names[i], Kind: kindInline, Document: doc}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return dropGone(out, gone), nil
}

// awsManaged reports whether a policy ARN names an AWS managed policy
// (arn:<partition>:iam::aws:policy/...).
func awsManaged(policyARN string) bool {
	return strings.Contains(policyARN, ":iam::aws:policy/")
}

func iamTags(tags []iamtypes.Tag) map[string]string {
	return tagMap(tags, func(t iamtypes.Tag) (string, string) { return aws.ToString(t.Key), aws.ToString(t.Value) })
}

func utc(t *time.Time) time.Time {
	if t == nil {
		return time.Time{}
	}
	return t.UTC()
}

// dropGone removes the entries whose read found them deleted meanwhile.
func dropGone[T any](items []T, gone []bool) []T {
	out := items[:0]
	for i, it := range items {
		if !gone[i] {
			out = append(out, it)
		}
	}
	return out
}
