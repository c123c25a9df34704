package azfetch

import (
	"testing"

	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/storage/armstorage"

	"github.com/driftwatch/driftwatch/shared/azres"
	"github.com/driftwatch/driftwatch/shared/change"
)

func TestFetchStorageAccount(t *testing.T) {
	tests := []struct {
		name    string
		account armstorage.Account
		want    *azres.StorageAccount
	}{
		{
			name: "compliant: private, HTTPS only, TLS 1.2, firewall deny, Entra only",
			account: armstorage.Account{
				ID: ptr(armID("RG-Prod", "Microsoft.Storage", "storageAccounts", "stpayments")), Name: ptr("stpayments"),
				Location: ptr("westeurope"), Tags: map[string]*string{"team": ptr("payments"), "empty": nil},
				Properties: &armstorage.AccountProperties{
					AllowBlobPublicAccess:  ptr(false),
					EnableHTTPSTrafficOnly: ptr(true),
					MinimumTLSVersion:      ptr(armstorage.MinimumTLSVersionTLS12),
					NetworkRuleSet:         &armstorage.NetworkRuleSet{DefaultAction: ptr(armstorage.DefaultActionDeny)},
					PublicNetworkAccess:    ptr(armstorage.PublicNetworkAccessDisabled),
					AllowSharedKeyAccess:   ptr(false),
				},
			},
			want: &azres.StorageAccount{
				ID:   azres.CanonicalID(armID("RG-Prod", "Microsoft.Storage", "storageAccounts", "stpayments")),
				Name: "stpayments", ResourceGroup: "RG-Prod", Location: "westeurope",
				AllowBlobPublicAccess: false, HTTPSOnly: true, MinimumTLSVersion: "TLS1_2", NetworkDefaultAction: "Deny",
				PublicNetworkAccess: "Disabled", AllowSharedKeyAccess: false,
				Tags: map[string]string{"team": "payments", "empty": ""},
			},
		},
		{
			name: "non-compliant: anonymous blobs, HTTP, TLS 1.0, open firewall, shared keys",
			account: armstorage.Account{
				ID: ptr(armID("rg-legacy", "Microsoft.Storage", "storageAccounts", "stlegacy01")), Name: ptr("stlegacy01"),
				Location: ptr("eastus"),
				Properties: &armstorage.AccountProperties{
					AllowBlobPublicAccess:  ptr(true),
					EnableHTTPSTrafficOnly: ptr(false),
					MinimumTLSVersion:      ptr(armstorage.MinimumTLSVersionTLS10),
					NetworkRuleSet:         &armstorage.NetworkRuleSet{DefaultAction: ptr(armstorage.DefaultActionAllow)},
					PublicNetworkAccess:    ptr(armstorage.PublicNetworkAccessEnabled),
					AllowSharedKeyAccess:   ptr(true),
				},
			},
			want: &azres.StorageAccount{
				ID:   azres.CanonicalID(armID("rg-legacy", "Microsoft.Storage", "storageAccounts", "stlegacy01")),
				Name: "stlegacy01", ResourceGroup: "rg-legacy", Location: "eastus",
				AllowBlobPublicAccess: true, HTTPSOnly: false, MinimumTLSVersion: "TLS1_0", NetworkDefaultAction: "Allow",
				PublicNetworkAccess: "Enabled", AllowSharedKeyAccess: true, Tags: map[string]string{},
			},
		},
		{
			name: "settings left out take Azure's documented defaults",
			account: armstorage.Account{
				ID: ptr(armID("rg-legacy", "Microsoft.Storage", "storageAccounts", "stold")), Name: ptr("stold"),
				Location: ptr("eastus"), Properties: &armstorage.AccountProperties{},
			},
			want: &azres.StorageAccount{
				ID:   azres.CanonicalID(armID("rg-legacy", "Microsoft.Storage", "storageAccounts", "stold")),
				Name: "stold", ResourceGroup: "rg-legacy", Location: "eastus",
				AllowBlobPublicAccess: false, HTTPSOnly: true, MinimumTLSVersion: "TLS1_0", NetworkDefaultAction: "Allow",
				PublicNetworkAccess: "", AllowSharedKeyAccess: true, Tags: map[string]string{},
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			w := newWorld()
			w.accounts[key(tc.want.ResourceGroup, tc.want.Name)] = tc.account
			got := fetch(t, w.fetcher(nil), ref(azres.TypeStorageAccount, *tc.account.ID))
			assertFound(t, got, change.ResourceRef{Type: azres.TypeStorageAccount, ID: tc.want.ID, Name: tc.want.Name, Region: tc.want.Location}, tc.want.Tags)
			assertJSON(t, "document", got.Doc, tc.want)
		})
	}
}
