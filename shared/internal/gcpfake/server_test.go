package gcpfake

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"

	cloudkms "google.golang.org/api/cloudkms/v1"
	crm "google.golang.org/api/cloudresourcemanager/v3"
	compute "google.golang.org/api/compute/v1"
	"google.golang.org/api/googleapi"
	iam "google.golang.org/api/iam/v1"
	sqladmin "google.golang.org/api/sqladmin/v1"
	storage "google.golang.org/api/storage/v1"

	"github.com/driftwatch/driftwatch/shared/gcpapi"
)

// allOps declares every operation the fake serves.
var allOps = []gcpapi.Operation{
	gcpapi.StorageBucketsGet, gcpapi.StorageBucketsPatch, gcpapi.StorageBucketsGetIamPolicy, gcpapi.StorageBucketsSetIamPolicy,
	gcpapi.ComputeFirewallsGet, gcpapi.ComputeFirewallsPatch, gcpapi.ComputeGlobalOperationsGet, gcpapi.ComputeGlobalOperationsWait,
	gcpapi.SQLInstancesGet, gcpapi.SQLInstancesPatch, gcpapi.SQLOperationsGet,
	gcpapi.ResourceManagerProjectsGet, gcpapi.ResourceManagerProjectsGetIamPolicy, gcpapi.ResourceManagerProjectsSetIamPolicy,
	gcpapi.IAMServiceAccountsGet, gcpapi.IAMServiceAccountKeysList,
	gcpapi.KMSCryptoKeysGet, gcpapi.KMSCryptoKeysPatch,
}

// clients are the real Google API clients, pointed at one fake.
type clients struct {
	storage *storage.Service
	compute *compute.Service
	sql     *sqladmin.Service
	crm     *crm.Service
	iam     *iam.Service
	kms     *cloudkms.Service
}

func newClients(t testing.TB, s *Server) clients {
	t.Helper()
	ctx := context.Background()
	opts, err := gcpapi.Options{Endpoint: s.Start(t)}.ClientOptions(ctx, allOps)
	if err != nil {
		t.Fatal(err)
	}
	var c clients
	var errs [6]error
	c.storage, errs[0] = storage.NewService(ctx, opts...)
	c.compute, errs[1] = compute.NewService(ctx, opts...)
	c.sql, errs[2] = sqladmin.NewService(ctx, opts...)
	c.crm, errs[3] = crm.NewService(ctx, opts...)
	c.iam, errs[4] = iam.NewService(ctx, opts...)
	c.kms, errs[5] = cloudkms.NewService(ctx, opts...)
	if err := errors.Join(errs[:]...); err != nil {
		t.Fatal(err)
	}
	return c
}

func code(err error) int {
	var ge *googleapi.Error
	if errors.As(err, &ge) {
		return ge.Code
	}
	return 0
}

func TestBucketRoundTrip(t *testing.T) {
	s := New()
	s.PutBucket(&storage.Bucket{Name: "b1", Location: "EU", ProjectNumber: 42, Labels: map[string]string{"team": "a", "env": "dev"}},
		&storage.Policy{Bindings: []*storage.PolicyBindings{{Role: "roles/storage.objectViewer", Members: []string{"allUsers"}}}})
	c := newClients(t, s)
	ctx := t.Context()

	got, err := c.storage.Buckets.Get("b1").Do()
	if err != nil {
		t.Fatal(err)
	}
	if got.Location != "EU" || got.ProjectNumber != 42 || got.Metageneration != 1 || got.Labels["team"] != "a" {
		t.Errorf("bucket = %+v", got)
	}
	patched, err := c.storage.Buckets.Patch("b1", &storage.Bucket{
		IamConfiguration: &storage.BucketIamConfiguration{
			UniformBucketLevelAccess: &storage.BucketIamConfigurationUniformBucketLevelAccess{Enabled: true},
			PublicAccessPrevention:   "enforced",
		},
		Labels: map[string]string{"team": "b"},
	}).IfMetagenerationMatch(1).Context(ctx).Do()
	if err != nil {
		t.Fatal(err)
	}
	if patched.Metageneration != 2 || !patched.IamConfiguration.UniformBucketLevelAccess.Enabled ||
		patched.IamConfiguration.PublicAccessPrevention != "enforced" || patched.Labels["team"] != "b" || patched.Labels["env"] != "dev" {
		t.Errorf("patched bucket = %+v (labels %v)", patched, patched.Labels)
	}
	// An explicit false is a change too.
	off := &storage.Bucket{IamConfiguration: &storage.BucketIamConfiguration{UniformBucketLevelAccess: &storage.BucketIamConfigurationUniformBucketLevelAccess{Enabled: false, ForceSendFields: []string{"Enabled"}}}}
	if _, err := c.storage.Buckets.Patch("b1", off).Do(); err != nil {
		t.Fatal(err)
	}
	if b, _, _ := s.Bucket("b1"); b.IamConfiguration.UniformBucketLevelAccess.Enabled || b.IamConfiguration.PublicAccessPrevention != "enforced" {
		t.Errorf("after patching enabled=false: %+v", b.IamConfiguration)
	}
	_, err = c.storage.Buckets.Patch("b1", &storage.Bucket{Labels: map[string]string{"x": "y"}}).IfMetagenerationMatch(1).Do()
	if code(err) != http.StatusPreconditionFailed {
		t.Errorf("patch with a stale metageneration: %v, want 412", err)
	}

	pol, err := c.storage.Buckets.GetIamPolicy("b1").OptionsRequestedPolicyVersion(3).Do()
	if err != nil {
		t.Fatal(err)
	}
	if len(pol.Bindings) != 1 || pol.Bindings[0].Members[0] != "allUsers" || pol.Etag == "" {
		t.Fatalf("policy = %+v", pol)
	}
	pol.Bindings = nil
	set, err := c.storage.Buckets.SetIamPolicy("b1", pol).Do()
	if err != nil {
		t.Fatal(err)
	}
	if set.Etag == pol.Etag || len(set.Bindings) != 0 {
		t.Errorf("set policy = %+v; want no bindings and a new etag", set)
	}
	if _, err := c.storage.Buckets.SetIamPolicy("b1", pol).Do(); code(err) != http.StatusPreconditionFailed {
		t.Errorf("set with the old etag: %v, want 412", err)
	}
	if _, err := c.storage.Buckets.Get("nope").Do(); code(err) != http.StatusNotFound || !gcpapi.IsNotFound(err) {
		t.Errorf("get a missing bucket: %v, want 404", err)
	}
}

// TestConditionalPolicyNeedsVersion3: a policy with conditions is refused
// to a client asking for version 1, as Google does, so a reader that
// forgets the version fails in tests too.
func TestConditionalPolicyNeedsVersion3(t *testing.T) {
	s := New()
	cond := &storage.Expr{Expression: "request.time < timestamp('2030-01-01T00:00:00Z')"}
	s.PutBucket(&storage.Bucket{Name: "b1"}, &storage.Policy{Bindings: []*storage.PolicyBindings{{Role: "roles/storage.objectViewer", Members: []string{"allUsers"}, Condition: cond}}})
	s.PutProject("p1", nil, &crm.Policy{Bindings: []*crm.Binding{{Role: "roles/owner", Members: []string{"user:a@example.com"}, Condition: &crm.Expr{Expression: "true"}}}})
	c := newClients(t, s)
	if _, err := c.storage.Buckets.GetIamPolicy("b1").Do(); code(err) != http.StatusBadRequest {
		t.Errorf("bucket policy v1: %v, want 400", err)
	}
	if p, err := c.storage.Buckets.GetIamPolicy("b1").OptionsRequestedPolicyVersion(3).Do(); err != nil || p.Version != 3 || p.Bindings[0].Condition == nil {
		t.Errorf("bucket policy v3: %+v, %v", p, err)
	}
	if _, err := c.crm.Projects.GetIamPolicy("projects/p1", &crm.GetIamPolicyRequest{}).Do(); code(err) != http.StatusBadRequest {
		t.Errorf("project policy v1: %v, want 400", err)
	}
	req := &crm.GetIamPolicyRequest{Options: &crm.GetPolicyOptions{RequestedPolicyVersion: 3}}
	if p, err := c.crm.Projects.GetIamPolicy("projects/p1", req).Do(); err != nil || p.Version != 3 {
		t.Errorf("project policy v3: %+v, %v", p, err)
	}
}

func TestFirewallOperation(t *testing.T) {
	tests := []struct {
		name  string
		polls int
		wait  bool
	}{
		{"first poll completes", 0, false},
		{"two polls running", 2, false},
		{"wait completes at once", 2, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := New()
			s.SetOperationPolls(tc.polls)
			s.PutFirewall("p1", &compute.Firewall{Name: "fw", Network: "global/networks/default", Direction: "INGRESS",
				SourceRanges: []string{"0.0.0.0/0"}, Allowed: []*compute.FirewallAllowed{{IPProtocol: "tcp", Ports: []string{"22"}}}})
			c := newClients(t, s)
			op, err := c.compute.Firewalls.Patch("p1", "fw", &compute.Firewall{Disabled: true}).Do()
			if err != nil {
				t.Fatal(err)
			}
			if op.Kind != "compute#operation" || op.Status != "RUNNING" || !strings.HasSuffix(op.TargetLink, "/global/firewalls/fw") {
				t.Fatalf("operation = %+v", op)
			}
			if fw, _ := s.Firewall("p1", "fw"); fw.Disabled {
				t.Fatal("the change applied before the operation completed")
			}
			var statuses []string
			for op.Status != "DONE" && len(statuses) < 5 {
				if tc.wait {
					op, err = c.compute.GlobalOperations.Wait("p1", op.Name).Do()
				} else {
					op, err = c.compute.GlobalOperations.Get("p1", op.Name).Do()
				}
				if err != nil {
					t.Fatal(err)
				}
				statuses = append(statuses, op.Status)
			}
			want := len(statuses) == tc.polls+1
			if tc.wait {
				want = len(statuses) == 1
			}
			if !want || op.Error != nil {
				t.Errorf("statuses %v, error %+v", statuses, op.Error)
			}
			fw, err := c.compute.Firewalls.Get("p1", "fw").Do()
			if err != nil || !fw.Disabled || fw.SourceRanges[0] != "0.0.0.0/0" {
				t.Errorf("firewall after the operation: %+v, %v", fw, err)
			}
		})
	}
}

func TestFailedOperationChangesNothing(t *testing.T) {
	s := New()
	s.PutFirewall("p1", &compute.Firewall{Name: "fw", SourceRanges: []string{"0.0.0.0/0"}})
	s.PutSQLInstance("p1", &sqladmin.DatabaseInstance{Name: "db", Settings: &sqladmin.Settings{BackupConfiguration: &sqladmin.BackupConfiguration{Enabled: false}}})
	c := newClients(t, s)
	s.FailNextOperation("quota exceeded")
	op, err := c.compute.Firewalls.Patch("p1", "fw", &compute.Firewall{SourceRanges: []string{"10.0.0.0/8"}}).Do()
	if err != nil {
		t.Fatal(err)
	}
	op, err = c.compute.GlobalOperations.Wait("p1", op.Name).Do()
	if err != nil || op.Status != "DONE" || op.Error == nil || op.Error.Errors[0].Message != "quota exceeded" {
		t.Fatalf("failed compute operation: %+v, %v", op, err)
	}
	if fw, _ := s.Firewall("p1", "fw"); fw.SourceRanges[0] != "0.0.0.0/0" {
		t.Errorf("a failed operation changed the firewall: %v", fw.SourceRanges)
	}
	s.FailNextOperation("instance busy")
	sop, err := c.sql.Instances.Patch("p1", "db", &sqladmin.DatabaseInstance{Settings: &sqladmin.Settings{BackupConfiguration: &sqladmin.BackupConfiguration{Enabled: true}}}).Do()
	if err != nil {
		t.Fatal(err)
	}
	sop, err = c.sql.Operations.Get("p1", sop.Name).Do()
	if err != nil || sop.Status != "DONE" || sop.Error == nil || sop.Error.Errors[0].Message != "instance busy" {
		t.Fatalf("failed SQL operation: %+v, %v", sop, err)
	}
	if inst, _ := s.SQLInstance("p1", "db"); inst.Settings.BackupConfiguration.Enabled {
		t.Error("a failed operation changed the instance")
	}
}

func TestSQLInstancePatch(t *testing.T) {
	s := New()
	s.PutSQLInstance("p1", &sqladmin.DatabaseInstance{Name: "db", Region: "europe-west1", DatabaseVersion: "POSTGRES_15",
		Settings: &sqladmin.Settings{
			UserLabels: map[string]string{"team": "a"},
			IpConfiguration: &sqladmin.IpConfiguration{Ipv4Enabled: true, SslMode: "ALLOW_UNENCRYPTED_AND_ENCRYPTED",
				AuthorizedNetworks: []*sqladmin.AclEntry{{Name: "any", Value: "0.0.0.0/0"}, {Name: "office", Value: "203.0.113.0/24"}}},
		}})
	c := newClients(t, s)
	op, err := c.sql.Instances.Patch("p1", "db", &sqladmin.DatabaseInstance{Settings: &sqladmin.Settings{IpConfiguration: &sqladmin.IpConfiguration{
		SslMode: "ENCRYPTED_ONLY", AuthorizedNetworks: []*sqladmin.AclEntry{{Name: "office", Value: "203.0.113.0/24"}}}}}).Do()
	if err != nil {
		t.Fatal(err)
	}
	if op.Kind != "sql#operation" || op.Status != "PENDING" || op.TargetId != "db" {
		t.Fatalf("operation = %+v", op)
	}
	if op, err = c.sql.Operations.Get("p1", op.Name).Do(); err != nil || op.Status != "DONE" {
		t.Fatalf("poll: %+v, %v", op, err)
	}
	got, err := c.sql.Instances.Get("p1", "db").Do()
	if err != nil {
		t.Fatal(err)
	}
	ip := got.Settings.IpConfiguration
	if !ip.Ipv4Enabled || ip.SslMode != "ENCRYPTED_ONLY" || len(ip.AuthorizedNetworks) != 1 || ip.AuthorizedNetworks[0].Name != "office" ||
		got.Settings.UserLabels["team"] != "a" || got.Region != "europe-west1" || got.Settings.SettingsVersion != 2 {
		t.Errorf("instance after patch: %+v, ip %+v", got.Settings, ip)
	}
}

func TestProjectPolicy(t *testing.T) {
	s := New()
	s.PutProject("p1", &crm.Project{Labels: map[string]string{"team": "a"}}, &crm.Policy{
		Bindings:     []*crm.Binding{{Role: "roles/owner", Members: []string{"user:a@example.com"}}},
		AuditConfigs: []*crm.AuditConfig{{Service: "allServices", AuditLogConfigs: []*crm.AuditLogConfig{{LogType: "ADMIN_READ"}}}},
	})
	c := newClients(t, s)
	p, err := c.crm.Projects.Get("projects/p1").Do()
	if err != nil || p.ProjectId != "p1" || p.State != "ACTIVE" || p.Labels["team"] != "a" {
		t.Fatalf("project = %+v, %v", p, err)
	}
	if byNumber, err := c.crm.Projects.Get(p.Name).Do(); err != nil || byNumber.ProjectId != "p1" {
		t.Errorf("project by number %s: %+v, %v", p.Name, byNumber, err)
	}
	req := &crm.GetIamPolicyRequest{Options: &crm.GetPolicyOptions{RequestedPolicyVersion: 3}}
	pol, err := c.crm.Projects.GetIamPolicy("projects/p1", req).Do()
	if err != nil || len(pol.Bindings) != 1 || len(pol.AuditConfigs) != 1 {
		t.Fatalf("policy = %+v, %v", pol, err)
	}
	// The default mask (bindings, etag) keeps the audit configs.
	set, err := c.crm.Projects.SetIamPolicy("projects/p1", &crm.SetIamPolicyRequest{Policy: &crm.Policy{Etag: pol.Etag}}).Do()
	if err != nil || len(set.Bindings) != 0 || len(set.AuditConfigs) != 1 || set.Etag == pol.Etag {
		t.Fatalf("set bindings: %+v, %v", set, err)
	}
	_, err = c.crm.Projects.SetIamPolicy("projects/p1", &crm.SetIamPolicyRequest{Policy: &crm.Policy{Etag: pol.Etag}}).Do()
	if code(err) != http.StatusConflict || !gcpapi.IsConflict(err) {
		t.Errorf("set with a stale etag: %v, want 409", err)
	}
	all := []*crm.AuditLogConfig{{LogType: "ADMIN_READ"}, {LogType: "DATA_READ"}, {LogType: "DATA_WRITE"}}
	set, err = c.crm.Projects.SetIamPolicy("projects/p1", &crm.SetIamPolicyRequest{UpdateMask: "auditConfigs",
		Policy: &crm.Policy{Etag: set.Etag, AuditConfigs: []*crm.AuditConfig{{Service: "allServices", AuditLogConfigs: all}}}}).Do()
	if err != nil || len(set.AuditConfigs[0].AuditLogConfigs) != 3 {
		t.Fatalf("set audit configs: %+v, %v", set, err)
	}
	if _, pol, _ := s.Project("p1"); len(pol.AuditConfigs[0].AuditLogConfigs) != 3 || len(pol.Bindings) != 0 {
		t.Errorf("stored policy %+v", pol)
	}
	if _, err := c.crm.Projects.Get("projects/unknown").Do(); code(err) != http.StatusForbidden {
		t.Errorf("an unknown project: %v, want 403 as Google answers", err)
	}
	s.DeleteProject("p1")
	if p, err := c.crm.Projects.Get("projects/p1").Do(); err != nil || p.State != "DELETE_REQUESTED" {
		t.Errorf("a deleted project: %+v, %v", p, err)
	}
}

func TestServiceAccountKeys(t *testing.T) {
	s := New()
	email := "sa@p1.iam.gserviceaccount.com"
	s.PutServiceAccount("p1", &iam.ServiceAccount{Email: email, DisplayName: "SA"},
		&iam.ServiceAccountKey{Name: "k1", KeyType: "USER_MANAGED", ValidAfterTime: "2025-01-01T00:00:00Z"},
		&iam.ServiceAccountKey{Name: "k2", KeyType: "SYSTEM_MANAGED"})
	c := newClients(t, s)
	sa, err := c.iam.Projects.ServiceAccounts.Get("projects/-/serviceAccounts/" + email).Do()
	if err != nil || sa.DisplayName != "SA" || sa.ProjectId != "p1" {
		t.Fatalf("service account = %+v, %v", sa, err)
	}
	for _, tc := range []struct {
		types []string
		want  []string
	}{
		{nil, []string{"k1", "k2"}},
		{[]string{"USER_MANAGED"}, []string{"k1"}},
		{[]string{"SYSTEM_MANAGED", "USER_MANAGED"}, []string{"k1", "k2"}},
	} {
		resp, err := c.iam.Projects.ServiceAccounts.Keys.List("projects/p1/serviceAccounts/" + email).KeyTypes(tc.types...).Do()
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, k := range resp.Keys {
			got = append(got, k.Name[strings.LastIndex(k.Name, "/")+1:])
		}
		if !slices.Equal(got, tc.want) {
			t.Errorf("keys of types %v = %v, want %v", tc.types, got, tc.want)
		}
	}
	if _, err := c.iam.Projects.ServiceAccounts.Get("projects/p1/serviceAccounts/x@p1.iam.gserviceaccount.com").Do(); code(err) != http.StatusNotFound {
		t.Errorf("a missing account: %v, want 404", err)
	}
}

func TestCryptoKeyPatch(t *testing.T) {
	s := New()
	name := "projects/p1/locations/europe-west1/keyRings/r1/cryptoKeys/k1"
	s.PutCryptoKey(name, &cloudkms.CryptoKey{Purpose: "ENCRYPT_DECRYPT", Labels: map[string]string{"team": "a"}})
	c := newClients(t, s)
	keys := c.kms.Projects.Locations.KeyRings.CryptoKeys
	patch := &cloudkms.CryptoKey{RotationPeriod: "7776000s", NextRotationTime: "2026-03-01T00:00:00Z", Labels: map[string]string{"x": "y"}}
	if _, err := keys.Patch(name, patch).Do(); code(err) != http.StatusBadRequest {
		t.Errorf("patch without a mask: %v, want 400", err)
	}
	got, err := keys.Patch(name, patch).UpdateMask("rotationPeriod,nextRotationTime").Do()
	if err != nil || got.RotationPeriod != "7776000s" || got.NextRotationTime != "2026-03-01T00:00:00Z" || got.Labels["team"] != "a" || got.Labels["x"] != "" {
		t.Fatalf("patched key = %+v, %v", got, err)
	}
	// A listed field the body leaves out is cleared.
	if got, err = keys.Patch(name, &cloudkms.CryptoKey{}).UpdateMask("rotationPeriod,nextRotationTime").Do(); err != nil || got.RotationPeriod != "" {
		t.Errorf("clearing the rotation: %+v, %v", got, err)
	}
	if got, err := keys.Get(name).Do(); err != nil || got.Purpose != "ENCRYPT_DECRYPT" || got.Name != name {
		t.Errorf("get = %+v, %v", got, err)
	}
}

// TestFaults: the injected faults hit exactly the calls they name.
func TestFaults(t *testing.T) {
	s := New()
	s.PutBucket(&storage.Bucket{Name: "b1"}, nil)
	s.PutBucket(&storage.Bucket{Name: "b10"}, nil)
	c := newClients(t, s)
	label := func(v string) error {
		_, err := c.storage.Buckets.Patch("b1", &storage.Bucket{Labels: map[string]string{"n": v}}).Do()
		return err
	}

	s.FailWrite(2)
	if err := label("1"); err != nil {
		t.Fatal(err)
	}
	if _, err := c.storage.Buckets.Get("b1").Do(); err != nil { // reads do not count
		t.Fatal(err)
	}
	if err := label("2"); code(err) != http.StatusForbidden || !gcpapi.IsAccessDenied(err) {
		t.Errorf("second write: %v, want 403", err)
	}
	if b, _, _ := s.Bucket("b1"); b.Labels["n"] != "1" {
		t.Errorf("the refused write changed the bucket: %v", b.Labels)
	}
	if err := label("3"); err != nil {
		t.Errorf("third write: %v", err)
	}
	if n := s.Writes(); n != 3 {
		t.Errorf("Writes() = %d, want 3", n)
	}

	s.FailReads("/storage/v1/b/b1", http.StatusServiceUnavailable)
	if _, err := c.storage.Buckets.GetIamPolicy("b1").Do(); code(err) != http.StatusServiceUnavailable || !gcpapi.IsRetryable(err) {
		t.Errorf("read under a 503 fault: %v", err)
	}
	if _, err := c.storage.Buckets.Get("b10").Do(); err != nil {
		t.Errorf("another bucket's read: %v", err)
	}
	if err := label("4"); err != nil {
		t.Errorf("a write under a read fault: %v", err)
	}
	s.FailReads("/storage/v1/b/b1", 0)

	s.Deny(http.MethodPut, "/storage/v1/b/{bucket}/iam")
	if _, err := c.storage.Buckets.SetIamPolicy("b10", &storage.Policy{}).Do(); code(err) != http.StatusForbidden {
		t.Errorf("denied method: %v, want 403", err)
	}
	if _, err := c.storage.Buckets.GetIamPolicy("b10").Do(); err != nil {
		t.Errorf("GET of the denied path: %v", err)
	}

	log := s.Requests()
	last := log[len(log)-1]
	if last.Method != http.MethodGet || last.Path != "/storage/v1/b/b10/iam" || last.Query.Get("prettyPrint") != "false" || last.Write {
		t.Errorf("last request %+v", last)
	}
}

// TestConcurrentUse: requests and seeding from many goroutines (run with
// -race).
func TestConcurrentUse(t *testing.T) {
	s := New()
	s.PutBucket(&storage.Bucket{Name: "b1"}, nil)
	c := newClients(t, s)
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			if _, err := c.storage.Buckets.Patch("b1", &storage.Bucket{Labels: map[string]string{"k": "v"}}).Do(); err != nil {
				t.Error(err)
			}
			s.PutBucket(&storage.Bucket{Name: "other"}, nil)
			_, _, _ = s.Bucket("b1")
		})
	}
	wg.Wait()
	if b, _, _ := s.Bucket("b1"); b.Metageneration != 9 {
		t.Errorf("metageneration %d after 8 patches, want 9", b.Metageneration)
	}
}

func TestUnknownRoute(t *testing.T) {
	rec := httptest.NewRecorder()
	New().ServeHTTP(rec, httptest.NewRequest(http.MethodDelete, "/storage/v1/b/b1", nil))
	if rec.Code != http.StatusNotFound || !strings.Contains(rec.Body.String(), `"status":"NOT_FOUND"`) {
		t.Errorf("DELETE: %d %s", rec.Code, rec.Body.String())
	}
}
