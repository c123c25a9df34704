package awsfetch

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/driftwatch/driftwatch/shared/awsres"
	"github.com/driftwatch/driftwatch/shared/change"
	"github.com/driftwatch/driftwatch/shared/resource"
)

// httpError wraps an API error the way the SDK does for an HTTP response.
func httpError(status int, api error) error {
	return &smithy.OperationError{ServiceID: "S3", OperationName: "GetBucketAcl", Err: &awshttp.ResponseError{
		ResponseError: &smithyhttp.ResponseError{Response: &smithyhttp.Response{Response: &http.Response{StatusCode: status, Header: http.Header{}}}, Err: api},
		RequestID:     "req-1",
	}}
}

func TestTranslate(t *testing.T) {
	type class int
	const (
		other class = iota
		notFound
		notConfigured
		denied
		retryable
	)
	api := func(code string, fault smithy.ErrorFault) error {
		return &smithy.GenericAPIError{Code: code, Message: "m", Fault: fault}
	}
	tests := []struct {
		name string
		err  error
		want class
	}{
		{"S3 NoSuchBucket", httpError(404, api("NoSuchBucket", smithy.FaultClient)), notFound},
		{"EC2 InvalidGroup.NotFound", api("InvalidGroup.NotFound", smithy.FaultClient), notFound},
		{"CloudTrail TrailNotFoundException", api("TrailNotFoundException", smithy.FaultClient), notFound},
		{"KMS NotFoundException", api("NotFoundException", smithy.FaultClient), notFound},
		{"IAM NoSuchEntity", api("NoSuchEntity", smithy.FaultClient), notFound},
		{"RDS DBInstanceNotFound", api("DBInstanceNotFound", smithy.FaultClient), notFound},
		{"no public access block", api("NoSuchPublicAccessBlockConfiguration", smithy.FaultClient), notConfigured},
		{"no default encryption", api("ServerSideEncryptionConfigurationNotFoundError", smithy.FaultClient), notConfigured},
		{"no bucket policy", api("NoSuchBucketPolicy", smithy.FaultClient), notConfigured},
		{"no tags", api("NoSuchTagSet", smithy.FaultClient), notConfigured},
		{"no ownership controls", api("OwnershipControlsNotFoundError", smithy.FaultClient), notConfigured},
		{"S3 AccessDenied", httpError(403, api("AccessDenied", smithy.FaultClient)), denied},
		{"KMS AccessDeniedException", api("AccessDeniedException", smithy.FaultClient), denied},
		{"EC2 UnauthorizedOperation", api("UnauthorizedOperation", smithy.FaultClient), denied},
		{"IAM Throttling", api("Throttling", smithy.FaultClient), retryable},
		{"KMS ThrottlingException", api("ThrottlingException", smithy.FaultClient), retryable},
		{"EC2 RequestLimitExceeded", api("RequestLimitExceeded", smithy.FaultClient), retryable},
		{"S3 SlowDown 503", httpError(503, api("SlowDown", smithy.FaultServer)), retryable},
		{"unknown code, HTTP 500", httpError(500, api("InternalError", smithy.FaultUnknown)), retryable},
		{"unknown code, server fault", api("ServiceUnavailableException", smithy.FaultServer), retryable},
		{"connection refused", &smithy.OperationError{ServiceID: "S3", OperationName: "GetBucketAcl", Err: &smithyhttp.RequestSendError{
			Err: &url.Error{Op: "Get", URL: "http://127.0.0.1:1", Err: errors.New("dial tcp 127.0.0.1:1: connect: connection refused")}}}, retryable},
		{"validation error", httpError(400, api("ValidationError", smithy.FaultClient)), other},
		{"cancelled", context.Canceled, other},
		{"not an AWS error", errors.New("boom"), other},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := translate(tc.err)
			if !errors.Is(got, tc.err) {
				t.Errorf("translate lost the SDK error: %v", got)
			}
			var c class
			switch {
			case errors.Is(got, errNotFound):
				c = notFound
			case errors.Is(got, errNotConfigured):
				c = notConfigured
			case errors.Is(got, resource.ErrAccessDenied):
				c = denied
			case errors.Is(got, ErrRetryable):
				c = retryable
			}
			if c != tc.want {
				t.Errorf("translate(%v) classified as %d, want %d", tc.err, c, tc.want)
			}
			if IsRetryable(got) != (tc.want == retryable) {
				t.Errorf("IsRetryable = %v, want %v", IsRetryable(got), tc.want == retryable)
			}
		})
	}
	if translate(nil) != nil {
		t.Error("translate(nil) != nil")
	}
}

func TestIsRetryableNeverForDenial(t *testing.T) {
	// One read throttled, another denied: retrying cannot help.
	err := errors.Join(fmt.Errorf("%w: x", ErrRetryable), fmt.Errorf("%w: y", resource.ErrAccessDenied))
	if IsRetryable(err) {
		t.Error("IsRetryable = true for an error that includes an access denial")
	}
}

// faultProxy stands in front of moto and answers the requests fault
// matches itself, to produce the failures and redirects AWS can return and
// no emulator does. Everything else goes to moto.
type faultProxy struct {
	next  http.Handler
	fault func(w http.ResponseWriter, r *http.Request) bool

	mu      sync.Mutex
	regions []string // signing Region of every request, in order
}

func newFaultProxy(t testing.TB, fault func(w http.ResponseWriter, r *http.Request) bool) (*faultProxy, string) {
	target, err := url.Parse(emulator.URL)
	if err != nil {
		t.Fatal(err)
	}
	p := &faultProxy{next: httputil.NewSingleHostReverseProxy(target), fault: fault}
	s := httptest.NewServer(p)
	t.Cleanup(s.Close)
	return p, s.URL
}

func (p *faultProxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	p.mu.Lock()
	p.regions = append(p.regions, signingRegion(r))
	p.mu.Unlock()
	if !p.fault(w, r) {
		p.next.ServeHTTP(w, r)
	}
}

// signingRegion reads the Region from the SigV4 credential scope:
// Credential=AKID/date/REGION/service/aws4_request.
func signingRegion(r *http.Request) string {
	if _, scope, ok := strings.Cut(r.Header.Get("Authorization"), "Credential="); ok {
		if parts := strings.Split(scope, "/"); len(parts) > 2 {
			return parts[2]
		}
	}
	return ""
}

func s3Error(w http.ResponseWriter, status int, code string) {
	w.Header().Set("Content-Type", "application/xml")
	w.WriteHeader(status)
	fmt.Fprintf(w, `<?xml version="1.0" encoding="UTF-8"?><Error><Code>%s</Code><Message>injected</Message><RequestId>r</RequestId></Error>`, code)
}

func TestFetchErrorsOverTheWire(t *testing.T) {
	tests := []struct {
		name string
		// query is the S3 subresource whose request fails.
		query   string
		status  int
		code    string
		denied  bool
		retried bool
	}{
		{name: "location denied", query: "location", status: 403, code: "AccessDenied", denied: true},
		{name: "one parallel read denied", query: "acl", status: 403, code: "AccessDenied", denied: true},
		{name: "one parallel read throttled", query: "policy", status: 503, code: "SlowDown", retried: true},
		{name: "server error", query: "tagging", status: 500, code: "InternalError", retried: true},
		{name: "unexpected client error", query: "versioning", status: 400, code: "InvalidRequest"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			bucket := e.n("acme-faulty")
			e.createBucket(t, bucket)
			_, url := newFaultProxy(t, func(w http.ResponseWriter, r *http.Request) bool {
				if r.URL.Query().Has(tc.query) {
					s3Error(w, tc.status, tc.code)
					return true
				}
				return false
			})
			f := New(motoConfig(url, "us-east-1"), &Options{S3UsePathStyle: true, AccountID: motoAccount})
			_, err := f.Fetch(e.ctx, change.ResourceRef{Type: awsres.TypeS3Bucket, Name: bucket})
			if err == nil {
				t.Fatal("Fetch succeeded despite the injected failure")
			}
			if !strings.Contains(err.Error(), tc.code) {
				t.Errorf("error %q does not carry the AWS code %s", err, tc.code)
			}
			if got := errors.Is(err, resource.ErrAccessDenied); got != tc.denied {
				t.Errorf("errors.Is(err, ErrAccessDenied) = %v, want %v (%v)", got, tc.denied, err)
			}
			if got := IsRetryable(err); got != tc.retried {
				t.Errorf("IsRetryable = %v, want %v (%v)", got, tc.retried, err)
			}
		})
	}
}

// TestFetchBucketRedirect: S3 answers a request signed for the wrong Region
// with a redirect naming the bucket's Region in a header (moto does not, so
// the proxy does). The fetcher must follow it and read everything there.
func TestFetchBucketRedirect(t *testing.T) {
	e := newEnv(t)
	bucket := e.n("acme-sydney-archive")
	e.in("ap-southeast-2").createBucket(t, bucket)
	proxy, url := newFaultProxy(t, func(w http.ResponseWriter, r *http.Request) bool {
		if strings.HasPrefix(r.URL.Path, "/"+bucket) && signingRegion(r) != "ap-southeast-2" {
			w.Header().Set("X-Amz-Bucket-Region", "ap-southeast-2")
			s3Error(w, http.StatusMovedPermanently, "PermanentRedirect")
			return true
		}
		return false
	})
	f := New(motoConfig(url, "us-east-1"), &Options{S3UsePathStyle: true, AccountID: motoAccount, Now: func() time.Time { return testClock }})
	got, err := f.Fetch(e.ctx, change.ResourceRef{Type: awsres.TypeS3Bucket, Name: bucket, Region: "us-east-1"})
	if err != nil {
		t.Fatal(err)
	}
	if doc := got.Doc.(*awsres.S3Bucket); doc.Region != "ap-southeast-2" || got.Ref.Region != "ap-southeast-2" {
		t.Errorf("Region: doc %q, ref %q, want ap-southeast-2", doc.Region, got.Ref.Region)
	}
	proxy.mu.Lock()
	defer proxy.mu.Unlock()
	// The first location request went to the event's Region; after the
	// redirect, every bucket read is signed for the bucket's Region (the
	// account-level S3 Control read stays in the default Region).
	if len(proxy.regions) < 3 || proxy.regions[0] != "us-east-1" {
		t.Fatalf("requests signed for %v", proxy.regions)
	}
	redirected := 0
	for _, r := range proxy.regions[1:] {
		if r == "ap-southeast-2" {
			redirected++
		}
	}
	if redirected != 9 {
		t.Errorf("%d requests after the redirect were signed for ap-southeast-2, want 9 (location + 8 bucket reads): %v", redirected, proxy.regions)
	}
}
