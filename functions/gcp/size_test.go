package main

import (
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestMethodDeadCodeEliminationStaysOn guards the binary's size and cold
// start. When any linked package calls reflect's Method or MethodByName
// with a name the linker cannot see (text/template does, and
// golang.org/x/net/trace, which gRPC links unless built with grpcnotrace,
// registers html/template debug pages), the linker keeps every exported
// method of every reachable type: all of Compute's ~11,000 generated
// methods instead of the few the fetchers and fixes call, 50 MB instead of
// 27. The function is built as make build-gcp builds it.
func TestMethodDeadCodeEliminationStaysOn(t *testing.T) {
	bin := filepath.Join(t.TempDir(), "function")
	build := exec.Command("go", "build", "-tags", "grpcnotrace", "-trimpath", "-o", bin, ".")
	build.Env = append(build.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH=amd64")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	out, err := exec.Command("go", "tool", "nm", bin).Output()
	if err != nil {
		t.Fatalf("go tool nm: %v", err)
	}
	syms := string(out)
	if !strings.Contains(syms, "compute/v1.(*FirewallsService).Get") {
		t.Fatal("the binary lacks a Compute method the fetchers call: the symbol check is broken")
	}
	if strings.Contains(syms, "compute/v1.(*InstancesService).Insert") {
		t.Error("the binary keeps Compute's InstancesService.Insert, which driftwatch never calls: method dead code elimination is off " +
			"(find the culprit with: go build -tags grpcnotrace -ldflags=-dumpdep ./functions/gcp 2>&1 | grep ReflectMethod)")
	}
}
