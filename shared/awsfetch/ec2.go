package awsfetch

import (
	"context"
	"fmt"
	"net/netip"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/driftwatch/driftwatch/shared/awsres"
)

// ec2API is what the security group and EBS-default readers call.
type ec2API interface {
	DescribeSecurityGroups(ctx context.Context, in *ec2.DescribeSecurityGroupsInput, optFns ...func(*ec2.Options)) (*ec2.DescribeSecurityGroupsOutput, error)
	DescribeSecurityGroupRules(ctx context.Context, in *ec2.DescribeSecurityGroupRulesInput, optFns ...func(*ec2.Options)) (*ec2.DescribeSecurityGroupRulesOutput, error)
	GetEbsEncryptionByDefault(ctx context.Context, in *ec2.GetEbsEncryptionByDefaultInput, optFns ...func(*ec2.Options)) (*ec2.GetEbsEncryptionByDefaultOutput, error)
}

func (f *Fetcher) fetchSecurityGroup(ctx context.Context, t target) (observation, error) {
	id := t.name
	if !strings.HasPrefix(id, "sg-") {
		return observation{}, fmt.Errorf("%w: security group %q is not a group id (sg-...)", ErrInvalidRef, id)
	}
	c := f.ec2.get(t.region)
	var sg ec2types.SecurityGroup
	var rules []ec2types.SecurityGroupRule
	// The group carries the permissions; only the rules API carries their
	// sgr- ids. Both are read at once and joined.
	g := newGroup(ctx, 0)
	g.Go(func(ctx context.Context) error {
		out, err := c.DescribeSecurityGroups(ctx, &ec2.DescribeSecurityGroupsInput{GroupIds: []string{id}})
		if err != nil {
			return err
		}
		switch len(out.SecurityGroups) {
		case 0:
			return fmt.Errorf("%w: DescribeSecurityGroups returned no group", errNotFound)
		case 1:
		default:
			return fmt.Errorf("DescribeSecurityGroups returned %d groups for one id", len(out.SecurityGroups))
		}
		sg = out.SecurityGroups[0]
		return nil
	})
	g.Go(func(ctx context.Context) error {
		p := ec2.NewDescribeSecurityGroupRulesPaginator(c, &ec2.DescribeSecurityGroupRulesInput{
			Filters: []ec2types.Filter{{Name: aws.String("group-id"), Values: []string{id}}},
		})
		for p.HasMorePages() {
			out, err := p.NextPage(ctx)
			if err != nil {
				return err
			}
			rules = append(rules, out.SecurityGroupRules...)
		}
		return nil
	})
	if err := g.Wait(); err != nil {
		return observation{}, fmt.Errorf("security group %s: %w", id, err)
	}
	account := aws.ToString(sg.OwnerId)
	arnStr := aws.ToString(sg.SecurityGroupArn)
	if arnStr == "" {
		arnStr = awsres.CanonicalID(awsres.TypeSecurityGroup, f.opts.Partition, t.region, firstNonEmpty(account, t.account), id)
	}
	ids := ruleIDs(rules)
	doc := &awsres.SecurityGroup{
		ID:          aws.ToString(sg.GroupId),
		ARN:         arnStr,
		Name:        aws.ToString(sg.GroupName),
		Description: aws.ToString(sg.Description),
		VPCID:       aws.ToString(sg.VpcId),
		IsDefault:   aws.ToString(sg.GroupName) == "default",
		Ingress:     flattenPermissions(sg.IpPermissions, false, ids),
		Egress:      flattenPermissions(sg.IpPermissionsEgress, true, ids),
		Tags:        tagMap(sg.Tags, func(t ec2types.Tag) (string, string) { return aws.ToString(t.Key), aws.ToString(t.Value) }),
	}
	return observation{
		id: arnStr,
		// The group name is what people know a group by; the id stays in
		// the canonical ARN.
		name:    doc.Name,
		region:  t.region,
		account: account,
		tags:    doc.Tags,
		doc:     doc,
	}, nil
}

// ruleKey identifies a rule for one source in both APIs' shapes.
type ruleKey struct {
	egress   bool
	protocol string
	from, to int64
	source   string
}

func ruleIDs(rules []ec2types.SecurityGroupRule) map[ruleKey]string {
	m := make(map[ruleKey]string, len(rules))
	for _, r := range rules {
		source := firstNonEmpty(aws.ToString(r.CidrIpv4), aws.ToString(r.CidrIpv6), aws.ToString(r.PrefixListId))
		if source == "" && r.ReferencedGroupInfo != nil {
			source = aws.ToString(r.ReferencedGroupInfo.GroupId)
		}
		k := ruleKey{
			egress: aws.ToBool(r.IsEgress), protocol: strings.ToLower(aws.ToString(r.IpProtocol)),
			from: port(r.FromPort), to: port(r.ToPort), source: source,
		}
		m[k] = aws.ToString(r.SecurityGroupRuleId)
	}
	return m
}

// flattenPermissions turns each permission into one rule per source.
func flattenPermissions(perms []ec2types.IpPermission, egress bool, ids map[ruleKey]string) []awsres.SGRule {
	out := []awsres.SGRule{}
	for _, p := range perms {
		base := awsres.SGRule{
			Protocol: strings.ToLower(aws.ToString(p.IpProtocol)),
			FromPort: port(p.FromPort),
			ToPort:   port(p.ToPort),
		}
		add := func(r awsres.SGRule, source string) {
			r.RuleID = ids[ruleKey{egress: egress, protocol: r.Protocol, from: r.FromPort, to: r.ToPort, source: source}]
			out = append(out, r)
		}
		for _, rg := range p.IpRanges {
			r := base
			r.CIDR, r.Description = aws.ToString(rg.CidrIp), aws.ToString(rg.Description)
			r.Public = wholeInternet(r.CIDR)
			add(r, r.CIDR)
		}
		for _, rg := range p.Ipv6Ranges {
			r := base
			r.CIDR, r.Description, r.IPv6 = aws.ToString(rg.CidrIpv6), aws.ToString(rg.Description), true
			r.Public = wholeInternet(r.CIDR)
			add(r, r.CIDR)
		}
		for _, pl := range p.PrefixListIds {
			r := base
			r.PrefixListID, r.Description = aws.ToString(pl.PrefixListId), aws.ToString(pl.Description)
			add(r, r.PrefixListID)
		}
		for _, gp := range p.UserIdGroupPairs {
			r := base
			r.ReferencedGroup, r.Description = aws.ToString(gp.GroupId), aws.ToString(gp.Description)
			add(r, r.ReferencedGroup)
		}
	}
	return out
}

// port maps an absent port (all-protocol and ICMP-less rules) to -1, as
// DescribeSecurityGroupRules reports it.
func port(p *int32) int64 {
	if p == nil {
		return -1
	}
	return int64(*p)
}

// wholeInternet reports whether cidr is a /0 range (0.0.0.0/0 or ::/0).
func wholeInternet(cidr string) bool {
	p, err := netip.ParsePrefix(cidr)
	return err == nil && p.Bits() == 0
}

func (f *Fetcher) fetchAccountRegion(ctx context.Context, t target) (observation, error) {
	account, err := f.account(ctx, t)
	if err != nil {
		return observation{}, err
	}
	c := f.ec2.get(t.region)
	doc := &awsres.AccountRegion{Account: account, Region: t.region}
	g := newGroup(ctx, 0)
	g.Go(func(ctx context.Context) error {
		out, err := c.GetEbsEncryptionByDefault(ctx, &ec2.GetEbsEncryptionByDefaultInput{})
		if err != nil {
			return err
		}
		doc.EBSEncryptionByDefault = aws.ToBool(out.EbsEncryptionByDefault)
		return nil
	})
	if err := g.Wait(); err != nil {
		return observation{}, fmt.Errorf("account %s region %s: %w", account, t.region, err)
	}
	id := awsres.CanonicalID(awsres.TypeAccountRegion, f.opts.Partition, t.region, account, "")
	return observation{id: id, name: id, region: t.region, account: account, tags: map[string]string{}, doc: doc}, nil
}
