// Package azremedy holds driftwatch's automatic fixes for Azure resources:
// remediation.Actions built on the Azure SDK's ARM clients that the Azure
// function runs with its managed identity after a person approved them (or
// in auto mode).
//
// Every action
//   - declares the exact Azure RBAC actions its requests need (Permissions):
//     the function's custom least-privilege role is generated from them, and
//     a per-call policy on the action's own ARM clients refuses any request
//     it did not declare, so the declaration cannot fall behind the code;
//   - plans from the live document the fetcher just read (dry run, no call);
//   - applies against the live state: it re-reads what it changes, changes it
//     only when needed (idempotent) and snapshots exactly what it changed;
//   - leaves the resource as it was when it fails part way;
//   - undoes from its snapshot, idempotently (a failed Undo can be retried),
//     except the changes Azure itself cannot revert (Irreversible), whose
//     Undo fails with ErrIrreversible.
package azremedy

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"reflect"
	"slices"
	"strings"
	"sync"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/arm"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"

	"github.com/driftwatch/driftwatch/shared/azres"
	"github.com/driftwatch/driftwatch/shared/remediation"
)

// The names rules use for the actions of this package (remediation.action).
const (
	StorageDisablePublicBlobAccess = "azure_storage_disable_public_blob_access"
	StorageRequireHTTPS            = "azure_storage_require_https"
	StorageMinTLS12                = "azure_storage_min_tls_1_2"
	NSGDeleteInternetRule          = "azure_nsg_delete_internet_rule"
	SQLDeleteAllowAllFirewallRule  = "azure_sql_delete_allow_all_firewall_rule"
	KeyVaultEnablePurgeProtection  = "azure_keyvault_enable_purge_protection"
)

// The resource provider namespaces of the ARM SDK packages the actions use.
// They key Options.Transports for all the clients of one package.
const (
	ProviderStorage  = "Microsoft.Storage"  // armstorage
	ProviderNetwork  = "Microsoft.Network"  // armnetwork
	ProviderSQL      = "Microsoft.Sql"      // armsql
	ProviderKeyVault = "Microsoft.KeyVault" // armkeyvault
)

// Irreversible lists, sorted, the actions whose change Azure itself cannot
// revert: their Undo fails with ErrIrreversible and their Plan says
// "irreversible". Governance must treat them as high risk (two approvers,
// never automatic): feed this list to the policy's high_risk_actions.
func Irreversible() []string {
	return slices.Sorted(maps.Keys(irreversible()))
}

// irreversible maps each irreversible action to why.
func irreversible() map[string]string {
	return map[string]string{
		KeyVaultEnablePurgeProtection: "Azure does not allow purge protection to be turned off once it is on " +
			"(nor soft delete, which it requires): deleted keys, secrets and certificates, and the vault itself, " +
			"stay recoverable and unpurgeable for the whole retention period",
	}
}

// Options configures the actions. The zero value is usable.
type Options struct {
	// ClientOptions are the ARM client options every client starts from
	// (cloud, retries, logging, transport, extra policies). The actions
	// add their own per-call policy first and always disable resource
	// provider registration: the resources they fix exist, so their
	// provider is registered, and registering one needs a permission the
	// remediation role does not have.
	ClientOptions arm.ClientOptions
	// Transports replace ClientOptions.Transport for some clients, as in
	// azfetch.Options: a key is an SDK client type name
	// ("SecurityRulesClient") or, for every client of one SDK package, its
	// resource provider namespace (ProviderNetwork); the client name wins.
	// Tests plug the SDK's fake server transports in here: a package's
	// fake.NewServerFactoryTransport under its provider, or one
	// fake.NewXServerTransport under its client.
	Transports map[string]policy.Transporter
	// Subscriptions, when not empty, are the only subscriptions (GUIDs,
	// any case) the actions act in: a target or snapshot of another
	// subscription is refused.
	Subscriptions []string
	// Logger receives one record per change an action makes. Defaults to
	// discarding.
	Logger *slog.Logger
}

// New returns every action of the package, authenticating with cred. Each
// action builds its own ARM clients (one per subscription, on first use)
// carrying a policy that refuses the requests the action does not declare.
func New(cred azcore.TokenCredential, opts *Options) (remediation.Catalog, error) {
	if cred == nil {
		return nil, errors.New("azremedy: no token credential")
	}
	var o Options
	if opts != nil {
		o = *opts
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	for i, s := range o.Subscriptions {
		if s = strings.TrimSpace(s); s == "" || strings.ContainsAny(s, "/ ") {
			return nil, fmt.Errorf("azremedy: Subscriptions[%d] = %q is not a subscription id", i, o.Subscriptions[i])
		}
	}
	known := map[string]bool{}
	for _, op := range operations() {
		known[op.provider], known[op.client] = true, true
	}
	for k := range o.Transports {
		if !known[k] {
			return nil, fmt.Errorf("azremedy: Transports names %q, which is neither a provider nor a client the actions use", k)
		}
	}
	b := &builder{cred: cred, opts: o}
	return remediation.NewCatalog(
		storageDisablePublicBlobAccess(b),
		storageRequireHTTPS(b),
		storageMinTLS12(b),
		nsgDeleteInternetRule(b),
		sqlDeleteAllowAllFirewallRule(b),
		keyVaultEnablePurgeProtection(b),
	)
}

// builder makes the ARM clients of one action: options whose policy allows
// exactly that action's permissions.
type builder struct {
	cred azcore.TokenCredential
	opts Options
}

// clientOptions returns the options of one action's client.
func (b *builder) clientOptions(name, provider, client string, perms []string) *arm.ClientOptions {
	o := b.opts.ClientOptions.Clone()
	if t, ok := b.opts.Transports[client]; ok {
		o.Transport = t
	} else if t, ok := b.opts.Transports[provider]; ok {
		o.Transport = t
	}
	o.DisableRPRegistration = true
	o.PerCallPolicies = append([]policy.Policy{newDeclaredOnly(name, perms)}, o.PerCallPolicies...)
	return o
}

// clients builds one client per subscription on first use; newClient is the
// SDK constructor (armstorage.NewAccountsClient, ...).
func clients[C, K any](b *builder, name, provider, client string, perms []string,
	newClient func(subscriptionID string, cred azcore.TokenCredential, o *arm.ClientOptions) (K, error), as func(K) C) *perSubscription[C] {
	o := b.clientOptions(name, provider, client, perms)
	return &perSubscription[C]{m: map[string]C{}, build: func(sub string) (C, error) {
		k, err := newClient(sub, b.cred, o)
		if err != nil {
			var zero C
			return zero, fmt.Errorf("%s: build the ARM client: %w", name, err)
		}
		return as(k), nil
	}}
}

// perSubscription holds one client per subscription: ARM clients are bound
// to the subscription they are built for.
type perSubscription[C any] struct {
	mu    sync.Mutex
	m     map[string]C
	build func(subscription string) (C, error)
}

func (p *perSubscription[C]) get(subscription string) (C, error) {
	key := strings.ToLower(subscription)
	p.mu.Lock()
	defer p.mu.Unlock()
	if c, ok := p.m[key]; ok {
		return c, nil
	}
	c, err := p.build(subscription)
	if err != nil {
		return c, err
	}
	p.m[key] = c
	return c, nil
}

// loc names the resource an action changes, as the ARM APIs take it. It is
// recorded in every snapshot, so Undo knows what to restore even when the
// resource can no longer be read, and refuses a snapshot of another
// resource.
type loc struct {
	// ID is the resource's ARM id.
	ID            string `json:"id"`
	Subscription  string `json:"subscription"`
	ResourceGroup string `json:"resource_group"`
	Name          string `json:"name"`
}

func (l loc) String() string { return l.ID }

// parseLoc reads an ARM id of a top-level resource of type typ (all the
// resources of this package are one level below their resource group).
func parseLoc(id, typ string) (loc, error) {
	rid, err := arm.ParseResourceID(strings.TrimSuffix(strings.TrimSpace(id), "/"))
	if err != nil {
		return loc{}, err
	}
	rt, err := arm.ParseResourceType(typ)
	if err != nil {
		return loc{}, err
	}
	if err := rid.ValidateResourceTypeChain([]arm.ResourceType{arm.TenantResourceType, arm.SubscriptionResourceType, arm.ResourceGroupResourceType, rt}); err != nil {
		return loc{}, fmt.Errorf("%q is not the id of a %s: %w", id, typ, err)
	}
	if rid.SubscriptionID == "" || rid.ResourceGroupName == "" || rid.Name == "" {
		return loc{}, fmt.Errorf("%q names no subscription, resource group or name", id)
	}
	return loc{ID: rid.String(), Subscription: rid.SubscriptionID, ResourceGroup: rid.ResourceGroupName, Name: rid.Name}, nil
}

// snapshot is what Apply returns and Undo reads back
// (remediation.Snapshot): the resource, whether anything changed, and the
// state before the change.
type snapshot[S any] = remediation.Snapshot[loc, S]

// action is the shape every fix of this package shares: D is the azres
// document it reads, S the before-state it snapshots, C the consumer
// interface of the SDK calls it makes. The fix-specific parts are the
// functions.
type action[D, S, C any] struct {
	name, resourceType string
	// provider and client name the SDK client type behind C (for the
	// permission tests): its methods' API names are client + "." + method.
	provider, client string
	perms            []string
	opts             *Options
	clients          *perSubscription[C]

	// docID returns the ARM id in the document.
	docID func(d *D) string
	// plan says what apply would change, from the document alone.
	plan func(d *D) (remediation.Plan, error)
	// apply re-reads the live state, changes it when needed and returns
	// the state before, with whether it changed anything. On error it has
	// restored whatever it had changed.
	apply func(ctx context.Context, c C, l loc) (before S, changed bool, err error)
	// undo restores before; it is idempotent.
	undo func(ctx context.Context, c C, l loc, before S) error
}

var _ remediation.Action = (*action[azres.StorageAccount, bool, any])(nil)

// Name implements remediation.Action.
func (a *action[D, S, C]) Name() string { return a.name }

// ResourceType implements remediation.Action.
func (a *action[D, S, C]) ResourceType() string { return a.resourceType }

// Permissions implements remediation.Action.
func (a *action[D, S, C]) Permissions() []string { return slices.Clone(a.perms) }

// api reports the provider, SDK client type and consumer interface the
// action calls through, so a test can check Permissions against the
// methods.
func (a *action[D, S, C]) api() (provider, client string, iface reflect.Type) {
	return a.provider, a.client, reflect.TypeFor[C]()
}

// doc returns the target's document as a *D, or nil when it carries none.
func (a *action[D, S, C]) doc(t remediation.Target) (*D, error) {
	if t.Ref.Type != "" && !strings.EqualFold(t.Ref.Type, a.resourceType) {
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
	if err := a.allowed(l); err != nil {
		return loc{}, fmt.Errorf("%w: %s: %w", ErrInvalidTarget, a.name, err)
	}
	return l, nil
}

// allowed refuses a resource outside Options.Subscriptions.
func (a *action[D, S, C]) allowed(l loc) error {
	if len(a.opts.Subscriptions) == 0 || slices.ContainsFunc(a.opts.Subscriptions, func(s string) bool { return strings.EqualFold(strings.TrimSpace(s), l.Subscription) }) {
		return nil
	}
	return fmt.Errorf("%s is in subscription %s, which is not one of the subscriptions these actions act in", l, l.Subscription)
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
	p, err := a.plan(d)
	if err == nil && !p.Noop {
		if why, ok := irreversible()[a.name]; ok {
			p.Change += ". This is irreversible: " + why
		}
	}
	return p, err
}

// Apply implements remediation.Action.
func (a *action[D, S, C]) Apply(ctx context.Context, t remediation.Target) (json.RawMessage, error) {
	l, err := a.locate(t)
	if err != nil {
		return nil, err
	}
	c, err := a.clients.get(l.Subscription)
	if err != nil {
		return nil, err
	}
	before, changed, err := a.apply(ctx, c, l)
	if err != nil {
		return nil, fmt.Errorf("%s on %s: %w", a.name, l, translate(err))
	}
	snap, err := json.Marshal(snapshot[S]{Action: a.name, Resource: l, Changed: changed, Before: before})
	if err != nil {
		// Only a bug can get here: S is always plain data.
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
	case azres.CanonicalID(l.ID) != azres.CanonicalID(s.Resource.ID):
		return fmt.Errorf("%w: %s: the snapshot is of %s, not of the target %s", ErrSnapshot, a.name, s.Resource, l)
	}
	if err := a.allowed(s.Resource); err != nil {
		return fmt.Errorf("%w: %s: %w", ErrSnapshot, a.name, err)
	}
	if !s.Changed {
		return nil
	}
	c, err := a.clients.get(s.Resource.Subscription)
	if err != nil {
		return err
	}
	if err := a.undo(ctx, c, s.Resource, s.Before); err != nil {
		return fmt.Errorf("undo %s on %s: %w", a.name, s.Resource, translate(err))
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
	s, err := remediation.ReadSnapshot[loc, S](raw, a.name)
	if err != nil {
		return s, fmt.Errorf("%w: %s: %v", ErrSnapshot, a.name, err)
	}
	l, err := parseLoc(s.Resource.ID, a.resourceType)
	if err != nil {
		return s, fmt.Errorf("%w: %s: the snapshot names no %s: %v", ErrSnapshot, a.name, a.resourceType, err)
	}
	if l != s.Resource {
		return s, fmt.Errorf("%w: %s: the snapshot's resource fields disagree with its id %s", ErrSnapshot, a.name, s.Resource.ID)
	}
	return s, nil
}

// plural formats "1 rule" / "2 rules".
func plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return fmt.Sprint(n, " ", many)
}

// label names a resource for people: "name (resource group rg)".
func label(name, group string) string {
	if group == "" {
		return name
	}
	return name + " (resource group " + group + ")"
}

// deref returns *p, or the zero value for nil (the ARM models are all
// pointers).
func deref[T any](p *T) T {
	if p == nil {
		var zero T
		return zero
	}
	return *p
}
