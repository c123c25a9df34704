package main

import (
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestMethodDeadCodeEliminationStaysOn guards the binary's size and cold
// start now that it links the Pub/Sub client: gRPC's golang.org/x/net/trace
// (left out with the grpcnotrace tag, as make build builds it) registers
// html/template debug pages, whose reflection makes the linker keep every
// exported method of every reachable type (40 MB instead of 28).
func TestMethodDeadCodeEliminationStaysOn(t *testing.T) {
	bin := filepath.Join(t.TempDir(), "bootstrap")
	build := exec.Command("go", "build", "-tags", "lambda.norpc,grpcnotrace", "-trimpath", "-o", bin, ".")
	build.Env = append(build.Environ(), "CGO_ENABLED=0", "GOOS=linux")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	out, err := exec.Command("go", "tool", "nm", bin).Output()
	if err != nil {
		t.Fatalf("go tool nm: %v", err)
	}
	syms := string(out)
	if !strings.Contains(syms, "service/dynamodb.(*Client).TransactWriteItems") {
		t.Fatal("the binary lacks a DynamoDB operation the store calls: the symbol check is broken")
	}
	if strings.Contains(syms, "service/dynamodb.(*Client).CreateBackup") {
		t.Error("the binary keeps DynamoDB CreateBackup, which driftwatch never calls: method dead code elimination is off " +
			"(find the culprit with: go build -tags lambda.norpc,grpcnotrace -ldflags=-dumpdep ./functions/aws/interactivity 2>&1 | grep ReflectMethod)")
	}
}
