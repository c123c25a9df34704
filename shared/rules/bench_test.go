package rules

import (
	"encoding/json"
	"path/filepath"
	"testing"

	"github.com/driftwatch/driftwatch/shared/awsres"
	"github.com/driftwatch/driftwatch/shared/azres"
	"github.com/driftwatch/driftwatch/shared/gcpres"
	"github.com/driftwatch/driftwatch/shared/posture"
)

// BenchmarkEvaluate measures evaluating every built-in rule of a type on one
// realistic document: the per-event CPU the architecture budgets at tens of
// µs. The documents are fixtures, so they look like what fetchers produce.
func BenchmarkEvaluate(b *testing.B) {
	aws, azure, gcp := catalogues()[0], catalogues()[1], catalogues()[2]
	cases := []struct {
		name         string
		c            catalogue
		typ, fixture string
	}{
		{"s3_bucket", aws, awsres.TypeS3Bucket, "aws_s3_bucket_policy_not_public/fail-public-get-object.json"},
		{"security_group", aws, awsres.TypeSecurityGroup, "aws_ec2_sg_no_public_ingress_tcp_22/fail-ssh-ipv6-anywhere.json"},
		{"iam_user", aws, awsres.TypeIAMUser, "aws_iam_user_access_key_rotated_90d/fail-one-of-two.json"},
		{"account", aws, awsres.TypeAccount, "aws_cloudtrail_multi_region_trail_logging/pass-one-of-several.json"},
		{"azure_storage_account", azure, azres.TypeStorageAccount, "azure_storage_public_network_access_disabled/fail-enabled-selected-networks.json"},
		{"azure_nsg", azure, azres.TypeNSG, "azure_nsg_no_inbound_ssh_from_internet/fail-shadowed-by-higher-priority-deny.json"},
		{"azure_subscription", azure, azres.TypeSubscription, "azure_activity_log_diagnostic_setting_categories/pass-split-across-settings.json"},
		{"gcp_bucket", gcp, gcpres.TypeBucket, "gcp_storage_bucket_not_public/fail-all-users-object-viewer.json"},
		{"gcp_firewall", gcp, gcpres.TypeFirewall, "gcp_firewall_no_ingress_ssh_from_internet/fail-mixed-sources-one-internet.json"},
		{"gcp_sql_instance", gcp, gcpres.TypeSQLInstance, "gcp_cloudsql_require_ssl/fail-allow-unencrypted.json"},
		{"gcp_project", gcp, gcpres.TypeProject, "gcp_iam_no_basic_roles_for_users/fail-user-owner.json"},
	}
	engines := map[string]*Engine{}
	for _, c := range cases {
		e := engines[c.c.name()]
		if e == nil {
			e = c.c.engine(b)
			engines[c.c.name()] = e
		}
		f, res := loadFixture(b, c.c, filepath.Join(c.c.fixtureDir(), c.fixture), c.typ)
		ec := EvalContext{Now: f.Now, Account: f.Account}
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			n := len(e.RulesFor(c.typ))
			for b.Loop() {
				evals := e.Evaluate(res, ec)
				if len(evals) != n {
					b.Fatalf("%d evaluations, want %d", len(evals), n)
				}
				for _, ev := range evals {
					if ev.Status == posture.Error {
						b.Fatalf("%s: %s", ev.RuleID, ev.Detail)
					}
				}
			}
			b.ReportMetric(float64(n), "rules/op")
		})
	}
}

// BenchmarkCompileBuiltin is the cold-start cost of one cloud's catalogue:
// load the embedded YAML and compile every rule.
func BenchmarkCompileBuiltin(b *testing.B) {
	for _, c := range catalogues() {
		b.Run(c.name(), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				specs, err := Load(Builtin(c.name()))
				if err != nil {
					b.Fatal(err)
				}
				if _, err := Compile(specs, c.types); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkSettingValues evaluates the SSH rule's settings on one stored
// security group document, as the pipeline does for the after side of an
// alert: decode the JSON into the Go type, evaluate, format.
func BenchmarkSettingValues(b *testing.B) {
	c := awsCatalogue()
	_, res := loadFixture(b, c, filepath.Join(c.fixtureDir(), "aws_ec2_sg_no_public_ingress_tcp_22/fail-ssh-ipv4-anywhere.json"), awsres.TypeSecurityGroup)
	doc, err := json.Marshal(res.Doc)
	if err != nil {
		b.Fatal(err)
	}
	e := builtinEngine(b)
	const id = "aws_ec2_sg_no_public_ingress_tcp_22"
	b.ReportAllocs()
	for b.Loop() {
		got, err := e.SettingValues(id, doc)
		if err != nil || len(got) != 1 || got[0].Value == "none" {
			b.Fatalf("SettingValues = %q, %v", got, err)
		}
	}
	b.ReportMetric(float64(len(doc)), "doc-bytes")
}
