// Package gcpid is the awsfed.TokenSource of a function running in Google
// Cloud (Cloud Run, Cloud Run functions, Compute Engine, GKE with the
// metadata server): a Google-signed OIDC ID token of the service account
// attached to the function, issued by the metadata server for the audience
// the AWS role's trust policy expects. It links no Google SDK: the standard
// library, and golang-jwt to read (not verify) the token's claims.
//
// In main:
//
//	env, err := awsfed.FromEnv(os.Getenv)
//	src, err := gcpid.New(env.Audience, &gcpid.Options{Host: os.Getenv(gcpid.EnvMetadataHost)})
//	cfg, err := awsfed.Config(awsfed.Options{Region: env.Region, RoleARN: env.RoleARN,
//		RoleSessionName: "driftwatch-gcp-detector", TokenSource: src})
//
// # The AWS side (Google Cloud)
//
// The token's iss is https://accounts.google.com, aud the requested
// audience, and azp and sub the service account's unique numeric id. AWS
// knows Google as a built-in web identity provider: the trust policy's
// principal is "accounts.google.com" (no IAM OIDC provider to create), and
// its condition keys map unusually when the token has an azp claim, as
// these do: accounts.google.com:aud is the azp claim, accounts.google.com:oaud
// the aud claim (see "Available keys for AWS web identity federation" in
// the IAM User Guide). Pin all three:
//
//	"Principal": {"Federated": "accounts.google.com"},
//	"Action": "sts:AssumeRoleWithWebIdentity",
//	"Condition": {"StringEquals": {
//	  "accounts.google.com:aud": "<unique id of the function's service account>",
//	  "accounts.google.com:sub": "<unique id of the function's service account>",
//	  "accounts.google.com:oaud": "<audience>"
//	}}
//
// Without the sub (or aud) condition any Google service account that asks
// for a token for the audience (anyone's, in any project) could assume the
// role; keep it.
//
// # The metadata host
//
// The Google client libraries read GCE_METADATA_HOST to reach another
// metadata server (an emulator, a proxy). This package does not read the
// environment itself (the project reads it once, in main): pass the
// variable's value as Options.Host, empty meaning metadata.google.internal.
package gcpid

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/golang-jwt/jwt/v5"

	"github.com/driftwatch/driftwatch/shared/awsfed"
)

// EnvMetadataHost is the variable by which Google's client libraries
// override the metadata server's host (host or host:port); main passes its
// value as Options.Host.
const EnvMetadataHost = "GCE_METADATA_HOST"

// Defaults of Options.
const (
	// DefaultHost is the metadata server of Compute Engine, Cloud Run and
	// GKE.
	DefaultHost = "metadata.google.internal"
	// DefaultTimeout bounds one request to the metadata server, which
	// answers from the local host: seconds mean it is not there.
	DefaultTimeout = 10 * time.Second
	// DefaultRefreshBefore is how long before the token's exp a new one is
	// fetched: a token must stay valid while STS checks it.
	DefaultRefreshBefore = 5 * time.Minute
)

// identityPath is the metadata server's ID token endpoint of the attached
// (default) service account.
const identityPath = "/computeMetadata/v1/instance/service-accounts/default/identity"

// maxBody bounds what is read of an answer: STS accepts tokens of at most
// 20,000 characters.
const maxBody = 20000

// maxErrorBody is how much of an error answer's body goes into the error.
const maxErrorBody = 256

// Options configure New. A nil *Options means all defaults.
type Options struct {
	// Host is the metadata server, host or host:port, without a scheme: the
	// value of GCE_METADATA_HOST. Empty means DefaultHost.
	Host string
	// HTTPClient sends the requests; nil means a client without proxy
	// (the metadata server is link-local; a proxy from HTTP_PROXY would
	// not reach it).
	HTTPClient *http.Client
	// Timeout bounds one request; zero means DefaultTimeout.
	Timeout time.Duration
	// RefreshBefore is how long before exp the cached token is replaced;
	// zero means DefaultRefreshBefore. Google ID tokens last one hour.
	RefreshBefore time.Duration
}

// Source gets ID tokens for one audience from the metadata server and
// caches each until RefreshBefore its exp. Concurrent callers share one
// request. It is safe for concurrent use.
type Source struct {
	audience string
	endpoint string // the identity URL with its query
	host     string
	client   *http.Client
	timeout  time.Duration
	before   time.Duration
	now      func() time.Time // test seam

	mu       sync.Mutex
	token    string
	exp      time.Time
	inflight *fetch
}

// fetch is one request to the metadata server, shared by the callers that
// wait for it.
type fetch struct {
	done  chan struct{}
	token string
	exp   time.Time
	err   error
}

var _ awsfed.TokenSource = (*Source)(nil)

// New returns a source of ID tokens for audience, the token's aud claim
// that the AWS role's trust policy expects
// (DRIFTWATCH_AWS_TOKEN_AUDIENCE, the accounts.google.com:oaud condition).
// Invalid arguments are reported with
// awsfed.ErrInvalidConfig.
func New(audience string, opts *Options) (*Source, error) {
	if err := awsfed.CheckAudience("audience", audience); err != nil {
		return nil, err
	}
	var o Options
	if opts != nil {
		o = *opts
	}
	if o.Host == "" {
		o.Host = DefaultHost
	}
	if u, err := url.Parse("http://" + o.Host); err != nil || u.Host != o.Host || u.User != nil {
		return nil, fmt.Errorf("%w: gcpid: metadata host %q (%s) is not host or host:port", awsfed.ErrInvalidConfig, o.Host, EnvMetadataHost)
	}
	switch {
	case o.Timeout < 0:
		return nil, fmt.Errorf("%w: gcpid: Timeout %s is negative", awsfed.ErrInvalidConfig, o.Timeout)
	case o.Timeout == 0:
		o.Timeout = DefaultTimeout
	}
	switch {
	case o.RefreshBefore < 0 || o.RefreshBefore >= time.Hour:
		return nil, fmt.Errorf("%w: gcpid: RefreshBefore %s is outside [0, 1h) (ID tokens last 1h)", awsfed.ErrInvalidConfig, o.RefreshBefore)
	case o.RefreshBefore == 0:
		o.RefreshBefore = DefaultRefreshBefore
	}
	if o.HTTPClient == nil {
		t := http.DefaultTransport.(*http.Transport).Clone()
		t.Proxy = nil
		o.HTTPClient = &http.Client{Transport: t}
	}
	q := url.Values{"audience": {audience}, "format": {"full"}}
	return &Source{
		audience: audience,
		endpoint: "http://" + o.Host + identityPath + "?" + q.Encode(),
		host:     o.Host,
		client:   o.HTTPClient,
		timeout:  o.Timeout,
		before:   o.RefreshBefore,
		now:      time.Now,
	}, nil
}

// Token implements awsfed.TokenSource: the cached token while it has more
// than RefreshBefore to live, else a new one. A caller whose ctx ends stops
// waiting; the request it started goes on (bounded by Timeout) for the
// others.
//
// Answers a retry cannot change (no service account, a token for another
// audience) are reported as not retryable (awsfed.IsRetryable).
func (s *Source) Token(ctx context.Context) (string, error) {
	s.mu.Lock()
	if s.token != "" && s.now().Before(s.exp.Add(-s.before)) {
		tok := s.token
		s.mu.Unlock()
		return tok, nil
	}
	f := s.inflight
	if f == nil {
		f = &fetch{done: make(chan struct{})}
		s.inflight = f
		go s.run(context.WithoutCancel(ctx), f)
	}
	s.mu.Unlock()
	select {
	case <-f.done:
		return f.token, f.err
	case <-ctx.Done():
		return "", fmt.Errorf("gcpid: ID token for %s: %w", s.audience, ctx.Err())
	}
}

// run performs f and publishes its result.
func (s *Source) run(ctx context.Context, f *fetch) {
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	f.token, f.exp, f.err = s.get(ctx)
	if f.err != nil {
		f.err = fmt.Errorf("gcpid: ID token for %s from the metadata server %s: %w", s.audience, s.host, f.err)
	}
	s.mu.Lock()
	if f.err == nil {
		s.token, s.exp = f.token, f.exp
	}
	s.inflight = nil
	s.mu.Unlock()
	close(f.done)
}

// get asks the metadata server once.
func (s *Source) get(ctx context.Context) (string, time.Time, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.endpoint, nil)
	if err != nil {
		return "", time.Time{}, err
	}
	req.Header.Set("Metadata-Flavor", "Google")
	resp, err := s.client.Do(req)
	if err != nil {
		var dnsErr *net.DNSError
		var opErr *net.OpError
		if errors.As(err, &dnsErr) || errors.As(err, &opErr) {
			return "", time.Time{}, fmt.Errorf("unreachable: not running on Google Cloud, or %s is wrong: %w", EnvMetadataHost, err)
		}
		return "", time.Time{}, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxBody+1))
	if err != nil {
		return "", time.Time{}, fmt.Errorf("read answer: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		err := fmt.Errorf("status %d: %s", resp.StatusCode, truncate(body))
		switch resp.StatusCode {
		case http.StatusNotFound:
			return "", time.Time{}, permanentError{fmt.Errorf("no service account is attached to the function (or the path is wrong): %w", err)}
		case http.StatusBadRequest, http.StatusForbidden:
			return "", time.Time{}, permanentError{err}
		}
		return "", time.Time{}, err
	}
	if len(body) > maxBody {
		return "", time.Time{}, fmt.Errorf("answer longer than %d bytes", maxBody)
	}
	tok := strings.TrimSpace(string(body))
	exp, err := checkToken(tok, s.audience, s.now())
	if err != nil {
		return "", time.Time{}, err
	}
	return tok, exp, nil
}

// Errors of checkToken. The token itself is never quoted.
var (
	errNotJWT   = errors.New("answer is not a JWT")
	errAudience = errors.New("token is for another audience")
	errExpired  = errors.New("token has expired")
	errNoExpiry = errors.New("token has no exp claim")
)

// parser reads claims only; STS verifies the signature.
var parser = jwt.NewParser()

// checkToken reads the claims of an ID token without verifying its
// signature (STS does that against Google's keys) and checks that it is
// for audience and not expired at now. It returns its exp.
func checkToken(tok, audience string, now time.Time) (time.Time, error) {
	if tok == "" || len(tok) > maxBody || strings.Count(tok, ".") != 2 {
		return time.Time{}, errNotJWT
	}
	// MapClaims, not RegisteredClaims: claim names are case-sensitive, and
	// encoding/json would match a struct's fields case-insensitively.
	c := jwt.MapClaims{}
	if _, _, err := parser.ParseUnverified(tok, c); err != nil {
		// jwt's messages do not hold the token.
		return time.Time{}, fmt.Errorf("%w: %w", errNotJWT, err)
	}
	aud, err := c.GetAudience()
	if err != nil {
		return time.Time{}, fmt.Errorf("%w: %w", errNotJWT, err)
	}
	if len(aud) != 1 || aud[0] != audience {
		return time.Time{}, permanentError{fmt.Errorf("%w: aud %q, want %q", errAudience, strings.Join(aud, ","), audience)}
	}
	expAt, err := c.GetExpirationTime()
	if err != nil {
		return time.Time{}, fmt.Errorf("%w: %w", errNotJWT, err)
	}
	if expAt == nil {
		return time.Time{}, errNoExpiry
	}
	exp := expAt.Time
	if !now.Before(exp) {
		return time.Time{}, fmt.Errorf("%w: exp %s is not after %s (clock skew?)", errExpired, exp.UTC().Format(time.RFC3339), now.UTC().Format(time.RFC3339))
	}
	return exp, nil
}

// truncate renders at most maxErrorBody bytes of an error body, as valid
// UTF-8 on one line.
func truncate(b []byte) string {
	s := strings.ToValidUTF8(string(b), "\uFFFD")
	cut := len(s) > maxErrorBody
	if cut {
		s = s[:maxErrorBody]
		for !utf8.ValidString(s) {
			s = s[:len(s)-1]
		}
	}
	s = strings.Join(strings.Fields(s), " ")
	if cut {
		s += "..."
	}
	return fmt.Sprintf("%q", s)
}

// permanentError tells awsfed (and the AWS SDK's retryers) through the
// SDK's RetryableError convention that retrying will not help.
type permanentError struct{ error }

func (e permanentError) Unwrap() error { return e.error }

// RetryableError implements the AWS SDK's retryable-error interface.
func (permanentError) RetryableError() bool { return false }
