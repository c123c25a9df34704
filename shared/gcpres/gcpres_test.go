package gcpres

import (
	"errors"
	"reflect"
	"testing"

	"github.com/driftwatch/driftwatch/shared/change"
)

func TestIDs(t *testing.T) {
	tests := []struct{ got, want string }{
		{BucketID(" invoices-prod "), "//storage.googleapis.com/projects/_/buckets/invoices-prod"},
		{FirewallID("pay-prod", "allow-SSH"), "//compute.googleapis.com/projects/pay-prod/global/firewalls/allow-SSH"},
		{SQLInstanceID("pay-prod", "orders-db"), "//cloudsql.googleapis.com/projects/pay-prod/instances/orders-db"},
		{ProjectID("pay-prod"), "//cloudresourcemanager.googleapis.com/projects/pay-prod"},
		{ServiceAccountID("pay-prod", "ci@pay-prod.iam.gserviceaccount.com"), "//iam.googleapis.com/projects/pay-prod/serviceAccounts/ci@pay-prod.iam.gserviceaccount.com"},
		{CryptoKeyID("pay-prod", "europe-west1", "ring", "Key1"), "//cloudkms.googleapis.com/projects/pay-prod/locations/europe-west1/keyRings/ring/cryptoKeys/Key1"},
		// Names are case-sensitive: only spaces and a trailing slash go.
		{CanonicalID(" //storage.googleapis.com/projects/_/buckets/MixedCase/ "), "//storage.googleapis.com/projects/_/buckets/MixedCase"},
	}
	for _, tt := range tests {
		if tt.got != tt.want {
			t.Errorf("got %q, want %q", tt.got, tt.want)
		}
	}
}

func TestTypes(t *testing.T) {
	types := Types()
	want := []string{TypeBucket, TypeFirewall, TypeSQLInstance, TypeProject, TypeServiceAccount, TypeCryptoKey}
	if len(types) != len(want) {
		t.Errorf("%d types, want %d", len(types), len(want))
	}
	for _, typ := range want {
		if rt, ok := types[typ]; !ok || rt.Kind() != reflect.Struct {
			t.Errorf("%s: %v", typ, rt)
		}
	}
}

func TestParsePorts(t *testing.T) {
	got, err := ParsePorts([]string{"22", " 1000-2000 ", "65535"})
	want := []PortRange{{22, 22}, {1000, 2000}, {65535, 65535}}
	if err != nil || !reflect.DeepEqual(got, want) {
		t.Errorf("ParsePorts = %v, %v; want %v", got, err, want)
	}
	if got, err := ParsePorts(nil); err != nil || !reflect.DeepEqual(got, []PortRange{AllPorts}) {
		t.Errorf("no ports = %v, %v; want every port", got, err)
	}
	for _, bad := range []string{"", "*", "+22", "-1", "22-", "2000-1000", "65536", "1-70000", "22,23", "0x16", "999999999999999999999"} {
		if _, err := ParsePortRange(bad); !errors.Is(err, ErrInvalidPortRange) {
			t.Errorf("ParsePortRange(%q): error %v, want ErrInvalidPortRange", bad, err)
		}
	}
	if _, err := ParsePorts([]string{"22", "x"}); !errors.Is(err, ErrInvalidPortRange) {
		t.Errorf("a bad port in a list: %v", err)
	}
}

func FuzzParsePortRange(f *testing.F) {
	for _, s := range []string{"22", "1000-2000", "0-65535", "", "-", "2-1"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		r, err := ParsePortRange(s)
		if err != nil {
			return
		}
		if r.From < 0 || r.To > maxPort || r.From > r.To {
			t.Errorf("ParsePortRange(%q) = %v", s, r)
		}
	})
}

func TestIsInternet(t *testing.T) {
	for _, s := range []string{"0.0.0.0/0", " ::/0", "0::/0"} {
		if !IsInternet(s) {
			t.Errorf("%q is the Internet", s)
		}
	}
	for _, s := range []string{"10.0.0.0/8", "0.0.0.0/1", "::/1", "35.235.240.0/20", ""} {
		if IsInternet(s) {
			t.Errorf("%q is not the whole Internet", s)
		}
	}
}

func TestConsoleURL(t *testing.T) {
	tests := []struct {
		typ, id, want string
	}{
		{TypeBucket, BucketID("invoices"), "https://console.cloud.google.com/storage/browser/invoices;tab=permissions"},
		{TypeFirewall, FirewallID("pay-prod", "allow-ssh"), "https://console.cloud.google.com/networking/firewalls/details/allow-ssh?project=pay-prod"},
		{TypeSQLInstance, SQLInstanceID("pay-prod", "orders"), "https://console.cloud.google.com/sql/instances/orders/overview?project=pay-prod"},
		{TypeProject, ProjectID("pay-prod"), "https://console.cloud.google.com/iam-admin/iam?project=pay-prod"},
		{TypeServiceAccount, ServiceAccountID("pay-prod", "ci@pay-prod.iam.gserviceaccount.com"), "https://console.cloud.google.com/iam-admin/serviceaccounts/details/ci@pay-prod.iam.gserviceaccount.com/keys?project=pay-prod"},
		{TypeCryptoKey, CryptoKeyID("pay-prod", "europe-west1", "ring", "k"), "https://console.cloud.google.com/security/kms/key/manage/europe-west1/ring/k?project=pay-prod"},
		{TypeBucket, "arn:aws:s3:::b", ""},
		{TypeFirewall, "//compute.googleapis.com/projects/p", ""},
		{"compute.googleapis.com/Instance", "//compute.googleapis.com/projects/p/zones/z/instances/i", ""},
	}
	for _, tt := range tests {
		if got := ConsoleURL(change.ResourceRef{Cloud: change.GCP, Type: tt.typ, ID: tt.id}); got != tt.want {
			t.Errorf("%s %s: %q, want %q", tt.typ, tt.id, got, tt.want)
		}
	}
}
