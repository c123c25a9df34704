package azremedy

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
	"sync"
	"testing"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/arm"
	azfake "github.com/Azure/azure-sdk-for-go/sdk/azcore/fake"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/runtime"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/storage/armstorage"

	"github.com/driftwatch/driftwatch/shared/azremedy/armfake"
	"github.com/driftwatch/driftwatch/shared/azres"
	"github.com/driftwatch/driftwatch/shared/remediation"
	"github.com/driftwatch/driftwatch/shared/rules"
)

var update = flag.Bool("update", false, "rewrite testdata/permissions.golden")

// introspected is what the tests read of an action beyond remediation.Action.
type introspected interface {
	api() (provider, client string, iface reflect.Type)
	checkSnapshot(raw []byte) ([]byte, error)
}

func actionsOf(t testing.TB, cat remediation.Catalog) map[string]introspected {
	t.Helper()
	out := map[string]introspected{}
	for name, a := range cat {
		in, ok := a.(introspected)
		if !ok {
			t.Fatalf("action %s is a %T, not one of this package's actions", name, a)
		}
		out[name] = in
	}
	return out
}

// TestOperationsMatchTheActions: every method an action calls through its
// consumer interface is declared in operations with an RBAC action, every
// declared method is called by some action, and each action's Permissions
// are exactly the actions (and poller reads) of the methods it calls.
func TestOperationsMatchTheActions(t *testing.T) {
	cat := newEnv(t).catalog(t)
	ops := map[string]operation{}
	for _, op := range operations() {
		k := op.client + "." + op.method
		if _, dup := ops[k]; dup {
			t.Errorf("%s is declared twice", k)
		}
		ops[k] = op
	}
	used := map[string]bool{}
	for name, in := range actionsOf(t, cat) {
		provider, client, iface := in.api()
		var want []string
		for m := range iface.Methods() {
			k := client + "." + m.Name
			op, ok := ops[k]
			switch {
			case !ok:
				t.Errorf("%s calls %s through %v, which has no RBAC action in operations", name, k, iface)
				continue
			case op.provider != provider:
				t.Errorf("%s: %s is declared under %s, the action under %s", name, k, op.provider, provider)
			}
			used[k] = true
			want = append(want, op.action)
			want = append(want, op.polls...)
		}
		slices.Sort(want)
		want = slices.Compact(want)
		got := cat[name].Permissions()
		slices.Sort(got)
		if !slices.Equal(got, want) {
			t.Errorf("%s.Permissions() = %v, want the actions of the methods it calls: %v", name, got, want)
		}
	}
	for k := range ops {
		if !used[k] {
			t.Errorf("%s is declared in operations but no action calls it: remove it", k)
		}
	}
}

func TestPermissions(t *testing.T) {
	got := Permissions()
	if !slices.IsSorted(got) || len(slices.Compact(slices.Clone(got))) != len(got) {
		t.Errorf("Permissions() is not sorted and unique: %v", got)
	}
	cat := newEnv(t).catalog(t)
	if union := cat.Permissions(); !slices.Equal(union, got) {
		t.Errorf("Permissions() = %v, but the actions' permissions are %v", got, union)
	}
	for _, p := range got {
		if strings.HasSuffix(p, "/*") || strings.Contains(p, "*") {
			t.Errorf("permission %q is a wildcard", p)
		}
	}
	// The golden list makes every change to the remediation role visible
	// in review; infra/azure's role is generated from the same list.
	golden := filepath.Join("testdata", "permissions.golden")
	text := strings.Join(got, "\n") + "\n"
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
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

// TestDeclaredOnly: the policy every action's clients carry lets through
// only the requests the action declares, checking the RBAC action ARM
// would derive from the request itself, and lets a real poller's status
// reads through only when the action declares them.
func TestDeclaredOnly(t *testing.T) {
	sent := 0
	transport := transporterFunc(func(*http.Request) (*http.Response, error) {
		sent++
		return &http.Response{StatusCode: http.StatusOK, Body: http.NoBody, Header: http.Header{}}, nil
	})
	cat := newEnv(t).catalog(t)
	pipeline := func(action string) runtime.Pipeline {
		return runtime.NewPipeline("azremedy", "test", runtime.PipelineOptions{}, &policy.ClientOptions{
			Transport: transport, PerCallPolicies: []policy.Policy{newDeclaredOnly(action, cat[action].Permissions())},
		})
	}
	sub := "https://management.azure.com/subscriptions/" + testSub
	account := sub + "/resourceGroups/rg1/providers/Microsoft.Storage/storageAccounts/st1"
	rule := sub + "/resourceGroups/rg1/providers/Microsoft.Network/networkSecurityGroups/nsg1/securityRules/r1"
	tests := []struct {
		name, action, api, method, url string
		ok                             bool
	}{
		{"declared write", StorageMinTLS12, "AccountsClient.Update", http.MethodPatch, account, true},
		{"declared read", StorageMinTLS12, "AccountsClient.GetProperties", http.MethodGet, account, true},
		{"declared name, another action (listKeys)", StorageMinTLS12, "AccountsClient.Update", http.MethodPost, account + "/listKeys", false},
		{"undeclared method", StorageMinTLS12, "AccountsClient.Delete", http.MethodDelete, account, false},
		{"another action's method", StorageMinTLS12, "SecurityRulesClient.BeginDelete", http.MethodDelete, rule, false},
		{"long-running delete", NSGDeleteInternetRule, "SecurityRulesClient.BeginDelete", http.MethodDelete, rule, true},
		{"fake poller's status read", NSGDeleteInternetRule, "SecurityRulesClient.BeginDelete", http.MethodGet, rule, true},
		{"real poller's status read", NSGDeleteInternetRule, "", http.MethodGet, sub + "/providers/Microsoft.Network/locations/westeurope/operations/9f2e", true},
		{"real poller's result read", NSGDeleteInternetRule, "", http.MethodGet, sub + "/providers/Microsoft.Network/locations/westeurope/operationResults/9f2e", true},
		{"unnamed write", NSGDeleteInternetRule, "", http.MethodDelete, rule, false},
		{"unnamed read of another provider", NSGDeleteInternetRule, "", http.MethodGet, account, false},
		{"storage action polling network", StorageMinTLS12, "", http.MethodGet, sub + "/providers/Microsoft.Network/locations/westeurope/operations/9f2e", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			before := sent
			ctx := t.Context()
			if tc.api != "" {
				ctx = context.WithValue(ctx, runtime.CtxAPINameKey{}, tc.api)
			}
			req, err := runtime.NewRequest(ctx, tc.method, tc.url)
			if err != nil {
				t.Fatal(err)
			}
			_, err = pipeline(tc.action).Do(req)
			if tc.ok != (err == nil) || !tc.ok && !errors.Is(err, errUndeclared) {
				t.Fatalf("Do: %v, want allowed=%v", err, tc.ok)
			}
			if reached := sent > before; reached != tc.ok {
				t.Errorf("request reached the transport: %v, want %v", reached, tc.ok)
			}
		})
	}
}

type transporterFunc func(*http.Request) (*http.Response, error)

func (f transporterFunc) Do(req *http.Request) (*http.Response, error) { return f(req) }

// requestLog records the requests that reach the transport (after the
// actions' own policy and the SDK's retries).
type requestLog struct {
	mu   sync.Mutex
	reqs []string // "METHOD path"
}

func (l *requestLog) Do(req *policy.Request) (*http.Response, error) {
	l.mu.Lock()
	l.reqs = append(l.reqs, req.Raw().Method+" "+req.Raw().URL.Path)
	l.mu.Unlock()
	return req.Next()
}

func (l *requestLog) count(method, path string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
	for _, r := range l.reqs {
		m, p, _ := strings.Cut(r, " ")
		if m == method && strings.Contains(strings.ToLower(p), strings.ToLower(path)) {
			n++
		}
	}
	return n
}

// TestLongRunningDelete: deleting a security rule is a long-running
// operation; the action waits for its terminal state before it reports the
// rule gone, and a delete that fails at its terminal state (after ARM
// accepted it) is an error that leaves the rule and is retryable when ARM
// says so.
func TestLongRunningDelete(t *testing.T) {
	const steps = 3
	e := newEnvWith(t, &armfake.Options{PollSteps: steps})
	log := &requestLog{}
	cat := e.catalog(t, log)
	rdp := nsgRule("rdp-from-anywhere", 300, "Inbound", "Allow", "Tcp", []string{"0.0.0.0/0"}, "3389")
	ssh := nsgRule("ssh-office", 310, "Inbound", "Allow", "Tcp", []string{"198.51.100.0/24"}, "22")

	t.Run("waits for the terminal state", func(t *testing.T) {
		target := e.nsg(t, rdp, ssh)
		if complies(t, NSGDeleteInternetRule, target) {
			t.Fatal("setup: the NSG already complies")
		}
		snap, err := cat[NSGDeleteInternetRule].Apply(t.Context(), target)
		if err != nil {
			t.Fatalf("Apply: %v", err)
		}
		// One DELETE, then the poller's status reads until the terminal
		// one: the steps non-terminal answers and the terminal answer.
		if n := log.count(http.MethodDelete, "/securityRules/rdp-from-anywhere"); n != 1 {
			t.Errorf("%d DELETEs of the rule, want 1", n)
		}
		if n := log.count(http.MethodGet, "/securityRules/rdp-from-anywhere"); n < steps {
			t.Errorf("%d status reads of the delete, want at least %d: the action did not wait for the operation", n, steps)
		}
		after := e.fetch(t, target.Ref)
		if !complies(t, NSGDeleteInternetRule, after) {
			t.Fatalf("after Apply the NSG does not comply: %+v", after.Doc)
		}
		nsg := after.Doc.(*azres.NSG)
		if len(nsg.Rules) != 1 || nsg.Rules[0].Name != "ssh-office" {
			t.Errorf("after Apply the rules are %+v, want only ssh-office", nsg.Rules)
		}
		// Undo recreates the rule, again through a long-running operation.
		if err := cat[NSGDeleteInternetRule].Undo(t.Context(), target, snap); err != nil {
			t.Fatalf("Undo: %v", err)
		}
		if n := log.count(http.MethodPut, "/securityRules/rdp-from-anywhere"); n != 1 {
			t.Errorf("%d PUTs recreating the rule, want 1", n)
		}
		if complies(t, NSGDeleteInternetRule, e.fetch(t, target.Ref)) {
			t.Error("after Undo the rule is still missing")
		}
	})

	t.Run("fails at the terminal state", func(t *testing.T) {
		target := e.nsg(t, rdp)
		e.arm.Fail("SecurityRulesClient.BeginDelete", http.StatusConflict, "AnotherOperationInProgress")
		_, err := cat[NSGDeleteInternetRule].Apply(t.Context(), target)
		if err == nil {
			t.Fatal("Apply succeeded although the delete failed")
		}
		if !IsRetryable(err) || !strings.Contains(err.Error(), "rdp-from-anywhere") {
			t.Errorf("Apply: %v, want a retryable error naming the rule", err)
		}
		if complies(t, NSGDeleteInternetRule, e.fetch(t, target.Ref)) {
			t.Error("the rule is gone although its delete failed")
		}
		// The next attempt (the failure was injected once) succeeds.
		if _, err := cat[NSGDeleteInternetRule].Apply(t.Context(), target); err != nil {
			t.Fatalf("second Apply: %v", err)
		}
		if !complies(t, NSGDeleteInternetRule, e.fetch(t, target.Ref)) {
			t.Error("after the second Apply the NSG does not comply")
		}
	})
}

// TestErrorsClassified: ARM's refusals reach the caller as the sentinels
// the executor branches on, with ARM's own error kept in the chain.
func TestErrorsClassified(t *testing.T) {
	e := newEnv(t)
	// No SDK retries: the classification, not the retry policy, is tested.
	cat, err := New(&azfake.TokenCredential{}, &Options{
		Transports:    e.arm.Transports(),
		ClientOptions: arm.ClientOptions{ClientOptions: policy.ClientOptions{Retry: policy.RetryOptions{MaxRetries: -1}}},
	})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		status                    int
		code                      string
		denied, retryable, absent bool
	}{
		{http.StatusForbidden, "AuthorizationFailed", true, false, false},
		{http.StatusForbidden, "RequestDisallowedByPolicy", true, false, false},
		{http.StatusConflict, "AnotherOperationInProgress", false, true, false},
		{http.StatusTooManyRequests, "TooManyRequests", false, true, false},
		{http.StatusServiceUnavailable, "ServiceUnavailable", false, true, false},
		{http.StatusNotFound, "ResourceNotFound", false, false, true},
		{http.StatusBadRequest, "InvalidRequestContent", false, false, false},
	}
	for _, tc := range tests {
		t.Run(tc.code, func(t *testing.T) {
			target := e.account(t, armstorage.AccountPropertiesCreateParameters{MinimumTLSVersion: to.Ptr(armstorage.MinimumTLSVersionTLS10)})
			e.arm.Fail("AccountsClient.Update", tc.status, tc.code)
			_, err := cat[StorageMinTLS12].Apply(t.Context(), target)
			if err == nil {
				t.Fatal("Apply succeeded although ARM refused the write")
			}
			if got := errors.Is(err, ErrAccessDenied); got != tc.denied {
				t.Errorf("errors.Is(err, ErrAccessDenied) = %v, want %v: %v", got, tc.denied, err)
			}
			if tc.denied && !strings.Contains(err.Error(), "Microsoft.Storage/storageAccounts/write") {
				t.Errorf("a denial does not name the RBAC action: %v", err)
			}
			if got := IsRetryable(err); got != tc.retryable {
				t.Errorf("IsRetryable = %v, want %v: %v", got, tc.retryable, err)
			}
			if got := errors.Is(err, ErrNotFound); got != tc.absent {
				t.Errorf("errors.Is(err, ErrNotFound) = %v, want %v: %v", got, tc.absent, err)
			}
			if !strings.Contains(err.Error(), tc.code) {
				t.Errorf("the error lost ARM's code %s: %v", tc.code, err)
			}
			if complies(t, StorageMinTLS12, e.fetch(t, target.Ref)) {
				t.Error("the account changed although the write was refused")
			}
		})
	}
}

// TestSubscriptions: the actions refuse a resource of a subscription they
// were not configured for, before any request.
func TestSubscriptions(t *testing.T) {
	e := newEnv(t)
	log := &requestLog{}
	cat, err := New(&azfake.TokenCredential{}, &Options{
		Transports:    e.arm.Transports(),
		ClientOptions: arm.ClientOptions{ClientOptions: policy.ClientOptions{PerCallPolicies: []policy.Policy{log}}},
		Subscriptions: []string{"0c1d2e3f-0000-4000-8000-000000000001"},
	})
	if err != nil {
		t.Fatal(err)
	}
	target := e.account(t, armstorage.AccountPropertiesCreateParameters{AllowBlobPublicAccess: to.Ptr(true)})
	if _, err := cat[StorageDisablePublicBlobAccess].Apply(t.Context(), target); !errors.Is(err, ErrInvalidTarget) || !strings.Contains(err.Error(), testSub) {
		t.Errorf("Apply in another subscription: %v, want ErrInvalidTarget naming %s", err, testSub)
	}
	if len(log.reqs) != 0 {
		t.Errorf("requests were sent: %v", log.reqs)
	}
	if _, err := New(&azfake.TokenCredential{}, &Options{Subscriptions: []string{"/subscriptions/x"}}); err == nil {
		t.Error("New accepted a subscription that is not an id")
	}
	if _, err := New(&azfake.TokenCredential{}, &Options{Transports: map[string]policy.Transporter{"Microsoft.Compute": e.arm.Transport()}}); err == nil {
		t.Error("New accepted a transport for a provider no action uses")
	}
	if _, err := New(nil, nil); err == nil {
		t.Error("New accepted no credential")
	}
}

// TestIrreversible: the irreversible actions are exactly those the built-in
// rules declare irreversible, their plans say so and their Undo refuses.
func TestIrreversible(t *testing.T) {
	specs, err := rules.Load(rules.Builtin("azure"))
	if err != nil {
		t.Fatal(err)
	}
	var declared []string
	for _, s := range specs {
		if s.Remediation.Irreversible {
			declared = append(declared, s.Remediation.Action)
		}
	}
	slices.Sort(declared)
	declared = slices.Compact(declared)
	if got := Irreversible(); !slices.Equal(got, declared) {
		t.Errorf("Irreversible() = %v, the rules declare %v", got, declared)
	}
	e := newEnv(t)
	cat := e.catalog(t)
	for _, name := range Irreversible() {
		a := cat[name]
		if a == nil {
			t.Fatalf("irreversible action %s is not in the catalogue", name)
		}
		target := e.vault(t, nil, false)
		plan, err := a.Plan(t.Context(), target)
		if err != nil || !strings.Contains(plan.Change, "irreversible") {
			t.Errorf("%s plan %q, %v: want it to say irreversible", name, plan.Change, err)
		}
		snap, err := a.Apply(t.Context(), target)
		if err != nil {
			t.Fatalf("%s Apply: %v", name, err)
		}
		if err := a.Undo(t.Context(), target, snap); !errors.Is(err, ErrIrreversible) {
			t.Errorf("%s Undo after a change: %v, want ErrIrreversible", name, err)
		}
	}
}

// FuzzSnapshot: Undo reads snapshots back from the store; whatever bytes
// it is given, decoding never panics, and an accepted snapshot re-encodes
// to one that is accepted again unchanged. Seeds are real snapshots.
func FuzzSnapshot(f *testing.F) {
	e := newEnv(f)
	cat := e.catalog(f)
	actions := actionsOf(f, cat)
	names := slices.Sorted(func(yield func(string) bool) {
		for n := range actions {
			if !yield(n) {
				return
			}
		}
	})
	for i, name := range names {
		var target remediation.Target
		switch cat[name].ResourceType() {
		case azres.TypeStorageAccount:
			target = e.account(f, armstorage.AccountPropertiesCreateParameters{
				AllowBlobPublicAccess: to.Ptr(true), EnableHTTPSTrafficOnly: to.Ptr(false), MinimumTLSVersion: to.Ptr(armstorage.MinimumTLSVersionTLS10),
			})
		case azres.TypeNSG:
			target = e.nsg(f, nsgRule("ssh-any", 100, "Inbound", "Allow", "Tcp", []string{"*"}, "22"))
		case azres.TypeSQLServer:
			target = e.sqlServer(f, fwRule{"AllowAll", "0.0.0.0", "255.255.255.255"})
		case azres.TypeKeyVault:
			target = e.vault(f, nil, false)
		default:
			f.Fatalf("no seed for %s", cat[name].ResourceType())
		}
		snap, err := cat[name].Apply(context.Background(), target)
		if err != nil {
			f.Fatalf("seed %s: %v", name, err)
		}
		f.Add(uint8(i), []byte(snap))
		f.Add(uint8(i), []byte(strings.Replace(string(snap), `"changed":true`, `"changed":false`, 1)))
	}
	f.Add(uint8(0), []byte(`{"action":"azure_storage_min_tls_1_2","resource":{"id":"/subscriptions/x"}}`))
	f.Add(uint8(1), []byte(`null`))
	f.Fuzz(func(t *testing.T, which uint8, raw []byte) {
		a := actions[names[int(which)%len(names)]]
		out, err := a.checkSnapshot(raw)
		if err != nil {
			if !errors.Is(err, ErrSnapshot) {
				t.Fatalf("refused without ErrSnapshot: %v", err)
			}
			return
		}
		again, err := a.checkSnapshot(out)
		if err != nil {
			t.Fatalf("re-encoded snapshot %s refused: %v", out, err)
		}
		if string(again) != string(out) {
			t.Fatalf("re-encoding is not stable:\n%s\n%s", out, again)
		}
	})
}
