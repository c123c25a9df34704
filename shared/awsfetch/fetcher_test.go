package awsfetch

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"

	"github.com/driftwatch/driftwatch/shared/awsres"
	"github.com/driftwatch/driftwatch/shared/change"
	"github.com/driftwatch/driftwatch/shared/resource"
)

func TestFetchRejects(t *testing.T) {
	e := newEnv(t)
	f := e.fetcher(nil)
	tests := []struct {
		name string
		ref  change.ResourceRef
		want error
	}{
		{"unknown type", change.ResourceRef{Type: "AWS::Lambda::Function", ID: "arn:aws:lambda:us-east-1:123456789012:function:f"}, resource.ErrUnsupportedType},
		{"another cloud", change.ResourceRef{Cloud: change.Azure, Type: awsres.TypeS3Bucket, Name: "b"}, resource.ErrUnsupportedType},
		{"no id or name", change.ResourceRef{Type: awsres.TypeS3Bucket}, ErrInvalidRef},
		{"security group by name", change.ResourceRef{Type: awsres.TypeSecurityGroup, Name: "web-app", Region: "us-east-1"}, ErrInvalidRef},
		{"policy name without account", change.ResourceRef{Type: awsres.TypeIAMPolicy, Name: "read-invoices"}, ErrInvalidRef},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := f.Fetch(e.ctx, tc.ref)
			if !errors.Is(err, tc.want) {
				t.Errorf("Fetch error = %v, want %v", err, tc.want)
			}
			if got.Exists || got.Doc != nil {
				t.Errorf("a rejected reference returned a resource: %+v", got)
			}
		})
	}
}

// TestAccountFromSTSOnce: with no account in the reference or the Options,
// the fetcher asks STS once and remembers the answer.
func TestAccountFromSTSOnce(t *testing.T) {
	e := newEnv(t)
	bucket := e.n("acme-sts-lookup")
	e.createBucket(t, bucket)
	var mu sync.Mutex
	sts := 0
	_, url := newFaultProxy(t, func(w http.ResponseWriter, r *http.Request) bool {
		if strings.Contains(r.Header.Get("Authorization"), "/sts/aws4_request") {
			mu.Lock()
			sts++
			mu.Unlock()
		}
		return false
	})
	f := New(motoConfig(url, "us-east-1"), &Options{S3UsePathStyle: true})
	for range 3 {
		got, err := f.Fetch(e.ctx, change.ResourceRef{Type: awsres.TypeS3Bucket, Name: bucket})
		if err != nil {
			t.Fatal(err)
		}
		if got.Ref.Account != motoAccount {
			t.Errorf("Ref.Account = %q, want %q from STS", got.Ref.Account, motoAccount)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if sts != 1 {
		t.Errorf("STS was called %d times, want 1", sts)
	}
}

func TestFetchLogs(t *testing.T) {
	e := newEnv(t)
	var buf bytes.Buffer
	f := e.fetcher(&Options{Logger: slog.New(slog.NewJSONHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))})
	e.fetch(t, f, change.ResourceRef{Type: awsres.TypeIAMRole, Name: e.n("never-created"), Account: motoAccount})
	for _, want := range []string{`"msg":"resource fetched"`, `"resource_type":"AWS::IAM::Role"`, `"exists":false`, `"resource_id":"arn:aws:iam::123456789012:role/never-created-`} {
		if !strings.Contains(buf.String(), want) {
			t.Errorf("log %s lacks %s", buf.String(), want)
		}
	}
}

// gate stands in front of moto and holds the requests match selects until
// want of them are in flight together, recording the most seen at once.
// A fetcher that read them one at a time would never open the gate; the
// gate then gives up after a while, and maxInFlight shows it.
type gate struct {
	next  http.Handler
	match func(r *http.Request, body string) bool
	want  int

	mu          sync.Mutex
	inFlight    int
	maxInFlight int
	open        chan struct{}
	once        sync.Once
}

func newGate(t testing.TB, want int, match func(r *http.Request, body string) bool) (*gate, string) {
	target, err := url.Parse(emulator.URL)
	if err != nil {
		t.Fatal(err)
	}
	g := &gate{next: httputil.NewSingleHostReverseProxy(target), match: match, want: want, open: make(chan struct{})}
	s := httptest.NewServer(g)
	t.Cleanup(s.Close)
	return g, s.URL
}

func (g *gate) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	if !g.match(r, string(body)) {
		g.next.ServeHTTP(w, r)
		return
	}
	g.mu.Lock()
	g.inFlight++
	g.maxInFlight = max(g.maxInFlight, g.inFlight)
	if g.inFlight >= g.want {
		g.once.Do(func() { close(g.open) })
	}
	g.mu.Unlock()
	select {
	case <-g.open:
	case <-time.After(10 * time.Second):
	}
	// A moment in flight after opening, so later arrivals can overlap too.
	time.Sleep(5 * time.Millisecond)
	g.next.ServeHTTP(w, r)
	g.mu.Lock()
	g.inFlight--
	g.mu.Unlock()
}

func (g *gate) max() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.maxInFlight
}

// TestBucketReadsConcurrent: after the location lookup, the eight bucket
// reads are in flight together.
func TestBucketReadsConcurrent(t *testing.T) {
	e := newEnv(t)
	bucket := e.n("acme-parallel")
	e.createBucket(t, bucket)
	g, url := newGate(t, 8, func(r *http.Request, _ string) bool {
		return strings.HasPrefix(r.URL.Path, "/"+bucket) && !r.URL.Query().Has("location")
	})
	f := New(motoConfig(url, "us-east-1"), &Options{S3UsePathStyle: true, AccountID: motoAccount})
	if _, err := f.Fetch(e.ctx, change.ResourceRef{Type: awsres.TypeS3Bucket, Name: bucket}); err != nil {
		t.Fatal(err)
	}
	if got := g.max(); got != 8 {
		t.Errorf("at most %d bucket reads were in flight together, want 8", got)
	}
}

// TestPolicyReadsBounded: a principal's managed policies are read in
// parallel, never more than MaxConcurrency at a time.
func TestPolicyReadsBounded(t *testing.T) {
	e := newEnv(t)
	user := e.n("many-policies")
	e.createUser(t, user, "/", nil)
	var want []awsres.AttachedPolicy
	for _, name := range []string{"read-a", "read-b", "read-c", "read-d", "read-e"} {
		arn := e.createPolicy(t, e.n(name), readBucketsDoc)
		must(t)(e.iam.AttachUserPolicy(e.ctx, &iam.AttachUserPolicyInput{UserName: aws.String(user), PolicyArn: aws.String(arn)}))
		want = append(want, awsres.AttachedPolicy{Name: e.n(name), ARN: arn, Kind: "managed", Document: parsed(t, readBucketsDoc)})
	}
	const bound = 2
	g, url := newGate(t, bound, func(_ *http.Request, body string) bool {
		return strings.Contains(body, "Action=GetPolicy&") || strings.Contains(body, "Action=GetPolicyVersion&")
	})
	f := New(motoConfig(url, "us-east-1"), &Options{MaxConcurrency: bound})
	got, err := f.Fetch(context.Background(), change.ResourceRef{Type: awsres.TypeIAMUser, Name: user, Account: motoAccount})
	if err != nil {
		t.Fatal(err)
	}
	if n := g.max(); n != bound {
		t.Errorf("%d policy reads were in flight together, want exactly the bound %d", n, bound)
	}
	// Read in parallel, reported in the order IAM lists them.
	assertJSON(t, "policies", got.Doc.(*awsres.IAMUser).Policies, want)
}
