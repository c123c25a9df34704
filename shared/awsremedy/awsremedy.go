// Package awsremedy holds driftwatch's automatic fixes for AWS resources:
// remediation.Actions built on aws-sdk-go-v2 that a remediator function runs
// after a person approved them (or in auto mode).
//
// Every action
//   - declares the exact IAM actions it calls (Permissions): the remediator's
//     least-privilege role is generated from them, and a middleware on the
//     action's own SDK clients refuses any call it did not declare, so the
//     declaration cannot fall behind the code;
//   - plans from the live document the fetcher just read (dry run, no call);
//   - applies against the live state: it re-reads what it changes, changes it
//     only when needed (idempotent) and snapshots exactly what it changed;
//   - leaves the resource as it was when it fails part way;
//   - undoes from its snapshot, idempotently (a failed Undo can be retried).
//
// Rules whose fix is not safe to automate name no action, or an action listed
// in GuidanceOnly with the reason.
package awsremedy

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"reflect"
	"slices"
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

	"github.com/driftwatch/driftwatch/shared/awsfetch"
	"github.com/driftwatch/driftwatch/shared/awsres"
	"github.com/driftwatch/driftwatch/shared/change"
	"github.com/driftwatch/driftwatch/shared/remediation"
)

// The names rules use for the actions of this package (remediation.action).
const (
	S3BlockPublicAccess               = "s3_block_public_access"
	S3AccountBlockPublicAccess        = "s3_account_block_public_access"
	S3ACLPrivate                      = "s3_acl_private"
	S3EnableVersioning                = "s3_enable_versioning"
	S3EnableDefaultEncryption         = "s3_enable_default_encryption"
	EC2RevokePublicIngress            = "ec2_revoke_public_ingress"
	EC2RevokeDefaultSGRules           = "ec2_revoke_default_sg_rules"
	EBSEnableDefaultEncryption        = "ebs_enable_default_encryption"
	CloudTrailStartLogging            = "cloudtrail_start_logging"
	CloudTrailEnableLogFileValidation = "cloudtrail_enable_log_file_validation"
	KMSEnableRotation                 = "kms_enable_rotation"
	IAMDeactivateAccessKey            = "iam_deactivate_access_key"
	IAMUpdatePasswordPolicy           = "iam_update_password_policy"
	RDSDisablePublicAccess            = "rds_disable_public_access"
	RDSEnableBackups                  = "rds_enable_backups"
)

// GuidanceOnly lists the action names rules refer to that this package
// deliberately does not automate, each with the reason. A rule naming one of
// them shows its guidance instead of a Remediate button.
func GuidanceOnly() map[string]string {
	return map[string]string{
		"s3_enable_access_logging": "server access logging needs a destination bucket in the same Region whose " +
			"policy lets logging.s3.amazonaws.com write, chosen by a person; creating or picking one " +
			"automatically could send logs to the wrong place or log a bucket into itself",
	}
}

// DefaultBackupRetentionDays is the retention rds_enable_backups sets when
// Options.BackupRetentionDays is zero: the 7 days the rule's guidance asks.
const DefaultBackupRetentionDays = 7

// AccessKeyUnusedAfter is how long an Active access key must have gone
// unused (since its last use, or since its creation when never used) for
// iam_deactivate_access_key to deactivate it. It is the threshold of the rule
// that names the action (aws_iam_user_access_key_unused_45d).
const AccessKeyUnusedAfter = 45 * 24 * time.Hour

// Options configures the actions. The zero value is usable.
type Options struct {
	// S3UsePathStyle addresses buckets in the URL path and the S3 Control
	// account in its x-amz-account-id header instead of in the host name.
	// Local emulators (moto) need it; AWS does not.
	S3UsePathStyle bool
	// AccountID is the account the credentials act in. When set, an action
	// refuses a target that names another account: the account-wide
	// settings (EBS encryption by default, the password policy) are
	// changed in the caller's own account whatever the target says.
	AccountID string
	// DefaultRegion is used for references that carry no Region and for the
	// global services (IAM, S3 Control). Defaults to the aws.Config's Region,
	// then us-east-1.
	DefaultRegion string
	// BackupRetentionDays is the backup retention period rds_enable_backups
	// sets, 1 to 35. Defaults to DefaultBackupRetentionDays.
	BackupRetentionDays int32
	// Now returns the current time, against which access keys are aged.
	// Defaults to time.Now.
	Now func() time.Time
	// Logger receives one record per change an action makes. Defaults to
	// discarding.
	Logger *slog.Logger
}

// New returns every action of the package, built on cfg's credentials. Each
// action gets its own SDK clients (one per Region, on first use) carrying a
// middleware that refuses the calls the action does not declare and
// translates errors (see IsRetryable).
func New(cfg aws.Config, opts *Options) (remediation.Catalog, error) {
	var o Options
	if opts != nil {
		o = *opts
	}
	if o.DefaultRegion == "" {
		o.DefaultRegion = cfg.Region
	}
	if o.DefaultRegion == "" {
		o.DefaultRegion = "us-east-1"
	}
	if o.BackupRetentionDays == 0 {
		o.BackupRetentionDays = DefaultBackupRetentionDays
	}
	if o.BackupRetentionDays < 1 || o.BackupRetentionDays > 35 {
		return nil, fmt.Errorf("awsremedy: backup retention of %d days is outside RDS's 1 to 35", o.BackupRetentionDays)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	b := &builder{cfg: cfg, opts: o}
	return remediation.NewCatalog(
		s3BlockPublicAccess(b),
		s3AccountBlockPublicAccess(b),
		s3ACLPrivate(b),
		s3EnableVersioning(b),
		s3EnableDefaultEncryption(b),
		ec2RevokePublicIngress(b),
		ec2RevokeDefaultSGRules(b),
		ebsEnableDefaultEncryption(b),
		cloudtrailStartLogging(b),
		cloudtrailEnableLogFileValidation(b),
		kmsEnableRotation(b),
		iamDeactivateAccessKey(b),
		iamUpdatePasswordPolicy(b),
		rdsDisablePublicAccess(b),
		rdsEnableBackups(b),
	)
}

// builder makes the SDK clients of one action: a copy of the configuration
// whose middleware allows exactly that action's permissions.
type builder struct {
	cfg  aws.Config
	opts Options
}

func (b *builder) config(name string, perms []string) aws.Config {
	cfg := b.cfg.Copy()
	cfg.APIOptions = append(cfg.APIOptions, declaredOnly(name, perms))
	return cfg
}

func (b *builder) s3(name string, perms []string) func(region string) *s3.Client {
	cfg := b.config(name, perms)
	return func(region string) *s3.Client {
		return s3.NewFromConfig(cfg, func(o *s3.Options) {
			o.Region = region
			o.UsePathStyle = b.opts.S3UsePathStyle
		})
	}
}

func (b *builder) s3control(name string, perms []string) func(region string) *s3control.Client {
	cfg := b.config(name, perms)
	return func(region string) *s3control.Client {
		return s3control.NewFromConfig(cfg, func(o *s3control.Options) {
			o.Region = region
			if b.opts.S3UsePathStyle {
				awsfetch.WithAccountInHeader(o)
			}
		})
	}
}

func (b *builder) ec2(name string, perms []string) func(region string) *ec2.Client {
	cfg := b.config(name, perms)
	return func(region string) *ec2.Client {
		return ec2.NewFromConfig(cfg, func(o *ec2.Options) { o.Region = region })
	}
}

func (b *builder) cloudtrail(name string, perms []string) func(region string) *cloudtrail.Client {
	cfg := b.config(name, perms)
	return func(region string) *cloudtrail.Client {
		return cloudtrail.NewFromConfig(cfg, func(o *cloudtrail.Options) { o.Region = region })
	}
}

func (b *builder) kms(name string, perms []string) func(region string) *kms.Client {
	cfg := b.config(name, perms)
	return func(region string) *kms.Client {
		return kms.NewFromConfig(cfg, func(o *kms.Options) { o.Region = region })
	}
}

func (b *builder) iam(name string, perms []string) func(region string) *iam.Client {
	cfg := b.config(name, perms)
	return func(region string) *iam.Client {
		return iam.NewFromConfig(cfg, func(o *iam.Options) { o.Region = region })
	}
}

func (b *builder) rds(name string, perms []string) func(region string) *rds.Client {
	cfg := b.config(name, perms)
	return func(region string) *rds.Client {
		return rds.NewFromConfig(cfg, func(o *rds.Options) { o.Region = region })
	}
}

// regional builds one client per Region on first use.
type regional[C any] struct {
	mu    sync.Mutex
	m     map[string]C
	build func(region string) C
}

func newRegional[C any, K any](build func(region string) K, as func(K) C) *regional[C] {
	return &regional[C]{m: map[string]C{}, build: func(region string) C { return as(build(region)) }}
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

// loc names the resource an action changes, as its API takes it. It is
// recorded in every snapshot, so Undo knows what to restore even when the
// resource can no longer be read, and refuses a snapshot of another
// resource.
type loc struct {
	// Name is the bucket name, security group id, trail ARN, key ARN, user
	// name, DB instance identifier or account id.
	Name    string `json:"name"`
	Region  string `json:"region,omitempty"`
	Account string `json:"account,omitempty"`
}

func (l loc) String() string {
	if l.Region == "" {
		return l.Name
	}
	return l.Name + " (" + l.Region + ")"
}

// snapshot is what Apply returns and Undo reads back: the resource, whether
// anything changed, and the state before the change.
type snapshot[S any] struct {
	Action   string `json:"action"`
	Resource loc    `json:"resource"`
	// Changed is false when Apply found the resource compliant and did
	// nothing; undoing such a snapshot makes no call.
	Changed bool `json:"changed"`
	Before  S    `json:"before"`
}

// action is the shape every fix of this package shares: D is the awsres
// document it reads, S the before-state it snapshots, C the consumer
// interface of the SDK calls it makes. The fix-specific parts are the
// functions.
type action[D, S, C any] struct {
	name, resourceType string
	// service is the SDK service id of C (for the permission tests).
	service string
	perms   []string
	opts    *Options
	clients *regional[C]

	// fromDoc names the resource from its document; fromRef from a
	// reference when there is no document (Undo of a resource that can no
	// longer be read).
	fromDoc func(d *D) loc
	fromRef func(ref change.ResourceRef, defaultRegion string) loc
	// plan says what apply would change, from the document alone.
	plan func(d *D) (remediation.Plan, error)
	// apply re-reads the live state, changes it when needed and returns
	// the state before, with whether it changed anything. On error it has
	// restored whatever it had changed.
	apply func(ctx context.Context, c C, l loc) (before S, changed bool, err error)
	// undo restores before; it is idempotent.
	undo func(ctx context.Context, c C, l loc, before S) error
}

var _ remediation.Action = (*action[awsres.S3Bucket, bool, any])(nil)

// Name implements remediation.Action.
func (a *action[D, S, C]) Name() string { return a.name }

// ResourceType implements remediation.Action.
func (a *action[D, S, C]) ResourceType() string { return a.resourceType }

// Permissions implements remediation.Action.
func (a *action[D, S, C]) Permissions() []string { return slices.Clone(a.perms) }

// api reports the SDK service and consumer interface the action calls
// through, so a test can check Permissions against the methods.
func (a *action[D, S, C]) api() (service string, iface reflect.Type) {
	return a.service, reflect.TypeFor[C]()
}

// doc returns the target's document as a *D, or nil when it carries none.
func (a *action[D, S, C]) doc(t remediation.Target) (*D, error) {
	if t.Ref.Type != "" && t.Ref.Type != a.resourceType {
		return nil, fmt.Errorf("%w: %s acts on %s, not %s", ErrInvalidTarget, a.name, a.resourceType, t.Ref.Type)
	}
	switch d := t.Doc.(type) {
	case nil:
		return nil, nil
	case *D:
		if d == nil {
			return nil, nil
		}
		return d, nil
	case D:
		return &d, nil
	default:
		return nil, fmt.Errorf("%w: %s needs a %v document, got %T", ErrInvalidTarget, a.name, reflect.TypeFor[*D](), t.Doc)
	}
}

// locate names the target's resource, from its document when it has one.
func (a *action[D, S, C]) locate(t remediation.Target) (loc, error) {
	d, err := a.doc(t)
	if err != nil {
		return loc{}, err
	}
	var l loc
	if d != nil {
		l = a.fromDoc(d)
	} else {
		l = a.fromRef(t.Ref, a.opts.DefaultRegion)
	}
	if l.Name == "" {
		return loc{}, fmt.Errorf("%w: %s: %w %s", ErrInvalidTarget, a.name, errUnnamed, a.resourceType)
	}
	if l.Region == "" {
		l.Region = a.opts.DefaultRegion
	}
	if acct := a.opts.AccountID; acct != "" && l.Account != "" && l.Account != acct {
		return loc{}, fmt.Errorf("%w: %s: the target is in account %s, but these credentials act in account %s", ErrInvalidTarget, a.name, l.Account, acct)
	}
	return l, nil
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
	before, changed, err := a.apply(ctx, a.clients.get(l.Region), l)
	if err != nil {
		return nil, fmt.Errorf("%s on %s: %w", a.name, l, err)
	}
	snap, err := json.Marshal(snapshot[S]{Action: a.name, Resource: l, Changed: changed, Before: before})
	if err != nil {
		// Only a bug can get here: S is always a plain struct.
		return nil, fmt.Errorf("%s on %s: encode snapshot: %w", a.name, l, err)
	}
	a.opts.Logger.LogAttrs(ctx, slog.LevelInfo, "remediation applied",
		slog.String("action", a.name), slog.String("resource_id", t.Ref.ID), slog.Bool("changed", changed))
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
	case !sameResource(l, s.Resource):
		return fmt.Errorf("%w: %s: the snapshot is of %s, not of the target %s", ErrSnapshot, a.name, s.Resource, l)
	}
	if acct := a.opts.AccountID; acct != "" && s.Resource.Account != "" && s.Resource.Account != acct {
		return fmt.Errorf("%w: %s: the snapshot is of account %s, but these credentials act in account %s", ErrSnapshot, a.name, s.Resource.Account, acct)
	}
	if !s.Changed {
		return nil
	}
	if err := a.undo(ctx, a.clients.get(s.Resource.Region), s.Resource, s.Before); err != nil {
		return fmt.Errorf("undo %s on %s: %w", a.name, s.Resource, err)
	}
	a.opts.Logger.LogAttrs(ctx, slog.LevelInfo, "remediation undone",
		slog.String("action", a.name), slog.String("resource_id", t.Ref.ID))
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
	var s snapshot[S]
	if err := remediation.DecodeSnapshot(raw, &s); err != nil {
		return s, fmt.Errorf("%w: %s: %v", ErrSnapshot, a.name, err)
	}
	switch {
	case s.Action != a.name:
		return s, fmt.Errorf("%w: %s: the snapshot is of action %q", ErrSnapshot, a.name, s.Action)
	case s.Resource.Name == "" || s.Resource.Region == "":
		return s, fmt.Errorf("%w: %s: the snapshot names no resource", ErrSnapshot, a.name)
	}
	return s, nil
}

// sameResource compares the names case-sensitively, as AWS does, and the
// Regions only when both are known.
func sameResource(a, b loc) bool {
	return a.Name == b.Name && (a.Region == "" || b.Region == "" || a.Region == b.Region) &&
		(a.Account == "" || b.Account == "" || a.Account == b.Account)
}

// regionOfARN returns the Region field of an ARN, or "".
func regionOfARN(s string) string {
	if p, err := arn.Parse(s); err == nil {
		return p.Region
	}
	return ""
}

// accountOfARN returns the account field of an ARN, or "".
func accountOfARN(s string) string {
	if p, err := arn.Parse(s); err == nil {
		return p.AccountID
	}
	return ""
}

func firstNonEmpty(s ...string) string {
	for _, v := range s {
		if v != "" {
			return v
		}
	}
	return ""
}

// refName returns the short name a reference carries: its Name, or the name
// inside its canonical id.
func refName(ref change.ResourceRef) string {
	if ref.ID != "" {
		return awsres.NameFromID(ref.Type, ref.ID)
	}
	return ref.Name
}

// plural formats "1 rule" / "2 rules".
func plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return fmt.Sprint(n, " ", many)
}

// joinAnd joins names as "a, b and c".
func joinAnd(s []string) string {
	switch len(s) {
	case 0:
		return ""
	case 1:
		return s[0]
	}
	return strings.Join(s[:len(s)-1], ", ") + " and " + s[len(s)-1]
}
