package gcpremedy

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/api/cloudkms/v1"
	"google.golang.org/api/compute/v1"
	"google.golang.org/api/sqladmin/v1"
	"google.golang.org/api/storage/v1"

	"github.com/driftwatch/driftwatch/shared/change"
	"github.com/driftwatch/driftwatch/shared/gcpapi"
	"github.com/driftwatch/driftwatch/shared/gcpfetch"
	"github.com/driftwatch/driftwatch/shared/gcpres"
	"github.com/driftwatch/driftwatch/shared/internal/gcpfake"
	"github.com/driftwatch/driftwatch/shared/posture"
	"github.com/driftwatch/driftwatch/shared/remediation"
	"github.com/driftwatch/driftwatch/shared/resource"
	"github.com/driftwatch/driftwatch/shared/rules"
)

// testProject is the project of every test resource.
const testProject = "acme-prod-4821"

// engine compiles the built-in GCP rule catalogue once: compliance in
// these tests is what the rules that name an action say, not a predicate
// written again here.
var engine = sync.OnceValues(func() (*rules.Engine, error) {
	specs, err := rules.Load(rules.Builtin("gcp"))
	if err != nil {
		return nil, err
	}
	return rules.Compile(specs, gcpres.Types())
})

// env is one gcpfake server, seeded through its Go functions (independent
// of the actions under test), and the reads of the GCP function's fetcher.
type env struct {
	t        testing.TB
	fake     *gcpfake.Server
	endpoint string
	fetcher  *gcpfetch.Fetcher
	seq      atomic.Int64
}

func newEnv(tb testing.TB) *env {
	tb.Helper()
	fake := gcpfake.New()
	e := &env{t: tb, fake: fake, endpoint: fake.Start(tb)}
	f, err := gcpfetch.New(tb.Context(), &gcpfetch.Options{API: gcpapi.Options{Endpoint: e.endpoint}})
	if err != nil {
		tb.Fatal(err)
	}
	e.fetcher = f
	return e
}

// options are the actions' options on the fake, as production builds them
// with only the endpoint changed (and no pause between operation polls).
func (e *env) options() *Options {
	return &Options{API: gcpapi.Options{Endpoint: e.endpoint}, PollInterval: time.Millisecond, Projects: []string{testProject}}
}

// catalog builds the actions on the fake.
func (e *env) catalog(tb testing.TB) remediation.Catalog {
	tb.Helper()
	c, err := New(tb.Context(), e.options())
	if err != nil {
		tb.Fatal(err)
	}
	return c
}

// faulty returns the action name whose write number n (from 0; reads and
// operation polls excluded) the fake refuses with 403 PERMISSION_DENIED.
// The failure is armed for the one Apply and disarmed after it, so a
// failure Apply never reached cannot fail a later call.
func (e *env) faulty(tb testing.TB, name string, n int) remediation.Action {
	return &faultyAction{Action: e.catalog(tb)[name], fake: e.fake, n: n}
}

type faultyAction struct {
	remediation.Action
	fake *gcpfake.Server
	n    int
}

func (f *faultyAction) Apply(ctx context.Context, t remediation.Target) (json.RawMessage, error) {
	f.fake.FailWrite(f.n + 1)
	defer f.fake.ClearWriteFaults()
	return f.Action.Apply(ctx, t)
}

// unique returns a realistic resource name no other call returns.
func (e *env) unique(base string) string { return fmt.Sprintf("%s-%d", base, e.seq.Add(1)) }

// ref is the reference the pipeline carries for a GCP resource.
func ref(typ, id string) change.ResourceRef {
	return change.ResourceRef{Cloud: change.GCP, Type: typ, ID: gcpres.CanonicalID(id), Account: testProject}
}

// bucket seeds a bucket with its IAM policy and returns it as the fetcher
// reads it.
func (e *env) bucket(t testing.TB, pap string, bindings ...*storage.PolicyBindings) remediation.Target {
	t.Helper()
	name := e.unique("acme-assets")
	b := &storage.Bucket{Name: name, Location: "EU", ProjectNumber: 482193,
		IamConfiguration: &storage.BucketIamConfiguration{
			PublicAccessPrevention:   pap,
			UniformBucketLevelAccess: &storage.BucketIamConfigurationUniformBucketLevelAccess{Enabled: true},
		},
		Labels: map[string]string{"team": "web"},
	}
	e.fake.PutBucket(b, &storage.Policy{Bindings: bindings})
	return e.fetch(t, ref(gcpres.TypeBucket, gcpres.BucketID(name)))
}

func binding(role string, cond *storage.Expr, members ...string) *storage.PolicyBindings {
	return &storage.PolicyBindings{Role: role, Condition: cond, Members: members}
}

// firewall seeds a VPC firewall rule and returns it as the fetcher reads it.
func (e *env) firewall(t testing.TB, fw *compute.Firewall) remediation.Target {
	t.Helper()
	fw.Name = e.unique(fw.Name)
	if fw.Network == "" {
		fw.Network = "https://www.googleapis.com/compute/v1/projects/" + testProject + "/global/networks/default"
	}
	e.fake.PutFirewall(testProject, fw)
	return e.fetch(t, ref(gcpres.TypeFirewall, gcpres.FirewallID(testProject, fw.Name)))
}

// sqlInstance seeds a Cloud SQL instance with the IP configuration and
// returns it as the fetcher reads it.
func (e *env) sqlInstance(t testing.TB, ipc *sqladmin.IpConfiguration) remediation.Target {
	t.Helper()
	name := e.unique("billing-db")
	e.fake.PutSQLInstance(testProject, &sqladmin.DatabaseInstance{
		Name: name, Region: "europe-west1", DatabaseVersion: "POSTGRES_16",
		Settings: &sqladmin.Settings{
			Tier: "db-custom-2-7680", IpConfiguration: ipc,
			BackupConfiguration: &sqladmin.BackupConfiguration{Enabled: true},
			UserLabels:          map[string]string{"team": "billing"},
		},
	})
	return e.fetch(t, ref(gcpres.TypeSQLInstance, gcpres.SQLInstanceID(testProject, name)))
}

// cryptoKey seeds a crypto key and returns it as the fetcher reads it.
func (e *env) cryptoKey(t testing.TB, purpose, period string, next time.Time) remediation.Target {
	t.Helper()
	name := e.unique("payments")
	full := gcpres.CryptoKeyID(testProject, "europe-west1", "app-keys", name)
	k := &cloudkms.CryptoKey{Purpose: purpose, RotationPeriod: period, Labels: map[string]string{"team": "payments"}}
	if !next.IsZero() {
		k.NextRotationTime = next.UTC().Format(time.RFC3339)
	}
	e.fake.PutCryptoKey(strings.TrimPrefix(full, "//cloudkms.googleapis.com/"), k)
	return e.fetch(t, ref(gcpres.TypeCryptoKey, full))
}

// fetch reads ref as the GCP function does (gcpfetch on the fake) and
// fails the test when the resource is missing.
func (e *env) fetch(t testing.TB, r change.ResourceRef) remediation.Target {
	t.Helper()
	res, err := e.fetcher.Fetch(t.Context(), r)
	if err != nil {
		t.Fatalf("fetch %s %s: %v", r.Type, r.ID, err)
	}
	if !res.Exists {
		t.Fatalf("fetch %s %s: the resource does not exist", r.Type, r.ID)
	}
	return remediation.Target{Ref: res.Ref, Doc: res.Doc}
}

// complies evaluates the built-in rules that name action on the target: it
// complies when none fails and at least one applies and passes.
func complies(t testing.TB, action string, target remediation.Target) bool {
	t.Helper()
	eng, err := engine()
	if err != nil {
		t.Fatalf("compile the GCP rule catalogue: %v", err)
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
	for _, ev := range eng.Evaluate(res, rules.EvalContext{Now: time.Now()}) {
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
