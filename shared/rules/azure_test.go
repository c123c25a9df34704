package rules

import (
	"encoding/json"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/driftwatch/driftwatch/shared/azres"
	"github.com/driftwatch/driftwatch/shared/posture"
)

// azureCatalogue is the Azure entry of catalogues.
func azureCatalogue() catalogue { return catalogues()[1] }

// TestAzureCatalogueContract pins what other packages rely on: the
// remediation action names the Azure actions implement, the rules that
// must never be fixed without a person, and the severity of losing the
// Activity Log export.
func TestAzureCatalogueContract(t *testing.T) {
	e := azureCatalogue().engine(t)
	// The action names shared/azremedy registers; a rule naming an action
	// that does not exist could never be remediated.
	wantActions := map[string]string{
		"azure_storage_blob_anonymous_access_disabled":    "azure_storage_disable_public_blob_access",
		"azure_storage_secure_transfer_required":          "azure_storage_require_https",
		"azure_storage_min_tls_1_2":                       "azure_storage_min_tls_1_2",
		"azure_nsg_no_inbound_ssh_from_internet":          "azure_nsg_delete_internet_rule",
		"azure_nsg_no_inbound_rdp_from_internet":          "azure_nsg_delete_internet_rule",
		"azure_nsg_no_inbound_all_ports_from_internet":    "azure_nsg_delete_internet_rule",
		"azure_sql_server_firewall_no_allow_all":          "azure_sql_delete_allow_all_firewall_rule",
		"azure_keyvault_soft_delete_and_purge_protection": "azure_keyvault_enable_purge_protection",
	}
	for _, r := range e.Rules() {
		if got, want := r.Remediation.Action, wantActions[r.ID]; got != want {
			t.Errorf("%s: action %q, want %q", r.ID, got, want)
		}
	}
	for id := range wantActions {
		if _, ok := e.Rule(id); !ok {
			t.Errorf("%s: missing", id)
		}
	}
	// Purge protection cannot be undone: the guidance must say so, for
	// the approvers who read it before clicking.
	if r, ok := e.Rule("azure_keyvault_soft_delete_and_purge_protection"); ok && !strings.Contains(r.Remediation.Guidance, "IRREVERSIBLE") {
		t.Errorf("%s: guidance does not say the fix is irreversible: %s", r.ID, r.Remediation.Guidance)
	}
	// Removing the audit trail is always critical (ARCHITECTURE.md), also
	// when the subscription itself disappears from view.
	if r, ok := e.Rule("azure_activity_log_diagnostic_setting_exists"); !ok {
		t.Error("azure_activity_log_diagnostic_setting_exists missing")
	} else if r.Severity != posture.Critical || r.WhenMissing != MissingFail ||
		!slices.Contains(r.Triggers, "Microsoft.Insights/diagnosticSettings/delete") {
		t.Errorf("%s: severity %s, when_missing %s, triggers %v", r.ID, r.Severity, r.WhenMissing, r.Triggers)
	}
	// Every rule of a type reacts to the operations that change it; for an
	// NSG that includes its security rules' writes and deletes, which the
	// event normalizer maps to the NSG.
	var nsg []string
	for _, r := range e.RulesFor(azres.TypeNSG) {
		nsg = append(nsg, r.ID)
		for _, op := range []string{
			"Microsoft.Network/networkSecurityGroups/write",
			"Microsoft.Network/networkSecurityGroups/securityRules/write",
			"Microsoft.Network/networkSecurityGroups/securityRules/delete",
		} {
			if !slices.Contains(r.Triggers, op) {
				t.Errorf("%s: no trigger %s", r.ID, op)
			}
		}
	}
	wantNSG := []string{
		"azure_nsg_no_inbound_all_ports_from_internet",
		"azure_nsg_no_inbound_rdp_from_internet",
		"azure_nsg_no_inbound_ssh_from_internet",
	}
	if !slices.Equal(nsg, wantNSG) {
		t.Errorf("RulesFor(NSG) = %v, want %v", nsg, wantNSG)
	}
}

// TestAzureNSGSettings checks what an NSG alert says on the edge cases the
// golden file does not show: a Deny in front of the Allow (priority
// shadowing is not modelled, so the rule fails and the Deny is listed
// next to it), port lists and source spellings, and several offending
// rules in priority order.
func TestAzureNSGSettings(t *testing.T) {
	c := azureCatalogue()
	e := c.engine(t)
	tests := []struct {
		rule, fixture string
		want          []Setting
	}{
		{
			rule: "azure_nsg_no_inbound_ssh_from_internet", fixture: "fail-shadowed-by-higher-priority-deny.json",
			want: []Setting{
				{"SSH open to the Internet", "AllowSSH tcp/22 from Internet (priority 200)"},
				{"Deny rules for TCP 22", "DenySSH from Any (priority 150)"},
			},
		},
		{
			rule: "azure_nsg_no_inbound_ssh_from_internet", fixture: "fail-port-list-covers-22.json",
			want: []Setting{
				{"SSH open to the Internet", "AllowAdmin tcp/80,443,22 from Internet (priority 200)"},
				{"Deny rules for TCP 22", "none"},
			},
		},
		{
			rule: "azure_nsg_no_inbound_ssh_from_internet", fixture: "fail-mixed-sources-one-internet.json",
			want: []Setting{
				{"SSH open to the Internet", "AllowSSH tcp/22 from 10.20.0.0/16,203.0.113.0/24,Internet (priority 200)"},
				{"Deny rules for TCP 22", "none"},
			},
		},
		{
			rule: "azure_nsg_no_inbound_rdp_from_internet", fixture: "fail-any-protocol.json",
			want: []Setting{
				{"RDP open to the Internet", "AllowRDPAny any/3389 from Internet (priority 200)"},
				{"Deny rules for TCP 3389", "none"},
			},
		},
		{
			rule: "azure_nsg_no_inbound_rdp_from_internet", fixture: "pass-inbound-deny-from-internet.json",
			want: []Setting{
				{"RDP open to the Internet", "none"},
				{"Deny rules for TCP 3389", "DenyRDP from Internet (priority 200)"},
			},
		},
		{
			// The any-any rule opens SSH as well; both offenders are
			// listed, lowest priority number first.
			rule: "azure_nsg_no_inbound_ssh_from_internet", fixture: "../azure_nsg_no_inbound_all_ports_from_internet/fail-shadowed-by-higher-priority-deny.json",
			want: []Setting{
				{"SSH open to the Internet", "AllowAnyAny any/* from Internet (priority 200)"},
				{"Deny rules for TCP 22", "DenyAll from Any (priority 150)"},
			},
		},
		{
			rule: "azure_nsg_no_inbound_all_ports_from_internet", fixture: "fail-ranges-cover-all.json",
			want: []Setting{{"all ports open to the Internet", "AllowSplit tcp/1025-65535,1-1024 from Internet (priority 200)"}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.rule+"/"+tt.fixture, func(t *testing.T) {
			f, res := loadFixture(t, c, filepath.Join(c.fixtureDir(), tt.rule, tt.fixture), azres.TypeNSG)
			doc, err := json.Marshal(res.Doc)
			if err != nil {
				t.Fatal(err)
			}
			got, err := e.SettingValuesAt(tt.rule, doc, EvalContext{Now: f.Now, Account: f.Account}, nil)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("settings\n got: %q\nwant: %q", got, tt.want)
			}
		})
	}

	// Several offenders come out in priority order, whatever the order of
	// the document.
	rule := func(name string, prio int64, ports string, from string) azres.NSGRule {
		return azres.NSGRule{
			Name: name, Direction: "Inbound", Access: "Allow", Priority: prio, Protocol: "Tcp",
			SourcePrefixes: []string{from}, DestinationPorts: []string{ports},
			Ports: []azres.PortRange{{From: 22, To: 22}}, FromInternet: true,
		}
	}
	doc, err := json.Marshal(&azres.NSG{Name: "nsg", Rules: []azres.NSGRule{
		rule("Late", 900, "22", "::/0"), rule("Early", 120, "22", "0.0.0.0/0"),
	}})
	if err != nil {
		t.Fatal(err)
	}
	got, err := e.SettingValues("azure_nsg_no_inbound_ssh_from_internet", doc)
	if err != nil {
		t.Fatal(err)
	}
	if want := "Early tcp/22 from 0.0.0.0/0 (priority 120), Late tcp/22 from ::/0 (priority 900)"; got[0].Value != want {
		t.Errorf("two offenders: %q, want %q", got[0].Value, want)
	}
}
