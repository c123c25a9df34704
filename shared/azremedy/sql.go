package azremedy

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/runtime"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/sql/armsql"

	"github.com/driftwatch/driftwatch/shared/azres"
	"github.com/driftwatch/driftwatch/shared/remediation"
)

// The range of a server firewall rule that admits the whole IPv4 Internet.
const (
	allowAllStart = "0.0.0.0"
	allowAllEnd   = "255.255.255.255"
)

// allowsAll reports whether a firewall rule's range is
// 0.0.0.0-255.255.255.255 (azres.SQLFirewallRule.AllowsAll).
func allowsAll(start, end string) bool {
	return strings.TrimSpace(start) == allowAllStart && strings.TrimSpace(end) == allowAllEnd
}

// sqlRule is one deleted server firewall rule as a snapshot keeps it: all
// a firewall rule is.
type sqlRule struct {
	Name    string `json:"name"`
	StartIP string `json:"start_ip"`
	EndIP   string `json:"end_ip"`
}

// sqlAPI is what azure_sql_delete_allow_all_firewall_rule calls.
type sqlAPI interface {
	NewListByServerPager(resourceGroupName, serverName string, options *armsql.FirewallRulesClientListByServerOptions) *runtime.Pager[armsql.FirewallRulesClientListByServerResponse]
	Delete(ctx context.Context, resourceGroupName, serverName, firewallRuleName string, options *armsql.FirewallRulesClientDeleteOptions) (armsql.FirewallRulesClientDeleteResponse, error)
	CreateOrUpdate(ctx context.Context, resourceGroupName, serverName, firewallRuleName string, parameters armsql.FirewallRule, options *armsql.FirewallRulesClientCreateOrUpdateOptions) (armsql.FirewallRulesClientCreateOrUpdateResponse, error)
}

// listFirewallRules reads every firewall rule of the server.
func listFirewallRules(ctx context.Context, c sqlAPI, l loc) ([]sqlRule, error) {
	var out []sqlRule
	p := c.NewListByServerPager(l.ResourceGroup, l.Name, nil)
	for p.More() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, err
		}
		for _, r := range page.Value {
			if r == nil || r.Name == nil {
				continue
			}
			sr := sqlRule{Name: *r.Name}
			if r.Properties != nil {
				sr.StartIP, sr.EndIP = deref(r.Properties.StartIPAddress), deref(r.Properties.EndIPAddress)
			}
			out = append(out, sr)
		}
	}
	return out, nil
}

// restoreFirewallRules recreates the rules of defs the server lacks, under
// their names; a rule of the same name that exists is left as it is.
func restoreFirewallRules(ctx context.Context, c sqlAPI, l loc, defs []sqlRule) error {
	have, err := listFirewallRules(ctx, c, l)
	if err != nil {
		return err
	}
	for _, r := range defs {
		if slices.ContainsFunc(have, func(h sqlRule) bool { return strings.EqualFold(h.Name, r.Name) }) {
			continue
		}
		_, err := c.CreateOrUpdate(ctx, l.ResourceGroup, l.Name, r.Name, armsql.FirewallRule{
			Name:       to.Ptr(r.Name),
			Properties: &armsql.ServerFirewallRuleProperties{StartIPAddress: to.Ptr(r.StartIP), EndIPAddress: to.Ptr(r.EndIP)},
		}, nil)
		if err != nil {
			return fmt.Errorf("recreate firewall rule %s: %w", r.Name, err)
		}
	}
	return nil
}

// sqlDeleteAllowAllFirewallRule deletes the SQL server's firewall rules
// whose range is 0.0.0.0-255.255.255.255 (the whole Internet). Every other
// rule stays, "Allow Azure services" (0.0.0.0-0.0.0.0) included. When a
// delete fails the rules already deleted are recreated. The snapshot keeps
// each deleted rule (name and range); Undo recreates those that are
// missing.
func sqlDeleteAllowAllFirewallRule(b *builder) remediation.Action {
	perms := []string{"Microsoft.Sql/servers/firewallRules/delete", "Microsoft.Sql/servers/firewallRules/read", "Microsoft.Sql/servers/firewallRules/write"}
	return &action[azres.SQLServer, []sqlRule, sqlAPI]{
		name: SQLDeleteAllowAllFirewallRule, resourceType: azres.TypeSQLServer, provider: ProviderSQL, client: "FirewallRulesClient",
		perms: perms, opts: &b.opts,
		clients: clients(b, SQLDeleteAllowAllFirewallRule, ProviderSQL, "FirewallRulesClient", perms, armsql.NewFirewallRulesClient, func(c *armsql.FirewallRulesClient) sqlAPI { return c }),
		docID:   func(d *azres.SQLServer) string { return d.ID },
		plan: func(d *azres.SQLServer) (remediation.Plan, error) {
			var all []string
			for _, r := range d.FirewallRules {
				if r.AllowsAll || allowsAll(r.StartIP, r.EndIP) {
					all = append(all, fmt.Sprintf("%s (%s-%s)", r.Name, r.StartIP, r.EndIP))
				}
			}
			server := "SQL server " + label(d.Name, d.ResourceGroup)
			if len(all) == 0 {
				return remediation.Plan{Noop: true, Change: server + " has no firewall rule allowing every IP address"}, nil
			}
			return remediation.Plan{Change: fmt.Sprintf("Delete %s of %s allowing every IP address: %s (every other rule stays; clients outside the remaining rules lose access)",
				plural(len(all), "firewall rule", "firewall rules"), server, strings.Join(all, ", "))}, nil
		},
		apply: func(ctx context.Context, c sqlAPI, l loc) ([]sqlRule, bool, error) {
			rules, err := listFirewallRules(ctx, c, l)
			if err != nil {
				return nil, false, err
			}
			all := []sqlRule{}
			for _, r := range rules {
				if allowsAll(r.StartIP, r.EndIP) {
					all = append(all, r)
				}
			}
			if len(all) == 0 {
				return all, false, nil
			}
			for i, r := range all {
				if _, err := c.Delete(ctx, l.ResourceGroup, l.Name, r.Name, nil); err != nil {
					err = fmt.Errorf("delete firewall rule %s: %w", r.Name, err)
					if rerr := restoreFirewallRules(ctx, c, l, all[:i+1]); rerr != nil {
						return nil, false, errors.Join(err, fmt.Errorf("restoring the rules already deleted also failed: %w", rerr))
					}
					return nil, false, err
				}
			}
			return all, true, nil
		},
		undo: func(ctx context.Context, c sqlAPI, l loc, before []sqlRule) error {
			for _, r := range before {
				if r.Name == "" || r.StartIP == "" || r.EndIP == "" {
					return fmt.Errorf("%w: %s: a deleted rule without a name or range", ErrSnapshot, SQLDeleteAllowAllFirewallRule)
				}
			}
			return restoreFirewallRules(ctx, c, l, before)
		},
	}
}
