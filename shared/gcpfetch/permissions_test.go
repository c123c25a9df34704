package gcpfetch

import (
	"errors"
	"flag"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	cloudkms "google.golang.org/api/cloudkms/v1"
	crm "google.golang.org/api/cloudresourcemanager/v3"
	compute "google.golang.org/api/compute/v1"
	iam "google.golang.org/api/iam/v1"
	sqladmin "google.golang.org/api/sqladmin/v1"
	storage "google.golang.org/api/storage/v1"

	"github.com/driftwatch/driftwatch/shared/gcpapi"
	"github.com/driftwatch/driftwatch/shared/internal/gcpfake"
	"github.com/driftwatch/driftwatch/shared/internal/golden"
)

var update = flag.Bool("update", false, "rewrite testdata/gcpfetch/permissions.golden")

// consumerInterfaces maps each consumer interface's name to its type.
func consumerInterfaces() map[string]reflect.Type {
	return map[string]reflect.Type{
		"storageAPI":  reflect.TypeFor[storageAPI](),
		"computeAPI":  reflect.TypeFor[computeAPI](),
		"sqlAPI":      reflect.TypeFor[sqlAPI](),
		"projectsAPI": reflect.TypeFor[projectsAPI](),
		"iamAPI":      reflect.TypeFor[iamAPI](),
		"kmsAPI":      reflect.TypeFor[kmsAPI](),
	}
}

// TestPermissionsMatchInterfaces: every method a reader can call is
// declared with its operation, and nothing else is declared.
func TestPermissionsMatchInterfaces(t *testing.T) {
	declared := map[string]bool{}
	for _, o := range operations() {
		if declared[o.api] {
			t.Errorf("%s is declared twice", o.api)
		}
		declared[o.api] = true
	}
	if err := gcpapi.Validate(declaredOperations()); err != nil {
		t.Error(err)
	}
	called := map[string]bool{}
	for name, typ := range consumerInterfaces() {
		for m := range typ.Methods() {
			api := name + "." + m.Name
			called[api] = true
			if !declared[api] {
				t.Errorf("%s is called but has no operation in operations", api)
			}
		}
	}
	for api := range declared {
		if !called[api] {
			t.Errorf("%s is declared but no consumer interface has it: remove it from operations", api)
		}
	}
}

// TestEachMethodSendsItsOperation: each consumer method, called alone,
// sends exactly the request its declaration names, so a permission in
// the role is the one the call needs (not merely one that some declared
// operation's pattern happens to allow).
func TestEachMethodSendsItsOperation(t *testing.T) {
	const (
		project = "p1"
		email   = "sa@p1.iam.gserviceaccount.com"
		key     = "projects/p1/locations/europe-west1/keyRings/r1/cryptoKeys/k1"
	)
	calls := map[string]func(f *Fetcher, t *testing.T) error{
		"storageAPI.GetBucket": func(f *Fetcher, t *testing.T) error { _, err := f.storage.GetBucket(t.Context(), "b1"); return err },
		"storageAPI.GetBucketPolicy": func(f *Fetcher, t *testing.T) error {
			_, err := f.storage.GetBucketPolicy(t.Context(), "b1")
			return err
		},
		"computeAPI.GetFirewall": func(f *Fetcher, t *testing.T) error {
			_, err := f.compute.GetFirewall(t.Context(), project, "fw1")
			return err
		},
		"sqlAPI.GetInstance": func(f *Fetcher, t *testing.T) error {
			_, err := f.sql.GetInstance(t.Context(), project, "db1")
			return err
		},
		"projectsAPI.GetProject": func(f *Fetcher, t *testing.T) error {
			_, err := f.projects.GetProject(t.Context(), project)
			return err
		},
		"projectsAPI.GetProjectPolicy": func(f *Fetcher, t *testing.T) error {
			_, err := f.projects.GetProjectPolicy(t.Context(), project)
			return err
		},
		"iamAPI.GetServiceAccount": func(f *Fetcher, t *testing.T) error {
			_, err := f.iam.GetServiceAccount(t.Context(), project, email)
			return err
		},
		"iamAPI.ListServiceAccountKeys": func(f *Fetcher, t *testing.T) error {
			_, err := f.iam.ListServiceAccountKeys(t.Context(), project, email)
			return err
		},
		"kmsAPI.GetCryptoKey": func(f *Fetcher, t *testing.T) error { _, err := f.kms.GetCryptoKey(t.Context(), key); return err },
	}
	for _, o := range operations() {
		t.Run(o.api, func(t *testing.T) {
			call, ok := calls[o.api]
			if !ok {
				t.Fatalf("no test call for %s", o.api)
			}
			s := gcpfake.New()
			s.PutBucket(&storage.Bucket{Name: "b1"}, nil)
			s.PutFirewall(project, &compute.Firewall{Name: "fw1"})
			s.PutSQLInstance(project, &sqladmin.DatabaseInstance{Name: "db1"})
			s.PutProject(project, &crm.Project{}, nil)
			s.PutServiceAccount(project, &iam.ServiceAccount{Email: email})
			s.PutCryptoKey(key, &cloudkms.CryptoKey{})
			// Only this method's operation is allowed: another request
			// would be refused.
			f := fetcherOn(t, s, nil, []gcpapi.Operation{o.op})
			if err := call(f, t); err != nil {
				t.Fatalf("%s: %v", o.api, err)
			}
			reqs := s.Requests()
			if len(reqs) != 1 || !o.op.Matches(reqs[0].Method, reqs[0].Path) {
				t.Errorf("%s sent %+v; want one %s %s", o.api, reqs, o.op.HTTPMethod, o.op.Path)
			}
		})
	}
}

func TestPermissions(t *testing.T) {
	got := Permissions()
	if !slices.IsSorted(got) || len(slices.Compact(slices.Clone(got))) != len(got) {
		t.Errorf("Permissions() is not sorted and unique: %v", got)
	}
	for _, p := range got {
		// A read-only role: every permission reads.
		if !strings.HasSuffix(p, ".get") && !strings.HasSuffix(p, ".getIamPolicy") && !strings.HasSuffix(p, ".list") {
			t.Errorf("permission %s is not a read", p)
		}
	}
	// The golden list makes every change to the detector's role visible in
	// review.
	golden.Check(t, filepath.Join("..", "..", "testdata", "gcpfetch", "permissions.golden"), []byte(strings.Join(got, "\n")+"\n"), *update)
}

// TestUndeclaredOperationRefused: a Fetcher whose declarations lack one
// call fails the fetch that needs it, before the request leaves the
// process, and says which request it refused.
func TestUndeclaredOperationRefused(t *testing.T) {
	s := gcpfake.New()
	s.PutBucket(&storage.Bucket{Name: "b1"}, nil)
	var ops []gcpapi.Operation
	for _, o := range operations() {
		if o.op.ID != gcpapi.StorageBucketsGetIamPolicy.ID {
			ops = append(ops, o.op)
		}
	}
	f := fetcherOn(t, s, nil, ops)
	_, err := f.Fetch(t.Context(), bucketRef("b1"))
	if !errors.Is(err, gcpapi.ErrUndeclared) || !strings.Contains(err.Error(), "GET /storage/v1/b/b1/iam") {
		t.Fatalf("Fetch with getIamPolicy undeclared: %v, want gcpapi.ErrUndeclared naming the request", err)
	}
	if IsRetryable(err) {
		t.Error("an undeclared call is retryable")
	}
	for _, r := range s.Requests() {
		if strings.HasSuffix(r.Path, "/iam") {
			t.Errorf("the undeclared request reached the fake: %+v", r)
		}
	}
}
