package gcpfunc

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/driftwatch/driftwatch/shared/jwks"
)

// Authenticator decides whether a request comes from the configured
// sender. The Server calls it before it reads the body; an error wrapping
// ErrKeysUnavailable is answered 503 (the request may be genuine: Pub/Sub
// redelivers it), any other error 401. Implementations never put the
// credential in the error.
type Authenticator interface {
	Authenticate(r *http.Request) error
}

// Authentication errors. Branch with errors.Is.
var (
	// ErrUnauthenticated: the request carries no valid credential.
	ErrUnauthenticated = errors.New("request not authenticated")
	// ErrKeysUnavailable: the token's signing keys could not be fetched,
	// so a token cannot be checked right now.
	ErrKeysUnavailable = jwks.ErrUnavailable
)

// GoogleIssuers are the issuers of Google's OIDC ID tokens; Google's
// documentation for verifying push tokens accepts both spellings.
var GoogleIssuers = []string{"https://accounts.google.com", "accounts.google.com"}

// Verifier defaults.
const (
	// DefaultSkew is the clock skew tolerated on exp, iat and nbf.
	DefaultSkew = time.Minute
	// maxToken bounds the bearer token parsed; Google ID tokens are
	// about one kilobyte.
	maxToken = 16 << 10
)

// VerifierOptions tune a PushVerifier. The zero value is usable.
type VerifierOptions struct {
	// Skew is DefaultSkew when zero.
	Skew time.Duration
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// PushClaims are the claims a PushVerifier checks and returns.
type PushClaims struct {
	jwt.RegisteredClaims
	// Email is the service account the push subscription's OIDC token
	// is issued for (its push_config.oidc_token.service_account_email).
	Email         string `json:"email"`
	EmailVerified bool   `json:"email_verified"`
}

// PushVerifier authenticates a Pub/Sub push request (or an Eventarc
// trigger's, which is a push subscription) by the OIDC ID token Pub/Sub
// attaches: Authorization: Bearer <JWT>, signed by Google, for the
// subscription's audience, on behalf of its service account.
type PushVerifier struct {
	keys           *KeySet
	audience       string
	serviceAccount string
	parser         *jwt.Parser
}

// NewPushVerifier accepts RS256 tokens signed by a key of keys (see
// GoogleCertsURL), issued by Google (GoogleIssuers), for audience (the
// push endpoint URL, or the subscription's custom audience), whose email
// is serviceAccount and is verified.
func NewPushVerifier(keys *KeySet, audience, serviceAccount string, opts *VerifierOptions) (*PushVerifier, error) {
	switch {
	case keys == nil:
		return nil, errors.New("gcpfunc: push verifier without a key set")
	case audience == "":
		return nil, errors.New("gcpfunc: push verifier without an audience")
	case !strings.Contains(serviceAccount, "@"):
		return nil, fmt.Errorf("gcpfunc: push verifier service account %q is not an email address", serviceAccount)
	}
	var o VerifierOptions
	if opts != nil {
		o = *opts
	}
	if o.Skew <= 0 {
		o.Skew = DefaultSkew
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return &PushVerifier{
		keys: keys, audience: audience, serviceAccount: serviceAccount,
		parser: jwt.NewParser(
			jwt.WithValidMethods([]string{"RS256"}),
			jwt.WithAudience(audience),
			jwt.WithExpirationRequired(),
			jwt.WithIssuedAt(),
			jwt.WithLeeway(o.Skew),
			jwt.WithTimeFunc(o.Now),
		),
	}, nil
}

// Authenticate requires one Authorization header "Bearer <token>" whose
// token Verify accepts.
func (v *PushVerifier) Authenticate(r *http.Request) error {
	token, err := jwks.BearerToken(r)
	if err != nil {
		return fmt.Errorf("%w: %v", ErrUnauthenticated, err)
	}
	_, err = v.Verify(r.Context(), token)
	return err
}

// Verify checks a token: at most 16 KiB; RS256 only (no "none", no HMAC
// with the public key); a kid naming a key of the key set; a valid
// signature; exp present and not past, iat present and not future, nbf
// not future (all with the skew); aud the audience; iss Google; email the
// service account (without regard to case) and email_verified true. The
// error wraps ErrUnauthenticated, or ErrKeysUnavailable when the keys
// could not be fetched; it never quotes the token.
func (v *PushVerifier) Verify(ctx context.Context, token string) (*PushClaims, error) {
	if len(token) > maxToken {
		return nil, fmt.Errorf("%w: token of %d bytes", ErrUnauthenticated, len(token))
	}
	claims := &PushClaims{}
	_, err := v.parser.ParseWithClaims(token, claims, v.keys.Keyfunc(ctx))
	switch {
	case errors.Is(err, ErrKeysUnavailable):
		return nil, err
	case err != nil:
		return nil, fmt.Errorf("%w: %v", ErrUnauthenticated, err)
	case claims.IssuedAt == nil:
		return nil, fmt.Errorf("%w: token has no iat", ErrUnauthenticated)
	case !slices.Contains(GoogleIssuers, claims.Issuer):
		return nil, fmt.Errorf("%w: issuer %q not accepted", ErrUnauthenticated, truncate(claims.Issuer, 120))
	case !strings.EqualFold(claims.Email, v.serviceAccount):
		return nil, fmt.Errorf("%w: email %q is not the push service account", ErrUnauthenticated, truncate(claims.Email, 120))
	case !claims.EmailVerified:
		return nil, fmt.Errorf("%w: email %q not verified", ErrUnauthenticated, truncate(claims.Email, 120))
	}
	return claims, nil
}
