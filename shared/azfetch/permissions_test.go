package azfetch

import (
	"context"
	"errors"
	"flag"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"sync/atomic"
	"testing"

	azfake "github.com/Azure/azure-sdk-for-go/sdk/azcore/fake"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/runtime"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/storage/armstorage"
	stfake "github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/storage/armstorage/fake"
)

var update = flag.Bool("update", false, "rewrite testdata/permissions.golden")

// consumerInterfaces maps each SDK client type name to the interface
// through which the readers call it.
func consumerInterfaces() map[string]reflect.Type {
	return map[string]reflect.Type{
		"AccountsClient":                   reflect.TypeFor[accountsAPI](),
		"SecurityGroupsClient":             reflect.TypeFor[securityGroupsAPI](),
		"ServersClient":                    reflect.TypeFor[sqlServersAPI](),
		"FirewallRulesClient":              reflect.TypeFor[firewallRulesAPI](),
		"ServerBlobAuditingPoliciesClient": reflect.TypeFor[auditingAPI](),
		"DatabasesClient":                  reflect.TypeFor[databasesAPI](),
		"TransparentDataEncryptionsClient": reflect.TypeFor[tdeAPI](),
		"VaultsClient":                     reflect.TypeFor[vaultsAPI](),
		"DiagnosticSettingsClient":         reflect.TypeFor[diagnosticSettingsAPI](),
	}
}

// TestPermissionsMatchInterfaces: every SDK method a reader can call is
// declared with an RBAC action, and nothing else is declared.
func TestPermissionsMatchInterfaces(t *testing.T) {
	declared := map[string]map[string]bool{}
	for _, op := range operations() {
		if declared[op.client] == nil {
			declared[op.client] = map[string]bool{}
		}
		if declared[op.client][op.method] {
			t.Errorf("%s.%s is declared twice", op.client, op.method)
		}
		declared[op.client][op.method] = true
	}
	ifaces := consumerInterfaces()
	for client, typ := range ifaces {
		for m := range typ.Methods() {
			if !declared[client][m.Name] {
				t.Errorf("%s.%s is called through %v but has no RBAC action in operations", client, m.Name, typ)
			}
		}
		for method := range declared[client] {
			if _, ok := typ.MethodByName(method); !ok {
				t.Errorf("%s.%s is declared but %v does not call it: remove it from operations", client, method, typ)
			}
		}
	}
	for client := range declared {
		if _, ok := ifaces[client]; !ok {
			t.Errorf("client %s is declared but no consumer interface uses it", client)
		}
	}
}

func TestPermissions(t *testing.T) {
	got := Permissions()
	if !slices.IsSorted(got) || len(slices.Compact(slices.Clone(got))) != len(got) {
		t.Errorf("Permissions() is not sorted and unique: %v", got)
	}
	for _, op := range operations() {
		if !strings.HasPrefix(op.action, op.provider+"/") || !strings.HasSuffix(op.action, "/read") {
			t.Errorf("%s.%s: action %q is not a %s read", op.client, op.method, op.action, op.provider)
		}
	}
	// The golden list makes every change to the detector's role visible in
	// review.
	golden := filepath.Join("testdata", "permissions.golden")
	text := strings.Join(got, "\n") + "\n"
	if *update {
		if err := os.WriteFile(golden, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run go test -run TestPermissions -update)", err)
	}
	if string(want) != text {
		t.Errorf("Permissions() changed; review and run go test -run TestPermissions -update.\ngot:\n%s\nwant:\n%s", text, want)
	}
}

// TestUndeclaredOperationRefused: a call missing from the table never
// leaves the process, so it cannot work in tests and fail in production.
func TestUndeclaredOperationRefused(t *testing.T) {
	var listKeys atomic.Int64
	srv := &stfake.ServerFactory{AccountsServer: stfake.AccountsServer{
		ListKeys: func(context.Context, string, string, *armstorage.AccountsClientListKeysOptions) (resp azfake.Responder[armstorage.AccountsClientListKeysResponse], errResp azfake.ErrorResponder) {
			listKeys.Add(1)
			resp.SetResponse(http.StatusOK, armstorage.AccountsClientListKeysResponse{}, nil)
			return
		},
	}}
	f := New(&azfake.TokenCredential{}, &Options{Transports: map[string]policy.Transporter{ProviderStorage: stfake.NewServerFactoryTransport(srv)}})
	api, err := f.accounts.get(testSub)
	if err != nil {
		t.Fatal(err)
	}
	client, ok := api.(*armstorage.AccountsClient)
	if !ok {
		t.Fatalf("storage client is %T", api)
	}
	_, err = client.ListKeys(t.Context(), "rg1", "st1", nil)
	if !errors.Is(err, errUndeclared) || !strings.Contains(err.Error(), "AccountsClient.ListKeys") {
		t.Errorf("ListKeys through the fetcher's client: %v, want errUndeclared naming it", err)
	}
	if n := listKeys.Load(); n != 0 {
		t.Errorf("%d ListKeys requests reached the fake", n)
	}
}

// TestDeclaredOnlyChecksTheAction: a request whose path ARM would authorise
// with another action than the one declared for its API name is refused
// too, so a wrong entry in operations cannot pass unnoticed.
func TestDeclaredOnlyChecksTheAction(t *testing.T) {
	var sent atomic.Int64
	transport := transporterFunc(func(*http.Request) (*http.Response, error) {
		sent.Add(1)
		return &http.Response{StatusCode: http.StatusOK, Body: http.NoBody, Header: http.Header{}}, nil
	})
	pl := runtime.NewPipeline("azfetch", "test", runtime.PipelineOptions{}, &policy.ClientOptions{
		Transport: transport, PerCallPolicies: []policy.Policy{newDeclaredOnly("AccountsClient")},
	})
	account := "https://management.azure.com" + armID("rg1", "Microsoft.Storage", "storageAccounts", "st1")
	tests := []struct {
		name, api, method, url string
		ok                     bool
	}{
		{"declared call", "AccountsClient.GetProperties", http.MethodGet, account, true},
		{"declared name, another action (listKeys)", "AccountsClient.GetProperties", http.MethodPost, account + "/listKeys", false},
		{"declared name, a write", "AccountsClient.GetProperties", http.MethodPatch, account, false},
		{"undeclared name", "AccountsClient.Delete", http.MethodDelete, account, false},
		{"no name", "", http.MethodGet, account, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			before := sent.Load()
			ctx := t.Context()
			if tc.api != "" {
				ctx = context.WithValue(ctx, runtime.CtxAPINameKey{}, tc.api)
			}
			req, err := runtime.NewRequest(ctx, tc.method, tc.url)
			if err != nil {
				t.Fatal(err)
			}
			_, err = pl.Do(req)
			if tc.ok != (err == nil) || !tc.ok && !errors.Is(err, errUndeclared) {
				t.Fatalf("Do: %v, want allowed=%v", err, tc.ok)
			}
			if reached := sent.Load() > before; reached != tc.ok {
				t.Errorf("request reached the transport: %v, want %v", reached, tc.ok)
			}
		})
	}
}

type transporterFunc func(*http.Request) (*http.Response, error)

func (f transporterFunc) Do(req *http.Request) (*http.Response, error) { return f(req) }
