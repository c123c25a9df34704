package azfetch

import (
	"bytes"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/arm"
	azfake "github.com/Azure/azure-sdk-for-go/sdk/azcore/fake"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/sql/armsql"
	sqlfake "github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/sql/armsql/fake"

	"github.com/driftwatch/driftwatch/shared/azres"
	"github.com/driftwatch/driftwatch/shared/change"
	"github.com/driftwatch/driftwatch/shared/internal/corpus"
	"github.com/driftwatch/driftwatch/shared/resource"
)

// TestFetchRejects: references the Fetcher cannot read fail before any
// request, with the sentinel callers branch on.
func TestFetchRejects(t *testing.T) {
	storage := armID("rg1", "Microsoft.Storage", "storageAccounts", "st1")
	tests := []struct {
		name string
		ref  change.ResourceRef
		want error
		msg  string
	}{
		{"another cloud", change.ResourceRef{Cloud: change.AWS, Type: azres.TypeStorageAccount, ID: storage}, resource.ErrUnsupportedType, `cloud "aws"`},
		{"a type without reader", change.ResourceRef{Type: "Microsoft.Compute/virtualMachines", ID: armID("rg1", "Microsoft.Compute", "virtualMachines", "vm1")}, resource.ErrUnsupportedType, "Microsoft.Compute/virtualMachines"},
		{"no id", change.ResourceRef{Type: azres.TypeStorageAccount, Name: "st1", Account: testSub}, ErrInvalidRef, "no id"},
		{"not an ARM id", change.ResourceRef{Type: azres.TypeStorageAccount, ID: "st1"}, ErrInvalidRef, "must start with '/'"},
		{"an ARN", change.ResourceRef{Type: azres.TypeStorageAccount, ID: "arn:aws:s3:::bucket"}, ErrInvalidRef, "invalid resource ID"},
		{"id of another type", change.ResourceRef{Type: azres.TypeKeyVault, ID: storage}, ErrInvalidRef, "names a Microsoft.Storage/storageAccounts, not a Microsoft.KeyVault/vaults"},
		{"a child of the type", change.ResourceRef{Type: azres.TypeNSG, ID: armID("rg1", "Microsoft.Network", "networkSecurityGroups", "nsg1", "securityRules", "r1")}, ErrInvalidRef, "not a Microsoft.Network/networkSecurityGroups"},
		{"account disagrees with the id", change.ResourceRef{Type: azres.TypeStorageAccount, ID: storage, Account: "00000000-0000-0000-0000-000000000000"}, ErrInvalidRef, "the reference says"},
		{"subscription without id or account", change.ResourceRef{Type: azres.TypeSubscription}, ErrInvalidRef, "needs an id or an account"},
		{"subscription account with a path", change.ResourceRef{Type: azres.TypeSubscription, Account: "sub/../x"}, ErrInvalidRef, "needs an id or an account"},
		{"subscription id of a resource group", change.ResourceRef{Type: azres.TypeSubscription, ID: "/subscriptions/" + testSub + "/resourceGroups/rg1"}, ErrInvalidRef, "not a Microsoft.Resources/subscriptions"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			w, _ := seeded()
			_, err := w.fetcher(nil).Fetch(t.Context(), tc.ref)
			if !errors.Is(err, tc.want) || !strings.Contains(err.Error(), tc.msg) {
				t.Fatalf("Fetch(%+v): %v; want %v saying %q", tc.ref, err, tc.want, tc.msg)
			}
			if IsRetryable(err) {
				t.Errorf("IsRetryable(%v) = true", err)
			}
			w.mu.Lock()
			defer w.mu.Unlock()
			if len(w.calls) != 0 {
				t.Errorf("requests reached the fakes: %v", w.calls)
			}
		})
	}
}

// TestFetchAnyCase: ARM ids are case-insensitive; an id in the case ARM
// answers with and its canonical form name the same resource.
func TestFetchAnyCase(t *testing.T) {
	w, refs := seeded()
	r := refs["vault"]
	r.ID = armID("RG1", "microsoft.keyvault", "Vaults", "KV1")
	got := fetch(t, w.fetcher(nil), r)
	if !got.Exists || got.Ref.ID != refs["vault"].ID {
		t.Errorf("Fetch(%s) = Exists %v, id %s; want the vault under %s", r.ID, got.Exists, got.Ref.ID, refs["vault"].ID)
	}
}

// TestTransportsPerClient: a transport keyed by a client name takes that
// client away from its package's server factory.
func TestTransportsPerClient(t *testing.T) {
	w, refs := seeded()
	w.firewall[key("rg1", "sql1")] = [][]*armsql.FirewallRule{{firewallRuleOf(armID("rg1", "Microsoft.Sql", "servers", "sql1"), "from-factory", "10.0.0.1", "10.0.0.1")}}
	var perClient atomic.Int64
	srv := &sqlfake.FirewallRulesServer{
		NewListByServerPager: func(rg, server string, _ *armsql.FirewallRulesClientListByServerOptions) (resp azfake.PagerResponder[armsql.FirewallRulesClientListByServerResponse]) {
			perClient.Add(1)
			resp.AddPage(http.StatusOK, armsql.FirewallRulesClientListByServerResponse{FirewallRuleListResult: armsql.FirewallRuleListResult{
				Value: []*armsql.FirewallRule{firewallRuleOf(armID(rg, "Microsoft.Sql", "servers", server), "AllowAll", "0.0.0.0", "255.255.255.255")}}}, nil)
			return
		},
	}
	f := w.fetcher(&Options{Transports: map[string]policy.Transporter{"FirewallRulesClient": sqlfake.NewFirewallRulesServerTransport(srv)}})
	got := fetch(t, f, refs["server"])
	rules := got.Doc.(*azres.SQLServer).FirewallRules
	if perClient.Load() != 1 || len(rules) != 1 || rules[0].Name != "AllowAll" || !rules[0].AllowsAll {
		t.Errorf("firewall rules %+v after %d per-client calls; want the per-client fake's AllowAll", rules, perClient.Load())
	}
	if n := w.callCount("ServersClient.Get"); n != 1 {
		t.Errorf("the server factory served ServersClient.Get %d times, want 1", n)
	}
}

// TestClientOptions: the caller's options reach every client unchanged, the
// Fetcher's policy comes after the caller's, and resource provider
// registration (a write) is off.
func TestClientOptions(t *testing.T) {
	var seen atomic.Int64
	mine := policyFunc(func(req *policy.Request) (*http.Response, error) {
		seen.Add(1)
		return req.Next()
	})
	callers := []policy.Policy{mine}
	w, refs := seeded()
	f := w.fetcher(&Options{ClientOptions: armClientOptions(callers)})
	fetch(t, f, refs["server"])
	if n := seen.Load(); n != 3 {
		t.Errorf("the caller's policy saw %d calls, want the server's 3 reads", n)
	}
	if len(callers) != 1 {
		t.Errorf("the caller's policy slice changed: %v", callers)
	}
	o := f.clientOptions(ProviderSQL, "ServersClient")
	if !o.DisableRPRegistration {
		t.Error("resource provider registration is on")
	}
	if len(o.PerCallPolicies) != 2 || !isDeclaredOnly(o.PerCallPolicies[1]) {
		t.Errorf("per-call policies %v; want the caller's, then declaredOnly", o.PerCallPolicies)
	}
}

func isDeclaredOnly(p policy.Policy) bool {
	_, ok := p.(declaredOnly)
	return ok
}

type policyFunc func(*policy.Request) (*http.Response, error)

func (f policyFunc) Do(req *policy.Request) (*http.Response, error) { return f(req) }

// TestClientsPerSubscription: clients are built once per subscription.
func TestClientsPerSubscription(t *testing.T) {
	f := New(&azfake.TokenCredential{}, nil)
	a1, err1 := f.vaults.get(testSub)
	a2, err2 := f.vaults.get(testSub)
	b, err3 := f.vaults.get("0b0b0b0b-0000-4000-8000-000000000000")
	if err := errors.Join(err1, err2, err3); err != nil {
		t.Fatal(err)
	}
	if a1 != a2 || a1 == b {
		t.Errorf("clients: same subscription %p %p, other subscription %p; want one per subscription", a1, a2, b)
	}
}

func TestFetchLogs(t *testing.T) {
	var buf bytes.Buffer
	w, refs := seeded()
	f := w.fetcher(&Options{Logger: slog.New(slog.NewJSONHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))})
	fetch(t, f, refs["nsg"])
	var rec map[string]any
	if err := json.Unmarshal(buf.Bytes(), &rec); err != nil {
		t.Fatalf("log %q: %v", buf.String(), err)
	}
	if rec["msg"] != "resource fetched" || rec["resource_id"] != refs["nsg"].ID || rec["exists"] != true || rec["cloud"] != "azure" {
		t.Errorf("log record %v", rec)
	}
}

// FuzzResolve: no reference makes resolve panic, and an accepted one
// names a resource of its type in a subscription.
func FuzzResolve(f *testing.F) {
	// Seeds: every ARM id in the Azure corpus, under every type.
	uri := regexp.MustCompile(`/subscriptions/[^"\s]*`)
	root := corpus.Dir(f, "azure")
	err := filepath.WalkDir(root, func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		for _, m := range uri.FindAll(b, -1) {
			for typ := range azres.Types() {
				f.Add(typ, string(m), "")
			}
		}
		return nil
	})
	if err != nil {
		f.Fatal(err)
	}
	f.Add(azres.TypeSQLDatabase, armID("rg", "Microsoft.Sql", "servers", "s", "databases", "d"), testSub)
	f.Add(azres.TypeSubscription, "", testSub)
	f.Fuzz(func(t *testing.T, typ, id, account string) {
		tg, err := resolve(change.ResourceRef{Type: typ, ID: id, Account: account})
		if err != nil {
			if !errors.Is(err, ErrInvalidRef) {
				t.Fatalf("resolve: %v does not wrap ErrInvalidRef", err)
			}
			return
		}
		if tg.subscription == "" || tg.name == "" || tg.id != azres.CanonicalID(tg.id) {
			t.Fatalf("resolve(%q, %q, %q) = %+v", typ, id, account, tg)
		}
		if typ == azres.TypeSQLDatabase && tg.parent == "" {
			t.Fatalf("resolve(%q, %q) = %+v: a database without its server", typ, id, tg)
		}
	})
}

// armClientOptions returns ARM client options carrying policies.
func armClientOptions(policies []policy.Policy) arm.ClientOptions {
	var o arm.ClientOptions
	o.PerCallPolicies = policies
	return o
}
