package azdemo

import (
	"net/http"
	"testing"
)

func TestAPIName(t *testing.T) {
	const nsg = "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Network/networkSecurityGroups/nsg-web"
	for _, tc := range []struct {
		method, path, want string
	}{
		{http.MethodGet, nsg, "SecurityGroupsClient.Get"},
		{http.MethodPut, nsg, "SecurityGroupsClient.BeginCreateOrUpdate"},
		{http.MethodPut, nsg + "/securityRules/allow-rdp", "SecurityRulesClient.BeginCreateOrUpdate"},
		{http.MethodDelete, nsg + "/securityRules/allow-rdp", "SecurityRulesClient.BeginDelete"},
		{http.MethodGet, nsg + "/securityRules", "SecurityRulesClient.NewListPager"},
		{http.MethodGet, "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Storage/storageAccounts/st", "AccountsClient.GetProperties"},
		{http.MethodGet, "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Sql/servers/sql/firewallRules", "FirewallRulesClient.NewListByServerPager"},
		{http.MethodPost, nsg, ""},
		{http.MethodGet, "/subscriptions/s/resourceGroups/rg", ""},
		{http.MethodGet, "/subscriptions/s/providers/Microsoft.Compute/virtualMachines/vm", ""},
	} {
		got, ok := APIName(tc.method, tc.path)
		if got != tc.want || ok != (tc.want != "") {
			t.Errorf("APIName(%s %s) = %q, %t; want %q", tc.method, tc.path, got, ok, tc.want)
		}
	}
}
