package ruleset_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/driftwatch/driftwatch/shared/awsres"
	"github.com/driftwatch/driftwatch/shared/azres"
	"github.com/driftwatch/driftwatch/shared/change"
	"github.com/driftwatch/driftwatch/shared/gcpres"
	"github.com/driftwatch/driftwatch/shared/governance"
	"github.com/driftwatch/driftwatch/shared/remediation"
	"github.com/driftwatch/driftwatch/shared/rules"
	"github.com/driftwatch/driftwatch/shared/ruleset"
)

const awsRule = `id: acme_s3_bucket_versioning
title: ACME buckets keep versions
description: ACME's retention policy.
resource_type: AWS::S3::Bucket
severity: low
condition: resource.versioning_status == 'Enabled'
settings: [versioning_status]
remediation:
  action: acme_s3_enable_versioning
  guidance: Enable versioning.
triggers: [PutBucketVersioning]
`

const azureRule = `id: acme_storage_no_shared_key
title: ACME storage accounts refuse shared keys
description: ACME uses Entra ID only.
resource_type: Microsoft.Storage/storageAccounts
severity: medium
condition: '!resource.allow_shared_key_access'
settings: [allow_shared_key_access]
remediation:
  action: acme_storage_disable_shared_key
  guidance: Disable shared key access.
triggers: [Microsoft.Storage/storageAccounts/write]
`

const gcpRule = `id: acme_bucket_labelled
title: ACME buckets carry a team label
description: ACME bills storage by team.
resource_type: storage.googleapis.com/Bucket
severity: low
condition: "'team' in resource.labels"
settings: [labels]
remediation:
  guidance: Label the bucket with its team.
triggers: [storage.buckets.update]
`

func write(t *testing.T, dir, name, body string) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
}

func builtin(t *testing.T, c change.Cloud) int {
	t.Helper()
	specs, err := rules.Load(rules.Builtin(string(c)))
	if err != nil {
		t.Fatal(err)
	}
	return len(specs)
}

// One custom rules folder serves every cloud: each function compiles its
// own cloud's rules from it.
func TestCompileTakesEachCloudsRules(t *testing.T) {
	dir := t.TempDir()
	write(t, dir, "versioning.yaml", awsRule)
	write(t, dir, "shared-key.yaml", azureRule)
	write(t, dir, "labelled.yaml", gcpRule)
	nAWS, nAzure, nGCP := builtin(t, change.AWS), builtin(t, change.Azure), builtin(t, change.GCP)
	if nAWS == 0 || nAzure == 0 || nGCP == 0 {
		t.Fatalf("built-in rules: %d AWS, %d Azure, %d GCP", nAWS, nAzure, nGCP)
	}

	tests := []struct {
		clouds  []change.Cloud
		n       int
		has     string
		hasNot  string
		docType string
	}{
		{[]change.Cloud{change.AWS}, nAWS + 1, "acme_s3_bucket_versioning", "acme_storage_no_shared_key", awsres.TypeS3Bucket},
		{[]change.Cloud{change.Azure}, nAzure + 1, "acme_storage_no_shared_key", "acme_s3_bucket_versioning", azres.TypeStorageAccount},
		{[]change.Cloud{change.GCP}, nGCP + 1, "acme_bucket_labelled", "acme_storage_no_shared_key", gcpres.TypeBucket},
		{ruleset.Clouds, nAWS + nAzure + nGCP + 3, "acme_storage_no_shared_key", "", awsres.TypeS3Bucket},
	}
	for _, tt := range tests {
		e, err := ruleset.Compile(tt.clouds, dir, nil)
		if err != nil {
			t.Fatalf("%v: %v", tt.clouds, err)
		}
		if got := len(e.Rules()); got != tt.n {
			t.Errorf("%v: %d rules, want %d", tt.clouds, got, tt.n)
		}
		if _, ok := e.Rule(tt.has); !ok {
			t.Errorf("%v: %s missing", tt.clouds, tt.has)
		}
		if _, ok := e.Rule(tt.hasNot); ok && tt.hasNot != "" {
			t.Errorf("%v: %s compiled for another cloud", tt.clouds, tt.hasNot)
		}
		for _, r := range e.Rules() {
			if r.ID == tt.has && r.Source != filepath.Join(dir, "shared-key.yaml") && r.Source != filepath.Join(dir, "versioning.yaml") &&
				r.Source != filepath.Join(dir, "labelled.yaml") {
				t.Errorf("%s source = %s, want its file on disk", r.ID, r.Source)
			}
		}
	}
}

func TestCompileRejectsRulesOfNoCloud(t *testing.T) {
	dir := t.TempDir()
	write(t, dir, "typo.yaml", strings.Replace(azureRule, "Microsoft.Storage/storageAccounts\n", "Microsoft.Storage/storageAccount\n", 1))
	_, err := ruleset.Compile([]change.Cloud{change.AWS}, dir, nil)
	if err == nil || !errors.Is(err, rules.ErrInvalidRule) {
		t.Fatalf("error = %v, want an invalid rule", err)
	}
	want := filepath.Join(dir, "typo.yaml") + ":4: resource_type: unknown resource type \"Microsoft.Storage/storageAccount\""
	if !strings.Contains(err.Error(), want) {
		t.Errorf("error = %q\nwant it to contain %q", err, want)
	}
}

// Disabling names rules of any cloud (one setting for every function); a
// name no cloud has is a typo.
func TestCompileDisabled(t *testing.T) {
	dir := t.TempDir()
	write(t, dir, "shared-key.yaml", azureRule)
	e, err := ruleset.Compile([]change.Cloud{change.AWS}, dir, []string{"acme_storage_no_shared_key", "aws_kms_cmk_rotation_enabled"})
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := e.Rule("aws_kms_cmk_rotation_enabled"); ok {
		t.Error("disabled rule still compiled")
	}
	_, err = ruleset.Compile([]change.Cloud{change.AWS}, dir, []string{"acme_storage_no_shared_ky"})
	if err == nil || err.Error() != `DRIFTWATCH_DISABLED_RULES: no rule "acme_storage_no_shared_ky"` {
		t.Fatalf("typo: error = %v", err)
	}
}

// The governance policy is one file for every cloud: each function accepts
// references to the others' rules and actions and refuses names no cloud
// has.
func TestLoadPolicyChecksReferencesAcrossClouds(t *testing.T) {
	dir := t.TempDir()
	write(t, dir, "shared-key.yaml", azureRule)
	policy := func(body string) string {
		p := filepath.Join(t.TempDir(), "governance.yaml")
		write(t, filepath.Dir(p), "governance.yaml", "version: 1\n"+body)
		return p
	}
	ok := policy("rules:\n  acme_storage_no_shared_key:\n    two_approvers: true\n  aws_kms_cmk_rotation_enabled:\n    mode: alert\nhigh_risk_actions: [acme_storage_disable_shared_key, custom_only_action]\n")
	actions := remediation.Catalog{"custom_only_action": nil}
	if _, err := ruleset.LoadPolicy(ok, dir, actions); err != nil {
		t.Fatalf("valid cross-cloud policy: %v", err)
	}
	if _, err := ruleset.LoadPolicy(ok, dir, nil); err == nil || !strings.Contains(err.Error(), `unknown action "custom_only_action"`) {
		t.Errorf("an action neither the catalogue nor a rule has: %v", err)
	}
	bad := policy("rules:\n  acme_storage_no_shared_kee:\n    mode: alert\n")
	if _, err := ruleset.LoadPolicy(bad, dir, nil); err == nil || !strings.Contains(err.Error(), `unknown rule "acme_storage_no_shared_kee"`) {
		t.Errorf("a rule no cloud has: %v", err)
	}
	if p, err := ruleset.LoadPolicy("", "", nil); err != nil || p == nil {
		t.Errorf("no policy file: %v, %v", p, err)
	}
}

type planAction struct{ remediation.Action }

func (planAction) Plan(_ context.Context, t remediation.Target) (remediation.Plan, error) {
	sa, ok := t.Doc.(*azres.StorageAccount)
	if !ok {
		return remediation.Plan{}, errors.New("not a storage account")
	}
	return remediation.Plan{Change: "Disable shared key access on " + sa.Name}, nil
}

// The planner decodes the stored document into its cloud's type before
// asking the action.
func TestPlannerDecodesTheCloudsDocument(t *testing.T) {
	p := ruleset.Planner{Actions: remediation.Catalog{"acme_storage_disable_shared_key": planAction{}}}
	ref := change.ResourceRef{Cloud: change.Azure, Type: azres.TypeStorageAccount, ID: "/subscriptions/s/resourcegroups/rg/providers/microsoft.storage/storageaccounts/acme"}
	got, err := p.PlanFix(context.Background(), "acme_storage_disable_shared_key", ref, []byte(`{"name":"acme","allow_shared_key_access":true}`))
	if err != nil || got != "Disable shared key access on acme" {
		t.Fatalf("plan = %q, %v", got, err)
	}
	if _, err := p.PlanFix(context.Background(), "nope", ref, []byte(`{}`)); err == nil {
		t.Error("an unknown action planned")
	}
	ref.Cloud = change.AWS
	if _, err := p.PlanFix(context.Background(), "acme_storage_disable_shared_key", ref, []byte(`{}`)); err == nil || !strings.Contains(err.Error(), "no document type") {
		t.Errorf("a type of another cloud: %v", err)
	}
}

func TestConsoleURLByCloud(t *testing.T) {
	aws := ruleset.ConsoleURL(change.ResourceRef{Cloud: change.AWS, Type: awsres.TypeS3Bucket, ID: "arn:aws:s3:::b", Name: "b", Region: "eu-west-1"})
	az := ruleset.ConsoleURL(change.ResourceRef{Cloud: change.Azure, Type: azres.TypeStorageAccount, ID: "/subscriptions/s/resourcegroups/rg/providers/microsoft.storage/storageaccounts/acme"})
	if !strings.Contains(aws, "console.aws.amazon.com") || !strings.HasPrefix(az, "https://portal.azure.com/") {
		t.Fatalf("aws %q, azure %q", aws, az)
	}
	gcp := ruleset.ConsoleURL(change.ResourceRef{Cloud: change.GCP, Type: gcpres.TypeBucket, ID: gcpres.BucketID("invoices")})
	if !strings.HasPrefix(gcp, "https://console.cloud.google.com/storage/browser/invoices") {
		t.Errorf("gcp = %q", gcp)
	}
	if got := ruleset.ConsoleURL(change.ResourceRef{Cloud: "oci", Type: gcpres.TypeBucket, ID: gcpres.BucketID("invoices")}); got != "" {
		t.Errorf("a cloud without console links = %q", got)
	}
}

// The catalogue's irreversible actions need two approvers and never run
// automatically, whatever the policy file says.
func TestLoadPolicyMarksIrreversibleActions(t *testing.T) {
	dir := t.TempDir()
	write(t, dir, "shared-key.yaml", strings.Replace(azureRule, "  action: acme_storage_disable_shared_key\n", "  action: acme_storage_disable_shared_key\n  irreversible: true\n", 1))
	p, err := ruleset.LoadPolicy("", dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	d := p.Decide(governance.Input{RuleID: "acme_storage_no_shared_key", Action: "acme_storage_disable_shared_key", Severity: "medium"})
	if d.RequiredApprovals != 2 {
		t.Errorf("irreversible custom action: %+v", d)
	}
	d = p.Decide(governance.Input{RuleID: "azure_keyvault_soft_delete_and_purge_protection", Action: "azure_keyvault_enable_purge_protection", Severity: "high"})
	if d.RequiredApprovals != 2 {
		t.Errorf("built-in purge protection: %+v", d)
	}
	d = p.Decide(governance.Input{RuleID: "azure_storage_min_tls_1_2", Action: "azure_storage_min_tls_1_2", Severity: "medium"})
	if d.RequiredApprovals != 1 {
		t.Errorf("a reversible action: %+v", d)
	}
}
