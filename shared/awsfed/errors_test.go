package awsfed

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
)

// stsErrorServer answers every request with one STS error, in STS's query
// protocol error format (<ErrorResponse><Error>...). It is a hand-written
// fake of STS's error answers because moto's AssumeRoleWithWebIdentity
// never fails (see the moto note in main_test.go); successes are tested
// against moto.
func stsErrorServer(t *testing.T, status int, code string) (url string, requests *atomic.Int32) {
	t.Helper()
	requests = new(atomic.Int32)
	typ := "Sender"
	if status >= 500 {
		typ = "Receiver"
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		requests.Add(1)
		if err := r.ParseForm(); err != nil || r.PostForm.Get("Action") != "AssumeRoleWithWebIdentity" {
			t.Errorf("unexpected request to STS: %v %v", r.PostForm, err)
		}
		w.Header().Set("Content-Type", "text/xml")
		w.WriteHeader(status)
		fmt.Fprintf(w, `<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">`+
			`<Error><Type>%s</Type><Code>%s</Code><Message>test message for %s</Message></Error>`+
			`<RequestId>c6104cbe-af31-11e0-8154-cbc7ccf896c7</RequestId></ErrorResponse>`, typ, code, code)
	}))
	t.Cleanup(srv.Close)
	return srv.URL, requests
}

// TestSTSErrors: each STS answer is classified (ErrRejected, IsRetryable)
// and a rejection names the token's claims. attempts is what the SDK's STS
// client does by itself within one refresh (fastRetryer: 3 attempts):
// stscreds retries InvalidIdentityToken on purpose (it can be transient
// while IAM fetches the issuer's keys), the STS client IDPCommunicationError,
// the standard retryer throttling and 5xx. Those in-call retries reuse the
// token; IsRetryable is the verdict after them.
func TestSTSErrors(t *testing.T) {
	const claimsMsg = `token iss="https://sts.windows.net/72f988bf-86f1-41af-91ab-2d7cd011db47/" aud="api://driftwatch-aws" sub="9f4b2a1c-5d6e-4f70-8a9b-0c1d2e3f4a5b"`
	for _, tc := range []struct {
		status        int
		code          string
		wantRejected  bool
		wantRetryable bool
		wantAttempts  int32
	}{
		{status: 400, code: "InvalidIdentityToken", wantRejected: true, wantAttempts: 3},
		{status: 403, code: "AccessDenied", wantRejected: true, wantAttempts: 1},
		{status: 400, code: "IDPRejectedClaim", wantRejected: true, wantAttempts: 1},
		{status: 400, code: "ValidationError", wantRejected: true, wantAttempts: 1},
		{status: 400, code: "ExpiredTokenException", wantRejected: true, wantRetryable: true, wantAttempts: 1},
		{status: 400, code: "IDPCommunicationError", wantRetryable: true, wantAttempts: 3},
		{status: 400, code: "Throttling", wantRetryable: true, wantAttempts: 3},
		{status: 503, code: "ServiceUnavailable", wantRetryable: true, wantAttempts: 3},
		{status: 500, code: "InternalFailure", wantRetryable: true, wantAttempts: 3},
		{status: 400, code: "SomeFutureClientError", wantRejected: true, wantAttempts: 1},
	} {
		t.Run(tc.code, func(t *testing.T) {
			url, requests := stsErrorServer(t, tc.status, tc.code)
			src := staticSource(azureLikeToken(t))
			opts := testOptions(src, newRecorder())
			opts.STSEndpoint = url
			cfg, err := Config(opts)
			if err != nil {
				t.Fatal(err)
			}
			_, err = cfg.Credentials.Retrieve(context.Background())
			if err == nil {
				t.Fatal("Retrieve succeeded")
			}
			msg := err.Error()
			if !strings.Contains(msg, tc.code) || !strings.Contains(msg, "test message for "+tc.code) {
				t.Errorf("error %q does not carry STS's code and message", msg)
			}
			if errors.Is(err, ErrRejected) != tc.wantRejected || IsRetryable(err) != tc.wantRetryable || errors.Is(err, ErrToken) {
				t.Errorf("ErrRejected %v, IsRetryable %v, ErrToken %v; want %v, %v, false",
					errors.Is(err, ErrRejected), IsRetryable(err), errors.Is(err, ErrToken), tc.wantRejected, tc.wantRetryable)
			}
			wantPrefix := "failed to refresh cached credentials, awsfed: assume role " + testRole + " with web identity: "
			if tc.wantRejected {
				wantPrefix = "failed to refresh cached credentials, awsfed: STS rejected the web identity: role " + testRole +
					" (" + claimsMsg + "; the role's trust policy conditions must match these): "
			}
			if !strings.HasPrefix(msg, wantPrefix) {
				t.Errorf("error = %q\nwant prefix %q", msg, wantPrefix)
			}
			if n := requests.Load(); n != tc.wantAttempts {
				t.Errorf("STS received %d requests, want %d", n, tc.wantAttempts)
			}
			if n := src.calls.Load(); n != 1 {
				t.Errorf("token source called %d times, want 1 (the SDK retries with the same token)", n)
			}
		})
	}
}

// TestRejectionWithoutJWT: a token that is not a JWT is still sent (STS
// decides), and the rejection says its claims could not be read.
func TestRejectionWithoutJWT(t *testing.T) {
	url, _ := stsErrorServer(t, 400, "IDPRejectedClaim")
	opts := testOptions(staticSource("opaque-token"), newRecorder())
	opts.STSEndpoint = url
	cfg, err := Config(opts)
	if err != nil {
		t.Fatal(err)
	}
	_, err = cfg.Credentials.Retrieve(context.Background())
	if !errors.Is(err, ErrRejected) || !strings.Contains(err.Error(), "(token is not a readable JWT; the role's trust policy") {
		t.Errorf("error = %v, want ErrRejected saying the token is not a readable JWT", err)
	}
}

// TestIsRetryableForeignErrors: only this package's refresh failures carry
// a verdict.
func TestIsRetryableForeignErrors(t *testing.T) {
	for _, err := range []error{nil, errors.New("x"), context.DeadlineExceeded, ErrToken, ErrRejected} {
		if IsRetryable(err) {
			t.Errorf("IsRetryable(%v) = true", err)
		}
	}
}
