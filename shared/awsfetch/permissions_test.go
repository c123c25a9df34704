package awsfetch

import (
	"errors"
	"flag"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/cloudtrail"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/rds"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3control"
	"github.com/aws/aws-sdk-go-v2/service/sts"
)

var update = flag.Bool("update", false, "rewrite testdata/permissions.golden")

// consumerInterfaces maps each SDK service id to the interface through
// which the readers call it.
func consumerInterfaces() map[string]reflect.Type {
	return map[string]reflect.Type{
		s3.ServiceID:         reflect.TypeFor[s3API](),
		s3control.ServiceID:  reflect.TypeFor[s3controlAPI](),
		ec2.ServiceID:        reflect.TypeFor[ec2API](),
		cloudtrail.ServiceID: reflect.TypeFor[cloudtrailAPI](),
		kms.ServiceID:        reflect.TypeFor[kmsAPI](),
		iam.ServiceID:        reflect.TypeFor[iamAPI](),
		rds.ServiceID:        reflect.TypeFor[rdsAPI](),
		sts.ServiceID:        reflect.TypeFor[stsAPI](),
	}
}

// TestPermissionsMatchInterfaces: every SDK method a reader can call is
// declared with an IAM action, and nothing else is declared.
func TestPermissionsMatchInterfaces(t *testing.T) {
	table := operationActions()
	ifaces := consumerInterfaces()
	for svc, typ := range ifaces {
		declared := table[svc]
		for m := range typ.Methods() {
			if _, ok := declared[m.Name]; !ok {
				t.Errorf("%s %s is called through %v but has no IAM action in operationActions", svc, m.Name, typ)
			}
		}
		for op := range declared {
			if _, ok := typ.MethodByName(op); !ok {
				t.Errorf("%s %s is declared but %v does not call it: remove it from operationActions", svc, op, typ)
			}
		}
	}
	for svc := range table {
		if _, ok := ifaces[svc]; !ok {
			t.Errorf("service %q is declared but no consumer interface uses it", svc)
		}
	}
}

func TestPermissions(t *testing.T) {
	got := Permissions()
	if !slices.IsSorted(got) || len(slices.Compact(slices.Clone(got))) != len(got) {
		t.Errorf("Permissions() is not sorted and unique: %v", got)
	}
	prefix := map[string]string{"S3": "s3", "S3 Control": "s3", "EC2": "ec2", "CloudTrail": "cloudtrail", "KMS": "kms", "IAM": "iam", "RDS": "rds", "STS": "sts"}
	valid := regexp.MustCompile(`^[a-z0-9]+:[A-Z][A-Za-z0-9]+$`)
	for svc, ops := range operationActions() {
		for op, action := range ops {
			if !valid.MatchString(action) || !strings.HasPrefix(action, prefix[svc]+":") {
				t.Errorf("%s %s: action %q is not a %s: action", svc, op, action, prefix[svc])
			}
		}
	}
	// Where the IAM action is not named after the API operation.
	for _, want := range []string{"s3:GetEncryptionConfiguration", "s3:GetBucketPublicAccessBlock", "s3:GetAccountPublicAccessBlock"} {
		if !slices.Contains(got, want) {
			t.Errorf("Permissions() lacks %s", want)
		}
	}
	for _, notAnAction := range []string{"s3:GetBucketEncryption", "s3:GetPublicAccessBlock", "s3:GetBucketPolicyStatus"} {
		if slices.Contains(got, notAnAction) {
			t.Errorf("Permissions() lists %s, which the fetcher does not need or is not an IAM action", notAnAction)
		}
	}

	// The golden list makes every change to the detector's role visible in
	// review.
	golden := filepath.Join("testdata", "permissions.golden")
	text := strings.Join(got, "\n") + "\n"
	if *update {
		if err := os.WriteFile(golden, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run go test -run TestPermissions -update)", err)
	}
	if string(want) != text {
		t.Errorf("Permissions() changed; review and run go test -run TestPermissions -update.\ngot:\n%s\nwant:\n%s", text, want)
	}
}

// TestUndeclaredOperationRefused: a call missing from the table never
// leaves the process, so it cannot work in tests and fail in production.
func TestUndeclaredOperationRefused(t *testing.T) {
	var requests atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { requests.Add(1) }))
	defer srv.Close()
	f := New(motoConfig(srv.URL, "us-east-1"), &Options{S3UsePathStyle: true})
	client, ok := f.s3.get("us-east-1").(*s3.Client)
	if !ok {
		t.Fatalf("s3 client is %T", f.s3.get("us-east-1"))
	}
	_, err := client.ListBuckets(t.Context(), &s3.ListBucketsInput{})
	if !errors.Is(err, errUndeclared) {
		t.Errorf("ListBuckets through the fetcher's client: %v, want errUndeclared", err)
	}
	if n := requests.Load(); n != 0 {
		t.Errorf("%d requests reached the server", n)
	}
}
