package entrafed_test

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/cloud"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/driftwatch/driftwatch/shared/entrafed"
	"github.com/driftwatch/driftwatch/shared/internal/publishfake"
)

// stubSTS is a TokenAPI answering from a function and counting calls.
type stubSTS struct {
	calls  atomic.Int32
	answer func(in *sts.GetWebIdentityTokenInput) (*sts.GetWebIdentityTokenOutput, error)
}

func (s *stubSTS) GetWebIdentityToken(_ context.Context, in *sts.GetWebIdentityTokenInput, _ ...func(*sts.Options)) (*sts.GetWebIdentityTokenOutput, error) {
	s.calls.Add(1)
	return s.answer(in)
}

// clock is a settable time.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

var t0 = time.Date(2026, 12, 4, 10, 0, 0, 0, time.UTC)

// tokens answers token-<n> valid for ttl from clk's now.
func tokens(clk *clock, ttl time.Duration) *stubSTS {
	s := &stubSTS{}
	s.answer = func(*sts.GetWebIdentityTokenInput) (*sts.GetWebIdentityTokenOutput, error) {
		exp := clk.Now().Add(ttl)
		return &sts.GetWebIdentityTokenOutput{WebIdentityToken: aws.String("token-" + strconv.Itoa(int(s.calls.Load()))), Expiration: &exp}, nil
	}
	return s
}

// The request is what the role's policy allows: the Entra exchange
// audience, RS256, five minutes.
func TestAssertionAsksForTheFederatedAudience(t *testing.T) {
	var got *sts.GetWebIdentityTokenInput
	s := &stubSTS{answer: func(in *sts.GetWebIdentityTokenInput) (*sts.GetWebIdentityTokenOutput, error) {
		got = in
		return &sts.GetWebIdentityTokenOutput{WebIdentityToken: aws.String("t")}, nil
	}}
	if _, err := entrafed.NewAssertions(s, nil).Assertion(t.Context()); err != nil {
		t.Fatal(err)
	}
	if len(got.Audience) != 1 || got.Audience[0] != "api://AzureADTokenExchange" {
		t.Errorf("Audience = %v, want [api://AzureADTokenExchange]", got.Audience)
	}
	if aws.ToString(got.SigningAlgorithm) != "RS256" {
		t.Errorf("SigningAlgorithm = %q, want RS256", aws.ToString(got.SigningAlgorithm))
	}
	if aws.ToInt32(got.DurationSeconds) != 300 {
		t.Errorf("DurationSeconds = %d, want 300 (the role's policy allows no more)", aws.ToInt32(got.DurationSeconds))
	}
	if got.Scope != nil || len(got.Tags) != 0 || got.SubjectMode != "" {
		t.Errorf("unexpected scope, tags or subject mode (each needs another permission): %+v", got)
	}
}

// A token is reused until RefreshWindow before it expires, then replaced.
func TestAssertionCachesUntilShortlyBeforeExpiry(t *testing.T) {
	clk := &clock{now: t0}
	s := tokens(clk, 5*time.Minute)
	a := entrafed.NewAssertions(s, clk.Now)
	first, err := a.Assertion(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	for _, step := range []time.Duration{0, time.Minute, 2*time.Minute + 59*time.Second} {
		clk.Add(step)
		got, err := a.Assertion(t.Context())
		if err != nil || got != first {
			t.Fatalf("after %v: %q, %v; want the cached %q", clk.Now().Sub(t0), got, err, first)
		}
	}
	if n := s.calls.Load(); n != 1 {
		t.Fatalf("%d STS calls within the token's life, want 1", n)
	}
	clk.Add(time.Second) // 4 minutes in: one minute left
	second, err := a.Assertion(t.Context())
	if err != nil || second == first {
		t.Fatalf("at the refresh window: %q, %v; want a new token", second, err)
	}
	if n := s.calls.Load(); n != 2 {
		t.Errorf("%d STS calls, want 2", n)
	}
}

// Without an expiration in the answer, the token is trusted for what was
// asked, counted from before the call.
func TestAssertionWithoutExpiration(t *testing.T) {
	clk := &clock{now: t0}
	s := &stubSTS{}
	s.answer = func(*sts.GetWebIdentityTokenInput) (*sts.GetWebIdentityTokenOutput, error) {
		clk.Add(time.Second) // the call takes a second
		return &sts.GetWebIdentityTokenOutput{WebIdentityToken: aws.String("t")}, nil
	}
	a := entrafed.NewAssertions(s, clk.Now)
	for range 2 {
		if _, err := a.Assertion(t.Context()); err != nil {
			t.Fatal(err)
		}
	}
	clk.now = t0.Add(entrafed.TokenDuration - entrafed.RefreshWindow)
	if _, err := a.Assertion(t.Context()); err != nil {
		t.Fatal(err)
	}
	if n := s.calls.Load(); n != 2 {
		t.Errorf("%d STS calls, want 2 (cached for TokenDuration-RefreshWindow from the request's start)", n)
	}
}

// Concurrent callers share one STS call.
func TestAssertionConcurrentCallersShareOneCall(t *testing.T) {
	clk := &clock{now: t0}
	release := make(chan struct{})
	s := &stubSTS{}
	s.answer = func(*sts.GetWebIdentityTokenInput) (*sts.GetWebIdentityTokenOutput, error) {
		<-release
		exp := t0.Add(5 * time.Minute)
		return &sts.GetWebIdentityTokenOutput{WebIdentityToken: aws.String("shared"), Expiration: &exp}, nil
	}
	a := entrafed.NewAssertions(s, clk.Now)
	var wg sync.WaitGroup
	got := make([]string, 8)
	for i := range got {
		wg.Go(func() {
			tok, err := a.Assertion(context.Background())
			if err != nil {
				t.Error(err)
			}
			got[i] = tok
		})
	}
	time.Sleep(20 * time.Millisecond)
	close(release)
	wg.Wait()
	if n := s.calls.Load(); n != 1 {
		t.Errorf("%d STS calls for 8 concurrent callers, want 1", n)
	}
	for _, tok := range got {
		if tok != "shared" {
			t.Errorf("a caller got %q", tok)
		}
	}
}

// Failures say what failed, never carry a token, and are not cached.
func TestAssertionErrors(t *testing.T) {
	t.Run("sts error", func(t *testing.T) {
		s := &stubSTS{answer: func(*sts.GetWebIdentityTokenInput) (*sts.GetWebIdentityTokenOutput, error) {
			return nil, errors.New("AccessDenied: not authorized to perform sts:GetWebIdentityToken")
		}}
		a := entrafed.NewAssertions(s, nil)
		_, err := a.Assertion(t.Context())
		if want := "sts GetWebIdentityToken: AccessDenied: not authorized to perform sts:GetWebIdentityToken"; err == nil || err.Error() != want {
			t.Errorf("error %v, want %q", err, want)
		}
		a.Assertion(t.Context())
		if n := s.calls.Load(); n != 2 {
			t.Errorf("%d calls: a failure must not be cached", n)
		}
	})
	t.Run("empty token", func(t *testing.T) {
		s := &stubSTS{answer: func(*sts.GetWebIdentityTokenInput) (*sts.GetWebIdentityTokenOutput, error) {
			return &sts.GetWebIdentityTokenOutput{WebIdentityToken: aws.String(" ")}, nil
		}}
		_, err := entrafed.NewAssertions(s, nil).Assertion(t.Context())
		if want := "sts GetWebIdentityToken: the response carries no token"; err == nil || err.Error() != want {
			t.Errorf("error %v, want %q", err, want)
		}
	})
	t.Run("context ends while waiting", func(t *testing.T) {
		block := make(chan struct{})
		s := &stubSTS{answer: func(*sts.GetWebIdentityTokenInput) (*sts.GetWebIdentityTokenOutput, error) {
			<-block
			return &sts.GetWebIdentityTokenOutput{WebIdentityToken: aws.String("t")}, nil
		}}
		a := entrafed.NewAssertions(s, nil)
		done := make(chan struct{})
		go func() { defer close(done); a.Assertion(context.Background()) }()
		for s.calls.Load() == 0 {
			time.Sleep(time.Millisecond)
		}
		ctx, cancel := context.WithTimeout(t.Context(), 10*time.Millisecond)
		defer cancel()
		if _, err := a.Assertion(ctx); !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("a waiter whose context ended: %v, want context.DeadlineExceeded", err)
		}
		close(block)
		<-done
	})
}

// fakeSTSClient is the real STS client pointed at the fake (as
// AWS_ENDPOINT_URL_STS would).
func fakeSTSClient(f *publishfake.Fakes) *sts.Client {
	return sts.New(sts.Options{
		Region:           "eu-west-1",
		BaseEndpoint:     aws.String(f.STS.URL()),
		Credentials:      credentials.NewStaticCredentialsProvider("test", "test", ""),
		HTTPClient:       f.HTTPClient(),
		RetryMaxAttempts: 1,
	})
}

func credentialOptions(f *publishfake.Fakes) *entrafed.Options {
	return &entrafed.Options{
		ClientOptions: azcore.ClientOptions{
			Cloud:     cloud.Configuration{ActiveDirectoryAuthorityHost: f.Entra.URL() + "/"},
			Transport: f.HTTPClient(),
		},
		DisableInstanceDiscovery: true,
	}
}

// The whole exchange over the wire: the STS client signs and sends the
// documented query request, the credential presents the AWS token to the
// Entra token endpoint as the client assertion of the publisher
// application and gets an Event Grid token; a second request for the same
// scope is served from azidentity's cache, with no STS or Entra call.
func TestCredentialExchangesTheAWSTokenWithEntra(t *testing.T) {
	f := publishfake.Start(t)
	cred, err := entrafed.NewCredential(publishfake.Tenant, publishfake.ClientID, fakeSTSClient(f), credentialOptions(f))
	if err != nil {
		t.Fatal(err)
	}
	scope := policy.TokenRequestOptions{Scopes: []string{publishfake.EventGridScope}}
	tok, err := cred.GetToken(t.Context(), scope)
	if err != nil {
		t.Fatal(err)
	}
	if !f.Entra.Issued(tok.Token) {
		t.Fatalf("the credential's token %q is not one Entra issued", tok.Token)
	}

	stsReqs := f.STS.Requests()
	if len(stsReqs) != 1 {
		t.Fatalf("%d STS requests, want 1", len(stsReqs))
	}
	form := stsReqs[0].Form
	for k, want := range map[string]string{
		"Action": "GetWebIdentityToken", "Version": "2011-06-15", "Audience.member.1": "api://AzureADTokenExchange",
		"SigningAlgorithm": "RS256", "DurationSeconds": "300",
	} {
		if got := form.Get(k); got != want {
			t.Errorf("STS request %s = %q, want %q", k, got, want)
		}
	}
	var tokenReqs []publishfake.Request
	for _, r := range f.Entra.Requests() {
		if r.Path == publishfake.TokenPath {
			tokenReqs = append(tokenReqs, r)
		}
	}
	if len(tokenReqs) != 1 {
		t.Fatalf("%d Entra token requests, want 1", len(tokenReqs))
	}
	ef := tokenReqs[0].Form
	if a := ef.Get("client_assertion"); a == "" || !f.STS.Issued(a) {
		t.Errorf("client_assertion %q is not the token STS issued", a)
	}
	for k, want := range map[string]string{
		"client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
		"client_id":             publishfake.ClientID,
		"grant_type":            "client_credentials",
	} {
		if got := ef.Get(k); got != want {
			t.Errorf("Entra token request %s = %q, want %q", k, got, want)
		}
	}
	if !strings.Contains(" "+ef.Get("scope")+" ", " https://eventgrid.azure.net/.default ") {
		t.Errorf("Entra token request scope = %q", ef.Get("scope"))
	}
	if ef.Has("client_secret") {
		t.Error("a client secret was sent")
	}

	again, err := cred.GetToken(t.Context(), scope)
	if err != nil || again.Token != tok.Token {
		t.Fatalf("second GetToken: %q, %v; want the cached %q", again.Token, err, tok.Token)
	}
	if n := len(f.STS.Requests()); n != 1 {
		t.Errorf("%d STS requests after a cached GetToken, want 1", n)
	}
}

// An account without outbound identity federation: the error says what to
// enable, and Entra is never asked.
func TestCredentialWithoutOutboundFederation(t *testing.T) {
	f := publishfake.Start(t)
	f.STS.SetDisabled(true)
	cred, err := entrafed.NewCredential(publishfake.Tenant, publishfake.ClientID, fakeSTSClient(f), credentialOptions(f))
	if err != nil {
		t.Fatal(err)
	}
	_, err = cred.GetToken(t.Context(), policy.TokenRequestOptions{Scopes: []string{publishfake.EventGridScope}})
	if err == nil || !strings.Contains(err.Error(), "aws iam enable-outbound-web-identity-federation") {
		t.Fatalf("error %v, want one naming aws iam enable-outbound-web-identity-federation", err)
	}
	for _, r := range f.Entra.Requests() {
		if r.Path == publishfake.TokenPath {
			t.Error("Entra was asked for a token without an assertion")
		}
	}
}

func TestNewCredentialNeedsAClient(t *testing.T) {
	if _, err := entrafed.NewCredential(publishfake.Tenant, publishfake.ClientID, nil, nil); err == nil || err.Error() != "entrafed: nil STS client" {
		t.Errorf("error %v", err)
	}
}
