package gcpapi

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"google.golang.org/api/googleapi"
	storage "google.golang.org/api/storage/v1"

	"github.com/driftwatch/driftwatch/shared/resource"
)

func TestMatchPath(t *testing.T) {
	tests := []struct {
		pattern, path string
		want          map[string]string
		ok            bool
	}{
		{"/storage/v1/b/{bucket}", "/storage/v1/b/b1", map[string]string{"bucket": "b1"}, true},
		{"/storage/v1/b/{bucket}", "/storage/v1/b/b1/iam", nil, false},
		{"/storage/v1/b/{bucket}/iam", "/storage/v1/b/b1/iam", map[string]string{"bucket": "b1"}, true},
		{"/storage/v1/b/{bucket}", "/storage/v1/b/", nil, false},
		{"/storage/v1/b/{bucket}", "/storage/v1/b/b1/", nil, false},
		{"/v3/projects/{project}:getIamPolicy", "/v3/projects/p1:getIamPolicy", map[string]string{"project": "p1"}, true},
		{"/v3/projects/{project}:getIamPolicy", "/v3/projects/p1:setIamPolicy", nil, false},
		{"/v3/projects/{project}:getIamPolicy", "/v3/projects/:getIamPolicy", nil, false},
		{"/v3/projects/{project}:getIamPolicy", "/v3/projects/a:getIamPolicy:getIamPolicy", nil, false},
		{"/v3/projects/{project}", "/v3/projects/p1:getIamPolicy", map[string]string{"project": "p1:getIamPolicy"}, true},
		{"/v1/projects/{project}/serviceAccounts/{account}", "/v1/projects/-/serviceAccounts/sa@p.iam.gserviceaccount.com",
			map[string]string{"project": "-", "account": "sa@p.iam.gserviceaccount.com"}, true},
		{"/v1/projects/{project}/instances/{instance}", "/v1/projects/p/locations/l", nil, false},
		{"/literal", "/literal", nil, true},
	}
	for _, tc := range tests {
		got, ok := MatchPath(tc.pattern, tc.path)
		if ok != tc.ok || fmt.Sprint(got) != fmt.Sprint(tc.want) {
			t.Errorf("MatchPath(%q, %q) = %v, %v; want %v, %v", tc.pattern, tc.path, got, ok, tc.want, tc.ok)
		}
	}
}

func TestFind(t *testing.T) {
	ops := []Operation{StorageBucketsGet, StorageBucketsGetIamPolicy}
	if op, ok := Find(ops, "GET", "/storage/v1/b/b1/iam"); !ok || op.ID != "storage.buckets.getIamPolicy" {
		t.Errorf("Find(GET iam) = %v, %v", op, ok)
	}
	if _, ok := Find(ops, "PUT", "/storage/v1/b/b1/iam"); ok {
		t.Error("PUT matched a GET declaration")
	}
	if !StorageBucketsPatch.Matches("patch", "/storage/v1/b/b1") {
		t.Error("methods are case-insensitive")
	}
}

// catalogue lists every operation this package declares.
func catalogue() []Operation {
	return []Operation{
		StorageBucketsGet, StorageBucketsPatch, StorageBucketsGetIamPolicy, StorageBucketsSetIamPolicy,
		ComputeFirewallsGet, ComputeFirewallsPatch, ComputeGlobalOperationsGet, ComputeGlobalOperationsWait,
		SQLInstancesGet, SQLInstancesPatch, SQLOperationsGet,
		ResourceManagerProjectsGet, ResourceManagerProjectsGetIamPolicy, ResourceManagerProjectsSetIamPolicy,
		IAMServiceAccountsGet, IAMServiceAccountKeysList, KMSCryptoKeysGet, KMSCryptoKeysPatch,
	}
}

func TestCatalogueValid(t *testing.T) {
	if err := Validate(catalogue()); err != nil {
		t.Fatal(err)
	}
	// No two declarations claim the same request.
	for i, a := range catalogue() {
		for _, b := range catalogue()[i+1:] {
			if a.HTTPMethod == b.HTTPMethod && a.Path == b.Path {
				t.Errorf("%s and %s declare the same request", a.ID, b.ID)
			}
		}
	}
}

func TestValidate(t *testing.T) {
	bad := []Operation{
		{ID: "x", HTTPMethod: "GET", Path: "/a"},
		{ID: "y", HTTPMethod: "GET", Path: "a", Permissions: []string{"p"}},
		StorageBucketsGet, StorageBucketsGet,
	}
	err := Validate(bad)
	for _, want := range []string{"x declares no IAM permission", "path starting with /", "storage.buckets.get declared twice"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Validate: %v; want it to say %q", err, want)
		}
	}
	if _, err := (Options{Endpoint: "http://x"}).ClientOptions(t.Context(), bad[:1]); err == nil {
		t.Error("ClientOptions accepted an operation without a permission")
	}
}

func TestPermissions(t *testing.T) {
	got := Permissions([]Operation{StorageBucketsGet, ComputeFirewallsPatch}, []Operation{StorageBucketsGet, ComputeGlobalOperationsGet, ComputeGlobalOperationsWait})
	want := []string{"compute.firewalls.update", "compute.globalOperations.get", "compute.networks.updatePolicy", "storage.buckets.get"}
	if !slices.Equal(got, want) {
		t.Errorf("Permissions = %v, want %v", got, want)
	}
}

// server records what reaches it.
type server struct {
	mu    sync.Mutex
	paths []string
	agent string
}

func (s *server) start(t *testing.T) string {
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		s.paths = append(s.paths, r.Method+" "+r.URL.Path)
		s.agent = r.Header.Get("User-Agent")
		s.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"name":"b1","kind":"storage#bucket"}`)
	}))
	t.Cleanup(hs.Close)
	return hs.URL
}

func (s *server) seen() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.paths)
}

// TestClientOptions: through a real client, a declared call goes to the
// endpoint under its own path, an undeclared one never leaves the
// process.
func TestClientOptions(t *testing.T) {
	var srv server
	base := srv.start(t)
	for _, endpoint := range []string{base, base + "/prefix/"} {
		t.Run(endpoint, func(t *testing.T) {
			srv.mu.Lock()
			srv.paths = nil
			srv.mu.Unlock()
			opts, err := Options{Endpoint: endpoint, UserAgent: "driftwatch/test"}.ClientOptions(t.Context(), []Operation{StorageBucketsGet})
			if err != nil {
				t.Fatal(err)
			}
			svc, err := storage.NewService(t.Context(), opts...)
			if err != nil {
				t.Fatal(err)
			}
			if b, err := svc.Buckets.Get("b1").Do(); err != nil || b.Name != "b1" {
				t.Fatalf("declared get: %+v, %v", b, err)
			}
			_, err = svc.Buckets.GetIamPolicy("b1").Do()
			if !errors.Is(err, ErrUndeclared) || !strings.Contains(err.Error(), "GET /storage/v1/b/b1/iam") {
				t.Errorf("undeclared getIamPolicy: %v, want ErrUndeclared naming the request", err)
			}
			if IsRetryable(err) {
				t.Error("an undeclared call is retryable")
			}
			prefix := strings.TrimSuffix(strings.TrimPrefix(endpoint, base), "/")
			if got := srv.seen(); !slices.Equal(got, []string{"GET " + prefix + "/storage/v1/b/b1"}) {
				t.Errorf("requests that reached the server: %v", got)
			}
			srv.mu.Lock()
			agent := srv.agent
			srv.mu.Unlock()
			if !strings.HasPrefix(agent, "driftwatch/test ") {
				t.Errorf("User-Agent %q does not start with the configured one", agent)
			}
		})
	}
}

// TestHTTPClientTransportWrapped: the caller's client carries the
// requests (its credentials), and is not modified.
func TestHTTPClientTransportWrapped(t *testing.T) {
	var srv server
	endpoint := srv.start(t)
	var calls int
	var mu sync.Mutex
	mine := &http.Client{Transport: roundTripper(func(r *http.Request) (*http.Response, error) {
		mu.Lock()
		calls++
		mu.Unlock()
		r.Header.Set("Authorization", "Bearer test")
		return http.DefaultTransport.RoundTrip(r)
	})}
	before := mine.Transport
	// Without Endpoint the request goes to Google's host: send it to the
	// test server through the caller's transport instead.
	u, _ := url.Parse(endpoint)
	mine.Transport = roundTripper(func(r *http.Request) (*http.Response, error) {
		r.URL.Scheme, r.URL.Host = u.Scheme, u.Host
		return before.RoundTrip(r)
	})
	wrapped := mine.Transport
	opts, err := Options{HTTPClient: mine}.ClientOptions(t.Context(), []Operation{StorageBucketsGet})
	if err != nil {
		t.Fatal(err)
	}
	svc, err := storage.NewService(t.Context(), opts...)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Buckets.Get("b1").Do(); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Buckets.Patch("b1", &storage.Bucket{}).Do(); !errors.Is(err, ErrUndeclared) {
		t.Errorf("undeclared patch: %v", err)
	}
	if calls != 1 {
		t.Errorf("the caller's transport carried %d requests, want 1", calls)
	}
	if fmt.Sprintf("%p", mine.Transport) != fmt.Sprintf("%p", wrapped) {
		t.Error("the caller's client was modified")
	}
}

type roundTripper func(*http.Request) (*http.Response, error)

func (f roundTripper) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// TestDefaultCredentials: without a client or an endpoint, the options
// authenticate with Application Default Credentials, and the declared-only
// transport still wraps that client. (The refused call needs no network.)
func TestDefaultCredentials(t *testing.T) {
	file := filepath.Join(t.TempDir(), "adc.json")
	adc := `{"type":"authorized_user","client_id":"id","client_secret":"secret","refresh_token":"token"}`
	if err := os.WriteFile(file, []byte(adc), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("GOOGLE_APPLICATION_CREDENTIALS", file)
	opts, err := Options{}.ClientOptions(t.Context(), []Operation{StorageBucketsGet})
	if err != nil {
		t.Fatal(err)
	}
	svc, err := storage.NewService(t.Context(), opts...)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Buckets.GetIamPolicy("b1").Do(); !errors.Is(err, ErrUndeclared) {
		t.Errorf("undeclared call through the default client: %v, want ErrUndeclared", err)
	}
}

func TestInvalidEndpoint(t *testing.T) {
	for _, e := range []string{"127.0.0.1:4567", "ftp://host", "http://", "http://h/?q=1"} {
		if _, err := (Options{Endpoint: e}).ClientOptions(context.Background(), nil); err == nil {
			t.Errorf("endpoint %q accepted", e)
		}
	}
}

type netErr struct{}

func (netErr) Error() string   { return "connection reset" }
func (netErr) Timeout() bool   { return false }
func (netErr) Temporary() bool { return true }

var _ net.Error = netErr{}

func TestClassify(t *testing.T) {
	gerr := func(code int) error { return fmt.Errorf("get bucket: %w", &googleapi.Error{Code: code, Message: "m"}) }
	tests := []struct {
		name                              string
		err                               error
		notFound, denied, conflict, retry bool
	}{
		{"404", gerr(404), true, false, false, false},
		{"403", gerr(403), false, true, false, false},
		{"401", gerr(401), false, true, false, false},
		{"409", gerr(409), false, false, true, false},
		{"412", gerr(412), false, false, true, false},
		{"429", gerr(429), false, false, false, true},
		{"500", gerr(500), false, false, false, true},
		{"503", gerr(503), false, false, false, true},
		{"408", gerr(408), false, false, false, true},
		{"400", gerr(400), false, false, false, false},
		{"network", &url.Error{Op: "Get", URL: "u", Err: netErr{}}, false, false, false, true},
		{"canceled", fmt.Errorf("x: %w", context.Canceled), false, false, false, false},
		{"undeclared", fmt.Errorf("%w: GET /x", ErrUndeclared), false, false, false, false},
		{"denied joined with throttled", errors.Join(Classify(gerr(403)), Classify(gerr(429))), false, true, false, false},
		{"plain", errors.New("boom"), false, false, false, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := Classify(tc.err)
			if got := [4]bool{IsNotFound(tc.err), IsAccessDenied(tc.err), IsConflict(tc.err), IsRetryable(tc.err)}; got != [4]bool{tc.notFound, tc.denied, tc.conflict, tc.retry} {
				t.Errorf("notFound, denied, conflict, retryable = %v for %v", got, tc.err)
			}
			if errors.Is(c, resource.ErrAccessDenied) != tc.denied {
				t.Errorf("Classify(%v) = %v: ErrAccessDenied %v, want %v", tc.err, c, !tc.denied, tc.denied)
			}
			var ge *googleapi.Error
			if errors.As(tc.err, &ge) && !errors.As(c, &ge) {
				t.Errorf("Classify dropped the *googleapi.Error: %v", c)
			}
			if Classify(c) != c {
				t.Error("classifying twice wraps twice")
			}
		})
	}
	if Classify(nil) != nil {
		t.Error("Classify(nil) != nil")
	}
}
