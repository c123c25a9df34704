// Package gcpfedtest is a local stand-in for the two Google endpoints of
// workload identity federation with an AWS provider: the STS token
// exchange (POST /v1/token) and the IAM Credentials generateAccessToken
// call (POST /v1/projects/-/serviceAccounts/<email>:generateAccessToken).
//
// It is a hand-written HTTP fake because no emulator of either API exists
// (the Google Cloud emulators cover Pub/Sub, Datastore, Firestore,
// Bigtable and Spanner, not STS or IAM). It checks what the real services
// check that a test can: the subject token is an STS GetCallerIdentity
// request for the expected region, SigV4-signed (verified here with the
// AWS SDK's own signer) with the expected AWS credentials, carrying the
// x-goog-cloud-target-resource header equal to the audience; the
// impersonation is called with a token STS issued, for the expected
// service account. It serves TLS, as both real endpoints do.
package gcpfedtest

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
)

// Expect is the federation the fake accepts.
type Expect struct {
	Audience       string
	ServiceAccount string
	// Region is the AWS region the subject token must be signed for.
	Region string
	// Credentials are the AWS credentials it must be signed with.
	Credentials aws.Credentials
	// Scope must be among the impersonation's scopes.
	Scope string
}

// Request is one request the fake received, with the reason it refused
// it ("" when it answered 200).
type Request struct {
	Path    string
	Header  http.Header
	Form    url.Values // the STS exchange's form
	Body    []byte
	Refused string
}

// Server is the fake.
type Server struct {
	srv    *httptest.Server
	expect Expect

	mu       sync.Mutex
	requests []Request
	sts      map[string]bool // federated tokens issued
	access   map[string]bool // service account tokens issued
}

// Start starts a fake for expect; it is closed when tb ends.
func Start(tb testing.TB, expect Expect) *Server {
	s := &Server{expect: expect, sts: map[string]bool{}, access: map[string]bool{}}
	s.srv = httptest.NewTLSServer(http.HandlerFunc(s.serve))
	tb.Cleanup(s.srv.Close)
	return s
}

// TokenURL is the STS token endpoint (gcpfed.Config.TokenURL).
func (s *Server) TokenURL() string { return s.srv.URL + "/v1/token" }

// IAMCredentialsURL is the IAM Credentials base URL
// (gcpfed.Config.IAMCredentialsURL).
func (s *Server) IAMCredentialsURL() string { return s.srv.URL }

// Client trusts the fake's certificate.
func (s *Server) Client() *http.Client { return s.srv.Client() }

// Requests returns what the fake received, in order.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.requests)
}

// IssuedAccessToken reports whether tok is a service account access token
// the fake issued.
func (s *Server) IssuedAccessToken(tok string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.access[tok]
}

// IssuedFederatedToken reports whether tok is an STS token the fake
// issued.
func (s *Server) IssuedFederatedToken(tok string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.sts[tok]
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	rec := Request{Path: r.URL.Path, Header: r.Header.Clone(), Body: body}
	var status int
	var answer any
	switch {
	case r.Method == http.MethodPost && r.URL.Path == "/v1/token":
		rec.Form, _ = url.ParseQuery(string(body))
		status, answer, rec.Refused = s.exchange(r.Context(), rec.Form)
	case r.Method == http.MethodPost && strings.HasPrefix(r.URL.Path, "/v1/projects/-/serviceAccounts/") && strings.HasSuffix(r.URL.Path, ":generateAccessToken"):
		email := strings.TrimSuffix(strings.TrimPrefix(r.URL.Path, "/v1/projects/-/serviceAccounts/"), ":generateAccessToken")
		status, answer, rec.Refused = s.impersonate(r.Header.Get("Authorization"), email, body)
	default:
		status, answer, rec.Refused = http.StatusNotFound, map[string]string{"error": "not_found"}, "unknown endpoint "+r.Method+" "+r.URL.Path
	}
	s.mu.Lock()
	s.requests = append(s.requests, rec)
	s.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(answer)
}

// exchange is STS's token exchange.
func (s *Server) exchange(ctx context.Context, form url.Values) (int, any, string) {
	refuse := func(format string, args ...any) (int, any, string) {
		why := fmt.Sprintf(format, args...)
		return http.StatusBadRequest, map[string]string{"error": "invalid_grant", "error_description": why}, why
	}
	for k, want := range map[string]string{
		"grant_type":           "urn:ietf:params:oauth:grant-type:token-exchange",
		"requested_token_type": "urn:ietf:params:oauth:token-type:access_token",
		"subject_token_type":   "urn:ietf:params:aws:token-type:aws4_request",
		"audience":             s.expect.Audience,
		// With impersonation the federated token is asked for
		// cloud-platform; the impersonation narrows it.
		"scope": "https://www.googleapis.com/auth/cloud-platform",
	} {
		if got := form.Get(k); got != want {
			return refuse("%s is %q, want %q", k, got, want)
		}
	}
	if why := s.checkSubjectToken(ctx, form.Get("subject_token")); why != "" {
		return refuse("subject token: %s", why)
	}
	tok := "federated-" + random()
	s.mu.Lock()
	s.sts[tok] = true
	s.mu.Unlock()
	return http.StatusOK, map[string]any{
		"access_token": tok, "issued_token_type": "urn:ietf:params:oauth:token-type:access_token", "token_type": "Bearer", "expires_in": 3600,
	}, ""
}

// signedRequest is the subject token's JSON, once URL-unescaped.
type signedRequest struct {
	URL     string `json:"url"`
	Method  string `json:"method"`
	Headers []struct {
		Key   string `json:"key"`
		Value string `json:"value"`
	} `json:"headers"`
}

// checkSubjectToken verifies the signed GetCallerIdentity request as AWS
// would (recomputing the signature with the AWS SDK's signer) plus what
// Google checks: the region's STS endpoint and the target resource.
func (s *Server) checkSubjectToken(ctx context.Context, token string) string {
	raw, err := url.QueryUnescape(token)
	if err != nil {
		return "not URL-encoded"
	}
	var sr signedRequest
	if err := json.Unmarshal([]byte(raw), &sr); err != nil {
		return "not a signed request's JSON"
	}
	wantURL := "https://sts." + s.expect.Region + ".amazonaws.com?Action=GetCallerIdentity&Version=2011-06-15"
	if sr.URL != wantURL || sr.Method != http.MethodPost {
		return fmt.Sprintf("request %s %s, want POST %s", sr.Method, sr.URL, wantURL)
	}
	h := http.Header{}
	for _, kv := range sr.Headers {
		h.Add(kv.Key, kv.Value)
	}
	if got := h.Get("X-Goog-Cloud-Target-Resource"); got != s.expect.Audience {
		return fmt.Sprintf("x-goog-cloud-target-resource is %q, want the audience", got)
	}
	if got, want := h.Get("Host"), "sts."+s.expect.Region+".amazonaws.com"; got != want {
		return fmt.Sprintf("host is %q, want %q", got, want)
	}
	signedAt, err := time.Parse("20060102T150405Z", h.Get("X-Amz-Date"))
	if err != nil {
		return "no valid x-amz-date"
	}
	if d := time.Since(signedAt); d > 15*time.Minute || d < -15*time.Minute {
		return "signed too long ago"
	}
	auth := h.Get("Authorization")
	wantPrefix := "AWS4-HMAC-SHA256 Credential=" + s.expect.Credentials.AccessKeyID + "/" + signedAt.Format("20060102") + "/" + s.expect.Region + "/sts/aws4_request, "
	if !strings.HasPrefix(auth, wantPrefix) {
		return "not signed for this access key, region and sts"
	}
	// Re-sign the same request with the expected credentials.
	req, _ := http.NewRequest(http.MethodPost, sr.URL, nil)
	req.Host = h.Get("Host")
	for k, vs := range h {
		if k == "Host" || k == "Authorization" {
			continue
		}
		req.Header[k] = vs
	}
	empty := sha256.Sum256(nil)
	if err := v4.NewSigner().SignHTTP(ctx, s.expect.Credentials, req, hex.EncodeToString(empty[:]), "sts", s.expect.Region, signedAt); err != nil {
		return "re-sign: " + err.Error()
	}
	if req.Header.Get("Authorization") != auth {
		return "signature mismatch"
	}
	return ""
}

// impersonate is IAM Credentials' generateAccessToken.
func (s *Server) impersonate(authorization, email string, body []byte) (int, any, string) {
	refuse := func(status int, format string, args ...any) (int, any, string) {
		why := fmt.Sprintf(format, args...)
		return status, map[string]any{"error": map[string]any{"code": status, "message": why}}, why
	}
	bearer, ok := strings.CutPrefix(authorization, "Bearer ")
	s.mu.Lock()
	known := s.sts[bearer]
	s.mu.Unlock()
	if !ok || !known {
		return refuse(http.StatusUnauthorized, "the caller's token was not issued by STS")
	}
	if email != s.expect.ServiceAccount {
		return refuse(http.StatusForbidden, "no permission to impersonate %s", email)
	}
	var req struct {
		Scope    []string `json:"scope"`
		Lifetime string   `json:"lifetime"`
	}
	if err := json.Unmarshal(body, &req); err != nil {
		return refuse(http.StatusBadRequest, "body: %v", err)
	}
	if !slices.Contains(req.Scope, s.expect.Scope) {
		return refuse(http.StatusBadRequest, "scopes %v lack %s", req.Scope, s.expect.Scope)
	}
	tok := "ya29.fake-" + random()
	s.mu.Lock()
	s.access[tok] = true
	s.mu.Unlock()
	return http.StatusOK, map[string]string{"accessToken": tok, "expireTime": time.Now().Add(time.Hour).UTC().Format(time.RFC3339)}, ""
}

func random() string {
	b := make([]byte, 12)
	rand.Read(b)
	return hex.EncodeToString(b)
}
