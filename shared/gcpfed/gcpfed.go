// Package gcpfed gives a workload running in AWS a Google Cloud access
// token without any secret, by Workload Identity Federation with an AWS
// provider: the workload signs (SigV4, with its own role's credentials) an
// STS GetCallerIdentity request for its region, without sending it; Google
// STS sends it to AWS, learns the caller's role from the answer, and, when
// the pool's AWS provider trusts that account and its attribute condition
// admits the role, returns a federated token; the IAM Credentials API
// exchanges that for an access token of a service account the pool's
// principal may impersonate (roles/iam.workloadIdentityUser). It is the
// GCP counterpart of entrafed.
//
// The Slack interactivity function (shared/awsinteract) publishes approved
// GCP remediations to a Pub/Sub topic this way, as a service account that
// may only publish to that topic (roles/pubsub.publisher on it).
//
// # The two sides
//
// AWS: nothing to enable. The function's role credentials (Lambda's
// environment) sign the request; the signature names the role, so no
// permission is needed either (GetCallerIdentity needs none).
//
// Google Cloud: a workload identity pool with an AWS provider for the
// function's account (attribute mapping google.subject=assertion.arn, and an
// attribute condition on assertion.arn naming the function's role), and the
// service account's roles/iam.workloadIdentityUser granted to
// principalSet://iam.googleapis.com/projects/<number>/locations/global/workloadIdentityPools/<pool>/attribute.aws_role/<role ARN>.
//
// # Caching
//
// The returned token source reuses the service account's token until
// shortly before it expires (an hour) and only then signs a new request
// and asks STS and IAM Credentials again; the AWS credentials are cached
// by aws.CredentialsCache. Nothing here logs, and no error carries a
// token.
package gcpfed

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"golang.org/x/oauth2"
	"golang.org/x/oauth2/google/externalaccount"
)

// The protocol's fixed values.
const (
	// SubjectTokenType says the subject token is a signed AWS request.
	SubjectTokenType = "urn:ietf:params:aws:token-type:aws4_request"
	// DefaultTokenURL is Google STS's token exchange endpoint.
	DefaultTokenURL = "https://sts.googleapis.com/v1/token"
	// DefaultIAMCredentialsURL is the IAM Credentials API's base URL.
	DefaultIAMCredentialsURL = "https://iamcredentials.googleapis.com"
	// PubSubScope is the default scope of the access token: Pub/Sub only.
	PubSubScope = "https://www.googleapis.com/auth/pubsub"
	// DefaultHTTPTimeout bounds each call to STS and IAM Credentials
	// when Config.HTTPClient is nil.
	DefaultHTTPTimeout = 30 * time.Second
)

// Config says which federation to use.
type Config struct {
	// Audience is the full resource name of the workload identity pool
	// provider:
	// //iam.googleapis.com/projects/<number>/locations/global/workloadIdentityPools/<pool>/providers/<provider>.
	// It is also signed into the subject token (x-goog-cloud-target-resource).
	Audience string
	// ServiceAccount is the email of the service account to impersonate.
	ServiceAccount string
	// Scopes of the access token; nil means PubSubScope.
	Scopes []string
	// TokenURL is Google STS's token endpoint; empty means DefaultTokenURL.
	TokenURL string
	// IAMCredentialsURL is the IAM Credentials API's base URL; empty
	// means DefaultIAMCredentialsURL.
	IAMCredentialsURL string
	// HTTPClient makes the calls to STS and IAM Credentials; nil means a
	// client with DefaultHTTPTimeout.
	HTTPClient *http.Client
}

var (
	// audience is a workload identity pool provider's full resource name
	// (pool and provider ids are 4 to 32 lower-case letters, digits and
	// hyphens).
	audience = regexp.MustCompile(`^//iam\.googleapis\.com/projects/[0-9]+/locations/global/workloadIdentityPools/[a-z0-9-]{4,32}/providers/[a-z0-9-]{4,32}$`)
	// serviceAccount is a service account's email: user-managed ones end
	// in .iam.gserviceaccount.com, Google-managed ones in another
	// gserviceaccount.com domain.
	serviceAccount = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]*@[a-z0-9][a-z0-9.-]*\.gserviceaccount\.com$`)
)

// ErrInvalidConfig is wrapped by every configuration error of Validate
// and NewTokenSource.
var ErrInvalidConfig = errors.New("gcpfed: invalid configuration")

// ValidAudience reports whether s is a workload identity pool provider's
// full resource name, as Config.Audience must be.
func ValidAudience(s string) bool { return audience.MatchString(s) }

// ValidServiceAccount reports whether s is a service account's email, as
// Config.ServiceAccount must be.
func ValidServiceAccount(s string) bool { return serviceAccount.MatchString(s) }

// Validate checks c.
func (c Config) Validate() error {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%w: "+format, append([]any{ErrInvalidConfig}, args...)...)
	}
	switch {
	case c.Audience == "":
		return bad("the audience is required: the workload identity pool provider, //iam.googleapis.com/projects/<number>/locations/global/workloadIdentityPools/<pool>/providers/<provider>")
	case !audience.MatchString(c.Audience):
		return bad("audience %q is not a workload identity pool provider (//iam.googleapis.com/projects/<number>/locations/global/workloadIdentityPools/<pool>/providers/<provider>)", c.Audience)
	case c.ServiceAccount == "":
		return bad("the service account is required: the email of the service account to impersonate")
	case !serviceAccount.MatchString(c.ServiceAccount):
		return bad("service account %q is not a service account email (<name>@<project>.iam.gserviceaccount.com)", c.ServiceAccount)
	}
	for _, u := range []struct{ name, val string }{{"token URL", c.TokenURL}, {"IAM Credentials URL", c.IAMCredentialsURL}} {
		if u.val == "" {
			continue
		}
		p, err := url.Parse(u.val)
		if err != nil || p.Scheme != "https" || p.Host == "" || p.User != nil {
			return bad("%s %q is not an absolute https URL", u.name, u.val)
		}
	}
	for _, s := range c.Scopes {
		if p, err := url.Parse(s); err != nil || p.Scheme != "https" || p.Host == "" {
			return bad("scope %q is not an OAuth scope URL (%s)", s, PubSubScope)
		}
	}
	return nil
}

// ImpersonationURL is the IAM Credentials generateAccessToken URL of
// serviceAccount under base (DefaultIAMCredentialsURL).
func ImpersonationURL(base, serviceAccount string) string {
	return base + "/v1/projects/-/serviceAccounts/" + url.PathEscape(serviceAccount) + ":generateAccessToken"
}

// NewTokenSource returns the service account's token source, federated
// with the AWS identity of awsCfg (its credentials sign the subject token,
// for its region). It does no I/O: the first Token call does the
// exchange. The token source keeps ctx's values (not its cancellation) for
// every later exchange, so a cold start's context is fine.
func NewTokenSource(ctx context.Context, c Config, awsCfg aws.Config) (oauth2.TokenSource, error) {
	if err := c.Validate(); err != nil {
		return nil, err
	}
	switch {
	case awsCfg.Region == "":
		return nil, fmt.Errorf("%w: the AWS configuration has no region: the subject token is a GetCallerIdentity request signed for the function's region", ErrInvalidConfig)
	case awsCfg.Credentials == nil:
		return nil, fmt.Errorf("%w: the AWS configuration has no credentials to sign the subject token with", ErrInvalidConfig)
	}
	creds := awsCfg.Credentials
	if _, ok := creds.(*aws.CredentialsCache); !ok {
		creds = aws.NewCredentialsCache(creds)
	}
	client := c.HTTPClient
	if client == nil {
		client = &http.Client{Timeout: DefaultHTTPTimeout}
	}
	tokenURL, iam, scopes := c.TokenURL, c.IAMCredentialsURL, c.Scopes
	if tokenURL == "" {
		tokenURL = DefaultTokenURL
	}
	if iam == "" {
		iam = DefaultIAMCredentialsURL
	}
	if scopes == nil {
		scopes = []string{PubSubScope}
	}
	ctx = context.WithValue(context.WithoutCancel(ctx), oauth2.HTTPClient, client)
	ts, err := externalaccount.NewTokenSource(ctx, externalaccount.Config{
		Audience:                       c.Audience,
		SubjectTokenType:               SubjectTokenType,
		TokenURL:                       tokenURL,
		ServiceAccountImpersonationURL: ImpersonationURL(iam, c.ServiceAccount),
		Scopes:                         scopes,
		AwsSecurityCredentialsSupplier: supplier{creds: creds, region: awsCfg.Region},
	})
	if err != nil {
		return nil, fmt.Errorf("gcpfed: %w", err)
	}
	return tokenSource{ts: ts, sa: c.ServiceAccount}, nil
}

// supplier hands the AWS identity to the external account token source.
type supplier struct {
	creds  aws.CredentialsProvider
	region string
}

func (s supplier) AwsRegion(context.Context, externalaccount.SupplierOptions) (string, error) {
	return s.region, nil
}

func (s supplier) AwsSecurityCredentials(ctx context.Context, _ externalaccount.SupplierOptions) (*externalaccount.AwsSecurityCredentials, error) {
	c, err := s.creds.Retrieve(ctx)
	if err != nil {
		return nil, fmt.Errorf("retrieve the AWS credentials: %w", err)
	}
	return &externalaccount.AwsSecurityCredentials{AccessKeyID: c.AccessKeyID, SecretAccessKey: c.SecretAccessKey, SessionToken: c.SessionToken}, nil
}

// tokenSource says whose token could not be had.
type tokenSource struct {
	ts oauth2.TokenSource
	sa string
}

func (t tokenSource) Token() (*oauth2.Token, error) {
	tok, err := t.ts.Token()
	if err != nil {
		return nil, fmt.Errorf("gcpfed: access token of %s by workload identity federation: %w", t.sa, err)
	}
	return tok, nil
}
