// Package awsfed gives a function running in another cloud (an Azure
// Function today, a Google Cloud function later) temporary AWS credentials
// without any long-lived AWS key: the function's own cloud identity token is
// exchanged with STS AssumeRoleWithWebIdentity for a session of one IAM
// role, and the session is cached and refreshed shortly before it expires.
// The posture store (one DynamoDB table) is reached that way.
//
// Config builds the aws.Config; a TokenSource supplies the identity token.
// This package holds the cloud-neutral part and the generic sources
// (TokenFunc, TokenFile); the Azure managed identity source is in the
// subpackage azuremi, so that a function of another cloud does not link the
// Azure SDK.
//
// # The AWS side (Azure)
//
// A managed identity's token is a Microsoft Entra v1 access token issued for
// an application of the tenant: iss is https://sts.windows.net/<tenant id>/,
// aud is the resource the function asked for (the application ID URI, say
// api://driftwatch-aws, the DRIFTWATCH_AWS_TOKEN_AUDIENCE), sub and oid are
// the object (principal) id of the managed identity. AWS trusts it through
// three things:
//
//   - an IAM OIDC identity provider with the URL
//     https://sts.windows.net/<tenant id>/ and the audience (client ID)
//     api://driftwatch-aws (IAM fetches the signing keys from the issuer's
//     /.well-known/openid-configuration);
//   - the role's trust policy, pinning both the audience and the one managed
//     identity allowed to assume the role (below);
//   - the role's permission policy: only the DynamoDB actions the function
//     needs on the posture table and its index.
//
// The trust policy:
//
//	{
//	  "Version": "2012-10-17",
//	  "Statement": [{
//	    "Effect": "Allow",
//	    "Principal": {"Federated": "arn:aws:iam::<account>:oidc-provider/sts.windows.net/<tenant id>/"},
//	    "Action": "sts:AssumeRoleWithWebIdentity",
//	    "Condition": {"StringEquals": {
//	      "sts.windows.net/<tenant id>/:aud": "api://driftwatch-aws",
//	      "sts.windows.net/<tenant id>/:sub": "<object id of the function's managed identity>"
//	    }}
//	  }]
//	}
//
// Without the sub condition any identity of the tenant that can get a token
// for the application could assume the role; keep it. The application (an
// app registration exposing that application ID URI, with its service
// principal in the tenant) needs no secret and no API permission; if its
// enterprise application requires assignment, give the managed identity an
// app role of it. If the application is set to issue v2 tokens
// (accessTokenAcceptedVersion 2), iss becomes
// https://login.microsoftonline.com/<tenant id>/v2.0 and aud the
// application's client id: the provider URL, the audience and the condition
// keys change accordingly.
//
// # Refresh
//
// The credentials are an aws.CredentialsCache over the AWS SDK's own
// stscreds.WebIdentityRoleProvider. They are fetched on the first request
// and reused until ExpiryWindow before they expire; each refresh asks the
// TokenSource for a token and calls STS once (concurrent callers share one
// refresh). A refresh runs detached from the cancellation of the request
// that triggered it (the cache shares it), so RefreshTimeout bounds it.
//
// # Errors
//
// A failed refresh is reported with ErrToken (the token source failed; STS
// was not called) or ErrRejected (STS refused the token or the role:
// InvalidIdentityToken, AccessDenied, ...), or wrapped with the role's ARN
// otherwise. IsRetryable says whether a later attempt can succeed; the AWS
// SDK's retryers honour the same verdict, so a DynamoDB call is not retried
// over a token STS rejects.
package awsfed

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials/stscreds"
	"github.com/aws/aws-sdk-go-v2/service/sts"
)

// Defaults of Options.
const (
	// DefaultExpiryWindow is how long before the session expires the
	// credentials are refreshed: long enough that a request signed just
	// before the refresh does not reach AWS with expired credentials.
	DefaultExpiryWindow = 5 * time.Minute
	// DefaultRefreshTimeout bounds one refresh (identity token + STS).
	DefaultRefreshTimeout = 30 * time.Second
	// DefaultDuration is the session lifetime STS grants when Duration is
	// zero (the AssumeRoleWithWebIdentity default).
	DefaultDuration = time.Hour
	// MinDuration and MaxDuration bound Duration as STS does (the role's
	// maximum session duration may be lower than MaxDuration).
	MinDuration = 15 * time.Minute
	MaxDuration = 12 * time.Hour
)

// Options configure Config. Region, RoleARN, RoleSessionName and
// TokenSource are required.
type Options struct {
	// Region is the AWS Region of the returned configuration (where the
	// posture table is) and of the regional STS endpoint used.
	Region string
	// RoleARN is the IAM role to assume, whose trust policy names the OIDC
	// provider of the token's issuer.
	RoleARN string
	// RoleSessionName names the session in CloudTrail and in the assumed
	// role's ARN, so that the AWS side can tell which function acted: say
	// "driftwatch-azure-detector". 2 to 64 characters of letters, digits
	// and +=,.@_-.
	RoleSessionName string
	// TokenSource supplies the identity token at each refresh.
	TokenSource TokenSource
	// Duration is the session lifetime requested from STS (DurationSeconds),
	// MinDuration to MaxDuration in whole seconds; zero asks for the STS
	// default, DefaultDuration.
	Duration time.Duration
	// ExpiryWindow is how long before expiry the credentials are refreshed;
	// zero means DefaultExpiryWindow. It must be shorter than the session.
	ExpiryWindow time.Duration
	// RefreshTimeout bounds one refresh; zero means DefaultRefreshTimeout.
	RefreshTimeout time.Duration
	// BaseEndpoint, when set, is the endpoint of every AWS service of the
	// returned configuration and of STS (a local emulator in tests).
	BaseEndpoint string
	// STSEndpoint, when set, is the STS endpoint only (a VPC endpoint, say);
	// it takes precedence over BaseEndpoint for STS.
	STSEndpoint string
	// HTTPClient, when set, sends the STS requests and is the HTTP client
	// of the returned configuration.
	HTTPClient aws.HTTPClient
	// Retryer, when set, is the retryer of the STS client and of the
	// returned configuration; nil keeps the SDK's standard retryer.
	Retryer func() aws.Retryer
	// Logger receives one record per refresh. Defaults to discarding.
	Logger *slog.Logger
}

// Config returns an AWS configuration for opts.Region whose Credentials
// assume opts.RoleARN with the tokens of opts.TokenSource. It does no I/O:
// the first request that needs credentials fetches them. Invalid options
// are reported with ErrInvalidConfig.
func Config(opts Options) (aws.Config, error) {
	o, err := opts.withDefaults()
	if err != nil {
		return aws.Config{}, err
	}
	stsCfg := aws.Config{Region: o.Region, HTTPClient: o.HTTPClient, Retryer: o.Retryer}
	switch {
	case o.STSEndpoint != "":
		stsCfg.BaseEndpoint = aws.String(o.STSEndpoint)
	case o.BaseEndpoint != "":
		stsCfg.BaseEndpoint = aws.String(o.BaseEndpoint)
	}
	cfg := aws.Config{
		Region:      o.Region,
		Credentials: newCredentials(sts.NewFromConfig(stsCfg), o),
		HTTPClient:  o.HTTPClient,
		Retryer:     o.Retryer,
	}
	if o.BaseEndpoint != "" {
		cfg.BaseEndpoint = aws.String(o.BaseEndpoint)
	}
	return cfg, nil
}

// newCredentials wraps the web identity provider in the SDK's credentials
// cache. It takes validated options (tests bypass the validation to make
// credentials expire at once).
func newCredentials(client stscreds.AssumeRoleWithWebIdentityAPIClient, o Options) *aws.CredentialsCache {
	p := &provider{client: client, opts: o}
	return aws.NewCredentialsCache(p, func(c *aws.CredentialsCacheOptions) {
		c.ExpiryWindow = o.ExpiryWindow
	})
}

// provider is an aws.CredentialsProvider around stscreds' web identity
// provider. stscreds.IdentityTokenRetriever has no context, so a provider
// bound to this refresh's context is made per Retrieve (it is a plain
// struct); that also tells a token failure from an STS one.
type provider struct {
	client stscreds.AssumeRoleWithWebIdentityAPIClient
	opts   Options
}

// Retrieve implements aws.CredentialsProvider: one token, one STS call
// (which the STS client may retry with the same token).
func (p *provider) Retrieve(ctx context.Context) (aws.Credentials, error) {
	ctx, cancel := context.WithTimeout(ctx, p.opts.RefreshTimeout)
	defer cancel()
	tok := &boundToken{ctx: ctx, source: p.opts.TokenSource}
	web := stscreds.NewWebIdentityRoleProvider(p.client, p.opts.RoleARN, tok, func(w *stscreds.WebIdentityRoleOptions) {
		w.RoleSessionName = p.opts.RoleSessionName
		w.Duration = p.opts.Duration
	})
	creds, err := web.Retrieve(ctx)
	if tok.err != nil {
		return aws.Credentials{}, tokenError(p.opts.RoleARN, tok.err)
	}
	if err != nil {
		return aws.Credentials{}, stsError(p.opts.RoleARN, tok.token, err)
	}
	c := tokenClaims(tok.token)
	p.opts.Logger.LogAttrs(ctx, slog.LevelInfo, "aws credentials refreshed",
		slog.String("role_arn", p.opts.RoleARN), slog.String("role_session_name", p.opts.RoleSessionName),
		slog.String("access_key_id", creds.AccessKeyID), slog.Time("expires", creds.Expires),
		slog.String("token_iss", c.Issuer), slog.String("token_aud", c.Audience), slog.String("token_sub", c.Subject))
	return creds, nil
}

// boundToken adapts a TokenSource to stscreds.IdentityTokenRetriever for
// one refresh, keeping the token (for diagnostics) and the source's error.
type boundToken struct {
	ctx    context.Context
	source TokenSource
	token  string
	err    error
}

// GetIdentityToken implements stscreds.IdentityTokenRetriever.
func (b *boundToken) GetIdentityToken() ([]byte, error) {
	tok, err := b.source.Token(b.ctx)
	if err == nil && tok == "" {
		err = errEmptyToken
	}
	if err != nil {
		b.err = err
		return nil, err
	}
	b.token = tok
	return []byte(tok), nil
}

// withDefaults validates o and fills its defaults.
func (o Options) withDefaults() (Options, error) {
	var errs []error
	add := func(format string, args ...any) {
		errs = append(errs, fmt.Errorf("%w: "+format, append([]any{ErrInvalidConfig}, args...)...))
	}
	if err := checkRegion("Region", o.Region); err != nil {
		errs = append(errs, err)
	}
	if err := checkRoleARN("RoleARN", o.RoleARN); err != nil {
		errs = append(errs, err)
	}
	if err := checkSessionName(o.RoleSessionName); err != nil {
		errs = append(errs, err)
	}
	if o.TokenSource == nil {
		add("TokenSource is nil")
	}
	switch {
	case o.Duration == 0:
	case o.Duration < MinDuration || o.Duration > MaxDuration:
		add("Duration %s is outside [%s, %s]", o.Duration, MinDuration, MaxDuration)
	case o.Duration%time.Second != 0:
		add("Duration %s is not a whole number of seconds", o.Duration)
	}
	session := o.Duration
	if session == 0 {
		session = DefaultDuration
	}
	switch {
	case o.ExpiryWindow < 0:
		add("ExpiryWindow %s is negative", o.ExpiryWindow)
	case o.ExpiryWindow == 0:
		o.ExpiryWindow = DefaultExpiryWindow // shorter than MinDuration
	case o.ExpiryWindow >= session:
		add("ExpiryWindow %s is not shorter than the session (%s): the credentials would be refreshed at every request", o.ExpiryWindow, session)
	}
	switch {
	case o.RefreshTimeout < 0:
		add("RefreshTimeout %s is negative", o.RefreshTimeout)
	case o.RefreshTimeout == 0:
		o.RefreshTimeout = DefaultRefreshTimeout
	}
	if err := checkEndpoint("BaseEndpoint", o.BaseEndpoint); err != nil {
		errs = append(errs, err)
	}
	if err := checkEndpoint("STSEndpoint", o.STSEndpoint); err != nil {
		errs = append(errs, err)
	}
	if len(errs) > 0 {
		return Options{}, joinErrors(errs)
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	return o, nil
}
