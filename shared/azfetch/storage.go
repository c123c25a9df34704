package azfetch

import (
	"context"
	"fmt"

	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/storage/armstorage"

	"github.com/driftwatch/driftwatch/shared/azres"
)

// accountsAPI is what the storage account reader calls.
type accountsAPI interface {
	GetProperties(ctx context.Context, resourceGroupName string, accountName string, options *armstorage.AccountsClientGetPropertiesOptions) (armstorage.AccountsClientGetPropertiesResponse, error)
}

var _ accountsAPI = (*armstorage.AccountsClient)(nil)

// fetchStorageAccount reads a storage account. Settings the API leaves out
// take the defaults Azure documents for them: no anonymous blob access,
// Shared Key allowed, HTTPS only (the default since API 2019-04-01), TLS
// 1.0 as the minimum, and a firewall that allows by default.
func (f *Fetcher) fetchStorageAccount(ctx context.Context, t target) (observation, error) {
	c, err := f.accounts.get(t.subscription)
	if err != nil {
		return observation{}, err
	}
	resp, err := c.GetProperties(ctx, t.resourceGroup, t.name, nil)
	if err != nil {
		return observation{}, fmt.Errorf("storage account %s: %w", t.name, err)
	}
	a := resp.Account
	p := deref(a.Properties)
	id, rg, name := identity(t, a.ID, a.Name)
	doc := &azres.StorageAccount{
		ID:                    id,
		Name:                  name,
		ResourceGroup:         rg,
		Location:              deref(a.Location),
		AllowBlobPublicAccess: boolOr(p.AllowBlobPublicAccess, false),
		HTTPSOnly:             boolOr(p.EnableHTTPSTrafficOnly, true),
		MinimumTLSVersion:     enumOr(p.MinimumTLSVersion, string(armstorage.MinimumTLSVersionTLS10)),
		NetworkDefaultAction:  string(armstorage.DefaultActionAllow),
		PublicNetworkAccess:   enumOr(p.PublicNetworkAccess, ""),
		AllowSharedKeyAccess:  boolOr(p.AllowSharedKeyAccess, true),
		Tags:                  tagMap(a.Tags),
	}
	if p.NetworkRuleSet != nil {
		doc.NetworkDefaultAction = enumOr(p.NetworkRuleSet.DefaultAction, doc.NetworkDefaultAction)
	}
	return observation{id: id, name: name, region: doc.Location, tags: doc.Tags, doc: doc}, nil
}
