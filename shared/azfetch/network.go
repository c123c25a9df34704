package azfetch

import (
	"context"
	"fmt"
	"net/netip"
	"strconv"
	"strings"

	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/network/armnetwork/v6"

	"github.com/driftwatch/driftwatch/shared/azres"
)

// securityGroupsAPI is what the network security group reader calls.
type securityGroupsAPI interface {
	Get(ctx context.Context, resourceGroupName string, networkSecurityGroupName string, options *armnetwork.SecurityGroupsClientGetOptions) (armnetwork.SecurityGroupsClientGetResponse, error)
}

var _ securityGroupsAPI = (*armnetwork.SecurityGroupsClient)(nil)

// fetchNSG reads a network security group with its custom rules. The
// default rules are left out: they are the same in every group and cannot
// open anything to the Internet.
func (f *Fetcher) fetchNSG(ctx context.Context, t target) (observation, error) {
	c, err := f.securityGroups.get(t.subscription)
	if err != nil {
		return observation{}, err
	}
	resp, err := c.Get(ctx, t.resourceGroup, t.name, nil)
	if err != nil {
		return observation{}, fmt.Errorf("network security group %s: %w", t.name, err)
	}
	g := resp.SecurityGroup
	id, rg, name := identity(t, g.ID, g.Name)
	var rules []*armnetwork.SecurityRule
	if g.Properties != nil {
		rules = g.Properties.SecurityRules
	}
	doc := &azres.NSG{
		ID:            id,
		Name:          name,
		ResourceGroup: rg,
		Location:      deref(g.Location),
		Rules:         make([]azres.NSGRule, 0, len(rules)),
		Tags:          tagMap(g.Tags),
	}
	for _, r := range rules {
		if r == nil {
			continue
		}
		rule, err := flattenRule(r)
		if err != nil {
			return observation{}, fmt.Errorf("network security group %s: %w", name, err)
		}
		doc.Rules = append(doc.Rules, rule)
	}
	return observation{id: id, name: name, region: doc.Location, tags: doc.Tags, doc: doc}, nil
}

// flattenRule merges a rule's single and plural prefix and port fields (ARM
// fills one or the other) and parses its ports.
func flattenRule(r *armnetwork.SecurityRule) (azres.NSGRule, error) {
	p := deref(r.Properties)
	rule := azres.NSGRule{
		Name:             deref(r.Name),
		Direction:        enumOr(p.Direction, ""),
		Access:           enumOr(p.Access, ""),
		Priority:         int64(deref(p.Priority)),
		Protocol:         enumOr(p.Protocol, ""),
		SourcePrefixes:   merge(p.SourceAddressPrefix, p.SourceAddressPrefixes),
		DestinationPorts: merge(p.DestinationPortRange, p.DestinationPortRanges),
	}
	if r.ID != nil {
		rule.ID = azres.CanonicalID(*r.ID)
	}
	rule.Ports = make([]azres.PortRange, 0, len(rule.DestinationPorts))
	for _, s := range rule.DestinationPorts {
		pr, err := ParsePortRange(s)
		if err != nil {
			return azres.NSGRule{}, fmt.Errorf("security rule %s: %w", rule.Name, err)
		}
		rule.Ports = append(rule.Ports, pr)
	}
	for _, s := range rule.SourcePrefixes {
		if IsInternet(s) {
			rule.FromInternet = true
			break
		}
	}
	return rule, nil
}

// merge returns the non-empty values of a single field and its plural
// companion, the single one first. It never returns nil.
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

// maxPort is the highest TCP/UDP port.
const maxPort = 65535

// ParsePortRange parses an NSG port range as ARM writes it: a port ("22"),
// an inclusive range ("1000-2000") or "*" (every port, 0-65535). Surrounding
// spaces are ignored; anything else (signs, lists, a reversed or
// out-of-range range) is an error wrapping ErrInvalidPortRange.
func ParsePortRange(s string) (azres.PortRange, error) {
	v := strings.TrimSpace(s)
	if v == "*" {
		return azres.PortRange{From: 0, To: maxPort}, nil
	}
	from, to, isRange := strings.Cut(v, "-")
	lo, err := parsePort(from)
	if err != nil {
		return azres.PortRange{}, fmt.Errorf("%w %q: %w", ErrInvalidPortRange, s, err)
	}
	hi := lo
	if isRange {
		if hi, err = parsePort(to); err != nil {
			return azres.PortRange{}, fmt.Errorf("%w %q: %w", ErrInvalidPortRange, s, err)
		}
		if lo > hi {
			return azres.PortRange{}, fmt.Errorf("%w %q: %d is above %d", ErrInvalidPortRange, s, lo, hi)
		}
	}
	return azres.PortRange{From: lo, To: hi}, nil
}

// parsePort accepts decimal digits only: strconv alone would take "+22".
func parsePort(s string) (int64, error) {
	if s == "" {
		return 0, fmt.Errorf("missing port")
	}
	for _, r := range s {
		if r < '0' || r > '9' {
			return 0, fmt.Errorf("%q is not a port number", s)
		}
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n > maxPort {
		return 0, fmt.Errorf("port %s is above %d", s, maxPort)
	}
	return n, nil
}

// IsInternet reports whether an NSG address prefix is the whole Internet:
// "*", "Any" or the "Internet" service tag (any case), or a /0 prefix
// (0.0.0.0/0, ::/0).
func IsInternet(prefix string) bool {
	p := strings.TrimSpace(prefix)
	switch {
	case p == "*", strings.EqualFold(p, "any"), strings.EqualFold(p, "internet"):
		return true
	}
	cidr, err := netip.ParsePrefix(p)
	return err == nil && cidr.Bits() == 0
}
