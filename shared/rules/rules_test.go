package rules

import (
	"testing"

	"github.com/driftwatch/driftwatch/shared/awsres"
)

// Test data shared by the package's tests lives at the repository root.
const (
	fixtureDir = "../../testdata/rules/aws"
	invalidDir = "../../testdata/rules/invalid"
)

// builtinSpecs loads the embedded catalogue or stops the test.
func builtinSpecs(tb testing.TB) []Spec {
	tb.Helper()
	specs, err := Load(Builtin("aws"))
	if err != nil {
		tb.Fatalf("Load(Builtin(\"aws\")): %v", err)
	}
	return specs
}

// builtinEngine compiles the embedded catalogue or stops the test.
func builtinEngine(tb testing.TB) *Engine {
	tb.Helper()
	e, err := Compile(builtinSpecs(tb), awsres.Types())
	if err != nil {
		tb.Fatalf("Compile(builtin): %v", err)
	}
	return e
}
