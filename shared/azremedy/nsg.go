package azremedy

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/runtime"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/network/armnetwork/v6"

	"github.com/driftwatch/driftwatch/shared/azfetch"
	"github.com/driftwatch/driftwatch/shared/azres"
	"github.com/driftwatch/driftwatch/shared/remediation"
)

// The ports whose exposure to the Internet the NSG rules fail: SSH and RDP.
var exposedPorts = []int64{22, 3389}

// ruleDoc flattens a security rule as the fetcher does (with its
// Internet-prefix and port-range readers, so that the action deletes what
// the fetched document shows): the single and plural prefix and port
// fields merged, the ports parsed.
func ruleDoc(r *armnetwork.SecurityRule) (azres.NSGRule, error) {
	d := azres.NSGRule{ID: azres.CanonicalID(deref(r.ID)), Name: deref(r.Name)}
	p := r.Properties
	if p == nil {
		return d, nil
	}
	d.Direction, d.Access = string(deref(p.Direction)), string(deref(p.Access))
	d.Priority, d.Protocol = int64(deref(p.Priority)), string(deref(p.Protocol))
	d.SourcePrefixes = merge(p.SourceAddressPrefix, p.SourceAddressPrefixes)
	d.DestinationPorts = merge(p.DestinationPortRange, p.DestinationPortRanges)
	d.FromInternet = slices.ContainsFunc(d.SourcePrefixes, azfetch.IsInternet)
	for _, s := range d.DestinationPorts {
		pr, err := azfetch.ParsePortRange(s)
		if err != nil {
			// Guessing could leave an open port in place.
			return d, fmt.Errorf("%w: security rule %s: %w", ErrInvalidTarget, d.Name, err)
		}
		d.Ports = append(d.Ports, pr)
	}
	return d, nil
}

// merge returns the non-empty values of a single field and its plural
// companion (ARM fills one or the other), the single one first.
func merge(one *string, many []*string) []string {
	out := make([]string, 0, 1+len(many))
	if s := strings.TrimSpace(deref(one)); s != "" {
		out = append(out, s)
	}
	for _, p := range many {
		if s := strings.TrimSpace(deref(p)); s != "" {
			out = append(out, s)
		}
	}
	return out
}

// exposes reports whether a rule is one the NSG rules fail, and so one
// azure_nsg_delete_internet_rule deletes: an inbound Allow rule from the
// Internet that reaches TCP 22 or 3389 (protocol Tcp or *), or every port
// 1-65535 over its ranges together (protocol Tcp, Udp or *). A test checks
// it against the rules' own verdicts.
func exposes(r azres.NSGRule) bool {
	if !strings.EqualFold(r.Direction, "Inbound") || !strings.EqualFold(r.Access, "Allow") ||
		!(r.FromInternet || slices.ContainsFunc(r.SourcePrefixes, azfetch.IsInternet)) {
		return false
	}
	proto := strings.ToLower(r.Protocol)
	if proto == "*" || proto == "tcp" {
		for _, port := range exposedPorts {
			if slices.ContainsFunc(r.Ports, func(p azres.PortRange) bool { return p.From <= port && port <= p.To }) {
				return true
			}
		}
	}
	return (proto == "*" || proto == "tcp" || proto == "udp") && coversAllPorts(r.Ports)
}

// coversAllPorts reports whether the ranges together cover every port
// from 1 to 65535.
func coversAllPorts(ranges []azres.PortRange) bool {
	sorted := slices.SortedFunc(slices.Values(ranges), func(a, b azres.PortRange) int { return cmp.Compare(a.From, b.From) })
	next := int64(1) // the lowest port not yet covered
	for _, p := range sorted {
		if p.From > next {
			return false
		}
		next = max(next, p.To+1)
	}
	return next > 65535
}

// describeNSGRule words a rule for people: "allow-ssh (priority 100):
// Tcp/22 from *".
func describeNSGRule(r azres.NSGRule) string {
	proto := r.Protocol
	if proto == "*" {
		proto = "any protocol"
	}
	return fmt.Sprintf("%s (priority %d): %s/%s from %s", r.Name, r.Priority, proto, strings.Join(r.DestinationPorts, ","), strings.Join(r.SourcePrefixes, ","))
}

// nsgRuleDef is one deleted security rule as a snapshot keeps it: its name
// and its full definition, so Undo recreates it exactly (same name, so the
// same ARM id).
type nsgRuleDef struct {
	Name string `json:"name"`
	// Properties are the rule's properties as ARM returned them, less the
	// read-only provisioning state.
	Properties *armnetwork.SecurityRulePropertiesFormat `json:"properties"`
}

// nsgAPI is what azure_nsg_delete_internet_rule calls.
type nsgAPI interface {
	NewListPager(resourceGroupName, networkSecurityGroupName string, options *armnetwork.SecurityRulesClientListOptions) *runtime.Pager[armnetwork.SecurityRulesClientListResponse]
	BeginDelete(ctx context.Context, resourceGroupName, networkSecurityGroupName, securityRuleName string, options *armnetwork.SecurityRulesClientBeginDeleteOptions) (*runtime.Poller[armnetwork.SecurityRulesClientDeleteResponse], error)
	BeginCreateOrUpdate(ctx context.Context, resourceGroupName, networkSecurityGroupName, securityRuleName string, securityRuleParameters armnetwork.SecurityRule, options *armnetwork.SecurityRulesClientBeginCreateOrUpdateOptions) (*runtime.Poller[armnetwork.SecurityRulesClientCreateOrUpdateResponse], error)
}

// listRules reads every custom security rule of the group (the default
// rules cannot be deleted and open nothing to the Internet).
func listRules(ctx context.Context, c nsgAPI, l loc) ([]*armnetwork.SecurityRule, error) {
	var out []*armnetwork.SecurityRule
	p := c.NewListPager(l.ResourceGroup, l.Name, nil)
	for p.More() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, err
		}
		for _, r := range page.Value {
			if r != nil && r.Name != nil {
				out = append(out, r)
			}
		}
	}
	return out, nil
}

// deleteRule deletes one rule and waits for the long-running operation to
// finish: the rule is gone only when it has.
func deleteRule(ctx context.Context, c nsgAPI, l loc, name string) error {
	p, err := c.BeginDelete(ctx, l.ResourceGroup, l.Name, name, nil)
	if err != nil {
		return fmt.Errorf("delete security rule %s: %w", name, err)
	}
	if _, err := p.PollUntilDone(ctx, nil); err != nil {
		return fmt.Errorf("delete security rule %s: %w", name, err)
	}
	return nil
}

// createRule (re)creates one rule from its definition and waits for it.
func createRule(ctx context.Context, c nsgAPI, l loc, r nsgRuleDef) error {
	p, err := c.BeginCreateOrUpdate(ctx, l.ResourceGroup, l.Name, r.Name, armnetwork.SecurityRule{Name: to.Ptr(r.Name), Properties: r.Properties}, nil)
	if err != nil {
		return fmt.Errorf("recreate security rule %s: %w", r.Name, err)
	}
	if _, err := p.PollUntilDone(ctx, nil); err != nil {
		return fmt.Errorf("recreate security rule %s: %w", r.Name, err)
	}
	return nil
}

// definition returns what a snapshot keeps of a rule.
func definition(r *armnetwork.SecurityRule) nsgRuleDef {
	var props *armnetwork.SecurityRulePropertiesFormat
	if r.Properties != nil {
		p := *r.Properties
		p.ProvisioningState = nil // read-only: ARM sets it
		props = &p
	}
	return nsgRuleDef{Name: *r.Name, Properties: props}
}

// nsgDeleteInternetRule deletes, one long-running delete per rule, exactly
// the security rules the NSG rules fail: inbound Allow rules from the
// Internet (*, Any, Internet, 0.0.0.0/0, ::/0) that reach TCP 22 or 3389
// or every port (see exposes). One action serves the SSH, RDP and
// all-ports rules, as ec2_revoke_public_ingress does for AWS: a rule
// opening both 22 and 3389 (a range, a list, *) cannot be half deleted.
// Every other rule stays. ARM has no call that deletes several rules at
// once, so when a delete fails the rules already deleted are recreated.
// The snapshot keeps each deleted rule's full definition; Undo recreates
// those that are missing, under the same names (rules someone has since
// recreated or changed are left as they are).
func nsgDeleteInternetRule(b *builder) remediation.Action {
	perms := []string{
		"Microsoft.Network/locations/operationResults/read",
		"Microsoft.Network/locations/operations/read",
		"Microsoft.Network/networkSecurityGroups/securityRules/delete",
		"Microsoft.Network/networkSecurityGroups/securityRules/read",
		"Microsoft.Network/networkSecurityGroups/securityRules/write",
	}
	return &action[azres.NSG, []nsgRuleDef, nsgAPI]{
		name: NSGDeleteInternetRule, resourceType: azres.TypeNSG, provider: ProviderNetwork, client: "SecurityRulesClient",
		perms: perms, opts: &b.opts,
		clients: clients(b, NSGDeleteInternetRule, ProviderNetwork, "SecurityRulesClient", perms, armnetwork.NewSecurityRulesClient, func(c *armnetwork.SecurityRulesClient) nsgAPI { return c }),
		docID:   func(d *azres.NSG) string { return d.ID },
		plan: func(d *azres.NSG) (remediation.Plan, error) {
			var open []string
			for _, r := range d.Rules {
				if exposes(r) {
					open = append(open, describeNSGRule(r))
				}
			}
			group := "network security group " + label(d.Name, d.ResourceGroup)
			if len(open) == 0 {
				return remediation.Plan{Noop: true, Change: group + " has no inbound rule allowing SSH, RDP or every port from the Internet"}, nil
			}
			return remediation.Plan{Change: fmt.Sprintf("Delete %s of %s allowing SSH, RDP or every port from the Internet: %s (every other rule stays)",
				plural(len(open), "security rule", "security rules"), group, strings.Join(open, "; "))}, nil
		},
		apply: func(ctx context.Context, c nsgAPI, l loc) ([]nsgRuleDef, bool, error) {
			rules, err := listRules(ctx, c, l)
			if err != nil {
				return nil, false, err
			}
			open := []nsgRuleDef{}
			for _, r := range rules {
				d, err := ruleDoc(r)
				if err != nil {
					return nil, false, err
				}
				if exposes(d) {
					open = append(open, definition(r))
				}
			}
			if len(open) == 0 {
				return open, false, nil
			}
			for i, r := range open {
				if err := deleteRule(ctx, c, l, r.Name); err != nil {
					// Put back what was deleted, including the rule whose
					// delete failed if it went anyway: a failed fix leaves
					// the group as it was.
					if rerr := restoreRules(ctx, c, l, open[:i+1]); rerr != nil {
						return nil, false, errors.Join(err, fmt.Errorf("restoring the rules already deleted also failed: %w", rerr))
					}
					return nil, false, err
				}
			}
			return open, true, nil
		},
		undo: func(ctx context.Context, c nsgAPI, l loc, before []nsgRuleDef) error {
			for _, r := range before {
				if r.Name == "" || r.Properties == nil {
					return fmt.Errorf("%w: %s: a deleted rule without a name or definition", ErrSnapshot, NSGDeleteInternetRule)
				}
			}
			return restoreRules(ctx, c, l, before)
		},
	}
}

// restoreRules recreates the rules of defs the group lacks, under their
// names; a rule of the same name that exists is left as it is. It is
// idempotent, so a failed restore can be retried.
func restoreRules(ctx context.Context, c nsgAPI, l loc, defs []nsgRuleDef) error {
	rules, err := listRules(ctx, c, l)
	if err != nil {
		return err
	}
	for _, r := range defs {
		if slices.ContainsFunc(rules, func(have *armnetwork.SecurityRule) bool { return strings.EqualFold(*have.Name, r.Name) }) {
			continue
		}
		if err := createRule(ctx, c, l, r); err != nil {
			return err
		}
	}
	return nil
}
