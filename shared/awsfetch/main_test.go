package awsfetch

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/rds"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3control"

	"github.com/driftwatch/driftwatch/shared/change"
	"github.com/driftwatch/driftwatch/shared/internal/motoserver"
	"github.com/driftwatch/driftwatch/shared/resource"
)

// emulator is the package's one moto_server (it takes most of a second to
// start). Tests share it without resetting it: with AWS managed policies
// loaded, a reset costs seconds, so each test names its resources uniquely
// (env.n) and sets the account-wide settings it depends on itself.
var emulator *motoserver.Server

// envSeq makes the resource names of each env unique.
var envSeq atomic.Int64

// motoAccount is the account moto uses for every resource.
const motoAccount = "123456789012"

func TestMain(m *testing.M) {
	// moto_server loads AWS managed policies (AdministratorAccess, ...)
	// only when asked; the child process inherits the environment.
	if err := os.Setenv("MOTO_IAM_LOAD_MANAGED_POLICIES", "true"); err != nil {
		fmt.Fprintln(os.Stderr, "awsfetch tests:", err)
		os.Exit(1)
	}
	s, err := motoserver.Start(context.Background())
	if err != nil {
		fmt.Fprintln(os.Stderr, "awsfetch tests:", err)
		os.Exit(1)
	}
	emulator = s
	code := m.Run()
	s.Close()
	os.Exit(code)
}

// testClock is the fixed time every test fetcher reports as ObservedAt.
var testClock = time.Date(2026, 12, 4, 3, 0, 0, 0, time.UTC)

// env holds SDK clients for setting resources up in one Region of the
// emulator. The clients are plain SDK clients, independent of the Fetcher.
type env struct {
	ctx    context.Context
	region string
	suffix string
	s3     *s3.Client
	s3c    *s3control.Client
	ec2    *ec2.Client
	ct     *cloudtrail.Client
	kms    *kms.Client
	iam    *iam.Client
	rds    *rds.Client
}

func newEnv(tb testing.TB) *env {
	return setupClients(tb.Context(), emulator.URL, "us-east-1", fmt.Sprintf("t%d", envSeq.Add(1)))
}

// n returns a realistic resource name unique to this env.
func (e *env) n(base string) string { return base + "-" + e.suffix }

func setupClients(ctx context.Context, url, region, suffix string) *env {
	cfg := motoConfig(url, region)
	return &env{
		ctx:    ctx,
		region: region,
		suffix: suffix,
		s3:     s3.NewFromConfig(cfg, func(o *s3.Options) { o.UsePathStyle = true }),
		s3c: s3control.NewFromConfig(cfg, func(o *s3control.Options) {
			o.EndpointResolverV2 = accountInHeader{next: s3control.NewDefaultEndpointResolverV2()}
		}),
		ec2: ec2.NewFromConfig(cfg),
		ct:  cloudtrail.NewFromConfig(cfg),
		kms: kms.NewFromConfig(cfg),
		iam: iam.NewFromConfig(cfg),
		rds: rds.NewFromConfig(cfg),
	}
}

// in returns the same emulator's clients for another Region.
func (e *env) in(region string) *env {
	return setupClients(e.ctx, emulator.URL, region, e.suffix)
}

func motoConfig(url, region string) aws.Config {
	s := motoserver.Server{URL: url}
	return s.Config(region)
}

// fetcher returns a Fetcher on the emulator as production would build it,
// with only the emulator addressing and the clock changed.
func (e *env) fetcher(opts *Options) *Fetcher {
	o := Options{}
	if opts != nil {
		o = *opts
	}
	o.S3UsePathStyle = true
	o.Now = func() time.Time { return testClock }
	return New(motoConfig(emulator.URL, e.region), &o)
}

// fetch reads ref and fails the test on error.
func (e *env) fetch(t testing.TB, f *Fetcher, ref change.ResourceRef) resource.Resource {
	t.Helper()
	got, err := f.Fetch(e.ctx, ref)
	if err != nil {
		t.Fatalf("Fetch(%+v): %v", ref, err)
	}
	if !got.ObservedAt.Equal(testClock) {
		t.Errorf("ObservedAt = %v, want the clock's %v", got.ObservedAt, testClock)
	}
	return got
}

// must returns a function that fails the test when the SDK setup call
// whose results it receives failed: must(t)(client.Call(ctx, in)).
func must(t testing.TB) func(any, error) {
	return func(_ any, err error) {
		t.Helper()
		if err != nil {
			t.Fatalf("setup: %v", err)
		}
	}
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

// assertRef checks the identity fields Fetch fills from what it read.
func assertRef(t testing.TB, got change.ResourceRef, want change.ResourceRef) {
	t.Helper()
	want.Cloud = change.AWS
	if got != want {
		t.Errorf("Ref = %+v\nwant  %+v", got, want)
	}
}

func ptr[T any](v T) *T { return &v }
