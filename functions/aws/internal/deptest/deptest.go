// Package deptest checks what a function binary links: never another
// cloud's SDK, and nothing that is not in its reviewed deps.txt (in the
// spirit of tailscale's depaware).
package deptest

import (
	"os"
	"os/exec"
	"slices"
	"strings"
	"testing"
)

// Forbidden are the module prefixes of the other clouds' SDKs. An AWS
// function carries only AWS's: smaller binaries, faster cold starts, and no
// other cloud's code in this cloud's blast radius.
var Forbidden = []string{
	"github.com/Azure/",
	"cloud.google.com/",
	"google.golang.org/api/",
	"github.com/googleapis/",
}

// Deps returns the non-standard packages the Lambda build of the package
// in the current directory links.
func Deps(t *testing.T) []string {
	t.Helper()
	cmd := exec.Command("go", "list", "-deps", "-tags", "lambda.norpc", "-f", "{{if not .Standard}}{{.ImportPath}}{{end}}", ".")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux")
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
		for _, f := range Forbidden {
			if strings.HasPrefix(p, f) {
				t.Errorf("an AWS function links %s (forbidden prefix %s)", p, f)
			}
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
		t.Errorf("deps.txt is out of date: run `go test ./functions/aws/... -run TestDependencies -update` and review the new dependencies")
	}
}
