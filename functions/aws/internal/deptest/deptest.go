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

// Forbidden are the module prefixes of the other clouds' SDKs (Azure's
// authentication library, MSAL, included). An AWS function carries only
// AWS's: smaller binaries, faster cold starts, and no other cloud's code in
// this cloud's blast radius. A function that must talk to another cloud
// names exactly what it may link with CheckAllowing.
var Forbidden = []string{
	"github.com/Azure/",
	"github.com/AzureAD/",
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
	CheckAllowing(t, update, Allowance{}, want...)
}

// Allowance is what one function may link that Check forbids, and what it
// must not link although Check allows it.
type Allowance struct {
	// Allow are package paths (each with everything under it) of Forbidden
	// modules the binary may link.
	Allow []string
	// Deny are further package paths (each with everything under it) the
	// binary must not link.
	Deny []string
	// Reason says why, in failure messages.
	Reason string
}

// under reports whether package p is path or below it.
func under(p, path string) bool { return p == path || strings.HasPrefix(p, path+"/") }

// CheckAllowing is Check with an Allowance.
func CheckAllowing(t *testing.T, update bool, a Allowance, want ...string) {
	t.Helper()
	deps := Deps(t)
	for _, w := range want {
		if !slices.Contains(deps, w) {
			t.Errorf("the binary does not link %s: the dependency listing is wrong", w)
		}
	}
	for _, p := range deps {
		if slices.ContainsFunc(a.Allow, func(path string) bool { return under(p, path) }) {
			continue
		}
		for _, f := range Forbidden {
			if strings.HasPrefix(p, f) {
				t.Errorf("an AWS function links %s (forbidden prefix %s)", p, f)
			}
		}
		for _, d := range a.Deny {
			if under(p, d) {
				t.Errorf("the binary links %s, which it must not (%s)", p, a.Reason)
			}
		}
	}
	for _, path := range a.Allow {
		if !slices.ContainsFunc(deps, func(p string) bool { return under(p, path) }) {
			t.Errorf("%s is allowed but no longer linked: remove it from the allowance", path)
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
