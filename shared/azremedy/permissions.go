package azremedy

import (
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/runtime"

	"github.com/driftwatch/driftwatch/shared/azres"
)

// operation is one SDK method an action calls and the Azure RBAC action ARM
// checks before it answers.
type operation struct {
	provider string
	// client and method make the API name the SDK puts in the request
	// context (runtime.CtxAPINameKey): "SecurityRulesClient.BeginDelete".
	// method is also the name in the consumer interface.
	client, method string
	action         string
	// polls are the RBAC actions a long-running operation's poller needs
	// besides action: ARM answers the first request with an
	// Azure-AsyncOperation URL under the provider's locations/operations
	// and a Location URL under locations/operationResults, and the poller
	// GETs them; a role without these reads gets AuthorizationFailed on
	// the first poll although the operation itself was allowed
	// (https://github.com/Azure/azure-xplat-cli/issues/2051).
	polls []string
}

// networkPolls are the reads a Microsoft.Network long-running operation's
// poller makes.
var networkPolls = []string{"Microsoft.Network/locations/operationResults/read", "Microsoft.Network/locations/operations/read"}

// operations lists exactly the methods of the consumer interfaces in this
// package (a test checks both directions). The policy every client carries
// also derives the action from each request's method and path, as ARM
// does, and refuses a request whose action differs from the one declared
// here.
func operations() []operation {
	return []operation{
		{provider: ProviderStorage, client: "AccountsClient", method: "GetProperties", action: "Microsoft.Storage/storageAccounts/read"},
		{provider: ProviderStorage, client: "AccountsClient", method: "Update", action: "Microsoft.Storage/storageAccounts/write"},
		{provider: ProviderNetwork, client: "SecurityRulesClient", method: "NewListPager", action: "Microsoft.Network/networkSecurityGroups/securityRules/read"},
		{provider: ProviderNetwork, client: "SecurityRulesClient", method: "BeginDelete", action: "Microsoft.Network/networkSecurityGroups/securityRules/delete", polls: networkPolls},
		{provider: ProviderNetwork, client: "SecurityRulesClient", method: "BeginCreateOrUpdate", action: "Microsoft.Network/networkSecurityGroups/securityRules/write", polls: networkPolls},
		{provider: ProviderSQL, client: "FirewallRulesClient", method: "NewListByServerPager", action: "Microsoft.Sql/servers/firewallRules/read"},
		{provider: ProviderSQL, client: "FirewallRulesClient", method: "Delete", action: "Microsoft.Sql/servers/firewallRules/delete"},
		{provider: ProviderSQL, client: "FirewallRulesClient", method: "CreateOrUpdate", action: "Microsoft.Sql/servers/firewallRules/write"},
		{provider: ProviderKeyVault, client: "VaultsClient", method: "Get", action: "Microsoft.KeyVault/vaults/read"},
		{provider: ProviderKeyVault, client: "VaultsClient", method: "Update", action: "Microsoft.KeyVault/vaults/write"},
	}
}

// Permissions returns the Azure RBAC actions the actions of this package
// can need, sorted and without duplicates: the remediation role is
// generated from it. It equals the union of every action's Permissions (a
// test checks it).
func Permissions() []string {
	var out []string
	for _, op := range operations() {
		out = append(out, op.action)
		out = append(out, op.polls...)
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// errUndeclared is returned for a request the action does not declare in
// its Permissions: the generated role would deny it in production.
var errUndeclared = errors.New("request not declared in the action's permissions")

// declaredOnly is the first per-call policy of every client an action
// builds. It runs before the retry policy, so a refused request never
// leaves the process.
type declaredOnly struct {
	name  string
	perms []string
	// ops maps the API name ("AccountsClient.Update") to its operation.
	ops map[string]operation
}

func newDeclaredOnly(name string, perms []string) declaredOnly {
	p := declaredOnly{name: name, perms: slices.Clone(perms), ops: map[string]operation{}}
	for _, op := range operations() {
		p.ops[op.client+"."+op.method] = op
	}
	return p
}

func (p declaredOnly) declares(action string) bool {
	return slices.ContainsFunc(p.perms, func(s string) bool { return strings.EqualFold(s, action) })
}

// Do implements policy.Policy.
func (p declaredOnly) Do(req *policy.Request) (*http.Response, error) {
	raw := req.Raw()
	api, _ := raw.Context().Value(runtime.CtxAPINameKey{}).(string)
	if api == "" {
		// A real poller's status reads (and its final GET) carry no API
		// name: allow the reads ARM authorises with a declared action.
		need := azres.RBACAction(raw.Method, raw.URL.Path)
		if raw.Method != http.MethodGet || need == "" || !p.declares(need) {
			return nil, fmt.Errorf("%w: %s sends %s %s (%s)", errUndeclared, p.name, raw.Method, raw.URL.Path, firstNonEmpty(need, "no RBAC action known"))
		}
		return req.Next()
	}
	op, known := p.ops[api]
	if !known || !p.declares(op.action) {
		return nil, fmt.Errorf("%w: %s calls %s (%s)", errUndeclared, p.name, api, firstNonEmpty(op.action, "no RBAC action known"))
	}
	// The SDK's fake pollers poll with the operation's API name; a status
	// read belongs to the operation.
	poll := strings.HasPrefix(op.method, "Begin") && raw.Method == http.MethodGet
	if got := azres.RBACAction(raw.Method, raw.URL.Path); !poll && !strings.EqualFold(got, op.action) {
		return nil, fmt.Errorf("%w: %s: %s is authorised by %s, declared %s", errUndeclared, p.name, api, got, op.action)
	}
	return req.Next()
}

func firstNonEmpty(s ...string) string {
	for _, v := range s {
		if v != "" {
			return v
		}
	}
	return ""
}
