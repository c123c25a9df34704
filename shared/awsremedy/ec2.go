package awsremedy

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/driftwatch/driftwatch/shared/awsres"
	"github.com/driftwatch/driftwatch/shared/change"
	"github.com/driftwatch/driftwatch/shared/remediation"
)

func groupFromDoc(d *awsres.SecurityGroup) loc {
	return loc{Name: d.ID, Region: regionOfARN(d.ARN), Account: accountOfARN(d.ARN)}
}

func groupFromRef(ref change.ResourceRef, _ string) loc {
	return loc{Name: refName(ref), Region: firstNonEmpty(regionOfARN(ref.ID), ref.Region), Account: accountOfARN(ref.ID)}
}

// sgRule is one security group rule for one source or destination, as a
// snapshot keeps it: enough to authorize it again.
type sgRule struct {
	// ID is the sgr- id the rule had; a restored rule gets a new one.
	ID       string `json:"id"`
	Egress   bool   `json:"egress,omitempty"`
	Protocol string `json:"protocol"`
	FromPort int32  `json:"from_port"`
	ToPort   int32  `json:"to_port"`
	// Exactly one source is set.
	CIDRv4          string `json:"cidr_ipv4,omitempty"`
	CIDRv6          string `json:"cidr_ipv6,omitempty"`
	PrefixListID    string `json:"prefix_list_id,omitempty"`
	ReferencedGroup string `json:"referenced_group_id,omitempty"`
	// ReferencedUser is the account of ReferencedGroup.
	ReferencedUser string `json:"referenced_user_id,omitempty"`
	Description    string `json:"description,omitempty"`
}

func (r sgRule) source() string {
	return firstNonEmpty(r.CIDRv4, r.CIDRv6, r.PrefixListID, r.ReferencedGroup)
}

// key identifies the rule by what it allows: restoring a rule that exists
// again under another id would be refused as a duplicate.
func (r sgRule) key() string {
	return fmt.Sprint(r.Egress, "|", strings.ToLower(r.Protocol), "|", r.FromPort, "|", r.ToPort, "|", r.source())
}

// public reports whether the rule's source is the whole Internet.
func (r sgRule) public() bool { return wholeInternet(r.CIDRv4) || wholeInternet(r.CIDRv6) }

func wholeInternet(cidr string) bool {
	p, err := netip.ParsePrefix(cidr)
	return err == nil && p.Bits() == 0
}

func (r sgRule) permission() ec2types.IpPermission {
	p := ec2types.IpPermission{IpProtocol: aws.String(r.Protocol), FromPort: aws.Int32(r.FromPort), ToPort: aws.Int32(r.ToPort)}
	desc := aws.String(r.Description)
	if r.Description == "" {
		desc = nil
	}
	switch {
	case r.CIDRv4 != "":
		p.IpRanges = []ec2types.IpRange{{CidrIp: aws.String(r.CIDRv4), Description: desc}}
	case r.CIDRv6 != "":
		p.Ipv6Ranges = []ec2types.Ipv6Range{{CidrIpv6: aws.String(r.CIDRv6), Description: desc}}
	case r.PrefixListID != "":
		p.PrefixListIds = []ec2types.PrefixListId{{PrefixListId: aws.String(r.PrefixListID), Description: desc}}
	case r.ReferencedGroup != "":
		pair := ec2types.UserIdGroupPair{GroupId: aws.String(r.ReferencedGroup), Description: desc}
		if r.ReferencedUser != "" {
			pair.UserId = aws.String(r.ReferencedUser)
		}
		p.UserIdGroupPairs = []ec2types.UserIdGroupPair{pair}
	}
	return p
}

// describeRule words a rule for people: "sgr-0abc tcp/22 from 0.0.0.0/0".
func describeRule(id, protocol string, from, to int64, source string, egress bool) string {
	var what string
	switch p := strings.ToLower(protocol); {
	case p == "-1":
		what = "all traffic"
	case p == "tcp" || p == "udp" || p == "6" || p == "17":
		name := map[string]string{"6": "tcp", "17": "udp"}[p]
		if name == "" {
			name = p
		}
		switch {
		case from == to:
			what = fmt.Sprintf("%s/%d", name, from)
		case from <= 0 && to >= 65535 || from == -1:
			what = name + "/all ports"
		default:
			what = fmt.Sprintf("%s/%d-%d", name, from, to)
		}
	case p == "icmp" || p == "icmpv6" || p == "1" || p == "58":
		what = p
	default:
		what = "protocol " + protocol
	}
	dir := " from "
	if egress {
		dir = " to "
	}
	s := what + dir + source
	if id != "" {
		s = id + " " + s
	}
	return s
}

func (r sgRule) String() string {
	return describeRule(r.ID, r.Protocol, int64(r.FromPort), int64(r.ToPort), r.source(), r.Egress)
}

// sgRulesAPI reads a group's rules with their sgr- ids.
type sgRulesAPI interface {
	DescribeSecurityGroupRules(ctx context.Context, in *ec2.DescribeSecurityGroupRulesInput, optFns ...func(*ec2.Options)) (*ec2.DescribeSecurityGroupRulesOutput, error)
}

// groupRules reads every rule of a security group.
func groupRules(ctx context.Context, c sgRulesAPI, groupID string) ([]sgRule, error) {
	var out []sgRule
	p := ec2.NewDescribeSecurityGroupRulesPaginator(c, &ec2.DescribeSecurityGroupRulesInput{
		Filters: []ec2types.Filter{{Name: aws.String("group-id"), Values: []string{groupID}}},
	})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, err
		}
		for _, r := range page.SecurityGroupRules {
			sr := sgRule{
				ID:           aws.ToString(r.SecurityGroupRuleId),
				Egress:       aws.ToBool(r.IsEgress),
				Protocol:     aws.ToString(r.IpProtocol),
				FromPort:     aws.ToInt32(r.FromPort),
				ToPort:       aws.ToInt32(r.ToPort),
				CIDRv4:       aws.ToString(r.CidrIpv4),
				CIDRv6:       aws.ToString(r.CidrIpv6),
				PrefixListID: aws.ToString(r.PrefixListId),
				Description:  aws.ToString(r.Description),
			}
			if g := r.ReferencedGroupInfo; g != nil {
				sr.ReferencedGroup, sr.ReferencedUser = aws.ToString(g.GroupId), aws.ToString(g.UserId)
			}
			out = append(out, sr)
		}
	}
	return out, nil
}

// groupAPI reads a security group itself.
type groupAPI interface {
	DescribeSecurityGroups(ctx context.Context, in *ec2.DescribeSecurityGroupsInput, optFns ...func(*ec2.Options)) (*ec2.DescribeSecurityGroupsOutput, error)
}

// describeGroup reads the group: the rules API answers an empty list for a
// group that does not exist, so its existence is checked here.
func describeGroup(ctx context.Context, c groupAPI, id string) (ec2types.SecurityGroup, error) {
	out, err := c.DescribeSecurityGroups(ctx, &ec2.DescribeSecurityGroupsInput{GroupIds: []string{id}})
	if err != nil {
		return ec2types.SecurityGroup{}, err
	}
	if len(out.SecurityGroups) != 1 {
		return ec2types.SecurityGroup{}, fmt.Errorf("%w: DescribeSecurityGroups returned %d groups for %s", ErrNotFound, len(out.SecurityGroups), id)
	}
	return out.SecurityGroups[0], nil
}

// missing returns the rules of want that have lacks.
func missing(want, have []sgRule) []sgRule {
	present := make(map[string]bool, len(have))
	for _, r := range have {
		present[r.key()] = true
	}
	var out []sgRule
	for _, r := range want {
		if !present[r.key()] {
			out = append(out, r)
		}
	}
	return out
}

func permissions(rules []sgRule) []ec2types.IpPermission {
	out := make([]ec2types.IpPermission, len(rules))
	for i, r := range rules {
		out[i] = r.permission()
	}
	return out
}

func ruleIDs(rules []sgRule) []string {
	out := make([]string, len(rules))
	for i, r := range rules {
		out[i] = r.ID
	}
	return out
}

func ruleStrings(rules []sgRule) []string {
	out := make([]string, len(rules))
	for i, r := range rules {
		out[i] = r.String()
	}
	return out
}

// revokeIngressAPI is what ec2_revoke_public_ingress calls.
type revokeIngressAPI interface {
	sgRulesAPI
	groupAPI
	RevokeSecurityGroupIngress(ctx context.Context, in *ec2.RevokeSecurityGroupIngressInput, optFns ...func(*ec2.Options)) (*ec2.RevokeSecurityGroupIngressOutput, error)
	AuthorizeSecurityGroupIngress(ctx context.Context, in *ec2.AuthorizeSecurityGroupIngressInput, optFns ...func(*ec2.Options)) (*ec2.AuthorizeSecurityGroupIngressOutput, error)
}

// ec2RevokePublicIngress revokes, by rule id and in one call, exactly the
// ingress rules whose source is 0.0.0.0/0 or ::/0, whatever their ports:
// every other rule stays. The snapshot is the revoked rules (protocol,
// ports, range, description); Undo authorizes again those that are not
// there (under new rule ids; rule tags are not restored).
func ec2RevokePublicIngress(b *builder) remediation.Action {
	perms := []string{"ec2:AuthorizeSecurityGroupIngress", "ec2:DescribeSecurityGroupRules", "ec2:DescribeSecurityGroups", "ec2:RevokeSecurityGroupIngress"}
	return &action[awsres.SecurityGroup, []sgRule, revokeIngressAPI]{
		name: EC2RevokePublicIngress, resourceType: awsres.TypeSecurityGroup, service: ec2.ServiceID, perms: perms, opts: &b.opts,
		clients: newRegional(b.ec2(EC2RevokePublicIngress, perms), func(c *ec2.Client) revokeIngressAPI { return c }),
		fromDoc: groupFromDoc, fromRef: groupFromRef,
		plan: func(d *awsres.SecurityGroup) (remediation.Plan, error) {
			var open []string
			for _, r := range d.Ingress {
				if r.Public {
					open = append(open, describeRule(r.RuleID, r.Protocol, r.FromPort, r.ToPort, r.CIDR, false))
				}
			}
			group := groupLabel(d)
			if len(open) == 0 {
				return remediation.Plan{Noop: true, Change: "Security group " + group + " has no ingress rule open to the Internet"}, nil
			}
			return remediation.Plan{Change: fmt.Sprintf("Revoke %s open to the Internet from security group %s: %s (every other rule stays)",
				plural(len(open), "ingress rule", "ingress rules"), group, strings.Join(open, ", "))}, nil
		},
		apply: func(ctx context.Context, c revokeIngressAPI, l loc) ([]sgRule, bool, error) {
			if _, err := describeGroup(ctx, c, l.Name); err != nil {
				return nil, false, err
			}
			rules, err := groupRules(ctx, c, l.Name)
			if err != nil {
				return nil, false, err
			}
			open := []sgRule{}
			for _, r := range rules {
				if !r.Egress && r.public() {
					open = append(open, r)
				}
			}
			if len(open) == 0 {
				return open, false, nil
			}
			// One call: EC2 revokes all of the ids or none.
			_, err = c.RevokeSecurityGroupIngress(ctx, &ec2.RevokeSecurityGroupIngressInput{GroupId: aws.String(l.Name), SecurityGroupRuleIds: ruleIDs(open)})
			return open, true, err
		},
		undo: func(ctx context.Context, c revokeIngressAPI, l loc, before []sgRule) error {
			rules, err := groupRules(ctx, c, l.Name)
			if err != nil {
				return err
			}
			if m := missing(before, rules); len(m) > 0 {
				_, err = c.AuthorizeSecurityGroupIngress(ctx, &ec2.AuthorizeSecurityGroupIngressInput{GroupId: aws.String(l.Name), IpPermissions: permissions(m)})
			}
			return err
		},
	}
}

func groupLabel(d *awsres.SecurityGroup) string {
	if d.Name == "" || d.Name == d.ID {
		return d.ID
	}
	return d.Name + " (" + d.ID + ")"
}

// defaultSGAPI is what ec2_revoke_default_sg_rules calls.
type defaultSGAPI interface {
	sgRulesAPI
	groupAPI
	RevokeSecurityGroupIngress(ctx context.Context, in *ec2.RevokeSecurityGroupIngressInput, optFns ...func(*ec2.Options)) (*ec2.RevokeSecurityGroupIngressOutput, error)
	AuthorizeSecurityGroupIngress(ctx context.Context, in *ec2.AuthorizeSecurityGroupIngressInput, optFns ...func(*ec2.Options)) (*ec2.AuthorizeSecurityGroupIngressOutput, error)
	RevokeSecurityGroupEgress(ctx context.Context, in *ec2.RevokeSecurityGroupEgressInput, optFns ...func(*ec2.Options)) (*ec2.RevokeSecurityGroupEgressOutput, error)
	AuthorizeSecurityGroupEgress(ctx context.Context, in *ec2.AuthorizeSecurityGroupEgressInput, optFns ...func(*ec2.Options)) (*ec2.AuthorizeSecurityGroupEgressOutput, error)
}

// ec2RevokeDefaultSGRules revokes every inbound and outbound rule of a VPC's
// default security group (CIS: the default group restricts all traffic). It
// refuses any other group, checked live. The snapshot is the revoked rules;
// Undo authorizes again those that are not there.
func ec2RevokeDefaultSGRules(b *builder) remediation.Action {
	perms := []string{
		"ec2:AuthorizeSecurityGroupEgress", "ec2:AuthorizeSecurityGroupIngress", "ec2:DescribeSecurityGroupRules",
		"ec2:DescribeSecurityGroups", "ec2:RevokeSecurityGroupEgress", "ec2:RevokeSecurityGroupIngress",
	}
	return &action[awsres.SecurityGroup, []sgRule, defaultSGAPI]{
		name: EC2RevokeDefaultSGRules, resourceType: awsres.TypeSecurityGroup, service: ec2.ServiceID, perms: perms, opts: &b.opts,
		clients: newRegional(b.ec2(EC2RevokeDefaultSGRules, perms), func(c *ec2.Client) defaultSGAPI { return c }),
		fromDoc: groupFromDoc, fromRef: groupFromRef,
		plan: func(d *awsres.SecurityGroup) (remediation.Plan, error) {
			if !d.IsDefault {
				return remediation.Plan{}, fmt.Errorf("%w: %s acts only on a VPC's default security group, not on %s", ErrInvalidTarget, EC2RevokeDefaultSGRules, groupLabel(d))
			}
			var rules []string
			for _, r := range d.Ingress {
				rules = append(rules, "inbound "+describeRule(r.RuleID, r.Protocol, r.FromPort, r.ToPort, firstNonEmpty(r.CIDR, r.PrefixListID, r.ReferencedGroup), false))
			}
			for _, r := range d.Egress {
				rules = append(rules, "outbound "+describeRule(r.RuleID, r.Protocol, r.FromPort, r.ToPort, firstNonEmpty(r.CIDR, r.PrefixListID, r.ReferencedGroup), true))
			}
			where := d.ID
			if d.VPCID != "" {
				where += " of " + d.VPCID
			}
			if len(rules) == 0 {
				return remediation.Plan{Noop: true, Change: "The default security group " + where + " has no rules"}, nil
			}
			what := fmt.Sprintf("all %d rules", len(rules))
			switch len(rules) {
			case 1:
				what = "the only rule"
			case 2:
				what = "both rules"
			}
			return remediation.Plan{Change: fmt.Sprintf("Revoke %s of the default security group %s: %s (instances still in the default group lose that traffic)",
				what, where, strings.Join(rules, "; "))}, nil
		},
		apply: func(ctx context.Context, c defaultSGAPI, l loc) ([]sgRule, bool, error) {
			sg, err := describeGroup(ctx, c, l.Name)
			if err != nil {
				return nil, false, err
			}
			if name := aws.ToString(sg.GroupName); name != "default" {
				return nil, false, fmt.Errorf("%w: %s is %q, not a default security group", ErrInvalidTarget, l.Name, name)
			}
			rules, err := groupRules(ctx, c, l.Name)
			if err != nil {
				return nil, false, err
			}
			var in, eg []sgRule
			for _, r := range rules {
				if r.Egress {
					eg = append(eg, r)
				} else {
					in = append(in, r)
				}
			}
			if len(rules) == 0 {
				return []sgRule{}, false, nil
			}
			if len(in) > 0 {
				if _, err := c.RevokeSecurityGroupIngress(ctx, &ec2.RevokeSecurityGroupIngressInput{GroupId: aws.String(l.Name), SecurityGroupRuleIds: ruleIDs(in)}); err != nil {
					return nil, false, err
				}
			}
			if len(eg) > 0 {
				if _, err := c.RevokeSecurityGroupEgress(ctx, &ec2.RevokeSecurityGroupEgressInput{GroupId: aws.String(l.Name), SecurityGroupRuleIds: ruleIDs(eg)}); err != nil {
					// Put the inbound rules back: a failed fix leaves the
					// group as it was.
					if len(in) > 0 {
						if _, rerr := c.AuthorizeSecurityGroupIngress(ctx, &ec2.AuthorizeSecurityGroupIngressInput{GroupId: aws.String(l.Name), IpPermissions: permissions(in)}); rerr != nil {
							return nil, false, errors.Join(err, fmt.Errorf("restoring the revoked inbound rules %s also failed: %w", strings.Join(ruleStrings(in), ", "), rerr))
						}
					}
					return nil, false, err
				}
			}
			return rules, true, nil
		},
		undo: func(ctx context.Context, c defaultSGAPI, l loc, before []sgRule) error {
			rules, err := groupRules(ctx, c, l.Name)
			if err != nil {
				return err
			}
			var in, eg []sgRule
			for _, r := range missing(before, rules) {
				if r.Egress {
					eg = append(eg, r)
				} else {
					in = append(in, r)
				}
			}
			if len(in) > 0 {
				if _, err := c.AuthorizeSecurityGroupIngress(ctx, &ec2.AuthorizeSecurityGroupIngressInput{GroupId: aws.String(l.Name), IpPermissions: permissions(in)}); err != nil {
					return err
				}
			}
			if len(eg) > 0 {
				_, err = c.AuthorizeSecurityGroupEgress(ctx, &ec2.AuthorizeSecurityGroupEgressInput{GroupId: aws.String(l.Name), IpPermissions: permissions(eg)})
			}
			return err
		},
	}
}

// ebsDefaultAPI is what ebs_enable_default_encryption calls.
type ebsDefaultAPI interface {
	GetEbsEncryptionByDefault(ctx context.Context, in *ec2.GetEbsEncryptionByDefaultInput, optFns ...func(*ec2.Options)) (*ec2.GetEbsEncryptionByDefaultOutput, error)
	EnableEbsEncryptionByDefault(ctx context.Context, in *ec2.EnableEbsEncryptionByDefaultInput, optFns ...func(*ec2.Options)) (*ec2.EnableEbsEncryptionByDefaultOutput, error)
	DisableEbsEncryptionByDefault(ctx context.Context, in *ec2.DisableEbsEncryptionByDefaultInput, optFns ...func(*ec2.Options)) (*ec2.DisableEbsEncryptionByDefaultOutput, error)
}

// enabled is an on/off setting's previous value.
type enabled struct {
	Enabled bool `json:"enabled"`
}

func accountRegionFromDoc(d *awsres.AccountRegion) loc {
	return loc{Name: d.Account, Region: d.Region, Account: d.Account}
}

func accountRegionFromRef(ref change.ResourceRef, _ string) loc {
	acct, region, _ := strings.Cut(ref.ID, "/")
	acct = firstNonEmpty(ref.Account, acct)
	return loc{Name: acct, Region: firstNonEmpty(ref.Region, region), Account: acct}
}

// ebsEnableDefaultEncryption turns on EBS encryption by default in one
// Region of the account (new volumes only). Undo turns it off again if it
// was off.
func ebsEnableDefaultEncryption(b *builder) remediation.Action {
	perms := []string{"ec2:DisableEbsEncryptionByDefault", "ec2:EnableEbsEncryptionByDefault", "ec2:GetEbsEncryptionByDefault"}
	return &action[awsres.AccountRegion, enabled, ebsDefaultAPI]{
		name: EBSEnableDefaultEncryption, resourceType: awsres.TypeAccountRegion, service: ec2.ServiceID, perms: perms, opts: &b.opts,
		clients: newRegional(b.ec2(EBSEnableDefaultEncryption, perms), func(c *ec2.Client) ebsDefaultAPI { return c }),
		fromDoc: accountRegionFromDoc, fromRef: accountRegionFromRef,
		plan: func(d *awsres.AccountRegion) (remediation.Plan, error) {
			if d.EBSEncryptionByDefault {
				return remediation.Plan{Noop: true, Change: "EBS encryption by default is already on in " + d.Region + " for account " + d.Account}, nil
			}
			return remediation.Plan{Change: "Turn on EBS encryption by default in " + d.Region + " for account " + d.Account +
				" (new volumes only; existing volumes stay as they are)"}, nil
		},
		apply: func(ctx context.Context, c ebsDefaultAPI, _ loc) (enabled, bool, error) {
			out, err := c.GetEbsEncryptionByDefault(ctx, &ec2.GetEbsEncryptionByDefaultInput{})
			if err != nil {
				return enabled{}, false, err
			}
			before := enabled{Enabled: aws.ToBool(out.EbsEncryptionByDefault)}
			if before.Enabled {
				return before, false, nil
			}
			_, err = c.EnableEbsEncryptionByDefault(ctx, &ec2.EnableEbsEncryptionByDefaultInput{})
			return before, true, err
		},
		undo: func(ctx context.Context, c ebsDefaultAPI, _ loc, before enabled) error {
			if before.Enabled {
				return nil
			}
			_, err := c.DisableEbsEncryptionByDefault(ctx, &ec2.DisableEbsEncryptionByDefaultInput{})
			return err
		},
	}
}
