package awsfed

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials/stscreds"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/driftwatch/driftwatch/shared/store/dynamostore"
)

// TestFederatedDynamoDB is the whole path: a token from the source,
// credentials from STS (moto) by web identity, then real DynamoDB calls
// through the posture store, signed with those credentials. The session is
// fetched once and reused by every later call.
func TestFederatedDynamoDB(t *testing.T) {
	ctx := context.Background()
	token := azureLikeToken(t)
	src := staticSource(token)
	rec := newRecorder()
	var logs bytes.Buffer
	opts := testOptions(src, rec)
	opts.Duration = 15 * time.Minute
	opts.Logger = slog.New(slog.NewJSONHandler(&logs, nil))
	cfg, err := Config(opts)
	if err != nil {
		t.Fatal(err)
	}
	if src.calls.Load() != 0 || len(rec.assumeCalls()) != 0 {
		t.Fatalf("Config did I/O: %d token calls, %d STS calls", src.calls.Load(), len(rec.assumeCalls()))
	}
	if cfg.Region != testRegion {
		t.Errorf("Region = %q, want %q", cfg.Region, testRegion)
	}
	if _, ok := cfg.Credentials.(*aws.CredentialsCache); !ok {
		t.Errorf("Credentials is %T, want *aws.CredentialsCache", cfg.Credentials)
	}

	// The posture store on the federated configuration.
	db := dynamodb.NewFromConfig(cfg)
	table := "posture-" + strings.ToLower(t.Name())
	if err := dynamostore.CreateTable(ctx, db, table); err != nil {
		t.Fatalf("create table with federated credentials: %v", err)
	}
	st := dynamostore.New(db, table)
	now := time.Now()
	event := fmt.Sprintf("evt-federated-%d", now.UnixNano()) // unique under -count
	if err := st.ClaimEvent(ctx, event, now, time.Minute); err != nil {
		t.Fatalf("claim event with federated credentials: %v", err)
	}
	if err := st.CompleteEvent(ctx, event, now, time.Hour); err != nil {
		t.Fatalf("complete event with federated credentials: %v", err)
	}

	// The calls were signed as the assumed role: STS names the session...
	id, err := sts.NewFromConfig(cfg).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	if err != nil {
		t.Fatal(err)
	}
	wantARN := "arn:aws:sts::" + testAccount + ":assumed-role/driftwatch-azure/" + testSession
	if aws.ToString(id.Arn) != wantARN || aws.ToString(id.Account) != testAccount {
		t.Errorf("caller identity = %s in %s, want %s in %s", aws.ToString(id.Arn), aws.ToString(id.Account), wantARN, testAccount)
	}
	// ...and the table exists in the role's account only: moto's default
	// account (static test keys) does not have it.
	_, err = dynamodb.NewFromConfig(moto.Config(testRegion)).DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(table)})
	if rnf := (*types.ResourceNotFoundException)(nil); !errors.As(err, &rnf) {
		t.Errorf("DescribeTable with static keys: err = %v, want ResourceNotFoundException (the table belongs to %s)", err, testAccount)
	}

	// One token, one STS call for all of the above.
	if n := src.calls.Load(); n != 1 {
		t.Errorf("token source called %d times, want 1", n)
	}
	calls := rec.assumeCalls()
	want := []stsCall{{RoleArn: testRole, RoleSessionName: testSession, WebIdentityToken: token, DurationSeconds: "900"}}
	if fmt.Sprint(calls) != fmt.Sprint(want) {
		t.Errorf("AssumeRoleWithWebIdentity calls = %+v, want %+v", calls, want)
	}

	// The cached credentials: the session's expiry (moto honours
	// DurationSeconds) less the expiry window.
	before := time.Now()
	creds, err := cfg.Credentials.Retrieve(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !creds.CanExpire || creds.Source != stscreds.WebIdentityProviderName || creds.AccountID != testAccount || creds.SessionToken == "" {
		t.Errorf("credentials = %+v, want expiring %s credentials of %s with a session token", creds, stscreds.WebIdentityProviderName, testAccount)
	}
	wantExpiry := now.Add(15*time.Minute - DefaultExpiryWindow)
	if d := creds.Expires.Sub(wantExpiry); d < -5*time.Second || d > before.Sub(now)+5*time.Second {
		t.Errorf("credentials expire at %s, want about %s (15 min session - 5 min window)", creds.Expires, wantExpiry)
	}

	// One record per refresh, with the claims a trust policy matches.
	var rec1 map[string]any
	if err := json.Unmarshal(bytes.TrimSpace(logs.Bytes()), &rec1); err != nil {
		t.Fatalf("want exactly one JSON log record, got %q: %v", logs.String(), err)
	}
	for k, v := range map[string]string{
		"msg": "aws credentials refreshed", "role_arn": testRole, "role_session_name": testSession,
		"token_iss": "https://sts.windows.net/72f988bf-86f1-41af-91ab-2d7cd011db47/", "token_aud": "api://driftwatch-aws",
		"token_sub": "9f4b2a1c-5d6e-4f70-8a9b-0c1d2e3f4a5b", "access_key_id": creds.AccessKeyID,
	} {
		if rec1[k] != v {
			t.Errorf("log %s = %v, want %q", k, rec1[k], v)
		}
	}
	if strings.Contains(logs.String(), creds.SecretAccessKey) || strings.Contains(logs.String(), token) {
		t.Error("the log record holds the secret key or the identity token")
	}
}

// TestConcurrentCallersShareOneRefresh: callers that need credentials at
// the same moment wait for one token and one STS call.
func TestConcurrentCallersShareOneRefresh(t *testing.T) {
	release := make(chan struct{})
	src := &countingSource{token: func(int32) (string, error) {
		<-release // hold the refresh until every caller has started
		return "header.payload.signature", nil
	}}
	rec := newRecorder()
	cfg, err := Config(testOptions(src, rec))
	if err != nil {
		t.Fatal(err)
	}
	const callers = 16
	keys := make([]string, callers)
	var started, wg sync.WaitGroup
	started.Add(callers)
	for i := range callers {
		wg.Go(func() {
			started.Done()
			c, err := cfg.Credentials.Retrieve(context.Background())
			if err != nil {
				t.Error(err)
			}
			keys[i] = c.AccessKeyID
		})
	}
	started.Wait()
	close(release)
	wg.Wait()
	if n := src.calls.Load(); n != 1 {
		t.Errorf("token source called %d times by %d concurrent callers, want 1", n, callers)
	}
	if n := len(rec.assumeCalls()); n != 1 {
		t.Errorf("STS called %d times, want 1", n)
	}
	for i, k := range keys {
		if k == "" || k != keys[0] {
			t.Errorf("caller %d got access key %q, caller 0 %q: want the same session", i, k, keys[0])
		}
	}
}

// TestRefreshNearExpiry drives the SDK cache's expiry logic with real
// sessions from moto: credentials inside the expiry window are refreshed
// (a new token, a new STS call, a new session) and outside it are reused.
// The cache reads the SDK's internal clock, which cannot be injected, so
// the window is moved instead of the clock: a window longer than the
// session (which Config refuses, hence newCredentials) puts every session
// inside it.
func TestRefreshNearExpiry(t *testing.T) {
	for _, tc := range []struct {
		name          string
		window        time.Duration
		wantRefreshes int
	}{
		{name: "inside the window: refreshed at each call", window: 2 * DefaultDuration, wantRefreshes: 3},
		{name: "outside the window: reused", window: DefaultExpiryWindow, wantRefreshes: 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			src := &countingSource{token: func(n int32) (string, error) { return fmt.Sprintf("token-%d", n), nil }}
			rec := newRecorder()
			o, err := testOptions(src, rec).withDefaults()
			if err != nil {
				t.Fatal(err)
			}
			o.ExpiryWindow = tc.window
			stsClient := sts.NewFromConfig(aws.Config{Region: o.Region, BaseEndpoint: aws.String(moto.URL), HTTPClient: o.HTTPClient})
			creds := newCredentials(stsClient, o)
			keys := map[string]bool{}
			for range 3 {
				c, err := creds.Retrieve(context.Background())
				if err != nil {
					t.Fatal(err)
				}
				keys[c.AccessKeyID] = true
			}
			calls := rec.assumeCalls()
			if int(src.calls.Load()) != tc.wantRefreshes || len(calls) != tc.wantRefreshes || len(keys) != tc.wantRefreshes {
				t.Errorf("3 calls: %d tokens, %d STS calls, %d sessions; want %d of each",
					src.calls.Load(), len(calls), len(keys), tc.wantRefreshes)
			}
			// Each refresh sent the token fetched for it.
			for i, c := range calls {
				if want := fmt.Sprintf("token-%d", i+1); c.WebIdentityToken != want {
					t.Errorf("STS call %d sent token %q, want %q", i+1, c.WebIdentityToken, want)
				}
			}
		})
	}
}

// permanent is a token source error that says it cannot change, the way
// azuremi reports an identity endpoint's 400.
type permanent struct{ error }

func (permanent) RetryableError() bool { return false }

// TestTokenSourceFailure: a source that fails (or returns nothing) fails
// the refresh with ErrToken before any STS call, with its retry verdict.
func TestTokenSourceFailure(t *testing.T) {
	outage := errors.New("identity endpoint: connection refused")
	for _, tc := range []struct {
		name          string
		token         string
		err           error
		wantMsg       string
		wantRetryable bool
		wantIs        error
	}{
		{
			name: "transient failure", err: outage, wantRetryable: true, wantIs: outage,
			wantMsg: "awsfed: no identity token for role " + testRole + ": identity endpoint: connection refused",
		},
		{
			name: "permanent failure", err: permanent{errors.New("identity not assigned")}, wantRetryable: false,
			wantMsg: "awsfed: no identity token for role " + testRole + ": identity not assigned",
		},
		{
			name: "empty token", token: "", wantRetryable: true, wantIs: errEmptyToken,
			wantMsg: "awsfed: no identity token for role " + testRole + ": token source returned an empty token",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			src := &countingSource{token: func(int32) (string, error) { return tc.token, tc.err }}
			rec := newRecorder()
			cfg, err := Config(testOptions(src, rec))
			if err != nil {
				t.Fatal(err)
			}
			_, err = cfg.Credentials.Retrieve(context.Background())
			if err == nil {
				t.Fatal("Retrieve succeeded")
			}
			// The SDK cache prefixes its own words; ours follow verbatim.
			if want := "failed to refresh cached credentials, " + tc.wantMsg; err.Error() != want {
				t.Errorf("error = %q\nwant    %q", err, want)
			}
			if !errors.Is(err, ErrToken) || errors.Is(err, ErrRejected) {
				t.Errorf("errors.Is(ErrToken) = %v, (ErrRejected) = %v; want true, false", errors.Is(err, ErrToken), errors.Is(err, ErrRejected))
			}
			if tc.wantIs != nil && !errors.Is(err, tc.wantIs) {
				t.Errorf("the source's error %v is not in the chain", tc.wantIs)
			}
			if IsRetryable(err) != tc.wantRetryable {
				t.Errorf("IsRetryable = %v, want %v", IsRetryable(err), tc.wantRetryable)
			}
			if n := len(rec.assumeCalls()); n != 0 {
				t.Errorf("STS called %d times after the token failed", n)
			}

			// A client whose request needs the credentials retries exactly
			// when IsRetryable says so (fastRetryer: 3 attempts).
			src.calls.Store(0)
			_, err = dynamodb.NewFromConfig(cfg).ListTables(context.Background(), &dynamodb.ListTablesInput{})
			if !errors.Is(err, ErrToken) {
				t.Fatalf("ListTables error = %v, want ErrToken in the chain", err)
			}
			wantAttempts := int32(1)
			if tc.wantRetryable {
				wantAttempts = 3
			}
			if n := src.calls.Load(); n != wantAttempts {
				t.Errorf("ListTables asked the source %d times, want %d", n, wantAttempts)
			}
			if n := len(rec.assumeCalls()); n != 0 {
				t.Errorf("STS called %d times", n)
			}
		})
	}
}

// TestSTSEndpointOverride: STSEndpoint takes precedence over BaseEndpoint
// for STS alone.
func TestSTSEndpointOverride(t *testing.T) {
	rec := newRecorder()
	opts := testOptions(staticSource("a.b.c"), rec)
	opts.BaseEndpoint = "http://127.0.0.1:9" // discard port: nothing answers
	opts.STSEndpoint = moto.URL
	cfg, err := Config(opts)
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToString(cfg.BaseEndpoint) != "http://127.0.0.1:9" {
		t.Errorf("BaseEndpoint = %q, want the services' endpoint", aws.ToString(cfg.BaseEndpoint))
	}
	if _, err := cfg.Credentials.Retrieve(context.Background()); err != nil {
		t.Fatalf("credentials from the STS endpoint: %v", err)
	}
	if n := len(rec.assumeCalls()); n != 1 {
		t.Errorf("STS called %d times, want 1", n)
	}
}

// TestRefreshIsBounded: a token source that hangs ends with the refresh
// timeout, not never (the SDK cache detaches a refresh from its caller's
// cancellation).
func TestRefreshIsBounded(t *testing.T) {
	hang := TokenFunc(func(ctx context.Context) (string, error) {
		<-ctx.Done()
		return "", ctx.Err()
	})
	rec := newRecorder()
	opts := testOptions(hang, rec)
	opts.RefreshTimeout = 50 * time.Millisecond
	cfg, err := Config(opts)
	if err != nil {
		t.Fatal(err)
	}
	_, err = cfg.Credentials.Retrieve(context.Background())
	if !errors.Is(err, ErrToken) || !errors.Is(err, context.DeadlineExceeded) || !IsRetryable(err) {
		t.Errorf("error = %v, want a retryable ErrToken with context.DeadlineExceeded", err)
	}
}
