// Package deptest checks what the GCP function's binary links: no other
// cloud's SDK beyond what the posture store needs, and nothing that is not
// in its reviewed deps.txt (in the spirit of tailscale's depaware). It is
// the GCP counterpart of functions/azure/internal/deptest.
package deptest

import (
	"os"
	"os/exec"
	"slices"
	"strings"
	"testing"
)

// Forbidden are the package prefixes the GCP function must not link:
// Azure's SDKs (MSAL included), and every AWS service client except the
// two the posture store in DynamoDB needs (sts, to exchange the service
// account's ID token for AWS credentials, and dynamodb itself). Smaller
// binary, faster cold start, and no code able to act on another cloud's
// resources in this cloud's blast radius.
var Forbidden = []string{
	"github.com/Azure/",
	"github.com/AzureAD/",
	"github.com/aws/aws-sdk-go-v2/service/s3",
	"github.com/aws/aws-sdk-go-v2/service/s3control",
	"github.com/aws/aws-sdk-go-v2/service/ec2",
	"github.com/aws/aws-sdk-go-v2/service/iam",
	"github.com/aws/aws-sdk-go-v2/service/kms",
	"github.com/aws/aws-sdk-go-v2/service/rds",
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail",
	"github.com/aws/aws-sdk-go-v2/service/eventbridge",
	"github.com/aws/aws-sdk-go-v2/service/sqs",
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager",
	"github.com/aws/aws-lambda-go",
}

// forbidden returns the entry of Forbidden that p falls under: a prefix
// ending in "/" matches what it begins, any other is a package and its
// subpackages (service/s3 is not service/s3shared).
func forbidden(p string) (string, bool) {
	for _, f := range Forbidden {
		if strings.HasSuffix(f, "/") && strings.HasPrefix(p, f) || p == f || strings.HasPrefix(p, f+"/") {
			return f, true
		}
	}
	return "", false
}

// Deps returns the non-standard packages the linux/amd64 build of the
// package in the current directory links (Cloud Run's x86-64).
func Deps(t *testing.T) []string {
	t.Helper()
	cmd := exec.Command("go", "list", "-deps", "-f", "{{if not .Standard}}{{.ImportPath}}{{end}}", ".")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH=amd64")
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list -deps: %v", err)
	}
	deps := strings.Fields(string(out))
	slices.Sort(deps)
	return deps
}

// Check fails when the binary links a forbidden package, lacks one of want
// (the listing itself would be wrong), or differs from deps.txt; with
// update it rewrites deps.txt.
func Check(t *testing.T, update bool, want ...string) {
	t.Helper()
	deps := Deps(t)
	for _, w := range want {
		if !slices.Contains(deps, w) {
			t.Errorf("the binary does not link %s: the dependency listing is wrong", w)
		}
	}
	for _, p := range deps {
		if f, ok := forbidden(p); ok {
			t.Errorf("the GCP function links %s (forbidden: %s)", p, f)
		}
	}
	got := strings.Join(deps, "\n") + "\n"
	if update {
		if err := os.WriteFile("deps.txt", []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	have, err := os.ReadFile("deps.txt")
	if err != nil {
		t.Fatalf("read deps.txt (run go test -update to create it): %v", err)
	}
	if string(have) != got {
		t.Errorf("deps.txt is out of date: run `go test ./functions/gcp/... -run TestDependencies -update` and review the new dependencies")
	}
}
