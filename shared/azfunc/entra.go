package azfunc

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/driftwatch/driftwatch/shared/jwks"
)

// Entra defaults.
const (
	// DefaultSkew is the clock skew tolerated on exp and nbf.
	DefaultSkew = time.Minute
	// DefaultKeyRefresh is how long fetched signing keys are used before
	// they are fetched again (Entra rolls its keys over without notice).
	DefaultKeyRefresh = jwks.DefaultRefresh
	// DefaultKeyMinRefresh bounds how often a token signed with an
	// unknown key id makes the key set fetch again.
	DefaultKeyMinRefresh = jwks.DefaultMinRefresh
	// maxToken bounds the Authorization header parsed; Entra access
	// tokens are a few kilobytes.
	maxToken = 16 << 10
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

// KeySetOptions tune a KeySet (jwks.Options).
type KeySetOptions = jwks.Options

// KeySet holds a provider's token signing keys (jwks.KeySet).
type KeySet = jwks.KeySet

// NewJWKS returns the key set of the JWKS document at jwksURL.
func NewJWKS(jwksURL string, opts *KeySetOptions) (*KeySet, error) { return jwks.New(jwksURL, opts) }

// DiscoverJWKS returns the key set listed by the OpenID Connect metadata
// document at metadataURL (EntraMetadataURL).
func DiscoverJWKS(metadataURL string, opts *KeySetOptions) (*KeySet, error) {
	return jwks.Discover(metadataURL, opts)
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
	token, err := jwks.BearerToken(r)
	if err != nil {
		return fmt.Errorf("%w: %v", ErrUnauthenticated, err)
	}
	_, err = v.Verify(r.Context(), token)
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
	_, err := v.parser.ParseWithClaims(token, claims, v.keys.Keyfunc(ctx))
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
