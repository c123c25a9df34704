package azfetch

import (
	"context"
	"fmt"

	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/keyvault/armkeyvault"

	"github.com/driftwatch/driftwatch/shared/azres"
)

// vaultsAPI is what the Key Vault reader calls.
type vaultsAPI interface {
	Get(ctx context.Context, resourceGroupName string, vaultName string, options *armkeyvault.VaultsClientGetOptions) (armkeyvault.VaultsClientGetResponse, error)
}

var _ vaultsAPI = (*armkeyvault.VaultsClient)(nil)

// defaultSoftDeleteRetentionDays is what Azure keeps a deleted vault's
// objects for when the vault does not say.
const defaultSoftDeleteRetentionDays = 90

// fetchKeyVault reads a vault. An unset EnableSoftDelete means enabled:
// Azure has created every vault with soft delete since 2020 whatever the
// request said, soft delete cannot be turned off once on, and Microsoft has
// since enforced it on older vaults, so only an explicit false is reported
// as off. An unset retention is the 90-day default, an unset purge
// protection or RBAC flag is off (the documented defaults), and a vault
// without network ACLs allows by default.
func (f *Fetcher) fetchKeyVault(ctx context.Context, t target) (observation, error) {
	c, err := f.vaults.get(t.subscription)
	if err != nil {
		return observation{}, err
	}
	resp, err := c.Get(ctx, t.resourceGroup, t.name, nil)
	if err != nil {
		return observation{}, fmt.Errorf("key vault %s: %w", t.name, err)
	}
	v := resp.Vault
	p := deref(v.Properties)
	id, rg, name := identity(t, v.ID, v.Name)
	doc := &azres.KeyVault{
		ID:                      id,
		Name:                    name,
		ResourceGroup:           rg,
		Location:                deref(v.Location),
		SoftDeleteEnabled:       boolOr(p.EnableSoftDelete, true),
		SoftDeleteRetentionDays: defaultSoftDeleteRetentionDays,
		PurgeProtectionEnabled:  boolOr(p.EnablePurgeProtection, false),
		PublicNetworkAccess:     deref(p.PublicNetworkAccess),
		NetworkDefaultAction:    string(armkeyvault.NetworkRuleActionAllow),
		EnableRBAC:              boolOr(p.EnableRbacAuthorization, false),
		Tags:                    tagMap(v.Tags),
	}
	if p.SoftDeleteRetentionInDays != nil {
		doc.SoftDeleteRetentionDays = int64(*p.SoftDeleteRetentionInDays)
	}
	if p.NetworkACLs != nil {
		doc.NetworkDefaultAction = enumOr(p.NetworkACLs.DefaultAction, doc.NetworkDefaultAction)
	}
	return observation{id: id, name: name, region: doc.Location, tags: doc.Tags, doc: doc}, nil
}
