package azfetch

import (
	"context"
	"fmt"
	"net/netip"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/arm"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/runtime"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/sql/armsql"

	"github.com/driftwatch/driftwatch/shared/azres"
)

// sqlServersAPI, firewallRulesAPI and auditingAPI are what the SQL server
// reader calls; databasesAPI and tdeAPI what the database reader calls.
type (
	sqlServersAPI interface {
		Get(ctx context.Context, resourceGroupName string, serverName string, options *armsql.ServersClientGetOptions) (armsql.ServersClientGetResponse, error)
	}
	firewallRulesAPI interface {
		NewListByServerPager(resourceGroupName string, serverName string, options *armsql.FirewallRulesClientListByServerOptions) *runtime.Pager[armsql.FirewallRulesClientListByServerResponse]
	}
	auditingAPI interface {
		Get(ctx context.Context, resourceGroupName string, serverName string, options *armsql.ServerBlobAuditingPoliciesClientGetOptions) (armsql.ServerBlobAuditingPoliciesClientGetResponse, error)
	}
	databasesAPI interface {
		Get(ctx context.Context, resourceGroupName string, serverName string, databaseName string, options *armsql.DatabasesClientGetOptions) (armsql.DatabasesClientGetResponse, error)
	}
	tdeAPI interface {
		Get(ctx context.Context, resourceGroupName string, serverName string, databaseName string, tdeName armsql.TransparentDataEncryptionName, options *armsql.TransparentDataEncryptionsClientGetOptions) (armsql.TransparentDataEncryptionsClientGetResponse, error)
	}
)

var (
	_ sqlServersAPI    = (*armsql.ServersClient)(nil)
	_ firewallRulesAPI = (*armsql.FirewallRulesClient)(nil)
	_ auditingAPI      = (*armsql.ServerBlobAuditingPoliciesClient)(nil)
	_ databasesAPI     = (*armsql.DatabasesClient)(nil)
	_ tdeAPI           = (*armsql.TransparentDataEncryptionsClient)(nil)
)

// The two firewall rule ranges with a meaning of their own.
var (
	ipv4Zero = netip.IPv4Unspecified()
	ipv4Max  = netip.AddrFrom4([4]byte{255, 255, 255, 255})
)

// fetchSQLServer reads a logical server, its firewall rules and its
// auditing policy at once.
func (f *Fetcher) fetchSQLServer(ctx context.Context, t target) (observation, error) {
	servers, err := f.sqlServers.get(t.subscription)
	if err != nil {
		return observation{}, err
	}
	rulesClient, err := f.firewallRules.get(t.subscription)
	if err != nil {
		return observation{}, err
	}
	auditClient, err := f.auditing.get(t.subscription)
	if err != nil {
		return observation{}, err
	}
	var (
		srv   armsql.Server
		rules = []azres.SQLFirewallRule{}
		audit armsql.ServerBlobAuditingPolicyProperties
	)
	g := newGroup(ctx)
	g.Go(func(ctx context.Context) error {
		resp, err := servers.Get(ctx, t.resourceGroup, t.name, nil)
		srv = resp.Server
		return err
	})
	g.Go(func(ctx context.Context) error {
		p := rulesClient.NewListByServerPager(t.resourceGroup, t.name, nil)
		for p.More() {
			page, err := p.NextPage(ctx)
			if err != nil {
				return err
			}
			for _, r := range page.Value {
				if r != nil {
					rules = append(rules, firewallRule(r))
				}
			}
		}
		return nil
	})
	g.Go(func(ctx context.Context) error {
		resp, err := auditClient.Get(ctx, t.resourceGroup, t.name, nil)
		audit = deref(resp.Properties)
		return err
	})
	if err := g.Wait(); err != nil {
		return observation{}, fmt.Errorf("SQL server %s: %w", t.name, err)
	}
	p := deref(srv.Properties)
	id, rg, name := identity(t, srv.ID, srv.Name)
	doc := &azres.SQLServer{
		ID:                    id,
		Name:                  name,
		ResourceGroup:         rg,
		Location:              deref(srv.Location),
		PublicNetworkAccess:   enumOr(p.PublicNetworkAccess, ""),
		MinimalTLSVersion:     deref(p.MinimalTLSVersion),
		FirewallRules:         rules,
		AuditingEnabled:       enumOr(audit.State, "") == string(armsql.BlobAuditingPolicyStateEnabled),
		AuditingRetentionDays: int64(deref(audit.RetentionDays)),
		Tags:                  tagMap(srv.Tags),
	}
	return observation{id: id, name: name, region: doc.Location, tags: doc.Tags, doc: doc}, nil
}

// firewallRule classifies a rule by its range. Addresses are compared
// parsed, so an unusual spelling cannot hide 0.0.0.0.
func firewallRule(r *armsql.FirewallRule) azres.SQLFirewallRule {
	p := deref(r.Properties)
	out := azres.SQLFirewallRule{Name: deref(r.Name), StartIP: deref(p.StartIPAddress), EndIP: deref(p.EndIPAddress)}
	if r.ID != nil {
		out.ID = azres.CanonicalID(*r.ID)
	}
	start, err1 := netip.ParseAddr(out.StartIP)
	end, err2 := netip.ParseAddr(out.EndIP)
	if err1 == nil && err2 == nil {
		start, end = start.Unmap(), end.Unmap()
		out.AllowsAll = start == ipv4Zero && end == ipv4Max
		out.AllowsAzureServices = start == ipv4Zero && end == ipv4Zero
	}
	return out
}

// fetchSQLDatabase reads a database and its Transparent Data Encryption
// state at once.
func (f *Fetcher) fetchSQLDatabase(ctx context.Context, t target) (observation, error) {
	dbs, err := f.databases.get(t.subscription)
	if err != nil {
		return observation{}, err
	}
	tdes, err := f.tde.get(t.subscription)
	if err != nil {
		return observation{}, err
	}
	var (
		db  armsql.Database
		tde armsql.TransparentDataEncryptionProperties
	)
	g := newGroup(ctx)
	g.Go(func(ctx context.Context) error {
		resp, err := dbs.Get(ctx, t.resourceGroup, t.parent, t.name, nil)
		db = resp.Database
		return err
	})
	g.Go(func(ctx context.Context) error {
		resp, err := tdes.Get(ctx, t.resourceGroup, t.parent, t.name, armsql.TransparentDataEncryptionNameCurrent, nil)
		tde = deref(resp.Properties)
		return err
	})
	if err := g.Wait(); err != nil {
		return observation{}, fmt.Errorf("SQL database %s/%s: %w", t.parent, t.name, err)
	}
	id, rg, name := identity(t, db.ID, db.Name)
	doc := &azres.SQLDatabase{
		ID:            id,
		Name:          name,
		Server:        t.parent,
		ResourceGroup: rg,
		Location:      deref(db.Location),
		TDEEnabled:    enumOr(tde.State, "") == string(armsql.TransparentDataEncryptionStateEnabled),
		Tags:          tagMap(db.Tags),
	}
	if db.ID != nil {
		if server := serverOf(*db.ID); server != "" {
			doc.Server = server
		}
	}
	return observation{id: id, name: name, region: doc.Location, tags: doc.Tags, doc: doc}, nil
}

// serverOf returns the server name in a database's ARM id ("" when the id
// does not parse), in the case the API reports it.
func serverOf(databaseID string) string {
	rid, err := arm.ParseResourceID(databaseID)
	if err != nil || rid.Parent == nil {
		return ""
	}
	return rid.Parent.Name
}
