package awsremedy

import (
	"context"
	"fmt"
	"os"
	"sync"
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
	"github.com/aws/smithy-go"
	"github.com/aws/smithy-go/middleware"

	"github.com/driftwatch/driftwatch/shared/awsfetch"
	"github.com/driftwatch/driftwatch/shared/awsres"
	"github.com/driftwatch/driftwatch/shared/change"
	"github.com/driftwatch/driftwatch/shared/internal/motoserver"
	"github.com/driftwatch/driftwatch/shared/posture"
	"github.com/driftwatch/driftwatch/shared/remediation"
	"github.com/driftwatch/driftwatch/shared/resource"
	"github.com/driftwatch/driftwatch/shared/rules"
)

// emulator is the package's one moto_server. Tests share it without
// resetting it: each names its resources uniquely (env.n), and the
// account-wide settings are set by each Setup itself.
var emulator *motoserver.Server

var envSeq atomic.Int64

// motoAccount is the account moto puts resources in for any credentials.
const motoAccount = "123456789012"

func TestMain(m *testing.M) {
	s, err := motoserver.Start(context.Background())
	if err != nil {
		fmt.Fprintln(os.Stderr, "awsremedy tests:", err)
		os.Exit(1)
	}
	emulator = s
	code := m.Run()
	s.Close()
	os.Exit(code)
}

// testNow is the actions' and the rules' clock: 60 days ahead, so that an
// access key created now has gone unused for 60 days (moto cannot backdate
// a key).
func testNow() time.Time { return time.Now().Add(60 * 24 * time.Hour) }

// engine compiles the built-in rule catalogue once: compliance in these
// tests is what the rules that name an action say, not a predicate
// written again here.
var engine = sync.OnceValues(func() (*rules.Engine, error) {
	specs, err := rules.Load(rules.Builtin("aws"))
	if err != nil {
		return nil, err
	}
	return rules.Compile(specs, awsres.Types())
})

// env holds plain SDK clients for setting resources up in the emulator,
// independent of the actions under test, and a fetcher built as the
// remediator builds it.
type env struct {
	ctx     context.Context
	region  string
	suffix  string
	s3      *s3.Client
	s3c     *s3control.Client
	ec2     *ec2.Client
	ct      *cloudtrail.Client
	kms     *kms.Client
	iam     *iam.Client
	rds     *rds.Client
	fetcher *awsfetch.Fetcher
}

func newEnv(tb testing.TB) *env { return newEnvIn(tb, "us-east-1") }

func newEnvIn(tb testing.TB, region string) *env {
	cfg := emulator.Config(region)
	return &env{
		ctx:     tb.Context(),
		region:  region,
		suffix:  fmt.Sprintf("r%d", envSeq.Add(1)),
		s3:      s3.NewFromConfig(cfg, func(o *s3.Options) { o.UsePathStyle = true }),
		s3c:     s3control.NewFromConfig(cfg, awsfetch.WithAccountInHeader),
		ec2:     ec2.NewFromConfig(cfg),
		ct:      cloudtrail.NewFromConfig(cfg),
		kms:     kms.NewFromConfig(cfg),
		iam:     iam.NewFromConfig(cfg),
		rds:     rds.NewFromConfig(cfg),
		fetcher: awsfetch.New(cfg, &awsfetch.Options{S3UsePathStyle: true, AccountID: motoAccount}),
	}
}

// unique returns a realistic resource name no other call returns.
func (e *env) unique(base string) string {
	return fmt.Sprintf("%s-%s-%d", base, e.suffix, envSeq.Add(1))
}

// testOptions are the Options every test catalogue uses.
func testOptions() *Options { return &Options{S3UsePathStyle: true, Now: testNow} }

// catalog builds the actions on the emulator as production would, with
// only the addressing and the clock changed; extra API options (fault
// injection) go into the aws.Config as any SDK user's would.
func catalog(tb testing.TB, region string, apiOptions ...func(*middleware.Stack) error) remediation.Catalog {
	tb.Helper()
	cfg := emulator.Config(region)
	cfg.APIOptions = append(cfg.APIOptions, apiOptions...)
	c, err := New(cfg, testOptions())
	if err != nil {
		tb.Fatal(err)
	}
	return c
}

// failWrite returns an API option that refuses the write call number n
// (counting from 0; reads are Get*, Describe* and List* calls) with the
// error AWS returns for a missing permission, and lets every other call
// through. It sits after the actions' own middleware, so the failure is
// translated like a real one.
func failWrite(n int) func(*middleware.Stack) error {
	var writes atomic.Int64
	return func(stack *middleware.Stack) error {
		return stack.Initialize.Add(middleware.InitializeMiddlewareFunc("test.FailWrite",
			func(ctx context.Context, in middleware.InitializeInput, next middleware.InitializeHandler) (middleware.InitializeOutput, middleware.Metadata, error) {
				op := middleware.GetOperationName(ctx)
				if !isRead(op) && writes.Add(1)-1 == int64(n) {
					return middleware.InitializeOutput{}, middleware.Metadata{}, &smithy.GenericAPIError{
						Code: "AccessDenied", Message: fmt.Sprintf("injected by the test: write %d (%s) refused", n, op), Fault: smithy.FaultClient,
					}
				}
				return next.HandleInitialize(ctx, in)
			}), middleware.After)
	}
}

func isRead(op string) bool {
	for _, p := range []string{"Get", "Describe", "List"} {
		if len(op) > len(p) && op[:len(p)] == p {
			return true
		}
	}
	return false
}

// fetch reads ref as the remediator does and fails the test when the
// resource is missing.
func (e *env) fetch(t testing.TB, ref change.ResourceRef) remediation.Target {
	t.Helper()
	if ref.Type == awsres.TypeSecurityGroup {
		// The fetcher returns a group's name as Ref.Name but reads a group
		// by the sg- id, which it takes from Name when set: re-read by id,
		// as the remediator does (its references carry no name).
		ref.Name = ""
	}
	res, err := e.fetcher.Fetch(e.ctx, ref)
	if err != nil {
		t.Fatalf("fetch %s %s: %v", ref.Type, ref.ID, err)
	}
	if !res.Exists {
		t.Fatalf("fetch %s %s: the resource does not exist", ref.Type, ref.ID)
	}
	return remediation.Target{Ref: res.Ref, Doc: res.Doc}
}

// complies evaluates the built-in rules that name action on the target: it
// complies when none fails and at least one applies and passes.
func complies(t testing.TB, action string, target remediation.Target) bool {
	t.Helper()
	return compliesAt(t, action, target, testNow())
}

// compliesAt is complies with the rules evaluated at now.
func compliesAt(t testing.TB, action string, target remediation.Target, now time.Time) bool {
	t.Helper()
	eng, err := engine()
	if err != nil {
		t.Fatalf("compile the rule catalogue: %v", err)
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
	for _, ev := range eng.Evaluate(res, rules.EvalContext{Now: now}) {
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

func (e *env) createBucket(t testing.TB, name string) {
	t.Helper()
	must(t)(e.s3.CreateBucket(e.ctx, &s3.CreateBucketInput{Bucket: aws.String(name)}))
}

func bucketRef(name string) change.ResourceRef {
	return change.ResourceRef{Cloud: change.AWS, Type: awsres.TypeS3Bucket, ID: "arn:aws:s3:::" + name, Name: name, Account: motoAccount, Region: "us-east-1"}
}
