package azremedy

import (
	"testing"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/keyvault/armkeyvault"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/network/armnetwork/v6"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/sql/armsql"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/storage/armstorage"

	"github.com/driftwatch/driftwatch/shared/azres"
	"github.com/driftwatch/driftwatch/shared/change"
	"github.com/driftwatch/driftwatch/shared/remediation"
	"github.com/driftwatch/driftwatch/shared/remediation/remediationtest"
)

// TestConformance runs the remediation conformance suite on every action
// against the fake ARM, one Case per action and initial state. Every
// long-running operation (the security rule deletes and recreations)
// answers non-terminal responses before its terminal one.
func TestConformance(t *testing.T) {
	e := newEnv(t)
	cat := e.catalog(t)
	mk := func(name string, setup, compliant func(t *testing.T) remediation.Target) remediationtest.Case {
		return remediationtest.Case{
			Action:         cat[name],
			Setup:          setup,
			SetupCompliant: compliant,
			Fetch:          func(t *testing.T, r change.ResourceRef) remediation.Target { return e.fetch(t, r) },
			Complies:       func(t *testing.T, target remediation.Target) bool { return complies(t, name, target) },
			Faulty:         func(t *testing.T, n int) remediation.Action { return e.catalog(t, failWrite(n))[name] },
		}
	}
	named := func(c remediationtest.Case, name string) remediationtest.Case {
		c.Name = c.Action.Name() + "/" + name
		return c
	}
	account := func(p armstorage.AccountPropertiesCreateParameters) func(t *testing.T) remediation.Target {
		return func(t *testing.T) remediation.Target { return e.account(t, p) }
	}
	tls := func(v armstorage.MinimumTLSVersion) armstorage.AccountPropertiesCreateParameters {
		return armstorage.AccountPropertiesCreateParameters{MinimumTLSVersion: to.Ptr(v)}
	}
	kept := []*armnetwork.SecurityRule{
		// Rules that must stay: HTTPS from the Internet, SSH from an
		// office, SSH over UDP (no rule objects to it), a deny.
		nsgRule("allow-https-internet", 200, "Inbound", "Allow", "Tcp", []string{"Internet"}, "443"),
		nsgRule("allow-ssh-office", 210, "Inbound", "Allow", "Tcp", []string{"198.51.100.0/24"}, "22"),
		nsgRule("allow-udp-22", 220, "Inbound", "Allow", "Udp", []string{"*"}, "22"),
		nsgRule("deny-all-inbound", 4000, "Inbound", "Deny", "*", []string{"*"}, "*"),
		nsgRule("allow-out-any", 100, "Outbound", "Allow", "*", []string{"*"}, "*"),
	}
	open := []*armnetwork.SecurityRule{
		// SSH from anywhere, RDP in a range from the Internet tag, every
		// port over two ranges from ::/0: three deletes, each a
		// long-running operation the suite fails in turn.
		nsgRule("allow-ssh-any", 100, "Inbound", "Allow", "Tcp", []string{"*"}, "22"),
		nsgRule("allow-rdp-range", 110, "Inbound", "Allow", "*", []string{"Internet"}, "3000-4000"),
		nsgRule("allow-everything-v6", 120, "Inbound", "Allow", "Udp", []string{"10.0.0.0/8", "::/0"}, "0-30000", "30001-65535"),
	}
	fw := func(name, start, end string) fwRule { return fwRule{name, start, end} }
	keptFW := []fwRule{fw("AllowAllWindowsAzureIps", "0.0.0.0", "0.0.0.0"), fw("office", "198.51.100.0", "198.51.100.255")}

	cases := []remediationtest.Case{
		mk(StorageDisablePublicBlobAccess,
			account(armstorage.AccountPropertiesCreateParameters{AllowBlobPublicAccess: to.Ptr(true), MinimumTLSVersion: to.Ptr(armstorage.MinimumTLSVersionTLS12)}),
			account(armstorage.AccountPropertiesCreateParameters{AllowBlobPublicAccess: to.Ptr(false)})),
		named(mk(StorageDisablePublicBlobAccess,
			account(armstorage.AccountPropertiesCreateParameters{AllowBlobPublicAccess: to.Ptr(true)}),
			account(armstorage.AccountPropertiesCreateParameters{})), "never set"),
		mk(StorageRequireHTTPS,
			account(armstorage.AccountPropertiesCreateParameters{EnableHTTPSTrafficOnly: to.Ptr(false)}),
			account(armstorage.AccountPropertiesCreateParameters{EnableHTTPSTrafficOnly: to.Ptr(true)})),
		named(mk(StorageRequireHTTPS,
			account(armstorage.AccountPropertiesCreateParameters{EnableHTTPSTrafficOnly: to.Ptr(false), AllowBlobPublicAccess: to.Ptr(true)}),
			account(armstorage.AccountPropertiesCreateParameters{})), "never set"),
		named(mk(StorageMinTLS12, account(tls(armstorage.MinimumTLSVersionTLS10)), account(tls(armstorage.MinimumTLSVersionTLS12))), "TLS1_0"),
		named(mk(StorageMinTLS12, account(tls(armstorage.MinimumTLSVersionTLS11)), account(tls(armstorage.MinimumTLSVersionTLS13))), "TLS1_1"),
		// Never set means TLS 1.0; Undo writes TLS1_0, which reads back
		// the same.
		named(mk(StorageMinTLS12, account(armstorage.AccountPropertiesCreateParameters{}), account(tls(armstorage.MinimumTLSVersionTLS12))), "never set"),
		mk(NSGDeleteInternetRule,
			func(t *testing.T) remediation.Target {
				return e.nsg(t, append(append([]*armnetwork.SecurityRule{}, kept...), open...)...)
			},
			func(t *testing.T) remediation.Target { return e.nsg(t, kept...) }),
		named(mk(NSGDeleteInternetRule,
			func(t *testing.T) remediation.Target {
				return e.nsg(t, nsgRule("rdp-from-anywhere", 300, "Inbound", "Allow", "Tcp", []string{"0.0.0.0/0"}, "3389"))
			},
			func(t *testing.T) remediation.Target { return e.nsg(t) }), "one rule, empty after"),
		mk(SQLDeleteAllowAllFirewallRule,
			func(t *testing.T) remediation.Target {
				return e.sqlServer(t, append([]fwRule{fw("AllowAll", "0.0.0.0", "255.255.255.255"), fw("temp-open", "0.0.0.0", "255.255.255.255")}, keptFW...)...)
			},
			func(t *testing.T) remediation.Target { return e.sqlServer(t, keptFW...) }),
		func() remediationtest.Case {
			c := mk(KeyVaultEnablePurgeProtection,
				func(t *testing.T) remediation.Target { return e.vault(t, nil, false) },
				func(t *testing.T) remediation.Target { return e.vault(t, nil, true) })
			c.Irreversible = true
			return c
		}(),
		func() remediationtest.Case {
			c := named(mk(KeyVaultEnablePurgeProtection,
				func(t *testing.T) remediation.Target { return e.vault(t, to.Ptr(false), false) },
				func(t *testing.T) remediation.Target { return e.vault(t, to.Ptr(true), true) }), "soft delete off")
			c.Irreversible = true
			return c
		}(),
	}
	remediationtest.Run(t, cases)
}

// account creates a storage account with the given properties and returns
// it as the fetcher reads it.
func (e *env) account(t testing.TB, p armstorage.AccountPropertiesCreateParameters) remediation.Target {
	t.Helper()
	name := e.unique("acmeassets")
	rg := "rg-storage"
	poller, err := e.accounts.BeginCreate(t.Context(), rg, name, armstorage.AccountCreateParameters{
		Kind: to.Ptr(armstorage.KindStorageV2), Location: to.Ptr(testLocation),
		SKU: &armstorage.SKU{Name: to.Ptr(armstorage.SKUNameStandardLRS)}, Properties: &p,
		Tags: map[string]*string{"team": to.Ptr("web")},
	}, nil)
	must(t, err)
	_, err = poller.PollUntilDone(t.Context(), nil)
	must(t, err)
	return e.fetch(t, ref(azres.TypeStorageAccount, e.arm.ID(rg, azres.TypeStorageAccount, name)))
}

func nsgRule(name string, priority int32, direction, access, protocol string, sources []string, ports ...string) *armnetwork.SecurityRule {
	p := &armnetwork.SecurityRulePropertiesFormat{
		Priority: to.Ptr(priority), Direction: to.Ptr(armnetwork.SecurityRuleDirection(direction)), Access: to.Ptr(armnetwork.SecurityRuleAccess(access)),
		Protocol: to.Ptr(armnetwork.SecurityRuleProtocol(protocol)), SourcePortRange: to.Ptr("*"),
		DestinationAddressPrefix: to.Ptr("*"), Description: to.Ptr(name + " (created by the test)"),
	}
	if len(sources) == 1 {
		p.SourceAddressPrefix = to.Ptr(sources[0])
	} else {
		p.SourceAddressPrefixes = to.SliceOfPtrs(sources...)
	}
	if len(ports) == 1 {
		p.DestinationPortRange = to.Ptr(ports[0])
	} else {
		p.DestinationPortRanges = to.SliceOfPtrs(ports...)
	}
	return &armnetwork.SecurityRule{Name: to.Ptr(name), Properties: p}
}

// nsg creates a network security group with the given rules and returns it
// as the fetcher reads it.
func (e *env) nsg(t testing.TB, rules ...*armnetwork.SecurityRule) remediation.Target {
	t.Helper()
	name, rg := e.unique("nsg-web"), "rg-network"
	poller, err := e.nsgs.BeginCreateOrUpdate(t.Context(), rg, name, armnetwork.SecurityGroup{
		Location: to.Ptr(testLocation), Properties: &armnetwork.SecurityGroupPropertiesFormat{SecurityRules: rules},
	}, nil)
	must(t, err)
	_, err = poller.PollUntilDone(t.Context(), nil)
	must(t, err)
	return e.fetch(t, ref(azres.TypeNSG, e.arm.ID(rg, azres.TypeNSG, name)))
}

// fwRule is a SQL server firewall rule to set up.
type fwRule struct{ name, start, end string }

// sqlServer creates a SQL server open to public networks with the given
// firewall rules and returns it as the fetcher reads it.
func (e *env) sqlServer(t testing.TB, rules ...fwRule) remediation.Target {
	t.Helper()
	name, rg := e.unique("sql-billing"), "rg-data"
	poller, err := e.servers.BeginCreateOrUpdate(t.Context(), rg, name, armsql.Server{
		Location: to.Ptr(testLocation), Properties: &armsql.ServerProperties{
			AdministratorLogin: to.Ptr("dbadmin"), AdministratorLoginPassword: to.Ptr("not-a-real-secret-1"),
			PublicNetworkAccess: to.Ptr(armsql.ServerNetworkAccessFlagEnabled), MinimalTLSVersion: to.Ptr("1.2"),
		},
	}, nil)
	must(t, err)
	_, err = poller.PollUntilDone(t.Context(), nil)
	must(t, err)
	for _, r := range rules {
		_, err := e.firewall.CreateOrUpdate(t.Context(), rg, name, r.name, armsql.FirewallRule{
			Properties: &armsql.ServerFirewallRuleProperties{StartIPAddress: to.Ptr(r.start), EndIPAddress: to.Ptr(r.end)},
		}, nil)
		must(t, err)
	}
	return e.fetch(t, ref(azres.TypeSQLServer, e.arm.ID(rg, azres.TypeSQLServer, name)))
}

// vault creates a Key Vault (softDelete nil: Azure's default, on) and
// returns it as the fetcher reads it.
func (e *env) vault(t testing.TB, softDelete *bool, purgeProtection bool) remediation.Target {
	t.Helper()
	name, rg := e.unique("kv-payments"), "rg-secrets"
	p := &armkeyvault.VaultProperties{
		TenantID: to.Ptr("0b5d6f7e-2c1a-4e3b-9d8f-7a6b5c4d3e2f"), SKU: &armkeyvault.SKU{Family: to.Ptr(armkeyvault.SKUFamilyA), Name: to.Ptr(armkeyvault.SKUNameStandard)},
		EnableSoftDelete: softDelete, EnableRbacAuthorization: to.Ptr(true),
	}
	if purgeProtection {
		p.EnablePurgeProtection = to.Ptr(true)
	}
	poller, err := e.vaults.BeginCreateOrUpdate(t.Context(), rg, name, armkeyvault.VaultCreateOrUpdateParameters{Location: to.Ptr(testLocation), Properties: p}, nil)
	must(t, err)
	_, err = poller.PollUntilDone(t.Context(), nil)
	must(t, err)
	return e.fetch(t, ref(azres.TypeKeyVault, e.arm.ID(rg, azres.TypeKeyVault, name)))
}
