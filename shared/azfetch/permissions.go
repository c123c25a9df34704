package azfetch

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

// The resource provider namespaces of the ARM SDK packages the Fetcher uses.
// They key Options.Transports for all the clients of one package.
const (
	ProviderStorage  = "Microsoft.Storage"  // armstorage
	ProviderNetwork  = "Microsoft.Network"  // armnetwork
	ProviderSQL      = "Microsoft.Sql"      // armsql
	ProviderKeyVault = "Microsoft.KeyVault" // armkeyvault
	ProviderInsights = "Microsoft.Insights" // armmonitor
)

// operation is one SDK method a reader calls and the Azure RBAC action ARM
// checks before it answers.
type operation struct {
	provider string
	// client is the SDK client type and method its API name: the SDK puts
	// "client.method" in the request context (runtime.CtxAPINameKey), and
	// method is the name in the consumer interface.
	client, method string
	action         string
}

// operations lists exactly the methods of the consumer interfaces in this
// package (a test checks both directions). The policy every client carries
// also derives the action from each request's method and path, as ARM does,
// and refuses a call whose action differs from the one declared here.
func operations() []operation {
	return []operation{
		{ProviderStorage, "AccountsClient", "GetProperties", "Microsoft.Storage/storageAccounts/read"},
		{ProviderNetwork, "SecurityGroupsClient", "Get", "Microsoft.Network/networkSecurityGroups/read"},
		{ProviderSQL, "ServersClient", "Get", "Microsoft.Sql/servers/read"},
		{ProviderSQL, "FirewallRulesClient", "NewListByServerPager", "Microsoft.Sql/servers/firewallRules/read"},
		{ProviderSQL, "ServerBlobAuditingPoliciesClient", "Get", "Microsoft.Sql/servers/auditingSettings/read"},
		{ProviderSQL, "DatabasesClient", "Get", "Microsoft.Sql/servers/databases/read"},
		{ProviderSQL, "TransparentDataEncryptionsClient", "Get", "Microsoft.Sql/servers/databases/transparentDataEncryption/read"},
		{ProviderKeyVault, "VaultsClient", "Get", "Microsoft.KeyVault/vaults/read"},
		{ProviderInsights, "DiagnosticSettingsClient", "NewListPager", "Microsoft.Insights/diagnosticSettings/read"},
	}
}

// Permissions returns the Azure RBAC actions a Fetcher can need, sorted and
// without duplicates. Infrastructure generates the detector's custom
// read-only role from it.
func Permissions() []string {
	var out []string
	for _, op := range operations() {
		out = append(out, op.action)
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// errUndeclared is returned for an SDK call that operations does not
// declare, or whose request ARM would authorise with another action than
// the declared one: the generated role would deny it in production.
var errUndeclared = errors.New("operation not declared in azfetch permissions")

// declaredOnly is the per-call policy of every client a Fetcher builds. It
// runs before the retry policy, so a refused call never leaves the process.
type declaredOnly struct {
	client string
	// actions maps the API name ("AccountsClient.GetProperties") to the
	// declared RBAC action.
	actions map[string]string
}

func newDeclaredOnly(client string) declaredOnly {
	p := declaredOnly{client: client, actions: map[string]string{}}
	for _, op := range operations() {
		if op.client == client {
			p.actions[op.client+"."+op.method] = op.action
		}
	}
	return p
}

// Do implements policy.Policy.
func (p declaredOnly) Do(req *policy.Request) (*http.Response, error) {
	raw := req.Raw()
	api, _ := raw.Context().Value(runtime.CtxAPINameKey{}).(string)
	declared, ok := p.actions[api]
	if !ok {
		return nil, fmt.Errorf("%w: %s %q (%s %s)", errUndeclared, p.client, api, raw.Method, raw.URL.Path)
	}
	if got := azres.RBACAction(raw.Method, raw.URL.Path); !strings.EqualFold(got, declared) {
		return nil, fmt.Errorf("%w: %s is authorised by %s, declared %s", errUndeclared, api, got, declared)
	}
	return req.Next()
}
