// Package gcpapi is the plumbing every driftwatch client of a Google REST
// API shares: how a google.golang.org/api service is built (credentials,
// local endpoint), the per-request policy that refuses any call not
// declared with its IAM permission, and the classification of Google API
// errors into the sentinels callers branch on.
//
// The fetchers (gcpfetch) and the remediation actions (gcpremedy) declare
// every REST method they call as an Operation with the IAM permissions
// Google checks for it. The same declarations generate the least-privilege
// custom roles and guard the transport of every client: a request that
// matches no declared operation is refused inside the process, so the
// declarations cannot silently fall behind the code (a call that works in
// tests but is denied in production by the generated role).
//
// Google's client libraries build full URLs from each service's base path
// (https://storage.googleapis.com/storage/v1/, https://sqladmin.googleapis.com/
// ...). For local runs against gcpfake, Options.Endpoint moves every request
// to another host while keeping the path, so one fake serves every service
// under its real paths without knowing any library's base path.
package gcpapi

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"google.golang.org/api/option"
	htransport "google.golang.org/api/transport/http"
)

// Scope is the OAuth scope of the default credentials: IAM, not the scope,
// limits what the function's identity may do.
const Scope = "https://www.googleapis.com/auth/cloud-platform"

// Options configures the clients of one deployment. The zero value uses
// Application Default Credentials (the metadata server in Cloud Run).
type Options struct {
	// HTTPClient is the authenticated client requests are sent with. Nil
	// means Application Default Credentials with the cloud-platform scope,
	// unless Endpoint is set. Its transport is wrapped, never modified.
	HTTPClient *http.Client
	// Endpoint, for local runs only, is a base URL ("http://127.0.0.1:4567")
	// every request is sent to instead of Google's host, keeping each
	// service's own path ("/storage/v1/b/...", "/compute/v1/projects/...",
	// "/v1/projects/{p}/instances/..."). No credentials are used then
	// unless HTTPClient is set too.
	Endpoint string
	// UserAgent, when set, is prepended to the User-Agent of every request.
	UserAgent string
}

// ClientOptions returns the options to pass to one google.golang.org/api
// service constructor (storage.NewService(ctx, opts...)): an HTTP client
// whose transport refuses requests no operation in ops declares, points at
// Endpoint when set, and authenticates as Options says. Building the
// default client looks up Application Default Credentials, hence ctx.
func (o Options) ClientOptions(ctx context.Context, ops []Operation) ([]option.ClientOption, error) {
	if o.Endpoint != "" {
		if _, err := endpointURL(o.Endpoint); err != nil {
			return nil, err
		}
	}
	for _, op := range ops {
		if err := op.validate(); err != nil {
			return nil, err
		}
	}
	base := o.HTTPClient
	if base == nil && o.Endpoint == "" {
		c, _, err := htransport.NewClient(ctx, option.WithScopes(Scope))
		if err != nil {
			return nil, fmt.Errorf("gcpapi: default credentials: %w", err)
		}
		base = c
	}
	var next http.RoundTripper = http.DefaultTransport
	client := &http.Client{}
	if base != nil {
		*client = *base
		if base.Transport != nil {
			next = base.Transport
		}
	}
	client.Transport = NewTransport(next, o, ops)
	return []option.ClientOption{option.WithHTTPClient(client)}, nil
}

// NewTransport returns the RoundTripper ClientOptions installs: it refuses
// a request that matches none of ops with an error wrapping ErrUndeclared
// (nothing is sent), then redirects it to o.Endpoint when set and adds
// o.UserAgent, then sends it with next. o.HTTPClient is ignored.
func NewTransport(next http.RoundTripper, o Options, ops []Operation) http.RoundTripper {
	t := &declaredOnly{next: next, ops: slices.Clone(ops), userAgent: o.UserAgent}
	if o.Endpoint != "" {
		// ClientOptions validated it; NewTransport called directly with a
		// bad endpoint refuses every request instead.
		t.endpoint, t.endpointErr = endpointURL(o.Endpoint)
	}
	return t
}

func endpointURL(s string) (*url.URL, error) {
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" {
		return nil, fmt.Errorf("gcpapi: endpoint %q is not an http(s) base URL", s)
	}
	u.Path = strings.TrimSuffix(u.Path, "/")
	return u, nil
}

// ErrUndeclared wraps the error of a request that no declared operation
// matches: the generated role would not allow it in production. It is
// never retryable.
var ErrUndeclared = errors.New("gcpapi: request not declared with its IAM permission")

// declaredOnly is the transport of every client ClientOptions builds.
type declaredOnly struct {
	next        http.RoundTripper
	ops         []Operation
	endpoint    *url.URL
	endpointErr error
	userAgent   string
}

// RoundTrip implements http.RoundTripper.
func (t *declaredOnly) RoundTrip(req *http.Request) (*http.Response, error) {
	closeBody := func() {
		if req.Body != nil {
			req.Body.Close()
		}
	}
	if _, ok := Find(t.ops, req.Method, req.URL.Path); !ok {
		closeBody()
		return nil, fmt.Errorf("%w: %s %s", ErrUndeclared, req.Method, req.URL.Path)
	}
	if t.endpointErr != nil {
		closeBody()
		return nil, t.endpointErr
	}
	if t.endpoint == nil && t.userAgent == "" {
		return t.next.RoundTrip(req)
	}
	// A RoundTripper must not modify the caller's request.
	r := req.Clone(req.Context())
	if t.endpoint != nil {
		r.URL.Scheme, r.URL.Host, r.Host = t.endpoint.Scheme, t.endpoint.Host, ""
		if t.endpoint.Path != "" {
			r.URL.Path = t.endpoint.Path + r.URL.Path
			if r.URL.RawPath != "" {
				r.URL.RawPath = t.endpoint.Path + r.URL.RawPath
			}
		}
	}
	if t.userAgent != "" {
		r.Header.Set("User-Agent", strings.TrimSpace(t.userAgent+" "+r.Header.Get("User-Agent")))
	}
	return t.next.RoundTrip(r)
}
