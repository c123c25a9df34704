package infratest

import (
	"encoding/json"
	"go/ast"
	"go/token"
	"maps"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"

	"github.com/driftwatch/driftwatch/shared/awsbus"
	"github.com/driftwatch/driftwatch/shared/awsevent"
	"github.com/driftwatch/driftwatch/shared/store/dynamostore"
)

// governancePath is where `make package` puts governance.yaml in every
// function package: Lambda unpacks a package under /var/task.
const governancePath = "/var/task/governance.yaml"

// functionSpec is one deployed function as the code defines it.
type functionSpec struct {
	// name is the Terraform name of the function (and of its role and log
	// group); the package is bin/aws-<name>/<arch>/function.zip.
	name string
	// env maps every environment variable Terraform sets on the function
	// to the reference its value must come from. Terraform must set exactly
	// these.
	env map[string]string
	// configDirs are the directories (relative to the repository root) of
	// the Go code that reads the function's environment. Every string
	// literal there of the form DRIFTWATCH_* or SLACK_* is a variable it
	// reads; each must be in env or notDeployed, and each name in env must
	// be read. Nil for a function whose configuration has no code of its
	// own yet: env alone is checked.
	configDirs []string
	// notDeployed are variables the code reads that Terraform deliberately
	// leaves unset, with the reason.
	notDeployed map[string]string
	// dlq names the aws_sqs_queue its failed asynchronous invocations go
	// to; "" for a function invoked synchronously.
	dlq string
	// url is true for the one function behind a public Function URL.
	url bool
}

// functionSpecs is the deployment model: one entry per function.
func functionSpecs() []functionSpec {
	const (
		table   = "aws_dynamodb_table.posture.name"
		bus     = "aws_cloudwatch_event_bus.driftwatch.name"
		gov     = "local.governance_file"
		token   = "aws_secretsmanager_secret.slack_bot_token.arn"
		signing = "aws_secretsmanager_secret.slack_signing_secret.arn"
	)
	// The detector's pipeline, which the remediator re-runs to
	// re-evaluate, needs the same environment.
	pipelineEnv := map[string]string{
		"DRIFTWATCH_TABLE":           table,
		"DRIFTWATCH_BUS":             bus,
		"DRIFTWATCH_GOVERNANCE_FILE": gov,
		"DRIFTWATCH_ACCOUNTS":        "var.accounts",
		"DRIFTWATCH_DISABLED_RULES":  "var.disabled_rules",
		"DRIFTWATCH_LOG_LEVEL":       "var.log_level",
		"SLACK_CHANNEL":              "var.slack_channel",
		"SLACK_BOT_TOKEN_SECRET":     token,
	}
	// Variables every function's configuration reads that Terraform leaves
	// unset, with the reason.
	localOnly := map[string]string{
		"DRIFTWATCH_STORE_FILE":    "local runs only: an embedded store instead of DynamoDB",
		"DRIFTWATCH_S3_PATH_STYLE": "emulators only",
		"DRIFTWATCH_RULES_DIR":     "custom rules are not packaged by make package",
		"SLACK_API_URL":            "tests and the demo only",
		"SLACK_BOT_TOKEN":          "the token comes from Secrets Manager, never the environment",
	}
	return []functionSpec{
		{
			name:        "detector",
			env:         pipelineEnv,
			configDirs:  []string{"shared/awsdetector", "functions/aws/detector"},
			notDeployed: localOnly,
			dlq:         "detector_dlq",
		},
		{
			name:        "remediator",
			env:         pipelineEnv,
			configDirs:  []string{"shared/awsdetector", "shared/awsremediator", "functions/aws/remediator"},
			notDeployed: localOnly,
			dlq:         "remediator_dlq",
		},
		{
			name: "interactivity",
			env: map[string]string{
				"DRIFTWATCH_TABLE":            table,
				"DRIFTWATCH_BUS":              bus,
				"DRIFTWATCH_GOVERNANCE_FILE":  gov,
				"DRIFTWATCH_ACCOUNTS":         "var.accounts",
				"DRIFTWATCH_DISABLED_RULES":   "var.disabled_rules",
				"DRIFTWATCH_LOG_LEVEL":        "var.log_level",
				"SLACK_CHANNEL":               "var.slack_channel",
				"SLACK_BOT_TOKEN_SECRET":      token,
				"SLACK_SIGNING_SECRET_SECRET": signing,
				// Empty without azure_remediation (TestInteractivityAzureRemediationToken).
				"DRIFTWATCH_AZURE_REMEDIATION_TOPIC":   "var.azure_remediation.topic_endpoint",
				"DRIFTWATCH_AZURE_TENANT_ID":           "var.azure_remediation.tenant_id",
				"DRIFTWATCH_AZURE_PUBLISHER_CLIENT_ID": "var.azure_remediation.publisher_client_id",
				// Empty without gcp_remediation.
				"DRIFTWATCH_GCP_REMEDIATION_TOPIC":         "var.gcp_remediation.topic",
				"DRIFTWATCH_GCP_WIF_AUDIENCE":              "var.gcp_remediation.wif_audience",
				"DRIFTWATCH_GCP_PUBLISHER_SERVICE_ACCOUNT": "var.gcp_remediation.publisher_service_account",
			},
			configDirs: []string{"shared/awsdetector", "shared/awsinteract", "functions/aws/interactivity"},
			notDeployed: merge(localOnly, map[string]string{
				"SLACK_SIGNING_SECRET":        "the signing secret comes from Secrets Manager, never the environment",
				"SLACK_RESPONSE_URL_PREFIXES": "local runs against a recording Slack server only",
				"DRIFTWATCH_LISTEN":           "local runs only: a plain HTTP server instead of the Function URL",
				"DRIFTWATCH_AZURE_TOPIC_KEY":  "local runs only: the deployed topic has key authentication off; the function publishes as the Entra application federated with its role",
			}),
			url: true,
		},
	}
}

// TestFunctions: the deployed functions, their packages, runtime,
// environment and dead-letter queues.
func TestFunctions(t *testing.T) {
	m := loadModule(t, infraDir)
	specs := functionSpecs()
	var names []string
	for _, s := range specs {
		names = append(names, s.name)
	}
	slices.Sort(names)
	if got := m.ofType("aws_lambda_function"); !slices.Equal(got, names) {
		t.Errorf("functions are %v, want %v", got, names)
	}
	for _, s := range specs {
		t.Run(s.name, func(t *testing.T) { checkFunction(t, m, s) })
	}
}

func checkFunction(t *testing.T, m *tfModule, s functionSpec) {
	key := "aws_lambda_function." + s.name
	fn := m.resources[key]
	if fn == nil {
		t.Fatalf("%s is not declared", key)
	}
	for name, want := range map[string]string{"runtime": "provided.al2023", "handler": "bootstrap"} {
		if got := evalString(t, m, fn.Body, name, nil); got != want {
			t.Errorf("%s: %s = %q, want %q", key, name, got, want)
		}
	}
	if a := attr(fn.Body, "architectures"); a == nil || !refersTo(a.Expr, "var.architecture") {
		t.Errorf("%s: architectures must be [var.architecture]", key)
	}
	// The package `make package` builds from bin/aws-<name>/<arch>/bootstrap.
	pkg := "local.packages." + s.name
	if a := attr(fn.Body, "filename"); a == nil || !slices.Equal(refs(a.Expr), []string{pkg}) {
		t.Errorf("%s: filename must be %s", key, pkg)
	} else if got := evalString(t, m, fn.Body, "filename", nil); !strings.HasSuffix(got, "/aws-"+s.name+"/arm64/function.zip") {
		t.Errorf("%s: package %q is not bin/aws-%s/<arch>/function.zip, where make package writes it", key, got, s.name)
	}
	if a := attr(fn.Body, "source_code_hash"); a == nil || !refersTo(a.Expr, pkg) {
		t.Errorf("%s: source_code_hash must hash %s, or a new build would not be deployed", key, pkg)
	}
	// Lambda writes to /aws/lambda/<function name>; the role may write only
	// to the group declared here.
	fnName := evalString(t, m, fn.Body, "function_name", nil)
	if lg := m.resources["aws_cloudwatch_log_group."+s.name]; lg == nil {
		t.Errorf("aws_cloudwatch_log_group.%s is not declared", s.name)
	} else if got := evalString(t, m, lg.Body, "name", nil); got != "/aws/lambda/"+fnName {
		t.Errorf("aws_cloudwatch_log_group.%s is %q, but Lambda logs %s to /aws/lambda/%s", s.name, got, key, fnName)
	}
	checkEnv(t, m, fn, s)
	checkAsync(t, m, s)
}

// checkEnv: Terraform sets exactly the variables the code reads (minus the
// deliberate exceptions), each from the right place.
func checkEnv(t *testing.T, m *tfModule, fn *hclsyntax.Block, s functionSpec) {
	env := map[string]hcl.Expression{}
	if envs := blocks(fn.Body, "environment"); len(envs) == 1 {
		a := attr(envs[0].Body, "variables")
		if a == nil {
			t.Fatalf("aws_lambda_function.%s: environment has no variables", s.name)
		}
		env = literalMap(t, "aws_lambda_function."+s.name+": environment.variables", a.Expr)
	}
	checkEnvMap(t, m, env, envSpec{
		owner:          s.name,
		env:            s.env,
		configDirs:     s.configDirs,
		notDeployed:    s.notDeployed,
		governancePath: governancePath,
		file:           "lambda.tf (and functionSpecs)",
	})
}

// literalMap returns the items of a map written literally, by name. A map
// built any other way (merge, a variable) cannot have its names checked.
func literalMap(t *testing.T, what string, expr hcl.Expression) map[string]hcl.Expression {
	t.Helper()
	obj, ok := expr.(*hclsyntax.ObjectConsExpr)
	if !ok {
		t.Fatalf("%s must be a literal map, so that its names can be checked", what)
	}
	out := map[string]hcl.Expression{}
	for _, item := range obj.Items {
		k, diags := item.KeyExpr.Value(nil)
		if diags.HasErrors() || k.Type() != cty.String {
			t.Fatalf("%s: key at %s is not a literal name", what, item.KeyExpr.Range())
		}
		out[k.AsString()] = item.ValueExpr
	}
	return out
}

// envSpec is one deployed environment as the code defines it.
type envSpec struct {
	// owner names the deployed function in messages.
	owner string
	// env maps every variable of driftwatch's code that Terraform sets to
	// the reference its value must come from.
	env map[string]string
	// platform maps the settings Terraform sets for the platform (the
	// Functions host, the Azure SDK), which driftwatch's code does not
	// read, to the reference their value must come from; "" for a literal.
	platform map[string]string
	// configDirs are the directories (relative to the repository root) of
	// the Go code that reads the environment. Every string literal there
	// of the form DRIFTWATCH_* or SLACK_* is a variable it reads; each
	// must be in env or notDeployed, and each name in env must be read.
	// Empty for code that does not exist yet: env alone is checked.
	configDirs []string
	// notDeployed are variables the code reads that Terraform deliberately
	// leaves unset, with the reason.
	notDeployed map[string]string
	// awaiting are variables of env that no code in configDirs reads yet,
	// with the code that will (wiring still to be written). Once that code
	// reads one, the test asks for its removal from here.
	awaiting map[string]string
	// governancePath is where the package puts governance.yaml.
	governancePath string
	// file says where to fix a missing variable.
	file string
}

// checkEnvMap: Terraform sets exactly the variables the code reads (minus
// the deliberate exceptions) and the platform settings, each from the
// right place.
func checkEnvMap(t *testing.T, m *tfModule, env map[string]hcl.Expression, s envSpec) {
	t.Helper()
	for _, name := range slices.Sorted(maps.Keys(env)) {
		want, ok := s.env[name]
		if !ok {
			want, ok = s.platform[name]
		}
		switch {
		case !ok:
			t.Errorf("Terraform sets %s on %s, which is not in its expected environment", name, s.owner)
		case want == "" && len(refs(env[name])) > 0:
			t.Errorf("%s of %s must be a literal, comes from %v", name, s.owner, refs(env[name]))
		case want != "" && !refersTo(env[name], want):
			t.Errorf("%s of %s must come from %s, comes from %v", name, s.owner, want, refs(env[name]))
		}
	}
	for _, name := range slices.Sorted(maps.Keys(s.env)) {
		if _, ok := env[name]; !ok {
			t.Errorf("Terraform does not set %s on %s", name, s.owner)
		}
	}
	for _, name := range slices.Sorted(maps.Keys(s.platform)) {
		if _, ok := env[name]; !ok {
			t.Errorf("Terraform does not set the platform setting %s on %s", name, s.owner)
		}
		if _, dup := s.env[name]; dup {
			t.Errorf("%s is listed both as read by the code and as a platform setting of %s", name, s.owner)
		}
	}
	if e, ok := env["DRIFTWATCH_GOVERNANCE_FILE"]; ok {
		ev, err := m.eval(e, nil)
		if got, _ := stringValue(ev.val); err != nil || got != s.governancePath {
			t.Errorf("DRIFTWATCH_GOVERNANCE_FILE of %s is %q, want %q, where the package puts it", s.owner, got, s.governancePath)
		}
	}
	if len(s.configDirs) == 0 {
		return
	}
	reads := envReads(t, s.configDirs)
	for _, name := range slices.Sorted(maps.Keys(s.env)) {
		if _, later := s.awaiting[name]; !reads[name] && !later {
			t.Errorf("Terraform sets %s on %s, but %v never reads it", name, s.owner, s.configDirs)
		}
	}
	for _, name := range slices.Sorted(maps.Keys(s.awaiting)) {
		_, set := s.env[name]
		switch {
		case !set:
			t.Errorf("awaiting lists %s for %s, which Terraform does not set", name, s.owner)
		case reads[name]:
			t.Errorf("%v now reads %s: remove it from awaiting for %s", s.configDirs, name, s.owner)
		}
	}
	for _, name := range slices.Sorted(maps.Keys(reads)) {
		_, set := s.env[name]
		_, skipped := s.notDeployed[name]
		if !set && !skipped {
			t.Errorf("%v reads %s, which Terraform does not set on %s: set it in %s, or list it in notDeployed with the reason", s.configDirs, name, s.owner, s.file)
		}
	}
	for _, name := range slices.Sorted(maps.Keys(s.notDeployed)) {
		if !reads[name] {
			t.Errorf("notDeployed lists %s for %s, which the code no longer reads: remove it", name, s.owner)
		}
	}
}

// envName is the form of the variables driftwatch's code reads.
var envName = regexp.MustCompile(`^(DRIFTWATCH|SLACK)_[A-Z0-9_]+$`)

// envReads returns the environment variables the code in dirs reads: every
// string literal naming one, wherever it is (a getenv argument, a
// constant).
func envReads(t *testing.T, dirs []string) map[string]bool {
	t.Helper()
	out := map[string]bool{}
	for _, dir := range dirs {
		for _, f := range parseGoDir(t, filepath.Join("..", "..", filepath.FromSlash(dir))) {
			ast.Inspect(f, func(n ast.Node) bool {
				if lit, ok := n.(*ast.BasicLit); ok && lit.Kind == token.STRING {
					if s, err := strconv.Unquote(lit.Value); err == nil && envName.MatchString(s) {
						out[s] = true
					}
				}
				return true
			})
		}
	}
	return out
}

// checkAsync: a function invoked asynchronously retries twice, then keeps
// the event in its dead-letter queue.
func checkAsync(t *testing.T, m *tfModule, s functionSpec) {
	key := "aws_lambda_function_event_invoke_config." + s.name
	cfg := m.resources[key]
	if s.dlq == "" {
		if cfg != nil {
			t.Errorf("%s: %s is invoked synchronously", key, s.name)
		}
		return
	}
	if cfg == nil {
		t.Fatalf("%s is not declared", key)
	}
	if a := attr(cfg.Body, "function_name"); a == nil || !refersTo(a.Expr, "aws_lambda_function."+s.name) {
		t.Errorf("%s configures another function", key)
	}
	if got := evalString(t, m, cfg.Body, "maximum_retry_attempts", nil); got != "2" {
		t.Errorf("%s: maximum_retry_attempts = %s, want 2", key, got)
	}
	var dest hcl.Expression
	for _, d := range blocks(cfg.Body, "destination_config") {
		for _, f := range blocks(d.Body, "on_failure") {
			if a := attr(f.Body, "destination"); a != nil {
				dest = a.Expr
			}
		}
	}
	if dest == nil || !refersTo(dest, "aws_sqs_queue."+s.dlq) {
		t.Errorf("%s: the on-failure destination must be aws_sqs_queue.%s", key, s.dlq)
	}
	if m.resources["aws_sqs_queue."+s.dlq] == nil {
		t.Errorf("aws_sqs_queue.%s is not declared", s.dlq)
	}
}

// evalString evaluates attribute name of body to a string (numbers and
// bools in their Terraform spelling).
func evalString(t *testing.T, m *tfModule, body *hclsyntax.Body, name string, extra map[string]cty.Value) string {
	t.Helper()
	a := attr(body, name)
	if a == nil {
		t.Errorf("%s: no %s", body.SrcRange, name)
		return ""
	}
	ev, err := m.eval(a.Expr, extra)
	if err != nil {
		t.Error(err)
		return ""
	}
	switch {
	case !ev.val.IsKnown() || ev.val.IsNull():
		t.Errorf("%s: %s is not known before apply", a.SrcRange, name)
		return ""
	case ev.val.Type() == cty.Number:
		return ev.val.AsBigFloat().Text('f', -1)
	case ev.val.Type() == cty.Bool:
		return strconv.FormatBool(ev.val.True())
	}
	s, err := stringValue(ev.val)
	if err != nil {
		t.Errorf("%s: %s: %v", a.SrcRange, name, err)
	}
	return s
}

// TestFunctionURL: only the interactivity function is reachable from the
// internet, through a URL without IAM auth (Slack signs its requests and
// the function verifies them); no permission makes a function invocable by
// anyone otherwise.
func TestFunctionURL(t *testing.T) {
	m := loadModule(t, infraDir)
	want := map[string]bool{}
	for _, s := range functionSpecs() {
		if s.url {
			want[s.name] = true
		}
	}
	got := map[string]bool{}
	for _, name := range m.ofType("aws_lambda_function_url") {
		u := m.resources["aws_lambda_function_url."+name]
		target := ""
		for _, s := range functionSpecs() {
			if a := attr(u.Body, "function_name"); a != nil && refersTo(a.Expr, "aws_lambda_function."+s.name) {
				target = s.name
			}
		}
		if !want[target] {
			t.Errorf("aws_lambda_function_url.%s exposes %q, which must have no URL", name, target)
			continue
		}
		got[target] = true
		if auth := evalString(t, m, u.Body, "authorization_type", nil); auth != "NONE" {
			t.Errorf("aws_lambda_function_url.%s: authorization_type %q, want NONE (Slack cannot sign with SigV4)", name, auth)
		}
	}
	for name := range want {
		if !got[name] {
			t.Errorf("%s has no Function URL: Slack cannot reach it", name)
		}
	}
	for _, name := range m.ofType("aws_lambda_permission") {
		p := m.resources["aws_lambda_permission."+name]
		principal := evalString(t, m, p.Body, "principal", nil)
		switch {
		case principal == "*":
			t.Errorf("aws_lambda_permission.%s lets anyone invoke a function", name)
		case strings.HasSuffix(principal, ".amazonaws.com") && attr(p.Body, "source_arn") == nil:
			t.Errorf("aws_lambda_permission.%s lets %s invoke on behalf of anyone: set source_arn", name, principal)
		}
	}
	if _, ok := m.outputs["interactivity_url"]; !ok {
		t.Error("output interactivity_url (the Slack app's Request URL) is missing")
	}
}

// TestDetectorRules: one rule on the default bus per pattern awsevent
// generates, each delivering to the detector, with a dead-letter queue.
func TestDetectorRules(t *testing.T) {
	m := loadModule(t, infraDir)
	patterns, err := awsevent.EventPatterns(awsevent.Table())
	if err != nil {
		t.Fatal(err)
	}
	rule := m.resources["aws_cloudwatch_event_rule.detector"]
	if rule == nil {
		t.Fatal("aws_cloudwatch_event_rule.detector is not declared")
	}
	if n := evalString(t, m, rule.Body, "count", nil); n != strconv.Itoa(len(patterns)) {
		t.Fatalf("aws_cloudwatch_event_rule.detector: count = %s, want one rule per pattern (%d)", n, len(patterns))
	}
	if bus := evalString(t, m, rule.Body, "event_bus_name", nil); bus != "default" {
		t.Errorf("aws_cloudwatch_event_rule.detector is on bus %q; CloudTrail delivers to default", bus)
	}
	for i, p := range patterns {
		count := map[string]cty.Value{"count": cty.ObjectVal(map[string]cty.Value{"index": cty.NumberIntVal(int64(i))})}
		a := attr(rule.Body, "event_pattern")
		if a == nil {
			t.Fatal("aws_cloudwatch_event_rule.detector has no event_pattern")
		}
		ev, err := m.eval(a.Expr, count)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(ev.files, []string{"eventbridge-pattern.json"}) {
			t.Errorf("the detector's pattern reads %v, want exactly eventbridge-pattern.json (generated by shared/awsevent)", ev.files)
		}
		got, _ := stringValue(ev.val)
		want, _ := json.Marshal(p)
		if !jsonEqual(t, got, string(want)) {
			t.Errorf("detector rule %d: pattern\n%s\nwant (awsevent.EventPatterns)\n%s", i, got, want)
		}
	}
	target := m.resources["aws_cloudwatch_event_target.detector"]
	if target == nil {
		t.Fatal("aws_cloudwatch_event_target.detector is not declared")
	}
	if n := evalString(t, m, target.Body, "count", nil); n != strconv.Itoa(len(patterns)) {
		t.Errorf("aws_cloudwatch_event_target.detector: count = %s, want %d", n, len(patterns))
	}
	checkTarget(t, target, "aws_cloudwatch_event_rule.detector", "detector", "detector_dlq")
	checkInvokePermission(t, m, "detector", "aws_cloudwatch_event_rule.detector")
	checkDeadLetterPolicy(t, m, "detector_dlq", "aws_cloudwatch_event_rule.detector")
}

// TestRemediatorRule: the remediator consumes exactly awsbus's requests
// from the custom bus.
func TestRemediatorRule(t *testing.T) {
	m := loadModule(t, infraDir)
	bus := m.resources["aws_cloudwatch_event_bus.driftwatch"]
	if bus == nil {
		t.Fatal("aws_cloudwatch_event_bus.driftwatch is not declared")
	}
	if a := attr(bus.Body, "name"); a == nil || !refersTo(a.Expr, "var.bus_name") {
		t.Error("aws_cloudwatch_event_bus.driftwatch must be named var.bus_name")
	}
	rule := m.resources["aws_cloudwatch_event_rule.remediator"]
	if rule == nil {
		t.Fatal("aws_cloudwatch_event_rule.remediator is not declared")
	}
	if a := attr(rule.Body, "event_bus_name"); a == nil || !refersTo(a.Expr, "aws_cloudwatch_event_bus.driftwatch") {
		t.Error("aws_cloudwatch_event_rule.remediator must be on aws_cloudwatch_event_bus.driftwatch")
	}
	var pattern map[string][]string
	if err := json.Unmarshal([]byte(evalString(t, m, rule.Body, "event_pattern", nil)), &pattern); err != nil {
		t.Fatalf("aws_cloudwatch_event_rule.remediator: event_pattern is not {field: [values]}: %v", err)
	}
	detailTypes := slices.Sorted(maps.Values(awsbus.DetailTypes))
	want := map[string][]string{"source": {awsbus.Source}, "detail-type": detailTypes}
	for k := range pattern {
		slices.Sort(pattern[k])
	}
	if !reflect.DeepEqual(pattern, want) {
		t.Errorf("the remediator's pattern is %v, want %v (awsbus.Source, awsbus.DetailTypes)", pattern, want)
	}
	target := m.resources["aws_cloudwatch_event_target.remediator"]
	if target == nil {
		t.Fatal("aws_cloudwatch_event_target.remediator is not declared")
	}
	if a := attr(target.Body, "event_bus_name"); a == nil || !refersTo(a.Expr, "aws_cloudwatch_event_bus.driftwatch") {
		t.Error("aws_cloudwatch_event_target.remediator must be on aws_cloudwatch_event_bus.driftwatch")
	}
	checkTarget(t, target, "aws_cloudwatch_event_rule.remediator", "remediator", "remediator_dlq")
	checkInvokePermission(t, m, "remediator", "aws_cloudwatch_event_rule.remediator")
	checkDeadLetterPolicy(t, m, "remediator_dlq", "aws_cloudwatch_event_rule.remediator")

	if rules := m.ofType("aws_cloudwatch_event_rule"); !slices.Equal(rules, []string{"detector", "remediator"}) {
		t.Errorf("event rules are %v, want [detector remediator]", rules)
	}
}

// checkTarget: the target delivers the rule's events to the function, with
// a dead-letter queue.
func checkTarget(t *testing.T, target *hclsyntax.Block, rule, fn, dlq string) {
	t.Helper()
	if a := attr(target.Body, "rule"); a == nil || !refersTo(a.Expr, rule) {
		t.Errorf("the %s target is not attached to %s", fn, rule)
	}
	if a := attr(target.Body, "arn"); a == nil || !refersTo(a.Expr, "aws_lambda_function."+fn) {
		t.Errorf("the %s target does not deliver to aws_lambda_function.%s", fn, fn)
	}
	var dl hcl.Expression
	for _, b := range blocks(target.Body, "dead_letter_config") {
		if a := attr(b.Body, "arn"); a != nil {
			dl = a.Expr
		}
	}
	if dl == nil || !refersTo(dl, "aws_sqs_queue."+dlq) {
		t.Errorf("the %s target has no dead_letter_config on aws_sqs_queue.%s", fn, dlq)
	}
}

// checkInvokePermission: EventBridge may invoke fn, only for rule.
func checkInvokePermission(t *testing.T, m *tfModule, fn, rule string) {
	t.Helper()
	for _, name := range m.ofType("aws_lambda_permission") {
		p := m.resources["aws_lambda_permission."+name]
		f, src := attr(p.Body, "function_name"), attr(p.Body, "source_arn")
		if f != nil && refersTo(f.Expr, "aws_lambda_function."+fn) && src != nil && refersTo(src.Expr, rule) &&
			evalString(t, m, p.Body, "principal", nil) == "events.amazonaws.com" &&
			evalString(t, m, p.Body, "action", nil) == "lambda:InvokeFunction" {
			return
		}
	}
	t.Errorf("no aws_lambda_permission lets events.amazonaws.com invoke %s for %s", fn, rule)
}

// checkDeadLetterPolicy: EventBridge may write to the queue, only for rule.
func checkDeadLetterPolicy(t *testing.T, m *tfModule, queue, rule string) {
	t.Helper()
	qp := m.resources["aws_sqs_queue_policy."+queue]
	if qp == nil {
		t.Errorf("aws_sqs_queue_policy.%s is not declared: EventBridge cannot dead-letter into it", queue)
		return
	}
	pa := attr(qp.Body, "policy")
	if pa == nil {
		t.Errorf("aws_sqs_queue_policy.%s has no policy", queue)
		return
	}
	doc, err := m.docOf(pa.Expr)
	if err != nil {
		t.Error(err)
		return
	}
	stmts := blocks(doc.Body, "statement")
	if len(stmts) != 1 {
		t.Errorf("the policy of aws_sqs_queue.%s must be one statement", queue)
		return
	}
	tr, err := m.policyStatementTrust(stmts[0].Body)
	if err != nil {
		t.Error(err)
		return
	}
	if !slices.Equal(tr.actions, []string{"sqs:SendMessage"}) || !slices.Equal(tr.principals, []string{"Service events.amazonaws.com"}) {
		t.Errorf("the policy of aws_sqs_queue.%s lets %v %v, want Service events.amazonaws.com sqs:SendMessage", queue, tr.principals, tr.actions)
	}
	scoped := false
	for _, c := range blocks(stmts[0].Body, "condition") {
		if v, val := attr(c.Body, "variable"), attr(c.Body, "values"); v != nil && val != nil &&
			evalString(t, m, c.Body, "variable", nil) == "aws:SourceArn" && refersTo(val.Expr, rule) {
			scoped = true
		}
	}
	if !scoped {
		t.Errorf("the policy of aws_sqs_queue.%s is not limited to aws:SourceArn %s", queue, rule)
	}
}

// jsonEqual compares two JSON documents semantically.
func jsonEqual(t *testing.T, a, b string) bool {
	t.Helper()
	var x, y any
	if err := json.Unmarshal([]byte(a), &x); err != nil {
		t.Errorf("not JSON: %v: %s", err, a)
		return false
	}
	if err := json.Unmarshal([]byte(b), &y); err != nil {
		t.Errorf("not JSON: %v: %s", err, b)
		return false
	}
	return reflect.DeepEqual(x, y)
}

// TestTable: the table Terraform declares is the one dynamostore reads and
// writes (dynamostore.TableInput and the schema constants).
func TestTable(t *testing.T) {
	m := loadModule(t, infraDir)
	if names := m.ofType("aws_dynamodb_table"); !slices.Equal(names, []string{"posture"}) {
		t.Fatalf("tables are %v, want [posture]", names)
	}
	tbl := m.resources["aws_dynamodb_table.posture"]
	in := dynamostore.TableInput("posture")
	// keyOf returns the hash and range attributes of a key schema.
	keyOf := func(ks []types.KeySchemaElement) (hash, rng string) {
		for _, k := range ks {
			switch k.KeyType {
			case types.KeyTypeHash:
				hash = aws.ToString(k.AttributeName)
			case types.KeyTypeRange:
				rng = aws.ToString(k.AttributeName)
			}
		}
		return hash, rng
	}
	hash, rng := keyOf(in.KeySchema)
	for name, want := range map[string]string{
		"billing_mode": string(in.BillingMode),
		"hash_key":     hash,
		"range_key":    rng,
	} {
		if got := evalString(t, m, tbl.Body, name, nil); got != want {
			t.Errorf("aws_dynamodb_table.posture: %s = %q, want %q (dynamostore.TableInput)", name, got, want)
		}
	}
	if hash != dynamostore.AttrPK || rng != dynamostore.AttrSK {
		t.Errorf("dynamostore.TableInput keys %s/%s differ from AttrPK/AttrSK %s/%s", hash, rng, dynamostore.AttrPK, dynamostore.AttrSK)
	}

	var gotAttrs, wantAttrs []string
	for _, b := range blocks(tbl.Body, "attribute") {
		gotAttrs = append(gotAttrs, evalString(t, m, b.Body, "name", nil)+" "+evalString(t, m, b.Body, "type", nil))
	}
	for _, d := range in.AttributeDefinitions {
		wantAttrs = append(wantAttrs, aws.ToString(d.AttributeName)+" "+string(d.AttributeType))
	}
	slices.Sort(gotAttrs)
	slices.Sort(wantAttrs)
	if !slices.Equal(gotAttrs, wantAttrs) {
		t.Errorf("aws_dynamodb_table.posture attributes %v, want %v", gotAttrs, wantAttrs)
	}

	var gotGSI, wantGSI []string
	for _, b := range blocks(tbl.Body, "global_secondary_index") {
		gotGSI = append(gotGSI, strings.Join([]string{
			evalString(t, m, b.Body, "name", nil), evalString(t, m, b.Body, "hash_key", nil),
			evalString(t, m, b.Body, "range_key", nil), evalString(t, m, b.Body, "projection_type", nil),
		}, " "))
	}
	for _, g := range in.GlobalSecondaryIndexes {
		h, r := keyOf(g.KeySchema)
		wantGSI = append(wantGSI, strings.Join([]string{aws.ToString(g.IndexName), h, r, string(g.Projection.ProjectionType)}, " "))
	}
	if !slices.Equal(gotGSI, wantGSI) {
		t.Errorf("aws_dynamodb_table.posture indexes %v, want %v", gotGSI, wantGSI)
	}
	if want := dynamostore.IndexOpenFindings + " " + dynamostore.AttrGSI1PK + " " + dynamostore.AttrGSI1SK + " ALL"; !slices.Contains(gotGSI, want) {
		t.Errorf("aws_dynamodb_table.posture has no index %q (dynamostore constants)", want)
	}

	checks := []struct{ block, attr, want, why string }{
		{"ttl", "attribute_name", dynamostore.AttrTTL, "event claims and rate counters expire on it"},
		{"ttl", "enabled", "true", "event claims and rate counters expire on it"},
		{"point_in_time_recovery", "enabled", "true", "the audit log is evidence"},
		{"server_side_encryption", "enabled", "true", "encryption with a KMS key whose use is logged"},
	}
	for _, c := range checks {
		bs := blocks(tbl.Body, c.block)
		if len(bs) != 1 {
			t.Errorf("aws_dynamodb_table.posture has no %s block (%s)", c.block, c.why)
			continue
		}
		if got := evalString(t, m, bs[0].Body, c.attr, nil); got != c.want {
			t.Errorf("aws_dynamodb_table.posture: %s.%s = %q, want %q (%s)", c.block, c.attr, got, c.want, c.why)
		}
	}
	if a := attr(tbl.Body, "deletion_protection_enabled"); a == nil || !refersTo(a.Expr, "var.table_deletion_protection") {
		t.Error("aws_dynamodb_table.posture: deletion_protection_enabled must be var.table_deletion_protection")
	}
}

// TestSecrets: the Slack secrets exist, and their values never pass
// through Terraform (they would be stored in its state in clear).
func TestSecrets(t *testing.T) {
	m := loadModule(t, infraDir)
	if got := m.ofType("aws_secretsmanager_secret"); !slices.Equal(got, []string{"slack_bot_token", "slack_signing_secret"}) {
		t.Errorf("secrets are %v, want [slack_bot_token slack_signing_secret]", got)
	}
	if got := m.ofType("aws_secretsmanager_secret_version"); len(got) > 0 {
		t.Errorf("aws_secretsmanager_secret_version %v puts a secret value in the Terraform state: set it with put-secret-value instead", got)
	}
	for _, name := range m.ofType("aws_secretsmanager_secret") {
		if d := evalString(t, m, m.resources["aws_secretsmanager_secret."+name].Body, "description", nil); !strings.Contains(d, "put-secret-value") {
			t.Errorf("aws_secretsmanager_secret.%s: the description must say how to set the value", name)
		}
	}
	for name, b := range m.variables {
		if s := attr(b.Body, "sensitive"); s != nil {
			t.Errorf("variable %s is sensitive: secret values stay out of Terraform", name)
		}
	}
	for _, out := range []string{"table_name", "bus_name", "slack_bot_token_secret_arn", "slack_signing_secret_arn"} {
		if _, ok := m.outputs[out]; !ok {
			t.Errorf("output %s is missing", out)
		}
	}
}

// TestVariables: every input is typed and documented, and the
// architecture defaults to the one the package paths above are checked for.
func TestVariables(t *testing.T) {
	m := loadModule(t, infraDir)
	for _, name := range slices.Sorted(maps.Keys(m.variables)) {
		b := m.variables[name]
		if attr(b.Body, "description") == nil {
			t.Errorf("variable %s has no description", name)
		}
		if attr(b.Body, "type") == nil {
			t.Errorf("variable %s has no type", name)
		}
	}
	arch := m.variables["architecture"]
	if arch == nil {
		t.Fatal("variable architecture is missing")
	}
	if got := evalString(t, m, arch.Body, "default", nil); got != "arm64" {
		t.Errorf("variable architecture defaults to %q, want arm64", got)
	}
}

func merge(a, b map[string]string) map[string]string {
	out := maps.Clone(a)
	maps.Copy(out, b)
	return out
}
