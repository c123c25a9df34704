package azfetch

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/network/armnetwork/v6"

	"github.com/driftwatch/driftwatch/shared/azres"
	"github.com/driftwatch/driftwatch/shared/change"
)

// securityRule builds a custom rule the way ARM returns it.
func securityRule(nsgID, name string, p armnetwork.SecurityRulePropertiesFormat) *armnetwork.SecurityRule {
	return &armnetwork.SecurityRule{ID: ptr(nsgID + "/securityRules/" + name), Name: ptr(name), Properties: &p,
		Type: ptr("Microsoft.Network/networkSecurityGroups/securityRules")}
}

func TestFetchNSG(t *testing.T) {
	id := armID("RG-Net", "Microsoft.Network", "networkSecurityGroups", "nsg-web")
	cid := azres.CanonicalID(id)
	inbound, outbound := ptr(armnetwork.SecurityRuleDirectionInbound), ptr(armnetwork.SecurityRuleDirectionOutbound)
	allow, deny := ptr(armnetwork.SecurityRuleAccessAllow), ptr(armnetwork.SecurityRuleAccessDeny)
	tcp, anyProto := ptr(armnetwork.SecurityRuleProtocolTCP), ptr(armnetwork.SecurityRuleProtocolAsterisk)
	// Every group carries the same default rules; the reader leaves them out.
	defaults := []*armnetwork.SecurityRule{securityRule(id, "AllowInternetOutBound", armnetwork.SecurityRulePropertiesFormat{
		Direction: outbound, Access: allow, Priority: ptr[int32](65001), Protocol: anyProto,
		SourceAddressPrefix: ptr("*"), DestinationAddressPrefix: ptr("Internet"), DestinationPortRange: ptr("*"),
	})}
	tests := []struct {
		name  string
		rules []*armnetwork.SecurityRule
		want  []azres.NSGRule
	}{
		{
			name: "compliant: HTTPS from the Internet, SSH from the office only, RDP denied",
			rules: []*armnetwork.SecurityRule{
				securityRule(id, "allow-https", armnetwork.SecurityRulePropertiesFormat{
					Direction: inbound, Access: allow, Priority: ptr[int32](100), Protocol: tcp,
					SourceAddressPrefix: ptr("Internet"), DestinationPortRange: ptr("443"),
				}),
				securityRule(id, "allow-ssh-office", armnetwork.SecurityRulePropertiesFormat{
					Direction: inbound, Access: allow, Priority: ptr[int32](110), Protocol: tcp,
					SourceAddressPrefixes: []*string{ptr("203.0.113.0/24"), ptr("198.51.100.7/32")}, DestinationPortRange: ptr("22"),
				}),
				securityRule(id, "deny-rdp", armnetwork.SecurityRulePropertiesFormat{
					Direction: inbound, Access: deny, Priority: ptr[int32](120), Protocol: anyProto,
					SourceAddressPrefix: ptr("*"), DestinationPortRange: ptr("3389"),
				}),
			},
			want: []azres.NSGRule{
				{ID: cid + "/securityrules/allow-https", Name: "allow-https", Direction: "Inbound", Access: "Allow", Priority: 100, Protocol: "Tcp",
					SourcePrefixes: []string{"Internet"}, DestinationPorts: []string{"443"}, Ports: []azres.PortRange{{From: 443, To: 443}}, FromInternet: true},
				{ID: cid + "/securityrules/allow-ssh-office", Name: "allow-ssh-office", Direction: "Inbound", Access: "Allow", Priority: 110, Protocol: "Tcp",
					SourcePrefixes: []string{"203.0.113.0/24", "198.51.100.7/32"}, DestinationPorts: []string{"22"}, Ports: []azres.PortRange{{From: 22, To: 22}}},
				{ID: cid + "/securityrules/deny-rdp", Name: "deny-rdp", Direction: "Inbound", Access: "Deny", Priority: 120, Protocol: "*",
					SourcePrefixes: []string{"*"}, DestinationPorts: []string{"3389"}, Ports: []azres.PortRange{{From: 3389, To: 3389}}, FromInternet: true},
			},
		},
		{
			name: "non-compliant: RDP from Any, SSH in a port list from ::/0, every port from 0.0.0.0/0, a range",
			rules: []*armnetwork.SecurityRule{
				securityRule(id, "rdp-any", armnetwork.SecurityRulePropertiesFormat{
					Direction: inbound, Access: allow, Priority: ptr[int32](200), Protocol: tcp,
					SourceAddressPrefix: ptr("Any"), DestinationPortRange: ptr("3389"),
				}),
				securityRule(id, "admin-v6", armnetwork.SecurityRulePropertiesFormat{
					Direction: inbound, Access: allow, Priority: ptr[int32](210), Protocol: tcp,
					SourceAddressPrefixes: []*string{ptr("::/0")}, DestinationPortRanges: []*string{ptr("80"), ptr("20-23"), ptr("8443")},
				}),
				securityRule(id, "all-open", armnetwork.SecurityRulePropertiesFormat{
					Direction: inbound, Access: allow, Priority: ptr[int32](220), Protocol: anyProto,
					SourceAddressPrefix: ptr("0.0.0.0/0"), DestinationPortRange: ptr("*"),
				}),
				securityRule(id, "ephemeral-internet", armnetwork.SecurityRulePropertiesFormat{
					Direction: inbound, Access: allow, Priority: ptr[int32](230), Protocol: tcp,
					SourceAddressPrefix: ptr("INTERNET"), DestinationPortRange: ptr("1000-2000"),
				}),
			},
			want: []azres.NSGRule{
				{ID: cid + "/securityrules/rdp-any", Name: "rdp-any", Direction: "Inbound", Access: "Allow", Priority: 200, Protocol: "Tcp",
					SourcePrefixes: []string{"Any"}, DestinationPorts: []string{"3389"}, Ports: []azres.PortRange{{From: 3389, To: 3389}}, FromInternet: true},
				{ID: cid + "/securityrules/admin-v6", Name: "admin-v6", Direction: "Inbound", Access: "Allow", Priority: 210, Protocol: "Tcp",
					SourcePrefixes: []string{"::/0"}, DestinationPorts: []string{"80", "20-23", "8443"},
					Ports: []azres.PortRange{{From: 80, To: 80}, {From: 20, To: 23}, {From: 8443, To: 8443}}, FromInternet: true},
				{ID: cid + "/securityrules/all-open", Name: "all-open", Direction: "Inbound", Access: "Allow", Priority: 220, Protocol: "*",
					SourcePrefixes: []string{"0.0.0.0/0"}, DestinationPorts: []string{"*"}, Ports: []azres.PortRange{{From: 0, To: 65535}}, FromInternet: true},
				{ID: cid + "/securityrules/ephemeral-internet", Name: "ephemeral-internet", Direction: "Inbound", Access: "Allow", Priority: 230, Protocol: "Tcp",
					SourcePrefixes: []string{"INTERNET"}, DestinationPorts: []string{"1000-2000"}, Ports: []azres.PortRange{{From: 1000, To: 2000}}, FromInternet: true},
			},
		},
		{
			name:  "no custom rules",
			rules: nil,
			want:  []azres.NSGRule{},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			w := newWorld()
			w.nsgs[key("rg-net", "nsg-web")] = armnetwork.SecurityGroup{
				ID: ptr(id), Name: ptr("nsg-web"), Location: ptr("northeurope"), Tags: map[string]*string{"env": ptr("prod")},
				Properties: &armnetwork.SecurityGroupPropertiesFormat{SecurityRules: tc.rules, DefaultSecurityRules: defaults},
			}
			got := fetch(t, w.fetcher(nil), ref(azres.TypeNSG, id))
			assertFound(t, got, change.ResourceRef{Type: azres.TypeNSG, ID: cid, Name: "nsg-web", Region: "northeurope"}, map[string]string{"env": "prod"})
			assertJSON(t, "document", got.Doc, &azres.NSG{
				ID: cid, Name: "nsg-web", ResourceGroup: "RG-Net", Location: "northeurope", Rules: tc.want, Tags: map[string]string{"env": "prod"},
			})
		})
	}
}

// TestFetchNSGGarbagePort: a port range driftwatch cannot read fails the
// fetch with the rule named, rather than letting an open port through.
func TestFetchNSGGarbagePort(t *testing.T) {
	id := armID("rg-net", "Microsoft.Network", "networkSecurityGroups", "nsg-odd")
	w := newWorld()
	w.nsgs[key("rg-net", "nsg-odd")] = armnetwork.SecurityGroup{ID: ptr(id), Name: ptr("nsg-odd"), Location: ptr("westus"),
		Properties: &armnetwork.SecurityGroupPropertiesFormat{SecurityRules: []*armnetwork.SecurityRule{
			securityRule(id, "ssh-list", armnetwork.SecurityRulePropertiesFormat{
				Direction: ptr(armnetwork.SecurityRuleDirectionInbound), Access: ptr(armnetwork.SecurityRuleAccessAllow),
				Priority: ptr[int32](100), SourceAddressPrefix: ptr("*"), DestinationPortRange: ptr("22,3389"),
			}),
		}}}
	_, err := w.fetcher(nil).Fetch(t.Context(), ref(azres.TypeNSG, id))
	if !errors.Is(err, ErrInvalidPortRange) || !strings.Contains(err.Error(), "ssh-list") || !strings.Contains(err.Error(), `"22,3389"`) {
		t.Fatalf("Fetch: %v; want ErrInvalidPortRange naming rule ssh-list and the range", err)
	}
	if IsRetryable(err) {
		t.Errorf("IsRetryable(%v) = true", err)
	}
}

func TestParsePortRange(t *testing.T) {
	tests := []struct {
		in       string
		from, to int64
		err      string // substring of the error; "" for success
	}{
		{in: "22", from: 22, to: 22},
		{in: "3389", from: 3389, to: 3389},
		{in: "0", from: 0, to: 0},
		{in: "65535", from: 65535, to: 65535},
		{in: "1000-2000", from: 1000, to: 2000},
		{in: "0-65535", from: 0, to: 65535},
		{in: "22-22", from: 22, to: 22},
		{in: "*", from: 0, to: 65535},
		{in: " 443 ", from: 443, to: 443},
		{in: "022", from: 22, to: 22},
		{in: "", err: "missing port"},
		{in: "   ", err: "missing port"},
		{in: "-", err: "missing port"},
		{in: "-22", err: "missing port"},
		{in: "22-", err: "missing port"},
		{in: "2000-1000", err: "2000 is above 1000"},
		{in: "65536", err: "above 65535"},
		{in: "1-70000", err: "above 65535"},
		{in: "99999999999999999999", err: "above 65535"},
		{in: "+22", err: `"+22" is not a port number`},
		{in: "ssh", err: `"ssh" is not a port number`},
		{in: "22,3389", err: `"22,3389" is not a port number`},
		{in: "1-2-3", err: `"2-3" is not a port number`},
		{in: "10 - 20", err: "is not a port number"},
		{in: "**", err: `"**" is not a port number`},
		{in: "0x16", err: `"0x16" is not a port number`},
		{in: "２２", err: "is not a port number"},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			got, err := ParsePortRange(tc.in)
			if tc.err != "" {
				if !errors.Is(err, ErrInvalidPortRange) || !strings.Contains(err.Error(), tc.err) || !strings.Contains(err.Error(), fmt.Sprintf("%q", tc.in)) {
					t.Fatalf("ParsePortRange(%q) = %+v, %v; want ErrInvalidPortRange quoting the input and saying %q", tc.in, got, err, tc.err)
				}
				return
			}
			if err != nil || got != (azres.PortRange{From: tc.from, To: tc.to}) {
				t.Fatalf("ParsePortRange(%q) = %+v, %v; want %d-%d", tc.in, got, err, tc.from, tc.to)
			}
		})
	}
}

func FuzzParsePortRange(f *testing.F) {
	for _, s := range []string{"22", "3389", "1000-2000", "*", "0-65535", "65536", "+22", "22,3389", "-", "1-2-3", " 80 "} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, err := ParsePortRange(s)
		if err != nil {
			if !errors.Is(err, ErrInvalidPortRange) {
				t.Fatalf("ParsePortRange(%q): %v does not wrap ErrInvalidPortRange", s, err)
			}
			return
		}
		if got.From < 0 || got.From > got.To || got.To > 65535 {
			t.Fatalf("ParsePortRange(%q) = %+v: not a range of ports", s, got)
		}
		// Written back in ARM's form, the range parses to itself.
		text := fmt.Sprintf("%d-%d", got.From, got.To)
		if again, err := ParsePortRange(text); err != nil || again != got {
			t.Fatalf("ParsePortRange(%q) = %+v, %v after ParsePortRange(%q) = %+v", text, again, err, s, got)
		}
	})
}

func TestIsInternet(t *testing.T) {
	tests := []struct {
		prefix string
		want   bool
	}{
		{"*", true}, {"Any", true}, {"any", true}, {"ANY", true},
		{"Internet", true}, {"internet", true}, {"INTERNET", true},
		{"0.0.0.0/0", true}, {"::/0", true}, {"0::0/0", true}, {" 0.0.0.0/0 ", true},
		{"VirtualNetwork", false}, {"AzureLoadBalancer", false}, {"Storage.WestEurope", false},
		{"10.0.0.0/8", false}, {"0.0.0.0/1", false}, {"0.0.0.0", false}, {"2001:db8::/32", false},
		{"", false}, {"**", false}, {"Internets", false},
	}
	for _, tc := range tests {
		if got := IsInternet(tc.prefix); got != tc.want {
			t.Errorf("IsInternet(%q) = %v, want %v", tc.prefix, got, tc.want)
		}
	}
}

// BenchmarkFetchNSG measures one NSG fetch through the SDK fake transport:
// the SDK's pipeline and JSON round trip dominate; the flattening is the
// rest.
func BenchmarkFetchNSG(b *testing.B) {
	id := armID("rg-net", "Microsoft.Network", "networkSecurityGroups", "nsg-bench")
	var rules []*armnetwork.SecurityRule
	for i := range 10 {
		rules = append(rules, securityRule(id, fmt.Sprintf("rule-%d", i), armnetwork.SecurityRulePropertiesFormat{
			Direction: ptr(armnetwork.SecurityRuleDirectionInbound), Access: ptr(armnetwork.SecurityRuleAccessAllow),
			Priority: ptr(int32(100 + i)), Protocol: ptr(armnetwork.SecurityRuleProtocolTCP),
			SourceAddressPrefixes: []*string{ptr("10.0.0.0/8"), ptr("Internet")}, DestinationPortRanges: []*string{ptr("22"), ptr("3389"), ptr("8000-8100")},
		}))
	}
	w := newWorld()
	w.nsgs[key("rg-net", "nsg-bench")] = armnetwork.SecurityGroup{ID: ptr(id), Name: ptr("nsg-bench"), Location: ptr("westeurope"),
		Properties: &armnetwork.SecurityGroupPropertiesFormat{SecurityRules: rules}}
	f := w.fetcher(nil)
	r := ref(azres.TypeNSG, id)
	b.ReportAllocs()
	for b.Loop() {
		got, err := f.Fetch(b.Context(), r)
		if err != nil || len(got.Doc.(*azres.NSG).Rules) != 10 {
			b.Fatalf("Fetch: %v", err)
		}
	}
}
