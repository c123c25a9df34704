package azres

import "testing"

func TestRBACAction(t *testing.T) {
	const sub = "3f9e2c41-7a5d-4b8e-a1c6-52d0e8b47a19"
	rg := "/subscriptions/" + sub + "/resourceGroups/rg1"
	tests := []struct {
		method, path, want string
	}{
		{"GET", rg + "/providers/Microsoft.Storage/storageAccounts/st1", "Microsoft.Storage/storageAccounts/read"},
		{"GET", rg + "/providers/Microsoft.Network/networkSecurityGroups/nsg1", "Microsoft.Network/networkSecurityGroups/read"},
		{"GET", rg + "/providers/Microsoft.Sql/servers/s1/firewallRules", "Microsoft.Sql/servers/firewallRules/read"},
		{"GET", rg + "/providers/Microsoft.Sql/servers/s1/firewallRules/fake_page_1", "Microsoft.Sql/servers/firewallRules/read"},
		{"GET", rg + "/providers/Microsoft.Sql/servers/s1/auditingSettings/default", "Microsoft.Sql/servers/auditingSettings/read"},
		{"GET", rg + "/providers/Microsoft.Sql/servers/s1/databases/d1/transparentDataEncryption/current", "Microsoft.Sql/servers/databases/transparentDataEncryption/read"},
		{"GET", "/subscriptions/" + sub + "/providers/Microsoft.Insights/diagnosticSettings", "Microsoft.Insights/diagnosticSettings/read"},
		{"GET", rg + "/providers/Microsoft.Sql/servers/s1/providers/Microsoft.Insights/diagnosticSettings/ds", "Microsoft.Insights/diagnosticSettings/read"},
		{"POST", rg + "/providers/Microsoft.Storage/storageAccounts/st1/listKeys", "Microsoft.Storage/storageAccounts/listKeys/action"},
		{"PUT", rg + "/providers/Microsoft.Sql/servers/s1/firewallRules/r1", "Microsoft.Sql/servers/firewallRules/write"},
		{"PATCH", rg + "/providers/Microsoft.Storage/storageAccounts/st1", "Microsoft.Storage/storageAccounts/write"},
		{"DELETE", rg + "/providers/Microsoft.Network/networkSecurityGroups/nsg1/securityRules/r1", "Microsoft.Network/networkSecurityGroups/securityRules/delete"},
		{"GET", "/subscriptions/" + sub, "Microsoft.Resources/subscriptions/read"},
		{"GET", rg, "Microsoft.Resources/subscriptions/resourceGroups/read"},
		{"GET", rg + "/providers", ""},
		{"GET", rg + "/providers/Microsoft.Storage", ""},
		{"POST", rg + "/providers/Microsoft.Storage/storageAccounts/st1", ""},
		{"OPTIONS", rg + "/providers/Microsoft.Storage/storageAccounts/st1", ""},
		{"GET", "/", ""},
	}
	for _, tc := range tests {
		if got := RBACAction(tc.method, tc.path); got != tc.want {
			t.Errorf("RBACAction(%s, %s) = %q, want %q", tc.method, tc.path, got, tc.want)
		}
	}
}
