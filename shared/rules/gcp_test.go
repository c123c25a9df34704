package rules

import (
	"encoding/json"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/driftwatch/driftwatch/shared/change"
	"github.com/driftwatch/driftwatch/shared/gcpres"
	"github.com/driftwatch/driftwatch/shared/posture"
	"github.com/driftwatch/driftwatch/shared/resource"
)

// gcpCatalogue is the GCP entry of catalogues.
func gcpCatalogue() catalogue { return catalogues()[2] }

// TestGCPCatalogueContract pins what other packages rely on: the
// remediation action names the GCP actions will implement, the rules that
// are guidance only, the severity of public data, and the audit-log
// methods every rule of a type reacts to.
func TestGCPCatalogueContract(t *testing.T) {
	e := gcpCatalogue().engine(t)
	if c := gcpCatalogue(); c.cloud != "gcp" {
		t.Fatalf("catalogues()[2] is %s", c.cloud)
	}
	// The action names the GCP remediation actions are to register; the
	// other rules offer guidance only.
	wantActions := map[string]string{
		"gcp_storage_bucket_not_public":                        "gcp_storage_remove_public_members",
		"gcp_storage_bucket_public_access_prevention_enforced": "gcp_storage_enforce_public_access_prevention",
		"gcp_firewall_no_ingress_ssh_from_internet":            "gcp_firewall_disable_rule",
		"gcp_firewall_no_ingress_rdp_from_internet":            "gcp_firewall_disable_rule",
		"gcp_firewall_no_ingress_all_ports_from_internet":      "gcp_firewall_disable_rule",
		"gcp_cloudsql_no_authorized_network_any":               "gcp_sql_remove_public_authorized_network",
		"gcp_cloudsql_require_ssl":                             "gcp_sql_require_ssl",
		"gcp_kms_key_rotation_90d":                             "gcp_kms_set_rotation_period",
	}
	for _, r := range e.Rules() {
		if got, want := r.Remediation.Action, wantActions[r.ID]; got != want {
			t.Errorf("%s: action %q, want %q", r.ID, got, want)
		}
		// None of these fixes destroys anything that cannot be put back.
		if r.Remediation.Irreversible {
			t.Errorf("%s: marked irreversible", r.ID)
		}
	}
	for id := range wantActions {
		if _, ok := e.Rule(id); !ok {
			t.Errorf("%s: missing", id)
		}
	}
	// Data readable by the whole Internet is critical, as in the other
	// clouds.
	for _, id := range []string{"gcp_storage_bucket_not_public", "gcp_cloudsql_no_authorized_network_any"} {
		if r, ok := e.Rule(id); !ok || r.Severity != posture.Critical {
			t.Errorf("%s: not critical", id)
		}
	}
	// Every rule of a type reacts to the methods that change it, under the
	// names Cloud Audit Logs writes (see shared/corpus/gcp).
	wantTriggers := map[string][]string{
		gcpres.TypeBucket: {"storage.buckets.create", "storage.buckets.update"},
		gcpres.TypeFirewall: {
			"v1.compute.firewalls.insert", "v1.compute.firewalls.patch", "v1.compute.firewalls.update",
			"beta.compute.firewalls.insert", "beta.compute.firewalls.patch", "beta.compute.firewalls.update",
		},
		gcpres.TypeSQLInstance:    {"cloudsql.instances.create", "cloudsql.instances.update"},
		gcpres.TypeProject:        {"SetIamPolicy"},
		gcpres.TypeServiceAccount: {"google.iam.admin.v1.CreateServiceAccountKey", "google.iam.admin.v1.UploadServiceAccountKey"},
		gcpres.TypeCryptoKey:      {"CreateCryptoKey", "UpdateCryptoKey"},
	}
	for typ, ops := range wantTriggers {
		for _, r := range e.RulesFor(typ) {
			for _, op := range ops {
				if !slices.Contains(r.Triggers, op) {
					t.Errorf("%s: no trigger %s", r.ID, op)
				}
			}
		}
	}
	if r, ok := e.Rule("gcp_storage_bucket_not_public"); !ok || !slices.Contains(r.Triggers, "storage.setIamPermissions") {
		t.Error("gcp_storage_bucket_not_public does not react to bucket IAM changes (storage.setIamPermissions)")
	}
	var fw []string
	for _, r := range e.RulesFor(gcpres.TypeFirewall) {
		fw = append(fw, r.ID)
	}
	wantFW := []string{
		"gcp_firewall_no_ingress_all_ports_from_internet",
		"gcp_firewall_no_ingress_rdp_from_internet",
		"gcp_firewall_no_ingress_ssh_from_internet",
	}
	if !slices.Equal(fw, wantFW) {
		t.Errorf("RulesFor(Firewall) = %v, want %v", fw, wantFW)
	}
}

// TestGCPFirewallSettings checks what a firewall alert says on the edge
// cases the golden file does not show.
func TestGCPFirewallSettings(t *testing.T) {
	c := gcpCatalogue()
	e := c.engine(t)
	tests := []struct {
		rule, fixture string
		want          []Setting
	}{
		{
			rule: "gcp_firewall_no_ingress_ssh_from_internet", fixture: "fail-mixed-sources-one-internet.json",
			want: []Setting{
				{"SSH open to the Internet", "tcp:22"},
				{"Internet sources", "0.0.0.0/0"},
				{"Direction and state", "INGRESS, enabled, priority 1000"},
			},
		},
		{
			rule: "gcp_firewall_no_ingress_ssh_from_internet", fixture: "fail-port-list.json",
			want: []Setting{
				{"SSH open to the Internet", "tcp:80,443,22"},
				{"Internet sources", "0.0.0.0/0"},
				{"Direction and state", "INGRESS, enabled, priority 1000"},
			},
		},
		{
			rule: "gcp_firewall_no_ingress_rdp_from_internet", fixture: "fail-ipv6-anywhere.json",
			want: []Setting{
				{"RDP open to the Internet", "tcp:3389"},
				{"Internet sources", "::/0"},
				{"Direction and state", "INGRESS, enabled, priority 1000"},
			},
		},
		{
			// A disabled rule objects to nothing, though it still lists
			// the Internet as a source.
			rule: "gcp_firewall_no_ingress_rdp_from_internet", fixture: "pass-disabled-rule.json",
			want: []Setting{
				{"RDP open to the Internet", "none"},
				{"Internet sources", "0.0.0.0/0"},
				{"Direction and state", "INGRESS, disabled, priority 1000"},
			},
		},
		{
			rule: "gcp_firewall_no_ingress_all_ports_from_internet", fixture: "fail-ranges-cover-all.json",
			want: []Setting{
				{"all ports open to the Internet", "tcp:1025-65535,1-1024"},
				{"Internet sources", "0.0.0.0/0"},
				{"Direction and state", "INGRESS, enabled, priority 1000"},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.rule+"/"+tt.fixture, func(t *testing.T) {
			f, res := loadFixture(t, c, filepath.Join(c.fixtureDir(), tt.rule, tt.fixture), gcpres.TypeFirewall)
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
}

// TestGCPPortParsingFeedsTheRules: documents built with gcpres.ParsePorts
// (as a fetcher would) are judged as the fixtures are, so the rules and
// the parser agree on what "no ports" and ranges mean.
func TestGCPPortParsingFeedsTheRules(t *testing.T) {
	e := gcpCatalogue().engine(t)
	entry := func(proto string, ports ...string) gcpres.FirewallEntry {
		r, err := gcpres.ParsePorts(ports)
		if err != nil {
			t.Fatal(err)
		}
		return gcpres.FirewallEntry{Protocol: proto, Ports: ports, PortRanges: r}
	}
	tests := []struct {
		name  string
		entry gcpres.FirewallEntry
		want  map[string]posture.Status // rule id suffix -> status
	}{
		{"tcp every port", entry("tcp"), map[string]posture.Status{"ssh": posture.Fail, "rdp": posture.Fail, "all_ports": posture.Fail}},
		{"tcp 22", entry("tcp", "22"), map[string]posture.Status{"ssh": posture.Fail, "rdp": posture.Pass, "all_ports": posture.Pass}},
		{"tcp 3000-4000", entry("tcp", "3000-4000"), map[string]posture.Status{"ssh": posture.Pass, "rdp": posture.Fail, "all_ports": posture.Pass}},
		{"udp every port", entry("udp"), map[string]posture.Status{"ssh": posture.Pass, "rdp": posture.Pass, "all_ports": posture.Fail}},
		{"icmp", entry("icmp"), map[string]posture.Status{"ssh": posture.Pass, "rdp": posture.Pass, "all_ports": posture.Pass}},
	}
	now := time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)
	for _, tt := range tests {
		doc := &gcpres.Firewall{
			Name: "fw", Direction: "INGRESS", Priority: 1000, SourceRanges: []string{"::/0"},
			Allowed: []gcpres.FirewallEntry{tt.entry}, FromInternet: gcpres.IsInternet("::/0"),
		}
		res := resource.Resource{
			Ref:    change.ResourceRef{Cloud: change.GCP, Type: gcpres.TypeFirewall, ID: gcpres.FirewallID("pay-prod", "fw")},
			Exists: true, ObservedAt: now, Doc: doc,
		}
		got := map[string]posture.Status{}
		for _, ev := range e.Evaluate(res, EvalContext{Now: now}) {
			switch ev.RuleID {
			case "gcp_firewall_no_ingress_ssh_from_internet":
				got["ssh"] = ev.Status
			case "gcp_firewall_no_ingress_rdp_from_internet":
				got["rdp"] = ev.Status
			case "gcp_firewall_no_ingress_all_ports_from_internet":
				got["all_ports"] = ev.Status
			}
		}
		for k, want := range tt.want {
			if got[k] != want {
				t.Errorf("%s: %s rule %s, want %s", tt.name, k, got[k], want)
			}
		}
	}
}
