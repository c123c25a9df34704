package azuremi

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/driftwatch/driftwatch/shared/awsfed"
	"github.com/driftwatch/driftwatch/shared/internal/motoserver"
	"github.com/driftwatch/driftwatch/shared/store/dynamostore"
)

var moto *motoserver.Server

func TestMain(m *testing.M) {
	s, err := motoserver.Start(context.Background())
	if err != nil {
		fmt.Fprintln(os.Stderr, "azuremi tests:", err)
		os.Exit(1)
	}
	moto = s
	code := m.Run()
	s.Close()
	os.Exit(code)
}

const (
	tenantID    = "72f988bf-86f1-41af-91ab-2d7cd011db47"
	principalID = "9f4b2a1c-5d6e-4f70-8a9b-0c1d2e3f4a5b" // the managed identity's object id
	clientID    = "5e29463d-71da-4fe0-8e69-999b57db23b0" // and its client (application) id
	secret      = "identity-header-secret"
	tokenPath   = "/msi/token"
)

// miRequest is one request the identity endpoint received.
type miRequest struct {
	Method, Path, Header string
	Query                url.Values
}

// fakeIdentityEndpoint is a hand-written fake of the managed identity
// endpoint App Service and Azure Functions expose to the process
// (IDENTITY_ENDPOINT, authenticated by the IDENTITY_HEADER secret, API
// version 2019-08-01): no emulator of it exists, and the Azure SDK has no
// fake for azidentity's managed identity protocol. It answers like the real
// endpoint: a JSON token response whose access token is shaped like an
// Entra v1 token for the requested resource (unsigned: nothing here
// verifies signatures), or status with a JSON error body.
type fakeIdentityEndpoint struct {
	mu       sync.Mutex
	requests []miRequest
	issued   []string
	status   int // 0 = 200
	srv      *httptest.Server
}

func startIdentityEndpoint(t *testing.T, status int) *fakeIdentityEndpoint {
	t.Helper()
	f := &fakeIdentityEndpoint{status: status}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.srv.Close)
	// The variables the platform sets; the others would select another
	// managed identity source, so they are cleared.
	t.Setenv("IDENTITY_ENDPOINT", f.srv.URL+tokenPath)
	t.Setenv("IDENTITY_HEADER", secret)
	for _, v := range []string{"IDENTITY_SERVER_THUMBPRINT", "MSI_ENDPOINT", "MSI_SECRET", "IMDS_ENDPOINT"} {
		t.Setenv(v, "")
	}
	return f
}

func (f *fakeIdentityEndpoint) serve(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	f.requests = append(f.requests, miRequest{Method: r.Method, Path: r.URL.Path, Header: r.Header.Get("X-IDENTITY-HEADER"), Query: r.URL.Query()})
	f.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	resource := r.URL.Query().Get("resource")
	switch {
	case r.Header.Get("X-IDENTITY-HEADER") != secret:
		w.WriteHeader(http.StatusUnauthorized)
		fmt.Fprint(w, `{"statusCode":401,"message":"Unauthorized request"}`)
	case f.status != 0 && f.status != http.StatusOK:
		w.WriteHeader(f.status)
		fmt.Fprintf(w, `{"statusCode":%d,"message":"AADSTS500011: The resource principal named %s was not found in the tenant named %s.","correlationId":"7f9a8b6c-0000-4000-8000-000000000000"}`,
			f.status, resource, tenantID)
	default:
		tok := entraToken(resource)
		f.mu.Lock()
		f.issued = append(f.issued, tok)
		f.mu.Unlock()
		json.NewEncoder(w).Encode(map[string]string{
			"access_token": tok,
			"expires_on":   strconv.FormatInt(time.Now().Add(24*time.Hour).Unix(), 10),
			"resource":     resource,
			"token_type":   "Bearer",
			"client_id":    clientID,
		})
	}
}

func (f *fakeIdentityEndpoint) tokens() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.issued...)
}

func (f *fakeIdentityEndpoint) received() []miRequest {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]miRequest(nil), f.requests...)
}

// entraToken is shaped like the v1 access token Entra issues to a managed
// identity for resource.
func entraToken(resource string) string {
	enc := base64.RawURLEncoding.EncodeToString
	payload, _ := json.Marshal(map[string]any{
		"iss": "https://sts.windows.net/" + tenantID + "/", "aud": resource, "sub": principalID, "oid": principalID,
		"appid": clientID, "tid": tenantID, "idtyp": "app", "exp": time.Now().Add(24 * time.Hour).Unix(),
	})
	return enc([]byte(`{"typ":"JWT","alg":"RS256"}`)) + "." + enc(payload) + "." + enc([]byte("signature"))
}

// audienceFor gives each test (and each run of it, under -count) its own
// audience: the managed identity client's token cache (MSAL's) is
// process-wide and keyed by identity and resource, so a shared audience
// would let an earlier token answer another test's request.
func audienceFor(t *testing.T) string {
	return "api://driftwatch-aws/" + strings.ReplaceAll(t.Name(), "/", "-") + "-" + strconv.FormatInt(time.Now().UnixNano(), 36)
}

// fastRetries keeps azcore's retry policy (which the credential uses) but
// without its seconds of delay.
var fastRetries = policy.RetryOptions{MaxRetries: 2, RetryDelay: time.Millisecond, MaxRetryDelay: time.Millisecond}

func newCredential(t *testing.T, id azidentity.ManagedIDKind) *azidentity.ManagedIdentityCredential {
	t.Helper()
	cred, err := azidentity.NewManagedIdentityCredential(&azidentity.ManagedIdentityCredentialOptions{
		ClientOptions: azcore.ClientOptions{Retry: fastRetries},
		ID:            id,
	})
	if err != nil {
		t.Fatal(err)
	}
	return cred
}

// TestToken: the request the credential makes for Token, and the token it
// returns.
func TestToken(t *testing.T) {
	for _, tc := range []struct {
		name      string
		id        azidentity.ManagedIDKind
		wantQuery func(audience string) url.Values
	}{
		{name: "system-assigned", wantQuery: func(aud string) url.Values {
			return url.Values{"api-version": {"2019-08-01"}, "resource": {aud}}
		}},
		{name: "user-assigned by client id", id: azidentity.ClientID(clientID), wantQuery: func(aud string) url.Values {
			return url.Values{"api-version": {"2019-08-01"}, "resource": {aud}, "client_id": {clientID}}
		}},
		{name: "user-assigned by object id", id: azidentity.ObjectID(principalID), wantQuery: func(aud string) url.Values {
			return url.Values{"api-version": {"2019-08-01"}, "resource": {aud}, "object_id": {principalID}}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ep := startIdentityEndpoint(t, 0)
			audience := audienceFor(t)
			src, err := New(newCredential(t, tc.id), audience)
			if err != nil {
				t.Fatal(err)
			}
			if src.Scope() != audience+"/.default" {
				t.Errorf("Scope = %q", src.Scope())
			}
			tok, err := src.Token(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			if issued := ep.tokens(); len(issued) != 1 || tok != issued[0] {
				t.Errorf("token = %q, want the endpoint's access token %q", tok, issued)
			}
			reqs := ep.received()
			if len(reqs) != 1 {
				t.Fatalf("endpoint received %d requests, want 1", len(reqs))
			}
			r := reqs[0]
			// The audience is sent as the v1 resource, without /.default,
			// and the request carries the platform's header secret.
			if r.Method != http.MethodGet || r.Path != tokenPath || r.Header != secret {
				t.Errorf("request %s %s with X-IDENTITY-HEADER %q; want GET %s with %q", r.Method, r.Path, r.Header, tokenPath, secret)
			}
			if want := tc.wantQuery(audience); r.Query.Encode() != want.Encode() {
				t.Errorf("query = %s, want %s", r.Query.Encode(), want.Encode())
			}
			// The token is the one issued for that audience.
			var claims struct{ Aud, Sub, Iss string }
			payload, _ := base64.RawURLEncoding.DecodeString(strings.Split(tok, ".")[1])
			if err := json.Unmarshal(payload, &claims); err != nil || claims.Aud != audience || claims.Sub != principalID {
				t.Errorf("token claims = %+v (%v), want aud %q sub %q", claims, err, audience, principalID)
			}
		})
	}
}

// TestTokenErrors: the endpoint's refusals and failures reach awsfed with
// the right verdict, and STS is never called.
func TestTokenErrors(t *testing.T) {
	for _, tc := range []struct {
		status        int
		wantRequests  int // azcore retries 5xx itself (fastRetries: 3 tries)
		wantRetryable bool
	}{
		{status: http.StatusBadRequest, wantRequests: 1, wantRetryable: false},
		{status: http.StatusForbidden, wantRequests: 1, wantRetryable: false},
		{status: http.StatusInternalServerError, wantRequests: 3, wantRetryable: true},
		{status: http.StatusServiceUnavailable, wantRequests: 3, wantRetryable: true},
	} {
		t.Run(strconv.Itoa(tc.status), func(t *testing.T) {
			ep := startIdentityEndpoint(t, tc.status)
			audience := audienceFor(t)
			src, err := New(newCredential(t, nil), audience)
			if err != nil {
				t.Fatal(err)
			}
			stsRec := &stsRecorder{next: http.DefaultTransport}
			cfg, err := awsfed.Config(awsfed.Options{
				Region: "eu-west-1", RoleARN: "arn:aws:iam::111122223333:role/driftwatch-azure",
				RoleSessionName: "driftwatch-azure-detector", TokenSource: src,
				BaseEndpoint: moto.URL, HTTPClient: &http.Client{Transport: stsRec},
			})
			if err != nil {
				t.Fatal(err)
			}
			_, err = cfg.Credentials.Retrieve(context.Background())
			if !errors.Is(err, awsfed.ErrToken) || awsfed.IsRetryable(err) != tc.wantRetryable {
				t.Fatalf("error = %v; want ErrToken, retryable %v", err, tc.wantRetryable)
			}
			var afe *azidentity.AuthenticationFailedError
			if !errors.As(err, &afe) || afe.RawResponse == nil || afe.RawResponse.StatusCode != tc.status {
				t.Errorf("the credential's error with status %d is not in the chain: %v", tc.status, err)
			}
			wantPrefix := "failed to refresh cached credentials, awsfed: no identity token for role arn:aws:iam::111122223333:role/driftwatch-azure: " +
				"azure managed identity token for " + audience + ": ManagedIdentityCredential authentication failed."
			if !strings.HasPrefix(err.Error(), wantPrefix) || !strings.Contains(err.Error(), "AADSTS500011") {
				t.Errorf("error = %q\nwant prefix %q and the endpoint's message", err, wantPrefix)
			}
			if n := len(ep.received()); n != tc.wantRequests {
				t.Errorf("endpoint received %d requests, want %d", n, tc.wantRequests)
			}
			if n := len(stsRec.tokens()); n != 0 {
				t.Errorf("STS called %d times after the token failed", n)
			}
		})
	}
}

// TestFederatedEndToEnd: the managed identity's token buys an AWS session
// from STS (moto), which writes to DynamoDB. Refreshes ask the source each
// time; the credential's token cache answers the second.
func TestFederatedEndToEnd(t *testing.T) {
	ctx := context.Background()
	ep := startIdentityEndpoint(t, 0)
	audience := audienceFor(t)
	src, err := New(newCredential(t, nil), audience)
	if err != nil {
		t.Fatal(err)
	}
	stsRec := &stsRecorder{next: http.DefaultTransport}
	var logs bytes.Buffer
	cfg, err := awsfed.Config(awsfed.Options{
		Region: "eu-west-1", RoleARN: "arn:aws:iam::444455556666:role/driftwatch-azure",
		RoleSessionName: "driftwatch-azure-detector", TokenSource: src,
		BaseEndpoint: moto.URL, HTTPClient: &http.Client{Transport: stsRec},
		Logger: slog.New(slog.NewJSONHandler(&logs, nil)),
	})
	if err != nil {
		t.Fatal(err)
	}
	db := dynamodb.NewFromConfig(cfg)
	if err := dynamostore.CreateTable(ctx, db, "posture"); err != nil {
		t.Fatalf("create the posture table as the Azure function: %v", err)
	}
	if err := dynamostore.New(db, "posture").ClaimEvent(ctx, fmt.Sprintf("azure-event-%d", time.Now().UnixNano()), time.Now(), time.Minute); err != nil {
		t.Fatalf("claim an event as the Azure function: %v", err)
	}
	id, err := sts.NewFromConfig(cfg).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := aws.ToString(id.Arn), "arn:aws:sts::444455556666:assumed-role/driftwatch-azure/driftwatch-azure-detector"; got != want {
		t.Errorf("caller = %s, want %s", got, want)
	}

	// A second refresh (the cache dropped): a new STS session with the
	// same managed identity token, which the credential had cached.
	cfg.Credentials.(*aws.CredentialsCache).Invalidate()
	if _, err := cfg.Credentials.Retrieve(ctx); err != nil {
		t.Fatal(err)
	}
	tokens := stsRec.tokens()
	if len(tokens) != 2 || tokens[0] != tokens[1] {
		t.Fatalf("STS received %d tokens, want the same token twice", len(tokens))
	}
	if issued := ep.tokens(); len(issued) != 1 || issued[0] != tokens[0] {
		t.Errorf("identity endpoint issued %d tokens for 2 refreshes, want 1, the one STS got (the credential caches its ~24 h token)", len(issued))
	}
	payload, _ := base64.RawURLEncoding.DecodeString(strings.Split(tokens[0], ".")[1])
	var claims struct{ Aud, Sub string }
	if err := json.Unmarshal(payload, &claims); err != nil || claims.Aud != audience || claims.Sub != principalID {
		t.Errorf("STS got a token with aud %q sub %q (%v), want %q %q", claims.Aud, claims.Sub, err, audience, principalID)
	}
	// The refresh log names what the AWS trust policy must match.
	for _, want := range []string{`"token_iss":"https://sts.windows.net/` + tenantID + `/"`, `"token_aud":"` + audience + `"`, `"token_sub":"` + principalID + `"`} {
		if !strings.Contains(logs.String(), want) {
			t.Errorf("refresh log lacks %s:\n%s", want, logs.String())
		}
	}
}

func TestNew(t *testing.T) {
	cred := newCredentialNoEnv(t)
	for _, tc := range []struct {
		name     string
		cred     azcore.TokenCredential
		audience string
		wantErr  string
	}{
		{name: "nil credential", audience: "api://x", wantErr: "awsfed: invalid configuration: azuremi: nil credential"},
		{name: "no audience", cred: cred, wantErr: "awsfed: invalid configuration: audience is not set"},
		{name: "scope for audience", cred: cred, audience: "api://x/.default",
			wantErr: `awsfed: invalid configuration: audience "api://x/.default" is a scope: give the audience itself, without /.default`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			src, err := New(tc.cred, tc.audience)
			if err == nil || err.Error() != tc.wantErr || !errors.Is(err, awsfed.ErrInvalidConfig) || src != nil {
				t.Errorf("New = %v, %v; want error %q wrapping ErrInvalidConfig", src, err, tc.wantErr)
			}
		})
	}
}

// newCredentialNoEnv is a credential for argument checks only (it is never
// asked for a token).
func newCredentialNoEnv(t *testing.T) *azidentity.ManagedIdentityCredential {
	t.Helper()
	startIdentityEndpoint(t, 0)
	return newCredential(t, nil)
}

// stsRecorder forwards requests and keeps the tokens of the
// AssumeRoleWithWebIdentity ones.
type stsRecorder struct {
	next http.RoundTripper
	mu   sync.Mutex
	toks []string
}

func (r *stsRecorder) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.Body != nil && strings.HasPrefix(req.Header.Get("Content-Type"), "application/x-www-form-urlencoded") {
		body, err := io.ReadAll(req.Body)
		req.Body.Close()
		if err != nil {
			return nil, err
		}
		req.Body = io.NopCloser(bytes.NewReader(body))
		if form, err := url.ParseQuery(string(body)); err == nil && form.Get("Action") == "AssumeRoleWithWebIdentity" {
			r.mu.Lock()
			r.toks = append(r.toks, form.Get("WebIdentityToken"))
			r.mu.Unlock()
		}
	}
	return r.next.RoundTrip(req)
}

func (r *stsRecorder) tokens() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.toks...)
}
