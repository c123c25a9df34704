package gcpfetch

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	cloudkms "google.golang.org/api/cloudkms/v1"
	crm "google.golang.org/api/cloudresourcemanager/v3"
	compute "google.golang.org/api/compute/v1"
	iam "google.golang.org/api/iam/v1"
	sqladmin "google.golang.org/api/sqladmin/v1"
	storage "google.golang.org/api/storage/v1"

	"github.com/driftwatch/driftwatch/shared/change"
	"github.com/driftwatch/driftwatch/shared/gcpapi"
	"github.com/driftwatch/driftwatch/shared/gcpres"
	"github.com/driftwatch/driftwatch/shared/internal/gcpfake"
	"github.com/driftwatch/driftwatch/shared/resource"
)

const (
	testProject = "pay-prod"
	testEmail   = "invoicer@pay-prod.iam.gserviceaccount.com"
	testKey     = "projects/pay-prod/locations/europe-west1/keyRings/payments/cryptoKeys/invoices"
)

func bucketRef(name string) change.ResourceRef {
	return change.ResourceRef{Cloud: change.GCP, Type: gcpres.TypeBucket, ID: gcpres.BucketID(name), Account: testProject}
}

// refs returns one reference of every type, named as seedAll seeds them.
func refs() map[string]change.ResourceRef {
	r := func(typ, id string) change.ResourceRef {
		return change.ResourceRef{Cloud: change.GCP, Type: typ, ID: id, Account: testProject}
	}
	return map[string]change.ResourceRef{
		gcpres.TypeBucket:         bucketRef("b1"),
		gcpres.TypeFirewall:       r(gcpres.TypeFirewall, gcpres.FirewallID(testProject, "fw1")),
		gcpres.TypeSQLInstance:    r(gcpres.TypeSQLInstance, gcpres.SQLInstanceID(testProject, "db1")),
		gcpres.TypeProject:        r(gcpres.TypeProject, gcpres.ProjectID(testProject)),
		gcpres.TypeServiceAccount: r(gcpres.TypeServiceAccount, gcpres.ServiceAccountID(testProject, testEmail)),
		gcpres.TypeCryptoKey:      r(gcpres.TypeCryptoKey, gcpres.CryptoKeyID(testProject, "europe-west1", "payments", "invoices")),
	}
}

// seedAll stores one resource of every type.
func seedAll(s *gcpfake.Server) {
	s.PutBucket(&storage.Bucket{Name: "b1", Location: "EU", Labels: map[string]string{"team": "a"}}, nil)
	s.PutFirewall(testProject, &compute.Firewall{Name: "fw1", Direction: "INGRESS", SourceRanges: []string{"10.0.0.0/8"},
		Allowed: []*compute.FirewallAllowed{{IPProtocol: "TCP", Ports: []string{"443"}}}})
	s.PutSQLInstance(testProject, &sqladmin.DatabaseInstance{Name: "db1", Region: "europe-west1"})
	s.PutProject(testProject, &crm.Project{}, nil)
	s.PutServiceAccount(testProject, &iam.ServiceAccount{Email: testEmail})
	s.PutCryptoKey(testKey, &cloudkms.CryptoKey{})
}

// patterns are the request paths of each type's reads, for fault
// injection.
var patterns = map[string]string{
	gcpres.TypeBucket:         "/storage/v1/b/b1",
	gcpres.TypeFirewall:       "/compute/v1/projects/" + testProject + "/global/firewalls/fw1",
	gcpres.TypeSQLInstance:    "/v1/projects/" + testProject + "/instances/db1",
	gcpres.TypeProject:        "/v3/projects/" + testProject,
	gcpres.TypeServiceAccount: "/v1/projects/" + testProject + "/serviceAccounts/" + testEmail,
	gcpres.TypeCryptoKey:      "/v1/" + testKey,
}

func TestFetchEveryType(t *testing.T) {
	f, s := newTestFetcher(t, nil)
	seedAll(s)
	for typ, ref := range refs() {
		got := fetch(t, f, ref)
		if !got.Exists || fmt.Sprintf("%T", got.Doc) != "*"+gcpres.Types()[typ].String() || got.Ref.ID != ref.ID || got.Tags == nil {
			t.Errorf("%s: %+v", typ, got)
		}
	}
	// Details the fixtures do not cover.
	b := fetch(t, f, refs()[gcpres.TypeBucket])
	if d := b.Doc.(*gcpres.Bucket); d.PublicAccessPrevention != "inherited" || d.Project != testProject || b.Ref.Region != "eu" || b.Tags["team"] != "a" {
		t.Errorf("bucket without iamConfiguration: %+v, ref %+v", d, b.Ref)
	}
	fw := fetch(t, f, refs()[gcpres.TypeFirewall]).Doc.(*gcpres.Firewall)
	if fw.Allowed[0].Protocol != "tcp" || fw.FromInternet {
		t.Errorf("firewall: %+v", fw)
	}
	if got := fetch(t, f, refs()[gcpres.TypeCryptoKey]); got.Ref.Region != "europe-west1" || got.Ref.Name != "invoices" {
		t.Errorf("crypto key ref %+v", got.Ref)
	}
}

// TestFetchDeleted: a resource that is gone is a result, with the
// reference's identity kept.
func TestFetchDeleted(t *testing.T) {
	f, s := newTestFetcher(t, nil)
	seedAll(s)
	s.DeleteBucket("b1")
	s.DeleteFirewall(testProject, "fw1")
	s.DeleteSQLInstance(testProject, "db1")
	s.DeleteProject(testProject) // DELETE_REQUESTED, still answered
	s.DeleteServiceAccount(testProject, testEmail)
	s.DeleteCryptoKey(testKey)
	for typ, ref := range refs() {
		got := fetch(t, f, ref)
		if got.Exists || got.Doc != nil || got.Tags != nil || got.Ref.ID != ref.ID || got.Ref.Account != testProject || got.Ref.Name == "" {
			t.Errorf("%s: %+v; want Exists=false with the reference's id", typ, got)
		}
	}
}

// TestFetchLegacyBucketPolicyOnly: uniform bucket-level access under its
// former name counts.
func TestFetchLegacyBucketPolicyOnly(t *testing.T) {
	f, s := newTestFetcher(t, nil)
	s.PutBucket(&storage.Bucket{Name: "b1", IamConfiguration: &storage.BucketIamConfiguration{
		BucketPolicyOnly: &storage.BucketIamConfigurationBucketPolicyOnly{Enabled: true}, PublicAccessPrevention: "unspecified"}}, nil)
	d := fetch(t, f, bucketRef("b1")).Doc.(*gcpres.Bucket)
	if !d.UniformBucketLevelAccess || d.PublicAccessPrevention != "unspecified" {
		t.Errorf("bucket = %+v", d)
	}
}

// TestFirewallWithoutSourcesIsFromInternet: Compute Engine reads an
// ingress rule without any source as 0.0.0.0/0.
func TestFirewallWithoutSourcesIsFromInternet(t *testing.T) {
	tests := []struct {
		name string
		fw   compute.Firewall
		want bool
	}{
		{"no source", compute.Firewall{Direction: "INGRESS"}, true},
		{"source tags only", compute.Firewall{Direction: "INGRESS", SourceTags: []string{"bastion"}}, false},
		{"source service accounts only", compute.Firewall{Direction: "INGRESS", SourceServiceAccounts: []string{testEmail}}, false},
		{"internet among ranges", compute.Firewall{Direction: "INGRESS", SourceRanges: []string{"10.0.0.0/8", "0.0.0.0/0"}}, true},
		{"egress without source", compute.Firewall{Direction: "EGRESS", DestinationRanges: []string{"0.0.0.0/0"}}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f, s := newTestFetcher(t, nil)
			fw := tc.fw
			fw.Name = "fw1"
			fw.Allowed = []*compute.FirewallAllowed{{IPProtocol: "tcp", Ports: []string{"22"}}}
			s.PutFirewall(testProject, &fw)
			if got := fetch(t, f, refs()[gcpres.TypeFirewall]).Doc.(*gcpres.Firewall).FromInternet; got != tc.want {
				t.Errorf("FromInternet = %v, want %v", got, tc.want)
			}
		})
	}
}

// TestFetchInvalidResponse: a value driftwatch does not understand fails
// the fetch rather than being guessed.
func TestFetchInvalidResponse(t *testing.T) {
	tests := []struct {
		name  string
		seed  func(*gcpfake.Server)
		typ   string
		extra error
	}{
		{"reversed port range", func(s *gcpfake.Server) {
			s.PutFirewall(testProject, &compute.Firewall{Name: "fw1", Allowed: []*compute.FirewallAllowed{{IPProtocol: "tcp", Ports: []string{"23-22"}}}})
		}, gcpres.TypeFirewall, gcpres.ErrInvalidPortRange},
		{"rotation in days", func(s *gcpfake.Server) {
			s.PutCryptoKey(testKey, &cloudkms.CryptoKey{RotationPeriod: "90d", NextRotationTime: "2026-01-01T00:00:00Z"})
		}, gcpres.TypeCryptoKey, nil},
		{"next rotation not a time", func(s *gcpfake.Server) {
			s.PutCryptoKey(testKey, &cloudkms.CryptoKey{RotationPeriod: "86400s", NextRotationTime: "tomorrow"})
		}, gcpres.TypeCryptoKey, nil},
		{"key validity not a time", func(s *gcpfake.Server) {
			s.PutServiceAccount(testProject, &iam.ServiceAccount{Email: testEmail}, &iam.ServiceAccountKey{Name: "k1", ValidAfterTime: "2025-13-01"})
		}, gcpres.TypeServiceAccount, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f, s := newTestFetcher(t, nil)
			tc.seed(s)
			_, err := f.Fetch(t.Context(), refs()[tc.typ])
			if !errors.Is(err, ErrInvalidResponse) || (tc.extra != nil && !errors.Is(err, tc.extra)) || IsRetryable(err) {
				t.Errorf("Fetch: %v; want ErrInvalidResponse, not retryable", err)
			}
		})
	}
}

func TestParseSeconds(t *testing.T) {
	tests := []struct {
		in   string
		want int64
		ok   bool
	}{
		{"", 0, true}, {"7776000s", 7776000, true}, {"1.5s", 1, true}, {"0s", 0, true},
		{"90d", 0, false}, {"-5s", 0, false}, {"+5s", 0, false}, {"s", 0, false}, {"5", 0, false},
		{"1.xs", 0, false}, {"99999999999999999999s", 0, false}, {"9223372036854775807s", 0, false},
	}
	for _, tc := range tests {
		got, err := parseSeconds("rotationPeriod", tc.in)
		if got != tc.want || (err == nil) != tc.ok {
			t.Errorf("parseSeconds(%q) = %d, %v; want %d, ok %v", tc.in, got, err, tc.want, tc.ok)
		}
	}
}

// TestFetchErrors: each type's read failures are classified: 403 is an
// access denial, 429 and 503 are retryable.
func TestFetchErrors(t *testing.T) {
	for typ, ref := range refs() {
		for _, status := range []int{http.StatusForbidden, http.StatusTooManyRequests, http.StatusServiceUnavailable} {
			t.Run(fmt.Sprintf("%s/%d", typ, status), func(t *testing.T) {
				f, s := newTestFetcher(t, nil)
				seedAll(s)
				if status == http.StatusForbidden {
					s.Deny(http.MethodGet, patterns[typ])
					s.Deny(http.MethodPost, patterns[typ]+":getIamPolicy")
				} else {
					s.FailReads(patterns[typ], status)
				}
				_, err := f.Fetch(t.Context(), ref)
				if err == nil {
					t.Fatal("Fetch succeeded")
				}
				denied := errors.Is(err, resource.ErrAccessDenied)
				if denied != (status == http.StatusForbidden) || IsRetryable(err) == denied {
					t.Errorf("Fetch: %v; access denied %v, retryable %v", err, denied, IsRetryable(err))
				}
				if !strings.Contains(err.Error(), ref.ID) {
					t.Errorf("error %q does not name the resource", err)
				}
			})
		}
	}
}

// TestFetchUnknownProjectIsDenied: Resource Manager answers 403 for a
// project that does not exist; driftwatch cannot tell it from a missing
// permission and must not erase the project's posture.
func TestFetchUnknownProjectIsDenied(t *testing.T) {
	f, _ := newTestFetcher(t, nil)
	_, err := f.Fetch(t.Context(), refs()[gcpres.TypeProject])
	if !errors.Is(err, resource.ErrAccessDenied) {
		t.Errorf("Fetch of an unknown project: %v, want access denied", err)
	}
}

// TestFetchRejects: references the Fetcher cannot read fail before any
// request, with the sentinel callers branch on.
func TestFetchRejects(t *testing.T) {
	fw := gcpres.FirewallID(testProject, "fw1")
	tests := []struct {
		name string
		ref  change.ResourceRef
		want error
		msg  string
	}{
		{"another cloud", change.ResourceRef{Cloud: change.AWS, Type: gcpres.TypeFirewall, ID: fw}, resource.ErrUnsupportedType, `cloud "aws"`},
		{"a type without reader", change.ResourceRef{Type: "compute.googleapis.com/Instance", ID: "//compute.googleapis.com/projects/p/zones/z/instances/i"}, resource.ErrUnsupportedType, "compute.googleapis.com/Instance"},
		{"no id", change.ResourceRef{Type: gcpres.TypeFirewall, Name: "fw1", Account: testProject}, ErrInvalidRef, "no id"},
		{"a relative name", change.ResourceRef{Type: gcpres.TypeFirewall, ID: "projects/p/global/firewalls/fw1"}, ErrInvalidRef, "is not a //compute.googleapis.com"},
		{"id of another type", change.ResourceRef{Type: gcpres.TypeSQLInstance, ID: fw}, ErrInvalidRef, "is not a //cloudsql.googleapis.com"},
		{"a child of the type", change.ResourceRef{Type: gcpres.TypeSQLInstance, ID: gcpres.SQLInstanceID(testProject, "db1") + "/databases/d"}, ErrInvalidRef, "is not a"},
		{"wildcard project", change.ResourceRef{Type: gcpres.TypeServiceAccount, ID: gcpres.ServiceAccountID("-", testEmail)}, ErrInvalidRef, "names no project"},
		{"account disagrees with the id", change.ResourceRef{Type: gcpres.TypeFirewall, ID: fw, Account: "other"}, ErrInvalidRef, "the reference says other"},
		{"dot-dot segment", change.ResourceRef{Type: gcpres.TypeFirewall, ID: gcpres.FirewallID(testProject, "..")}, ErrInvalidRef, "invalid name"},
		{"escaped slash", change.ResourceRef{Type: gcpres.TypeBucket, ID: gcpres.BucketID("a%2Fb")}, ErrInvalidRef, "invalid name"},
		{"query in a name", change.ResourceRef{Type: gcpres.TypeCryptoKey, ID: gcpres.CryptoKeyID(testProject, "global", "r?x=1", "k")}, ErrInvalidRef, "invalid keyRing"},
		{"space in a name", change.ResourceRef{Type: gcpres.TypeProject, ID: "//cloudresourcemanager.googleapis.com/projects/a b"}, ErrInvalidRef, "invalid project"},
		{"bucket account with a slash", change.ResourceRef{Type: gcpres.TypeBucket, ID: gcpres.BucketID("b1"), Account: "p/x"}, ErrInvalidRef, "invalid project"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f, s := newTestFetcher(t, nil)
			_, err := f.Fetch(t.Context(), tc.ref)
			if !errors.Is(err, tc.want) || !strings.Contains(err.Error(), tc.msg) {
				t.Fatalf("Fetch(%+v): %v; want %v saying %q", tc.ref, err, tc.want, tc.msg)
			}
			if IsRetryable(err) {
				t.Errorf("IsRetryable(%v) = true", err)
			}
			if reqs := s.Requests(); len(reqs) != 0 {
				t.Errorf("requests reached the fake: %v", reqs)
			}
		})
	}
}

// TestFetchCanonicalizesID: an id with a trailing slash or spaces names
// the same resource, and the result carries the canonical form.
func TestFetchCanonicalizesID(t *testing.T) {
	f, s := newTestFetcher(t, nil)
	seedAll(s)
	ref := refs()[gcpres.TypeFirewall]
	want := ref.ID
	ref.ID = " " + ref.ID + "/"
	if got := fetch(t, f, ref); !got.Exists || got.Ref.ID != want {
		t.Errorf("Fetch(%q) = %+v", ref.ID, got.Ref)
	}
}

func TestFetchLogs(t *testing.T) {
	var buf bytes.Buffer
	f, s := newTestFetcher(t, &Options{Logger: slog.New(slog.NewJSONHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))})
	seedAll(s)
	ref := refs()[gcpres.TypeSQLInstance]
	fetch(t, f, ref)
	var rec map[string]any
	if err := json.Unmarshal(buf.Bytes(), &rec); err != nil {
		t.Fatalf("log %q: %v", buf.String(), err)
	}
	if rec["msg"] != "resource fetched" || rec["resource_id"] != ref.ID || rec["exists"] != true || rec["cloud"] != "gcp" {
		t.Errorf("log record %v", rec)
	}
}

// TestFetchReadsConcurrently: the two reads of a bucket overlap, so a
// fetch costs one round trip. The fake serves one request at a time, so
// overlap shows as both requests arriving before either answer is read:
// a 150 ms delay on each would take 300 ms in sequence.
func TestFetchReadsConcurrently(t *testing.T) {
	s := gcpfake.New()
	s.PutBucket(&storage.Bucket{Name: "b1"}, nil)
	const delay = 150 * time.Millisecond
	slow := &slowTransport{delay: delay}
	f := fetcherOn(t, s, &Options{API: gcpapi.Options{HTTPClient: &http.Client{Transport: slow}}}, declaredOperations())
	start := time.Now()
	fetch(t, f, bucketRef("b1"))
	if elapsed := time.Since(start); elapsed >= 2*delay {
		t.Errorf("fetch took %v; two %v reads in parallel take less than %v", elapsed, delay, 2*delay)
	}
}

type slowTransport struct{ delay time.Duration }

func (s *slowTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	time.Sleep(s.delay)
	return http.DefaultTransport.RoundTrip(r)
}

// FuzzResolve: no reference makes resolve panic, and an accepted one is
// the canonical id of a resource of its type.
func FuzzResolve(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join(fixturesDir, "*", "*.json"))
	ids := regexp.MustCompile(`"//[^"]+"`)
	for _, file := range files {
		b, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		for _, m := range ids.FindAll(b, -1) {
			id := strings.Trim(string(m), `"`)
			f.Add(typeOfID(id), id, testProject)
		}
	}
	for typ, ref := range refs() {
		f.Add(typ, ref.ID, "")
	}
	f.Add(gcpres.TypeBucket, "//storage.googleapis.com/projects/_/buckets/../x", "")
	f.Fuzz(func(t *testing.T, typ, id, account string) {
		tg, err := resolve(change.ResourceRef{Type: typ, ID: id, Account: account})
		if err != nil {
			if !errors.Is(err, ErrInvalidRef) {
				t.Fatalf("resolve: %v does not wrap ErrInvalidRef", err)
			}
			return
		}
		var rebuilt string
		switch typ {
		case gcpres.TypeBucket:
			rebuilt = gcpres.BucketID(tg.name)
		case gcpres.TypeFirewall:
			rebuilt = gcpres.FirewallID(tg.project, tg.name)
		case gcpres.TypeSQLInstance:
			rebuilt = gcpres.SQLInstanceID(tg.project, tg.name)
		case gcpres.TypeProject:
			rebuilt = gcpres.ProjectID(tg.project)
		case gcpres.TypeServiceAccount:
			rebuilt = gcpres.ServiceAccountID(tg.project, tg.name)
		case gcpres.TypeCryptoKey:
			rebuilt = gcpres.CryptoKeyID(tg.project, tg.location, tg.keyRing, tg.name)
		default:
			t.Fatalf("resolve accepted type %q", typ)
		}
		if tg.id != rebuilt || tg.id != gcpres.CanonicalID(id) || tg.name == "" || (typ != gcpres.TypeBucket && tg.project == "") {
			t.Fatalf("resolve(%q, %q, %q) = %+v (rebuilt %q)", typ, id, account, tg, rebuilt)
		}
		for _, seg := range []string{tg.project, tg.name, tg.location, tg.keyRing} {
			if strings.ContainsAny(seg, "/?#%") || seg == ".." {
				t.Fatalf("resolve(%q) let segment %q through", id, seg)
			}
		}
	})
}

// BenchmarkFetchBucket: one bucket fetch (two concurrent reads) from the
// fake through the real clients and a loopback HTTP server.
func BenchmarkFetchBucket(b *testing.B) {
	f, s := newTestFetcher(b, nil)
	s.PutBucket(&storage.Bucket{Name: "b1", Labels: map[string]string{"team": "a"}},
		&storage.Policy{Bindings: []*storage.PolicyBindings{{Role: "roles/storage.objectViewer", Members: []string{"group:g@example.com"}}}})
	ref := bucketRef("b1")
	b.ReportAllocs()
	for b.Loop() {
		if _, err := f.Fetch(b.Context(), ref); err != nil {
			b.Fatal(err)
		}
	}
}
