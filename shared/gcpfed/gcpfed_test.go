package gcpfed_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"

	"github.com/driftwatch/driftwatch/shared/gcpfed"
	"github.com/driftwatch/driftwatch/shared/gcpfed/gcpfedtest"
)

const (
	testAudience = "//iam.googleapis.com/projects/123456789012/locations/global/workloadIdentityPools/driftwatch/providers/aws-interactivity"
	testSA       = "driftwatch-publisher@driftwatch-prod.iam.gserviceaccount.com"
	testRegion   = "eu-west-1"
)

// The Lambda role's credentials (from its environment).
var roleCreds = aws.Credentials{AccessKeyID: "ASIAFAKEROLEKEY00001", SecretAccessKey: "role-secret-not-a-secret", SessionToken: "role-session-token-not-a-secret"}

func awsConfig(creds aws.Credentials, region string) aws.Config {
	return aws.Config{Region: region, Credentials: credentials.StaticCredentialsProvider{Value: creds}}
}

func start(t *testing.T) *gcpfedtest.Server {
	return gcpfedtest.Start(t, gcpfedtest.Expect{
		Audience: testAudience, ServiceAccount: testSA, Region: testRegion, Credentials: roleCreds, Scope: gcpfed.PubSubScope,
	})
}

func config(g *gcpfedtest.Server) gcpfed.Config {
	return gcpfed.Config{Audience: testAudience, ServiceAccount: testSA, TokenURL: g.TokenURL(), IAMCredentialsURL: g.IAMCredentialsURL(), HTTPClient: g.Client()}
}

// The token source exchanges a SigV4-signed GetCallerIdentity request for
// a federated token, impersonates the service account with it, and
// returns the service account's token; it reuses that token.
func TestTokenSource(t *testing.T) {
	g := start(t)
	ts, err := gcpfed.NewTokenSource(t.Context(), config(g), awsConfig(roleCreds, testRegion))
	if err != nil {
		t.Fatal(err)
	}
	tok, err := ts.Token()
	if err != nil {
		t.Fatal(err)
	}
	if !g.IssuedAccessToken(tok.AccessToken) || tok.Type() != "Bearer" || !tok.Valid() {
		t.Errorf("token %q (%s, valid %v) is not the service account's", tok.AccessToken, tok.Type(), tok.Valid())
	}
	reqs := g.Requests()
	if len(reqs) != 2 {
		t.Fatalf("%d requests, want the exchange and the impersonation", len(reqs))
	}
	for _, r := range reqs {
		if r.Refused != "" {
			t.Errorf("%s refused: %s", r.Path, r.Refused)
		}
	}
	if reqs[0].Path != "/v1/token" {
		t.Errorf("first request %s, want the STS exchange", reqs[0].Path)
	}
	if want := "/v1/projects/-/serviceAccounts/" + testSA + ":generateAccessToken"; reqs[1].Path != want {
		t.Errorf("second request %s, want %s", reqs[1].Path, want)
	}
	bearer, _ := strings.CutPrefix(reqs[1].Header.Get("Authorization"), "Bearer ")
	if !g.IssuedFederatedToken(bearer) {
		t.Errorf("the impersonation was not called with the federated token")
	}

	// Reused: no new exchange.
	again, err := ts.Token()
	if err != nil {
		t.Fatal(err)
	}
	if again.AccessToken != tok.AccessToken || len(g.Requests()) != 2 {
		t.Errorf("the second Token call asked again (%d requests)", len(g.Requests()))
	}
}

// A cancelled cold-start context does not break later exchanges.
func TestTokenSourceOutlivesItsContext(t *testing.T) {
	g := start(t)
	ctx, cancel := context.WithCancel(t.Context())
	ts, err := gcpfed.NewTokenSource(ctx, config(g), awsConfig(roleCreds, testRegion))
	if err != nil {
		t.Fatal(err)
	}
	cancel()
	if _, err := ts.Token(); err != nil {
		t.Fatalf("Token after the context was cancelled: %v", err)
	}
}

// What the fake (as Google STS and AWS would) refuses: another signing
// key, another region, another pool; and a service account the pool may
// not impersonate. The error says whose token failed and carries no
// secret.
func TestTokenSourceRefusals(t *testing.T) {
	otherKey := roleCreds
	otherKey.SecretAccessKey = "another-secret"
	tests := []struct {
		name    string
		cfg     func(gcpfed.Config) gcpfed.Config
		aws     aws.Config
		refused string
	}{
		{"signed with another secret", nil, awsConfig(otherKey, testRegion), "subject token: signature mismatch"},
		{"signed for another region", nil, awsConfig(roleCreds, "us-east-1"), "subject token: request POST https://sts.us-east-1.amazonaws.com"},
		{"another provider", func(c gcpfed.Config) gcpfed.Config {
			c.Audience = strings.Replace(c.Audience, "aws-interactivity", "aws-other", 1)
			return c
		}, awsConfig(roleCreds, testRegion), "audience is"},
		{"another service account", func(c gcpfed.Config) gcpfed.Config {
			c.ServiceAccount = "driftwatch-remediator@driftwatch-prod.iam.gserviceaccount.com"
			return c
		}, awsConfig(roleCreds, testRegion), "no permission to impersonate"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := start(t)
			cfg := config(g)
			if tt.cfg != nil {
				cfg = tt.cfg(cfg)
			}
			ts, err := gcpfed.NewTokenSource(t.Context(), cfg, tt.aws)
			if err != nil {
				t.Fatal(err)
			}
			tok, err := ts.Token()
			if err == nil {
				t.Fatalf("got token %q", tok.AccessToken)
			}
			var refused string
			for _, r := range g.Requests() {
				if r.Refused != "" {
					refused = r.Refused
				}
			}
			if !strings.Contains(refused, tt.refused) {
				t.Errorf("the fake refused %q, want %q", refused, tt.refused)
			}
			if !strings.HasPrefix(err.Error(), "gcpfed: access token of "+cfg.ServiceAccount+" by workload identity federation: ") {
				t.Errorf("error %q does not say whose token failed", err)
			}
			for _, secret := range []string{roleCreds.SecretAccessKey, roleCreds.SessionToken, otherKey.SecretAccessKey} {
				if strings.Contains(err.Error(), secret) {
					t.Errorf("the error carries a secret: %v", err)
				}
			}
		})
	}
}

// An AWS credential failure is the token's error.
func TestTokenSourceAWSCredentialsFail(t *testing.T) {
	g := start(t)
	cfg := aws.Config{Region: testRegion, Credentials: aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) {
		return aws.Credentials{}, errors.New("no role credentials in the environment")
	})}
	ts, err := gcpfed.NewTokenSource(t.Context(), config(g), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ts.Token(); err == nil || !strings.Contains(err.Error(), "no role credentials in the environment") {
		t.Errorf("error = %v, want the AWS credentials' failure", err)
	}
	if n := len(g.Requests()); n != 0 {
		t.Errorf("%d requests to Google without AWS credentials", n)
	}
}

func TestConfigErrors(t *testing.T) {
	valid := gcpfed.Config{Audience: testAudience, ServiceAccount: testSA}
	tests := []struct {
		name string
		mod  func(*gcpfed.Config)
		aws  aws.Config
		want string
	}{
		{"no audience", func(c *gcpfed.Config) { c.Audience = "" }, awsConfig(roleCreds, testRegion),
			"gcpfed: invalid configuration: the audience is required: the workload identity pool provider, //iam.googleapis.com/projects/<number>/locations/global/workloadIdentityPools/<pool>/providers/<provider>"},
		{"audience with the project id", func(c *gcpfed.Config) {
			c.Audience = "//iam.googleapis.com/projects/driftwatch-prod/locations/global/workloadIdentityPools/driftwatch/providers/aws-interactivity"
		}, awsConfig(roleCreds, testRegion),
			`gcpfed: invalid configuration: audience "//iam.googleapis.com/projects/driftwatch-prod/locations/global/workloadIdentityPools/driftwatch/providers/aws-interactivity" is not a workload identity pool provider (//iam.googleapis.com/projects/<number>/locations/global/workloadIdentityPools/<pool>/providers/<provider>)`},
		{"audience of a pool", func(c *gcpfed.Config) {
			c.Audience = "//iam.googleapis.com/projects/123456789012/locations/global/workloadIdentityPools/driftwatch"
		}, awsConfig(roleCreds, testRegion),
			`gcpfed: invalid configuration: audience "//iam.googleapis.com/projects/123456789012/locations/global/workloadIdentityPools/driftwatch" is not a workload identity pool provider (//iam.googleapis.com/projects/<number>/locations/global/workloadIdentityPools/<pool>/providers/<provider>)`},
		{"no service account", func(c *gcpfed.Config) { c.ServiceAccount = "" }, awsConfig(roleCreds, testRegion),
			"gcpfed: invalid configuration: the service account is required: the email of the service account to impersonate"},
		{"service account not an email", func(c *gcpfed.Config) { c.ServiceAccount = "driftwatch-publisher" }, awsConfig(roleCreds, testRegion),
			`gcpfed: invalid configuration: service account "driftwatch-publisher" is not a service account email (<name>@<project>.iam.gserviceaccount.com)`},
		{"a user, not a service account", func(c *gcpfed.Config) { c.ServiceAccount = "alice@example.com" }, awsConfig(roleCreds, testRegion),
			`gcpfed: invalid configuration: service account "alice@example.com" is not a service account email (<name>@<project>.iam.gserviceaccount.com)`},
		{"token URL over http", func(c *gcpfed.Config) { c.TokenURL = "http://sts.googleapis.com/v1/token" }, awsConfig(roleCreds, testRegion),
			`gcpfed: invalid configuration: token URL "http://sts.googleapis.com/v1/token" is not an absolute https URL`},
		{"IAM URL relative", func(c *gcpfed.Config) { c.IAMCredentialsURL = "iamcredentials.googleapis.com" }, awsConfig(roleCreds, testRegion),
			`gcpfed: invalid configuration: IAM Credentials URL "iamcredentials.googleapis.com" is not an absolute https URL`},
		{"scope not a URL", func(c *gcpfed.Config) { c.Scopes = []string{"pubsub"} }, awsConfig(roleCreds, testRegion),
			`gcpfed: invalid configuration: scope "pubsub" is not an OAuth scope URL (https://www.googleapis.com/auth/pubsub)`},
		{"no region", nil, awsConfig(roleCreds, ""),
			"gcpfed: invalid configuration: the AWS configuration has no region: the subject token is a GetCallerIdentity request signed for the function's region"},
		{"no credentials", nil, aws.Config{Region: testRegion},
			"gcpfed: invalid configuration: the AWS configuration has no credentials to sign the subject token with"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := valid
			if tt.mod != nil {
				tt.mod(&c)
			}
			_, err := gcpfed.NewTokenSource(t.Context(), c, tt.aws)
			if err == nil || err.Error() != tt.want {
				t.Fatalf("error\n%v\nwant\n%s", err, tt.want)
			}
			if !errors.Is(err, gcpfed.ErrInvalidConfig) {
				t.Errorf("error does not wrap ErrInvalidConfig")
			}
		})
	}
	if err := valid.Validate(); err != nil {
		t.Errorf("a valid configuration: %v", err)
	}
}

func TestImpersonationURL(t *testing.T) {
	const want = "https://iamcredentials.googleapis.com/v1/projects/-/serviceAccounts/" + testSA + ":generateAccessToken"
	if got := gcpfed.ImpersonationURL(gcpfed.DefaultIAMCredentialsURL, testSA); got != want {
		t.Errorf("ImpersonationURL = %s, want %s", got, want)
	}
}
