package azfunc

import (
	"context"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/big"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// Entra defaults.
const (
	// DefaultSkew is the clock skew tolerated on exp and nbf.
	DefaultSkew = time.Minute
	// DefaultKeyRefresh is how long fetched signing keys are used before
	// they are fetched again (Entra rolls its keys over without notice).
	DefaultKeyRefresh = 24 * time.Hour
	// DefaultKeyMinRefresh bounds how often a token signed with an
	// unknown key id makes the key set fetch again, so that forged key
	// ids cannot turn every request into a fetch.
	DefaultKeyMinRefresh = time.Minute
	// maxToken bounds the Authorization header parsed; Entra access
	// tokens are a few kilobytes.
	maxToken = 16 << 10
	// maxKeyDoc bounds a fetched metadata or JWKS document.
	maxKeyDoc = 1 << 20
)

// EntraIssuers are the issuers of the access tokens Entra issues for a
// tenant: v1.0 (the default for an application registration, and what
// Event Grid's tokens are reported to be) and v2.0.
func EntraIssuers(tenantID string) []string {
	return []string{
		"https://sts.windows.net/" + tenantID + "/",
		"https://login.microsoftonline.com/" + tenantID + "/v2.0",
	}
}

// EntraMetadataURL is the OpenID Connect metadata document of a tenant;
// its jwks_uri lists the signing keys of both token versions.
func EntraMetadataURL(tenantID string) string {
	return "https://login.microsoftonline.com/" + tenantID + "/v2.0/.well-known/openid-configuration"
}

// KeySetOptions tune a KeySet. The zero value is usable.
type KeySetOptions struct {
	// HTTPClient fetches the documents; nil means a client with a 10 s
	// timeout.
	HTTPClient *http.Client
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Refresh is DefaultKeyRefresh when zero.
	Refresh time.Duration
	// MinRefresh is DefaultKeyMinRefresh when zero.
	MinRefresh time.Duration
	// Logger receives fetch failures; nil discards them.
	Logger *slog.Logger
}

// KeySet is an OpenID provider's RSA signing keys by key id, fetched from
// its JWKS document (directly, or through its metadata document's
// jwks_uri) on first use, cached, fetched again after Refresh, and fetched
// at once (at most every MinRefresh) when a token names a key id it does
// not know: that is how a key rollover is picked up. When a fetch fails the
// keys already held stay in use. It is safe for concurrent use; concurrent
// misses share one fetch.
type KeySet struct {
	jwksURL, metadataURL string
	client               *http.Client
	now                  func() time.Time
	refresh, minRefresh  time.Duration
	log                  *slog.Logger

	fetchMu sync.Mutex // one fetch at a time

	mu      sync.RWMutex
	keys    map[string]*rsa.PublicKey
	fetched time.Time // last successful fetch
	tried   time.Time // last attempt
	lastErr error
}

// NewJWKS returns the key set served at jwksURL (for Entra,
// https://login.microsoftonline.com/<tenant>/discovery/v2.0/keys).
func NewJWKS(jwksURL string, opts *KeySetOptions) (*KeySet, error) {
	if err := checkKeyURL(jwksURL); err != nil {
		return nil, fmt.Errorf("azfunc: JWKS URL: %w", err)
	}
	return newKeySet(jwksURL, "", opts), nil
}

// DiscoverJWKS returns the key set named by the jwks_uri of the OpenID
// metadata document at metadataURL (see EntraMetadataURL). The document is
// read at each fetch, so a moved jwks_uri is followed.
func DiscoverJWKS(metadataURL string, opts *KeySetOptions) (*KeySet, error) {
	if err := checkKeyURL(metadataURL); err != nil {
		return nil, fmt.Errorf("azfunc: OpenID metadata URL: %w", err)
	}
	return newKeySet("", metadataURL, opts), nil
}

func newKeySet(jwksURL, metadataURL string, opts *KeySetOptions) *KeySet {
	var o KeySetOptions
	if opts != nil {
		o = *opts
	}
	if o.HTTPClient == nil {
		o.HTTPClient = &http.Client{Timeout: 10 * time.Second}
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Refresh <= 0 {
		o.Refresh = DefaultKeyRefresh
	}
	if o.MinRefresh <= 0 {
		o.MinRefresh = DefaultKeyMinRefresh
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	return &KeySet{jwksURL: jwksURL, metadataURL: metadataURL, client: o.HTTPClient, now: o.Now,
		refresh: o.Refresh, minRefresh: o.MinRefresh, log: o.Logger}
}

// checkKeyURL accepts https URLs, and http only to a loopback address (a
// local test server): keys fetched in clear text could be anyone's.
func checkKeyURL(raw string) error {
	u, err := url.Parse(raw)
	if err != nil {
		return err
	}
	switch {
	case u.Host == "":
		return fmt.Errorf("%q has no host", raw)
	case u.Scheme == "https":
		return nil
	case u.Scheme == "http" && isLoopback(u.Hostname()):
		return nil
	}
	return fmt.Errorf("%q is not https", raw)
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// errUnknownKey: the token names a key id the provider does not list.
var errUnknownKey = errors.New("unknown signing key id")

// Key returns the public key with id kid. It fetches when the keys are
// older than Refresh or kid is unknown (at most every MinRefresh). The
// error wraps ErrKeysUnavailable when no keys could ever be fetched.
func (k *KeySet) Key(ctx context.Context, kid string) (*rsa.PublicKey, error) {
	k.mu.RLock()
	key, ok := k.keys[kid]
	fresh := !k.fetched.IsZero() && k.now().Sub(k.fetched) < k.refresh
	k.mu.RUnlock()
	if ok && fresh {
		return key, nil
	}
	k.update(ctx)
	k.mu.RLock()
	defer k.mu.RUnlock()
	if key, ok := k.keys[kid]; ok {
		return key, nil
	}
	if len(k.keys) == 0 {
		return nil, fmt.Errorf("%w: %v", ErrKeysUnavailable, k.lastErr)
	}
	return nil, fmt.Errorf("%w %q", errUnknownKey, truncate(kid, 80))
}

// update fetches the keys unless another caller did (or tried) within
// MinRefresh. Callers waiting on the lock find the result of the fetch in
// progress.
func (k *KeySet) update(ctx context.Context) {
	k.fetchMu.Lock()
	defer k.fetchMu.Unlock()
	now := k.now()
	k.mu.RLock()
	tried := k.tried
	k.mu.RUnlock()
	if !tried.IsZero() && now.Sub(tried) < k.minRefresh {
		return
	}
	keys, err := k.fetch(ctx)
	k.mu.Lock()
	defer k.mu.Unlock()
	if err != nil && ctx.Err() != nil {
		// The caller gave up, not the provider: let the next caller try.
		k.lastErr = err
		return
	}
	k.tried = now
	if err != nil {
		k.lastErr = err
		k.log.WarnContext(ctx, "fetching token signing keys failed", "err", err.Error(), "keys_held", len(k.keys))
		return
	}
	k.keys, k.fetched, k.lastErr = keys, now, nil
}

// fetch reads the JWKS document (through the metadata document when
// configured so).
func (k *KeySet) fetch(ctx context.Context) (map[string]*rsa.PublicKey, error) {
	jwksURL := k.jwksURL
	if k.metadataURL != "" {
		var meta struct {
			JWKSURI string `json:"jwks_uri"`
		}
		if err := k.getJSON(ctx, k.metadataURL, &meta); err != nil {
			return nil, fmt.Errorf("OpenID metadata: %w", err)
		}
		if err := checkKeyURL(meta.JWKSURI); err != nil {
			return nil, fmt.Errorf("OpenID metadata: jwks_uri: %w", err)
		}
		jwksURL = meta.JWKSURI
	}
	var doc struct {
		Keys []jwk `json:"keys"`
	}
	if err := k.getJSON(ctx, jwksURL, &doc); err != nil {
		return nil, fmt.Errorf("JWKS: %w", err)
	}
	keys := map[string]*rsa.PublicKey{}
	var skipped []string
	for _, j := range doc.Keys {
		pub, err := j.rsaKey()
		if err != nil {
			skipped = append(skipped, err.Error())
			continue
		}
		keys[j.Kid] = pub
	}
	if len(keys) == 0 {
		return nil, fmt.Errorf("JWKS at %s has no usable RSA signing key (%d keys: %s)", jwksURL, len(doc.Keys), strings.Join(skipped, "; "))
	}
	return keys, nil
}

func (k *KeySet) getJSON(ctx context.Context, u string, v any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return err
	}
	req.Header.Set("Accept", "application/json")
	resp, err := k.client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: status %d", u, resp.StatusCode)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxKeyDoc+1))
	if err != nil {
		return fmt.Errorf("GET %s: %w", u, err)
	}
	if len(body) > maxKeyDoc {
		return fmt.Errorf("GET %s: document larger than %d bytes", u, maxKeyDoc)
	}
	if err := json.Unmarshal(body, v); err != nil {
		return fmt.Errorf("GET %s: %w", u, err)
	}
	return nil
}

// jwk is the part of a JSON Web Key an RSA signature check needs.
type jwk struct {
	Kty string `json:"kty"`
	Use string `json:"use"`
	Alg string `json:"alg"`
	Kid string `json:"kid"`
	N   string `json:"n"`
	E   string `json:"e"`
}

// rsaKey accepts RSA keys for signatures (use "sig" or unset, alg RS256
// or unset) of at least 2048 bits with a sane public exponent.
func (j jwk) rsaKey() (*rsa.PublicKey, error) {
	switch {
	case j.Kid == "":
		return nil, errors.New("a key without kid")
	case j.Kty != "RSA":
		return nil, fmt.Errorf("key %q: kty %q", j.Kid, j.Kty)
	case j.Use != "" && j.Use != "sig":
		return nil, fmt.Errorf("key %q: use %q", j.Kid, j.Use)
	case j.Alg != "" && j.Alg != "RS256":
		return nil, fmt.Errorf("key %q: alg %q", j.Kid, j.Alg)
	}
	n, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(j.N, "="))
	if err != nil {
		return nil, fmt.Errorf("key %q: modulus: %v", j.Kid, err)
	}
	e, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(j.E, "="))
	if err != nil {
		return nil, fmt.Errorf("key %q: exponent: %v", j.Kid, err)
	}
	pub := &rsa.PublicKey{N: new(big.Int).SetBytes(n)}
	if pub.N.BitLen() < 2048 {
		return nil, fmt.Errorf("key %q: %d-bit modulus, want at least 2048", j.Kid, pub.N.BitLen())
	}
	exp := new(big.Int).SetBytes(e)
	if !exp.IsInt64() || exp.Int64() < 3 || exp.Int64() > 1<<31-1 || exp.Bit(0) == 0 {
		return nil, fmt.Errorf("key %q: invalid public exponent", j.Kid)
	}
	pub.E = int(exp.Int64())
	return pub, nil
}

// EntraOptions tune an EntraVerifier. The zero value is usable.
type EntraOptions struct {
	// RequiredRoles, when set, makes the token's roles claim contain one
	// of them. Event Grid's tokens carry the application role its service
	// principal was assigned on the webhook's application
	// (AzureEventGridSecureWebhookSubscriber in Microsoft's set-up
	// scripts); requiring it refuses tokens other clients obtained for the
	// same application.
	RequiredRoles []string
	// AllowedClients, when set, makes the token's client application
	// (appid in v1.0 tokens, azp in v2.0) one of them: EventGridAppID
	// for Event Grid's deliveries.
	AllowedClients []string
	// Skew is DefaultSkew when zero.
	Skew time.Duration
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// EntraClaims are the claims an EntraVerifier checks and returns.
type EntraClaims struct {
	jwt.RegisteredClaims
	Roles    []string `json:"roles,omitempty"`
	TenantID string   `json:"tid,omitempty"`
	// AppID (v1.0) or AuthorizedParty (v2.0) is the client application
	// the token was issued to.
	AppID           string `json:"appid,omitempty"`
	AuthorizedParty string `json:"azp,omitempty"`
	ObjectID        string `json:"oid,omitempty"`
}

// client is the application the token was issued to, in either version.
func (c *EntraClaims) client() string {
	if c.AppID != "" {
		return c.AppID
	}
	return c.AuthorizedParty
}

// EntraVerifier authenticates a request by its Entra (Azure AD) bearer
// token: the access token Event Grid obtains for the webhook's application
// when the event subscription uses Microsoft Entra authentication.
type EntraVerifier struct {
	keys      *KeySet
	issuers   []string
	audiences []string
	roles     []string
	clients   []string
	parser    *jwt.Parser
}

// NewEntraVerifier accepts RS256 tokens signed by a key of keys, issued by
// one of issuers (see EntraIssuers), for one of audiences (the webhook
// application's client id and/or application ID URI, as configured on the
// event subscription).
func NewEntraVerifier(keys *KeySet, issuers, audiences []string, opts *EntraOptions) (*EntraVerifier, error) {
	switch {
	case keys == nil:
		return nil, errors.New("azfunc: Entra verifier without a key set")
	case len(issuers) == 0 || slices.Contains(issuers, ""):
		return nil, errors.New("azfunc: Entra verifier without issuers")
	case len(audiences) == 0 || slices.Contains(audiences, ""):
		return nil, errors.New("azfunc: Entra verifier without audiences")
	}
	var o EntraOptions
	if opts != nil {
		o = *opts
	}
	if o.Skew <= 0 {
		o.Skew = DefaultSkew
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return &EntraVerifier{
		keys: keys, issuers: slices.Clone(issuers), audiences: slices.Clone(audiences), roles: slices.Clone(o.RequiredRoles), clients: slices.Clone(o.AllowedClients),
		parser: jwt.NewParser(
			jwt.WithValidMethods([]string{"RS256"}),
			jwt.WithAudience(audiences...),
			jwt.WithExpirationRequired(),
			jwt.WithLeeway(o.Skew),
			jwt.WithTimeFunc(o.Now),
		),
	}, nil
}

// Authenticate requires one Authorization header "Bearer <token>" whose
// token Verify accepts.
func (v *EntraVerifier) Authenticate(r *http.Request) error {
	hs := r.Header.Values("Authorization")
	if len(hs) != 1 {
		return fmt.Errorf("%w: %d Authorization headers, want one", ErrUnauthenticated, len(hs))
	}
	scheme, token, ok := strings.Cut(hs[0], " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") || token == "" {
		return fmt.Errorf("%w: Authorization is not a bearer token", ErrUnauthenticated)
	}
	_, err := v.Verify(r.Context(), token)
	return err
}

// Verify checks a token: at most 16 KiB; RS256 only (no "none", no HMAC
// with the public key); a kid naming a key of the key set; a valid
// signature; exp present and not past, nbf not future (both with the
// skew); aud one of the audiences; iss one of the issuers; and, when
// configured, a required role and an allowed client. The error wraps ErrUnauthenticated, or
// ErrKeysUnavailable when the keys could not be fetched.
func (v *EntraVerifier) Verify(ctx context.Context, token string) (*EntraClaims, error) {
	if len(token) > maxToken {
		return nil, fmt.Errorf("%w: token of %d bytes", ErrUnauthenticated, len(token))
	}
	claims := &EntraClaims{}
	_, err := v.parser.ParseWithClaims(token, claims, func(t *jwt.Token) (any, error) {
		kid, _ := t.Header["kid"].(string)
		if kid == "" {
			return nil, errors.New("token header has no kid")
		}
		return v.keys.Key(ctx, kid)
	})
	switch {
	case errors.Is(err, ErrKeysUnavailable):
		return nil, err
	case err != nil:
		return nil, fmt.Errorf("%w: %v", ErrUnauthenticated, err)
	case !slices.Contains(v.issuers, claims.Issuer):
		return nil, fmt.Errorf("%w: issuer %q not accepted", ErrUnauthenticated, truncate(claims.Issuer, 120))
	case len(v.roles) > 0 && !slices.ContainsFunc(claims.Roles, func(r string) bool { return slices.Contains(v.roles, r) }):
		return nil, fmt.Errorf("%w: token has none of the required roles", ErrUnauthenticated)
	case len(v.clients) > 0 && !slices.Contains(v.clients, claims.client()):
		return nil, fmt.Errorf("%w: client application %q not accepted", ErrUnauthenticated, truncate(claims.client(), 60))
	}
	return claims, nil
}
