package azremedy

import (
	"context"
	"fmt"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/keyvault/armkeyvault"

	"github.com/driftwatch/driftwatch/shared/azres"
	"github.com/driftwatch/driftwatch/shared/remediation"
)

// vaultAPI is what azure_keyvault_enable_purge_protection calls.
type vaultAPI interface {
	Get(ctx context.Context, resourceGroupName, vaultName string, options *armkeyvault.VaultsClientGetOptions) (armkeyvault.VaultsClientGetResponse, error)
	Update(ctx context.Context, resourceGroupName, vaultName string, parameters armkeyvault.VaultPatchParameters, options *armkeyvault.VaultsClientUpdateOptions) (armkeyvault.VaultsClientUpdateResponse, error)
}

// purgeBefore is azure_keyvault_enable_purge_protection's snapshot: the
// two settings it may turn on, as ARM returned them (null when unset). It
// records what was changed; nothing can restore it.
type purgeBefore struct {
	PurgeProtection *bool `json:"purge_protection"`
	SoftDelete      *bool `json:"soft_delete"`
}

// keyVaultEnablePurgeProtection turns on purge protection (PATCH
// EnablePurgeProtection=true), and soft delete with it when the vault has
// it explicitly off, because Azure refuses purge protection without soft
// delete. Azure allows neither to be turned off again: the action is
// listed in Irreversible, its Plan says so and its Undo fails with
// ErrIrreversible.
func keyVaultEnablePurgeProtection(b *builder) remediation.Action {
	perms := []string{"Microsoft.KeyVault/vaults/read", "Microsoft.KeyVault/vaults/write"}
	return &action[azres.KeyVault, purgeBefore, vaultAPI]{
		name: KeyVaultEnablePurgeProtection, resourceType: azres.TypeKeyVault, provider: ProviderKeyVault, client: "VaultsClient",
		perms: perms, opts: &b.opts,
		clients: clients(b, KeyVaultEnablePurgeProtection, ProviderKeyVault, "VaultsClient", perms, armkeyvault.NewVaultsClient, func(c *armkeyvault.VaultsClient) vaultAPI { return c }),
		docID:   func(d *azres.KeyVault) string { return d.ID },
		plan: func(d *azres.KeyVault) (remediation.Plan, error) {
			vault := "Key Vault " + label(d.Name, d.ResourceGroup)
			if d.PurgeProtectionEnabled {
				return remediation.Plan{Noop: true, Change: "Purge protection is already on for " + vault}, nil
			}
			change := "Turn on purge protection for " + vault
			if !d.SoftDeleteEnabled {
				change += ", and soft delete, which it requires"
			}
			retention := "its soft-delete retention period"
			if d.SoftDeleteRetentionDays > 0 {
				retention = fmt.Sprintf("its %d-day soft-delete retention period", d.SoftDeleteRetentionDays)
			}
			return remediation.Plan{Change: change + ": deleted keys, secrets, certificates and the vault can no longer be purged before " + retention + " ends"}, nil
		},
		apply: func(ctx context.Context, c vaultAPI, l loc) (purgeBefore, bool, error) {
			out, err := c.Get(ctx, l.ResourceGroup, l.Name, nil)
			if err != nil {
				return purgeBefore{}, false, err
			}
			var before purgeBefore
			if p := out.Properties; p != nil {
				before = purgeBefore{PurgeProtection: p.EnablePurgeProtection, SoftDelete: p.EnableSoftDelete}
			}
			if deref(before.PurgeProtection) {
				return before, false, nil
			}
			patch := armkeyvault.VaultPatchProperties{EnablePurgeProtection: to.Ptr(true)}
			if before.SoftDelete != nil && !*before.SoftDelete {
				patch.EnableSoftDelete = to.Ptr(true)
			}
			_, err = c.Update(ctx, l.ResourceGroup, l.Name, armkeyvault.VaultPatchParameters{Properties: &patch}, nil)
			return before, true, err
		},
		undo: func(context.Context, vaultAPI, loc, purgeBefore) error {
			return fmt.Errorf("%w: %s", ErrIrreversible, irreversible()[KeyVaultEnablePurgeProtection])
		},
	}
}
