// Package armfake is a stateful Azure Resource Manager for tests and demos,
// where no Azure emulator exists. It serves the ARM APIs driftwatch reads
// and changes — storage accounts, network security groups and their rules,
// SQL servers with their firewall rules and auditing policy, Key Vaults —
// through the Azure SDK's own fake server transports (the fake packages of
// armstorage, armnetwork, armsql and armkeyvault): the handlers here only
// keep the resources in memory and answer as ARM does. Any client of those
// packages works against it, with Transports as its transport.
//
// What it models, and why:
//   - 404 ResourceNotFound for a missing resource, ParentResourceNotFound
//     for a child of a missing parent, 204 for the delete of a missing
//     child (ARM deletes are idempotent);
//   - long-running operations (creates, security rule writes and deletes)
//     answer PollSteps non-terminal responses before the terminal one, so
//     pollers really poll;
//   - PATCH merges only the properties sent;
//   - ARM's refusals the actions must meet: two security rules of one
//     direction with the same priority, a firewall rule range that is not
//     IPv4 from-to, and turning Key Vault purge protection or soft delete
//     off once on (Azure forbids both);
//   - failures injected per API name (Fail), long-running ones failing at
//     their terminal response having changed nothing.
//
// The SDK fakes do not pass the subscription of a request to the handlers:
// a Server holds one subscription's resources and answers every request
// from them.
package armfake

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	azfake "github.com/Azure/azure-sdk-for-go/sdk/azcore/fake"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/keyvault/armkeyvault"
	kvfake "github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/keyvault/armkeyvault/fake"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/network/armnetwork/v6"
	netfake "github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/network/armnetwork/v6/fake"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/sql/armsql"
	sqlfake "github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/sql/armsql/fake"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/storage/armstorage"
	stfake "github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/storage/armstorage/fake"
)

// The provider namespaces Transports keys its transports by (the keys
// azfetch.Options.Transports and azremedy.Options.Transports take).
const (
	ProviderStorage  = "Microsoft.Storage"
	ProviderNetwork  = "Microsoft.Network"
	ProviderSQL      = "Microsoft.Sql"
	ProviderKeyVault = "Microsoft.KeyVault"
)

// DefaultPollSteps is the number of non-terminal responses a long-running
// operation answers when Options.PollSteps is zero.
const DefaultPollSteps = 2

// Options configures a Server. The zero value is usable.
type Options struct {
	// PollSteps is the number of non-terminal (202) responses every
	// long-running operation answers before its terminal one. Zero means
	// DefaultPollSteps; negative means none.
	PollSteps int
	// PageSize, when positive, splits list responses into pages of that
	// many items (the clients follow the next links).
	PageSize int
	// PollDelay is the delay every non-terminal response asks the poller
	// for, in Retry-After-Ms. ARM sends Retry-After on its 201/202s; the
	// SDK's fake pollers send none, and a poller without it waits its
	// default 30 s. Zero means 1 ms.
	PollDelay time.Duration
}

// Server is one subscription's resources behind the SDK's fake servers. It
// is safe for concurrent use.
type Server struct {
	sub       string
	pollSteps int
	pageSize  int

	mu       sync.Mutex
	accounts map[string]armstorage.Account
	nsgs     map[string]armnetwork.SecurityGroup // without their rules
	rules    map[string]map[string]armnetwork.SecurityRule
	servers  map[string]armsql.Server
	firewall map[string]map[string]armsql.FirewallRule
	auditing map[string]armsql.ServerBlobAuditingPolicy
	vaults   map[string]armkeyvault.Vault
	fail     map[string][]*failure // by API name, one entry per call to come (nil: answer)
	calls    map[string]int
	etag     int

	// transports are the stable transports handed out; each serves
	// through live[provider], which build[provider] makes anew (see paced).
	transports map[string]policy.Transporter
	build      map[string]func() policy.Transporter
	tmu        sync.Mutex
	live       map[string]policy.Transporter
	after      string // Retry-After-Ms of non-terminal responses
}

// failure is an injected error response.
type failure struct {
	status int
	code   string
}

// New returns an empty Server for subscription (a GUID).
func New(subscription string, opts *Options) *Server {
	var o Options
	if opts != nil {
		o = *opts
	}
	switch {
	case o.PollSteps == 0:
		o.PollSteps = DefaultPollSteps
	case o.PollSteps < 0:
		o.PollSteps = 0
	}
	if o.PollDelay < time.Millisecond {
		o.PollDelay = time.Millisecond
	}
	s := &Server{
		sub: strings.ToLower(subscription), pollSteps: o.PollSteps, pageSize: o.PageSize,
		accounts: map[string]armstorage.Account{}, nsgs: map[string]armnetwork.SecurityGroup{},
		rules: map[string]map[string]armnetwork.SecurityRule{}, servers: map[string]armsql.Server{},
		firewall: map[string]map[string]armsql.FirewallRule{}, auditing: map[string]armsql.ServerBlobAuditingPolicy{},
		vaults: map[string]armkeyvault.Vault{}, fail: map[string][]*failure{}, calls: map[string]int{},
	}
	s.build = map[string]func() policy.Transporter{
		ProviderStorage: func() policy.Transporter {
			return stfake.NewServerFactoryTransport(&stfake.ServerFactory{AccountsServer: stfake.AccountsServer{
				BeginCreate: s.createAccount, GetProperties: s.getAccount, Update: s.updateAccount, Delete: s.deleteAccount,
			}})
		},
		ProviderNetwork: func() policy.Transporter {
			return netfake.NewServerFactoryTransport(&netfake.ServerFactory{
				SecurityGroupsServer: netfake.SecurityGroupsServer{BeginCreateOrUpdate: s.createNSG, Get: s.getNSG, BeginDelete: s.deleteNSG},
				SecurityRulesServer: netfake.SecurityRulesServer{
					BeginCreateOrUpdate: s.createRule, BeginDelete: s.deleteRule, Get: s.getRule, NewListPager: s.listRules,
				},
			})
		},
		ProviderSQL: func() policy.Transporter {
			return sqlfake.NewServerFactoryTransport(&sqlfake.ServerFactory{
				ServersServer: sqlfake.ServersServer{BeginCreateOrUpdate: s.createServer, Get: s.getServer},
				FirewallRulesServer: sqlfake.FirewallRulesServer{
					CreateOrUpdate: s.putFirewallRule, Delete: s.deleteFirewallRule, Get: s.getFirewallRule, NewListByServerPager: s.listFirewallRules,
				},
				ServerBlobAuditingPoliciesServer: sqlfake.ServerBlobAuditingPoliciesServer{BeginCreateOrUpdate: s.putAuditing, Get: s.getAuditing},
			})
		},
		ProviderKeyVault: func() policy.Transporter {
			return kvfake.NewServerFactoryTransport(&kvfake.ServerFactory{VaultsServer: kvfake.VaultsServer{
				BeginCreateOrUpdate: s.createVault, Get: s.getVault, Update: s.updateVault,
			}})
		},
	}
	s.after = strconv.FormatInt(o.PollDelay.Milliseconds(), 10)
	s.live = map[string]policy.Transporter{}
	s.transports = map[string]policy.Transporter{}
	for ns, build := range s.build {
		s.live[ns] = build()
		s.transports[ns] = paced{s, ns}
	}
	return s
}

// paced serves a provider's requests through its live fake transport and
// mends two gaps of the SDK's fakes: it adds ARM's Retry-After to the fake
// pollers' non-terminal responses, and after a long-running operation
// failed at its terminal response it replaces the provider's transport,
// because the fake keeps the spent operation under its URL and would answer
// the next request there (a retry) "fake poller response is empty". The
// replacement forgets the provider's other operations in flight; their
// next status read starts them again, which the handlers here answer
// idempotently.
type paced struct {
	s  *Server
	ns string
}

// Do implements policy.Transporter.
func (p paced) Do(req *http.Request) (*http.Response, error) {
	p.s.tmu.Lock()
	t := p.s.live[p.ns]
	p.s.tmu.Unlock()
	resp, err := t.Do(req)
	if err != nil {
		var re *azcore.ResponseError
		if errors.As(err, &re) && req.Method == http.MethodGet && strings.HasSuffix(req.URL.Path, fakeStatusSuffix) {
			p.s.tmu.Lock()
			if p.s.live[p.ns] == t {
				p.s.live[p.ns] = p.s.build[p.ns]()
			}
			p.s.tmu.Unlock()
		}
		return resp, err
	}
	if resp.Header.Get("Fake-Poller-Status") == "InProgress" {
		resp.Header.Set("Retry-After-Ms", p.s.after)
	}
	return resp, nil
}

// fakeStatusSuffix ends the path of a fake poller's status reads.
const fakeStatusSuffix = "/get/fake/status"

// Subscription returns the subscription the Server's resources are in.
func (s *Server) Subscription() string { return s.sub }

// Transports returns the Server's transports keyed by provider namespace,
// as azfetch.Options.Transports and azremedy.Options.Transports take them.
func (s *Server) Transports() map[string]policy.Transporter {
	out := make(map[string]policy.Transporter, len(s.transports))
	for k, v := range s.transports {
		out[k] = v
	}
	return out
}

// Transport returns one transport for the clients of every package: it
// routes each request by the provider namespace in its path.
func (s *Server) Transport() policy.Transporter { return router{s} }

type router struct{ s *Server }

// Do implements policy.Transporter.
func (r router) Do(req *http.Request) (*http.Response, error) {
	segs := strings.Split(req.URL.Path, "/")
	for i := len(segs) - 2; i >= 0; i-- {
		if strings.EqualFold(segs[i], "providers") {
			for ns, t := range r.s.transports {
				if strings.EqualFold(segs[i+1], ns) {
					return t.Do(req)
				}
			}
			break
		}
	}
	return nil, fmt.Errorf("armfake: no fake serves %s %s", req.Method, req.URL.Path)
}

// Fail makes calls of api (an SDK API name such as
// "SecurityRulesClient.BeginDelete") answer status with the ARM error code,
// changing nothing: the calls numbered in calls, counting from 0 at the
// next call, or the next call when calls is empty. A long-running
// operation fails at its terminal response, after its non-terminal ones.
// Fail replaces what an earlier Fail for api left pending.
func (s *Server) Fail(api string, status int, code string, calls ...int) {
	if len(calls) == 0 {
		calls = []int{0}
	}
	last := slices.Max(calls)
	if last < 0 {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	q := make([]*failure, last+1)
	for _, n := range calls {
		if n >= 0 {
			q[n] = &failure{status, code}
		}
	}
	s.fail[api] = q
}

// Calls returns how many times each API was called.
func (s *Server) Calls() map[string]int {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make(map[string]int, len(s.calls))
	for k, v := range s.calls {
		out[k] = v
	}
	return out
}

// ID returns the ARM id of a top-level resource of the Server's
// subscription: ID("rg-web", "Microsoft.Network/networkSecurityGroups",
// "nsg-web").
func (s *Server) ID(resourceGroup, resourceType, name string) string {
	return "/subscriptions/" + s.sub + "/resourceGroups/" + resourceGroup + "/providers/" + resourceType + "/" + name
}

// call records a call of api and takes the failure injected for it. The
// caller holds s.mu.
func (s *Server) call(api string) (failure, bool) {
	s.calls[api]++
	q := s.fail[api]
	if len(q) == 0 {
		return failure{}, false
	}
	s.fail[api] = q[1:]
	if q[0] == nil {
		return failure{}, false
	}
	return *q[0], true
}

func key(parts ...string) string { return strings.ToLower(strings.Join(parts, "/")) }

// clone deep-copies an SDK model through its JSON form, so that no caller
// shares memory with the state.
func clone[T any](v T) T {
	b, err := json.Marshal(v)
	if err != nil {
		panic(fmt.Sprintf("armfake: marshal %T: %v", v, err)) // SDK models always marshal
	}
	var out T
	if err := json.Unmarshal(b, &out); err != nil {
		panic(fmt.Sprintf("armfake: unmarshal %T: %v", v, err))
	}
	return out
}

// mergeJSON applies the properties present in patch to dst (a PATCH, or a
// create whose parameters share the resource's property names).
func mergeJSON(dst, patch any) error {
	b, err := json.Marshal(patch)
	if err != nil {
		return err
	}
	return json.Unmarshal(b, dst)
}

func ptr[T any](v T) *T { return &v }

func (s *Server) nextETag() *string {
	s.etag++
	return ptr(fmt.Sprintf(`W/"%08d"`, s.etag))
}

// lro answers a long-running operation: the non-terminal responses, then
// the terminal result or error.
func lro[T any](s *Server, resp *azfake.PollerResponder[T], status int, result T, fail *failure) {
	lroAs(s, resp, http.StatusAccepted, status, result, fail)
}

// lroAs is lro with the non-terminal responses' status: Key Vault's create
// answers 201 while running, where other providers answer 202.
func lroAs[T any](s *Server, resp *azfake.PollerResponder[T], running, status int, result T, fail *failure) {
	for range s.pollSteps {
		resp.AddNonTerminalResponse(running, nil)
	}
	if fail != nil {
		resp.SetTerminalError(fail.status, fail.code)
		return
	}
	resp.SetTerminalResponse(status, result, nil)
}

// pages splits items into pages of the Server's page size.
func pages[T any](s *Server, items []T) [][]T {
	if s.pageSize <= 0 || len(items) <= s.pageSize {
		return [][]T{items}
	}
	var out [][]T
	for c := range slices.Chunk(items, s.pageSize) {
		out = append(out, c)
	}
	return out
}

// sortedValues returns m's values in the order of their keys.
func sortedValues[T any](m map[string]T) []T {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	out := make([]T, len(keys))
	for i, k := range keys {
		out[i] = m[k]
	}
	return out
}

// ----- Microsoft.Storage ---------------------------------------------------

func (s *Server) createAccount(_ context.Context, rg, name string, p armstorage.AccountCreateParameters, _ *armstorage.AccountsClientBeginCreateOptions) (resp azfake.PollerResponder[armstorage.AccountsClientCreateResponse], errResp azfake.ErrorResponder) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if f, ok := s.call("AccountsClient.BeginCreate"); ok {
		lro(s, &resp, 0, armstorage.AccountsClientCreateResponse{}, &f)
		return
	}
	a := armstorage.Account{
		ID: ptr(s.ID(rg, "Microsoft.Storage/storageAccounts", name)), Name: ptr(name), Type: ptr("Microsoft.Storage/storageAccounts"),
		Location: p.Location, Kind: p.Kind, SKU: p.SKU, Tags: p.Tags, Properties: &armstorage.AccountProperties{},
	}
	if p.Properties != nil {
		if err := mergeJSON(a.Properties, p.Properties); err != nil {
			errResp.SetResponseError(http.StatusBadRequest, "InvalidRequestContent")
			return
		}
	}
	a.Properties.ProvisioningState = ptr(armstorage.ProvisioningStateSucceeded)
	s.accounts[key(rg, name)] = clone(a)
	lro(s, &resp, http.StatusOK, armstorage.AccountsClientCreateResponse{Account: clone(a)}, nil)
	return
}

func (s *Server) getAccount(_ context.Context, rg, name string, _ *armstorage.AccountsClientGetPropertiesOptions) (resp azfake.Responder[armstorage.AccountsClientGetPropertiesResponse], errResp azfake.ErrorResponder) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if f, ok := s.call("AccountsClient.GetProperties"); ok {
		errResp.SetResponseError(f.status, f.code)
		return
	}
	a, ok := s.accounts[key(rg, name)]
	if !ok {
		errResp.SetResponseError(http.StatusNotFound, "ResourceNotFound")
		return
	}
	resp.SetResponse(http.StatusOK, armstorage.AccountsClientGetPropertiesResponse{Account: clone(a)}, nil)
	return
}

func (s *Server) updateAccount(_ context.Context, rg, name string, p armstorage.AccountUpdateParameters, _ *armstorage.AccountsClientUpdateOptions) (resp azfake.Responder[armstorage.AccountsClientUpdateResponse], errResp azfake.ErrorResponder) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if f, ok := s.call("AccountsClient.Update"); ok {
		errResp.SetResponseError(f.status, f.code)
		return
	}
	a, ok := s.accounts[key(rg, name)]
	if !ok {
		errResp.SetResponseError(http.StatusNotFound, "ResourceNotFound")
		return
	}
	if p.Properties != nil {
		if a.Properties == nil {
			a.Properties = &armstorage.AccountProperties{}
		}
		if err := mergeJSON(a.Properties, p.Properties); err != nil {
			errResp.SetResponseError(http.StatusBadRequest, "InvalidRequestContent")
			return
		}
	}
	if p.Tags != nil {
		a.Tags = p.Tags
	}
	s.accounts[key(rg, name)] = clone(a)
	resp.SetResponse(http.StatusOK, armstorage.AccountsClientUpdateResponse{Account: clone(a)}, nil)
	return
}

func (s *Server) deleteAccount(_ context.Context, rg, name string, _ *armstorage.AccountsClientDeleteOptions) (resp azfake.Responder[armstorage.AccountsClientDeleteResponse], errResp azfake.ErrorResponder) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if f, ok := s.call("AccountsClient.Delete"); ok {
		errResp.SetResponseError(f.status, f.code)
		return
	}
	status := http.StatusOK
	if _, ok := s.accounts[key(rg, name)]; !ok {
		status = http.StatusNoContent
	}
	delete(s.accounts, key(rg, name))
	resp.SetResponse(status, armstorage.AccountsClientDeleteResponse{}, nil)
	return
}
