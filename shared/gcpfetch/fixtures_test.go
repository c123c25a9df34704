package gcpfetch

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	cloudkms "google.golang.org/api/cloudkms/v1"
	crm "google.golang.org/api/cloudresourcemanager/v3"
	compute "google.golang.org/api/compute/v1"
	iam "google.golang.org/api/iam/v1"
	sqladmin "google.golang.org/api/sqladmin/v1"
	storage "google.golang.org/api/storage/v1"

	"github.com/driftwatch/driftwatch/shared/change"
	"github.com/driftwatch/driftwatch/shared/gcpres"
	"github.com/driftwatch/driftwatch/shared/internal/gcpfake"
)

// fixturesDir holds the rule fixtures: documents exactly as the rules
// assume fetchers fill them.
const fixturesDir = "../../testdata/rules/gcp"

type fixture struct {
	Resource json.RawMessage   `json:"resource"`
	Exists   bool              `json:"exists"`
	Account  map[string]string `json:"account"`
}

// typeOfID tells a fixture document's type by its id's service host.
func typeOfID(id string) string {
	for typ, p := range idPatterns {
		if strings.HasPrefix(id, p.host+"/") {
			return typ
		}
	}
	return ""
}

// TestFixtureRoundTrip: for every rule fixture of an existing resource,
// the fake is seeded with the API objects the document describes, and
// the fetched document must be the fixture's, field for field. The
// fixtures cover compliant and non-compliant shapes of every type, so
// this pins each mapping rule (ports, FromInternet, SSL mode, key types,
// rotation, audit configs) the rules rely on.
func TestFixtureRoundTrip(t *testing.T) {
	files, err := filepath.Glob(filepath.Join(fixturesDir, "*", "*.json"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no fixtures under %s: %v", fixturesDir, err)
	}
	seen := map[string]int{}
	for _, file := range files {
		data, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		var fx fixture
		if err := json.Unmarshal(data, &fx); err != nil {
			t.Fatalf("%s: %v", file, err)
		}
		if !fx.Exists || bytes.Equal(bytes.TrimSpace(fx.Resource), []byte("null")) {
			// A deleted resource: the fetcher's Exists=false, tested per
			// type in the readers' tests; there is no document to serve.
			continue
		}
		t.Run(filepath.Base(filepath.Dir(file))+"/"+filepath.Base(file), func(t *testing.T) {
			var head struct{ ID string }
			if err := json.Unmarshal(fx.Resource, &head); err != nil {
				t.Fatal(err)
			}
			typ := typeOfID(head.ID)
			goType, ok := gcpres.Types()[typ]
			if !ok {
				t.Fatalf("id %q: unknown type", head.ID)
			}
			want := reflect.New(goType)
			dec := json.NewDecoder(bytes.NewReader(fx.Resource))
			dec.DisallowUnknownFields()
			if err := dec.Decode(want.Interface()); err != nil {
				t.Fatal(err)
			}
			f, s := newTestFetcher(t, nil)
			seed(t, s, want.Interface())
			ref := change.ResourceRef{Cloud: change.GCP, Type: typ, ID: head.ID, Account: fx.Account["id"]}
			got := fetch(t, f, ref)
			if !got.Exists {
				t.Fatalf("Exists = false for %s", head.ID)
			}
			assertJSON(t, "document", got.Doc, want.Interface())
			if got.Ref.ID != head.ID || got.Ref.Cloud != change.GCP || got.Ref.Type != typ || got.Ref.Account != fx.Account["id"] || got.Ref.Name == "" {
				t.Errorf("Ref = %+v", got.Ref)
			}
			if labels := want.Elem().FieldByName("Labels"); labels.IsValid() {
				assertJSON(t, "tags", got.Tags, labels.Interface())
			}
			seen[typ]++
		})
	}
	for typ := range gcpres.Types() {
		if seen[typ] < 2 {
			t.Errorf("type %s: %d fixtures round-tripped, want a compliant and a non-compliant one at least", typ, seen[typ])
		}
	}
}

// seed stores the API objects a document describes in the fake.
func seed(t testing.TB, s *gcpfake.Server, doc any) {
	t.Helper()
	switch d := doc.(type) {
	case *gcpres.Bucket:
		pol := &storage.Policy{}
		for _, b := range d.IAMBindings {
			pb := &storage.PolicyBindings{Role: b.Role, Members: b.Members}
			if b.Condition != "" {
				pb.Condition = &storage.Expr{Expression: b.Condition}
			}
			pol.Bindings = append(pol.Bindings, pb)
		}
		s.PutBucket(&storage.Bucket{Name: d.Name, Location: d.Location, Labels: d.Labels, ProjectNumber: 123456789012,
			IamConfiguration: &storage.BucketIamConfiguration{
				UniformBucketLevelAccess: &storage.BucketIamConfigurationUniformBucketLevelAccess{Enabled: d.UniformBucketLevelAccess},
				PublicAccessPrevention:   d.PublicAccessPrevention,
			}}, pol)
	case *gcpres.Firewall:
		fw := &compute.Firewall{Name: d.Name, Network: "https://www.googleapis.com/compute/v1/projects/" + d.Project + "/global/networks/" + d.Network,
			Direction: d.Direction, Disabled: d.Disabled, Priority: d.Priority, SourceRanges: d.SourceRanges, SourceTags: d.SourceTags, TargetTags: d.TargetTags}
		for _, a := range d.Allowed {
			fw.Allowed = append(fw.Allowed, &compute.FirewallAllowed{IPProtocol: a.Protocol, Ports: a.Ports})
		}
		for _, a := range d.Denied {
			fw.Denied = append(fw.Denied, &compute.FirewallDenied{IPProtocol: a.Protocol, Ports: a.Ports})
		}
		if d.Direction == "EGRESS" {
			fw.DestinationRanges = []string{"0.0.0.0/0"}
		}
		s.PutFirewall(d.Project, fw)
	case *gcpres.SQLInstance:
		ip := &sqladmin.IpConfiguration{Ipv4Enabled: d.IPv4Enabled, SslMode: d.SSLMode, RequireSsl: d.RequireSSL}
		for _, n := range d.AuthorizedNetworks {
			ip.AuthorizedNetworks = append(ip.AuthorizedNetworks, &sqladmin.AclEntry{Name: n.Name, Value: n.Value, Kind: "sql#aclEntry"})
		}
		s.PutSQLInstance(d.Project, &sqladmin.DatabaseInstance{Name: d.Name, Region: d.Region, DatabaseVersion: d.DatabaseVersion,
			Settings: &sqladmin.Settings{Tier: "db-custom-2-7680", UserLabels: d.Labels, IpConfiguration: ip,
				BackupConfiguration: &sqladmin.BackupConfiguration{Enabled: d.BackupEnabled}}})
	case *gcpres.Project:
		pol := &crm.Policy{}
		for _, b := range d.IAMBindings {
			pb := &crm.Binding{Role: b.Role, Members: b.Members}
			if b.Condition != "" {
				pb.Condition = &crm.Expr{Expression: b.Condition}
			}
			pol.Bindings = append(pol.Bindings, pb)
		}
		for _, c := range d.AuditConfigs {
			ac := &crm.AuditConfig{Service: c.Service}
			for _, l := range c.LogConfigs {
				ac.AuditLogConfigs = append(ac.AuditLogConfigs, &crm.AuditLogConfig{LogType: l.LogType, ExemptedMembers: l.ExemptedMembers})
			}
			pol.AuditConfigs = append(pol.AuditConfigs, ac)
		}
		s.PutProject(d.ProjectID, &crm.Project{Labels: d.Labels, DisplayName: d.ProjectID}, pol)
	case *gcpres.ServiceAccount:
		var keys []*iam.ServiceAccountKey
		for _, k := range d.Keys {
			keys = append(keys, &iam.ServiceAccountKey{Name: k.Name, KeyType: k.KeyType, Disabled: k.Disabled,
				ValidAfterTime: k.ValidAfter.Format("2006-01-02T15:04:05Z07:00"), ValidBeforeTime: k.ValidBefore.Format("2006-01-02T15:04:05Z07:00")})
		}
		s.PutServiceAccount(d.Project, &iam.ServiceAccount{Email: d.Email, DisplayName: d.DisplayName, Disabled: d.Disabled}, keys...)
	case *gcpres.CryptoKey:
		k := &cloudkms.CryptoKey{Purpose: d.Purpose, Labels: d.Labels}
		if d.RotationPeriodSeconds > 0 {
			k.RotationPeriod = fmt.Sprintf("%ds", d.RotationPeriodSeconds)
			k.NextRotationTime = d.NextRotationTime.Format("2006-01-02T15:04:05.000000Z")
		}
		s.PutCryptoKey("projects/"+d.Project+"/locations/"+d.Location+"/keyRings/"+d.KeyRing+"/cryptoKeys/"+d.Name, k)
	default:
		t.Fatalf("no seeding for %T", doc)
	}
}
