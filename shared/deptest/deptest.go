// Package deptest checks what a function's binary links: never another
// cloud's SDK beyond what it needs, and nothing that is not in its
// reviewed deps.txt (in the spirit of tailscale's depaware). Each
// function's deps_test.go states its Policy; this package holds the check
// they share. Smaller binaries, faster cold starts, and no code able to
// act on another cloud's resources in one cloud's blast radius.
package deptest

import (
	"os"
	"os/exec"
	"slices"
	"strings"
	"testing"
)

// Policy is what one function's binary may link.
type Policy struct {
	// Function names it in failure messages ("the Azure function").
	Function string
	// Dir is its directory in the repository, for the update hint
	// ("functions/azure").
	Dir string
	// GOARCH is the architecture it is built for; empty is the host's.
	GOARCH string
	// Tags are its build tags (lambda.norpc).
	Tags []string
	// Forbidden are package prefixes it must not link: one ending in "/"
	// matches everything it begins ("cloud.google.com/"), any other is a
	// package and its subpackages ("…/service/s3", not "…/service/s3shared").
	Forbidden []string
	// Allow are package paths (each with everything under it) it may link
	// although Forbidden matches them. Each must still be linked: an
	// allowance nothing uses is an error, so that it does not outlive its
	// reason.
	Allow []string
	// Deny are further package paths (each with everything under it) it
	// must not link, with Reason saying why.
	Deny   []string
	Reason string
}

// Forbids returns the entry of p.Forbidden that pkg falls under, unless
// p.Allow allows it.
func (p Policy) Forbids(pkg string) (string, bool) {
	if slices.ContainsFunc(p.Allow, func(path string) bool { return under(pkg, path) }) {
		return "", false
	}
	for _, f := range p.Forbidden {
		if strings.HasSuffix(f, "/") && strings.HasPrefix(pkg, f) || under(pkg, f) {
			return f, true
		}
	}
	return "", false
}

// under reports whether package p is path or below it.
func under(p, path string) bool { return p == path || strings.HasPrefix(p, path+"/") }

// Deps returns the non-standard packages the Linux build of the package in
// the current directory links.
func Deps(t *testing.T, p Policy) []string {
	t.Helper()
	args := []string{"list", "-deps", "-f", "{{if not .Standard}}{{.ImportPath}}{{end}}"}
	if len(p.Tags) > 0 {
		args = append(args, "-tags", strings.Join(p.Tags, ","))
	}
	cmd := exec.Command("go", append(args, ".")...)
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux")
	if p.GOARCH != "" {
		cmd.Env = append(cmd.Env, "GOARCH="+p.GOARCH)
	}
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list -deps: %v", err)
	}
	deps := strings.Fields(string(out))
	slices.Sort(deps)
	return deps
}

// Check fails when the binary links a forbidden or denied package, lacks
// one of want (the listing itself would be wrong), no longer links an
// allowed path, or differs from deps.txt; with update it rewrites
// deps.txt.
func Check(t *testing.T, update bool, p Policy, want ...string) {
	t.Helper()
	deps := Deps(t, p)
	for _, w := range want {
		if !slices.Contains(deps, w) {
			t.Errorf("the binary does not link %s: the dependency listing is wrong", w)
		}
	}
	for _, pkg := range deps {
		if f, ok := p.Forbids(pkg); ok {
			t.Errorf("%s links %s (forbidden: %s)", p.Function, pkg, f)
		}
		for _, d := range p.Deny {
			if under(pkg, d) {
				t.Errorf("%s links %s, which it must not (%s)", p.Function, pkg, p.Reason)
			}
		}
	}
	for _, path := range p.Allow {
		if !slices.ContainsFunc(deps, func(pkg string) bool { return under(pkg, path) }) {
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
		t.Errorf("deps.txt is out of date: run `go test ./%s/... -run TestDependencies -update` and review the new dependencies", p.Dir)
	}
}
