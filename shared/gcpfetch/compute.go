package gcpfetch

import (
	"context"
	"fmt"
	"strings"

	compute "google.golang.org/api/compute/v1"

	"github.com/driftwatch/driftwatch/shared/gcpres"
)

// computeAPI is what the firewall reader calls.
type computeAPI interface {
	GetFirewall(ctx context.Context, project, firewall string) (*compute.Firewall, error)
}

type computeClient struct{ s *compute.Service }

func (c computeClient) GetFirewall(ctx context.Context, project, firewall string) (*compute.Firewall, error) {
	return c.s.Firewalls.Get(project, firewall).Context(ctx).Do()
}

// fetchFirewall reads a VPC firewall rule. An ingress rule is from the
// Internet when a source range is 0.0.0.0/0 or ::/0, or when it has no
// source at all (no ranges, tags or service accounts), which Compute
// Engine treats as 0.0.0.0/0.
func (f *Fetcher) fetchFirewall(ctx context.Context, t target) (observation, error) {
	fw, err := f.compute.GetFirewall(ctx, t.project, t.name)
	if err != nil {
		return observation{}, fmt.Errorf("firewall %s/%s: %w", t.project, t.name, err)
	}
	name := firstNonEmpty(fw.Name, t.name)
	doc := &gcpres.Firewall{
		ID:           gcpres.FirewallID(t.project, name),
		Name:         name,
		Project:      t.project,
		Network:      lastSegment(fw.Network),
		Direction:    fw.Direction,
		Disabled:     fw.Disabled,
		Priority:     fw.Priority,
		SourceRanges: orEmpty(fw.SourceRanges),
		SourceTags:   orEmpty(fw.SourceTags),
		TargetTags:   orEmpty(fw.TargetTags),
		Allowed:      []gcpres.FirewallEntry{},
		Denied:       []gcpres.FirewallEntry{},
	}
	for _, a := range fw.Allowed {
		if a == nil {
			continue
		}
		e, err := firewallEntry(a.IPProtocol, a.Ports)
		if err != nil {
			return observation{}, fmt.Errorf("firewall %s/%s: %w", t.project, name, err)
		}
		doc.Allowed = append(doc.Allowed, e)
	}
	for _, d := range fw.Denied {
		if d == nil {
			continue
		}
		e, err := firewallEntry(d.IPProtocol, d.Ports)
		if err != nil {
			return observation{}, fmt.Errorf("firewall %s/%s: %w", t.project, name, err)
		}
		doc.Denied = append(doc.Denied, e)
	}
	if !strings.EqualFold(doc.Direction, "EGRESS") {
		for _, r := range doc.SourceRanges {
			doc.FromInternet = doc.FromInternet || gcpres.IsInternet(r)
		}
		if len(fw.SourceRanges) == 0 && len(fw.SourceTags) == 0 && len(fw.SourceServiceAccounts) == 0 {
			doc.FromInternet = true
		}
	}
	return observation{id: doc.ID, name: name, labels: map[string]string{}, doc: doc}, nil
}

// firewallEntry parses one allowed or denied entry.
func firewallEntry(protocol string, ports []string) (gcpres.FirewallEntry, error) {
	ranges, err := gcpres.ParsePorts(ports)
	if err != nil {
		return gcpres.FirewallEntry{}, fmt.Errorf("%w: %w", ErrInvalidResponse, err)
	}
	return gcpres.FirewallEntry{Protocol: strings.ToLower(protocol), Ports: orEmpty(ports), PortRanges: ranges}, nil
}

// lastSegment returns a URL's or name's last path segment: the network's
// name in https://www.googleapis.com/compute/v1/projects/p/global/networks/vpc.
func lastSegment(s string) string {
	return s[strings.LastIndex(s, "/")+1:]
}
