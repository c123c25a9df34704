package azfetch

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/sql/armsql"

	"github.com/driftwatch/driftwatch/shared/azres"
	"github.com/driftwatch/driftwatch/shared/change"
)

func firewallRuleOf(serverID, name, start, end string) *armsql.FirewallRule {
	return &armsql.FirewallRule{ID: ptr(serverID + "/firewallRules/" + name), Name: ptr(name), Type: ptr("Microsoft.Sql/servers/firewallRules"),
		Properties: &armsql.ServerFirewallRuleProperties{StartIPAddress: ptr(start), EndIPAddress: ptr(end)}}
}

func TestFetchSQLServer(t *testing.T) {
	id := armID("RG-Data", "Microsoft.Sql", "servers", "sql-orders")
	cid := azres.CanonicalID(id)
	tests := []struct {
		name     string
		server   armsql.Server
		firewall [][]*armsql.FirewallRule
		audit    armsql.ServerBlobAuditingPolicyProperties
		want     *azres.SQLServer
	}{
		{
			name: "compliant: private, TLS 1.2, office-only firewall, auditing kept 180 days",
			server: armsql.Server{ID: ptr(id), Name: ptr("sql-orders"), Location: ptr("westeurope"), Tags: map[string]*string{"owner": ptr("data")},
				Properties: &armsql.ServerProperties{PublicNetworkAccess: ptr(armsql.ServerNetworkAccessFlagDisabled), MinimalTLSVersion: ptr("1.2")}},
			firewall: [][]*armsql.FirewallRule{{firewallRuleOf(id, "office", "203.0.113.0", "203.0.113.255")}},
			audit:    armsql.ServerBlobAuditingPolicyProperties{State: ptr(armsql.BlobAuditingPolicyStateEnabled), RetentionDays: ptr[int32](180)},
			want: &azres.SQLServer{ID: cid, Name: "sql-orders", ResourceGroup: "RG-Data", Location: "westeurope",
				PublicNetworkAccess: "Disabled", MinimalTLSVersion: "1.2",
				FirewallRules:   []azres.SQLFirewallRule{{ID: cid + "/firewallrules/office", Name: "office", StartIP: "203.0.113.0", EndIP: "203.0.113.255"}},
				AuditingEnabled: true, AuditingRetentionDays: 180, Tags: map[string]string{"owner": "data"}},
		},
		{
			name: "non-compliant: public, TLS 1.0, allow-all and Azure-services rules over two pages, no auditing",
			server: armsql.Server{ID: ptr(id), Name: ptr("sql-orders"), Location: ptr("westeurope"),
				Properties: &armsql.ServerProperties{PublicNetworkAccess: ptr(armsql.ServerNetworkAccessFlagEnabled), MinimalTLSVersion: ptr("1.0")}},
			firewall: [][]*armsql.FirewallRule{
				{firewallRuleOf(id, "AllowAll", "0.0.0.0", "255.255.255.255"), firewallRuleOf(id, "office", "203.0.113.0", "203.0.113.255")},
				{firewallRuleOf(id, "AllowAllWindowsAzureIps", "0.0.0.0", "0.0.0.0")},
			},
			audit: armsql.ServerBlobAuditingPolicyProperties{State: ptr(armsql.BlobAuditingPolicyStateDisabled), RetentionDays: ptr[int32](0)},
			want: &azres.SQLServer{ID: cid, Name: "sql-orders", ResourceGroup: "RG-Data", Location: "westeurope",
				PublicNetworkAccess: "Enabled", MinimalTLSVersion: "1.0",
				FirewallRules: []azres.SQLFirewallRule{
					{ID: cid + "/firewallrules/allowall", Name: "AllowAll", StartIP: "0.0.0.0", EndIP: "255.255.255.255", AllowsAll: true},
					{ID: cid + "/firewallrules/office", Name: "office", StartIP: "203.0.113.0", EndIP: "203.0.113.255"},
					{ID: cid + "/firewallrules/allowallwindowsazureips", Name: "AllowAllWindowsAzureIps", StartIP: "0.0.0.0", EndIP: "0.0.0.0", AllowsAzureServices: true},
				},
				AuditingEnabled: false, AuditingRetentionDays: 0, Tags: map[string]string{}},
		},
		{
			name:   "no firewall rules, nothing set",
			server: armsql.Server{ID: ptr(id), Name: ptr("sql-orders"), Location: ptr("westeurope")},
			want: &azres.SQLServer{ID: cid, Name: "sql-orders", ResourceGroup: "RG-Data", Location: "westeurope",
				FirewallRules: []azres.SQLFirewallRule{}, Tags: map[string]string{}},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			w := newWorld()
			k := key("rg-data", "sql-orders")
			w.servers[k] = tc.server
			w.firewall[k] = tc.firewall
			w.auditing[k] = armsql.ServerBlobAuditingPolicy{ID: ptr(id + "/auditingSettings/Default"), Name: ptr("Default"), Properties: &tc.audit}
			got := fetch(t, w.fetcher(nil), ref(azres.TypeSQLServer, id))
			assertFound(t, got, change.ResourceRef{Type: azres.TypeSQLServer, ID: cid, Name: "sql-orders", Region: "westeurope"}, tc.want.Tags)
			assertJSON(t, "document", got.Doc, tc.want)
		})
	}
}

func TestFetchSQLDatabase(t *testing.T) {
	serverID := armID("RG-Data", "Microsoft.Sql", "servers", "sql-orders")
	id := serverID + "/databases/orders"
	cid := azres.CanonicalID(id)
	for _, tc := range []struct {
		name  string
		state armsql.TransparentDataEncryptionState
	}{
		{"compliant: TDE on", armsql.TransparentDataEncryptionStateEnabled},
		{"non-compliant: TDE off", armsql.TransparentDataEncryptionStateDisabled},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := newWorld()
			w.servers[key("rg-data", "sql-orders")] = armsql.Server{ID: ptr(serverID), Name: ptr("sql-orders")}
			w.databases[key("rg-data", "sql-orders", "orders")] = armsql.Database{ID: ptr(id), Name: ptr("orders"), Location: ptr("westeurope"),
				Tags: map[string]*string{"pii": ptr("yes")}}
			w.tde[key("rg-data", "sql-orders", "orders")] = armsql.LogicalDatabaseTransparentDataEncryption{
				ID: ptr(id + "/transparentDataEncryption/Current"), Name: ptr("Current"),
				Properties: &armsql.TransparentDataEncryptionProperties{State: ptr(tc.state)}}
			got := fetch(t, w.fetcher(nil), ref(azres.TypeSQLDatabase, id))
			assertFound(t, got, change.ResourceRef{Type: azres.TypeSQLDatabase, ID: cid, Name: "orders", Region: "westeurope"}, map[string]string{"pii": "yes"})
			assertJSON(t, "document", got.Doc, &azres.SQLDatabase{ID: cid, Name: "orders", Server: "sql-orders", ResourceGroup: "RG-Data",
				Location: "westeurope", TDEEnabled: tc.state == armsql.TransparentDataEncryptionStateEnabled, Tags: map[string]string{"pii": "yes"}})
		})
	}
}

// TestFetchSQLDatabaseOfDeletedServer: ARM answers ParentResourceNotFound
// for a database of a server that is gone; the database does not exist.
func TestFetchSQLDatabaseOfDeletedServer(t *testing.T) {
	id := armID("rg-data", "Microsoft.Sql", "servers", "sql-gone") + "/databases/orders"
	w := newWorld()
	got := fetch(t, w.fetcher(nil), ref(azres.TypeSQLDatabase, id))
	if got.Exists || got.Doc != nil {
		t.Fatalf("Exists = %v, Doc = %v; want a missing database", got.Exists, got.Doc)
	}
	want := change.ResourceRef{Cloud: change.Azure, Type: azres.TypeSQLDatabase, ID: azres.CanonicalID(id), Name: "orders", Account: testSub}
	if got.Ref != want {
		t.Errorf("Ref = %+v\nwant  %+v", got.Ref, want)
	}
}

// TestSQLReadsRunConcurrently counts the calls in flight inside the fakes:
// each call waits until every read of the fetch has arrived, so the fetch
// completes only if the reads overlap. The context deadline only stops a
// sequential implementation from hanging; no duration is measured.
func TestSQLReadsRunConcurrently(t *testing.T) {
	serverID := armID("rg-data", "Microsoft.Sql", "servers", "sql-orders")
	tests := []struct {
		name string
		typ  string
		id   string
		apis []string
	}{
		{"server", azres.TypeSQLServer, serverID, []string{"ServersClient.Get", "FirewallRulesClient.NewListByServerPager", "ServerBlobAuditingPoliciesClient.Get"}},
		{"database", azres.TypeSQLDatabase, serverID + "/databases/orders", []string{"DatabasesClient.Get", "TransparentDataEncryptionsClient.Get"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			w := newWorld()
			k := key("rg-data", "sql-orders")
			w.servers[k] = armsql.Server{ID: ptr(serverID), Name: ptr("sql-orders"), Location: ptr("westeurope")}
			w.auditing[k] = armsql.ServerBlobAuditingPolicy{}
			w.databases[key("rg-data", "sql-orders", "orders")] = armsql.Database{ID: ptr(serverID + "/databases/orders"), Name: ptr("orders")}
			w.tde[key("rg-data", "sql-orders", "orders")] = armsql.LogicalDatabaseTransparentDataEncryption{}

			ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
			defer cancel()
			var (
				mu                sync.Mutex
				inFlight, maxSeen int
				seen              = map[string]bool{}
				allArrived        = make(chan struct{})
			)
			w.hook = func(api string) {
				mu.Lock()
				inFlight++
				maxSeen = max(maxSeen, inFlight)
				seen[api] = true
				if inFlight == len(tc.apis) {
					close(allArrived)
				}
				mu.Unlock()
				select {
				case <-allArrived:
				case <-ctx.Done():
				}
				mu.Lock()
				inFlight--
				mu.Unlock()
			}
			_, err := w.fetcher(nil).Fetch(ctx, ref(tc.typ, tc.id))
			mu.Lock()
			defer mu.Unlock()
			if err != nil || maxSeen != len(tc.apis) {
				t.Fatalf("Fetch: %v; at most %d of the %d reads were in flight together, want all", err, maxSeen, len(tc.apis))
			}
			for _, api := range tc.apis {
				if !seen[api] {
					t.Errorf("%s was not called", api)
				}
			}
		})
	}
}
