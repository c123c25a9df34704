package gcpremedy

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"net/http"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"google.golang.org/api/compute/v1"
	"google.golang.org/api/sqladmin/v1"
	"google.golang.org/api/storage/v1"

	"github.com/driftwatch/driftwatch/shared/gcpapi"
	"github.com/driftwatch/driftwatch/shared/gcpres"
	"github.com/driftwatch/driftwatch/shared/internal/gcpfake"
	"github.com/driftwatch/driftwatch/shared/internal/golden"
	"github.com/driftwatch/driftwatch/shared/remediation"
)

var update = flag.Bool("update", false, "rewrite testdata/permissions.golden")

// introspected is what the tests read of an action beyond remediation.Action.
type introspected interface {
	iface() reflect.Type
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

// TestActionsMatchTheRules: the package has exactly the actions the
// built-in GCP rules name, each for the resource type of its rules.
func TestActionsMatchTheRules(t *testing.T) {
	eng, err := engine()
	if err != nil {
		t.Fatal(err)
	}
	cat := newEnv(t).catalog(t)
	named := map[string]string{}
	for typ := range gcpres.Types() {
		for _, r := range eng.RulesFor(typ) {
			if a := r.Remediation.Action; a != "" {
				named[a] = typ
			}
		}
	}
	for a, typ := range named {
		if cat[a] == nil {
			t.Errorf("a rule names action %s, which the package lacks", a)
		} else if cat[a].ResourceType() != typ {
			t.Errorf("%s acts on %s, its rules on %s", a, cat[a].ResourceType(), typ)
		}
	}
	for a := range cat {
		if _, ok := named[a]; !ok {
			t.Errorf("no built-in rule names action %s", a)
		}
	}
}

// TestOperationsMatchTheActions: every method an action calls through its
// consumer interface is declared in operations, every declared method is
// called by some action, and each action's Permissions are exactly the
// permissions of the methods it calls.
func TestOperationsMatchTheActions(t *testing.T) {
	cat := newEnv(t).catalog(t)
	ops := map[string]operation{}
	for _, op := range operations() {
		if _, dup := ops[op.method]; dup {
			t.Errorf("%s is declared twice", op.method)
		}
		ops[op.method] = op
	}
	if err := gcpapi.Validate(slices.Collect(func(yield func(gcpapi.Operation) bool) {
		for _, op := range operations() {
			if !yield(op.Operation) {
				return
			}
		}
	})); err != nil {
		t.Error(err)
	}
	used := map[string]bool{}
	for name, in := range actionsOf(t, cat) {
		var want []string
		for m := range in.iface().Methods() {
			op, ok := ops[m.Name]
			if !ok {
				t.Errorf("%s calls %s through %v, which is not in operations", name, m.Name, in.iface())
				continue
			}
			used[m.Name] = true
			want = append(want, op.Permissions...)
		}
		slices.Sort(want)
		want = slices.Compact(want)
		got := cat[name].Permissions()
		slices.Sort(got)
		if !slices.Equal(got, want) {
			t.Errorf("%s.Permissions() = %v, want the permissions of the methods it calls: %v", name, got, want)
		}
	}
	for m := range ops {
		if !used[m] {
			t.Errorf("%s is declared in operations but no action calls it: remove it", m)
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
		if strings.Contains(p, "*") || strings.Count(p, ".") != 2 {
			t.Errorf("permission %q is not one IAM permission (service.resource.verb)", p)
		}
	}
	// The golden list makes every change to the remediation role visible
	// in review; infra/gcp's custom role is generated from the same list.
	golden.Check(t, filepath.Join("testdata", "permissions.golden"), []byte(strings.Join(got, "\n")+"\n"), *update)
}

// TestDeclaredOnly: an action's client refuses, before it leaves the
// process, a request of an operation the action does not declare, even
// one another action of the same API declares; declared requests go
// through.
func TestDeclaredOnly(t *testing.T) {
	e := newEnv(t)
	target := e.bucket(t, "inherited", binding("roles/storage.objectViewer", nil, "allUsers"))
	l, err := parseLoc(target.Ref.ID, gcpres.TypeBucket)
	if err != nil {
		t.Fatal(err)
	}
	b := &builder{ctx: t.Context(), opts: *e.options()}
	client := func(methods ...string) storageClient {
		ops, _ := declare(methods...)
		c, err := newStorageClient(b, "test", ops)
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	pap := client("GetBucket", "PatchBucket")     // gcp_storage_enforce_public_access_prevention
	iam := client("GetIamPolicy", "SetIamPolicy") // gcp_storage_remove_public_members
	ctx := t.Context()
	tests := []struct {
		name string
		call func() error
		ok   bool
	}{
		{"declared read", func() error { _, err := pap.GetBucket(ctx, l.Name); return err }, true},
		{"declared IAM read", func() error { _, err := iam.GetIamPolicy(ctx, l.Name); return err }, true},
		{"IAM read of the bucket action", func() error { _, err := pap.GetIamPolicy(ctx, l.Name); return err }, false},
		{"IAM write of the bucket action", func() error {
			_, err := pap.SetIamPolicy(ctx, l.Name, &storage.Policy{})
			return err
		}, false},
		{"bucket patch of the IAM action", func() error {
			_, err := iam.PatchBucket(ctx, l.Name, &storage.Bucket{Labels: map[string]string{"x": "y"}}, 0)
			return err
		}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			before := len(e.fake.Requests())
			err := tc.call()
			if tc.ok != (err == nil) || !tc.ok && !errors.Is(err, ErrUndeclared) {
				t.Fatalf("call: %v, want allowed=%v", err, tc.ok)
			}
			if reached := len(e.fake.Requests()) > before; reached != tc.ok {
				t.Errorf("request reached the API: %v, want %v", reached, tc.ok)
			}
			if !tc.ok && IsRetryable(translate(err)) {
				t.Errorf("an undeclared request is retryable: %v", err)
			}
		})
	}
	if _, pol, _ := e.fake.Bucket(l.Name); len(pol.Bindings) != 1 {
		t.Errorf("the refused IAM write changed the policy: %+v", pol.Bindings)
	}
}

// TestErrorsClassified: Google's refusals reach the caller as the
// sentinels the executor branches on, with Google's error kept in the
// chain, and the resource is left as it was.
func TestErrorsClassified(t *testing.T) {
	tests := []struct {
		name                      string
		fault                     func(f *gcpfake.Server, bucket string)
		denied, retryable, absent bool
	}{
		{"403 on the write", func(f *gcpfake.Server, _ string) { f.Deny(http.MethodPatch, "/storage/v1/b/{bucket}") }, true, false, false},
		{"403 on the read", func(f *gcpfake.Server, _ string) { f.Deny(http.MethodGet, "/storage/v1/b/{bucket}") }, true, false, false},
		{"503 on the read", func(f *gcpfake.Server, b string) { f.FailReads("/storage/v1/b/"+b, http.StatusServiceUnavailable) }, false, true, false},
		{"429 on the read", func(f *gcpfake.Server, b string) { f.FailReads("/storage/v1/b/"+b, http.StatusTooManyRequests) }, false, true, false},
		{"bucket gone", func(f *gcpfake.Server, b string) { f.DeleteBucket(b) }, false, false, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t) // faults are per server
			cat := e.catalog(t)
			target := e.bucket(t, "inherited")
			name := target.Doc.(*gcpres.Bucket).Name
			tc.fault(e.fake, name)
			_, err := cat[StorageEnforcePublicAccessPrevention].Apply(t.Context(), target)
			if err == nil {
				t.Fatal("Apply succeeded although Google refused")
			}
			if got := errors.Is(err, ErrAccessDenied); got != tc.denied {
				t.Errorf("errors.Is(err, ErrAccessDenied) = %v, want %v: %v", got, tc.denied, err)
			}
			if tc.denied && !strings.Contains(err.Error(), "storage.buckets.") {
				t.Errorf("a denial does not name the permission: %v", err)
			}
			if got := IsRetryable(err); got != tc.retryable {
				t.Errorf("IsRetryable = %v, want %v: %v", got, tc.retryable, err)
			}
			if got := errors.Is(err, ErrNotFound); got != tc.absent {
				t.Errorf("errors.Is(err, ErrNotFound) = %v, want %v: %v", got, tc.absent, err)
			}
			if !strings.Contains(err.Error(), name) {
				t.Errorf("the error does not name the bucket: %v", err)
			}
			if b, _, ok := e.fake.Bucket(name); ok && b.IamConfiguration.PublicAccessPrevention != "inherited" {
				t.Errorf("the bucket changed although Apply failed: %q", b.IamConfiguration.PublicAccessPrevention)
			}
		})
	}
}

// TestLongRunningOperations: a firewall or Cloud SQL patch is a
// long-running operation; the action polls it until DONE before it
// reports success, and an operation that ends in error is a failed Apply
// that changed nothing.
func TestLongRunningOperations(t *testing.T) {
	const polls = 3
	open := compute.Firewall{Name: "allow-ssh", Direction: "INGRESS", SourceRanges: []string{"0.0.0.0/0"},
		Allowed: []*compute.FirewallAllowed{{IPProtocol: "tcp", Ports: []string{"22"}}}}
	plain := sqladmin.IpConfiguration{Ipv4Enabled: true, SslMode: sslAllow}
	cases := []struct {
		name, action, opPath string
		setup                func(e *env, t *testing.T) remediation.Target
	}{
		{"firewall", FirewallDisableRule, "/global/operations/", func(e *env, t *testing.T) remediation.Target { fw := open; return e.firewall(t, &fw) }},
		{"sql", SQLRequireSSL, "/operations/", func(e *env, t *testing.T) remediation.Target { c := plain; return e.sqlInstance(t, &c) }},
	}
	for _, tc := range cases {
		t.Run(tc.name+"/waits", func(t *testing.T) {
			e := newEnv(t)
			e.fake.SetOperationPolls(polls)
			target := tc.setup(e, t)
			if _, err := e.catalog(t)[tc.action].Apply(t.Context(), target); err != nil {
				t.Fatalf("Apply: %v", err)
			}
			n := 0
			for _, r := range e.fake.Requests() {
				if r.Method == http.MethodGet && strings.Contains(r.Path, tc.opPath) {
					n++
				}
			}
			if n != polls+1 {
				t.Errorf("%d operation reads, want %d (%d RUNNING, then DONE)", n, polls+1, polls)
			}
			if !complies(t, tc.action, e.fetch(t, target.Ref)) {
				t.Error("after Apply the resource does not comply")
			}
		})
		t.Run(tc.name+"/still running", func(t *testing.T) {
			e := newEnv(t)
			e.fake.SetOperationPolls(1 << 20)
			target := tc.setup(e, t)
			o := e.options()
			o.OperationTimeout = 30 * time.Millisecond
			cat, err := New(t.Context(), o)
			if err != nil {
				t.Fatal(err)
			}
			_, err = cat[tc.action].Apply(t.Context(), target)
			if !IsRetryable(err) || !strings.Contains(err.Error(), "still running") {
				t.Fatalf("Apply: %v, want a retryable error saying the operation is still running", err)
			}
		})
		t.Run(tc.name+"/operation fails", func(t *testing.T) {
			e := newEnv(t)
			target := tc.setup(e, t)
			e.fake.FailNextOperation("injected by the test")
			_, err := e.catalog(t)[tc.action].Apply(t.Context(), target)
			if !errors.Is(err, ErrOperationFailed) || errors.Is(err, ErrAccessDenied) || !strings.Contains(err.Error(), "injected by the test") {
				t.Fatalf("Apply: %v, want ErrOperationFailed with the operation's message", err)
			}
			if complies(t, tc.action, e.fetch(t, target.Ref)) {
				t.Error("the resource changed although its operation failed")
			}
		})
	}
}

// concurrentWriter is an HTTP transport that, before each of the first n
// setIamPolicy requests, lets "someone else" change the bucket's policy
// (adding a member), so that the etag the action read is stale.
type concurrentWriter struct {
	fake   *gcpfake.Server
	bucket string
	n      int
	next   http.RoundTripper
}

func (c *concurrentWriter) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.Method == http.MethodPut && strings.HasSuffix(req.URL.Path, "/iam") && c.n > 0 {
		c.n--
		b, p, _ := c.fake.Bucket(c.bucket)
		p.Bindings = append(p.Bindings, binding("roles/storage.objectViewer", nil, "user:concurrent@acme.example"))
		p.Etag = ""
		c.fake.PutBucket(b, p) // a fresh etag
	}
	return c.next.RoundTrip(req)
}

// TestIAMPolicyConflict: the IAM policy write carries the etag read; when
// someone else wrote in between (412), the action reads again and retries,
// keeping the other writer's change, a bounded number of times, then
// fails with a retryable error that changed nothing.
func TestIAMPolicyConflict(t *testing.T) {
	for _, tc := range []struct {
		name      string
		conflicts int
		ok        bool
	}{{"once", 1, true}, {"every attempt", 3, false}} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			target := e.bucket(t, "inherited", binding("roles/storage.objectViewer", nil, "allUsers", "group:web@acme.example"))
			name := target.Doc.(*gcpres.Bucket).Name
			o := e.options()
			o.Attempts = 3
			o.API.HTTPClient = &http.Client{Transport: &concurrentWriter{fake: e.fake, bucket: name, n: tc.conflicts, next: http.DefaultTransport}}
			cat, err := New(t.Context(), o)
			if err != nil {
				t.Fatal(err)
			}
			_, err = cat[StorageRemovePublicMembers].Apply(t.Context(), target)
			_, pol, _ := e.fake.Bucket(name)
			members := slices.Concat(slices.Collect(func(yield func([]string) bool) {
				for _, b := range pol.Bindings {
					if !yield(b.Members) {
						return
					}
				}
			})...)
			if !slices.Contains(members, "user:concurrent@acme.example") {
				t.Errorf("the concurrent writer's member was overwritten: %v", members)
			}
			if tc.ok {
				if err != nil {
					t.Fatalf("Apply: %v", err)
				}
				if slices.Contains(members, "allUsers") {
					t.Errorf("allUsers is still a member after the retried write: %v", members)
				}
				return
			}
			if err == nil || !IsRetryable(err) || !errors.Is(err, gcpapi.ErrConflict) {
				t.Fatalf("Apply: %v, want a retryable conflict", err)
			}
			if !slices.Contains(members, "allUsers") {
				t.Errorf("allUsers was removed although every write failed: %v", members)
			}
		})
	}
}

// TestProjects: the actions refuse a resource of a project they were not
// configured for, before any request.
func TestProjects(t *testing.T) {
	e := newEnv(t)
	fw := compute.Firewall{Name: "allow-ssh", SourceRanges: []string{"0.0.0.0/0"}, Allowed: []*compute.FirewallAllowed{{IPProtocol: "all"}}}
	target := e.firewall(t, &fw)
	o := e.options()
	o.Projects = []string{"another-project"}
	cat, err := New(t.Context(), o)
	if err != nil {
		t.Fatal(err)
	}
	before := len(e.fake.Requests())
	if _, err := cat[FirewallDisableRule].Apply(t.Context(), target); !errors.Is(err, ErrInvalidTarget) || !strings.Contains(err.Error(), testProject) {
		t.Errorf("Apply in another project: %v, want ErrInvalidTarget naming %s", err, testProject)
	}
	if n := len(e.fake.Requests()) - before; n != 0 {
		t.Errorf("the refused Apply sent %d requests", n)
	}
	snap, err := e.catalog(t)[FirewallDisableRule].Apply(t.Context(), target)
	if err != nil {
		t.Fatal(err)
	}
	before = len(e.fake.Requests())
	if err := cat[FirewallDisableRule].Undo(t.Context(), remediation.Target{}, snap); !errors.Is(err, ErrSnapshot) {
		t.Errorf("Undo of a snapshot in another project: %v, want ErrSnapshot", err)
	}
	if n := len(e.fake.Requests()) - before; n != 0 {
		t.Errorf("the refused Undo sent %d requests", n)
	}
	for _, bad := range []*Options{
		{Projects: []string{"a/b"}, API: gcpapi.Options{Endpoint: e.endpoint}},
		{RotationPeriod: 91 * 24 * time.Hour, API: gcpapi.Options{Endpoint: e.endpoint}},
		{RotationPeriod: time.Hour, API: gcpapi.Options{Endpoint: e.endpoint}},
		{API: gcpapi.Options{Endpoint: "ftp://x"}},
	} {
		if _, err := New(t.Context(), bad); err == nil {
			t.Errorf("New accepted %+v", bad)
		}
	}
}

// TestRotationPeriodOption: a shorter period than the CIS limit is what the
// action sets.
func TestRotationPeriodOption(t *testing.T) {
	e := newEnv(t)
	o := e.options()
	o.RotationPeriod = 30 * 24 * time.Hour
	now := time.Date(2026, 12, 4, 22, 0, 0, 0, time.UTC)
	o.Now = func() time.Time { return now }
	cat, err := New(t.Context(), o)
	if err != nil {
		t.Fatal(err)
	}
	target := e.cryptoKey(t, "ENCRYPT_DECRYPT", "", time.Time{})
	if _, err := cat[KMSSetRotationPeriod].Apply(t.Context(), target); err != nil {
		t.Fatal(err)
	}
	k := e.fetch(t, target.Ref).Doc.(*gcpres.CryptoKey)
	if k.RotationPeriodSeconds != 30*86400 || !k.NextRotationTime.Equal(now.Add(30*24*time.Hour)) {
		t.Errorf("rotation %ds next %v, want 30 days from %v", k.RotationPeriodSeconds, k.NextRotationTime, now)
	}
}

// TestExposingEntriesMatchTheRules: the firewall rules the action disables
// are exactly those the SSH, RDP and all-ports rules fail.
func TestExposingEntriesMatchTheRules(t *testing.T) {
	entry := func(proto string, ports ...string) gcpres.FirewallEntry {
		pr, err := gcpres.ParsePorts(ports)
		if err != nil {
			t.Fatal(err)
		}
		return gcpres.FirewallEntry{Protocol: proto, Ports: ports, PortRanges: pr}
	}
	fw := func(dir string, disabled bool, sources []string, allowed ...gcpres.FirewallEntry) gcpres.Firewall {
		return gcpres.Firewall{ID: gcpres.FirewallID(testProject, "fw"), Name: "fw", Project: testProject, Direction: dir, Disabled: disabled,
			SourceRanges: sources, FromInternet: slices.ContainsFunc(sources, gcpres.IsInternet), Allowed: allowed}
	}
	any4, office := []string{"0.0.0.0/0"}, []string{"198.51.100.0/24"}
	for i, f := range []gcpres.Firewall{
		fw("INGRESS", false, any4, entry("tcp", "22")),
		fw("", false, []string{"::/0"}, entry("tcp", "3389")),
		fw("INGRESS", false, any4, entry("tcp", "20-23")),
		fw("INGRESS", false, any4, entry("tcp", "443")),
		fw("INGRESS", false, any4, entry("6")),
		fw("INGRESS", false, any4, entry("all")),
		fw("INGRESS", false, any4, entry("udp", "22")),
		fw("INGRESS", false, any4, entry("udp")),
		fw("INGRESS", false, any4, entry("udp", "1-65535")),
		fw("INGRESS", false, any4, entry("udp", "2-65535")),
		fw("INGRESS", false, any4, entry("tcp", "1-1000", "1001-65535")),
		fw("INGRESS", false, any4, entry("icmp")),
		fw("INGRESS", false, any4, entry("17", "0-65535")),
		fw("INGRESS", true, any4, entry("tcp", "22")),
		fw("EGRESS", false, any4, entry("tcp", "22")),
		fw("INGRESS", false, office, entry("tcp", "22")),
		fw("INGRESS", false, append(office, "::/0"), entry("icmp"), entry("tcp", "3389")),
	} {
		doc := remediation.Target{Ref: ref(gcpres.TypeFirewall, f.ID), Doc: &f}
		if got, want := len(exposingEntries(f)) > 0, !complies(t, FirewallDisableRule, doc); got != want {
			t.Errorf("case %d %+v: the action disables it: %v, the rules fail it: %v", i, f, got, want)
		}
	}
}

// TestSnapshotRefused: Undo refuses a snapshot that is not one of its own,
// before any request.
func TestSnapshotRefused(t *testing.T) {
	e := newEnv(t)
	cat := e.catalog(t)
	target := e.bucket(t, "inherited", binding("roles/storage.objectViewer", nil, "allUsers"))
	snap, err := cat[StorageRemovePublicMembers].Apply(t.Context(), target)
	if err != nil {
		t.Fatal(err)
	}
	good := string(snap)
	other := e.bucket(t, "inherited")
	tests := []struct {
		name, action, snap string
		target             remediation.Target
	}{
		{"not JSON", StorageRemovePublicMembers, `{"action":`, target},
		{"trailing data", StorageRemovePublicMembers, good + `{}`, target},
		{"unknown field", StorageRemovePublicMembers, strings.Replace(good, `"changed"`, `"extra":1,"changed"`, 1), target},
		{"another action's", StorageEnforcePublicAccessPrevention, good, target},
		{"another resource's", StorageRemovePublicMembers, good, other},
		{"a name of another type", StorageRemovePublicMembers, strings.Replace(good, "//storage.googleapis.com/projects/_/buckets/", "//compute.googleapis.com/projects/p/global/firewalls/", 1), remediation.Target{}},
		{"fields disagreeing with the name", StorageRemovePublicMembers, strings.Replace(good, `"name":"acme`, `"name":"evil-acme`, 1), remediation.Target{}},
		{"a name with a path in it", StorageRemovePublicMembers, strings.ReplaceAll(good, "acme-assets", "..%2F..%2Facme-assets"), remediation.Target{}},
		{"a member it never removes", StorageRemovePublicMembers, strings.Replace(good, `"member":"allUsers"`, `"member":"user:attacker@evil.example"`, 1), target},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			before := len(e.fake.Requests())
			err := cat[tc.action].Undo(t.Context(), tc.target, json.RawMessage(tc.snap))
			if !errors.Is(err, ErrSnapshot) {
				t.Errorf("Undo: %v, want ErrSnapshot", err)
			}
			if n := len(e.fake.Requests()) - before; n != 0 {
				t.Errorf("%d requests were sent", n)
			}
		})
	}
	if err := cat[StorageRemovePublicMembers].Undo(t.Context(), target, snap); err != nil {
		t.Fatalf("Undo of the real snapshot: %v", err)
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
		case gcpres.TypeBucket:
			target = e.bucket(f, "inherited", binding("roles/storage.objectViewer", nil, "allUsers"))
		case gcpres.TypeFirewall:
			target = e.firewall(f, &compute.Firewall{Name: "ssh", SourceRanges: []string{"0.0.0.0/0"}, Allowed: []*compute.FirewallAllowed{{IPProtocol: "tcp"}}})
		case gcpres.TypeSQLInstance:
			target = e.sqlInstance(f, &sqladmin.IpConfiguration{Ipv4Enabled: true, AuthorizedNetworks: []*sqladmin.AclEntry{{Value: "0.0.0.0/0"}}})
		case gcpres.TypeCryptoKey:
			target = e.cryptoKey(f, "ENCRYPT_DECRYPT", "", time.Time{})
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
	f.Add(uint8(0), []byte(`{"action":"gcp_kms_set_rotation_period","resource":{"id":"//cloudkms.googleapis.com/projects/p"}}`))
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
