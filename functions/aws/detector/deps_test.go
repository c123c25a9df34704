package main

import (
	"flag"
	"os"
	"os/exec"
	"slices"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite deps.txt")

// forbidden are the module prefixes of the other clouds' SDKs. The AWS
// detector must never link them: each cloud's function carries only its own
// SDK (smaller binaries, faster cold starts, and no other cloud's code in
// this cloud's blast radius).
var forbidden = []string{
	"github.com/Azure/",
	"cloud.google.com/",
	"google.golang.org/api/",
	"github.com/googleapis/",
}

// listDeps returns the non-standard packages the Lambda build links.
func listDeps(t *testing.T) []string {
	t.Helper()
	cmd := exec.Command("go", "list", "-deps", "-tags", "lambda.norpc", "-f", "{{if not .Standard}}{{.ImportPath}}{{end}}", ".")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux")
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list -deps: %v", err)
	}
	var deps []string
	for _, p := range strings.Fields(string(out)) {
		deps = append(deps, p)
	}
	slices.Sort(deps)
	return deps
}

func TestLinksOnlyTheAWSSDK(t *testing.T) {
	deps := listDeps(t)
	for _, want := range []string{"github.com/aws/aws-lambda-go/lambda", "github.com/aws/aws-sdk-go-v2/service/dynamodb"} {
		if !slices.Contains(deps, want) {
			t.Errorf("the detector does not link %s: the dependency listing is wrong", want)
		}
	}
	for _, p := range deps {
		for _, f := range forbidden {
			if strings.HasPrefix(p, f) {
				t.Errorf("the AWS detector links %s (forbidden prefix %s)", p, f)
			}
		}
	}
}

// TestDependencyList keeps deps.txt, the committed list of linked packages,
// in step with the code, so that a new dependency shows up in review.
func TestDependencyList(t *testing.T) {
	got := strings.Join(listDeps(t), "\n") + "\n"
	if *update {
		if err := os.WriteFile("deps.txt", []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile("deps.txt")
	if err != nil {
		t.Fatalf("read deps.txt (run go test -update to create it): %v", err)
	}
	if string(want) != got {
		t.Errorf("deps.txt is out of date: run `go test ./functions/aws/detector -update` and review the new dependencies")
	}
}
