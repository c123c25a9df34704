package azremedy

import (
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/arm"
	azfake "github.com/Azure/azure-sdk-for-go/sdk/azcore/fake"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/keyvault/armkeyvault"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/network/armnetwork/v6"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/sql/armsql"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/storage/armstorage"

	"github.com/driftwatch/driftwatch/shared/azfetch"
	"github.com/driftwatch/driftwatch/shared/azremedy/armfake"
	"github.com/driftwatch/driftwatch/shared/azres"
	"github.com/driftwatch/driftwatch/shared/change"
	"github.com/driftwatch/driftwatch/shared/posture"
	"github.com/driftwatch/driftwatch/shared/remediation"
	"github.com/driftwatch/driftwatch/shared/resource"
	"github.com/driftwatch/driftwatch/shared/rules"
)

// testSub is the subscription of every test resource (ARM reports
// subscription ids in lower case).
const testSub = "3f9e2c41-7a5d-4b8e-a1c6-52d0e8b47a19"

// testLocation is where the test resources are.
const testLocation = "westeurope"

// engine compiles the built-in Azure rule catalogue once: compliance in
// these tests is what the rules that name an action say, not a predicate
// written again here.
var engine = sync.OnceValues(func() (*rules.Engine, error) {
	specs, err := rules.Load(rules.Builtin("azure"))
	if err != nil {
		return nil, err
	}
	return rules.Compile(specs, azres.Types())
})

// env is one fake ARM (the SDK's fake servers over one in-memory state),
// plain SDK clients for setting resources up in it, independent of the
// actions under test, and a fetcher built as the Azure function builds it.
type env struct {
	t        testing.TB
	arm      *armfake.Server
	accounts *armstorage.AccountsClient
	nsgs     *armnetwork.SecurityGroupsClient
	servers  *armsql.ServersClient
	firewall *armsql.FirewallRulesClient
	vaults   *armkeyvault.VaultsClient
	fetcher  *azfetch.Fetcher
	seq      atomic.Int64
}

func newEnv(tb testing.TB) *env { return newEnvWith(tb, nil) }

func newEnvWith(tb testing.TB, opts *armfake.Options) *env {
	tb.Helper()
	e := &env{t: tb, arm: armfake.New(testSub, opts)}
	o := &arm.ClientOptions{ClientOptions: policy.ClientOptions{Transport: e.arm.Transport()}}
	cred := &azfake.TokenCredential{}
	var err error
	e.accounts, err = armstorage.NewAccountsClient(testSub, cred, o)
	must(tb, err)
	e.nsgs, err = armnetwork.NewSecurityGroupsClient(testSub, cred, o)
	must(tb, err)
	e.servers, err = armsql.NewServersClient(testSub, cred, o)
	must(tb, err)
	e.firewall, err = armsql.NewFirewallRulesClient(testSub, cred, o)
	must(tb, err)
	e.vaults, err = armkeyvault.NewVaultsClient(testSub, cred, o)
	must(tb, err)
	e.fetcher = azfetch.New(cred, &azfetch.Options{Transports: e.arm.Transports()})
	return e
}

func must(tb testing.TB, err error) {
	tb.Helper()
	if err != nil {
		tb.Fatalf("setup: %v", err)
	}
}

// unique returns a realistic resource name no other call returns.
func (e *env) unique(base string) string { return fmt.Sprintf("%s%d", base, e.seq.Add(1)) }

// catalog builds the actions on the fake ARM as production builds them,
// with only the transports changed; extra per-call policies (fault
// injection) go into the client options as any SDK user's would.
func (e *env) catalog(tb testing.TB, policies ...policy.Policy) remediation.Catalog {
	tb.Helper()
	c, err := New(&azfake.TokenCredential{}, &Options{
		Transports:    e.arm.Transports(),
		ClientOptions: arm.ClientOptions{ClientOptions: policy.ClientOptions{PerCallPolicies: policies}},
		Subscriptions: []string{testSub},
	})
	if err != nil {
		tb.Fatal(err)
	}
	return c
}

// failWrite returns a per-call policy that refuses the write number n
// (counting from 0; a write is any request but a GET, so pollers' status
// reads are not writes) with the 403 AuthorizationFailed ARM answers for a
// missing permission, and lets every other request through. It runs after
// the actions' own policy, so the failure is translated like a real one.
func failWrite(n int) policy.Policy { return &writeFailer{n: int64(n)} }

type writeFailer struct {
	n      int64
	writes atomic.Int64
}

func (f *writeFailer) Do(req *policy.Request) (*http.Response, error) {
	raw := req.Raw()
	if raw.Method == http.MethodGet || f.writes.Add(1)-1 != f.n {
		return req.Next()
	}
	body := fmt.Sprintf(`{"error":{"code":"AuthorizationFailed","message":"injected by the test: write %d (%s %s) refused"}}`, f.n, raw.Method, raw.URL.Path)
	return &http.Response{
		StatusCode: http.StatusForbidden, Status: "403 Forbidden", Request: raw,
		Header: http.Header{"Content-Type": {"application/json"}, "X-Ms-Failure-Cause": {"gateway"}},
		Body:   io.NopCloser(strings.NewReader(body)),
	}, nil
}

// fetch reads ref as the Azure function does and fails the test when the
// resource is missing.
func (e *env) fetch(t testing.TB, ref change.ResourceRef) remediation.Target {
	t.Helper()
	res, err := e.fetcher.Fetch(t.Context(), ref)
	if err != nil {
		t.Fatalf("fetch %s %s: %v", ref.Type, ref.ID, err)
	}
	if !res.Exists {
		t.Fatalf("fetch %s %s: the resource does not exist", ref.Type, ref.ID)
	}
	return remediation.Target{Ref: res.Ref, Doc: res.Doc}
}

// ref is the reference the pipeline carries for an Azure resource.
func ref(typ, id string) change.ResourceRef {
	return change.ResourceRef{Cloud: change.Azure, Type: typ, ID: azres.CanonicalID(id), Account: testSub, Region: testLocation}
}

// complies evaluates the built-in rules that name action on the target: it
// complies when none fails and at least one applies and passes.
func complies(t testing.TB, action string, target remediation.Target) bool {
	t.Helper()
	eng, err := engine()
	if err != nil {
		t.Fatalf("compile the Azure rule catalogue: %v", err)
	}
	named := map[string]bool{}
	for _, r := range eng.RulesFor(target.Ref.Type) {
		if r.Remediation.Action == action {
			named[r.ID] = true
		}
	}
	if len(named) == 0 {
		t.Fatalf("no built-in rule for %s names action %s", target.Ref.Type, action)
	}
	res := resource.Resource{Ref: target.Ref, Exists: true, Doc: target.Doc}
	passed := false
	for _, ev := range eng.Evaluate(res, rules.EvalContext{}) {
		if !named[ev.RuleID] {
			continue
		}
		switch ev.Status {
		case posture.Fail:
			return false
		case posture.Error:
			t.Fatalf("rule %s: %s", ev.RuleID, ev.Detail)
		case posture.Pass:
			passed = true
		}
	}
	return passed
}
