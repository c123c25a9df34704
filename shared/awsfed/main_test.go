package awsfed

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/ratelimit"
	"github.com/aws/aws-sdk-go-v2/aws/retry"

	"github.com/driftwatch/driftwatch/shared/internal/motoserver"
)

// moto is the package's one emulator (it takes most of a second to start).
//
// What moto 5.2.1 does for AssumeRoleWithWebIdentity (sts/responses.py,
// sts/models.py), which bounds what these tests prove:
//   - it verifies nothing about the token: not its signature, issuer,
//     audience, expiry, nor even that one was sent; no IAM OIDC provider
//     or trust policy is consulted and the role need not exist. Token
//     validation and trust policy conditions are AWS's side (documented in
//     the package comment) and are not exercised here;
//   - it honours DurationSeconds (any value; real STS requires 900 and more)
//     for the Expiration it returns;
//   - it issues a fresh access key in the role's account (taken from the
//     role ARN), and later requests signed with that key act in that
//     account: that is how the tests see that a DynamoDB call really used
//     the federated credentials;
//   - it never returns an error, so STS's error answers are tested against
//     a hand-written server (stsErrorServer).
var moto *motoserver.Server

func TestMain(m *testing.M) {
	s, err := motoserver.Start(context.Background())
	if err != nil {
		fmt.Fprintln(os.Stderr, "awsfed tests:", err)
		os.Exit(1)
	}
	moto = s
	code := m.Run()
	s.Close()
	os.Exit(code)
}

const (
	testRegion  = "eu-west-1"
	testAccount = "111122223333"
	testRole    = "arn:aws:iam::" + testAccount + ":role/driftwatch-azure"
	testSession = "driftwatch-azure-detector"
)

// testJWT returns a compact JWT with the given claims and a dummy
// signature: moto does not verify tokens, and tokenClaims only reads them.
func testJWT(tb testing.TB, claims map[string]any) string {
	tb.Helper()
	payload, err := json.Marshal(claims)
	if err != nil {
		tb.Fatal(err)
	}
	enc := base64.RawURLEncoding.EncodeToString
	return enc([]byte(`{"alg":"RS256","typ":"JWT"}`)) + "." + enc(payload) + "." + enc([]byte("signature"))
}

// azureLikeToken is shaped like a managed identity's Entra v1 token.
func azureLikeToken(tb testing.TB) string {
	return testJWT(tb, map[string]any{
		"iss": "https://sts.windows.net/72f988bf-86f1-41af-91ab-2d7cd011db47/",
		"aud": "api://driftwatch-aws",
		"sub": "9f4b2a1c-5d6e-4f70-8a9b-0c1d2e3f4a5b",
		"oid": "9f4b2a1c-5d6e-4f70-8a9b-0c1d2e3f4a5b",
		"exp": time.Now().Add(24 * time.Hour).Unix(),
	})
}

// countingSource is a TokenSource that counts its calls.
type countingSource struct {
	calls atomic.Int32
	token func(n int32) (string, error)
}

func (c *countingSource) Token(ctx context.Context) (string, error) {
	return c.token(c.calls.Add(1))
}

func staticSource(token string) *countingSource {
	return &countingSource{token: func(int32) (string, error) { return token, nil }}
}

// stsCall is one AssumeRoleWithWebIdentity request as STS received it.
type stsCall struct {
	RoleArn, RoleSessionName, WebIdentityToken, DurationSeconds string
}

// stsRecorder is the HTTP transport of the tests' clients: it forwards
// every request unchanged and records the AssumeRoleWithWebIdentity ones
// (STS's query protocol: a form POST with Action=...).
type stsRecorder struct {
	next  http.RoundTripper
	mu    sync.Mutex
	calls []stsCall
}

func newRecorder() *stsRecorder {
	return &stsRecorder{next: http.DefaultTransport.(*http.Transport).Clone()}
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
			r.calls = append(r.calls, stsCall{
				RoleArn: form.Get("RoleArn"), RoleSessionName: form.Get("RoleSessionName"),
				WebIdentityToken: form.Get("WebIdentityToken"), DurationSeconds: form.Get("DurationSeconds"),
			})
			r.mu.Unlock()
		}
	}
	return r.next.RoundTrip(req)
}

func (r *stsRecorder) assumeCalls() []stsCall {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]stsCall(nil), r.calls...)
}

// fastRetryer is the SDK's standard retryer (with its standard retryable
// checks, which include fedError's RetryableError) without waits or retry
// quota, so that tests count attempts without sleeping.
func fastRetryer() aws.Retryer {
	return retry.NewStandard(func(o *retry.StandardOptions) {
		o.MaxAttempts = 3
		o.Backoff = retry.BackoffDelayerFunc(func(int, error) (time.Duration, error) { return time.Millisecond, nil })
		o.RateLimiter = ratelimit.None
	})
}

// testOptions are valid options against moto, with rec as the transport.
func testOptions(src TokenSource, rec *stsRecorder) Options {
	return Options{
		Region:          testRegion,
		RoleARN:         testRole,
		RoleSessionName: testSession,
		TokenSource:     src,
		BaseEndpoint:    moto.URL,
		HTTPClient:      &http.Client{Transport: rec},
		Retryer:         fastRetryer,
	}
}
