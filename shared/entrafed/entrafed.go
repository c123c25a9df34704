// Package entrafed gives a workload running in AWS a Microsoft Entra
// credential without any secret: AWS STS GetWebIdentityToken (IAM outbound
// identity federation) signs a short-lived JWT naming the workload's IAM
// role, and Entra exchanges it, as the client assertion of an application
// whose federated identity credential trusts that issuer and that role,
// for an access token of the application. It is the mirror image of
// awsfed (an Azure workload's Entra token exchanged for AWS credentials).
//
// The Slack interactivity function (shared/awsinteract) publishes approved
// Azure remediations to an Event Grid topic this way; any AWS function that
// must call an Azure data-plane API can use it the same way.
//
// # The two sides
//
// AWS: outbound identity federation enabled on the account (aws iam
// enable-outbound-web-identity-federation, which prints the issuer URL), and
// the role allowed sts:GetWebIdentityToken for Audience only:
//
//	{
//	  "Effect": "Allow",
//	  "Action": "sts:GetWebIdentityToken",
//	  "Resource": "*",
//	  "Condition": {
//	    "ForAllValues:StringEquals": {"sts:IdentityTokenAudience": "api://AzureADTokenExchange"},
//	    "Null": {"sts:IdentityTokenAudience": "false"},
//	    "StringEquals": {"sts:SigningAlgorithm": "RS256"},
//	    "NumericLessThanEquals": {"sts:DurationSeconds": 300}
//	  }
//	}
//
// Entra: an application (no secret, no certificate) with a federated
// identity credential whose issuer is the account's issuer URL, whose
// subject is the role's ARN (the token's sub for a role session) and whose
// audience is api://AzureADTokenExchange; the application is given the
// data-plane role it needs on the target resource.
//
// GetWebIdentityToken is not served by the STS global endpoint: the STS
// client must be regional (the AWS SDK for Go v2 is by default; Lambda sets
// AWS_REGION).
//
// # Caching
//
// azidentity asks for an assertion only when it needs a new Entra token
// (it caches the access token, about an hour, and refreshes it shortly
// before it expires); Assertions caches the AWS token as well, until
// RefreshWindow before it expires, so that a burst of refreshes (several
// scopes, a retried exchange) costs one STS call.
package entrafed

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/aws-sdk-go-v2/service/sts/types"
)

// What the AWS token is asked for. infra/aws grants sts:GetWebIdentityToken
// on exactly these conditions (shared/infratest checks the two agree).
const (
	// Audience is the aud of the AWS token: the audience Entra requires of
	// every federated identity credential's external token.
	Audience = "api://AzureADTokenExchange"
	// SigningAlgorithm is the JWT's alg: RS256, the algorithm every OpenID
	// Connect relying party supports (STS also offers ES384).
	SigningAlgorithm = "RS256"
	// TokenDuration is the lifetime asked for: the STS default and the
	// shortest that leaves room to cache. The token is only presented to
	// Entra, once per Entra token.
	TokenDuration = 5 * time.Minute
	// RefreshWindow is how long before its expiry a cached AWS token is
	// replaced: enough for the token request to Entra to arrive well before
	// the assertion expires, whatever the clock skew.
	RefreshWindow = time.Minute
)

// TokenAPI is the STS call the assertions come from (*sts.Client satisfies
// it).
type TokenAPI interface {
	GetWebIdentityToken(ctx context.Context, params *sts.GetWebIdentityTokenInput, optFns ...func(*sts.Options)) (*sts.GetWebIdentityTokenOutput, error)
}

// Assertions is a cached source of AWS web identity tokens for Audience,
// the client assertions of an Entra federated credential. It is safe for
// concurrent use: concurrent callers share one STS call.
type Assertions struct {
	client TokenAPI
	now    func() time.Time
	// sem serialises refreshes; a channel rather than a mutex so that a
	// waiting caller gives up when its context ends.
	sem chan struct{}
	// token and expires are guarded by sem.
	token   string
	expires time.Time
}

// NewAssertions returns assertions from client; now is the clock (nil
// means time.Now).
func NewAssertions(client TokenAPI, now func() time.Time) *Assertions {
	if now == nil {
		now = time.Now
	}
	return &Assertions{client: client, now: now, sem: make(chan struct{}, 1)}
}

// Assertion returns a web identity token valid for at least RefreshWindow,
// from the cache or a new one from STS. It is the getAssertion of
// azidentity.NewClientAssertionCredential. Errors never carry a token.
func (a *Assertions) Assertion(ctx context.Context) (string, error) {
	select {
	case a.sem <- struct{}{}:
	case <-ctx.Done():
		return "", fmt.Errorf("sts GetWebIdentityToken: %w", ctx.Err())
	}
	defer func() { <-a.sem }()
	if a.token != "" && a.now().Before(a.expires.Add(-RefreshWindow)) {
		return a.token, nil
	}
	start := a.now()
	out, err := a.client.GetWebIdentityToken(ctx, &sts.GetWebIdentityTokenInput{
		Audience:         []string{Audience},
		SigningAlgorithm: aws.String(SigningAlgorithm),
		DurationSeconds:  aws.Int32(int32(TokenDuration / time.Second)),
	})
	if err != nil {
		var disabled *types.OutboundWebIdentityFederationDisabledException
		if errors.As(err, &disabled) {
			return "", fmt.Errorf("sts GetWebIdentityToken: outbound identity federation is not enabled for the account (aws iam enable-outbound-web-identity-federation): %w", err)
		}
		return "", fmt.Errorf("sts GetWebIdentityToken: %w", err)
	}
	if out.WebIdentityToken == nil || strings.TrimSpace(*out.WebIdentityToken) == "" {
		return "", errors.New("sts GetWebIdentityToken: the response carries no token")
	}
	// Without an expiration, the token lives at most what was asked for,
	// counted from before the request.
	expires := start.Add(TokenDuration)
	if out.Expiration != nil && !out.Expiration.IsZero() {
		expires = *out.Expiration
	}
	a.token, a.expires = *out.WebIdentityToken, expires
	return a.token, nil
}

// Options tune NewCredential. The zero value is Azure's public cloud.
type Options struct {
	// ClientOptions are the credential's Azure SDK options: Cloud (its
	// ActiveDirectoryAuthorityHost), Transport, Retry.
	ClientOptions azcore.ClientOptions
	// DisableInstanceDiscovery skips Entra's instance metadata request
	// (to login.microsoft.com) for an authority host the SDK does not
	// know: a disconnected cloud, or a local fake in tests.
	DisableInstanceDiscovery bool
	// Now is the clock of the assertion cache; nil means time.Now.
	Now func() time.Time
}

// NewCredential returns the Entra credential of the application clientID
// of tenantID, authenticated by AWS web identity tokens from client. It
// does no I/O: the first GetToken fetches an assertion and exchanges it.
func NewCredential(tenantID, clientID string, client TokenAPI, opts *Options) (*azidentity.ClientAssertionCredential, error) {
	if client == nil {
		return nil, errors.New("entrafed: nil STS client")
	}
	var o Options
	if opts != nil {
		o = *opts
	}
	a := NewAssertions(client, o.Now)
	cred, err := azidentity.NewClientAssertionCredential(tenantID, clientID, a.Assertion, &azidentity.ClientAssertionCredentialOptions{
		ClientOptions:            o.ClientOptions,
		DisableInstanceDiscovery: o.DisableInstanceDiscovery,
	})
	if err != nil {
		return nil, fmt.Errorf("entra credential for application %s: %w", clientID, err)
	}
	return cred, nil
}
