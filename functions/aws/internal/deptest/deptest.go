// Package deptest is the AWS functions' dependency policy for
// shared/deptest: never another cloud's SDK, and nothing that is not in
// the function's reviewed deps.txt.
package deptest

import (
	"testing"

	"github.com/driftwatch/driftwatch/shared/deptest"
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

// Check fails when the Lambda build of the package in the current
// directory links a forbidden package, lacks one of want (the listing
// itself would be wrong), or differs from deps.txt; with update it
// rewrites deps.txt.
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

// CheckAllowing is Check with an Allowance.
func CheckAllowing(t *testing.T, update bool, a Allowance, want ...string) {
	t.Helper()
	deptest.Check(t, update, deptest.Policy{
		Function: "an AWS function", Dir: "functions/aws", Tags: []string{"lambda.norpc", "grpcnotrace"},
		Forbidden: Forbidden, Allow: a.Allow, Deny: a.Deny, Reason: a.Reason,
	}, want...)
}
