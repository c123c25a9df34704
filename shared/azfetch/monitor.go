package azfetch

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/runtime"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/monitor/armmonitor"

	"github.com/driftwatch/driftwatch/shared/azres"
)

// diagnosticSettingsAPI is what the subscription reader calls.
type diagnosticSettingsAPI interface {
	NewListPager(resourceURI string, options *armmonitor.DiagnosticSettingsClientListOptions) *runtime.Pager[armmonitor.DiagnosticSettingsClientListResponse]
}

var _ diagnosticSettingsAPI = (*armmonitor.DiagnosticSettingsClient)(nil)

// activityLogCategories are the Activity Log's log categories, by their
// lower-case name, in the spelling Azure uses.
var activityLogCategories = []string{
	"Administrative", "Security", "ServiceHealth", "Alert",
	"Recommendation", "Policy", "Autoscale", "ResourceHealth",
}

// categoryGroups expands a category group of a subscription (Activity Log)
// diagnostic setting into its categories, keyed by the lower-case group.
//   - allLogs is every Activity Log category, by definition of the group.
//   - audit is the categories that record who changed what and what the
//     platform did about it: Administrative (every control-plane write),
//     Security (Defender for Cloud alerts) and Policy (Azure Policy
//     effects). Microsoft defines audit per resource type and does not list
//     the Activity Log's, so this is driftwatch's reading; the group stays
//     in DiagnosticSetting.CategoryGroups for a rule that reads it
//     differently.
var categoryGroups = map[string][]string{
	"alllogs": activityLogCategories,
	"audit":   {"Administrative", "Security", "Policy"},
}

// fetchSubscription reads the Activity Log diagnostic settings of a
// subscription: the settings of the scope /subscriptions/<id>. A
// subscription without settings exists and exports nothing.
func (f *Fetcher) fetchSubscription(ctx context.Context, t target) (observation, error) {
	c, err := f.diagnostics()
	if err != nil {
		return observation{}, fmt.Errorf("create ARM client: %w", err)
	}
	doc := &azres.Subscription{ID: t.id, SubscriptionID: t.subscription, DiagnosticSettings: []azres.DiagnosticSetting{}}
	p := c.NewListPager(t.id, nil)
	for p.More() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return observation{}, fmt.Errorf("subscription %s diagnostic settings: %w", t.subscription, err)
		}
		for _, s := range page.Value {
			if s != nil {
				doc.DiagnosticSettings = append(doc.DiagnosticSettings, diagnosticSetting(s))
			}
		}
	}
	return observation{id: t.id, name: t.subscription, tags: map[string]string{}, doc: doc}, nil
}

// diagnosticSetting keeps the enabled log categories, groups expanded, in
// Azure's spelling, sorted and unique, and the destinations as canonical
// ARM ids.
func diagnosticSetting(s *armmonitor.DiagnosticSettingsResource) azres.DiagnosticSetting {
	p := deref(s.Properties)
	out := azres.DiagnosticSetting{
		Name:             deref(s.Name),
		Categories:       []string{},
		CategoryGroups:   []string{},
		WorkspaceID:      azres.CanonicalID(deref(p.WorkspaceID)),
		StorageAccountID: azres.CanonicalID(deref(p.StorageAccountID)),
		EventHubRuleID:   azres.CanonicalID(deref(p.EventHubAuthorizationRuleID)),
	}
	for _, l := range p.Logs {
		if l == nil || !deref(l.Enabled) {
			continue
		}
		if c := strings.TrimSpace(deref(l.Category)); c != "" {
			out.Categories = append(out.Categories, categoryName(c))
		}
		if g := strings.TrimSpace(deref(l.CategoryGroup)); g != "" {
			out.CategoryGroups = append(out.CategoryGroups, g)
			out.Categories = append(out.Categories, categoryGroups[strings.ToLower(g)]...)
		}
	}
	slices.Sort(out.Categories)
	out.Categories = slices.Compact(out.Categories)
	slices.Sort(out.CategoryGroups)
	out.CategoryGroups = slices.Compact(out.CategoryGroups)
	return out
}

// categoryName spells a known category as Azure does (ARM compares them
// case-insensitively, rules compare strings); others stay as written.
func categoryName(c string) string {
	for _, known := range activityLogCategories {
		if strings.EqualFold(c, known) {
			return known
		}
	}
	return c
}
