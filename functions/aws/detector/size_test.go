package main

import (
	"os/exec"
	"strings"
	"testing"
)

// TestMethodDeadCodeEliminationStaysOn guards the binary's size and cold
// start. When any linked package calls reflect's Method or MethodByName with
// a name the linker cannot see, the linker keeps every exported method of
// every reachable type: all ~700 EC2 operations and their serializers instead
// of the few the fetchers call (google.golang.org/protobuf before v1.36.12
// did this on Go 1.26, growing the binary from 25 MB to 80 MB). An EC2
// operation driftwatch never calls must not be in the binary.
func TestMethodDeadCodeEliminationStaysOn(t *testing.T) {
	bin := buildBootstrap(t)
	out, err := exec.Command("go", "tool", "nm", bin).Output()
	if err != nil {
		t.Fatalf("go tool nm: %v", err)
	}
	syms := string(out)
	if !strings.Contains(syms, "service/ec2.(*Client).DescribeSecurityGroups") {
		t.Fatal("the binary lacks an EC2 operation the fetchers call: the symbol check is broken")
	}
	if strings.Contains(syms, "service/ec2.(*Client).RunInstances") {
		t.Error("the binary keeps EC2 RunInstances, which driftwatch never calls: method dead code elimination is off " +
			"(find the culprit with: go build -ldflags=-dumpdep ./functions/aws/detector 2>&1 | grep 'reflect.Value.Method')")
	}
}
