package azfetch

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	azfake "github.com/Azure/azure-sdk-for-go/sdk/azcore/fake"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/keyvault/armkeyvault"
	kvfake "github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/keyvault/armkeyvault/fake"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/monitor/armmonitor"
	monfake "github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/monitor/armmonitor/fake"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/network/armnetwork/v6"
	netfake "github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/network/armnetwork/v6/fake"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/sql/armsql"
	sqlfake "github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/sql/armsql/fake"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/storage/armstorage"
	stfake "github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/storage/armstorage/fake"

	"github.com/driftwatch/driftwatch/shared/azres"
	"github.com/driftwatch/driftwatch/shared/change"
	"github.com/driftwatch/driftwatch/shared/resource"
)

// testSub is the subscription every test resource lives in; ARM reports
// subscription ids in lower case.
const testSub = "6f1c2a9e-3b7d-4e21-9c55-0a8d2e4b7f13"

// testClock is the fixed time every test fetcher reports as ObservedAt.
var testClock = time.Date(2026, 12, 4, 3, 0, 0, 0, time.UTC)

// armID builds an ARM id in the mixed case ARM answers with.
func armID(rg, provider string, typesAndNames ...string) string {
	return "/subscriptions/" + testSub + "/resourceGroups/" + rg + "/providers/" + provider + "/" + strings.Join(typesAndNames, "/")
}

// failure is an error response a fake returns instead of the resource.
type failure struct {
	status int
	code   string
}

// world is the state behind the SDK's fake servers: the resources ARM would
// hold, keyed by lower-case "rg/name" paths (ARM names are
// case-insensitive), plus injected failures per API name
// ("ServersClient.Get") and a hook every call passes through.
type world struct {
	mu        sync.Mutex
	accounts  map[string]armstorage.Account
	nsgs      map[string]armnetwork.SecurityGroup
	servers   map[string]armsql.Server
	firewall  map[string][][]*armsql.FirewallRule // pages, by server
	auditing  map[string]armsql.ServerBlobAuditingPolicy
	databases map[string]armsql.Database // by rg/server/db
	tde       map[string]armsql.LogicalDatabaseTransparentDataEncryption
	vaults    map[string]armkeyvault.Vault
	diag      map[string][][]*armmonitor.DiagnosticSettingsResource // pages, by subscription
	fail      map[string]failure
	calls     map[string]int
	// hook, when set, runs inside every fake call, outside the lock.
	hook func(api string)
}

func newWorld() *world {
	return &world{
		accounts: map[string]armstorage.Account{}, nsgs: map[string]armnetwork.SecurityGroup{},
		servers: map[string]armsql.Server{}, firewall: map[string][][]*armsql.FirewallRule{},
		auditing: map[string]armsql.ServerBlobAuditingPolicy{}, databases: map[string]armsql.Database{},
		tde: map[string]armsql.LogicalDatabaseTransparentDataEncryption{}, vaults: map[string]armkeyvault.Vault{},
		diag: map[string][][]*armmonitor.DiagnosticSettingsResource{}, fail: map[string]failure{}, calls: map[string]int{},
	}
}

func key(parts ...string) string { return strings.ToLower(strings.Join(parts, "/")) }

// call records a call to api and returns the failure to answer with, if
// any: an injected one, else a 404 when the resource (found reports it) or
// its parent (parentFound) is missing.
func (w *world) call(api string, found, parentFound bool) *failure {
	if w.hook != nil {
		w.hook(api)
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	w.calls[api]++
	if f, ok := w.fail[api]; ok {
		return &f
	}
	if !parentFound {
		return &failure{http.StatusNotFound, "ParentResourceNotFound"}
	}
	if !found {
		return &failure{http.StatusNotFound, "ResourceNotFound"}
	}
	return nil
}

// get looks k up in m under the lock.
func get[T any](w *world, m map[string]T, k string) (T, bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	v, ok := m[k]
	return v, ok
}

func (w *world) hasServer(rg, server string) bool {
	_, ok := get(w, w.servers, key(rg, server))
	return ok
}

func (w *world) callCount(api string) int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.calls[api]
}

// respond answers a fake call with v or with the failure.
func respond[T any](resp *azfake.Responder[T], errResp *azfake.ErrorResponder, v T, f *failure) {
	if f != nil {
		errResp.SetResponseError(f.status, f.code)
		return
	}
	resp.SetResponse(http.StatusOK, v, nil)
}

// pages answers a fake list with the pages or with the failure.
func pages[T, V any](resp *azfake.PagerResponder[T], pp [][]V, f *failure, page func([]V) T) {
	if f != nil {
		resp.AddResponseError(f.status, f.code)
		return
	}
	if len(pp) == 0 {
		pp = [][]V{nil}
	}
	for _, p := range pp {
		resp.AddPage(http.StatusOK, page(p), nil)
	}
}

// transports returns the SDK fake server factories of every package the
// Fetcher uses, backed by w.
func (w *world) transports() map[string]policy.Transporter {
	storage := &stfake.ServerFactory{AccountsServer: stfake.AccountsServer{
		GetProperties: func(_ context.Context, rg, name string, _ *armstorage.AccountsClientGetPropertiesOptions) (resp azfake.Responder[armstorage.AccountsClientGetPropertiesResponse], errResp azfake.ErrorResponder) {
			a, ok := get(w, w.accounts, key(rg, name))
			respond(&resp, &errResp, armstorage.AccountsClientGetPropertiesResponse{Account: a}, w.call("AccountsClient.GetProperties", ok, true))
			return
		},
	}}
	network := &netfake.ServerFactory{SecurityGroupsServer: netfake.SecurityGroupsServer{
		Get: func(_ context.Context, rg, name string, _ *armnetwork.SecurityGroupsClientGetOptions) (resp azfake.Responder[armnetwork.SecurityGroupsClientGetResponse], errResp azfake.ErrorResponder) {
			g, ok := get(w, w.nsgs, key(rg, name))
			respond(&resp, &errResp, armnetwork.SecurityGroupsClientGetResponse{SecurityGroup: g}, w.call("SecurityGroupsClient.Get", ok, true))
			return
		},
	}}
	sql := &sqlfake.ServerFactory{
		ServersServer: sqlfake.ServersServer{
			Get: func(_ context.Context, rg, name string, _ *armsql.ServersClientGetOptions) (resp azfake.Responder[armsql.ServersClientGetResponse], errResp azfake.ErrorResponder) {
				s, ok := get(w, w.servers, key(rg, name))
				respond(&resp, &errResp, armsql.ServersClientGetResponse{Server: s}, w.call("ServersClient.Get", ok, true))
				return
			},
		},
		FirewallRulesServer: sqlfake.FirewallRulesServer{
			NewListByServerPager: func(rg, server string, _ *armsql.FirewallRulesClientListByServerOptions) (resp azfake.PagerResponder[armsql.FirewallRulesClientListByServerResponse]) {
				pp, _ := get(w, w.firewall, key(rg, server))
				pages(&resp, pp, w.call("FirewallRulesClient.NewListByServerPager", true, w.hasServer(rg, server)),
					func(p []*armsql.FirewallRule) armsql.FirewallRulesClientListByServerResponse {
						return armsql.FirewallRulesClientListByServerResponse{FirewallRuleListResult: armsql.FirewallRuleListResult{Value: p}}
					})
				return
			},
		},
		ServerBlobAuditingPoliciesServer: sqlfake.ServerBlobAuditingPoliciesServer{
			Get: func(_ context.Context, rg, server string, _ *armsql.ServerBlobAuditingPoliciesClientGetOptions) (resp azfake.Responder[armsql.ServerBlobAuditingPoliciesClientGetResponse], errResp azfake.ErrorResponder) {
				a, ok := get(w, w.auditing, key(rg, server))
				respond(&resp, &errResp, armsql.ServerBlobAuditingPoliciesClientGetResponse{ServerBlobAuditingPolicy: a},
					w.call("ServerBlobAuditingPoliciesClient.Get", ok, w.hasServer(rg, server)))
				return
			},
		},
		DatabasesServer: sqlfake.DatabasesServer{
			Get: func(_ context.Context, rg, server, db string, _ *armsql.DatabasesClientGetOptions) (resp azfake.Responder[armsql.DatabasesClientGetResponse], errResp azfake.ErrorResponder) {
				d, ok := get(w, w.databases, key(rg, server, db))
				respond(&resp, &errResp, armsql.DatabasesClientGetResponse{Database: d}, w.call("DatabasesClient.Get", ok, w.hasServer(rg, server)))
				return
			},
		},
		TransparentDataEncryptionsServer: sqlfake.TransparentDataEncryptionsServer{
			Get: func(_ context.Context, rg, server, db string, name armsql.TransparentDataEncryptionName, _ *armsql.TransparentDataEncryptionsClientGetOptions) (resp azfake.Responder[armsql.TransparentDataEncryptionsClientGetResponse], errResp azfake.ErrorResponder) {
				tde, ok := get(w, w.tde, key(rg, server, db))
				if name != armsql.TransparentDataEncryptionNameCurrent {
					ok = false // "current" is the only TDE configuration a database has.
				}
				respond(&resp, &errResp, armsql.TransparentDataEncryptionsClientGetResponse{LogicalDatabaseTransparentDataEncryption: tde},
					w.call("TransparentDataEncryptionsClient.Get", ok, w.hasServer(rg, server)))
				return
			},
		},
	}
	keyvault := &kvfake.ServerFactory{VaultsServer: kvfake.VaultsServer{
		Get: func(_ context.Context, rg, name string, _ *armkeyvault.VaultsClientGetOptions) (resp azfake.Responder[armkeyvault.VaultsClientGetResponse], errResp azfake.ErrorResponder) {
			v, ok := get(w, w.vaults, key(rg, name))
			respond(&resp, &errResp, armkeyvault.VaultsClientGetResponse{Vault: v}, w.call("VaultsClient.Get", ok, true))
			return
		},
	}}
	monitor := &monfake.ServerFactory{DiagnosticSettingsServer: monfake.DiagnosticSettingsServer{
		NewListPager: func(scope string, _ *armmonitor.DiagnosticSettingsClientListOptions) (resp azfake.PagerResponder[armmonitor.DiagnosticSettingsClientListResponse]) {
			// The fake hands the scope over without its leading slash.
			sub, ok := strings.CutPrefix(strings.ToLower(scope), "subscriptions/")
			var pp [][]*armmonitor.DiagnosticSettingsResource
			if ok {
				pp, ok = get(w, w.diag, sub)
			}
			f := w.call("DiagnosticSettingsClient.NewListPager", true, true)
			if f == nil && !ok {
				f = &failure{http.StatusNotFound, "SubscriptionNotFound"}
			}
			pages(&resp, pp, f, func(p []*armmonitor.DiagnosticSettingsResource) armmonitor.DiagnosticSettingsClientListResponse {
				return armmonitor.DiagnosticSettingsClientListResponse{DiagnosticSettingsResourceCollection: armmonitor.DiagnosticSettingsResourceCollection{Value: p}}
			})
			return
		},
	}}
	return map[string]policy.Transporter{
		ProviderStorage:  stfake.NewServerFactoryTransport(storage),
		ProviderNetwork:  netfake.NewServerFactoryTransport(network),
		ProviderSQL:      sqlfake.NewServerFactoryTransport(sql),
		ProviderKeyVault: kvfake.NewServerFactoryTransport(keyvault),
		ProviderInsights: monfake.NewServerFactoryTransport(monitor),
	}
}

// fetcher returns a Fetcher on the fakes as production would build it,
// with only the transports and the clock changed.
func (w *world) fetcher(opts *Options) *Fetcher {
	o := Options{}
	if opts != nil {
		o = *opts
	}
	o.Now = func() time.Time { return testClock }
	transports := w.transports()
	for k, v := range o.Transports {
		transports[k] = v
	}
	o.Transports = transports
	return New(&azfake.TokenCredential{}, &o)
}

// fetch reads ref and fails the test on error.
func fetch(t testing.TB, f *Fetcher, ref change.ResourceRef) resource.Resource {
	t.Helper()
	got, err := f.Fetch(t.Context(), ref)
	if err != nil {
		t.Fatalf("Fetch(%+v): %v", ref, err)
	}
	if !got.ObservedAt.Equal(testClock) {
		t.Errorf("ObservedAt = %v, want the clock's %v", got.ObservedAt, testClock)
	}
	return got
}

// ref returns the reference an event would carry for an ARM id.
func ref(typ, id string) change.ResourceRef {
	return change.ResourceRef{Cloud: change.Azure, Type: typ, ID: azres.CanonicalID(id), Account: testSub}
}

// assertJSON compares got and want through their JSON form (the form rules
// see) and prints both, line by line, where they differ.
func assertJSON(t testing.TB, what string, got, want any) {
	t.Helper()
	g, err := json.MarshalIndent(got, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	w, err := json.MarshalIndent(want, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	if string(g) == string(w) {
		return
	}
	gl, wl := strings.Split(string(g), "\n"), strings.Split(string(w), "\n")
	var b strings.Builder
	for i := range max(len(gl), len(wl)) {
		var gs, ws string
		if i < len(gl) {
			gs = gl[i]
		}
		if i < len(wl) {
			ws = wl[i]
		}
		if gs != ws {
			fmt.Fprintf(&b, "line %d:\n  got:  %s\n  want: %s\n", i+1, strings.TrimSpace(gs), strings.TrimSpace(ws))
		}
	}
	t.Errorf("%s differs (-got +want by line):\n%s\ngot:\n%s", what, b.String(), g)
}

// assertFound checks that the fetch found the resource and filled Ref and
// Tags from what it read.
func assertFound(t testing.TB, got resource.Resource, want change.ResourceRef, tags map[string]string) {
	t.Helper()
	if !got.Exists || got.Doc == nil {
		t.Fatalf("Exists = %v, Doc = %v; want the resource", got.Exists, got.Doc)
	}
	want.Cloud, want.Account = change.Azure, testSub
	if got.Ref != want {
		t.Errorf("Ref = %+v\nwant  %+v", got.Ref, want)
	}
	assertJSON(t, "tags", got.Tags, tags)
}

func ptr[T any](v T) *T { return &v }
