// Package publishfake fakes, on local TLS servers, the three endpoints an
// AWS function publishing to an Azure Event Grid topic talks to: AWS STS
// GetWebIdentityToken, the Microsoft Entra token endpoint and the Event
// Grid publish API (azdemo's topic fake, shared with the demo). None has
// an emulator: moto (5.2.1) does not implement
// GetWebIdentityToken, Entra has no local twin, and there is no Event Grid
// emulator. Each fake answers as the service documents it, checks what the
// service would check (the assertion Entra is given is a token STS issued,
// the bearer token the topic is given is one Entra issued), and records
// every request for the test to assert on.
package publishfake

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"html"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/driftwatch/driftwatch/shared/internal/azdemo"
)

// Identities the fakes expect.
const (
	// Tenant and ClientID are the Entra tenant and the publisher
	// application.
	Tenant   = "0f0e0d0c-0b0a-4909-8807-060504030201"
	ClientID = "11111111-2222-4333-8444-555555555555"
	// RoleARN is the sub of the tokens STS issues.
	RoleARN = "arn:aws:iam::123456789012:role/driftwatch-interactivity"
	// TopicKey is the topic's access key, TopicID its ARM id.
	TopicKey = "dGhlLXRvcGljLWtleQ=="
	TopicID  = "/subscriptions/3f9e2c41-7a5d-4b8e-a1c6-52d0e8b47a19/resourceGroups/rg-driftwatch/providers/Microsoft.EventGrid/topics/driftwatch-remediation"
	// EventGridScope is the scope of the Entra tokens the topic accepts.
	EventGridScope = "https://eventgrid.azure.net/.default"
	// AssertionType is the client_assertion_type of a federated credential.
	AssertionType = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
)

// Request is one request a fake received.
type Request struct {
	Method, Path, RawQuery string
	Header                 http.Header
	Body                   []byte
	// Form is the parsed url-encoded body (STS, Entra).
	Form url.Values
}

// server is a recording TLS server.
type server struct {
	srv  *httptest.Server
	mu   sync.Mutex
	reqs []Request
}

func (s *server) start(t testing.TB, h func(w http.ResponseWriter, r Request)) {
	s.srv = httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		rec := Request{Method: r.Method, Path: r.URL.Path, RawQuery: r.URL.RawQuery, Header: r.Header.Clone(), Body: body}
		if strings.HasPrefix(r.Header.Get("Content-Type"), "application/x-www-form-urlencoded") {
			rec.Form, _ = url.ParseQuery(string(body))
		}
		s.mu.Lock()
		s.reqs = append(s.reqs, rec)
		s.mu.Unlock()
		h(w, rec)
	}))
	t.Cleanup(s.srv.Close)
}

// URL is the server's base URL (https://127.0.0.1:port).
func (s *server) URL() string { return s.srv.URL }

// Requests returns what the server received, in order.
func (s *server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.reqs)
}

// Fakes are the three fakes, wired to one another. The topic is azdemo's
// (it checks the key, or a bearer token Entra issued, and records every
// request); it has no event subscription here.
type Fakes struct {
	STS   *STS
	Entra *Entra
	Topic *azdemo.Topic
}

// Start starts the three fakes; they stop with the test.
func Start(t testing.TB) *Fakes {
	t.Helper()
	f := &Fakes{STS: &STS{issued: map[string]bool{}}}
	f.Entra = &Entra{sts: f.STS, issued: map[string]bool{}}
	f.STS.start(t, f.STS.serve)
	f.Entra.start(t, f.Entra.serve)
	f.Topic = azdemo.NewTopic(TopicID, TopicKey)
	f.Topic.AcceptToken = f.Entra.Issued
	t.Cleanup(f.Topic.Close)
	return f
}

// RootCAs trusts the three fakes' certificates.
func (f *Fakes) RootCAs() *x509.CertPool {
	pool := x509.NewCertPool()
	for _, s := range []*server{&f.STS.server, &f.Entra.server} {
		pool.AddCert(s.srv.Certificate())
	}
	pool.AddCert(f.Topic.Server().Certificate())
	return pool
}

// HTTPClient is a client trusting the fakes (and nothing else over TLS):
// the Azure SDK's transport in tests.
func (f *Fakes) HTTPClient() *http.Client {
	return &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: f.RootCAs(), MinVersion: tls.VersionTLS12}}}
}

// STS answers Action=GetWebIdentityToken (the AWS query protocol, as the
// SDK's own response snapshot has it) with a new JWT-shaped token per call
// that expires after the requested DurationSeconds (300 by default).
type STS struct {
	server
	mu sync.Mutex
	// disabled answers OutboundWebIdentityFederationDisabledException, as
	// STS does before the account enables outbound identity federation.
	disabled bool
	issued   map[string]bool
	n        int
}

// SetDisabled makes the next calls fail as on an account without outbound
// identity federation.
func (s *STS) SetDisabled(v bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.disabled = v
}

// Issued reports whether STS issued token.
func (s *STS) Issued(token string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.issued[token]
}

func (s *STS) serve(w http.ResponseWriter, r Request) {
	fail := func(status int, code, msg string) {
		w.Header().Set("Content-Type", "text/xml")
		w.WriteHeader(status)
		fmt.Fprintf(w, `<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><Error><Type>Sender</Type><Code>%s</Code><message>%s</message></Error><RequestId>00000000-0000-4000-8000-000000000000</RequestId></ErrorResponse>`,
			code, html.EscapeString(msg))
	}
	if r.Method != http.MethodPost || r.Form.Get("Action") != "GetWebIdentityToken" {
		fail(http.StatusBadRequest, "InvalidAction", "this fake serves GetWebIdentityToken only")
		return
	}
	if !strings.HasPrefix(r.Header.Get("Authorization"), "AWS4-HMAC-SHA256 ") {
		fail(http.StatusForbidden, "MissingAuthenticationToken", "the request is not signed")
		return
	}
	dur := 300
	if v := r.Form.Get("DurationSeconds"); v != "" {
		d, err := strconv.Atoi(v)
		if err != nil || d < 60 || d > 3600 {
			fail(http.StatusBadRequest, "ValidationError", "DurationSeconds must be 60 to 3600")
			return
		}
		dur = d
	}
	aud := r.Form.Get("Audience.member.1")
	if aud == "" || r.Form.Get("SigningAlgorithm") == "" {
		fail(http.StatusBadRequest, "ValidationError", "Audience and SigningAlgorithm are required")
		return
	}
	s.mu.Lock()
	if s.disabled {
		s.mu.Unlock()
		fail(http.StatusForbidden, "OutboundWebIdentityFederationDisabledException", "Outbound web identity federation is disabled for this account")
		return
	}
	s.n++
	now := time.Now().UTC()
	exp := now.Add(time.Duration(dur) * time.Second)
	tok := jwt(r.Form.Get("SigningAlgorithm"), map[string]any{
		"iss": "https://00000000-0000-4000-8000-000000000000.tokens.sts.global.api.aws",
		"sub": RoleARN, "aud": aud, "iat": now.Unix(), "exp": exp.Unix(), "jti": strconv.Itoa(s.n),
	})
	s.issued[tok] = true
	s.mu.Unlock()
	w.Header().Set("Content-Type", "text/xml")
	fmt.Fprintf(w, `<GetWebIdentityTokenResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><GetWebIdentityTokenResult><WebIdentityToken>%s</WebIdentityToken><Expiration>%s</Expiration></GetWebIdentityTokenResult><ResponseMetadata><RequestId>00000000-0000-4000-8000-%012d</RequestId></ResponseMetadata></GetWebIdentityTokenResponse>`,
		tok, exp.Format(time.RFC3339), s.n)
}

// jwt is an unsigned token of the JWT's shape (the fake Entra trusts STS
// by bookkeeping, not by signature).
func jwt(alg string, claims map[string]any) string {
	enc := func(v any) string {
		b, _ := json.Marshal(v)
		return base64.RawURLEncoding.EncodeToString(b)
	}
	return enc(map[string]string{"alg": alg, "typ": "JWT", "kid": "fake"}) + "." + enc(claims) + "." +
		base64.RawURLEncoding.EncodeToString([]byte("not-a-signature"))
}

// Entra serves the tenant's OpenID configuration (MSAL reads the token
// endpoint from it) and the token endpoint for the client credentials
// grant with a client assertion. It accepts only Tenant, ClientID, the
// jwt-bearer assertion type, an assertion STS issued, and a request for
// EventGridScope; anything else gets an AADSTS error, as Entra would.
type Entra struct {
	server
	sts    *STS
	mu     sync.Mutex
	issued map[string]bool
	n      int
}

// Issued reports whether Entra issued the access token.
func (e *Entra) Issued(token string) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.issued[token]
}

// TokenPath is the path of the token endpoint.
const TokenPath = "/" + Tenant + "/oauth2/v2.0/token"

func (e *Entra) serve(w http.ResponseWriter, r Request) {
	base := e.URL() + "/" + Tenant
	writeJSON := func(status int, v any) {
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		w.WriteHeader(status)
		json.NewEncoder(w).Encode(v)
	}
	fail := func(status int, code, desc string) {
		writeJSON(status, map[string]any{"error": code, "error_description": desc, "error_codes": []int{700000}})
	}
	switch {
	case r.Method == http.MethodGet && r.Path == "/"+Tenant+"/v2.0/.well-known/openid-configuration":
		writeJSON(http.StatusOK, map[string]any{
			"issuer":                 base + "/v2.0",
			"authorization_endpoint": base + "/oauth2/v2.0/authorize",
			"token_endpoint":         base + "/oauth2/v2.0/token",
			"jwks_uri":               base + "/discovery/v2.0/keys",
		})
		return
	case r.Method != http.MethodPost || r.Path != TokenPath:
		fail(http.StatusNotFound, "invalid_request", "AADSTS90002: not served by this fake: "+r.Method+" "+r.Path)
		return
	}
	f := r.Form
	switch {
	case f.Get("grant_type") != "client_credentials":
		fail(http.StatusBadRequest, "unsupported_grant_type", "AADSTS70003: grant_type must be client_credentials")
	case f.Get("client_id") != ClientID:
		fail(http.StatusBadRequest, "unauthorized_client", "AADSTS700016: application "+f.Get("client_id")+" not found in the directory")
	case f.Get("client_assertion_type") != AssertionType:
		fail(http.StatusBadRequest, "invalid_request", "AADSTS50027: client_assertion_type must be "+AssertionType)
	case !e.sts.Issued(f.Get("client_assertion")):
		fail(http.StatusUnauthorized, "invalid_client", "AADSTS700213: no matching federated identity record found for the presented assertion")
	case !slices.Contains(strings.Fields(f.Get("scope")), EventGridScope):
		fail(http.StatusBadRequest, "invalid_scope", "AADSTS70011: the scope "+f.Get("scope")+" is not the one this fake grants")
	default:
		e.mu.Lock()
		e.n++
		tok := "entra-access-token-" + strconv.Itoa(e.n)
		e.issued[tok] = true
		e.mu.Unlock()
		writeJSON(http.StatusOK, map[string]any{"token_type": "Bearer", "expires_in": 3599, "ext_expires_in": 3599, "access_token": tok})
	}
}
