package azfetch

import (
	"testing"

	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/monitor/armmonitor"

	"github.com/driftwatch/driftwatch/shared/azres"
	"github.com/driftwatch/driftwatch/shared/change"
)

func logSetting(category, group string, enabled bool) *armmonitor.LogSettings {
	l := &armmonitor.LogSettings{Enabled: ptr(enabled)}
	if category != "" {
		l.Category = ptr(category)
	}
	if group != "" {
		l.CategoryGroup = ptr(group)
	}
	return l
}

func diagnosticSettingOf(name string, p armmonitor.DiagnosticSettings) *armmonitor.DiagnosticSettingsResource {
	return &armmonitor.DiagnosticSettingsResource{ID: ptr("/subscriptions/" + testSub + "/providers/microsoft.insights/diagnosticSettings/" + name),
		Name: ptr(name), Type: ptr("Microsoft.Insights/diagnosticSettings"), Properties: &p}
}

func TestFetchSubscription(t *testing.T) {
	workspace := armID("RG-Logs", "Microsoft.OperationalInsights", "workspaces", "law-central")
	storage := armID("RG-Logs", "Microsoft.Storage", "storageAccounts", "stactivitylog")
	hubRule := armID("RG-Logs", "Microsoft.EventHub", "namespaces", "ehns", "authorizationrules", "RootManageSharedAccessKey")
	all := []string{"Administrative", "Alert", "Autoscale", "Policy", "Recommendation", "ResourceHealth", "Security", "ServiceHealth"}
	tests := []struct {
		name  string
		pages [][]*armmonitor.DiagnosticSettingsResource
		want  []azres.DiagnosticSetting
	}{
		{
			name: "compliant: CIS categories to a workspace, allLogs to storage on a second page",
			pages: [][]*armmonitor.DiagnosticSettingsResource{
				{diagnosticSettingOf("to-law", armmonitor.DiagnosticSettings{WorkspaceID: ptr(workspace), Logs: []*armmonitor.LogSettings{
					logSetting("Administrative", "", true), logSetting("security", "", true), logSetting("Alert", "", true),
					logSetting("Policy", "", true), logSetting("Autoscale", "", false),
				}})},
				{diagnosticSettingOf("archive", armmonitor.DiagnosticSettings{StorageAccountID: ptr(storage), EventHubAuthorizationRuleID: ptr(hubRule),
					Logs: []*armmonitor.LogSettings{logSetting("", "allLogs", true)}})},
			},
			want: []azres.DiagnosticSetting{
				{Name: "to-law", Categories: []string{"Administrative", "Alert", "Policy", "Security"}, CategoryGroups: []string{},
					WorkspaceID: azres.CanonicalID(workspace)},
				{Name: "archive", Categories: all, CategoryGroups: []string{"allLogs"},
					StorageAccountID: azres.CanonicalID(storage), EventHubRuleID: azres.CanonicalID(hubRule)},
			},
		},
		{
			name: "non-compliant: only ServiceHealth, the audit group and a disabled allLogs",
			pages: [][]*armmonitor.DiagnosticSettingsResource{{
				diagnosticSettingOf("health", armmonitor.DiagnosticSettings{WorkspaceID: ptr(workspace), Logs: []*armmonitor.LogSettings{
					logSetting("ServiceHealth", "", true), logSetting("", "allLogs", false), logSetting("Administrative", "", false),
				}}),
				diagnosticSettingOf("audit-only", armmonitor.DiagnosticSettings{WorkspaceID: ptr(workspace), Logs: []*armmonitor.LogSettings{
					logSetting("", "audit", true), logSetting("Policy", "", true),
				}}),
			}},
			want: []azres.DiagnosticSetting{
				{Name: "health", Categories: []string{"ServiceHealth"}, CategoryGroups: []string{}, WorkspaceID: azres.CanonicalID(workspace)},
				{Name: "audit-only", Categories: []string{"Administrative", "Policy", "Security"}, CategoryGroups: []string{"audit"}, WorkspaceID: azres.CanonicalID(workspace)},
			},
		},
		{
			name:  "non-compliant: no diagnostic setting at all",
			pages: nil,
			want:  []azres.DiagnosticSetting{},
		},
	}
	sid := azres.SubscriptionID(testSub)
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			w := newWorld()
			w.diag[testSub] = tc.pages
			for _, r := range []change.ResourceRef{
				{Cloud: change.Azure, Type: azres.TypeSubscription, ID: sid, Account: testSub},
				{Type: azres.TypeSubscription, Account: "6F1C2A9E-3B7D-4E21-9C55-0A8D2E4B7F13"}, // by account only, in another case
			} {
				got := fetch(t, w.fetcher(nil), r)
				assertFound(t, got, change.ResourceRef{Type: azres.TypeSubscription, ID: sid, Name: testSub}, map[string]string{})
				assertJSON(t, "document", got.Doc, &azres.Subscription{ID: sid, SubscriptionID: testSub, DiagnosticSettings: tc.want})
			}
		})
	}
}
