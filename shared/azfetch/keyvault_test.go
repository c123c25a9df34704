package azfetch

import (
	"testing"

	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/keyvault/armkeyvault"

	"github.com/driftwatch/driftwatch/shared/azres"
	"github.com/driftwatch/driftwatch/shared/change"
)

func TestFetchKeyVault(t *testing.T) {
	id := armID("RG-Sec", "Microsoft.KeyVault", "vaults", "kv-payments")
	cid := azres.CanonicalID(id)
	base := azres.KeyVault{ID: cid, Name: "kv-payments", ResourceGroup: "RG-Sec", Location: "westeurope", Tags: map[string]string{}}
	with := func(f func(*azres.KeyVault)) *azres.KeyVault {
		v := base
		f(&v)
		return &v
	}
	tests := []struct {
		name  string
		props *armkeyvault.VaultProperties
		want  *azres.KeyVault
	}{
		{
			name: "compliant: soft delete 90 days, purge protection, private, deny by default, RBAC",
			props: &armkeyvault.VaultProperties{
				EnableSoftDelete: ptr(true), SoftDeleteRetentionInDays: ptr[int32](90), EnablePurgeProtection: ptr(true),
				PublicNetworkAccess: ptr("Disabled"), NetworkACLs: &armkeyvault.NetworkRuleSet{DefaultAction: ptr(armkeyvault.NetworkRuleActionDeny)},
				EnableRbacAuthorization: ptr(true),
			},
			want: with(func(v *azres.KeyVault) {
				v.SoftDeleteEnabled, v.SoftDeleteRetentionDays, v.PurgeProtectionEnabled = true, 90, true
				v.PublicNetworkAccess, v.NetworkDefaultAction, v.EnableRBAC = "Disabled", "Deny", true
			}),
		},
		{
			name: "non-compliant: soft delete off, 7 days, no purge protection, public, allow, access policies",
			props: &armkeyvault.VaultProperties{
				EnableSoftDelete: ptr(false), SoftDeleteRetentionInDays: ptr[int32](7), EnablePurgeProtection: ptr(false),
				PublicNetworkAccess: ptr("Enabled"), NetworkACLs: &armkeyvault.NetworkRuleSet{DefaultAction: ptr(armkeyvault.NetworkRuleActionAllow)},
				EnableRbacAuthorization: ptr(false),
			},
			want: with(func(v *azres.KeyVault) {
				v.SoftDeleteEnabled, v.SoftDeleteRetentionDays, v.PurgeProtectionEnabled = false, 7, false
				v.PublicNetworkAccess, v.NetworkDefaultAction, v.EnableRBAC = "Enabled", "Allow", false
			}),
		},
		{
			// An unset EnableSoftDelete is on: Azure enables soft delete on
			// every vault since 2020 and it cannot be turned off.
			name:  "unset settings: soft delete on for 90 days, purge protection off, allow, access policies",
			props: &armkeyvault.VaultProperties{},
			want: with(func(v *azres.KeyVault) {
				v.SoftDeleteEnabled, v.SoftDeleteRetentionDays, v.NetworkDefaultAction = true, 90, "Allow"
			}),
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			w := newWorld()
			w.vaults[key("rg-sec", "kv-payments")] = armkeyvault.Vault{ID: ptr(id), Name: ptr("kv-payments"), Location: ptr("westeurope"), Properties: tc.props}
			got := fetch(t, w.fetcher(nil), ref(azres.TypeKeyVault, id))
			assertFound(t, got, change.ResourceRef{Type: azres.TypeKeyVault, ID: cid, Name: "kv-payments", Region: "westeurope"}, map[string]string{})
			assertJSON(t, "document", got.Doc, tc.want)
		})
	}
}
