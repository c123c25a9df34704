// Package gcpfetch reads the live configuration of one Google Cloud
// resource at a time through the Google REST API clients and returns it
// as a gcpres document.
//
// Events arrive late, twice and out of order, so driftwatch never trusts
// an audit log entry for state: it re-reads the resource the entry names.
// The reads of one resource run concurrently (a bucket and its IAM policy,
// a project and its policy, a service account and its keys), so a fetch
// costs about one round trip whatever the number of reads.
//
// Every reader calls the APIs through a small interface, and every method
// of those interfaces is declared in operations with the REST method it
// sends and the IAM permission Google checks for it. Permissions, from
// which the detector's custom read-only role is generated, comes from the
// same declarations, and the transport of every client (gcpapi) refuses a
// request no declaration matches, so the role cannot silently fall behind
// the code.
//
// A resource that no longer exists is a result (Exists=false), not an
// error. Errors wrap resource.ErrAccessDenied (401/403: the role must
// change), resource.ErrUnsupportedType, ErrInvalidRef, ErrInvalidResponse,
// or are retryable (IsRetryable: throttling, 5xx, transport failures).
package gcpfetch

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"strings"
	"sync"
	"time"

	cloudkms "google.golang.org/api/cloudkms/v1"
	crm "google.golang.org/api/cloudresourcemanager/v3"
	compute "google.golang.org/api/compute/v1"
	iam "google.golang.org/api/iam/v1"
	"google.golang.org/api/option"
	sqladmin "google.golang.org/api/sqladmin/v1"
	storage "google.golang.org/api/storage/v1"

	"github.com/driftwatch/driftwatch/shared/change"
	"github.com/driftwatch/driftwatch/shared/gcpapi"
	"github.com/driftwatch/driftwatch/shared/gcpres"
	"github.com/driftwatch/driftwatch/shared/resource"
)

// Options configures a Fetcher. The zero value reads with Application
// Default Credentials.
type Options struct {
	// API says how the Google API clients authenticate and where they
	// send requests (gcpapi.Options.Endpoint for local runs).
	API gcpapi.Options
	// Now returns the current time; ObservedAt is taken from it. Defaults
	// to time.Now.
	Now func() time.Time
	// Logger receives debug records of each fetch. Defaults to discarding.
	Logger *slog.Logger
}

// Fetcher reads Google Cloud resources. It implements resource.Fetcher and
// is safe for concurrent use. The Google API clients are not bound to a
// project, so one of each serves every project.
type Fetcher struct {
	opts Options

	storage  storageAPI
	compute  computeAPI
	sql      sqlAPI
	projects projectsAPI
	iam      iamAPI
	kms      kmsAPI
}

var _ resource.Fetcher = (*Fetcher)(nil)

// New returns a Fetcher whose clients refuse any request not declared in
// operations. ctx is used to find the default credentials when
// opts.API sets neither a client nor an endpoint.
func New(ctx context.Context, opts *Options) (*Fetcher, error) {
	return newFetcher(ctx, opts, declaredOperations())
}

// newFetcher builds a Fetcher whose clients allow ops (tests declare
// less).
func newFetcher(ctx context.Context, opts *Options, ops []gcpapi.Operation) (*Fetcher, error) {
	var o Options
	if opts != nil {
		o = *opts
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	co, err := o.API.ClientOptions(ctx, ops)
	if err != nil {
		return nil, fmt.Errorf("gcpfetch: %w", err)
	}
	f := &Fetcher{opts: o}
	var errs [6]error
	f.storage, errs[0] = newClient(ctx, co, storage.NewService, func(s *storage.Service) storageAPI { return storageClient{s} })
	f.compute, errs[1] = newClient(ctx, co, compute.NewService, func(s *compute.Service) computeAPI { return computeClient{s} })
	f.sql, errs[2] = newClient(ctx, co, sqladmin.NewService, func(s *sqladmin.Service) sqlAPI { return sqlClient{s} })
	f.projects, errs[3] = newClient(ctx, co, crm.NewService, func(s *crm.Service) projectsAPI { return projectsClient{s} })
	f.iam, errs[4] = newClient(ctx, co, iam.NewService, func(s *iam.Service) iamAPI { return iamClient{s} })
	f.kms, errs[5] = newClient(ctx, co, cloudkms.NewService, func(s *cloudkms.Service) kmsAPI { return kmsClient{s} })
	if err := errors.Join(errs[:]...); err != nil {
		return nil, fmt.Errorf("gcpfetch: create API client: %w", err)
	}
	return f, nil
}

func newClient[S, A any](ctx context.Context, co []option.ClientOption, ctor func(context.Context, ...option.ClientOption) (*S, error), wrap func(*S) A) (A, error) {
	s, err := ctor(ctx, co...)
	if err != nil {
		var zero A
		return zero, err
	}
	return wrap(s), nil
}

// target is a resolved reference: what to read.
type target struct {
	typ string
	// id is the canonical full resource name.
	id string
	// project is the project id; for a bucket, whose name has none, the
	// reference's account.
	project string
	// name is the resource's own name: bucket, firewall, instance,
	// project id, service account email (or unique id), key.
	name     string
	location string
	keyRing  string
}

// observation is what a reader found.
type observation struct {
	// id, name and region fill the returned Ref.
	id, name, region string
	labels           map[string]string
	doc              any
}

type readFunc func(ctx context.Context, t target) (observation, error)

func (f *Fetcher) reader(typ string) (readFunc, bool) {
	switch typ {
	case gcpres.TypeBucket:
		return f.fetchBucket, true
	case gcpres.TypeFirewall:
		return f.fetchFirewall, true
	case gcpres.TypeSQLInstance:
		return f.fetchSQLInstance, true
	case gcpres.TypeProject:
		return f.fetchProject, true
	case gcpres.TypeServiceAccount:
		return f.fetchServiceAccount, true
	case gcpres.TypeCryptoKey:
		return f.fetchCryptoKey, true
	}
	return nil, false
}

// Fetch reads the live configuration of the resource ref names. ref.ID is
// the canonical full resource name gcpevent builds (gcpres.BucketID
// ...); ref.Account, when set, must be the project the id names (for a
// bucket, whose name has no project, it is the reported project).
func (f *Fetcher) Fetch(ctx context.Context, ref change.ResourceRef) (resource.Resource, error) {
	started := f.opts.Now()
	if ref.Cloud != "" && ref.Cloud != change.GCP {
		return resource.Resource{}, fmt.Errorf("fetch %s %s: cloud %q: %w", ref.Type, ref.ID, ref.Cloud, resource.ErrUnsupportedType)
	}
	read, ok := f.reader(ref.Type)
	if !ok {
		return resource.Resource{}, fmt.Errorf("fetch %s %s: %w", ref.Type, ref.ID, resource.ErrUnsupportedType)
	}
	t, err := resolve(ref)
	if err != nil {
		return resource.Resource{}, fmt.Errorf("fetch %s: %w", ref.Type, err)
	}
	obs, err := read(ctx, t)
	err = gcpapi.Classify(err)
	out := resource.Resource{Ref: ref, ObservedAt: started}
	out.Ref.Cloud = change.GCP
	out.Ref.ID = t.id
	out.Ref.Account = t.project
	switch {
	case errors.Is(err, gcpapi.ErrNotFound):
		out.Ref.Name = firstNonEmpty(ref.Name, t.name)
	case err != nil:
		return resource.Resource{}, fmt.Errorf("fetch %s %s: %w", ref.Type, t.id, err)
	default:
		out.Exists = true
		out.Ref.Name, out.Ref.Region = obs.name, obs.region
		out.Tags = maps.Clone(obs.labels)
		out.Doc = obs.doc
	}
	f.opts.Logger.LogAttrs(ctx, slog.LevelDebug, "resource fetched",
		slog.String("cloud", string(change.GCP)), slog.String("resource_type", ref.Type),
		slog.String("resource_id", out.Ref.ID), slog.Bool("exists", out.Exists),
		slog.Duration("elapsed", f.opts.Now().Sub(started)))
	return out, nil
}

// idPatterns are the canonical full resource names, as gcpapi path
// patterns after the service host.
var idPatterns = map[string]struct{ host, path string }{
	gcpres.TypeBucket:         {"//storage.googleapis.com", "/projects/_/buckets/{name}"},
	gcpres.TypeFirewall:       {"//compute.googleapis.com", "/projects/{project}/global/firewalls/{name}"},
	gcpres.TypeSQLInstance:    {"//cloudsql.googleapis.com", "/projects/{project}/instances/{name}"},
	gcpres.TypeProject:        {"//cloudresourcemanager.googleapis.com", "/projects/{project}"},
	gcpres.TypeServiceAccount: {"//iam.googleapis.com", "/projects/{project}/serviceAccounts/{name}"},
	gcpres.TypeCryptoKey:      {"//cloudkms.googleapis.com", "/projects/{project}/locations/{location}/keyRings/{keyRing}/cryptoKeys/{name}"},
}

// resolve parses the reference's id. The id decides what is read;
// ref.Name is for people.
func resolve(ref change.ResourceRef) (target, error) {
	p, ok := idPatterns[ref.Type]
	if !ok {
		return target{}, fmt.Errorf("%w: no id form for type %q", ErrInvalidRef, ref.Type)
	}
	id := gcpres.CanonicalID(ref.ID)
	if id == "" {
		return target{}, fmt.Errorf("%w: no id", ErrInvalidRef)
	}
	rest, ok := strings.CutPrefix(id, p.host+"/")
	if !ok {
		return target{}, fmt.Errorf("%w: id %q is not a %s%s name", ErrInvalidRef, ref.ID, p.host, p.path)
	}
	vars, ok := gcpapi.MatchPath(p.path, "/"+rest)
	if !ok {
		return target{}, fmt.Errorf("%w: id %q is not a %s%s name", ErrInvalidRef, ref.ID, p.host, p.path)
	}
	for k, v := range vars {
		if !validSegment(v) {
			return target{}, fmt.Errorf("%w: id %q has an invalid %s %q", ErrInvalidRef, ref.ID, k, v)
		}
	}
	t := target{typ: ref.Type, id: id, project: vars["project"], name: vars["name"], location: vars["location"], keyRing: vars["keyRing"]}
	if ref.Type == gcpres.TypeProject {
		t.name = t.project
	}
	if t.project == "_" || t.project == "-" {
		return target{}, fmt.Errorf("%w: id %q names no project", ErrInvalidRef, ref.ID)
	}
	switch {
	case ref.Type == gcpres.TypeBucket:
		if ref.Account != "" && !validSegment(ref.Account) {
			return target{}, fmt.Errorf("%w: invalid project %q", ErrInvalidRef, ref.Account)
		}
		t.project = ref.Account
	case ref.Account != "" && ref.Account != t.project:
		return target{}, fmt.Errorf("%w: id %q is in project %s, the reference says %s", ErrInvalidRef, ref.ID, t.project, ref.Account)
	}
	return t, nil
}

// validSegment: a name segment Google could have issued; anything that
// would change the request path is refused.
func validSegment(s string) bool {
	if s == "" || s == "." || s == ".." || len(s) > 1024 {
		return false
	}
	for _, c := range s {
		if c <= ' ' || c == 0x7f || strings.ContainsRune("/\\?#%[]{}\"'<>|^`", c) {
			return false
		}
	}
	return true
}

// group runs reads concurrently, keeps the first error and cancels the
// others when one fails: a fetch with one failed read fails as a whole.
type group struct {
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
	once   sync.Once
	err    error
}

func newGroup(ctx context.Context) *group {
	ctx, cancel := context.WithCancel(ctx)
	return &group{ctx: ctx, cancel: cancel}
}

// Go runs read in its own goroutine.
func (g *group) Go(read func(ctx context.Context) error) {
	g.wg.Go(func() {
		if err := read(g.ctx); err != nil {
			g.once.Do(func() {
				g.err = err
				g.cancel()
			})
		}
	})
}

// Wait waits for every read and returns the first error.
func (g *group) Wait() error {
	g.wg.Wait()
	g.cancel()
	return g.err
}

func firstNonEmpty(s ...string) string {
	for _, v := range s {
		if v != "" {
			return v
		}
	}
	return ""
}

// labelMap copies labels. It never returns nil, so rules can index labels
// without a presence check on the map itself.
func labelMap(labels map[string]string) map[string]string {
	m := make(map[string]string, len(labels))
	maps.Copy(m, labels)
	return m
}

// orEmpty keeps JSON arrays [] rather than null: documents look the same
// whether the API sent an empty list or none.
func orEmpty[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}
