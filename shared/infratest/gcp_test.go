package infratest

import (
	"bytes"
	"encoding/json"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"

	"github.com/driftwatch/driftwatch/shared/gcpbus"
	"github.com/driftwatch/driftwatch/shared/gcpdetector"
	"github.com/driftwatch/driftwatch/shared/gcpevent"
	"github.com/driftwatch/driftwatch/shared/gcpfetch"
	"github.com/driftwatch/driftwatch/shared/gcpfunc"
	"github.com/driftwatch/driftwatch/shared/gcpremedy"
)

// gcpDir is the GCP Terraform root module, relative to this package.
var gcpDir = filepath.Join("..", "..", "infra", "gcp")

// gcpConfigDirs are the directories (relative to the repository root) of
// the Go code that reads the GCP function's environment: the HTTP layer
// (push token checks, PORT), the federation to the posture table
// (awsfed.FromEnv), the variables every function shares (fnenv), the
// pipeline's configuration and the function's main.
func gcpConfigDirs() []string {
	return []string{"shared/gcpfunc", "shared/awsfed", "shared/fnenv", "shared/gcpdetector", "functions/gcp"}
}

// gcpGovernancePath is where the image puts governance.yaml (infra/gcp
// README, "The image").
const gcpGovernancePath = "/etc/driftwatch/governance.yaml"

// References the GCP tests compare with, as refersTo reads them.
const (
	gcService      = "google_cloud_run_v2_service.function"
	gcFunctionSA   = "google_service_account.function"
	gcPushSA       = "google_service_account.push"
	gcPublisherSA  = "google_service_account.remediation_publisher"
	gcSlackSecret  = "google_secret_manager_secret.slack_bot_token"
	gcPushAudience = "local.push_audience"
	gcPubSubAgent  = "local.pubsub_agent"
)

// gcpEnvSpec is the Cloud Run service's environment as the code defines
// it (push mode).
func gcpEnvSpec() envSpec {
	return envSpec{
		owner: "the GCP function",
		env: map[string]string{
			"DRIFTWATCH_MODE":                 "", // "push", checked below
			"DRIFTWATCH_PUSH_AUDIENCE":        gcPushAudience,
			"DRIFTWATCH_PUSH_SERVICE_ACCOUNT": gcPushSA + ".email",
			"DRIFTWATCH_TABLE":                "var.aws_table_name",
			"DRIFTWATCH_AWS_REGION":           "var.aws_region",
			"DRIFTWATCH_AWS_ROLE_ARN":         "var.aws_role_arn",
			"DRIFTWATCH_AWS_TOKEN_AUDIENCE":   "var.aws_token_audience",
			"DRIFTWATCH_GOVERNANCE_FILE":      "local.governance_file",
			"DRIFTWATCH_ACCOUNTS":             "var.accounts",
			"DRIFTWATCH_DISABLED_RULES":       "var.disabled_rules",
			"DRIFTWATCH_LOG_LEVEL":            "var.log_level",
			// Fixes act only where the remediation role is granted.
			"DRIFTWATCH_GCP_PROJECTS": "var.remediation_projects",
			// Automatic fixes are published to the remediation topic.
			"DRIFTWATCH_REMEDIATION_TOPIC": "google_pubsub_topic.remediation.id",
			"SLACK_CHANNEL":                "var.slack_channel",
			// A Secret Manager reference (gcpSecretEnv), resolved by Cloud Run.
			"SLACK_BOT_TOKEN": gcSlackSecret,
		},
		configDirs: gcpConfigDirs(),
		notDeployed: map[string]string{
			"DRIFTWATCH_AUDIT_SUBSCRIPTION":       "pull mode only; the deployment pushes to the service",
			"DRIFTWATCH_REMEDIATION_SUBSCRIPTION": "pull mode only; the deployment pushes to the service",
			"DRIFTWATCH_STORE_FILE":               "a local embedded store for make demo; Google Cloud uses the DynamoDB table",
			"DRIFTWATCH_AWS_TOKEN_FILE":           "a file holding the web identity token, for runs outside Google Cloud; Cloud Run gets it from the metadata server",
			"DRIFTWATCH_AWS_ENDPOINT_URL":         "the AWS emulator for local runs",
			"DRIFTWATCH_GCP_API_ENDPOINT":         "the fake Google APIs for local runs",
			"DRIFTWATCH_RULES_DIR":                "custom rules are optional (the image has the built-in ones)",
			"SLACK_API_URL":                       "the recording Slack server for local runs",
			"DRIFTWATCH_GOOGLE_CERTS_URL":         "a loopback key server standing for Google's, for local runs; Cloud Run checks push tokens against Google's keys",
		},
		governancePath: gcpGovernancePath,
		file:           "infra/gcp/run.tf (and gcpEnvSpec)",
	}
}

// gcpRequiredVars are values for the variables without a default, as a
// terraform.tfvars would set them.
func gcpRequiredVars() map[string]cty.Value {
	return map[string]cty.Value{
		"project_id":                  cty.StringVal("driftwatch-host"),
		"image":                       cty.StringVal("europe-west1-docker.pkg.dev/driftwatch-host/driftwatch/gcp@sha256:0000"),
		"slack_channel":               cty.StringVal("C0123456789"),
		"aws_role_arn":                cty.StringVal("arn:aws:iam::111111111111:role/driftwatch-gcp-function"),
		"aws_account_id":              cty.StringVal("111111111111"),
		"aws_interactivity_role_name": cty.StringVal("driftwatch-interactivity"),
	}
}

// withGCPVars sets gcpRequiredVars and extra.
func withGCPVars(m *tfModule, extra map[string]cty.Value) {
	vals := gcpRequiredVars()
	maps.Copy(vals, extra)
	m.withVars(vals)
}

// only returns the single block of a type in body, failing the test
// otherwise.
func only(t *testing.T, body *hclsyntax.Body, typ string) *hclsyntax.Body {
	t.Helper()
	b := nested(t, body, typ)
	if b == nil {
		t.FailNow()
	}
	return b
}

// cloudRunEnv returns the service's env blocks by name: a plain value's
// expression, or, for a Secret Manager reference, its secret's expression
// (secret names the ones that are).
func cloudRunEnv(t *testing.T, m *tfModule) (env map[string]hcl.Expression, secret map[string]bool) {
	t.Helper()
	svc := m.resources[gcService]
	if svc == nil {
		t.Fatalf("%s is not declared", gcService)
	}
	tmpl := only(t, svc.Body, "template")
	if cs := blocks(tmpl, "containers"); len(cs) != 1 {
		t.Fatalf("%s: want one container, have %d", gcService, len(cs))
	}
	ctr := only(t, tmpl, "containers")
	if d := blocks(ctr, "dynamic"); len(d) > 0 {
		t.Fatalf("%s: dynamic blocks in the container: write its env blocks literally, so that their names can be checked", gcService)
	}
	env, secret = map[string]hcl.Expression{}, map[string]bool{}
	for _, b := range blocks(ctr, "env") {
		n := attr(b.Body, "name")
		if n == nil {
			t.Fatalf("%s: an env block without a name", b.DefRange())
		}
		v, diags := n.Expr.Value(nil)
		if diags.HasErrors() || v.Type() != cty.String {
			t.Fatalf("%s: the env name is not a literal string", n.SrcRange)
		}
		name := v.AsString()
		if _, dup := env[name]; dup {
			t.Errorf("%s: %s is set twice", gcService, name)
		}
		value, sources := attr(b.Body, "value"), blocks(b.Body, "value_source")
		switch {
		case value != nil && len(sources) == 0:
			env[name] = value.Expr
		case value == nil && len(sources) == 1:
		default:
			t.Errorf("%s: %s needs either a value or one value_source", gcService, name)
		}
		if len(sources) == 1 && value == nil {
			skr := nested(t, sources[0].Body, "secret_key_ref")
			if skr == nil || attr(skr, "secret") == nil {
				t.Fatalf("%s: %s: value_source without secret_key_ref.secret", gcService, name)
			}
			env[name] = attr(skr, "secret").Expr
			secret[name] = true
			if got := evalString(t, m, skr, "version", nil); got != "latest" {
				t.Errorf("%s: %s reads version %q of its secret, want latest (a rotation needs no deployment)", gcService, name, got)
			}
		}
	}
	return env, secret
}

// TestGCPCloudRunService: one Cloud Run service running the image, as the
// function's service account, reachable only by authenticated push, with
// the environment the code reads in push mode.
func TestGCPCloudRunService(t *testing.T) {
	m := loadModule(t, gcpDir)
	for _, typ := range []string{"google_cloud_run_service", "google_cloudfunctions2_function", "google_cloudfunctions_function"} {
		if names := m.ofType(typ); len(names) > 0 {
			t.Errorf("%s %v: the function is the one google_cloud_run_v2_service", typ, names)
		}
	}
	if got := m.ofType("google_cloud_run_v2_service"); !slices.Equal(got, []string{"function"}) {
		t.Fatalf("Cloud Run services are %v, want [function]", got)
	}
	svc := m.resources[gcService]

	// Only the push subscriptions reach it: internal ingress (or a load
	// balancer), and the invoker check never off.
	switch got := evalString(t, m, svc.Body, "ingress", nil); got {
	case "INGRESS_TRAFFIC_INTERNAL_ONLY", "INGRESS_TRAFFIC_INTERNAL_LOAD_BALANCER":
	default:
		t.Errorf("%s: ingress %q, want INGRESS_TRAFFIC_INTERNAL_ONLY (Pub/Sub push from the project is internal)", gcService, got)
	}
	if a := attr(svc.Body, "invoker_iam_disabled"); a != nil && evalString(t, m, svc.Body, "invoker_iam_disabled", nil) != "false" {
		t.Errorf("%s: invoker_iam_disabled lets anyone invoke the service", gcService)
	}
	if a := attr(svc.Body, "custom_audiences"); a == nil || !slices.Equal(refs(a.Expr), []string{gcPushAudience}) {
		t.Errorf("%s: custom_audiences must be [%s], the push tokens' audience, or Cloud Run refuses them", gcService, gcPushAudience)
	}

	tmpl := only(t, svc.Body, "template")
	if a := attr(tmpl, "service_account"); a == nil || !slices.Equal(refs(a.Expr), []string{gcFunctionSA + ".email"}) {
		t.Errorf("%s: template.service_account must be %s.email (never the default compute account)", gcService, gcFunctionSA)
	}
	timeout, err := time.ParseDuration(evalString(t, m, tmpl, "timeout", nil))
	if err != nil || timeout < gcpfunc.DefaultTimeout {
		t.Errorf("%s: template.timeout %v (%v), want at least gcpfunc.DefaultTimeout %v", gcService, timeout, err, gcpfunc.DefaultTimeout)
	}
	if a := attr(tmpl, "max_instance_request_concurrency"); a == nil || !slices.Equal(refs(a.Expr), []string{"var.concurrency"}) {
		t.Errorf("%s: max_instance_request_concurrency must be var.concurrency", gcService)
	}
	if sc := nested(t, tmpl, "scaling"); sc != nil {
		if got := evalString(t, m, sc, "min_instance_count", nil); got != "0" {
			t.Errorf("%s: min_instance_count = %s, want 0 (scale to zero between events)", gcService, got)
		}
		if a := attr(sc, "max_instance_count"); a == nil || !slices.Equal(refs(a.Expr), []string{"var.max_instances"}) {
			t.Errorf("%s: max_instance_count must be var.max_instances", gcService)
		}
	}
	ctr := only(t, tmpl, "containers")
	if a := attr(ctr, "image"); a == nil || !slices.Equal(refs(a.Expr), []string{"var.image"}) {
		t.Errorf("%s: the image must be var.image (make package-gcp builds it)", gcService)
	}
	if len(blocks(ctr, "volume_mounts")) > 0 || len(blocks(tmpl, "volumes")) > 0 {
		t.Errorf("%s: volumes: the governance policy is in the image, the secret in the environment", gcService)
	}

	env, secret := cloudRunEnv(t, m)
	checkEnvMap(t, m, env, gcpEnvSpec())
	if _, set := env[gcpfunc.EnvPort]; set {
		t.Errorf("%s: %s is Cloud Run's own (it sets it from the container port)", gcService, gcpfunc.EnvPort)
	}
	for _, name := range slices.Sorted(maps.Keys(env)) {
		if secretSetting.MatchString(name) && !secret[name] {
			t.Errorf("%s of the GCP function is a credential: it must be a Secret Manager reference (value_source), never a value", name)
		}
	}
	if e, ok := env["DRIFTWATCH_MODE"]; ok {
		if ev, err := m.eval(e, nil); err != nil {
			t.Error(err)
		} else if got, _ := stringValue(ev.val); got != gcpdetector.ModePush {
			t.Errorf("DRIFTWATCH_MODE of the GCP function is %q, want %q", got, gcpdetector.ModePush)
		}
	}
}

// TestGCPEnvironmentStartsTheFunction: the environment Terraform sets,
// evaluated with example variables and Cloud Run's resolution of the
// secret and of PORT, is one the function's own configuration accepts in
// push mode: nothing required is missing or malformed.
func TestGCPEnvironmentStartsTheFunction(t *testing.T) {
	m := loadModule(t, gcpDir)
	withGCPVars(m, map[string]cty.Value{
		"remediation_projects": cty.ListVal([]cty.Value{cty.StringVal("payments-prod"), cty.StringVal("driftwatch-host")}),
		"disabled_rules":       cty.ListVal([]cty.Value{cty.StringVal("gcp.storage.public_access")}),
	})
	env, secret := cloudRunEnv(t, m)
	// What the resources' attributes are once applied.
	applied := strings.NewReplacer(
		"<google_service_account.push.email>", "driftwatch-push@driftwatch-host.iam.gserviceaccount.com",
		"<google_pubsub_topic.remediation.id>", "projects/driftwatch-host/topics/driftwatch-remediation",
	)
	vals := map[string]string{gcpfunc.EnvPort: "8080"} // set by Cloud Run
	for name, e := range env {
		if secret[name] {
			vals[name] = "xoxb-from-secret-manager"
			continue
		}
		ev, err := m.eval(e, nil)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		s, err := stringValue(ev.val)
		if err != nil {
			t.Fatalf("%s of the GCP function: %v", name, err)
		}
		if s = applied.Replace(s); strings.Contains(s, "<") {
			t.Fatalf("%s of the GCP function is %q: this test does not know the applied value", name, s)
		}
		vals[name] = s
	}
	getenv := func(k string) string { return vals[k] }
	c, err := gcpdetector.ConfigFromEnv(getenv)
	if err != nil {
		t.Fatalf("the deployed environment is refused: %v", err)
	}
	if c.Mode != gcpdetector.ModePush || c.Table != "driftwatch-posture" || c.StoreFile != "" {
		t.Errorf("configuration %+v: want push mode on the DynamoDB table", c)
	}
	if !slices.Equal(c.Projects, []string{"payments-prod", "driftwatch-host"}) {
		t.Errorf("DRIFTWATCH_GCP_PROJECTS gives %v, want the remediation projects", c.Projects)
	}
	if c.AWS.RoleARN != "arn:aws:iam::111111111111:role/driftwatch-gcp-function" || c.AWS.Audience != "sts.amazonaws.com" {
		t.Errorf("the AWS federation is %+v", c.AWS)
	}
	if _, err := gcpfunc.ListenAddr(getenv); err != nil {
		t.Error(err)
	}
	if _, err := gcpfunc.AuthFromEnv(getenv, nil); err != nil {
		t.Errorf("the push token checks cannot start: %v", err)
	}
}

// gcpRoleFiles are the function's generated custom roles' permissions,
// relative to infra/gcp, and the code's declarations each comes from.
func gcpRoleFiles() map[string]func() []string {
	return map[string]func() []string{
		"roles/read.json":        gcpfetch.Permissions,
		"roles/remediation.json": gcpremedy.Permissions,
	}
}

// TestGCPRoleFiles: infra/gcp/roles/*.json list exactly the permissions
// the code declares. -update rewrites them.
func TestGCPRoleFiles(t *testing.T) {
	for _, rel := range slices.Sorted(maps.Keys(gcpRoleFiles())) {
		perms := gcpRoleFiles()[rel]()
		if len(perms) == 0 {
			t.Errorf("%s: the code declares no permission", rel)
		}
		for _, p := range perms {
			if strings.Contains(p, "*") || strings.Count(p, ".") < 2 {
				t.Errorf("%s: declared permission %q is a wildcard or malformed: declare exact permissions", rel, p)
			}
		}
		path := filepath.Join(gcpDir, filepath.FromSlash(rel))
		body := marshalActions(perms)
		if *update {
			if err := os.WriteFile(path, body, 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		got, err := os.ReadFile(path)
		if err != nil {
			t.Errorf("infra/gcp/%s: %v (generate it with: go test ./shared/infratest -run TestGCPRoleFiles -update)", rel, err)
			continue
		}
		if !bytes.Equal(got, body) {
			var have []string
			_ = json.Unmarshal(got, &have)
			added, removed := diff(have, perms)
			t.Errorf("infra/gcp/%s differs from the code (missing %v, not declared by the code %v); regenerate it with: go test ./shared/infratest -run TestGCPRoleFiles -update", rel, added, removed)
		}
	}
	files, _ := filepath.Glob(filepath.Join(gcpDir, "roles", "*"))
	for _, f := range files {
		if rel := "roles/" + filepath.Base(f); gcpRoleFiles()[rel] == nil {
			t.Errorf("infra/gcp/%s belongs to no role: remove it", rel)
		}
	}
}

// TestGCPCustomRoles: the read and remediation roles, as organization or
// project custom roles, hold exactly the generated permissions, and exist
// only in their mode.
func TestGCPCustomRoles(t *testing.T) {
	m := loadModule(t, gcpDir)
	for typ, want := range map[string][]string{
		"google_organization_iam_custom_role": {"read", "remediation"},
		"google_project_iam_custom_role":      {"read", "remediation"},
	} {
		if got := m.ofType(typ); !slices.Equal(got, want) {
			t.Errorf("%s: %v, want %v", typ, got, want)
		}
	}
	for _, typ := range []string{"google_organization_iam_custom_role", "google_project_iam_custom_role"} {
		for kind, file := range map[string]string{"read": "roles/read.json", "remediation": "roles/remediation.json"} {
			key := typ + "." + kind
			r := m.resources[key]
			if r == nil {
				continue
			}
			a := attr(r.Body, "permissions")
			if a == nil {
				t.Errorf("%s has no permissions", key)
				continue
			}
			ev, err := m.eval(a.Expr, nil)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(ev.files, []string{file}) {
				t.Errorf("%s reads %v, want exactly %s (generated from the code)", key, ev.files, file)
			}
			got, err := stringList(ev.val)
			if err != nil {
				t.Fatalf("%s: %v", key, err)
			}
			if want := gcpRoleFiles()[file](); !slices.Equal(got, want) {
				added, removed := diff(got, want)
				t.Errorf("%s: missing %v, not declared by the code %v", key, added, removed)
			}
			if got := evalString(t, m, r.Body, "stage", nil); got != "GA" {
				t.Errorf("%s: stage %q, want GA", key, got)
			}
		}
	}

	// Which exist: the organization's in organization mode, one per
	// project otherwise.
	for _, c := range []struct {
		name       string
		vars       map[string]cty.Value
		orgCount   string
		watched    []string
		remediated string
	}{
		{"project mode, host project only", nil, "0", []string{"driftwatch-host"}, "toset(var.remediation_projects)"},
		{"project mode, listed projects", map[string]cty.Value{"watched_projects": cty.ListVal([]cty.Value{cty.StringVal("payments-prod"), cty.StringVal("web-prod")})}, "0", []string{"payments-prod", "web-prod"}, "toset(var.remediation_projects)"},
		{"organization mode", map[string]cty.Value{"organization_id": cty.StringVal("123456789012")}, "1", nil, "toset([])"},
	} {
		t.Run(c.name, func(t *testing.T) {
			withGCPVars(m, c.vars)
			for _, kind := range []string{"read", "remediation"} {
				if got := evalString(t, m, m.resources["google_organization_iam_custom_role."+kind].Body, "count", nil); got != c.orgCount {
					t.Errorf("google_organization_iam_custom_role.%s: count %s, want %s", kind, got, c.orgCount)
				}
			}
			ev, err := m.local("watched_projects", nil)
			if err != nil {
				t.Fatal(err)
			}
			if got, err := stringList(ev.val); err != nil || !slices.Equal(got, c.watched) {
				t.Errorf("local.watched_projects = %v (%v), want %v", got, err, c.watched)
			}
			for _, key := range []string{"google_project_iam_custom_role.read", "google_logging_project_sink.audit", "google_project_iam_member.function_read"} {
				if a := attr(m.resources[key].Body, "for_each"); a == nil || !slices.Equal(refs(a.Expr), []string{"local.watched_projects"}) {
					t.Errorf("%s: for_each must be the watched projects", key)
				}
			}
		})
	}
	rem := m.resources["google_project_iam_custom_role.remediation"]
	if a := attr(rem.Body, "for_each"); a == nil || !slices.Equal(refs(a.Expr), []string{"local.org_mode", "var.remediation_projects"}) {
		t.Error("google_project_iam_custom_role.remediation: for_each must be the remediation projects, in project mode only")
	}
}

// gcpGrant is one IAM grant of the deployment.
type gcpGrant struct {
	// role is a predefined role's name, or the custom role resources its
	// role must come from.
	role string
	// scopeAttr is the attribute naming the resource granted on; scope
	// the references it must make exactly.
	scopeAttr string
	scope     []string
	// member is the reference the member must come from.
	member string
}

// gcpGrants is every IAM grant of the deployment, by resource key: what
// the function, the push account, the Pub/Sub service agent, the sinks
// and the AWS publisher each hold, and on what.
func gcpGrants() map[string]gcpGrant {
	const fn, push = gcFunctionSA + ".email", gcPushSA + ".email"
	return map[string]gcpGrant{
		// The function: the generated roles where events come from and
		// where fixes may act.
		"google_organization_iam_member.function_read": {"google_organization_iam_custom_role.read", "org_id", []string{"var.organization_id"}, fn},
		"google_project_iam_member.function_read":      {"google_project_iam_custom_role.read", "project", []string{"each.key"}, fn},
		"google_project_iam_member.function_remediation": {"google_organization_iam_custom_role.remediation google_project_iam_custom_role.remediation",
			"project", []string{"each.key"}, fn},
		// Its own resources.
		"google_secret_manager_secret_iam_member.function_slack_bot_token": {"roles/secretmanager.secretAccessor", "secret_id", []string{gcSlackSecret + ".secret_id"}, fn},
		"google_pubsub_topic_iam_member.function_remediation_publisher":    {"roles/pubsub.publisher", "topic", []string{"google_pubsub_topic.remediation.name"}, fn},
		// The push subscriptions' identity invokes the service.
		"google_cloud_run_v2_service_iam_member.push_invoker": {"roles/run.invoker", "name", []string{gcService + ".name"}, push},
		// The Pub/Sub service agent: push tokens and dead letters.
		"google_service_account_iam_member.pubsub_agent_push_token":      {"roles/iam.serviceAccountTokenCreator", "service_account_id", []string{gcPushSA + ".name"}, gcPubSubAgent},
		"google_pubsub_topic_iam_member.pubsub_agent_dead_letter":        {"roles/pubsub.publisher", "topic", []string{"google_pubsub_topic.dead_letter.name"}, gcPubSubAgent},
		"google_pubsub_subscription_iam_member.pubsub_agent_audit":       {"roles/pubsub.subscriber", "subscription", []string{"google_pubsub_subscription.audit.name"}, gcPubSubAgent},
		"google_pubsub_subscription_iam_member.pubsub_agent_remediation": {"roles/pubsub.subscriber", "subscription", []string{"google_pubsub_subscription.remediation.name"}, gcPubSubAgent},
		// The sinks' writer identities publish audit entries.
		"google_pubsub_topic_iam_member.project_sink_publisher":      {"roles/pubsub.publisher", "topic", []string{"google_pubsub_topic.audit.name"}, "google_logging_project_sink.audit"},
		"google_pubsub_topic_iam_member.organization_sink_publisher": {"roles/pubsub.publisher", "topic", []string{"google_pubsub_topic.audit.name"}, "google_logging_organization_sink.audit"},
		// The AWS interactivity function, federated, publishes requests.
		"google_pubsub_topic_iam_member.remediation_publisher":               {"roles/pubsub.publisher", "topic", []string{"google_pubsub_topic.remediation.name"}, gcPublisherSA + ".email"},
		"google_service_account_iam_member.remediation_publisher_federation": {"roles/iam.workloadIdentityUser", "service_account_id", []string{gcPublisherSA + ".name"}, "google_iam_workload_identity_pool.aws"},
	}
}

// basicRoles manage everything in their scope; no driftwatch identity
// gets one.
var basicRoles = []string{"roles/owner", "roles/editor", "roles/viewer"}

// TestGCPGrants: every IAM grant is additive and one the deployment
// needs, on the narrowest resource; the function never gets a basic or
// predefined role on the watched resources; the Slack secret is the only
// secret it can read.
func TestGCPGrants(t *testing.T) {
	m := loadModule(t, gcpDir)
	var got []string
	for key := range m.resources {
		typ, _, _ := strings.Cut(key, ".")
		switch {
		case strings.HasSuffix(typ, "_iam_binding"), strings.HasSuffix(typ, "_iam_policy"):
			t.Errorf("%s is authoritative: it would replace grants other tools manage; use *_iam_member", key)
		case strings.HasSuffix(typ, "_iam_member"):
			got = append(got, key)
		}
	}
	slices.Sort(got)
	want := gcpGrants()
	if names := slices.Sorted(maps.Keys(want)); !slices.Equal(got, names) {
		added, removed := diff(got, names)
		t.Errorf("IAM grants: missing %v, not in the model (gcpGrants) %v", added, removed)
	}
	for _, key := range got {
		r := m.resources[key]
		role := attr(r.Body, "role")
		if role == nil {
			t.Errorf("%s has no role", key)
			continue
		}
		// The function's identity: never a basic role, whatever the model.
		if member := attr(r.Body, "member"); member != nil && refersTo(member.Expr, gcFunctionSA) {
			if len(refs(role.Expr)) == 0 {
				if r := evalString(t, m, r.Body, "role", nil); slices.Contains(basicRoles, r) {
					t.Errorf("%s grants the function's service account the basic role %s", key, r)
				}
			}
		}
		g, ok := want[key]
		if !ok {
			continue
		}
		if strings.HasPrefix(g.role, "roles/") {
			if rs := refs(role.Expr); len(rs) > 0 {
				t.Errorf("%s: role must be the literal %s, comes from %v", key, g.role, rs)
			} else if r := evalString(t, m, r.Body, "role", nil); r != g.role {
				t.Errorf("%s grants %s, want %s", key, r, g.role)
			}
		} else {
			var roleRefs []string
			for _, rr := range refs(role.Expr) {
				if rr != "local.org_mode" && rr != "each.key" {
					roleRefs = append(roleRefs, rr)
				}
			}
			ok := len(roleRefs) > 0
			for _, rr := range roleRefs {
				if !slices.ContainsFunc(strings.Fields(g.role), func(w string) bool { return rr == w || strings.HasPrefix(rr, w+"[") || strings.HasPrefix(rr, w+".") }) {
					ok = false
				}
			}
			if !ok {
				t.Errorf("%s: role must come from %s, comes from %v", key, g.role, roleRefs)
			}
		}
		if s := attr(r.Body, g.scopeAttr); s == nil || !slices.Equal(refs(s.Expr), g.scope) {
			t.Errorf("%s: %s must be exactly %v", key, g.scopeAttr, g.scope)
		}
		if mem := attr(r.Body, "member"); mem == nil || !refersTo(mem.Expr, g.member) {
			t.Errorf("%s: member must come from %s", key, g.member)
		}
	}

	// The model itself.
	for key, g := range want {
		if slices.Contains(basicRoles, g.role) {
			t.Errorf("gcpGrants %s: %s is far broader than anything the code declares", key, g.role)
		}
		if g.role == "roles/secretmanager.secretAccessor" && !slices.Equal(g.scope, []string{gcSlackSecret + ".secret_id"}) {
			t.Errorf("gcpGrants %s: the function reads the Slack bot token, no other secret", key)
		}
		if g.member == gcFunctionSA+".email" && strings.HasPrefix(g.role, "roles/") &&
			g.role != "roles/secretmanager.secretAccessor" && g.role != "roles/pubsub.publisher" {
			t.Errorf("gcpGrants %s: the function holds only its generated roles, its secret and its topic", key)
		}
		if g.role == "roles/pubsub.publisher" && g.member == gcFunctionSA+".email" && !slices.Equal(g.scope, []string{"google_pubsub_topic.remediation.name"}) {
			t.Errorf("gcpGrants %s: the function publishes to the remediation topic only", key)
		}
	}

	// The service agent is the project's, for the push tokens and the
	// dead letters.
	ev, err := m.local("pubsub_agent", nil)
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := stringValue(ev.val); got != "serviceAccount:service-<data.google_project.this.number>@gcp-sa-pubsub.iam.gserviceaccount.com" {
		t.Errorf("local.pubsub_agent is %q, not the project's Pub/Sub service agent", got)
	}
	if keys := m.ofType("google_service_account_key"); len(keys) > 0 {
		t.Errorf("google_service_account_key %v: no service account has a key", keys)
	}
}

// TestGCPNoPublicAccess: no string anywhere in infra/gcp grants or names
// allUsers or allAuthenticatedUsers.
func TestGCPNoPublicAccess(t *testing.T) {
	paths, err := filepath.Glob(filepath.Join(gcpDir, "*.tf"))
	if err != nil || len(paths) == 0 {
		t.Fatalf("no .tf files in %s (%v)", gcpDir, err)
	}
	for _, p := range paths {
		src, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		f, diags := hclsyntax.ParseConfig(src, filepath.Base(p), hcl.InitialPos)
		if diags.HasErrors() {
			t.Fatal(diags)
		}
		hclsyntax.VisitAll(f.Body.(*hclsyntax.Body), func(n hclsyntax.Node) hcl.Diagnostics {
			lit, ok := n.(*hclsyntax.LiteralValueExpr)
			if !ok || lit.Val.Type() != cty.String || lit.Val.IsNull() {
				return nil
			}
			for _, public := range []string{"allUsers", "allAuthenticatedUsers"} {
				if strings.Contains(lit.Val.AsString(), public) {
					t.Errorf("%s: %s: nothing driftwatch deploys is public", lit.SrcRange, public)
				}
			}
			return nil
		})
	}
}

// TestGCPSinks: the Log Router sinks publish exactly the generated filter
// (read from log-sink-filter.txt) to the audit topic, per watched project
// or for the organization.
func TestGCPSinks(t *testing.T) {
	m := loadModule(t, gcpDir)
	want, err := gcpevent.SinkFilter(gcpevent.Table())
	if err != nil {
		t.Fatal(err)
	}
	if file, err := os.ReadFile(filepath.Join(gcpDir, "log-sink-filter.txt")); err != nil || string(file) != want {
		t.Errorf("infra/gcp/log-sink-filter.txt differs from gcpevent.SinkFilter(gcpevent.Table()) (%v): regenerate it with shared/gcpevent's -update", err)
	}
	for _, typ := range []string{"google_logging_folder_sink", "google_logging_billing_account_sink"} {
		if names := m.ofType(typ); len(names) > 0 {
			t.Errorf("%s %v: the sinks are the project ones or the organization's", typ, names)
		}
	}
	for _, key := range []string{"google_logging_project_sink.audit", "google_logging_organization_sink.audit"} {
		typ, _, _ := strings.Cut(key, ".")
		if got := m.ofType(typ); !slices.Equal(got, []string{"audit"}) {
			t.Errorf("%s: %v, want [audit]", typ, got)
			continue
		}
		sink := m.resources[key]
		a := attr(sink.Body, "filter")
		if a == nil {
			t.Errorf("%s has no filter: it would publish every log entry", key)
			continue
		}
		ev, err := m.eval(a.Expr, nil)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(ev.files, []string{"log-sink-filter.txt"}) {
			t.Errorf("%s: the filter reads %v, want exactly log-sink-filter.txt (generated by shared/gcpevent)", key, ev.files)
		}
		if got, _ := stringValue(ev.val); got != want {
			t.Errorf("%s: the filter is\n%s\nwant (gcpevent.SinkFilter)\n%s", key, got, want)
		}
		if got := evalString(t, m, sink.Body, "destination", nil); got != "pubsub.googleapis.com/<google_pubsub_topic.audit.id>" {
			t.Errorf("%s: destination %q, want the audit topic", key, got)
		}
		if attr(sink.Body, "exclusions") != nil || len(blocks(sink.Body, "exclusions")) > 0 {
			t.Errorf("%s: exclusions: the generated filter is the whole selection", key)
		}
	}
	if ps := m.resources["google_logging_project_sink.audit"]; ps != nil && evalString(t, m, ps.Body, "unique_writer_identity", nil) != "true" {
		t.Error("google_logging_project_sink.audit: unique_writer_identity must be true: the sink's own identity is the only publisher granted")
	}
	if org := m.resources["google_logging_organization_sink.audit"]; org != nil {
		for name, ref := range map[string]string{"include_children": "var.include_children", "org_id": "var.organization_id", "count": "local.org_mode"} {
			if a := attr(org.Body, name); a == nil || !slices.Equal(refs(a.Expr), []string{ref}) {
				t.Errorf("google_logging_organization_sink.audit: %s must come from %s", name, ref)
			}
		}
	}
}

// TestGCPPushSubscriptions: the audit and remediation subscriptions push
// to the function's routes with the push account's OIDC token for the
// audience the function verifies, answer within the ack deadline, back
// off, then dead-letter.
func TestGCPPushSubscriptions(t *testing.T) {
	m := loadModule(t, gcpDir)
	if got := m.ofType("google_pubsub_topic"); !slices.Equal(got, []string{"audit", "dead_letter", "remediation"}) {
		t.Errorf("topics are %v, want [audit dead_letter remediation]", got)
	}
	if got := m.ofType("google_pubsub_subscription"); !slices.Equal(got, []string{"audit", "dead_letter", "remediation"}) {
		t.Fatalf("subscriptions are %v, want [audit dead_letter remediation]", got)
	}
	env, _ := cloudRunEnv(t, m)
	aud, ok := env[gcpfunc.EnvPushAudience]
	if !ok || !slices.Equal(refs(aud), []string{gcPushAudience}) {
		t.Fatalf("%s of the function must be %s", gcpfunc.EnvPushAudience, gcPushAudience)
	}
	for _, c := range []struct {
		name, topic, path string
	}{
		{"audit", "google_pubsub_topic.audit", "/"},
		{"remediation", "google_pubsub_topic.remediation", gcpfunc.DefaultRemediationPath},
	} {
		key := "google_pubsub_subscription." + c.name
		sub := m.resources[key]
		if a := attr(sub.Body, "topic"); a == nil || !slices.Equal(refs(a.Expr), []string{c.topic + ".id"}) {
			t.Errorf("%s must be on %s", key, c.topic)
		}
		push := only(t, sub.Body, "push_config")
		if got, want := evalString(t, m, push, "push_endpoint", nil), "<"+gcService+".uri>"+c.path; got != want {
			t.Errorf("%s: pushes to %q, want %q (shared/gcpfunc's route)", key, got, want)
		}
		if len(blocks(push, "no_wrapper")) > 0 {
			t.Errorf("%s: no_wrapper: the function decodes the push body {\"message\": ...}", key)
		}
		oidc := nested(t, push, "oidc_token")
		if oidc == nil {
			t.Errorf("%s: push_config needs an oidc_token: the function refuses requests without one", key)
		} else {
			if a := attr(oidc, "service_account_email"); a == nil || !slices.Equal(refs(a.Expr), []string{gcPushSA + ".email"}) {
				t.Errorf("%s: the token must be the push service account's (%s, the function's %s)", key, gcPushSA, gcpfunc.EnvPushServiceAccount)
			}
			if a := attr(oidc, "audience"); a == nil || !slices.Equal(refs(a.Expr), []string{gcPushAudience}) {
				t.Errorf("%s: the token's audience must be %s, the function's %s", key, gcPushAudience, gcpfunc.EnvPushAudience)
			}
		}
		ack, err := strconv.Atoi(evalString(t, m, sub.Body, "ack_deadline_seconds", nil))
		if err != nil || time.Duration(ack)*time.Second <= gcpfunc.DefaultTimeout || ack > 600 {
			t.Errorf("%s: ack_deadline_seconds %d, want more than gcpfunc.DefaultTimeout (%v), or Pub/Sub redelivers while the function still works", key, ack, gcpfunc.DefaultTimeout)
		}
		if retry := nested(t, sub.Body, "retry_policy"); retry != nil {
			lo, err1 := time.ParseDuration(evalString(t, m, retry, "minimum_backoff", nil))
			hi, err2 := time.ParseDuration(evalString(t, m, retry, "maximum_backoff", nil))
			if err1 != nil || err2 != nil || lo < 10*time.Second || hi <= lo || hi > 600*time.Second {
				t.Errorf("%s: retry_policy backoff %v..%v, want an exponential backoff from at least 10s to at most 600s", key, lo, hi)
			}
		}
		if dl := nested(t, sub.Body, "dead_letter_policy"); dl != nil {
			if a := attr(dl, "dead_letter_topic"); a == nil || !slices.Equal(refs(a.Expr), []string{"google_pubsub_topic.dead_letter.id"}) {
				t.Errorf("%s: dead letters must go to google_pubsub_topic.dead_letter", key)
			}
			if n, err := strconv.Atoi(evalString(t, m, dl, "max_delivery_attempts", nil)); err != nil || n < 5 || n > 100 {
				t.Errorf("%s: max_delivery_attempts %d, Pub/Sub allows 5 to 100", key, n)
			}
		}
		if exp := nested(t, sub.Body, "expiration_policy"); exp != nil && evalString(t, m, exp, "ttl", nil) != "" {
			t.Errorf("%s: expiration_policy.ttl must be \"\": a quiet subscription must not be deleted", key)
		}
		if a := attr(sub.Body, "enable_message_ordering"); a != nil && evalString(t, m, sub.Body, "enable_message_ordering", nil) == "true" {
			t.Errorf("%s: ordering buys nothing (see gcpbus) and blocks a key after a failure", key)
		}
	}

	// The audit subscription takes everything the sink selected; the
	// remediation one exactly gcpbus's request types.
	if attr(m.resources["google_pubsub_subscription.audit"].Body, "filter") != nil {
		t.Error("google_pubsub_subscription.audit: the sink's filter is the selection; no second filter")
	}
	var types []string
	for _, typ := range gcpbus.Types {
		types = append(types, `attributes.`+gcpbus.AttrType+` = "`+typ+`"`)
	}
	slices.Sort(types)
	got, want := evalString(t, m, m.resources["google_pubsub_subscription.remediation"].Body, "filter", nil), strings.Join(types, " OR ")
	if got != want {
		t.Errorf("google_pubsub_subscription.remediation: filter\n%s\nwant (gcpbus.Types)\n%s", got, want)
	}
	if len(got) > 256 {
		t.Errorf("google_pubsub_subscription.remediation: the filter has %d bytes; Pub/Sub accepts at most 256", len(got))
	}

	// Dead letters are kept: a topic alone keeps nothing.
	dl := m.resources["google_pubsub_subscription.dead_letter"]
	if a := attr(dl.Body, "topic"); a == nil || !slices.Equal(refs(a.Expr), []string{"google_pubsub_topic.dead_letter.id"}) {
		t.Error("google_pubsub_subscription.dead_letter must be on google_pubsub_topic.dead_letter")
	}
	if len(blocks(dl.Body, "push_config")) > 0 || len(blocks(dl.Body, "dead_letter_policy")) > 0 {
		t.Error("google_pubsub_subscription.dead_letter is a pull subscription people read, nothing more")
	}
	if got := evalString(t, m, dl.Body, "message_retention_duration", nil); got != "604800s" {
		t.Errorf("google_pubsub_subscription.dead_letter keeps messages %s, want a week (604800s, the most Pub/Sub allows)", got)
	}
}

// TestGCPSecrets: the Slack bot token's secret exists with no version in
// Terraform (the value never enters the state), and no variable carries a
// secret.
func TestGCPSecrets(t *testing.T) {
	m := loadModule(t, gcpDir)
	if got := m.ofType("google_secret_manager_secret"); !slices.Equal(got, []string{"slack_bot_token"}) {
		t.Fatalf("secrets are %v, want [slack_bot_token]", got)
	}
	if got := m.ofType("google_secret_manager_secret_version"); len(got) > 0 {
		t.Errorf("google_secret_manager_secret_version %v puts a secret value in the Terraform state: add it with gcloud secrets versions add", got)
	}
	sec := m.resources[gcSlackSecret]
	if a := attr(sec.Body, "annotations"); a == nil {
		t.Errorf("%s: annotations must say how to set the value", gcSlackSecret)
	} else if ev, err := m.eval(a.Expr, nil); err != nil {
		t.Error(err)
	} else if !strings.Contains(ev.val.GoString(), "gcloud secrets versions add") {
		t.Errorf("%s: annotations must say how to set the value (gcloud secrets versions add)", gcSlackSecret)
	}
	env, secret := cloudRunEnv(t, m)
	for name := range secret {
		if !slices.Equal(refs(env[name]), []string{gcSlackSecret + ".secret_id"}) {
			t.Errorf("%s of the function reads %v; the Slack bot token is the one secret", name, refs(env[name]))
		}
	}
	if !secret["SLACK_BOT_TOKEN"] {
		t.Error("SLACK_BOT_TOKEN must be a Secret Manager reference")
	}
	for name, b := range m.variables {
		if attr(b.Body, "sensitive") != nil || attr(b.Body, "ephemeral") != nil {
			t.Errorf("variable %s carries a secret value: secrets stay out of Terraform", name)
		}
	}
}

// TestGCPWorkloadIdentity: the pool trusts the AWS account's
// interactivity role only, and its principalSet may act as the remediation
// publisher only.
func TestGCPWorkloadIdentity(t *testing.T) {
	m := loadModule(t, gcpDir)
	if got := m.ofType("google_iam_workload_identity_pool"); !slices.Equal(got, []string{"aws"}) {
		t.Fatalf("workload identity pools are %v, want [aws]", got)
	}
	if got := m.ofType("google_iam_workload_identity_pool_provider"); !slices.Equal(got, []string{"aws_interactivity"}) {
		t.Fatalf("workload identity pool providers are %v, want [aws_interactivity]", got)
	}
	p := m.resources["google_iam_workload_identity_pool_provider.aws_interactivity"]
	if a := attr(p.Body, "workload_identity_pool_id"); a == nil || !refersTo(a.Expr, "google_iam_workload_identity_pool.aws") {
		t.Error("the provider must be in google_iam_workload_identity_pool.aws")
	}
	if len(blocks(p.Body, "oidc")) > 0 || len(blocks(p.Body, "saml")) > 0 || len(blocks(p.Body, "x509")) > 0 {
		t.Error("the provider is an AWS provider only")
	}
	if a := attr(only(t, p.Body, "aws"), "account_id"); a == nil || !slices.Equal(refs(a.Expr), []string{"var.aws_account_id"}) {
		t.Error("the provider's aws.account_id must be var.aws_account_id")
	}
	mapping := attr(p.Body, "attribute_mapping")
	if mapping == nil {
		t.Fatal("the provider has no attribute_mapping")
	}
	mp := map[string]string{}
	for k, e := range literalMap(t, "attribute_mapping", mapping.Expr) {
		ev, err := m.eval(e, nil)
		if err != nil {
			t.Fatal(err)
		}
		mp[k], _ = stringValue(ev.val)
	}
	if mp["google.subject"] != "assertion.arn" || !strings.Contains(mp["attribute.aws_role"], "assumed-role/{role_name}/") {
		t.Errorf("attribute_mapping %v: want google.subject = assertion.arn and attribute.aws_role the session's role (Google's AWS mapping)", mp)
	}

	withGCPVars(m, nil)
	const session = "arn:aws:sts::111111111111:assumed-role/driftwatch-interactivity"
	if got, want := evalString(t, m, p.Body, "attribute_condition", nil), "attribute.aws_role == '"+session+"'"; got != want {
		t.Errorf("the provider's attribute_condition is %q, want %q: only the interactivity role's sessions", got, want)
	}
	fed := m.resources["google_service_account_iam_member.remediation_publisher_federation"]
	if got, want := evalString(t, m, fed.Body, "member", nil), "principalSet://iam.googleapis.com/<google_iam_workload_identity_pool.aws.name>/attribute.aws_role/"+session; got != want {
		t.Errorf("the publisher's workloadIdentityUser is %q, want %q", got, want)
	}
	if o := m.outputs["wif_audience"]; o == nil {
		t.Error("output wif_audience is missing (the interactivity function's DRIFTWATCH_GCP_WIF_AUDIENCE)")
	} else if got := evalString(t, m, o.Body, "value", nil); got != "//iam.googleapis.com/<google_iam_workload_identity_pool_provider.aws_interactivity.name>" {
		t.Errorf("output wif_audience is %q, want //iam.googleapis.com/<the provider's name> (gcpfed.Config.Audience)", got)
	}
}

// TestGCPOutputsAndVariables: the outputs the deployment steps need
// (README), and every input typed and documented.
func TestGCPOutputsAndVariables(t *testing.T) {
	m := loadModule(t, gcpDir)
	for out, want := range map[string]string{
		"service_url":                        gcService + ".uri",
		"audit_topic":                        "google_pubsub_topic.audit.id",
		"remediation_topic":                  "google_pubsub_topic.remediation.id",
		"dead_letter_subscription":           "google_pubsub_subscription.dead_letter.id",
		"wif_audience":                       "google_iam_workload_identity_pool_provider.aws_interactivity.name",
		"remediation_publisher_email":        gcPublisherSA + ".email",
		"function_service_account_unique_id": gcFunctionSA + ".unique_id",
		"aws_token_audience":                 "var.aws_token_audience",
		"slack_bot_token_secret":             gcSlackSecret + ".secret_id",
	} {
		o := m.outputs[out]
		if o == nil {
			t.Errorf("output %s is missing", out)
			continue
		}
		if a := attr(o.Body, "value"); a == nil || !slices.Equal(refs(a.Expr), []string{want}) {
			t.Errorf("output %s must be %s", out, want)
		}
	}
	for _, name := range slices.Sorted(maps.Keys(m.variables)) {
		b := m.variables[name]
		if attr(b.Body, "description") == nil {
			t.Errorf("variable %s has no description", name)
		}
		if attr(b.Body, "type") == nil {
			t.Errorf("variable %s has no type", name)
		}
	}
	for name := range gcpRequiredVars() {
		if b := m.variables[name]; b == nil || attr(b.Body, "default") != nil {
			t.Errorf("gcpRequiredVars lists %s, which is not a required variable of infra/gcp", name)
		}
	}
}

// TestGCPFederationRole: infra/aws's optional role for the GCP function:
// absent by default; once gcp_function is set, trusting only Google's
// tokens of that service account for that audience, and granting the
// posture table only.
func TestGCPFederationRole(t *testing.T) {
	keys := []string{"aws_iam_role.gcp_function", "aws_iam_role_policy.gcp_function"}
	dataKeys := []string{"aws_iam_policy_document.gcp_function_assume", "aws_iam_policy_document.gcp_function"}
	counts := func(m *tfModule) map[string]string {
		out := map[string]string{}
		for _, k := range keys {
			if b := m.resources[k]; b == nil {
				t.Fatalf("%s is not declared in infra/aws", k)
			} else {
				out[k] = evalString(t, m, b.Body, "count", nil)
			}
		}
		for _, k := range dataKeys {
			if b := m.data[k]; b == nil {
				t.Fatalf("data.%s is not declared in infra/aws", k)
			} else {
				out[k] = evalString(t, m, b.Body, "count", nil)
			}
		}
		return out
	}
	m := loadModule(t, infraDir)
	for k, n := range counts(m) {
		if n != "0" {
			t.Errorf("%s: count = %s by default, want 0 (no GCP trust until gcp_function is set)", k, n)
		}
	}
	const (
		uniqueID = "104857600000000000001"
		audience = "sts.amazonaws.com"
	)
	m.withVars(map[string]cty.Value{"gcp_function": cty.ObjectVal(map[string]cty.Value{
		"service_account_unique_id": cty.StringVal(uniqueID), "audience": cty.StringVal(audience),
	})})
	for k, n := range counts(m) {
		if n != "1" {
			t.Errorf("%s: count = %s with gcp_function set, want 1", k, n)
		}
	}
	one := countAt(0)

	role := m.resources["aws_iam_role.gcp_function"]
	if a := attr(role.Body, "assume_role_policy"); a == nil || !refersTo(a.Expr, "data.aws_iam_policy_document.gcp_function_assume") {
		t.Error("aws_iam_role.gcp_function must trust data.aws_iam_policy_document.gcp_function_assume")
	}
	if attr(role.Body, "managed_policy_arns") != nil || len(blocks(role.Body, "inline_policy")) > 0 {
		t.Error("aws_iam_role.gcp_function: managed_policy_arns / inline_policy bypass the checked policy")
	}
	name := evalString(t, m, role.Body, "name", one)
	if o := m.outputs["gcp_function_role_arn"]; o == nil {
		t.Error("output gcp_function_role_arn is missing (infra/gcp's aws_role_arn)")
	} else if got := evalString(t, m, o.Body, "value", nil); !strings.HasSuffix(got, ":role/"+name) {
		t.Errorf("output gcp_function_role_arn is %q, which does not name the role %s", got, name)
	}
	for _, p := range m.ofType("aws_iam_role_policy_attachment") {
		if a := attr(m.resources["aws_iam_role_policy_attachment."+p].Body, "role"); a != nil && refersTo(a.Expr, "aws_iam_role.gcp_function") {
			t.Errorf("aws_iam_role_policy_attachment.%s: the GCP function's role gets one checked inline policy only", p)
		}
	}

	trust := m.data["aws_iam_policy_document.gcp_function_assume"]
	stmts := blocks(trust.Body, "statement")
	if len(stmts) != 1 || len(trust.Body.Blocks) != 1 {
		t.Fatal("the GCP function's trust policy must be one statement")
	}
	st := stmts[0].Body
	if ev, err := m.eval(attr(st, "actions").Expr, one); err != nil {
		t.Error(err)
	} else if got, _ := stringList(ev.val); !slices.Equal(got, []string{"sts:AssumeRoleWithWebIdentity"}) {
		t.Errorf("the GCP function's trust policy allows %v, want [sts:AssumeRoleWithWebIdentity]", got)
	}
	ps := blocks(st, "principals")
	if len(ps) != 1 || evalString(t, m, ps[0].Body, "type", one) != "Federated" {
		t.Error("the GCP function's trust policy must name one Federated principal")
	} else if ev, err := m.eval(attr(ps[0].Body, "identifiers").Expr, one); err != nil {
		t.Error(err)
	} else if got, _ := stringList(ev.val); !slices.Equal(got, []string{"accounts.google.com"}) {
		t.Errorf("the GCP function's trust policy trusts %v, want [accounts.google.com] (Google, AWS's built-in provider)", got)
	}
	conds := map[string][]string{}
	for _, c := range blocks(st, "condition") {
		if test := evalString(t, m, c.Body, "test", one); test != "StringEquals" {
			t.Errorf("the GCP function's trust condition uses %s, want StringEquals (exact values)", test)
		}
		ev, err := m.eval(attr(c.Body, "values").Expr, one)
		if err != nil {
			t.Fatal(err)
		}
		vals, _ := stringList(ev.val)
		conds[evalString(t, m, c.Body, "variable", one)] = vals
	}
	// shared/awsfed/gcpid: aud is the token's azp, oaud its aud.
	wantConds := map[string][]string{
		"accounts.google.com:aud":  {uniqueID},
		"accounts.google.com:sub":  {uniqueID},
		"accounts.google.com:oaud": {audience},
	}
	if !reflect.DeepEqual(conds, wantConds) {
		t.Errorf("the GCP function's trust conditions are %v, want %v: the service account and the audience, all pinned", conds, wantConds)
	}

	pol := m.resources["aws_iam_role_policy.gcp_function"]
	if a := attr(pol.Body, "role"); a == nil || !refersTo(a.Expr, "aws_iam_role.gcp_function") {
		t.Error("aws_iam_role_policy.gcp_function is not on aws_iam_role.gcp_function")
	}
	if a := attr(pol.Body, "policy"); a == nil || !refersTo(a.Expr, "data.aws_iam_policy_document.gcp_function") {
		t.Error("aws_iam_role_policy.gcp_function must be data.aws_iam_policy_document.gcp_function")
	}
	got := map[string][]string{}
	for _, b := range m.data["aws_iam_policy_document.gcp_function"].Body.Blocks {
		if b.Type != "statement" {
			t.Fatalf("%s: only static statements are expected", b.DefRange())
		}
		s, err := m.policyStatement(b.Body, one)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range s.resources {
			got[r] = append(got[r], s.actions...)
		}
	}
	for r := range got {
		slices.Sort(got[r])
		got[r] = slices.Compact(got[r])
	}
	table := tableActions(t)
	want := map[string][]string{"<aws_dynamodb_table.posture.arn>": table}
	if slices.Contains(table, "dynamodb:Query") {
		want["<aws_dynamodb_table.posture.arn>/index/gsi1"] = []string{"dynamodb:Query"}
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("the GCP function's AWS policy grants %v, want %v (the posture store's calls only)", got, want)
	}

	// The names each side documents are the other side's.
	gc := loadModule(t, gcpDir)
	for _, out := range []string{"function_service_account_unique_id", "aws_token_audience"} {
		if gc.outputs[out] == nil {
			t.Errorf("infra/gcp has no output %s, which infra/aws's gcp_function documents", out)
		}
	}
	for v, out := range map[string]string{"aws_role_arn": "gcp_function_role_arn", "aws_account_id": "account_id", "aws_interactivity_role_name": "interactivity_role_name"} {
		if gc.variables[v] == nil {
			t.Errorf("infra/gcp has no variable %s, which infra/aws's output %s feeds", v, out)
		}
		if m.outputs[out] == nil {
			t.Errorf("infra/aws has no output %s (infra/gcp's %s)", out, v)
		}
	}
	if o := m.outputs["interactivity_role_name"]; o != nil && !slices.Equal(refs(attr(o.Body, "value").Expr), []string{"aws_iam_role.interactivity.name"}) {
		t.Error("infra/aws output interactivity_role_name must be aws_iam_role.interactivity.name")
	}
}

// TestGCPTerraformFormat: terraform fmt accepts infra/gcp and infra/aws's
// gcp.tf as written. It needs the terraform binary (no provider, no
// network).
func TestGCPTerraformFormat(t *testing.T) {
	tf, err := exec.LookPath("terraform")
	if err != nil {
		t.Skip("terraform is not installed: run terraform fmt -check infra/gcp yourself")
	}
	for _, target := range []string{gcpDir, filepath.Join(infraDir, "gcp.tf")} {
		cmd := exec.Command(tf, "fmt", "-check", "-diff", target)
		cmd.Env = append(os.Environ(), "CHECKPOINT_DISABLE=1", "TF_CLI_CONFIG_FILE=/dev/null")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Errorf("terraform fmt -check %s: %v\n%s", target, err, out)
		}
	}
}
