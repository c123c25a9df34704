package armfake

import (
	"context"
	"net/http"

	azfake "github.com/Azure/azure-sdk-for-go/sdk/azcore/fake"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/keyvault/armkeyvault"
)

const typeVault = "Microsoft.KeyVault/vaults"

// createVault stores a vault. As in Azure, soft delete is on unless the
// request turns it off, with a 90-day retention.
func (s *Server) createVault(_ context.Context, rg, name string, p armkeyvault.VaultCreateOrUpdateParameters, _ *armkeyvault.VaultsClientBeginCreateOrUpdateOptions) (resp azfake.PollerResponder[armkeyvault.VaultsClientCreateOrUpdateResponse], errResp azfake.ErrorResponder) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if f, ok := s.call("VaultsClient.BeginCreateOrUpdate"); ok {
		lroAs(s, &resp, http.StatusCreated, 0, armkeyvault.VaultsClientCreateOrUpdateResponse{}, &f)
		return
	}
	if p.Properties == nil {
		errResp.SetResponseError(http.StatusBadRequest, "BadRequest")
		return
	}
	v := armkeyvault.Vault{
		ID: ptr(s.ID(rg, typeVault, name)), Name: ptr(name), Type: ptr(typeVault),
		Location: p.Location, Tags: p.Tags, Properties: ptr(clone(*p.Properties)),
	}
	props := v.Properties
	if props.EnableSoftDelete == nil {
		props.EnableSoftDelete = ptr(true)
	}
	if props.SoftDeleteRetentionInDays == nil {
		props.SoftDeleteRetentionInDays = ptr[int32](90)
	}
	if deref(props.EnablePurgeProtection) && !*props.EnableSoftDelete {
		errResp.SetResponseError(http.StatusBadRequest, "BadRequest")
		return
	}
	props.VaultURI = ptr("https://" + name + ".vault.azure.net/")
	props.ProvisioningState = ptr(armkeyvault.VaultProvisioningStateSucceeded)
	s.vaults[key(rg, name)] = v
	lroAs(s, &resp, http.StatusCreated, http.StatusOK, armkeyvault.VaultsClientCreateOrUpdateResponse{Vault: clone(v)}, nil)
	return
}

func (s *Server) getVault(_ context.Context, rg, name string, _ *armkeyvault.VaultsClientGetOptions) (resp azfake.Responder[armkeyvault.VaultsClientGetResponse], errResp azfake.ErrorResponder) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if f, ok := s.call("VaultsClient.Get"); ok {
		errResp.SetResponseError(f.status, f.code)
		return
	}
	v, ok := s.vaults[key(rg, name)]
	if !ok {
		errResp.SetResponseError(http.StatusNotFound, "ResourceNotFound")
		return
	}
	resp.SetResponse(http.StatusOK, armkeyvault.VaultsClientGetResponse{Vault: clone(v)}, nil)
	return
}

// updateVault PATCHes a vault, refusing what Azure refuses: purge
// protection or soft delete turned off once on, and purge protection
// without soft delete.
func (s *Server) updateVault(_ context.Context, rg, name string, p armkeyvault.VaultPatchParameters, _ *armkeyvault.VaultsClientUpdateOptions) (resp azfake.Responder[armkeyvault.VaultsClientUpdateResponse], errResp azfake.ErrorResponder) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if f, ok := s.call("VaultsClient.Update"); ok {
		errResp.SetResponseError(f.status, f.code)
		return
	}
	v, ok := s.vaults[key(rg, name)]
	if !ok {
		errResp.SetResponseError(http.StatusNotFound, "ResourceNotFound")
		return
	}
	v = clone(v)
	if pp := p.Properties; pp != nil {
		cur := v.Properties
		if pp.EnablePurgeProtection != nil && !*pp.EnablePurgeProtection && deref(cur.EnablePurgeProtection) ||
			pp.EnableSoftDelete != nil && !*pp.EnableSoftDelete && deref(cur.EnableSoftDelete) {
			errResp.SetResponseError(http.StatusBadRequest, "BadRequest")
			return
		}
		if err := mergeJSON(cur, pp); err != nil {
			errResp.SetResponseError(http.StatusBadRequest, "BadRequest")
			return
		}
		if deref(cur.EnablePurgeProtection) && !deref(cur.EnableSoftDelete) {
			errResp.SetResponseError(http.StatusBadRequest, "BadRequest")
			return
		}
	}
	if p.Tags != nil {
		v.Tags = p.Tags
	}
	s.vaults[key(rg, name)] = v
	resp.SetResponse(http.StatusOK, armkeyvault.VaultsClientUpdateResponse{Vault: clone(v)}, nil)
	return
}

func deref[T any](p *T) T {
	if p == nil {
		var zero T
		return zero
	}
	return *p
}
