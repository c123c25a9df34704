package azfetch

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"testing"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/keyvault/armkeyvault"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/network/armnetwork/v6"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/sql/armsql"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/storage/armstorage"

	"github.com/driftwatch/driftwatch/shared/azres"
	"github.com/driftwatch/driftwatch/shared/change"
	"github.com/driftwatch/driftwatch/shared/resource"
)

// class is how a fetch error is classified.
type class int

const (
	other class = iota
	notFound
	denied
	retryable
)

func (c class) String() string {
	return [...]string{"other", "not found", "access denied", "retryable"}[c]
}

func classify(err error) class {
	switch {
	case errors.Is(err, errNotFound):
		return notFound
	case errors.Is(err, resource.ErrAccessDenied):
		return denied
	case IsRetryable(err):
		return retryable
	}
	return other
}

func TestTranslate(t *testing.T) {
	re := func(status int, code string) error {
		return fmt.Errorf("GET storage account: %w", &azcore.ResponseError{StatusCode: status, ErrorCode: code})
	}
	tests := []struct {
		name string
		err  error
		want class
	}{
		{"404 ResourceNotFound", re(404, "ResourceNotFound"), notFound},
		{"404 ParentResourceNotFound", re(404, "ParentResourceNotFound"), notFound},
		{"404 ResourceGroupNotFound", re(404, "ResourceGroupNotFound"), notFound},
		{"404 SubscriptionNotFound", re(404, "SubscriptionNotFound"), notFound},
		{"404 without a code", re(404, ""), notFound},
		{"404 with a provider's own code", re(404, "ServerNotInSubscriptionResourceGroup"), notFound},
		{"404 InvalidResourceType is our request, not absence", re(404, "InvalidResourceType"), other},
		{"404 NoRegisteredProviderFound", re(404, "NoRegisteredProviderFound"), other},
		{"403 AuthorizationFailed", re(403, "AuthorizationFailed"), denied},
		{"403 LinkedAuthorizationFailed", re(403, "LinkedAuthorizationFailed"), denied},
		{"403 without a code", re(403, ""), denied},
		{"401 InvalidAuthenticationToken", re(401, "InvalidAuthenticationToken"), denied},
		{"429 TooManyRequests", re(429, "TooManyRequests"), retryable},
		{"408", re(408, ""), retryable},
		{"500 InternalServerError", re(500, "InternalServerError"), retryable},
		{"503 ServerBusy", re(503, "ServerBusy"), retryable},
		{"504 GatewayTimeout", re(504, "GatewayTimeout"), retryable},
		{"400 InvalidParameter", re(400, "InvalidParameter"), other},
		{"409 Conflict", re(409, "Conflict"), other},
		{"connection refused", fmt.Errorf("GET: %w", &net.OpError{Op: "dial", Net: "tcp", Err: errors.New("connection refused")}), retryable},
		{"cancelled", fmt.Errorf("GET: %w", context.Canceled), other},
		{"deadline", fmt.Errorf("GET: %w", context.DeadlineExceeded), other},
		{"not an Azure error", errors.New("boom"), other},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := translate(tc.err)
			if !errors.Is(got, tc.err) {
				t.Errorf("translate lost the SDK error: %v", got)
			}
			if c := classify(got); c != tc.want {
				t.Errorf("translate(%v) is %v, want %v", tc.err, c, tc.want)
			}
		})
	}
	if translate(nil) != nil {
		t.Error("translate(nil) != nil")
	}
}

// TestIsRetryableDenialWins: a denial stays final even when it comes
// wrapped with a retryable error.
func TestIsRetryableDenialWins(t *testing.T) {
	err := fmt.Errorf("%w; %w", fmt.Errorf("%w: throttled", ErrRetryable), fmt.Errorf("%w: AuthorizationFailed", resource.ErrAccessDenied))
	if IsRetryable(err) {
		t.Errorf("IsRetryable(%v) = true", err)
	}
}

// seeded returns a world holding one resource of every type, each read
// answering, and the references to them.
func seeded() (*world, map[string]change.ResourceRef) {
	w := newWorld()
	st := armID("rg1", "Microsoft.Storage", "storageAccounts", "st1")
	nsg := armID("rg1", "Microsoft.Network", "networkSecurityGroups", "nsg1")
	srv := armID("rg1", "Microsoft.Sql", "servers", "sql1")
	kv := armID("rg1", "Microsoft.KeyVault", "vaults", "kv1")
	w.accounts[key("rg1", "st1")] = armstorage.Account{ID: &st, Name: ptr("st1")}
	w.nsgs[key("rg1", "nsg1")] = armnetwork.SecurityGroup{ID: &nsg, Name: ptr("nsg1")}
	w.servers[key("rg1", "sql1")] = armsql.Server{ID: &srv, Name: ptr("sql1")}
	w.auditing[key("rg1", "sql1")] = armsql.ServerBlobAuditingPolicy{}
	w.databases[key("rg1", "sql1", "db1")] = armsql.Database{ID: ptr(srv + "/databases/db1"), Name: ptr("db1")}
	w.tde[key("rg1", "sql1", "db1")] = armsql.LogicalDatabaseTransparentDataEncryption{}
	w.vaults[key("rg1", "kv1")] = armkeyvault.Vault{ID: &kv, Name: ptr("kv1")}
	w.diag[testSub] = nil
	return w, map[string]change.ResourceRef{
		"storage":  ref(azres.TypeStorageAccount, st),
		"nsg":      ref(azres.TypeNSG, nsg),
		"server":   ref(azres.TypeSQLServer, srv),
		"database": ref(azres.TypeSQLDatabase, srv+"/databases/db1"),
		"vault":    ref(azres.TypeKeyVault, kv),
		"sub":      ref(azres.TypeSubscription, azres.SubscriptionID(testSub)),
	}
}

// TestFetchErrors injects each error response into each read of each type
// through the SDK fakes: any read's failure decides the fetch.
func TestFetchErrors(t *testing.T) {
	reads := []struct {
		resource string
		api      string
	}{
		{"storage", "AccountsClient.GetProperties"},
		{"nsg", "SecurityGroupsClient.Get"},
		{"server", "ServersClient.Get"},
		{"server", "FirewallRulesClient.NewListByServerPager"},
		{"server", "ServerBlobAuditingPoliciesClient.Get"},
		{"database", "DatabasesClient.Get"},
		{"database", "TransparentDataEncryptionsClient.Get"},
		{"vault", "VaultsClient.Get"},
		{"sub", "DiagnosticSettingsClient.NewListPager"},
	}
	failures := []struct {
		f    failure
		want class
	}{
		{failure{http.StatusNotFound, "ResourceNotFound"}, notFound},
		{failure{http.StatusNotFound, "ParentResourceNotFound"}, notFound},
		{failure{http.StatusForbidden, "AuthorizationFailed"}, denied},
		{failure{http.StatusTooManyRequests, "TooManyRequests"}, retryable},
		{failure{http.StatusServiceUnavailable, "ServerBusy"}, retryable},
		{failure{http.StatusBadRequest, "InvalidParameter"}, other},
	}
	for _, rd := range reads {
		for _, fl := range failures {
			t.Run(fmt.Sprintf("%s/%d %s", rd.api, fl.f.status, fl.f.code), func(t *testing.T) {
				w, refs := seeded()
				w.fail[rd.api] = fl.f
				r := refs[rd.resource]
				got, err := w.fetcher(nil).Fetch(t.Context(), r)
				if n := w.callCount(rd.api); n != 1 {
					t.Errorf("%s was called %d times, want 1", rd.api, n)
				}
				if fl.want == notFound {
					if err != nil || got.Exists || got.Doc != nil || got.Tags != nil {
						t.Fatalf("Fetch = %+v, %v; want Exists=false", got, err)
					}
					if got.Ref.ID != r.ID || got.Ref.Account != testSub || got.Ref.Cloud != change.Azure || got.Ref.Name == "" {
						t.Errorf("Ref = %+v; want the reference's canonical id, a name and the subscription", got.Ref)
					}
					return
				}
				var re *azcore.ResponseError
				if !errors.As(err, &re) || re.StatusCode != fl.f.status || re.ErrorCode != fl.f.code {
					t.Fatalf("Fetch: %v; want the ARM error %d %s in the chain", err, fl.f.status, fl.f.code)
				}
				if c := classify(err); c != fl.want {
					t.Errorf("Fetch error %v is %v, want %v", err, c, fl.want)
				}
			})
		}
	}
}

// TestFetchMissing: resources absent from ARM (not injected errors) are
// results, with the reference's identity.
func TestFetchMissing(t *testing.T) {
	for name, r := range map[string]change.ResourceRef{
		"storage":  ref(azres.TypeStorageAccount, armID("rg1", "Microsoft.Storage", "storageAccounts", "stgone")),
		"nsg":      ref(azres.TypeNSG, armID("rg1", "Microsoft.Network", "networkSecurityGroups", "nsggone")),
		"server":   ref(azres.TypeSQLServer, armID("rg1", "Microsoft.Sql", "servers", "sqlgone")),
		"database": ref(azres.TypeSQLDatabase, armID("rg1", "Microsoft.Sql", "servers", "sql1", "databases", "dbgone")),
		"vault":    ref(azres.TypeKeyVault, armID("rg1", "Microsoft.KeyVault", "vaults", "kvgone")),
		"sub":      ref(azres.TypeSubscription, "/subscriptions/0b0b0b0b-0000-4000-8000-000000000000"),
	} {
		t.Run(name, func(t *testing.T) {
			w, _ := seeded()
			r.Account = ""
			r.Region = "westeurope"
			got := fetch(t, w.fetcher(nil), r)
			if got.Exists || got.Doc != nil {
				t.Fatalf("Exists = %v, Doc = %v; want a missing resource", got.Exists, got.Doc)
			}
			wantName := r.ID[strings.LastIndex(r.ID, "/")+1:]
			sub := r.ID[len("/subscriptions/"):][:36]
			want := change.ResourceRef{Cloud: change.Azure, Type: r.Type, ID: r.ID, Name: wantName, Account: sub, Region: "westeurope"}
			if got.Ref != want {
				t.Errorf("Ref = %+v\nwant  %+v", got.Ref, want)
			}
		})
	}
}
