// Package azfetch reads the live configuration of one Azure resource at a
// time through the ARM SDK clients and returns it as an azres document.
//
// Events arrive late, twice and out of order, so driftwatch never trusts an
// event's payload for state: it re-reads the resource the event names. The
// reads of one resource run concurrently, so a fetch costs about one ARM
// round trip whatever the number of settings read.
//
// Every reader depends on a small interface listing only the SDK methods it
// calls, and every such method is declared with its RBAC action in
// Permissions, from which the detector's custom read-only role is
// generated. A per-call policy on every client refuses a call the list does
// not declare, or whose request ARM would authorise with another action, so
// the list cannot silently fall behind the code.
package azfetch

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"strings"
	"sync"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/arm"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/keyvault/armkeyvault"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/monitor/armmonitor"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/network/armnetwork/v6"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/sql/armsql"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/storage/armstorage"

	"github.com/driftwatch/driftwatch/shared/azres"
	"github.com/driftwatch/driftwatch/shared/change"
	"github.com/driftwatch/driftwatch/shared/resource"
)

// Options configures a Fetcher. The zero value is usable.
type Options struct {
	// ClientOptions is the base of every ARM client: cloud, retries,
	// logging, transport. The Fetcher always sets DisableRPRegistration:
	// registering a resource provider is a write the read-only role may not
	// do, and a provider that is not registered has no resources to read.
	ClientOptions arm.ClientOptions
	// Transports overrides ClientOptions.Transport for some clients. A key
	// is an SDK client type name ("FirewallRulesClient") or, for every
	// client of one SDK package, its resource provider namespace
	// (ProviderSQL); the client name wins. Tests plug the SDK's fake server
	// transports in here: a package's fake.NewServerFactoryTransport under
	// its provider, or one fake.NewXServerTransport under its client.
	Transports map[string]policy.Transporter
	// Now returns the current time; ObservedAt is taken from it. Defaults to
	// time.Now.
	Now func() time.Time
	// Logger receives debug records of each fetch. Defaults to discarding.
	Logger *slog.Logger
}

// Fetcher reads Azure resources. It implements resource.Fetcher and is safe
// for concurrent use. Its SDK clients are built on first use, one per
// subscription (ARM clients are bound to one).
type Fetcher struct {
	cred azcore.TokenCredential
	opts Options

	accounts       *perSubscription[accountsAPI]
	securityGroups *perSubscription[securityGroupsAPI]
	sqlServers     *perSubscription[sqlServersAPI]
	firewallRules  *perSubscription[firewallRulesAPI]
	auditing       *perSubscription[auditingAPI]
	databases      *perSubscription[databasesAPI]
	tde            *perSubscription[tdeAPI]
	vaults         *perSubscription[vaultsAPI]
	// diagnostics is not bound to a subscription: it takes a scope.
	diagnostics func() (diagnosticSettingsAPI, error)
}

var _ resource.Fetcher = (*Fetcher)(nil)

// New returns a Fetcher that reads with cred. Clients are created lazily,
// each with a per-call policy that refuses operations not declared in
// Permissions.
func New(cred azcore.TokenCredential, opts *Options) *Fetcher {
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
	f := &Fetcher{cred: cred, opts: o}
	f.accounts = newPerSubscription[accountsAPI](func(sub string) (*armstorage.AccountsClient, error) {
		return armstorage.NewAccountsClient(sub, cred, f.clientOptions(ProviderStorage, "AccountsClient"))
	})
	f.securityGroups = newPerSubscription[securityGroupsAPI](func(sub string) (*armnetwork.SecurityGroupsClient, error) {
		return armnetwork.NewSecurityGroupsClient(sub, cred, f.clientOptions(ProviderNetwork, "SecurityGroupsClient"))
	})
	f.sqlServers = newPerSubscription[sqlServersAPI](func(sub string) (*armsql.ServersClient, error) {
		return armsql.NewServersClient(sub, cred, f.clientOptions(ProviderSQL, "ServersClient"))
	})
	f.firewallRules = newPerSubscription[firewallRulesAPI](func(sub string) (*armsql.FirewallRulesClient, error) {
		return armsql.NewFirewallRulesClient(sub, cred, f.clientOptions(ProviderSQL, "FirewallRulesClient"))
	})
	f.auditing = newPerSubscription[auditingAPI](func(sub string) (*armsql.ServerBlobAuditingPoliciesClient, error) {
		return armsql.NewServerBlobAuditingPoliciesClient(sub, cred, f.clientOptions(ProviderSQL, "ServerBlobAuditingPoliciesClient"))
	})
	f.databases = newPerSubscription[databasesAPI](func(sub string) (*armsql.DatabasesClient, error) {
		return armsql.NewDatabasesClient(sub, cred, f.clientOptions(ProviderSQL, "DatabasesClient"))
	})
	f.tde = newPerSubscription[tdeAPI](func(sub string) (*armsql.TransparentDataEncryptionsClient, error) {
		return armsql.NewTransparentDataEncryptionsClient(sub, cred, f.clientOptions(ProviderSQL, "TransparentDataEncryptionsClient"))
	})
	f.vaults = newPerSubscription[vaultsAPI](func(sub string) (*armkeyvault.VaultsClient, error) {
		return armkeyvault.NewVaultsClient(sub, cred, f.clientOptions(ProviderKeyVault, "VaultsClient"))
	})
	f.diagnostics = sync.OnceValues(func() (diagnosticSettingsAPI, error) {
		return orNil[diagnosticSettingsAPI](armmonitor.NewDiagnosticSettingsClient(cred, f.clientOptions(ProviderInsights, "DiagnosticSettingsClient")))
	})
	return f
}

// clientOptions returns the options of one client: the base options, the
// client's transport, no resource provider registration, and the
// declared-operations policy.
func (f *Fetcher) clientOptions(provider, client string) *arm.ClientOptions {
	o := f.opts.ClientOptions
	o.DisableRPRegistration = true
	if t, ok := f.opts.Transports[client]; ok {
		o.Transport = t
	} else if t, ok := f.opts.Transports[provider]; ok {
		o.Transport = t
	}
	// A fresh slice: appending to the caller's could race between clients.
	o.PerCallPolicies = append(append([]policy.Policy(nil), o.PerCallPolicies...), newDeclaredOnly(client))
	return &o
}

// target is a resolved reference: what to read, where.
type target struct {
	typ string
	// id is the canonical ARM id the reference names.
	id            string
	subscription  string
	resourceGroup string
	name          string
	// parent is the SQL server of a database.
	parent string
}

// observation is what a reader found.
type observation struct {
	// id, name and region fill the returned Ref.
	id, name, region string
	tags             map[string]string
	doc              any
}

// Fetch reads the live configuration of the resource ref names. ref.ID is
// an ARM resource id (any case; azres.CanonicalID form is what events
// carry); for TypeSubscription it is /subscriptions/<id>, or empty with
// ref.Account set. A missing resource is a result (Exists=false), not an
// error. Errors wrap resource.ErrAccessDenied, resource.ErrUnsupportedType,
// ErrInvalidRef, ErrInvalidPortRange, or are retryable (IsRetryable).
func (f *Fetcher) Fetch(ctx context.Context, ref change.ResourceRef) (resource.Resource, error) {
	started := f.opts.Now()
	if ref.Cloud != "" && ref.Cloud != change.Azure {
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
	err = translate(err)
	out := resource.Resource{Ref: ref, ObservedAt: started}
	out.Ref.Cloud = change.Azure
	out.Ref.Account = t.subscription
	switch {
	case errors.Is(err, errNotFound):
		out.Ref.ID = t.id
		out.Ref.Name = firstNonEmpty(ref.Name, t.name)
	case err != nil:
		return resource.Resource{}, fmt.Errorf("fetch %s %s: %w", ref.Type, t.id, err)
	default:
		out.Exists = true
		out.Ref.ID, out.Ref.Name, out.Ref.Region = obs.id, obs.name, obs.region
		out.Tags = maps.Clone(obs.tags)
		out.Doc = obs.doc
	}
	f.opts.Logger.LogAttrs(ctx, slog.LevelDebug, "resource fetched",
		slog.String("cloud", string(change.Azure)), slog.String("resource_type", ref.Type),
		slog.String("resource_id", out.Ref.ID), slog.Bool("exists", out.Exists),
		slog.Duration("elapsed", f.opts.Now().Sub(started)))
	return out, nil
}

type readFunc func(ctx context.Context, t target) (observation, error)

func (f *Fetcher) reader(typ string) (readFunc, bool) {
	switch typ {
	case azres.TypeStorageAccount:
		return f.fetchStorageAccount, true
	case azres.TypeNSG:
		return f.fetchNSG, true
	case azres.TypeSQLServer:
		return f.fetchSQLServer, true
	case azres.TypeSQLDatabase:
		return f.fetchSQLDatabase, true
	case azres.TypeKeyVault:
		return f.fetchKeyVault, true
	case azres.TypeSubscription:
		return f.fetchSubscription, true
	}
	return nil, false
}

// resolve parses the reference's ARM id. The id decides what is read;
// ref.Name is for people and ref.Account, when set, must agree with it.
func resolve(ref change.ResourceRef) (target, error) {
	t := target{typ: ref.Type}
	if ref.Type == azres.TypeSubscription && ref.ID == "" {
		if ref.Account == "" || strings.ContainsAny(ref.Account, "/ ") {
			return target{}, fmt.Errorf("%w: a subscription reference needs an id or an account, got account %q", ErrInvalidRef, ref.Account)
		}
		t.subscription = strings.ToLower(ref.Account)
		t.id, t.name = azres.SubscriptionID(t.subscription), t.subscription
		return t, nil
	}
	if ref.ID == "" {
		return target{}, fmt.Errorf("%w: no id", ErrInvalidRef)
	}
	rid, err := arm.ParseResourceID(ref.ID)
	if err != nil {
		return target{}, fmt.Errorf("%w: %w", ErrInvalidRef, err)
	}
	if !strings.EqualFold(rid.ResourceType.String(), ref.Type) {
		return target{}, fmt.Errorf("%w: id %q names a %s, not a %s", ErrInvalidRef, ref.ID, rid.ResourceType.String(), ref.Type)
	}
	t.id = azres.CanonicalID(rid.String())
	t.subscription = strings.ToLower(rid.SubscriptionID)
	t.resourceGroup, t.name = rid.ResourceGroupName, rid.Name
	if ref.Type == azres.TypeSubscription {
		t.name = t.subscription
	}
	if t.subscription == "" || t.name == "" || ref.Type != azres.TypeSubscription && t.resourceGroup == "" {
		return target{}, fmt.Errorf("%w: id %q lacks a subscription, resource group or name", ErrInvalidRef, ref.ID)
	}
	if ref.Type == azres.TypeSQLDatabase {
		t.parent = rid.Parent.Name
	}
	if ref.Account != "" && !strings.EqualFold(ref.Account, t.subscription) {
		return target{}, fmt.Errorf("%w: id %q is in subscription %s, the reference says %s", ErrInvalidRef, ref.ID, t.subscription, ref.Account)
	}
	return t, nil
}

// perSubscription builds one client per subscription on first use.
type perSubscription[C any] struct {
	mu    sync.Mutex
	m     map[string]C
	build func(sub string) (C, error)
}

// newPerSubscription takes the SDK constructor's result as is; orNil keeps
// a failed constructor's nil pointer out of the interface.
func newPerSubscription[C any, T any](ctor func(sub string) (T, error)) *perSubscription[C] {
	return &perSubscription[C]{m: map[string]C{}, build: func(sub string) (C, error) { return orNil[C](ctor(sub)) }}
}

// get returns the subscription's client. A constructor error (invalid
// options) is returned every time rather than cached: options do not change,
// but a later call still gets a clear error.
func (p *perSubscription[C]) get(sub string) (C, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if c, ok := p.m[sub]; ok {
		return c, nil
	}
	c, err := p.build(sub)
	if err != nil {
		var zero C
		return zero, fmt.Errorf("create ARM client: %w", err)
	}
	p.m[sub] = c
	return c, nil
}

// orNil converts an SDK client to the consumer interface C. The conversion
// is checked by the compile-time assertions next to each interface and by
// TestClientsImplementInterfaces.
func orNil[C any, T any](c T, err error) (C, error) {
	var zero C
	if err != nil {
		return zero, err
	}
	api, ok := any(c).(C)
	if !ok {
		return zero, fmt.Errorf("%T does not implement %T", c, (*C)(nil))
	}
	return api, nil
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

// deref returns *p, or the zero value for nil.
func deref[T any](p *T) T {
	if p == nil {
		var zero T
		return zero
	}
	return *p
}

// boolOr returns *p, or def when the API left the setting out: Azure
// documents a default for most unset booleans.
func boolOr(p *bool, def bool) bool {
	if p == nil {
		return def
	}
	return *p
}

// enumOr returns an SDK enum's string, or def when it is unset.
func enumOr[E ~string](p *E, def string) string {
	if p == nil {
		return def
	}
	return string(*p)
}

// tagMap converts ARM tags to a map. It never returns nil, so rules can
// index tags without a presence check on the map itself.
func tagMap(tags map[string]*string) map[string]string {
	m := make(map[string]string, len(tags))
	for k, v := range tags {
		m[k] = deref(v)
	}
	return m
}

// identity is the id, resource group and name a reader reports: the ones in
// the response when it has them (their case is the resource's own), else
// the reference's.
func identity(t target, id, name *string) (canonical, resourceGroup, displayName string) {
	canonical, resourceGroup, displayName = t.id, t.resourceGroup, firstNonEmpty(deref(name), t.name)
	if id == nil {
		return canonical, resourceGroup, displayName
	}
	if rid, err := arm.ParseResourceID(*id); err == nil {
		canonical = azres.CanonicalID(*id)
		resourceGroup = firstNonEmpty(rid.ResourceGroupName, resourceGroup)
	}
	return canonical, resourceGroup, displayName
}
