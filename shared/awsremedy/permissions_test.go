package awsremedy

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

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/driftwatch/driftwatch/shared/awsres"
	"github.com/driftwatch/driftwatch/shared/internal/motoserver"
	"github.com/driftwatch/driftwatch/shared/remediation"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata")

// apiReporter is implemented by every action of the package.
type apiReporter interface {
	api() (service string, iface reflect.Type)
}

// TestPermissionsMatchInterfaces: every SDK method an action can call is
// declared in its Permissions, and it declares nothing else; the operation
// table holds nothing no action calls.
func TestPermissionsMatchInterfaces(t *testing.T) {
	table := operationActions()
	used := map[string]map[string]bool{}
	for name, a := range catalog(t, "us-east-1") {
		r, ok := a.(apiReporter)
		if !ok {
			t.Fatalf("%s (%T) does not report its SDK interface", name, a)
		}
		svc, iface := r.api()
		if iface.Kind() != reflect.Interface {
			t.Fatalf("%s calls through %v, not an interface", name, iface)
		}
		var needed []string
		for m := range iface.Methods() {
			action, ok := table[svc][m.Name]
			if !ok {
				t.Errorf("%s calls %s %s, which has no IAM action in operationActions", name, svc, m.Name)
				continue
			}
			if used[svc] == nil {
				used[svc] = map[string]bool{}
			}
			used[svc][m.Name] = true
			needed = append(needed, action)
		}
		slices.Sort(needed)
		needed = slices.Compact(needed)
		declared := a.Permissions()
		slices.Sort(declared)
		if !slices.Equal(needed, declared) {
			t.Errorf("%s declares %v but its calls (%v) need exactly %v", name, declared, iface, needed)
		}
	}
	for svc, ops := range table {
		for op := range ops {
			if !used[svc][op] {
				t.Errorf("%s %s is in operationActions but no action calls it: remove it", svc, op)
			}
		}
	}
}

func TestPermissions(t *testing.T) {
	got := Permissions()
	if !slices.IsSorted(got) || len(slices.Compact(slices.Clone(got))) != len(got) {
		t.Errorf("Permissions() is not sorted and unique: %v", got)
	}
	if union := catalog(t, "us-east-1").Permissions(); !slices.Equal(got, union) {
		t.Errorf("Permissions() = %v\nbut the actions together declare %v", got, union)
	}
	prefix := map[string]string{"S3": "s3", "S3 Control": "s3", "EC2": "ec2", "CloudTrail": "cloudtrail", "KMS": "kms", "IAM": "iam", "RDS": "rds"}
	valid := regexp.MustCompile(`^[a-z0-9]+:[A-Z][A-Za-z0-9]+$`)
	for svc, ops := range operationActions() {
		for op, action := range ops {
			if !valid.MatchString(action) || !strings.HasPrefix(action, prefix[svc]+":") {
				t.Errorf("%s %s: action %q is not a %s: action", svc, op, action, prefix[svc])
			}
		}
	}
	// Where the IAM action is not named after the API operation.
	for _, want := range []string{"s3:PutBucketPublicAccessBlock", "s3:PutAccountPublicAccessBlock", "s3:PutEncryptionConfiguration", "s3:GetEncryptionConfiguration"} {
		if !slices.Contains(got, want) {
			t.Errorf("Permissions() lacks %s", want)
		}
	}
	for _, notAnAction := range []string{"s3:PutPublicAccessBlock", "s3:DeletePublicAccessBlock", "s3:PutBucketEncryption", "s3:DeleteBucketEncryption"} {
		if slices.Contains(got, notAnAction) {
			t.Errorf("Permissions() lists %s, which is an API name, not an IAM action", notAnAction)
		}
	}

	// The golden list makes every change to the remediator's role visible
	// in review.
	golden := filepath.Join("testdata", "permissions.golden")
	text := strings.Join(got, "\n") + "\n"
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
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

// TestUndeclaredOperationRefused: a call the action does not declare never
// leaves the process, so it cannot work in tests and fail in production;
// neither can an action use a call only another action declares.
func TestUndeclaredOperationRefused(t *testing.T) {
	var requests atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { requests.Add(1) }))
	defer srv.Close()
	s := motoserver.Server{URL: srv.URL}
	cat, err := New(s.Config("us-east-1"), &Options{S3UsePathStyle: true})
	if err != nil {
		t.Fatal(err)
	}
	a, ok := cat[S3BlockPublicAccess].(*action[awsres.S3Bucket, awsres.PublicAccessBlock, bucketPABAPI])
	if !ok {
		t.Fatalf("%s is %T", S3BlockPublicAccess, cat[S3BlockPublicAccess])
	}
	client, ok := a.clients.get("us-east-1").(*s3.Client)
	if !ok {
		t.Fatalf("client is %T", a.clients.get("us-east-1"))
	}
	for name, call := range map[string]func() error{
		"ListBuckets (no action declares it)": func() error {
			_, err := client.ListBuckets(t.Context(), &s3.ListBucketsInput{})
			return err
		},
		"PutBucketAcl (s3_acl_private's, not this action's)": func() error {
			_, err := client.PutBucketAcl(t.Context(), &s3.PutBucketAclInput{Bucket: aws.String("b"), ACL: "private"})
			return err
		},
	} {
		if err := call(); !errors.Is(err, errUndeclared) {
			t.Errorf("%s through %s's client: %v, want errUndeclared", name, S3BlockPublicAccess, err)
		}
	}
	if n := requests.Load(); n != 0 {
		t.Errorf("%d requests reached the server", n)
	}
}

// TestCatalogCoversRules: every action a built-in rule names is either in
// the catalogue, for the rule's resource type, or listed in GuidanceOnly
// with a reason; and nothing is in either list that no rule names.
func TestCatalogCoversRules(t *testing.T) {
	eng, err := engine()
	if err != nil {
		t.Fatal(err)
	}
	cat := catalog(t, "us-east-1")
	guidance := GuidanceOnly()
	named := map[string]bool{}
	for _, r := range eng.Rules() {
		name := r.Remediation.Action
		if name == "" {
			continue
		}
		named[name] = true
		a, inCatalog := cat[name]
		reason, guidanceOnly := guidance[name]
		switch {
		case inCatalog && guidanceOnly:
			t.Errorf("%s (rule %s) is both implemented and listed in GuidanceOnly", name, r.ID)
		case !inCatalog && !guidanceOnly:
			t.Errorf("rule %s names action %s, which is neither implemented nor listed in GuidanceOnly", r.ID, name)
		case inCatalog && a.ResourceType() != r.ResourceType:
			t.Errorf("rule %s (%s) names %s, which acts on %s", r.ID, r.ResourceType, name, a.ResourceType())
		case guidanceOnly && len(strings.Fields(reason)) < 5:
			t.Errorf("GuidanceOnly[%s] = %q: say why it is not automated", name, reason)
		}
	}
	for name := range cat {
		if !named[name] {
			t.Errorf("action %s is implemented but no built-in rule names it", name)
		}
	}
	for name := range guidance {
		if !named[name] {
			t.Errorf("GuidanceOnly lists %s, which no built-in rule names", name)
		}
	}
}

func TestNewOptions(t *testing.T) {
	for _, days := range []int32{-1, 36} {
		if _, err := New(emulator.Config("us-east-1"), &Options{BackupRetentionDays: days}); err == nil {
			t.Errorf("New accepted a backup retention of %d days", days)
		}
	}
	cat, err := New(aws.Config{}, nil)
	if err != nil {
		t.Fatalf("New with zero values: %v", err)
	}
	if len(cat) == 0 {
		t.Fatal("New returned no actions")
	}
	for name, a := range cat {
		if a.Name() != name {
			t.Errorf("catalogue key %q holds action %q", name, a.Name())
		}
	}
	var _ remediation.Catalog = cat
}
