// Package awsfetch reads the live configuration of one AWS resource at a time
// with aws-sdk-go-v2 and returns it as an awsres document.
//
// Events arrive late, twice and out of order, so driftwatch never trusts an
// event's payload for state: it re-reads the resource the event names. The
// reads of one resource run concurrently, so a fetch costs about one or two
// API round trips whatever the number of settings read.
//
// Every reader depends on a small interface listing only the SDK methods it
// calls, and every such method is declared with its IAM action in
// Permissions, from which the detector's read-only role is generated. A
// middleware on every client refuses a call the list does not declare, so the
// list cannot silently fall behind the code.
package awsfetch

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/arn"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/rds"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3control"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/driftwatch/driftwatch/shared/awsres"
	"github.com/driftwatch/driftwatch/shared/change"
	"github.com/driftwatch/driftwatch/shared/resource"
)

// Options configures a Fetcher. The zero value is usable.
type Options struct {
	// AccountID is the account the credentials belong to. It is needed for
	// account-level reads (S3 account Block Public Access) when a reference
	// does not name its account. When empty, the Fetcher asks STS
	// GetCallerIdentity once.
	AccountID string
	// Partition is the AWS partition of the account ("aws", "aws-cn",
	// "aws-us-gov"), used to build canonical ARNs. Defaults to "aws".
	Partition string
	// DefaultRegion is used for references that carry no Region and for the
	// global and account-level services. Defaults to the aws.Config's
	// Region, then us-east-1.
	DefaultRegion string
	// S3UsePathStyle addresses buckets in the URL path and the S3 Control
	// account in its x-amz-account-id header instead of in the host name.
	// Local emulators (moto) need it; AWS does not.
	S3UsePathStyle bool
	// MaxConcurrency bounds each fan-out of dependent reads (a principal's
	// policies, access keys, an account's trails). Defaults to 8.
	MaxConcurrency int
	// Now returns the current time; ObservedAt is taken from it. Defaults to
	// time.Now.
	Now func() time.Time
	// Logger receives debug records of each fetch. Defaults to discarding.
	Logger *slog.Logger
}

// Fetcher reads AWS resources. It implements resource.Fetcher and is safe
// for concurrent use. Its SDK clients are built on first use, one per
// Region for regional services.
type Fetcher struct {
	cfg  aws.Config
	opts Options

	s3         *regional[s3API]
	ec2        *regional[ec2API]
	cloudtrail *regional[cloudtrailAPI]
	kms        *regional[kmsAPI]
	rds        *regional[rdsAPI]
	iam        func() iamAPI
	s3control  func() s3controlAPI
	sts        func() stsAPI

	accountMu sync.Mutex
	accountID string
}

var _ resource.Fetcher = (*Fetcher)(nil)

// New returns a Fetcher that reads with cfg's credentials. Clients are
// created lazily from cfg, each with a middleware that refuses operations
// not declared in Permissions and classifies errors (see IsRetryable).
func New(cfg aws.Config, opts *Options) *Fetcher {
	var o Options
	if opts != nil {
		o = *opts
	}
	if o.Partition == "" {
		o.Partition = "aws"
	}
	if o.DefaultRegion == "" {
		o.DefaultRegion = cfg.Region
	}
	if o.DefaultRegion == "" {
		o.DefaultRegion = "us-east-1"
	}
	if o.MaxConcurrency <= 0 {
		o.MaxConcurrency = 8
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	cfg = cfg.Copy()
	cfg.APIOptions = append(cfg.APIOptions, declaredOnly(operationActions()))
	if cfg.Region == "" {
		cfg.Region = o.DefaultRegion
	}
	f := &Fetcher{cfg: cfg, opts: o, accountID: o.AccountID}
	f.s3 = newRegional(func(region string) s3API {
		return s3.NewFromConfig(cfg, func(so *s3.Options) {
			so.Region = region
			so.UsePathStyle = o.S3UsePathStyle
		})
	})
	f.ec2 = newRegional(func(region string) ec2API {
		return ec2.NewFromConfig(cfg, func(eo *ec2.Options) { eo.Region = region })
	})
	f.cloudtrail = newRegional(func(region string) cloudtrailAPI {
		return cloudtrail.NewFromConfig(cfg, func(co *cloudtrail.Options) { co.Region = region })
	})
	f.kms = newRegional(func(region string) kmsAPI {
		return kms.NewFromConfig(cfg, func(ko *kms.Options) { ko.Region = region })
	})
	f.rds = newRegional(func(region string) rdsAPI {
		return rds.NewFromConfig(cfg, func(ro *rds.Options) { ro.Region = region })
	})
	f.iam = sync.OnceValue(func() iamAPI {
		return iam.NewFromConfig(cfg, func(io *iam.Options) { io.Region = o.DefaultRegion })
	})
	f.s3control = sync.OnceValue(func() s3controlAPI {
		return s3control.NewFromConfig(cfg, func(so *s3control.Options) {
			so.Region = o.DefaultRegion
			if o.S3UsePathStyle {
				WithAccountInHeader(so)
			}
		})
	})
	f.sts = sync.OnceValue(func() stsAPI {
		return sts.NewFromConfig(cfg, func(so *sts.Options) { so.Region = o.DefaultRegion })
	})
	return f
}

// target is a resolved reference: what to read, where and for whom.
type target struct {
	typ string
	// name is the identifier the API takes: a bucket name, group id, trail
	// name or ARN, key id, ARN or alias, principal name, policy ARN or DB
	// identifier.
	name    string
	region  string
	account string
}

// observation is what a reader found.
type observation struct {
	// id, name, region and account fill the returned Ref.
	id, name, region, account string
	tags                      map[string]string
	doc                       any
}

// errNotFound marks a read that found the resource missing. Fetch turns it
// into Exists=false.
var errNotFound = errors.New("resource not found")

// Fetch reads the live configuration of the resource ref names. A missing
// resource is a result (Exists=false), not an error. Errors wrap
// resource.ErrAccessDenied, resource.ErrUnsupportedType, ErrInvalidRef, or
// are retryable (IsRetryable).
func (f *Fetcher) Fetch(ctx context.Context, ref change.ResourceRef) (resource.Resource, error) {
	started := f.opts.Now()
	if ref.Cloud != "" && ref.Cloud != change.AWS {
		return resource.Resource{}, fmt.Errorf("fetch %s %s: cloud %q: %w", ref.Type, ref.ID, ref.Cloud, resource.ErrUnsupportedType)
	}
	read, ok := f.reader(ref.Type)
	if !ok {
		return resource.Resource{}, fmt.Errorf("fetch %s %s: %w", ref.Type, ref.ID, resource.ErrUnsupportedType)
	}
	t, err := f.resolve(ref)
	if err != nil {
		return resource.Resource{}, fmt.Errorf("fetch %s: %w", ref.Type, err)
	}
	obs, err := read(ctx, t)
	out := resource.Resource{Ref: ref, ObservedAt: started}
	out.Ref.Cloud = change.AWS
	switch {
	case errors.Is(err, errNotFound):
		out.Ref.ID = awsres.CanonicalID(t.typ, f.opts.Partition, t.region, t.account, firstNonEmpty(ref.ID, t.name))
		out.Ref.Name = firstNonEmpty(ref.Name, awsres.NameFromID(t.typ, out.Ref.ID))
		out.Ref.Region = firstNonEmpty(ref.Region, t.region)
		if isGlobal(t.typ) {
			out.Ref.Region = ""
		}
		out.Ref.Account = firstNonEmpty(ref.Account, t.account)
	case err != nil:
		return resource.Resource{}, fmt.Errorf("fetch %s %s: %w", ref.Type, firstNonEmpty(ref.ID, t.name), err)
	default:
		out.Exists = true
		out.Ref.ID, out.Ref.Name, out.Ref.Region = obs.id, obs.name, obs.region
		out.Ref.Account = firstNonEmpty(obs.account, ref.Account, t.account)
		out.Tags = maps.Clone(obs.tags)
		out.Doc = obs.doc
	}
	f.opts.Logger.LogAttrs(ctx, slog.LevelDebug, "resource fetched",
		slog.String("resource_type", ref.Type), slog.String("resource_id", out.Ref.ID),
		slog.Bool("exists", out.Exists), slog.Duration("elapsed", f.opts.Now().Sub(started)))
	return out, nil
}

type readFunc func(ctx context.Context, t target) (observation, error)

func (f *Fetcher) reader(typ string) (readFunc, bool) {
	switch typ {
	case awsres.TypeS3Bucket:
		return f.fetchBucket, true
	case awsres.TypeSecurityGroup:
		return f.fetchSecurityGroup, true
	case awsres.TypeTrail:
		return f.fetchTrail, true
	case awsres.TypeKMSKey:
		return f.fetchKey, true
	case awsres.TypeIAMUser:
		return f.fetchUser, true
	case awsres.TypeIAMRole:
		return f.fetchRole, true
	case awsres.TypeIAMGroup:
		return f.fetchGroup, true
	case awsres.TypeIAMPolicy:
		return f.fetchPolicy, true
	case awsres.TypeDBInstance:
		return f.fetchDBInstance, true
	case awsres.TypeAccount:
		return f.fetchAccount, true
	case awsres.TypeAccountRegion:
		return f.fetchAccountRegion, true
	}
	return nil, false
}

func isGlobal(typ string) bool {
	switch typ {
	case awsres.TypeIAMUser, awsres.TypeIAMRole, awsres.TypeIAMGroup, awsres.TypeIAMPolicy, awsres.TypeAccount:
		return true
	}
	return false
}

// resolve works out what to pass to the API and which Region to call. The
// Region inside an ARN wins over ref.Region: a trail's ARN names its home
// Region even when the event came from another Region.
func (f *Fetcher) resolve(ref change.ResourceRef) (target, error) {
	t := target{typ: ref.Type, account: firstNonEmpty(ref.Account, f.opts.AccountID), region: ref.Region}
	isARN := arn.IsARN(ref.ID)
	if isARN {
		p, err := arn.Parse(ref.ID)
		if err != nil {
			return target{}, fmt.Errorf("%w: id %q: %v", ErrInvalidRef, ref.ID, err)
		}
		if p.Region != "" {
			t.region = p.Region
		}
		if t.account == "" && p.AccountID != "" && p.AccountID != "aws" {
			t.account = p.AccountID
		}
	}
	if t.region == "" {
		t.region = f.opts.DefaultRegion
	}
	switch ref.Type {
	case awsres.TypeKMSKey:
		// DescribeKey accepts a key id, key ARN, alias name or alias ARN;
		// NameFromID would turn "alias/x" into "x".
		t.name = ref.Name
		if isARN || t.name == "" {
			t.name = ref.ID
		}
	case awsres.TypeTrail:
		t.name = firstNonEmpty(ref.Name, ref.ID)
		if isARN {
			t.name = ref.ID
		}
	case awsres.TypeIAMPolicy:
		t.name = ref.ID
		if !isARN {
			name := firstNonEmpty(ref.Name, ref.ID)
			if name == "" {
				break
			}
			if t.account == "" {
				return target{}, fmt.Errorf("%w: policy %q has no ARN and no account", ErrInvalidRef, name)
			}
			t.name = awsres.CanonicalID(ref.Type, f.opts.Partition, "", t.account, name)
		}
	case awsres.TypeAccount:
		t.name = firstNonEmpty(ref.Account, ref.ID, f.opts.AccountID)
		t.account = t.name
	case awsres.TypeAccountRegion:
		// The canonical id is account/region.
		if acct, region, ok := strings.Cut(ref.ID, "/"); ok {
			t.account = firstNonEmpty(ref.Account, acct)
			t.region = firstNonEmpty(ref.Region, region)
		}
		t.name = t.account + "/" + t.region
	default:
		// The canonical id decides; Name is for people (a security group's
		// name is not its id).
		t.name = ref.Name
		if ref.ID != "" {
			t.name = awsres.NameFromID(ref.Type, ref.ID)
		}
	}
	if t.name == "" && ref.Type != awsres.TypeAccount && ref.Type != awsres.TypeAccountRegion {
		return target{}, fmt.Errorf("%w: neither id nor name is set", ErrInvalidRef)
	}
	return t, nil
}

// account returns the account the target belongs to, asking STS once when
// neither the reference nor Options named it.
func (f *Fetcher) account(ctx context.Context, t target) (string, error) {
	if t.account != "" {
		return t.account, nil
	}
	f.accountMu.Lock()
	defer f.accountMu.Unlock()
	if f.accountID != "" {
		return f.accountID, nil
	}
	out, err := f.sts().GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	if err != nil {
		return "", fmt.Errorf("resolve account id: %w", err)
	}
	f.accountID = aws.ToString(out.Account)
	return f.accountID, nil
}

// accountFromARN returns the account field of an ARN, or "".
func accountFromARN(s string) string {
	if p, err := arn.Parse(s); err == nil {
		return p.AccountID
	}
	return ""
}

// regional builds one client per Region on first use.
type regional[C any] struct {
	mu    sync.Mutex
	m     map[string]C
	build func(region string) C
}

func newRegional[C any](build func(region string) C) *regional[C] {
	return &regional[C]{m: map[string]C{}, build: build}
}

func (r *regional[C]) get(region string) C {
	r.mu.Lock()
	defer r.mu.Unlock()
	c, ok := r.m[region]
	if !ok {
		c = r.build(region)
		r.m[region] = c
	}
	return c
}

// group runs reads concurrently, keeps the first error and cancels the
// others when one fails: a fetch with one failed read fails as a whole.
type group struct {
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
	sem    chan struct{}
	once   sync.Once
	err    error
}

// newGroup returns a group whose reads run at most limit at a time (no bound
// when limit <= 0).
func newGroup(ctx context.Context, limit int) *group {
	ctx, cancel := context.WithCancel(ctx)
	g := &group{ctx: ctx, cancel: cancel}
	if limit > 0 {
		g.sem = make(chan struct{}, limit)
	}
	return g
}

// Go runs read in its own goroutine.
func (g *group) Go(read func(ctx context.Context) error) {
	g.wg.Go(func() {
		if g.sem != nil {
			select {
			case g.sem <- struct{}{}:
				defer func() { <-g.sem }()
			case <-g.ctx.Done():
				g.fail(g.ctx.Err())
				return
			}
		}
		if err := read(g.ctx); err != nil {
			g.fail(err)
		}
	})
}

func (g *group) fail(err error) {
	g.once.Do(func() {
		g.err = err
		g.cancel()
	})
}

// Wait waits for every read and returns the first error.
func (g *group) Wait() error {
	g.wg.Wait()
	g.cancel()
	return g.err
}

// forEach runs read for every index in [0, n) with bounded concurrency.
func forEach(ctx context.Context, limit, n int, read func(ctx context.Context, i int) error) error {
	g := newGroup(ctx, limit)
	for i := range n {
		g.Go(func(ctx context.Context) error { return read(ctx, i) })
	}
	return g.Wait()
}

func firstNonEmpty(s ...string) string {
	for _, v := range s {
		if v != "" {
			return v
		}
	}
	return ""
}

// tagMap converts SDK tags to a map. It never returns nil, so rules can
// index tags without a presence check on the map itself.
func tagMap[T any](tags []T, kv func(T) (string, string)) map[string]string {
	m := make(map[string]string, len(tags))
	for _, t := range tags {
		k, v := kv(t)
		m[k] = v
	}
	return m
}
