// Package gcpremedy holds driftwatch's automatic fixes for Google Cloud
// resources: remediation.Actions built on the Google API Go clients
// (google.golang.org/api) that the GCP function runs with its own service
// account after a person approved them (or in auto mode).
//
// Every action
//   - declares the exact IAM permissions its requests need (Permissions):
//     the function's custom least-privilege role is generated from them, and
//     the HTTP transport of the action's own API client (gcpapi) refuses,
//     before it leaves the process, any request that is not one of the REST
//     methods the action declares with those permissions, so the
//     declaration cannot fall behind the code;
//   - plans from the live document the fetcher just read (dry run, no call);
//   - applies against the live state: it re-reads what it changes, changes it
//     only when needed (idempotent) and snapshots exactly what it changed;
//     a read-modify-write (an IAM policy) is guarded by the etag or
//     metageneration it read and redone a bounded number of times when
//     someone else wrote in between;
//   - waits for the long-running operation a write starts (Compute, Cloud
//     SQL) and treats an operation that ends in error as a failed write;
//   - makes one write per Apply, so a failed Apply leaves the resource as it
//     was (except an operation Google accepted but did not finish within
//     Options.OperationTimeout: that failure is retryable, and a retried
//     Apply finds the change made);
//   - undoes from its snapshot, idempotently (a failed Undo can be retried),
//     adding back what it removed or, for a setting it changed, restoring
//     the former value only while the setting still has the value Apply
//     set (a later decision by someone else is not overwritten; the KMS
//     rotation schedule, whose new value depends on the time, is restored
//     whatever it is).
//
// The actions name resources by their Cloud Asset Inventory full resource
// name (gcpres.CanonicalID), which is case-sensitive, and refuse a name
// segment that could add path segments or escapes to a request URL.
package gcpremedy

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"time"

	"google.golang.org/api/option"
	htransport "google.golang.org/api/transport/http"

	"github.com/driftwatch/driftwatch/shared/gcpapi"
	"github.com/driftwatch/driftwatch/shared/gcpres"
	"github.com/driftwatch/driftwatch/shared/remediation"
)

// The names rules use for the actions of this package (remediation.action).
const (
	StorageRemovePublicMembers           = "gcp_storage_remove_public_members"
	StorageEnforcePublicAccessPrevention = "gcp_storage_enforce_public_access_prevention"
	FirewallDisableRule                  = "gcp_firewall_disable_rule"
	SQLRemovePublicAuthorizedNetwork     = "gcp_sql_remove_public_authorized_network"
	SQLRequireSSL                        = "gcp_sql_require_ssl"
	KMSSetRotationPeriod                 = "gcp_kms_set_rotation_period"
)

// MaxRotationPeriod is the longest rotation period CIS GCP 1.10 accepts,
// and the default of Options.RotationPeriod.
const MaxRotationPeriod = 90 * 24 * time.Hour

// minRotationPeriod is the shortest rotation period Cloud KMS accepts.
const minRotationPeriod = 24 * time.Hour

// Options configures the actions. The zero value is usable: Application
// Default Credentials, Google's endpoints.
type Options struct {
	// API says how the clients authenticate and where they send requests
	// (gcpapi.Options.Endpoint: gcpfake in tests and local runs). Each
	// action's client wraps its transport with gcpapi's declared-requests
	// check, declared with the action's own operations.
	API gcpapi.Options
	// Projects, when not empty, are the only projects (ids) the actions act
	// in: a target or snapshot of another project is refused. A bucket's
	// full name names no project, so a bucket is checked against the
	// project of its document when it has one.
	Projects []string
	// RotationPeriod is the period gcp_kms_set_rotation_period sets on a
	// key that has none or one longer than MaxRotationPeriod. Defaults to
	// MaxRotationPeriod; it must be a whole number of seconds between one
	// day and MaxRotationPeriod.
	RotationPeriod time.Duration
	// PollInterval is the pause between two reads of a long-running
	// operation. Defaults to two seconds.
	PollInterval time.Duration
	// OperationTimeout bounds the wait for one long-running operation.
	// Defaults to ten minutes (a Cloud SQL patch can take minutes). An
	// operation still running then is a retryable failure: the change may
	// still land, and a retried Apply finds it done.
	OperationTimeout time.Duration
	// Attempts bounds the read-modify-writes of an IAM policy when its
	// etag changed in between (HTTP 412). Defaults to 3.
	Attempts int
	// Now returns the current time (the next rotation of a key is computed
	// from it). Defaults to time.Now.
	Now func() time.Time
	// Logger receives one record per change an action makes. Defaults to
	// discarding.
	Logger *slog.Logger
}

// New returns every action of the package, indexed by name.
func New(ctx context.Context, opts *Options) (remediation.Catalog, error) {
	as, err := Actions(ctx, opts)
	if err != nil {
		return nil, err
	}
	return remediation.NewCatalog(as...)
}

// Actions returns every action of the package, each with its own API
// client whose transport refuses the requests the action does not declare.
// ctx is used only to look up default credentials.
func Actions(ctx context.Context, opts *Options) ([]remediation.Action, error) {
	var o Options
	if opts != nil {
		o = *opts
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.PollInterval <= 0 {
		o.PollInterval = 2 * time.Second
	}
	if o.Attempts <= 0 {
		o.Attempts = 3
	}
	if o.OperationTimeout <= 0 {
		o.OperationTimeout = 10 * time.Minute
	}
	switch {
	case o.RotationPeriod == 0:
		o.RotationPeriod = MaxRotationPeriod
	case o.RotationPeriod < minRotationPeriod || o.RotationPeriod > MaxRotationPeriod:
		return nil, fmt.Errorf("gcpremedy: RotationPeriod %v is not between %v and %v (CIS GCP 1.10)", o.RotationPeriod, minRotationPeriod, MaxRotationPeriod)
	case o.RotationPeriod%time.Second != 0:
		return nil, fmt.Errorf("gcpremedy: RotationPeriod %v is not a whole number of seconds", o.RotationPeriod)
	}
	for i, p := range o.Projects {
		if !validSegment(strings.TrimSpace(p)) {
			return nil, fmt.Errorf("gcpremedy: Projects[%d] = %q is not a project id", i, p)
		}
	}
	if o.API.HTTPClient == nil && o.API.Endpoint == "" {
		// Look Application Default Credentials up once for every client,
		// not once per action.
		hc, _, err := htransport.NewClient(ctx, option.WithScopes(gcpapi.Scope))
		if err != nil {
			return nil, fmt.Errorf("gcpremedy: default credentials: %w", err)
		}
		o.API.HTTPClient = hc
	}
	b := &builder{ctx: ctx, opts: o}
	builds := []func(*builder) (remediation.Action, error){
		storageRemovePublicMembers, storageEnforcePublicAccessPrevention,
		firewallDisableRule, sqlRemovePublicAuthorizedNetwork, sqlRequireSSL, kmsSetRotationPeriod,
	}
	out := make([]remediation.Action, 0, len(builds))
	for _, build := range builds {
		a, err := build(b)
		if err != nil {
			return nil, err
		}
		out = append(out, a)
	}
	return out, nil
}

// builder makes the API clients of the actions.
type builder struct {
	ctx  context.Context
	opts Options
}

// clientOptions returns the client options of one action: a transport
// that lets through exactly the action's operations.
func (b *builder) clientOptions(name string, ops []gcpapi.Operation) ([]option.ClientOption, error) {
	o, err := b.opts.API.ClientOptions(b.ctx, ops)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return o, nil
}

// waiting is how the actions wait for a long-running operation.
type waiting struct{ every, timeout time.Duration }

func (b *builder) waiting() waiting {
	return waiting{every: b.opts.PollInterval, timeout: b.opts.OperationTimeout}
}

// loc names the resource an action changes, as the Google APIs take it. It
// is recorded in every snapshot, so Undo knows what to restore even when
// the resource can no longer be read, and refuses a snapshot of another
// resource.
type loc struct {
	// ID is the resource's full resource name (gcpres.CanonicalID).
	ID string `json:"id"`
	// Project is "" for a bucket, whose full name names none.
	Project  string `json:"project,omitempty"`
	Location string `json:"location,omitempty"`
	KeyRing  string `json:"key_ring,omitempty"`
	Name     string `json:"name"`
}

func (l loc) String() string { return l.ID }

// segmentRE is what the actions accept as one segment of a resource name:
// every GCP name they handle (project ids, bucket, firewall, instance, key
// ring and key names, locations) fits it, and it keeps a crafted name from
// adding path segments, queries or escapes to a request URL.
var segmentRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._:-]{0,254}$`)

func validSegment(s string) bool { return segmentRE.MatchString(s) }

// The full resource name patterns of the types the actions act on
// (segments are checked separately).
var namePatterns = map[string]*regexp.Regexp{
	gcpres.TypeBucket:      regexp.MustCompile(`^//storage\.googleapis\.com/projects/_/buckets/([^/]+)$`),
	gcpres.TypeFirewall:    regexp.MustCompile(`^//compute\.googleapis\.com/projects/([^/]+)/global/firewalls/([^/]+)$`),
	gcpres.TypeSQLInstance: regexp.MustCompile(`^//cloudsql\.googleapis\.com/projects/([^/]+)/instances/([^/]+)$`),
	gcpres.TypeCryptoKey:   regexp.MustCompile(`^//cloudkms\.googleapis\.com/projects/([^/]+)/locations/([^/]+)/keyRings/([^/]+)/cryptoKeys/([^/]+)$`),
}

// parseLoc reads the full resource name of a resource of type typ.
func parseLoc(id, typ string) (loc, error) {
	id = gcpres.CanonicalID(id)
	re, ok := namePatterns[typ]
	if !ok {
		return loc{}, fmt.Errorf("no action acts on %s", typ)
	}
	m := re.FindStringSubmatch(id)
	if m == nil {
		return loc{}, fmt.Errorf("%q is not the full resource name of a %s", id, typ)
	}
	for _, s := range m[1:] {
		if !validSegment(s) {
			return loc{}, fmt.Errorf("%q: %q is not a valid name segment", id, s)
		}
	}
	switch typ {
	case gcpres.TypeBucket:
		return loc{ID: gcpres.BucketID(m[1]), Name: m[1]}, nil
	case gcpres.TypeFirewall:
		return loc{ID: gcpres.FirewallID(m[1], m[2]), Project: m[1], Name: m[2]}, nil
	case gcpres.TypeSQLInstance:
		return loc{ID: gcpres.SQLInstanceID(m[1], m[2]), Project: m[1], Name: m[2]}, nil
	default: // gcpres.TypeCryptoKey
		return loc{ID: gcpres.CryptoKeyID(m[1], m[2], m[3], m[4]), Project: m[1], Location: m[2], KeyRing: m[3], Name: m[4]}, nil
	}
}

// snapshot is what Apply returns and Undo reads back
// (remediation.Snapshot): the resource, whether anything changed, and the
// state before the change.
type snapshot[S any] = remediation.Snapshot[loc, S]

// action is the shape every fix of this package shares: D is the gcpres
// document it reads, S the before-state it snapshots, C the consumer
// interface of the API calls it makes. The fix-specific parts are the
// functions.
type action[D, S, C any] struct {
	name, resourceType string
	perms              []string
	opts               *Options
	api                C

	// docID returns the full resource name in the document; docProject its
	// project.
	docID      func(d *D) string
	docProject func(d *D) string
	// plan says what apply would change, from the document alone.
	plan func(d *D) (remediation.Plan, error)
	// apply re-reads the live state, changes it when needed and returns
	// the state before, with whether it changed anything. On error it has
	// changed nothing.
	apply func(ctx context.Context, c C, l loc) (before S, changed bool, err error)
	// undo restores before; it is idempotent.
	undo func(ctx context.Context, c C, l loc, before S) error
	// check, optional, refuses a before-state Undo must not act on.
	check func(before S) error
}

var _ remediation.Action = (*action[gcpres.Bucket, bool, any])(nil)

// Name implements remediation.Action.
func (a *action[D, S, C]) Name() string { return a.name }

// ResourceType implements remediation.Action.
func (a *action[D, S, C]) ResourceType() string { return a.resourceType }

// Permissions implements remediation.Action.
func (a *action[D, S, C]) Permissions() []string { return slices.Clone(a.perms) }

// iface reports the consumer interface the action calls through, so a test
// can check Permissions against its methods.
func (a *action[D, S, C]) iface() reflect.Type { return reflect.TypeFor[C]() }

// doc returns the target's document as a *D, or nil when it carries none.
func (a *action[D, S, C]) doc(t remediation.Target) (*D, error) {
	if t.Ref.Type != "" && t.Ref.Type != a.resourceType {
		return nil, fmt.Errorf("%w: %s acts on %s, not %s", ErrInvalidTarget, a.name, a.resourceType, t.Ref.Type)
	}
	d, err := remediation.DocOf[D](t)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %w", ErrInvalidTarget, a.name, err)
	}
	return d, nil
}

// locate names the target's resource, from its document when it has one,
// else from its reference.
func (a *action[D, S, C]) locate(t remediation.Target) (loc, error) {
	d, err := a.doc(t)
	if err != nil {
		return loc{}, err
	}
	id := t.Ref.ID
	if d != nil && a.docID(d) != "" {
		id = a.docID(d)
	}
	if strings.TrimSpace(id) == "" {
		return loc{}, fmt.Errorf("%w: %s: %w %s", ErrInvalidTarget, a.name, errUnnamed, a.resourceType)
	}
	l, err := parseLoc(id, a.resourceType)
	if err != nil {
		return loc{}, fmt.Errorf("%w: %s: %w", ErrInvalidTarget, a.name, err)
	}
	project := l.Project
	if project == "" && d != nil && a.docProject != nil {
		project = a.docProject(d)
	}
	if err := a.allowed(l, project); err != nil {
		return loc{}, fmt.Errorf("%w: %s: %w", ErrInvalidTarget, a.name, err)
	}
	return l, nil
}

// allowed refuses a resource outside Options.Projects. A resource whose
// project is unknown (a bucket without a document) passes.
func (a *action[D, S, C]) allowed(l loc, project string) error {
	if len(a.opts.Projects) == 0 || project == "" ||
		slices.ContainsFunc(a.opts.Projects, func(p string) bool { return strings.TrimSpace(p) == project }) {
		return nil
	}
	return fmt.Errorf("%s is in project %s, which is not one of the projects these actions act in", l, project)
}

// Plan implements remediation.Action. It makes no call: it reads the
// document the fetcher just returned.
func (a *action[D, S, C]) Plan(_ context.Context, t remediation.Target) (remediation.Plan, error) {
	d, err := a.doc(t)
	if err != nil {
		return remediation.Plan{}, err
	}
	if d == nil {
		return remediation.Plan{}, fmt.Errorf("%w: %s: no live document to plan from (the resource may no longer exist)", ErrInvalidTarget, a.name)
	}
	return a.plan(d)
}

// Apply implements remediation.Action.
func (a *action[D, S, C]) Apply(ctx context.Context, t remediation.Target) (json.RawMessage, error) {
	l, err := a.locate(t)
	if err != nil {
		return nil, err
	}
	before, changed, err := a.apply(ctx, a.api, l)
	if err != nil {
		return nil, fmt.Errorf("%s on %s: %w", a.name, l, translate(err))
	}
	snap, err := json.Marshal(snapshot[S]{Action: a.name, Resource: l, Changed: changed, Before: before})
	if err != nil {
		// Only a bug can get here: S is always plain data.
		return nil, fmt.Errorf("%s on %s: encode snapshot: %w", a.name, l, err)
	}
	a.opts.Logger.LogAttrs(ctx, slog.LevelInfo, "remediation applied",
		slog.String("action", a.name), slog.String("resource_id", l.ID), slog.Bool("changed", changed))
	return snap, nil
}

// Undo implements remediation.Action.
func (a *action[D, S, C]) Undo(ctx context.Context, t remediation.Target, raw json.RawMessage) error {
	s, err := a.decode(raw)
	if err != nil {
		return err
	}
	// The snapshot names what to restore; the target, when it names
	// anything, must be the same resource.
	switch l, err := a.locate(t); {
	case errors.Is(err, errUnnamed):
	case err != nil:
		return err
	case l.ID != s.Resource.ID:
		return fmt.Errorf("%w: %s: the snapshot is of %s, not of the target %s", ErrSnapshot, a.name, s.Resource, l)
	}
	if err := a.allowed(s.Resource, s.Resource.Project); err != nil {
		return fmt.Errorf("%w: %s: %w", ErrSnapshot, a.name, err)
	}
	if !s.Changed {
		return nil
	}
	if err := a.undo(ctx, a.api, s.Resource, s.Before); err != nil {
		return fmt.Errorf("undo %s on %s: %w", a.name, s.Resource, translate(err))
	}
	a.opts.Logger.LogAttrs(ctx, slog.LevelInfo, "remediation undone",
		slog.String("action", a.name), slog.String("resource_id", s.Resource.ID))
	return nil
}

// checkSnapshot reports whether raw is a snapshot Undo would accept, and
// returns it re-encoded (for the fuzz test's round trip).
func (a *action[D, S, C]) checkSnapshot(raw []byte) ([]byte, error) {
	s, err := a.decode(raw)
	if err != nil {
		return nil, err
	}
	return json.Marshal(s)
}

// errUnnamed marks a target that names no resource.
var errUnnamed = errors.New("the target names no")

// decode reads a snapshot strictly: a snapshot is stored data, and a wrong
// one must be refused rather than half-restored.
func (a *action[D, S, C]) decode(raw json.RawMessage) (snapshot[S], error) {
	s, err := remediation.ReadSnapshot[loc, S](raw, a.name)
	if err != nil {
		return s, fmt.Errorf("%w: %s: %v", ErrSnapshot, a.name, err)
	}
	l, err := parseLoc(s.Resource.ID, a.resourceType)
	if err != nil {
		return s, fmt.Errorf("%w: %s: the snapshot names no %s: %v", ErrSnapshot, a.name, a.resourceType, err)
	}
	if l != s.Resource {
		return s, fmt.Errorf("%w: %s: the snapshot's resource fields disagree with its name %s", ErrSnapshot, a.name, s.Resource.ID)
	}
	if a.check != nil && s.Changed {
		if err := a.check(s.Before); err != nil {
			return s, fmt.Errorf("%w: %s: %v", ErrSnapshot, a.name, err)
		}
	}
	return s, nil
}

// plural formats "1 member" / "2 members".
func plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return fmt.Sprint(n, " ", many)
}

// inProject names a resource for people: "name (project p)".
func inProject(name, project string) string {
	if project == "" {
		return name
	}
	return name + " (project " + project + ")"
}
