package infratest

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"maps"
	"os"
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

	"github.com/driftwatch/driftwatch/shared/awsbus"
	"github.com/driftwatch/driftwatch/shared/awsdetector"
	"github.com/driftwatch/driftwatch/shared/awsfetch"
	"github.com/driftwatch/driftwatch/shared/awsremedy"
	"github.com/driftwatch/driftwatch/shared/entrafed"
	"github.com/driftwatch/driftwatch/shared/store/dynamostore"
)

var update = flag.Bool("update", false, "rewrite infra/aws/policies/*.json from the code")

// roleSpec is what one function's role must grant, derived from the code.
type roleSpec struct {
	// fn names the function; its role, role policy and policy document
	// carry the same Terraform name.
	fn string
	// cloud are the cloud actions the function's code declares (Resource
	// "*": they act on whatever resource an event names). They are
	// generated into infra/aws/policies/<fn>.json.
	cloud []string
	// grants are the other statements: resource, as the test evaluates it
	// ("<type.name.attr>" for a resource attribute) -> actions.
	grants map[string][]string
	// readOnly requires every cloud action to be a Get, Describe or List.
	readOnly bool
	// forbidden are service prefixes the role must not have any action of.
	forbidden []string
}

// roleSpecs is the permission model: one entry per function.
func roleSpecs(t *testing.T) []roleSpec {
	table := tableActions(t)
	index := []string{}
	if slices.Contains(table, "dynamodb:Query") {
		index = []string{"dynamodb:Query"} // an index serves only Query (and Scan)
	}
	bus := interfaceActions("events", reflect.TypeFor[awsbus.PutEventsAPI]())
	secrets := interfaceActions("secretsmanager", reflect.TypeFor[awsdetector.SecretsAPI]())
	// Lambda itself writes the function's logs and, for a failed
	// asynchronous invocation, the on-failure record, with the function's
	// role.
	logs := []string{"logs:CreateLogStream", "logs:PutLogEvents"}
	deadLetters := []string{"sqs:SendMessage"}

	const (
		tableARN = "<aws_dynamodb_table.posture.arn>"
		busARN   = "<aws_cloudwatch_event_bus.driftwatch.arn>"
		token    = "<aws_secretsmanager_secret.slack_bot_token.arn>"
		signing  = "<aws_secretsmanager_secret.slack_signing_secret.arn>"
	)
	indexARN := tableARN + "/index/" + dynamostore.IndexOpenFindings
	logGroup := func(fn string) string { return "<aws_cloudwatch_log_group." + fn + ".arn>:*" }
	dlq := func(fn string) string { return "<aws_sqs_queue." + fn + "_dlq.arn>" }
	union := func(lists ...[]string) []string {
		var out []string
		for _, l := range lists {
			out = append(out, l...)
		}
		slices.Sort(out)
		return slices.Compact(out)
	}
	cloudAPIs := []string{"s3:", "ec2:", "iam:", "kms:", "rds:", "cloudtrail:"}

	return []roleSpec{
		{
			fn:       "detector",
			cloud:    awsfetch.Permissions(),
			readOnly: true,
			grants: map[string][]string{
				tableARN:             table,
				indexARN:             index,
				busARN:               bus, // auto mode publishes remediation requests
				token:                secrets,
				logGroup("detector"): logs,
				dlq("detector"):      deadLetters,
			},
		},
		{
			fn: "remediator",
			// It re-reads and re-evaluates (the fetchers) and applies or
			// undoes exactly the declared fixes.
			cloud: union(awsfetch.Permissions(), awsremedy.Permissions()),
			grants: map[string][]string{
				tableARN:               table,
				indexARN:               index,
				busARN:                 bus, // its re-evaluation is the detector's pipeline (auto mode)
				token:                  secrets,
				logGroup("remediator"): logs,
				dlq("remediator"):      deadLetters,
			},
		},
		{
			fn:        "interactivity",
			cloud:     nil, // it touches no cloud resource: the remediator does
			forbidden: cloudAPIs,
			grants: map[string][]string{
				tableARN:                  table,
				indexARN:                  index,
				busARN:                    bus,
				token:                     secrets,
				signing:                   secrets,
				logGroup("interactivity"): logs,
			},
		},
	}
}

// interfaceActions maps each method of a consumer interface to the IAM
// action of the same name: true of the EventBridge and Secrets Manager
// calls the functions make.
func interfaceActions(prefix string, typ reflect.Type) []string {
	var out []string
	for m := range typ.Methods() {
		out = append(out, prefix+":"+m.Name)
	}
	slices.Sort(out)
	return out
}

// dynamoIAM maps DynamoDB API operations to the IAM actions that authorise
// them. The transactions have no action of their own: each item they carry
// is authorised as the single-item call (PutItem, UpdateItem, DeleteItem,
// GetItem), a ConditionCheck item by dynamodb:ConditionCheckItem (see
// usesConditionCheck).
var dynamoIAM = map[string][]string{
	"GetItem":            {"dynamodb:GetItem"},
	"PutItem":            {"dynamodb:PutItem"},
	"UpdateItem":         {"dynamodb:UpdateItem"},
	"DeleteItem":         {"dynamodb:DeleteItem"},
	"Query":              {"dynamodb:Query"},
	"Scan":               {"dynamodb:Scan"},
	"BatchGetItem":       {"dynamodb:BatchGetItem"},
	"BatchWriteItem":     {"dynamodb:BatchWriteItem"},
	"TransactWriteItems": nil,
	"TransactGetItems":   nil,
}

// tableActions are the DynamoDB actions the store needs: those of the
// methods of dynamostore.API, the interface through which it makes every
// call.
func tableActions(t *testing.T) []string {
	t.Helper()
	var out []string
	for m := range reflect.TypeFor[dynamostore.API]().Methods() {
		actions, known := dynamoIAM[m.Name]
		if !known {
			t.Errorf("dynamostore.API calls %s, which shared/infratest cannot map to IAM actions: add it to dynamoIAM", m.Name)
		}
		out = append(out, actions...)
		if strings.HasPrefix(m.Name, "Transact") && usesConditionCheck(t) {
			out = append(out, "dynamodb:ConditionCheckItem")
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// usesConditionCheck reports whether dynamostore builds a transaction
// ConditionCheck item (types.ConditionCheck{...}) anywhere.
func usesConditionCheck(t *testing.T) bool {
	t.Helper()
	found := false
	for _, f := range parseGoDir(t, filepath.Join("..", "store", "dynamostore")) {
		ast.Inspect(f, func(n ast.Node) bool {
			if lit, ok := n.(*ast.CompositeLit); ok {
				if sel, ok := lit.Type.(*ast.SelectorExpr); ok && sel.Sel.Name == "ConditionCheck" {
					found = true
				}
			}
			return !found
		})
	}
	return found
}

// parseGoDir parses the non-test Go files of dir.
func parseGoDir(t *testing.T, dir string) []*ast.File {
	t.Helper()
	paths, err := filepath.Glob(filepath.Join(dir, "*.go"))
	if err != nil {
		t.Fatal(err)
	}
	var out []*ast.File
	fset := token.NewFileSet()
	for _, p := range paths {
		if strings.HasSuffix(p, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, p, nil, parser.SkipObjectResolution)
		if err != nil {
			t.Fatalf("parse %s: %v", p, err)
		}
		out = append(out, f)
	}
	if len(out) == 0 {
		t.Fatalf("no Go source in %s", dir)
	}
	return out
}

// policyFile is where a function's generated cloud actions live, relative
// to the Terraform module.
func policyFile(fn string) string { return "policies/" + fn + ".json" }

// marshalActions renders a policy file: the sorted actions, one a line.
func marshalActions(actions []string) []byte {
	if actions == nil {
		actions = []string{}
	}
	b, _ := json.MarshalIndent(actions, "", "  ")
	return append(b, '\n')
}

// TestPolicyFiles: infra/aws/policies/<fn>.json lists exactly the cloud
// actions the function's code declares. -update rewrites them.
func TestPolicyFiles(t *testing.T) {
	specs := roleSpecs(t)
	want := map[string]bool{}
	for _, s := range specs {
		rel := policyFile(s.fn)
		want[rel] = true
		if !slices.IsSorted(s.cloud) || len(slices.Compact(slices.Clone(s.cloud))) != len(s.cloud) {
			t.Errorf("%s: the code's cloud actions are not sorted and unique: %v", s.fn, s.cloud)
		}
		path := filepath.Join(infraDir, filepath.FromSlash(rel))
		body := marshalActions(s.cloud)
		if *update {
			if err := os.WriteFile(path, body, 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		got, err := os.ReadFile(path)
		if err != nil {
			t.Errorf("%s: %v (generate it with: go test ./shared/infratest -run TestPolicyFiles -update)", rel, err)
			continue
		}
		if !bytes.Equal(got, body) {
			var have []string
			_ = json.Unmarshal(got, &have)
			added, removed := diff(have, s.cloud)
			t.Errorf("infra/aws/%s differs from the code (missing %v, not declared by the code %v); regenerate it with: go test ./shared/infratest -run TestPolicyFiles -update", rel, added, removed)
		}
	}
	// A file no role uses is a stale role or a typo.
	files, _ := filepath.Glob(filepath.Join(infraDir, "policies", "*"))
	for _, f := range files {
		if rel := "policies/" + filepath.Base(f); !want[rel] {
			t.Errorf("infra/aws/%s belongs to no function: remove it", rel)
		}
	}
}

// diff returns what want has that have lacks (added) and the reverse.
func diff(have, want []string) (added, removed []string) {
	for _, w := range want {
		if !slices.Contains(have, w) {
			added = append(added, w)
		}
	}
	for _, h := range have {
		if !slices.Contains(want, h) {
			removed = append(removed, h)
		}
	}
	return added, removed
}

// statement is one evaluated statement of an aws_iam_policy_document.
type statement struct {
	sid       string
	actions   []string
	resources []string
	files     []string // module files its evaluation read
}

// policyStatements evaluates the statements of a policy document data
// source, expanding dynamic "statement" blocks. files are the module files
// the evaluation read, including for a dynamic block that expands to
// nothing.
func (m *tfModule) policyStatements(doc *hclsyntax.Block) (out []statement, files []string, err error) {
	for _, name := range []string{"source_policy_documents", "override_policy_documents", "source_json", "override_json"} {
		if attr(doc.Body, name) != nil {
			return nil, nil, fmt.Errorf("%s: %s brings statements this test does not see", doc.DefRange(), name)
		}
	}
	for _, b := range doc.Body.Blocks {
		switch {
		case b.Type == "statement":
			s, err := m.policyStatement(b.Body, nil)
			if err != nil {
				return nil, nil, err
			}
			out = append(out, s)
			files = append(files, s.files...)
		case b.Type == "dynamic" && b.Labels[0] == "statement":
			forEach := attr(b.Body, "for_each")
			content := blocks(b.Body, "content")
			if forEach == nil || len(content) != 1 {
				return nil, nil, fmt.Errorf("%s: dynamic statement without for_each or content", b.DefRange())
			}
			iter := b.Labels[0]
			if it := attr(b.Body, "iterator"); it != nil {
				iter = hcl.ExprAsKeyword(it.Expr)
			}
			ev, err := m.eval(forEach.Expr, nil)
			if err != nil {
				return nil, nil, err
			}
			if !ev.val.IsKnown() || !ev.val.CanIterateElements() {
				return nil, nil, fmt.Errorf("%s: for_each is not a known collection", forEach.SrcRange)
			}
			files = append(files, ev.files...)
			for it := ev.val.ElementIterator(); it.Next(); {
				k, v := it.Element()
				s, err := m.policyStatement(content[0].Body, map[string]cty.Value{
					iter: cty.ObjectVal(map[string]cty.Value{"key": k, "value": v}),
				})
				if err != nil {
					return nil, nil, err
				}
				out = append(out, s)
				files = append(files, s.files...)
			}
		}
	}
	slices.Sort(files)
	return out, slices.Compact(files), nil
}

func (m *tfModule) policyStatement(body *hclsyntax.Body, extra map[string]cty.Value) (statement, error) {
	var s statement
	for _, name := range []string{"not_actions", "not_resources"} {
		if attr(body, name) != nil {
			return s, fmt.Errorf("%s: %s grants everything but a list: not allowed", body.SrcRange, name)
		}
	}
	if e := attr(body, "effect"); e != nil {
		ev, err := m.eval(e.Expr, extra)
		if err != nil {
			return s, err
		}
		if v, err := stringValue(ev.val); err != nil || v != "Allow" {
			return s, fmt.Errorf("%s: only Allow statements are expected", e.SrcRange)
		}
	}
	if sid := attr(body, "sid"); sid != nil {
		ev, err := m.eval(sid.Expr, extra)
		if err != nil {
			return s, err
		}
		s.sid, _ = stringValue(ev.val)
	}
	for _, f := range []struct {
		name string
		into *[]string
	}{{"actions", &s.actions}, {"resources", &s.resources}} {
		a := attr(body, f.name)
		if a == nil {
			return s, fmt.Errorf("%s: statement %q has no %s", body.SrcRange, s.sid, f.name)
		}
		ev, err := m.eval(a.Expr, extra)
		if err != nil {
			return s, err
		}
		list, err := stringList(ev.val)
		if err != nil {
			return s, fmt.Errorf("%s: statement %q %s: %w", a.SrcRange, s.sid, f.name, err)
		}
		*f.into = list
		s.files = append(s.files, ev.files...)
	}
	return s, nil
}

// docOf resolves an expression data.aws_iam_policy_document.<name>.json.
func (m *tfModule) docOf(expr hcl.Expression) (*hclsyntax.Block, error) {
	tr, diags := hcl.AbsTraversalForExpr(expr)
	if diags.HasErrors() || len(tr) != 4 || tr.RootName() != "data" {
		return nil, fmt.Errorf("%s: want data.aws_iam_policy_document.<name>.json", expr.Range())
	}
	typ, _ := attrName(tr, 1)
	name, _ := attrName(tr, 2)
	field, _ := attrName(tr, 3)
	doc := m.data[typ+"."+name]
	if typ != "aws_iam_policy_document" || field != "json" || doc == nil {
		return nil, fmt.Errorf("%s: %s is not the json of a declared aws_iam_policy_document", expr.Range(), traversalString(tr))
	}
	return doc, nil
}

// TestRolePolicies: each function's role has one inline policy, built from
// its generated policy file and the statements the code's calls need, and
// nothing more.
func TestRolePolicies(t *testing.T) {
	m := loadModule(t, infraDir)
	// Managed and standalone policies are not generated from the code.
	for _, typ := range []string{"aws_iam_role_policy_attachment", "aws_iam_policy_attachment", "aws_iam_policy", "aws_iam_user_policy", "aws_iam_group_policy"} {
		if names := m.ofType(typ); len(names) > 0 {
			t.Errorf("%s %v: roles get one generated inline policy each, nothing else", typ, names)
		}
	}
	specs := roleSpecs(t)
	var roles []string
	for _, s := range specs {
		roles = append(roles, s.fn)
	}
	// And the roles other clouds' functions assume with a web identity,
	// checked by their own tests (TestAzureFederationRole).
	roles = append(roles, federatedRoles...)
	slices.Sort(roles)
	if got := m.ofType("aws_iam_role"); !slices.Equal(got, roles) {
		t.Errorf("roles are %v, want one per function %v", got, roles)
	}
	for _, s := range specs {
		t.Run(s.fn, func(t *testing.T) { checkRole(t, m, s) })
	}
}

func checkRole(t *testing.T, m *tfModule, s roleSpec) {
	roleKey := "aws_iam_role." + s.fn
	role := m.resources[roleKey]
	if role == nil {
		t.Fatalf("%s is not declared", roleKey)
	}
	if attr(role.Body, "managed_policy_arns") != nil || len(blocks(role.Body, "inline_policy")) > 0 {
		t.Errorf("%s: managed_policy_arns / inline_policy bypass the generated policy", roleKey)
	}
	if a := attr(role.Body, "assume_role_policy"); a == nil {
		t.Errorf("%s has no assume_role_policy", roleKey)
	} else {
		checkAssumeRole(t, m, roleKey, a.Expr)
	}
	if fn := m.resources["aws_lambda_function."+s.fn]; fn == nil || attr(fn.Body, "role") == nil || !refersTo(attr(fn.Body, "role").Expr, roleKey) {
		t.Errorf("aws_lambda_function.%s does not run as %s", s.fn, roleKey)
	}

	var docs []*hclsyntax.Block
	for _, name := range m.ofType("aws_iam_role_policy") {
		p := m.resources["aws_iam_role_policy."+name]
		if r := attr(p.Body, "role"); r == nil || !refersTo(r.Expr, roleKey) {
			continue
		}
		pa := attr(p.Body, "policy")
		if pa == nil {
			t.Fatalf("aws_iam_role_policy.%s has no policy", name)
		}
		doc, err := m.docOf(pa.Expr)
		if err != nil {
			t.Fatal(err)
		}
		docs = append(docs, doc)
	}
	if len(docs) != 1 {
		t.Fatalf("%s has %d inline policies, want exactly 1", roleKey, len(docs))
	}
	stmts, files, err := m.policyStatements(docs[0])
	if err != nil {
		t.Fatal(err)
	}

	got := map[string][]string{}
	for _, st := range stmts {
		for _, a := range st.actions {
			if strings.Contains(a, "*") || !strings.Contains(a, ":") {
				t.Errorf("statement %q: action %q is a wildcard or malformed; list exact actions", st.sid, a)
			}
			for _, p := range s.forbidden {
				if strings.HasPrefix(a, p) {
					t.Errorf("statement %q: %s must have no %s actions, has %q", st.sid, s.fn, p, a)
				}
			}
		}
		for _, r := range st.resources {
			got[r] = append(got[r], st.actions...)
		}
	}
	if want := []string{policyFile(s.fn)}; !slices.Equal(files, want) {
		t.Errorf("the policy of %s reads %v, want exactly %v (its generated cloud actions)", roleKey, files, want)
	}

	want := maps.Clone(s.grants)
	if len(s.cloud) > 0 {
		want["*"] = s.cloud
	}
	for r := range got {
		slices.Sort(got[r])
		got[r] = slices.Compact(got[r])
	}
	for _, r := range slices.Sorted(maps.Keys(want)) {
		if !slices.Equal(got[r], want[r]) {
			added, removed := diff(got[r], want[r])
			t.Errorf("%s on %s: missing %v, not needed by the code %v", roleKey, r, added, removed)
		}
	}
	for _, r := range slices.Sorted(maps.Keys(got)) {
		if _, ok := want[r]; !ok {
			t.Errorf("%s grants %v on %s, which the code does not need", roleKey, got[r], r)
		}
	}
	if s.readOnly {
		for _, a := range s.cloud {
			_, op, _ := strings.Cut(a, ":")
			if !strings.HasPrefix(op, "Get") && !strings.HasPrefix(op, "Describe") && !strings.HasPrefix(op, "List") {
				t.Errorf("%s must be read-only; %q is not a Get, Describe or List", s.fn, a)
			}
		}
	}
}

// checkAssumeRole: only the Lambda service assumes the role.
func checkAssumeRole(t *testing.T, m *tfModule, roleKey string, expr hcl.Expression) {
	t.Helper()
	doc, err := m.docOf(expr)
	if err != nil {
		t.Error(err)
		return
	}
	stmts := blocks(doc.Body, "statement")
	if len(stmts) != 1 || len(doc.Body.Blocks) != 1 {
		t.Errorf("%s: the trust policy must be one statement", roleKey)
		return
	}
	s, err := m.policyStatementTrust(stmts[0].Body)
	if err != nil {
		t.Errorf("%s: %v", roleKey, err)
		return
	}
	if !slices.Equal(s.actions, []string{"sts:AssumeRole"}) || !slices.Equal(s.principals, []string{"Service lambda.amazonaws.com"}) {
		t.Errorf("%s: trust policy lets %v %v, want Service lambda.amazonaws.com sts:AssumeRole", roleKey, s.principals, s.actions)
	}
}

// trust is an evaluated trust-policy statement.
type trust struct {
	actions    []string
	principals []string // "<type> <identifier>"
}

func (m *tfModule) policyStatementTrust(body *hclsyntax.Body) (trust, error) {
	var s trust
	a := attr(body, "actions")
	if a == nil {
		return s, fmt.Errorf("%s: no actions", body.SrcRange)
	}
	ev, err := m.eval(a.Expr, nil)
	if err != nil {
		return s, err
	}
	if s.actions, err = stringList(ev.val); err != nil {
		return s, err
	}
	for _, p := range blocks(body, "principals") {
		typ, ids := attr(p.Body, "type"), attr(p.Body, "identifiers")
		if typ == nil || ids == nil {
			return s, fmt.Errorf("%s: incomplete principals", p.DefRange())
		}
		tv, err := m.eval(typ.Expr, nil)
		if err != nil {
			return s, err
		}
		iv, err := m.eval(ids.Expr, nil)
		if err != nil {
			return s, err
		}
		ts, err := stringValue(tv.val)
		if err != nil {
			return s, err
		}
		list, err := stringList(iv.val)
		if err != nil {
			return s, err
		}
		for _, id := range list {
			s.principals = append(s.principals, ts+" "+id)
		}
	}
	return s, nil
}

// TestInteractivityAzureRemediationToken: the interactivity role may get an
// AWS web identity token only once azure_remediation is set, and then only
// the one entrafed asks for (Entra's token exchange audience, its signing
// algorithm, at most its duration); the function's environment names the
// topic and the publisher application from the same variable, and is empty
// without it.
func TestInteractivityAzureRemediationToken(t *testing.T) {
	m := loadModule(t, infraDir)
	var spec roleSpec
	for _, s := range roleSpecs(t) {
		if s.fn == "interactivity" {
			spec = s
		}
	}
	envVars := map[string]string{
		"DRIFTWATCH_AZURE_REMEDIATION_TOPIC":   "topic_endpoint",
		"DRIFTWATCH_AZURE_TENANT_ID":           "tenant_id",
		"DRIFTWATCH_AZURE_PUBLISHER_CLIENT_ID": "publisher_client_id",
	}
	checkEnvValues := func(want map[string]string) {
		t.Helper()
		fn := m.resources["aws_lambda_function.interactivity"]
		envs := blocks(fn.Body, "environment")
		if len(envs) != 1 || attr(envs[0].Body, "variables") == nil {
			t.Fatal("aws_lambda_function.interactivity has no environment variables")
		}
		env := literalMap(t, "aws_lambda_function.interactivity: environment.variables", attr(envs[0].Body, "variables").Expr)
		for name := range envVars {
			ev, err := m.eval(env[name], nil)
			if err != nil {
				t.Fatal(err)
			}
			if got, err := stringValue(ev.val); err != nil || got != want[name] {
				t.Errorf("%s = %q (%v), want %q", name, got, err, want[name])
			}
		}
	}

	if conds := tokenConditions(t, m); conds != nil {
		t.Errorf("without azure_remediation the role may get web identity tokens: %v", conds)
	}
	checkEnvValues(map[string]string{})

	const (
		topic  = "https://dw-remediation-x.westeurope-1.eventgrid.azure.net/api/events"
		tenant = "0f0e0d0c-0b0a-4909-8807-060504030201"
		client = "11111111-2222-4333-8444-555555555555"
	)
	m.withVars(map[string]cty.Value{"azure_remediation": cty.ObjectVal(map[string]cty.Value{
		"topic_endpoint": cty.StringVal(topic), "tenant_id": cty.StringVal(tenant), "publisher_client_id": cty.StringVal(client),
	})})
	checkEnvValues(map[string]string{
		"DRIFTWATCH_AZURE_REMEDIATION_TOPIC": topic, "DRIFTWATCH_AZURE_TENANT_ID": tenant, "DRIFTWATCH_AZURE_PUBLISHER_CLIENT_ID": client,
	})
	// The grant, on "*" (the action has no resource type), next to the
	// others unchanged.
	spec.grants = maps.Clone(spec.grants)
	spec.grants["*"] = []string{"sts:GetWebIdentityToken"}
	t.Run("role", func(t *testing.T) { checkRole(t, m, spec) })
	want := map[string][]string{
		"ForAllValues:StringEquals sts:IdentityTokenAudience": {entrafed.Audience},
		"Null sts:IdentityTokenAudience":                      {"false"},
		"StringEquals sts:SigningAlgorithm":                   {entrafed.SigningAlgorithm},
		"NumericLessThanEquals sts:DurationSeconds":           {strconv.Itoa(int(entrafed.TokenDuration / time.Second))},
	}
	if got := tokenConditions(t, m); !reflect.DeepEqual(got, want) {
		t.Errorf("sts:GetWebIdentityToken is allowed on conditions %v, want %v (what entrafed asks for)", got, want)
	}
}

// tokenConditions returns the conditions ("<test> <variable>" -> values)
// of the interactivity policy's statements granting sts:GetWebIdentityToken
// as evaluated now; nil when none does.
func tokenConditions(t *testing.T, m *tfModule) map[string][]string {
	t.Helper()
	doc := m.data["aws_iam_policy_document.interactivity"]
	if doc == nil {
		t.Fatal("data.aws_iam_policy_document.interactivity is not declared")
	}
	var out map[string][]string
	collect := func(body *hclsyntax.Body, extra map[string]cty.Value) {
		s, err := m.policyStatement(body, extra)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Contains(s.actions, "sts:GetWebIdentityToken") {
			return
		}
		if out == nil {
			out = map[string][]string{}
		}
		for _, c := range blocks(body, "condition") {
			ev, err := m.eval(attr(c.Body, "values").Expr, extra)
			if err != nil {
				t.Fatal(err)
			}
			vals, err := stringList(ev.val)
			if err != nil {
				t.Fatal(err)
			}
			key := evalString(t, m, c.Body, "test", extra) + " " + evalString(t, m, c.Body, "variable", extra)
			out[key] = append(out[key], vals...)
		}
	}
	for _, b := range doc.Body.Blocks {
		switch {
		case b.Type == "statement":
			collect(b.Body, nil)
		case b.Type == "dynamic" && b.Labels[0] == "statement":
			ev, err := m.eval(attr(b.Body, "for_each").Expr, nil)
			if err != nil {
				t.Fatal(err)
			}
			content := blocks(b.Body, "content")
			if !ev.val.IsKnown() || !ev.val.CanIterateElements() || len(content) != 1 {
				t.Fatalf("%s: a dynamic statement this test cannot expand", b.DefRange())
			}
			for it := ev.val.ElementIterator(); it.Next(); {
				k, v := it.Element()
				collect(content[0].Body, map[string]cty.Value{"statement": cty.ObjectVal(map[string]cty.Value{"key": k, "value": v})})
			}
		}
	}
	return out
}
