package gcpremedy

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"google.golang.org/api/compute/v1"

	"github.com/driftwatch/driftwatch/shared/gcpres"
	"github.com/driftwatch/driftwatch/shared/remediation"
)

// The ports whose exposure to the Internet the firewall rules fail: SSH
// and RDP, besides every port.
var exposedPorts = []int64{22, 3389}

// firewallDoc reads a firewall rule as the fetcher does (protocol
// lower-cased, ports parsed), so that the action disables what the fetched
// document shows.
func firewallDoc(fw *compute.Firewall) (gcpres.Firewall, error) {
	d := gcpres.Firewall{Name: fw.Name, Direction: fw.Direction, Disabled: fw.Disabled, Priority: fw.Priority, SourceRanges: fw.SourceRanges}
	d.FromInternet = slices.ContainsFunc(fw.SourceRanges, gcpres.IsInternet)
	for _, a := range fw.Allowed {
		if a == nil {
			continue
		}
		ranges, err := gcpres.ParsePorts(a.Ports)
		if err != nil {
			// Guessing could leave an open port in place.
			return d, fmt.Errorf("%w: firewall rule %s: %w", ErrInvalidTarget, fw.Name, err)
		}
		d.Allowed = append(d.Allowed, gcpres.FirewallEntry{Protocol: strings.ToLower(a.IPProtocol), Ports: a.Ports, PortRanges: ranges})
	}
	return d, nil
}

// exposingEntries returns the allowed entries of an enabled ingress rule
// from the Internet that the firewall rules fail (gcp_firewall_no_ingress_*):
// TCP 22 or 3389 (protocol tcp, 6 or all), or every port (protocol all,
// or tcp/udp with no ports or ranges covering 1-65535). A test checks it
// against the rules' own verdicts.
func exposingEntries(fw gcpres.Firewall) []gcpres.FirewallEntry {
	dir := strings.ToUpper(fw.Direction)
	if (dir != "" && dir != "INGRESS") || fw.Disabled ||
		!(fw.FromInternet || slices.ContainsFunc(fw.SourceRanges, gcpres.IsInternet)) {
		return nil
	}
	var out []gcpres.FirewallEntry
	for _, a := range fw.Allowed {
		if exposes(a) {
			out = append(out, a)
		}
	}
	return out
}

func exposes(a gcpres.FirewallEntry) bool {
	proto := strings.ToLower(a.Protocol)
	switch proto {
	case "all":
		return true
	case "tcp", "6":
		if len(a.Ports) == 0 {
			return true
		}
		for _, port := range exposedPorts {
			if slices.ContainsFunc(a.PortRanges, func(p gcpres.PortRange) bool { return p.From <= port && port <= p.To }) {
				return true
			}
		}
		return coversAllPorts(a.PortRanges)
	case "udp", "17":
		return len(a.Ports) == 0 || coversAllPorts(a.PortRanges)
	}
	return false
}

// coversAllPorts reports whether the ranges together cover every port
// from 1 to 65535.
func coversAllPorts(ranges []gcpres.PortRange) bool {
	sorted := slices.SortedFunc(slices.Values(ranges), func(a, b gcpres.PortRange) int { return int(a.From - b.From) })
	next := int64(1) // the lowest port not yet covered
	for _, p := range sorted {
		if p.From > next {
			return false
		}
		next = max(next, p.To+1)
	}
	return next > 65535
}

// describeEntries words entries for people: "tcp:22,3389; udp:all".
func describeEntries(es []gcpres.FirewallEntry) string {
	parts := make([]string, 0, len(es))
	for _, e := range es {
		ports := "all"
		if len(e.Ports) > 0 {
			ports = strings.Join(e.Ports, ",")
		}
		parts = append(parts, e.Protocol+":"+ports)
	}
	return strings.Join(parts, "; ")
}

// firewallAPI is what gcp_firewall_disable_rule calls.
type firewallAPI interface {
	GetFirewall(ctx context.Context, project, name string) (*compute.Firewall, error)
	PatchFirewall(ctx context.Context, project, name string, patch *compute.Firewall) (*compute.Operation, error)
	GetGlobalOperation(ctx context.Context, project, operation string) (*compute.Operation, error)
}

// setDisabled patches the rule's disabled flag and waits for the global
// operation: the rule is changed only when the operation is DONE without
// error.
func setDisabled(ctx context.Context, c firewallAPI, l loc, disabled bool, w waiting) error {
	op, err := c.PatchFirewall(ctx, l.Project, l.Name, &compute.Firewall{Disabled: disabled, ForceSendFields: []string{"Disabled"}})
	if err != nil {
		return err
	}
	return wait(ctx, w.every, w.timeout, op, computeDone, func(ctx context.Context) (*compute.Operation, error) {
		return c.GetGlobalOperation(ctx, l.Project, op.Name)
	})
}

// computeDone reports whether a Compute operation finished, and its error.
func computeDone(op *compute.Operation) (bool, error) {
	if op == nil {
		return false, fmt.Errorf("%w: the API returned no operation", ErrOperationFailed)
	}
	if op.Status != "DONE" {
		return false, nil
	}
	if op.Error != nil && len(op.Error.Errors) > 0 {
		e := op.Error.Errors[0]
		if e == nil {
			e = &compute.OperationErrorErrors{}
		}
		return true, &operationError{Kind: "Compute", Name: op.Name, Code: e.Code, Message: e.Message, HTTPStatus: op.HttpErrorStatusCode}
	}
	return true, nil
}

// firewallBefore is gcp_firewall_disable_rule's snapshot: the rule's
// disabled flag before (always false when Apply changed it).
type firewallBefore struct {
	Disabled bool `json:"disabled"`
}

// firewallDisableRule disables a VPC firewall rule that allows SSH, RDP
// or every port from the Internet (PATCH disabled=true, then waits for the
// global operation). Disabling, rather than deleting or narrowing, keeps
// the rule's definition intact and is undone by one flag: it serves the
// SSH, RDP and all-ports rules alike. A rule the firewall rules do not
// fail is left alone. Undo re-enables the rule, only when this action
// disabled it.
func firewallDisableRule(b *builder) (remediation.Action, error) {
	ops, perms := declare("GetFirewall", "PatchFirewall", "GetGlobalOperation")
	c, err := newComputeClient(b, FirewallDisableRule, ops)
	if err != nil {
		return nil, err
	}
	w := b.waiting()
	return &action[gcpres.Firewall, firewallBefore, firewallAPI]{
		name: FirewallDisableRule, resourceType: gcpres.TypeFirewall, perms: perms, opts: &b.opts, api: c,
		docID: func(d *gcpres.Firewall) string {
			if d.ID == "" && d.Project != "" && d.Name != "" {
				return gcpres.FirewallID(d.Project, d.Name)
			}
			return d.ID
		},
		plan: func(d *gcpres.Firewall) (remediation.Plan, error) {
			label := "firewall rule " + inProject(d.Name, d.Project)
			if d.Network != "" {
				label += " on network " + d.Network
			}
			open := exposingEntries(*d)
			if len(open) == 0 {
				why := " does not allow SSH, RDP or every port from the Internet"
				if d.Disabled {
					why = " is disabled"
				}
				return remediation.Plan{Noop: true, Change: label + why}, nil
			}
			sources := slices.DeleteFunc(slices.Clone(d.SourceRanges), func(s string) bool { return !gcpres.IsInternet(s) })
			return remediation.Plan{Change: fmt.Sprintf("Disable %s, which allows %s from %s (disabled: false -> true); traffic only this rule allowed is dropped from then on",
				label, describeEntries(open), strings.Join(sources, ", "))}, nil
		},
		apply: func(ctx context.Context, c firewallAPI, l loc) (firewallBefore, bool, error) {
			fw, err := c.GetFirewall(ctx, l.Project, l.Name)
			if err != nil {
				return firewallBefore{}, false, err
			}
			d, err := firewallDoc(fw)
			if err != nil {
				return firewallBefore{}, false, err
			}
			before := firewallBefore{Disabled: fw.Disabled}
			if len(exposingEntries(d)) == 0 {
				return before, false, nil
			}
			return before, true, setDisabled(ctx, c, l, true, w)
		},
		undo: func(ctx context.Context, c firewallAPI, l loc, before firewallBefore) error {
			fw, err := c.GetFirewall(ctx, l.Project, l.Name)
			if err != nil {
				return err
			}
			if !fw.Disabled {
				return nil
			}
			return setDisabled(ctx, c, l, false, w)
		},
		check: func(before firewallBefore) error {
			if before.Disabled {
				return fmt.Errorf("the rule was already disabled: Apply did not disable it")
			}
			return nil
		},
	}, nil
}
