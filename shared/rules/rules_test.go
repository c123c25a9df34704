package rules

import (
	"path/filepath"
	"reflect"
	"regexp"
	"testing"

	"github.com/driftwatch/driftwatch/shared/awsres"
	"github.com/driftwatch/driftwatch/shared/azres"
	"github.com/driftwatch/driftwatch/shared/change"
	"github.com/driftwatch/driftwatch/shared/gcpres"
)

// Test data shared by the package's tests lives at the repository root.
const (
	testdataDir = "../../testdata/rules"
	invalidDir  = testdataDir + "/invalid"
)

// catalogue is one cloud's built-in catalogue as the tests see it: the
// document types it compiles against and what its rules must look like.
type catalogue struct {
	cloud change.Cloud
	// types are the cloud's document types (awsres.Types(), azres.Types(),
	// gcpres.Types()).
	types map[string]reflect.Type
	// minRules is the size the catalogue must not fall below.
	minRules int
	// trigger matches the cloud's audit-log operation names: CloudTrail
	// eventNames for AWS, ARM operation names for Azure, Cloud Audit Logs
	// methodNames for GCP.
	trigger *regexp.Regexp
	// actionPrefix starts every remediation action name of the cloud
	// ("" when the cloud's action names have no common prefix).
	actionPrefix string
	// cis starts every CIS control id: the cloud's benchmark.
	cis string
	// uncontrolled are the rules the reference mapping (controls.csv)
	// finds no framework control for; every other rule must name one.
	uncontrolled []string
}

// catalogues lists every cloud with a built-in catalogue, in the order
// the settings golden file lists them.
func catalogues() []catalogue {
	return []catalogue{
		{
			cloud:    change.AWS,
			types:    awsres.Types(),
			minRules: 22,
			// CloudTrail eventNames are PascalCase API names.
			trigger: regexp.MustCompile(`^[A-Z][A-Za-z0-9]+$`),
			cis:     "CIS AWS ",
		},
		{
			cloud:    change.Azure,
			types:    azres.Types(),
			minRules: 12,
			// ARM operations as the Activity Log and Event Grid write them:
			// Microsoft.<Provider>/<type>[/<type>...]/<write|delete|action>.
			trigger:      regexp.MustCompile(`^Microsoft\.[A-Z][A-Za-z]+(/[a-z][A-Za-z]+)+/(write|delete|action)$`),
			actionPrefix: "azure_",
			cis:          "CIS Azure ",
		},
		{
			cloud:    change.GCP,
			types:    gcpres.Types(),
			minRules: 12,
			// Cloud Audit Logs methodNames: dotted API names
			// ("storage.setIamPermissions", "v1.compute.firewalls.insert",
			// "google.iam.admin.v1.CreateServiceAccountKey") or the bare
			// RPC names some services log ("SetIamPolicy", "CreateCryptoKey").
			trigger:      regexp.MustCompile(`^[A-Za-z][A-Za-z0-9]*(\.[A-Za-z][A-Za-z0-9]*)*$`),
			actionPrefix: "gcp_",
			cis:          "CIS GCP ",
			uncontrolled: []string{
				"gcp_firewall_no_ingress_all_ports_from_internet",
				"gcp_iam_no_basic_roles_for_users",
				"gcp_storage_bucket_public_access_prevention_enforced",
			},
		},
	}
}

// awsCatalogue is the AWS entry of catalogues, for the tests that exercise
// the engine on AWS documents.
func awsCatalogue() catalogue { return catalogues()[0] }

// name is the catalogue's folder name: "aws", "azure", "gcp".
func (c catalogue) name() string { return string(c.cloud) }

// fixtureDir is where the catalogue's rule fixtures live.
func (c catalogue) fixtureDir() string { return filepath.Join(testdataDir, c.name()) }

// specs loads the embedded catalogue of c or stops the test.
func (c catalogue) specs(tb testing.TB) []Spec {
	tb.Helper()
	specs, err := Load(Builtin(c.name()))
	if err != nil {
		tb.Fatalf("Load(Builtin(%q)): %v", c.name(), err)
	}
	return specs
}

// engine compiles the embedded catalogue of c with its own types or stops
// the test.
func (c catalogue) engine(tb testing.TB) *Engine {
	tb.Helper()
	e, err := Compile(c.specs(tb), c.types)
	if err != nil {
		tb.Fatalf("Compile(Builtin(%q)): %v", c.name(), err)
	}
	return e
}

// builtinSpecs loads the embedded AWS catalogue or stops the test.
func builtinSpecs(tb testing.TB) []Spec { return awsCatalogue().specs(tb) }

// builtinEngine compiles the embedded AWS catalogue or stops the test.
func builtinEngine(tb testing.TB) *Engine { return awsCatalogue().engine(tb) }
