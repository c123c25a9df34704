package awsfetch

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/driftwatch/driftwatch/shared/awsres"
	"github.com/driftwatch/driftwatch/shared/change"
)

// defaultVPC returns the id of the VPC moto creates in every Region.
func (e *env) defaultVPC(t testing.TB) string {
	t.Helper()
	out, err := e.ec2.DescribeVpcs(e.ctx, &ec2.DescribeVpcsInput{Filters: []ec2types.Filter{{Name: aws.String("is-default"), Values: []string{"true"}}}})
	if err != nil || len(out.Vpcs) != 1 {
		t.Fatalf("default VPC: %v (%d found)", err, len(out.Vpcs))
	}
	return aws.ToString(out.Vpcs[0].VpcId)
}

func (e *env) createGroup(t testing.TB, name, desc string, tags map[string]string) string {
	t.Helper()
	in := &ec2.CreateSecurityGroupInput{GroupName: aws.String(name), Description: aws.String(desc), VpcId: aws.String(e.defaultVPC(t))}
	if len(tags) > 0 {
		spec := ec2types.TagSpecification{ResourceType: ec2types.ResourceTypeSecurityGroup}
		for k, v := range tags {
			spec.Tags = append(spec.Tags, ec2types.Tag{Key: aws.String(k), Value: aws.String(v)})
		}
		in.TagSpecifications = []ec2types.TagSpecification{spec}
	}
	out, err := e.ec2.CreateSecurityGroup(e.ctx, in)
	if err != nil {
		t.Fatal(err)
	}
	return aws.ToString(out.GroupId)
}

func tcp(port int32) ec2types.IpPermission {
	return ec2types.IpPermission{IpProtocol: aws.String("tcp"), FromPort: aws.Int32(port), ToPort: aws.Int32(port)}
}

var allEgress = awsres.SGRule{Protocol: "-1", FromPort: -1, ToPort: -1, CIDR: "0.0.0.0/0", Public: true}

func TestFetchSecurityGroup(t *testing.T) {
	tests := []struct {
		name  string
		setup func(t *testing.T, e *env) *awsres.SecurityGroup
	}{
		{
			name: "compliant: private sources only",
			setup: func(t *testing.T, e *env) *awsres.SecurityGroup {
				lb := e.createGroup(t, e.n("web-lb"), "load balancers", nil)
				id := e.createGroup(t, e.n("web-app"), "app servers behind the load balancer", map[string]string{"env": "prod"})
				https := tcp(443)
				https.IpRanges = []ec2types.IpRange{{CidrIp: aws.String("10.0.0.0/8"), Description: aws.String("corporate network")}}
				app := tcp(8080)
				app.UserIdGroupPairs = []ec2types.UserIdGroupPair{{GroupId: aws.String(lb), Description: aws.String("from the LB")}}
				must(t)(e.ec2.AuthorizeSecurityGroupIngress(e.ctx, &ec2.AuthorizeSecurityGroupIngressInput{GroupId: aws.String(id), IpPermissions: []ec2types.IpPermission{https, app}}))
				return &awsres.SecurityGroup{
					ID: id, Name: e.n("web-app"), Description: "app servers behind the load balancer", VPCID: e.defaultVPC(t),
					Ingress: []awsres.SGRule{
						{Protocol: "tcp", FromPort: 443, ToPort: 443, CIDR: "10.0.0.0/8", Description: "corporate network"},
						{Protocol: "tcp", FromPort: 8080, ToPort: 8080, ReferencedGroup: lb, Description: "from the LB"},
					},
					Egress: []awsres.SGRule{allEgress},
					Tags:   map[string]string{"env": "prod"},
				}
			},
		},
		{
			name: "non-compliant: SSH and RDP open to the Internet",
			setup: func(t *testing.T, e *env) *awsres.SecurityGroup {
				id := e.createGroup(t, e.n("bastion"), "jump hosts", nil)
				ssh := tcp(22)
				ssh.IpRanges = []ec2types.IpRange{{CidrIp: aws.String("0.0.0.0/0"), Description: aws.String("ssh world")}}
				rdp := tcp(3389)
				rdp.Ipv6Ranges = []ec2types.Ipv6Range{{CidrIpv6: aws.String("::/0")}}
				all := ec2types.IpPermission{IpProtocol: aws.String("-1"), IpRanges: []ec2types.IpRange{{CidrIp: aws.String("203.0.113.0/24")}}}
				must(t)(e.ec2.AuthorizeSecurityGroupIngress(e.ctx, &ec2.AuthorizeSecurityGroupIngressInput{GroupId: aws.String(id), IpPermissions: []ec2types.IpPermission{ssh, rdp, all}}))
				return &awsres.SecurityGroup{
					ID: id, Name: e.n("bastion"), Description: "jump hosts", VPCID: e.defaultVPC(t),
					Ingress: []awsres.SGRule{
						{Protocol: "tcp", FromPort: 22, ToPort: 22, CIDR: "0.0.0.0/0", Description: "ssh world", Public: true},
						{Protocol: "tcp", FromPort: 3389, ToPort: 3389, CIDR: "::/0", IPv6: true, Public: true},
						{Protocol: "-1", FromPort: -1, ToPort: -1, CIDR: "203.0.113.0/24"},
					},
					Egress: []awsres.SGRule{allEgress},
					Tags:   map[string]string{},
				}
			},
		},
		{
			name: "the VPC's default group, admitting SSH from anywhere",
			setup: func(t *testing.T, e *env) *awsres.SecurityGroup {
				out, err := e.ec2.DescribeSecurityGroups(e.ctx, &ec2.DescribeSecurityGroupsInput{Filters: []ec2types.Filter{
					{Name: aws.String("group-name"), Values: []string{"default"}},
					{Name: aws.String("vpc-id"), Values: []string{e.defaultVPC(t)}},
				}})
				if err != nil || len(out.SecurityGroups) != 1 {
					t.Fatalf("default group: %v", err)
				}
				sg := out.SecurityGroups[0]
				id := aws.ToString(sg.GroupId)
				ssh := tcp(22)
				ssh.IpRanges = []ec2types.IpRange{{CidrIp: aws.String("0.0.0.0/0")}}
				must(t)(e.ec2.AuthorizeSecurityGroupIngress(e.ctx, &ec2.AuthorizeSecurityGroupIngressInput{GroupId: aws.String(id), IpPermissions: []ec2types.IpPermission{ssh}}))
				// The default group is shared by every test: leave it as found.
				t.Cleanup(func() {
					_, err := e.ec2.RevokeSecurityGroupIngress(context.Background(), &ec2.RevokeSecurityGroupIngressInput{GroupId: aws.String(id), IpPermissions: []ec2types.IpPermission{ssh}})
					if err != nil {
						t.Error(err)
					}
				})
				return &awsres.SecurityGroup{
					ID: id, Name: "default", Description: aws.ToString(sg.Description), VPCID: e.defaultVPC(t), IsDefault: true,
					Ingress: []awsres.SGRule{{Protocol: "tcp", FromPort: 22, ToPort: 22, CIDR: "0.0.0.0/0", Public: true}},
					Egress:  []awsres.SGRule{allEgress},
					Tags:    map[string]string{},
				}
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			want := tc.setup(t, e)
			want.ARN = "arn:aws:ec2:us-east-1:" + motoAccount + ":security-group/" + want.ID
			ref := change.ResourceRef{Type: awsres.TypeSecurityGroup, ID: want.ARN, Account: motoAccount, Region: "us-east-1"}
			got := e.fetch(t, e.fetcher(nil), ref)
			if !got.Exists {
				t.Fatal("Exists = false for an existing group")
			}
			assertRef(t, got.Ref, change.ResourceRef{Type: awsres.TypeSecurityGroup, ID: want.ARN, Name: want.Name, Account: motoAccount, Region: "us-east-1"})
			doc := got.Doc.(*awsres.SecurityGroup)
			e.checkRuleIDs(t, want.ID, doc)
			assertJSON(t, "document", doc, want)
		})
	}
}

// checkRuleIDs checks that each rule's sgr- id names, in
// DescribeSecurityGroupRules, the same rule and source, and then clears the
// ids (the emulator generates them) so the rest can be compared.
func (e *env) checkRuleIDs(t *testing.T, group string, doc *awsres.SecurityGroup) {
	t.Helper()
	check := func(rules []awsres.SGRule, egress bool) {
		for i, r := range rules {
			if !strings.HasPrefix(r.RuleID, "sgr-") {
				t.Errorf("rule %+v: RuleID %q, want an sgr- id", r, r.RuleID)
				continue
			}
			out, err := e.ec2.DescribeSecurityGroupRules(e.ctx, &ec2.DescribeSecurityGroupRulesInput{SecurityGroupRuleIds: []string{r.RuleID}})
			if err != nil || len(out.SecurityGroupRules) != 1 {
				t.Fatalf("DescribeSecurityGroupRules %s: %v", r.RuleID, err)
			}
			sr := out.SecurityGroupRules[0]
			source := []string{aws.ToString(sr.CidrIpv4), aws.ToString(sr.CidrIpv6), aws.ToString(sr.PrefixListId)}
			if sr.ReferencedGroupInfo != nil {
				source = append(source, aws.ToString(sr.ReferencedGroupInfo.GroupId))
			}
			if aws.ToString(sr.GroupId) != group || aws.ToBool(sr.IsEgress) != egress || aws.ToString(sr.IpProtocol) != r.Protocol ||
				int64(aws.ToInt32(sr.FromPort)) != r.FromPort || !slices.Contains(source, r.CIDR+r.PrefixListID+r.ReferencedGroup) {
				t.Errorf("rule %+v has the id of another rule: %+v", r, sr)
			}
			rules[i].RuleID = ""
		}
	}
	check(doc.Ingress, false)
	check(doc.Egress, true)
}

func TestFetchSecurityGroupMissing(t *testing.T) {
	e := newEnv(t)
	id := e.createGroup(t, e.n("temp-debug"), "short-lived", nil)
	must(t)(e.ec2.DeleteSecurityGroup(e.ctx, &ec2.DeleteSecurityGroupInput{GroupId: aws.String(id)}))
	got := e.fetch(t, e.fetcher(nil), change.ResourceRef{Type: awsres.TypeSecurityGroup, Name: id, Account: motoAccount, Region: "us-east-1"})
	if got.Exists || got.Doc != nil {
		t.Errorf("deleted group: Exists=%v Doc=%v", got.Exists, got.Doc)
	}
	assertRef(t, got.Ref, change.ResourceRef{Type: awsres.TypeSecurityGroup, ID: "arn:aws:ec2:us-east-1:" + motoAccount + ":security-group/" + id, Name: id, Account: motoAccount, Region: "us-east-1"})
}

// BenchmarkFetchSecurityGroup measures one group fetch (the group and its
// rules, read in parallel) against moto on loopback.
func BenchmarkFetchSecurityGroup(b *testing.B) {
	e := newEnv(b)
	id := e.createGroup(b, e.n("bench-web"), "benchmark", map[string]string{"env": "bench"})
	ssh := tcp(22)
	ssh.IpRanges = []ec2types.IpRange{{CidrIp: aws.String("0.0.0.0/0")}}
	must(b)(e.ec2.AuthorizeSecurityGroupIngress(e.ctx, &ec2.AuthorizeSecurityGroupIngressInput{GroupId: aws.String(id), IpPermissions: []ec2types.IpPermission{ssh}}))
	f := e.fetcher(nil)
	ref := change.ResourceRef{Type: awsres.TypeSecurityGroup, Name: id, Account: motoAccount, Region: "us-east-1"}
	for b.Loop() {
		if _, err := f.Fetch(e.ctx, ref); err != nil {
			b.Fatal(err)
		}
	}
}

func TestFetchAccountRegion(t *testing.T) {
	// Each case uses its own Region: the setting is per Region and the
	// emulator is shared.
	tests := []struct {
		name   string
		region string
		setup  func(t *testing.T, e *env) *awsres.AccountRegion
	}{
		{
			name:   "compliant: encryption by default",
			region: "eu-west-1",
			setup: func(t *testing.T, e *env) *awsres.AccountRegion {
				must(t)(e.ec2.EnableEbsEncryptionByDefault(e.ctx, &ec2.EnableEbsEncryptionByDefaultInput{}))
				return &awsres.AccountRegion{Account: motoAccount, Region: e.region, EBSEncryptionByDefault: true}
			},
		},
		{
			name:   "non-compliant: never enabled",
			region: "eu-central-1",
			setup: func(t *testing.T, e *env) *awsres.AccountRegion {
				return &awsres.AccountRegion{Account: motoAccount, Region: e.region, EBSEncryptionByDefault: false}
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			// Not the fetcher's default Region, to show the reference's
			// Region is the one read.
			want := tc.setup(t, setupClients(e.ctx, emulator.URL, tc.region, e.suffix))
			f := New(motoConfig(emulator.URL, "us-east-1"), &Options{Now: func() time.Time { return testClock }})
			id := motoAccount + "/" + tc.region
			got := e.fetch(t, f, change.ResourceRef{Type: awsres.TypeAccountRegion, ID: id})
			if !got.Exists {
				t.Fatal("Exists = false")
			}
			assertRef(t, got.Ref, change.ResourceRef{Type: awsres.TypeAccountRegion, ID: id, Name: id, Account: motoAccount, Region: tc.region})
			assertJSON(t, "document", got.Doc, want)
		})
	}
}

// A reference carries the group's name for people; the canonical id alone
// says which group to read (a name is not a group id).
func TestFetchSecurityGroupByIDWithName(t *testing.T) {
	e := newEnv(t)
	id := e.createGroup(t, e.n("payments-web"), "web tier", nil)
	arn := "arn:aws:ec2:us-east-1:" + motoAccount + ":security-group/" + id
	got := e.fetch(t, e.fetcher(nil), change.ResourceRef{Type: awsres.TypeSecurityGroup, ID: arn, Name: e.n("payments-web"), Account: motoAccount, Region: "us-east-1"})
	if !got.Exists || got.Doc.(*awsres.SecurityGroup).ID != id {
		t.Fatalf("fetched %+v", got)
	}
}
