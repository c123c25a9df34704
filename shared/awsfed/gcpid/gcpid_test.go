package gcpid

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
	"strings"
	"sync"
	"testing"
	"time"

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
		fmt.Fprintln(os.Stderr, "gcpid tests:", err)
		os.Exit(1)
	}
	moto = s
	code := m.Run()
	s.Close()
	os.Exit(code)
}

const (
	audience  = "api://driftwatch-aws"
	saID      = "104478531162233458199" // the service account's unique id (sub)
	saEmail   = "driftwatch-gcp@driftwatch-prod.iam.gserviceaccount.com"
	testRole  = "arn:aws:iam::777788889999:role/driftwatch-gcp"
	testSess  = "driftwatch-gcp-detector"
	awsRegion = "eu-west-1"
)

// fakeMetadata is a hand-written fake of the GCE / Cloud Run metadata
// server's identity endpoint: Google publishes no emulator of the metadata
// server. Like the real one it refuses a request without the
// Metadata-Flavor: Google header (403), answers 404 for an unknown path or
// when no service account is attached, and answers 200 with the bare
// compact JWT (text, no JSON) signed by Google; here unsigned, since
// nothing on this side or in moto verifies signatures.
type fakeMetadata struct {
	mu      sync.Mutex
	queries []url.Values
	issued  []string
	status  int           // 0: 200
	body    string        // body of a non-200 answer
	aud     string        // aud to issue instead of the requested one
	ttl     time.Duration // token lifetime; 0: 1h
	now     func() time.Time
	block   chan struct{} // when set, answers wait for it to close
	srv     *httptest.Server
}

func startMetadata(t *testing.T) *fakeMetadata {
	t.Helper()
	f := &fakeMetadata{now: time.Now}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.srv.Close)
	return f
}

// host is the fake's host:port, the value GCE_METADATA_HOST would have.
func (f *fakeMetadata) host() string { return strings.TrimPrefix(f.srv.URL, "http://") }

func (f *fakeMetadata) serve(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	block := f.block
	f.mu.Unlock()
	if block != nil {
		select {
		case <-block:
		case <-r.Context().Done():
			return
		}
	}
	w.Header().Set("Metadata-Flavor", "Google")
	if r.Header.Get("Metadata-Flavor") != "Google" {
		w.Header().Set("Content-Type", "text/html; charset=UTF-8")
		w.WriteHeader(http.StatusForbidden)
		fmt.Fprint(w, "Missing Metadata-Flavor:Google header.\n")
		return
	}
	if r.Method != http.MethodGet || r.URL.Path != identityPath {
		http.NotFound(w, r)
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.queries = append(f.queries, r.URL.Query())
	if f.status != 0 {
		w.WriteHeader(f.status)
		fmt.Fprint(w, f.body)
		return
	}
	aud := r.URL.Query().Get("audience")
	if f.aud != "" {
		aud = f.aud
	}
	ttl := f.ttl
	if ttl == 0 {
		ttl = time.Hour
	}
	tok := googleToken(aud, f.now(), ttl, len(f.issued))
	f.issued = append(f.issued, tok)
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	fmt.Fprint(w, tok)
}

func (f *fakeMetadata) set(fn func(f *fakeMetadata)) {
	f.mu.Lock()
	defer f.mu.Unlock()
	fn(f)
}

func (f *fakeMetadata) received() []url.Values {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]url.Values(nil), f.queries...)
}

func (f *fakeMetadata) tokens() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.issued...)
}

// googleToken is shaped like a metadata server ID token of format=full
// (n makes each token distinct).
func googleToken(aud string, now time.Time, ttl time.Duration, n int) string {
	enc := base64.RawURLEncoding.EncodeToString
	payload, _ := json.Marshal(map[string]any{
		"iss": "https://accounts.google.com", "aud": aud, "azp": saID, "sub": saID,
		"email": saEmail, "email_verified": true, "iat": now.Unix(), "exp": now.Add(ttl).Unix(),
		"google": map[string]any{"compute_engine": map[string]any{"project_id": "driftwatch-prod", "zone": "europe-west1-b"}},
		"n":      n,
	})
	return enc([]byte(`{"alg":"RS256","kid":"1f40f0a8ef3d880978dc82f25c3ec317c6a5b781","typ":"JWT"}`)) + "." + enc(payload) + "." + enc([]byte("signature"))
}

func newSource(t *testing.T, f *fakeMetadata, opts *Options) *Source {
	t.Helper()
	o := Options{}
	if opts != nil {
		o = *opts
	}
	o.Host = f.host()
	s, err := New(audience, &o)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TestFakeRequiresHeader: the fake refuses, as the real server does, a
// request without Metadata-Flavor: Google (so the next tests prove the
// source sends it).
func TestFakeRequiresHeader(t *testing.T) {
	f := startMetadata(t)
	resp, err := http.Get(f.srv.URL + identityPath + "?audience=x")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden {
		t.Errorf("status = %d, want 403", resp.StatusCode)
	}
}

func TestToken(t *testing.T) {
	f := startMetadata(t)
	s := newSource(t, f, nil)
	tok, err := s.Token(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if issued := f.tokens(); len(issued) != 1 || issued[0] != tok {
		t.Errorf("token is not the one the metadata server issued")
	}
	q := f.received()
	want := url.Values{"audience": {audience}, "format": {"full"}}
	if len(q) != 1 || q[0].Encode() != want.Encode() {
		t.Errorf("queries = %v, want one %v", q, want)
	}
}

// TestCacheAndRefresh: the token is reused until RefreshBefore its exp,
// then replaced.
func TestCacheAndRefresh(t *testing.T) {
	f := startMetadata(t)
	s := newSource(t, f, &Options{RefreshBefore: 5 * time.Minute})
	start := time.Now()
	clock := start
	s.now = func() time.Time { return clock }
	ctx := context.Background()
	first, err := s.Token(ctx)
	if err != nil {
		t.Fatal(err)
	}
	exp := start.Add(time.Hour).Truncate(time.Second) // exp is whole seconds
	for _, at := range []time.Time{start.Add(time.Minute), exp.Add(-5*time.Minute - time.Second)} {
		clock = at
		if tok, err := s.Token(ctx); err != nil || tok != first {
			t.Fatalf("at %s: a new token or %v, want the cached one", at.Sub(start), err)
		}
	}
	if n := len(f.received()); n != 1 {
		t.Fatalf("%d requests before the refresh, want 1", n)
	}
	clock = exp.Add(-5 * time.Minute)
	f.set(func(f *fakeMetadata) { f.now = func() time.Time { return clock } })
	second, err := s.Token(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if second == first || len(f.received()) != 2 {
		t.Errorf("5 min before exp: same token or %d requests, want a new token from a 2nd request", len(f.received()))
	}
}

// TestConcurrentCallersShareOneRequest: callers arriving while a request
// is under way wait for it.
func TestConcurrentCallersShareOneRequest(t *testing.T) {
	f := startMetadata(t)
	release := make(chan struct{})
	f.set(func(f *fakeMetadata) { f.block = release })
	s := newSource(t, f, nil)
	const n = 20
	var wg sync.WaitGroup
	toks := make([]string, n)
	errs := make([]error, n)
	for i := range n {
		wg.Go(func() { toks[i], errs[i] = s.Token(context.Background()) })
	}
	// Let the callers pile up behind the one request.
	time.Sleep(100 * time.Millisecond)
	close(release)
	wg.Wait()
	for i := range n {
		if errs[i] != nil || toks[i] != toks[0] {
			t.Fatalf("caller %d: %v, or another token", i, errs[i])
		}
	}
	if got := len(f.received()); got != 1 {
		t.Errorf("%d requests for %d concurrent callers, want 1", got, n)
	}
}

// TestCallerCancelled: a caller that gives up does not fail the shared
// request.
func TestCallerCancelled(t *testing.T) {
	f := startMetadata(t)
	release := make(chan struct{})
	f.set(func(f *fakeMetadata) { f.block = release })
	s := newSource(t, f, nil)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := s.Token(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled caller: %v, want context.Canceled", err)
	}
	close(release)
	if _, err := s.Token(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := len(f.received()); got != 1 {
		t.Errorf("%d requests, want 1 (the cancelled caller's, shared)", got)
	}
}

// retrieve runs one awsfed refresh with s (STS is moto; it is not reached
// when the token fails).
func retrieve(t *testing.T, s *Source) error {
	t.Helper()
	cfg, err := awsfed.Config(awsfed.Options{
		Region: awsRegion, RoleARN: testRole, RoleSessionName: testSess, TokenSource: s, BaseEndpoint: moto.URL,
	})
	if err != nil {
		t.Fatal(err)
	}
	_, err = cfg.Credentials.Retrieve(context.Background())
	return err
}

// TestErrors: each failure's message and retry verdict, through awsfed.
func TestErrors(t *testing.T) {
	long := strings.Repeat("internal error ", 100)
	for _, tc := range []struct {
		name          string
		setup         func(f *fakeMetadata)
		down          bool
		wantIn        []string
		wantNotIn     []string
		wantRetryable bool
	}{
		{name: "wrong audience", setup: func(f *fakeMetadata) { f.aud = "https://someone-else.example" },
			wantIn: []string{`token is for another audience: aud "https://someone-else.example", want "api://driftwatch-aws"`}},
		{name: "expired", setup: func(f *fakeMetadata) { f.ttl = -time.Minute },
			wantIn: []string{"token has expired: exp "}, wantRetryable: true},
		{name: "no service account", setup: func(f *fakeMetadata) { f.status, f.body = http.StatusNotFound, "Not Found\n" },
			wantIn: []string{`no service account is attached to the function (or the path is wrong): status 404: "Not Found"`}},
		{name: "server error, body truncated", setup: func(f *fakeMetadata) { f.status, f.body = http.StatusInternalServerError, long },
			wantIn: []string{`status 500: "internal error internal error`, `..."`}, wantNotIn: []string{long[:300]}, wantRetryable: true},
		{name: "not a JWT", setup: func(f *fakeMetadata) { f.status, f.body = http.StatusOK, "<html>captive portal</html>" },
			wantIn: []string{"answer is not a JWT"}, wantNotIn: []string{"captive"}, wantRetryable: true},
		{name: "server down", down: true,
			wantIn: []string{"unreachable: not running on Google Cloud, or GCE_METADATA_HOST is wrong"}, wantRetryable: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := startMetadata(t)
			if tc.setup != nil {
				f.set(tc.setup)
			}
			s := newSource(t, f, nil)
			if tc.down {
				f.srv.Close()
			}
			err := retrieve(t, s)
			if !errors.Is(err, awsfed.ErrToken) || awsfed.IsRetryable(err) != tc.wantRetryable {
				t.Fatalf("error = %v; want ErrToken, retryable %v", err, tc.wantRetryable)
			}
			msg := err.Error()
			if !strings.Contains(msg, "gcpid: ID token for api://driftwatch-aws from the metadata server "+f.host()+": ") {
				t.Errorf("error %q does not name the audience and the host", msg)
			}
			for _, w := range tc.wantIn {
				if !strings.Contains(msg, w) {
					t.Errorf("error %q lacks %q", msg, w)
				}
			}
			for _, w := range tc.wantNotIn {
				if strings.Contains(msg, w) {
					t.Errorf("error %q holds %q", msg, w)
				}
			}
			for _, tok := range f.tokens() {
				if strings.Contains(msg, tok) || strings.Contains(msg, strings.Split(tok, ".")[1]) {
					t.Errorf("error quotes the token")
				}
			}
			// A failed answer is not cached.
			if _, err := s.Token(context.Background()); err == nil {
				t.Errorf("second call succeeded")
			}
		})
	}
}

// TestTimeout: a metadata server that does not answer is given up after
// Timeout.
func TestTimeout(t *testing.T) {
	f := startMetadata(t)
	f.set(func(f *fakeMetadata) { f.block = make(chan struct{}) })
	s := newSource(t, f, &Options{Timeout: 50 * time.Millisecond})
	start := time.Now()
	_, err := s.Token(context.Background())
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("error = %v, want DeadlineExceeded", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("took %s", d)
	}
}

func TestNew(t *testing.T) {
	for _, tc := range []struct {
		name     string
		audience string
		opts     *Options
		wantErr  string
	}{
		{name: "no audience", wantErr: "awsfed: invalid configuration: audience is not set"},
		{name: "URL for host", audience: audience, opts: &Options{Host: "http://169.254.169.254"},
			wantErr: `awsfed: invalid configuration: gcpid: metadata host "http://169.254.169.254" (GCE_METADATA_HOST) is not host or host:port`},
		{name: "host with path", audience: audience, opts: &Options{Host: "169.254.169.254/x"},
			wantErr: `awsfed: invalid configuration: gcpid: metadata host "169.254.169.254/x" (GCE_METADATA_HOST) is not host or host:port`},
		{name: "negative timeout", audience: audience, opts: &Options{Timeout: -1},
			wantErr: "awsfed: invalid configuration: gcpid: Timeout -1ns is negative"},
		{name: "refresh before too long", audience: audience, opts: &Options{RefreshBefore: time.Hour},
			wantErr: "awsfed: invalid configuration: gcpid: RefreshBefore 1h0m0s is outside [0, 1h) (ID tokens last 1h)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, err := New(tc.audience, tc.opts)
			if err == nil || err.Error() != tc.wantErr || !errors.Is(err, awsfed.ErrInvalidConfig) || s != nil {
				t.Errorf("New = %v, %v; want error %q wrapping ErrInvalidConfig", s, err, tc.wantErr)
			}
		})
	}
	s, err := New(audience, nil)
	if err != nil {
		t.Fatal(err)
	}
	want := "http://metadata.google.internal/computeMetadata/v1/instance/service-accounts/default/identity?audience=api%3A%2F%2Fdriftwatch-aws&format=full"
	if s.endpoint != want {
		t.Errorf("endpoint = %s, want %s", s.endpoint, want)
	}
}

// TestFederatedEndToEnd: the service account's ID token buys an AWS
// session from STS (moto), which writes to DynamoDB.
func TestFederatedEndToEnd(t *testing.T) {
	ctx := context.Background()
	f := startMetadata(t)
	s := newSource(t, f, nil)
	stsRec := &stsRecorder{next: http.DefaultTransport}
	var logs bytes.Buffer
	cfg, err := awsfed.Config(awsfed.Options{
		Region: awsRegion, RoleARN: testRole, RoleSessionName: testSess, TokenSource: s,
		BaseEndpoint: moto.URL, HTTPClient: &http.Client{Transport: stsRec},
		Logger: slog.New(slog.NewJSONHandler(&logs, nil)),
	})
	if err != nil {
		t.Fatal(err)
	}
	db := dynamodb.NewFromConfig(cfg)
	if err := dynamostore.CreateTable(ctx, db, "posture"); err != nil {
		t.Fatalf("create the posture table as the GCP function: %v", err)
	}
	if err := dynamostore.New(db, "posture").ClaimEvent(ctx, fmt.Sprintf("gcp-event-%d", time.Now().UnixNano()), time.Now(), time.Minute); err != nil {
		t.Fatalf("claim an event as the GCP function: %v", err)
	}
	id, err := sts.NewFromConfig(cfg).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := aws.ToString(id.Arn), "arn:aws:sts::777788889999:assumed-role/driftwatch-gcp/"+testSess; got != want {
		t.Errorf("caller = %s, want %s", got, want)
	}
	// A second refresh reuses the cached ID token.
	cfg.Credentials.(*aws.CredentialsCache).Invalidate()
	if _, err := cfg.Credentials.Retrieve(ctx); err != nil {
		t.Fatal(err)
	}
	tokens := stsRec.tokens()
	issued := f.tokens()
	if len(tokens) != 2 || len(issued) != 1 || tokens[0] != issued[0] || tokens[1] != issued[0] {
		t.Fatalf("STS received %d tokens from %d issued, want the one issued token twice", len(tokens), len(issued))
	}
	for _, want := range []string{`"token_iss":"https://accounts.google.com"`, `"token_aud":"` + audience + `"`, `"token_sub":"` + saID + `"`} {
		if !strings.Contains(logs.String(), want) {
			t.Errorf("refresh log lacks %s:\n%s", want, logs.String())
		}
	}
	if strings.Contains(logs.String(), issued[0]) {
		t.Error("the log holds the ID token")
	}
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

// FuzzCheckToken: checkToken never panics, accepts only tokens whose aud
// is the audience and whose exp is after now, and never quotes the token
// in its error.
func FuzzCheckToken(f *testing.F) {
	now := time.Unix(1_800_000_000, 0)
	f.Add(googleToken(audience, now, time.Hour, 0))
	f.Add(googleToken("other", now, time.Hour, 0))
	f.Add(googleToken(audience, now, -time.Hour, 0))
	f.Add("a.b.c")
	f.Add("")
	f.Add("eyJhbGciOiJSUzI1NiJ9.eyJhdWQiOlsiYXBpOi8vZHJpZnR3YXRjaC1hd3MiXSwiZXhwIjoxLjhlOX0.c2ln")
	f.Fuzz(func(t *testing.T, tok string) {
		exp, err := checkToken(tok, audience, now)
		if err != nil {
			if len(tok) > 8 && strings.Contains(err.Error(), tok) {
				t.Errorf("error quotes the token: %v", err)
			}
			return
		}
		if !exp.After(now) {
			t.Errorf("accepted exp %s, not after %s", exp, now)
		}
		parts := strings.Split(tok, ".")
		if len(parts) != 3 {
			t.Fatalf("accepted a token of %d parts", len(parts))
		}
		payload, err := base64.RawURLEncoding.DecodeString(parts[1])
		if err != nil {
			return // jwt's decoder is laxer (padding); nothing more to check here
		}
		var c map[string]any
		if json.Unmarshal(payload, &c) == nil {
			switch a := c["aud"].(type) {
			case string:
				if a != audience {
					t.Errorf("accepted aud %q", a)
				}
			case []any:
				if len(a) != 1 || a[0] != audience {
					t.Errorf("accepted aud %v", a)
				}
			}
		}
	})
}

// TestCheckToken: the claim shapes checkToken accepts and refuses.
func TestCheckToken(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	enc := base64.RawURLEncoding.EncodeToString
	jwtOf := func(payload string) string {
		return enc([]byte(`{"alg":"RS256","typ":"JWT"}`)) + "." + enc([]byte(payload)) + "." + enc([]byte("sig"))
	}
	exp := fmt.Sprint(now.Add(time.Hour).Unix())
	for _, tc := range []struct {
		name, tok string
		wantErr   error // nil: accepted
	}{
		{name: "aud string", tok: jwtOf(`{"aud":"` + audience + `","exp":` + exp + `}`)},
		{name: "aud array of one", tok: jwtOf(`{"aud":["` + audience + `"],"exp":` + exp + `}`)},
		{name: "aud array of two", tok: jwtOf(`{"aud":["` + audience + `","x"],"exp":` + exp + `}`), wantErr: errAudience},
		{name: "claim names are case-sensitive", tok: jwtOf(`{"AUD":"` + audience + `","exp":` + exp + `}`), wantErr: errAudience},
		{name: "no exp", tok: jwtOf(`{"aud":"` + audience + `"}`), wantErr: errNoExpiry},
		{name: "exp a string", tok: jwtOf(`{"aud":"` + audience + `","exp":"` + exp + `"}`), wantErr: errNotJWT},
		{name: "exp now", tok: jwtOf(`{"aud":"` + audience + `","exp":` + fmt.Sprint(now.Unix()) + `}`), wantErr: errExpired},
		{name: "two parts", tok: "a.b", wantErr: errNotJWT},
		{name: "payload not base64url", tok: "e30.!!!.c2ln", wantErr: errNotJWT},
		{name: "payload not JSON", tok: enc([]byte(`{}`)) + "." + enc([]byte("nope")) + ".c2ln", wantErr: errNotJWT},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := checkToken(tc.tok, audience, now)
			switch {
			case tc.wantErr == nil && (err != nil || !got.Equal(now.Add(time.Hour))):
				t.Errorf("checkToken = %s, %v; want exp %s", got, err, now.Add(time.Hour))
			case tc.wantErr != nil && !errors.Is(err, tc.wantErr):
				t.Errorf("checkToken error = %v, want %v", err, tc.wantErr)
			}
		})
	}
}
