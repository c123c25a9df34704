package azremedy

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/storage/armstorage"

	"github.com/driftwatch/driftwatch/shared/azres"
	"github.com/driftwatch/driftwatch/shared/remediation"
)

// storageAPI is what the storage account actions call.
type storageAPI interface {
	GetProperties(ctx context.Context, resourceGroupName, accountName string, options *armstorage.AccountsClientGetPropertiesOptions) (armstorage.AccountsClientGetPropertiesResponse, error)
	Update(ctx context.Context, resourceGroupName, accountName string, parameters armstorage.AccountUpdateParameters, options *armstorage.AccountsClientUpdateOptions) (armstorage.AccountsClientUpdateResponse, error)
}

var storagePerms = []string{"Microsoft.Storage/storageAccounts/read", "Microsoft.Storage/storageAccounts/write"}

func storageClients(b *builder, name string) *perSubscription[storageAPI] {
	return clients(b, name, ProviderStorage, "AccountsClient", storagePerms, armstorage.NewAccountsClient, func(c *armstorage.AccountsClient) storageAPI { return c })
}

func accountID(d *azres.StorageAccount) string { return d.ID }

func accountLabel(d *azres.StorageAccount) string {
	return "storage account " + label(d.Name, d.ResourceGroup)
}

// readAccount reads the account's live properties.
func readAccount(ctx context.Context, c storageAPI, l loc) (armstorage.AccountProperties, error) {
	out, err := c.GetProperties(ctx, l.ResourceGroup, l.Name, nil)
	if err != nil {
		return armstorage.AccountProperties{}, err
	}
	if out.Properties == nil {
		return armstorage.AccountProperties{}, nil
	}
	return *out.Properties, nil
}

// updateAccount PATCHes only the properties set in p: every other setting
// of the account stays as it is.
func updateAccount(ctx context.Context, c storageAPI, l loc, p armstorage.AccountPropertiesUpdateParameters) error {
	_, err := c.Update(ctx, l.ResourceGroup, l.Name, armstorage.AccountUpdateParameters{Properties: &p}, nil)
	return err
}

// blobAccessBefore is azure_storage_disable_public_blob_access's snapshot:
// the property as ARM returned it, null when it was never set.
type blobAccessBefore struct {
	AllowBlobPublicAccess *bool `json:"allow_blob_public_access"`
}

// storageDisablePublicBlobAccess turns off "Allow Blob anonymous access"
// (AllowBlobPublicAccess=false): no container of the account can then be
// read anonymously, whatever its own access level. An account that never
// set the property disallows it already (ARM's default interpretation, and
// the fetcher's).
func storageDisablePublicBlobAccess(b *builder) remediation.Action {
	return &action[azres.StorageAccount, blobAccessBefore, storageAPI]{
		name: StorageDisablePublicBlobAccess, resourceType: azres.TypeStorageAccount, provider: ProviderStorage, client: "AccountsClient",
		perms: storagePerms, opts: &b.opts, clients: storageClients(b, StorageDisablePublicBlobAccess),
		docID: accountID,
		plan: func(d *azres.StorageAccount) (remediation.Plan, error) {
			if !d.AllowBlobPublicAccess {
				return remediation.Plan{Noop: true, Change: "Blob anonymous access is already disallowed on " + accountLabel(d)}, nil
			}
			return remediation.Plan{Change: "Disallow Blob anonymous access on " + accountLabel(d) +
				" (AllowBlobPublicAccess: true -> false); containers set to public access stop serving anonymous reads"}, nil
		},
		apply: func(ctx context.Context, c storageAPI, l loc) (blobAccessBefore, bool, error) {
			p, err := readAccount(ctx, c, l)
			if err != nil {
				return blobAccessBefore{}, false, err
			}
			before := blobAccessBefore{AllowBlobPublicAccess: p.AllowBlobPublicAccess}
			if !deref(p.AllowBlobPublicAccess) {
				return before, false, nil
			}
			return before, true, updateAccount(ctx, c, l, armstorage.AccountPropertiesUpdateParameters{AllowBlobPublicAccess: to.Ptr(false)})
		},
		undo: func(ctx context.Context, c storageAPI, l loc, before blobAccessBefore) error {
			if !deref(before.AllowBlobPublicAccess) {
				return nil // Apply changed nothing it would have to restore
			}
			return updateAccount(ctx, c, l, armstorage.AccountPropertiesUpdateParameters{AllowBlobPublicAccess: to.Ptr(true)})
		},
	}
}

// httpsBefore is azure_storage_require_https's snapshot.
type httpsBefore struct {
	HTTPSOnly *bool `json:"https_only"`
}

// storageRequireHTTPS turns on "Secure transfer required"
// (EnableHTTPSTrafficOnly=true). An account that never set the property
// requires HTTPS already (the default since API version 2019-04-01).
func storageRequireHTTPS(b *builder) remediation.Action {
	return &action[azres.StorageAccount, httpsBefore, storageAPI]{
		name: StorageRequireHTTPS, resourceType: azres.TypeStorageAccount, provider: ProviderStorage, client: "AccountsClient",
		perms: storagePerms, opts: &b.opts, clients: storageClients(b, StorageRequireHTTPS),
		docID: accountID,
		plan: func(d *azres.StorageAccount) (remediation.Plan, error) {
			if d.HTTPSOnly {
				return remediation.Plan{Noop: true, Change: "Secure transfer (HTTPS only) is already required on " + accountLabel(d)}, nil
			}
			return remediation.Plan{Change: "Require secure transfer on " + accountLabel(d) +
				" (EnableHTTPSTrafficOnly: false -> true); clients still using plain HTTP are refused"}, nil
		},
		apply: func(ctx context.Context, c storageAPI, l loc) (httpsBefore, bool, error) {
			p, err := readAccount(ctx, c, l)
			if err != nil {
				return httpsBefore{}, false, err
			}
			before := httpsBefore{HTTPSOnly: p.EnableHTTPSTrafficOnly}
			if p.EnableHTTPSTrafficOnly == nil || *p.EnableHTTPSTrafficOnly {
				return before, false, nil
			}
			return before, true, updateAccount(ctx, c, l, armstorage.AccountPropertiesUpdateParameters{EnableHTTPSTrafficOnly: to.Ptr(true)})
		},
		undo: func(ctx context.Context, c storageAPI, l loc, before httpsBefore) error {
			if before.HTTPSOnly == nil || *before.HTTPSOnly {
				return nil // Apply changed nothing it would have to restore
			}
			return updateAccount(ctx, c, l, armstorage.AccountPropertiesUpdateParameters{EnableHTTPSTrafficOnly: to.Ptr(false)})
		},
	}
}

// tlsBefore is azure_storage_min_tls_1_2's snapshot: the version as ARM
// returned it, null when it was never set.
type tlsBefore struct {
	MinimumTLSVersion *string `json:"minimum_tls_version"`
}

// defaultTLS is what Azure Storage enforces when MinimumTLSVersion is not
// set ("the default interpretation is TLS 1.0 for this property").
const defaultTLS = armstorage.MinimumTLSVersionTLS10

// tlsAtLeast12 reports whether a minimum TLS version ("TLS1_0" ...
// "TLS1_3", "" for unset) is 1.2 or later. A version it cannot read is an
// error: guessing either way could lower the account's minimum.
func tlsAtLeast12(v string) (bool, error) {
	if v == "" {
		v = string(defaultTLS)
	}
	minor, ok := strings.CutPrefix(strings.ToUpper(v), "TLS1_")
	n, err := strconv.Atoi(minor)
	if !ok || err != nil || n < 0 {
		return false, fmt.Errorf("%w: minimum TLS version %q is not one Azure Storage defines (TLS1_0 to TLS1_3)", ErrInvalidTarget, v)
	}
	return n >= 2, nil
}

// storageMinTLS12 raises the account's minimum TLS version to TLS1_2. An
// account already at TLS1_2 or later is left alone (never lowered). An
// account that never set the version enforces TLS 1.0; Undo of such an
// account sets TLS1_0 explicitly, which is what the unset property meant.
func storageMinTLS12(b *builder) remediation.Action {
	return &action[azres.StorageAccount, tlsBefore, storageAPI]{
		name: StorageMinTLS12, resourceType: azres.TypeStorageAccount, provider: ProviderStorage, client: "AccountsClient",
		perms: storagePerms, opts: &b.opts, clients: storageClients(b, StorageMinTLS12),
		docID: accountID,
		plan: func(d *azres.StorageAccount) (remediation.Plan, error) {
			ok, err := tlsAtLeast12(d.MinimumTLSVersion)
			switch {
			case err != nil:
				return remediation.Plan{}, err
			case ok:
				return remediation.Plan{Noop: true, Change: "The minimum TLS version of " + accountLabel(d) + " is already " + d.MinimumTLSVersion}, nil
			}
			from := d.MinimumTLSVersion
			if from == "" {
				from = "not set, so " + string(defaultTLS)
			}
			return remediation.Plan{Change: "Raise the minimum TLS version of " + accountLabel(d) + " to TLS1_2 (now " + from +
				"); clients that only speak TLS 1.0 or 1.1 are refused"}, nil
		},
		apply: func(ctx context.Context, c storageAPI, l loc) (tlsBefore, bool, error) {
			p, err := readAccount(ctx, c, l)
			if err != nil {
				return tlsBefore{}, false, err
			}
			var before tlsBefore
			if p.MinimumTLSVersion != nil {
				before.MinimumTLSVersion = to.Ptr(string(*p.MinimumTLSVersion))
			}
			ok, err := tlsAtLeast12(string(deref(p.MinimumTLSVersion)))
			if err != nil || ok {
				return before, false, err
			}
			return before, true, updateAccount(ctx, c, l, armstorage.AccountPropertiesUpdateParameters{MinimumTLSVersion: to.Ptr(armstorage.MinimumTLSVersionTLS12)})
		},
		undo: func(ctx context.Context, c storageAPI, l loc, before tlsBefore) error {
			v := defaultTLS
			if before.MinimumTLSVersion != nil {
				v = armstorage.MinimumTLSVersion(*before.MinimumTLSVersion)
			}
			return updateAccount(ctx, c, l, armstorage.AccountPropertiesUpdateParameters{MinimumTLSVersion: &v})
		},
	}
}
