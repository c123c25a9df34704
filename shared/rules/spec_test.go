package rules

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/driftwatch/driftwatch/shared/awsres"
)

// TestInvalidRules loads each file under testdata/rules/invalid together with
// the built-in catalogue and checks the exact error, the way a custom rule
// directory is compiled in production.
func TestInvalidRules(t *testing.T) {
	tests := []struct {
		file string
		want string
	}{
		{"unknown_field.yaml", `unknown_field.yaml:6: unknown field "colour"`},
		{"unknown_remediation_field.yaml", `unknown_remediation_field.yaml:12: remediation: unknown field "automatic"`},
		{"irreversible_without_action.yaml", `irreversible_without_action.yaml:12: remediation.irreversible: only an action can be irreversible: the rule has none`},
		{"bad_severity.yaml", `bad_severity.yaml:5: severity: unknown severity "urgent" (want critical, high, medium, low or informational)`},
		{"non_bool_condition.yaml", `non_bool_condition.yaml:6: condition: must be a bool expression, not string`},
		{"unknown_cel_field.yaml", `unknown_cel_field.yaml:6: condition: 1:9: undefined field 'versioning'`},
		{"undeclared_variable.yaml", `undeclared_variable.yaml:6: condition: 1:1: undeclared reference to 'request'`},
		{"unknown_resource_type.yaml", `unknown_resource_type.yaml:4: resource_type: unknown resource type "AWS::S3::Bukket" (known: AWS::::Account, AWS::::AccountRegion, AWS::CloudTrail::Trail, AWS::EC2::SecurityGroup, AWS::IAM::Group, AWS::IAM::Policy, AWS::IAM::Role, AWS::IAM::User, AWS::KMS::Key, AWS::RDS::DBInstance, AWS::S3::Bucket)`},
		{"duplicate_id.yaml", `duplicate_id.yaml:1: id: duplicate rule id "aws_s3_bucket_versioning_enabled" (also in catalog/aws/aws_s3_bucket_versioning_enabled.yaml)`},
		{"when_not_bool.yaml", `when_not_bool.yaml:7: when: must be a bool expression, not string`},
		{"when_syntax_error.yaml", `when_syntax_error.yaml:7: when: 1:33: Syntax error: mismatched input '<EOF>' expecting {'[', '{', '(', '.', '-', '!', 'true', 'false', 'null', NUM_FLOAT, NUM_INT, NUM_UINT, STRING, BYTES, IDENTIFIER}`},
		{"settings_path.yaml", `settings_path.yaml:7: settings: "logging.enable": no field "enable" in logging`},
		{"settings_through_list.yaml", `settings_through_list.yaml:7: settings: "acl_grants.public": acl_grants is a list, it has no field "public"`},
		{"settings_not_list.yaml", "settings_not_list.yaml:7: settings: cannot unmarshal !!str `version...` into a list of settings"},
		{"settings_bad_expression.yaml", `settings_bad_expression.yaml:9: settings: "open to the Internet": 1:68: undefined field 'port'`},
		{"settings_expression_syntax.yaml", `settings_expression_syntax.yaml:8: settings: "open to the Internet": 1:51: Syntax error: missing ')' at '<EOF>'`},
		{"settings_two_keys.yaml", `settings_two_keys.yaml:8: settings: a setting is one label: expression, this mapping has 2 keys (make each its own list item)`},
		{"settings_empty_label.yaml", `settings_empty_label.yaml:8: settings: empty label`},
		{"settings_expression_not_string.yaml", `settings_expression_not_string.yaml:9: settings: the expression for "open ports" must be a string, not a list`},
		{"settings_number.yaml", `settings_number.yaml:8: settings: the number 22 is not a dotted path or a mapping label: expression`},
		{"settings_duplicate_label.yaml", `settings_duplicate_label.yaml:10: settings: "name" listed twice`},
		{"missing_title.yaml", `missing_title.yaml:1: title: required`},
		{"missing_guidance.yaml", `missing_guidance.yaml:10: remediation.guidance: required`},
		{"bad_id.yaml", `bad_id.yaml:1: id: "S3-Versioning" must match ^[a-z0-9_]+$`},
		{"bad_when_missing.yaml", `bad_when_missing.yaml:6: when_missing: unknown value "ignore" (want not_applicable or fail)`},
		{"unknown_framework.yaml", `unknown_framework.yaml:10: controls.soc2: unknown framework (want cis, iso27001_2022, nis2, pci_dss_4_0, ens_rd2022, dora)`},
		{"malformed_control.yaml", `malformed_control.yaml:9: controls.iso27001_2022: malformed control id "8.10" (want the form "A.8.20")`},
		{"trigger_prose.yaml", `trigger_prose.yaml:12: triggers: "CreateAccessKey (userIdentity.type=Root)" is not an operation name`},
		{"two_documents.yaml", `two_documents.yaml:13: more than one YAML document (one rule per file)`},
		{"yaml_syntax.yaml", `yaml_syntax.yaml:2: mapping values are not allowed in this context`},
		{"empty.yaml", `empty.yaml: empty rule file`},
	}
	builtin := builtinSpecs(t)
	covered := map[string]bool{}
	for _, tt := range tests {
		covered[tt.file] = true
		t.Run(tt.file, func(t *testing.T) {
			data, err := os.ReadFile(filepath.Join(invalidDir, tt.file))
			if err != nil {
				t.Fatal(err)
			}
			s, err := Parse(tt.file, data)
			if err == nil {
				_, err = Compile(append(slices.Clone(builtin), s), awsres.Types())
			}
			if err == nil {
				t.Fatalf("no error, want %s", tt.want)
			}
			if got := err.Error(); got != tt.want {
				t.Errorf("error\n got: %s\nwant: %s", got, tt.want)
			}
			if !errors.Is(err, ErrInvalidRule) {
				t.Errorf("error %v does not match ErrInvalidRule", err)
			}
		})
	}
	// Every invalid case on disk has an expected error here.
	files, err := filepath.Glob(filepath.Join(invalidDir, "*"))
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		if !covered[filepath.Base(f)] {
			t.Errorf("%s has no expected error in TestInvalidRules", f)
		}
	}
}

func TestLoad(t *testing.T) {
	valid, err := os.ReadFile(filepath.Join(invalidDir, "duplicate_id.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	badSeverity, err := os.ReadFile(filepath.Join(invalidDir, "bad_severity.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	unknownField, err := os.ReadFile(filepath.Join(invalidDir, "unknown_field.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		fsys    fstest.MapFS
		wantIDs []string
		wantErr string
	}{
		{
			name:    "empty directory",
			fsys:    fstest.MapFS{},
			wantIDs: nil,
		},
		{
			name: "nested directories and both extensions, other files ignored",
			fsys: fstest.MapFS{
				"a.yaml":         {Data: valid},
				"team/b.yml":     {Data: []byte(strings.Replace(string(valid), "id: aws_s3_bucket_versioning_enabled", "id: team_rule", 1))},
				"README.md":      {Data: []byte("# custom rules")},
				"team/notes.txt": {Data: []byte("not a rule")},
			},
			wantIDs: []string{"aws_s3_bucket_versioning_enabled", "team_rule"},
		},
		{
			name: "every file's errors, in path order",
			fsys: fstest.MapFS{
				"z.yaml":     {Data: unknownField},
				"a.yaml":     {Data: badSeverity},
				"ok/ok.yaml": {Data: valid},
			},
			wantErr: "a.yaml:5: severity: unknown severity \"urgent\" (want critical, high, medium, low or informational)\n" +
				"z.yaml:6: unknown field \"colour\"",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			specs, err := Load(tt.fsys)
			if tt.wantErr != "" {
				if err == nil || err.Error() != tt.wantErr {
					t.Fatalf("error\n got: %v\nwant: %s", err, tt.wantErr)
				}
				if !errors.Is(err, ErrInvalidRule) {
					t.Errorf("error does not match ErrInvalidRule")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var ids []string
			for _, s := range specs {
				ids = append(ids, s.ID)
			}
			if !slices.Equal(ids, tt.wantIDs) {
				t.Errorf("ids = %v, want %v", ids, tt.wantIDs)
			}
		})
	}
}

// TestCompileSpecFromGo covers rules built in Go rather than parsed: they
// have no line numbers, and Compile still validates every field.
func TestCompileSpecFromGo(t *testing.T) {
	s := Spec{
		Source:       "generated",
		ID:           "gen_rule",
		Title:        "Generated",
		Description:  "Built in Go.",
		ResourceType: awsres.TypeS3Bucket,
		Severity:     "LOW",
		Condition:    "resource.logging.enabled",
		Settings: []SettingSpec{
			{Path: "logging.target_bucket"},
			{Label: "log prefix", Expr: "resource.logging.target_prefix"},
		},
		Remediation: Remediation{Guidance: "Turn logging on."},
	}
	e, err := Compile([]Spec{s}, awsres.Types())
	if err != nil {
		t.Fatal(err)
	}
	r, ok := e.Rule("gen_rule")
	if !ok {
		t.Fatal("rule not compiled")
	}
	if r.Severity != "low" || r.WhenMissing != MissingNotApplicable {
		t.Errorf("severity %q, when_missing %q; want low, not_applicable", r.Severity, r.WhenMissing)
	}
	if want := []string{"logging.target_bucket", "log prefix"}; !slices.Equal(r.Settings, want) {
		t.Errorf("Settings = %q, want %q", r.Settings, want)
	}

	tests := []struct {
		name   string
		change func(*Spec)
		want   string
	}{
		{"no condition", func(s *Spec) { s.Condition = "" }, "generated: condition: required"},
		{"path and expression", func(s *Spec) { s.Settings = []SettingSpec{{Path: "name", Label: "name", Expr: "resource.name"}} },
			"generated: settings: give either a path or a label and an expression, not both"},
		{"empty setting", func(s *Spec) { s.Settings = []SettingSpec{{}} }, "generated: settings: empty setting"},
		{"expression without label", func(s *Spec) { s.Settings = []SettingSpec{{Expr: "resource.name"}} }, "generated: settings: empty label"},
		{"label without expression", func(s *Spec) { s.Settings = []SettingSpec{{Label: "name", Expr: " "}} }, `generated: settings: "name": empty expression`},
		{"label on two lines", func(s *Spec) { s.Settings = []SettingSpec{{Label: "bucket\nname", Expr: "resource.name"}} },
			`generated: settings: label "bucket\nname" must be one line without surrounding spaces`},
		{"label with spaces around", func(s *Spec) { s.Settings = []SettingSpec{{Label: " name", Expr: "resource.name"}} },
			`generated: settings: label " name" must be one line without surrounding spaces`},
		{"long label", func(s *Spec) { s.Settings = []SettingSpec{{Label: strings.Repeat("é", 61), Expr: "resource.name"}} },
			`generated: settings: label "` + strings.Repeat("é", 61) + `" is longer than 60 characters`},
		{"long expression", func(s *Spec) { s.Settings = []SettingSpec{{Label: "name", Expr: strings.Repeat(" ", 4096) + "1"}} },
			`generated: settings: "name": expression longer than 4096 characters`},
		{"path that is an expression", func(s *Spec) { s.Settings = []SettingSpec{{Path: "size(resource.ingress)"}} },
			`generated: settings: "size(resource.ingress)" is not a dotted path of json field names (write label: expression for anything else)`},
		{"expression of another type's field", func(s *Spec) { s.Settings = []SettingSpec{{Label: "rules", Expr: "resource.ingress"}} },
			`generated: settings: "rules": 1:9: undefined field 'ingress'`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			bad := s
			tt.change(&bad)
			_, err := Compile([]Spec{bad}, awsres.Types())
			if err == nil || err.Error() != tt.want {
				t.Fatalf("error\n got: %v\nwant: %s", err, tt.want)
			}
			if !errors.Is(err, ErrInvalidRule) {
				t.Errorf("error does not match ErrInvalidRule")
			}
		})
	}
}

// TestCompileReportsAll checks that Compile reports every invalid rule, not
// only the first, so one deploy attempt shows all problems.
func TestCompileReportsAll(t *testing.T) {
	var specs []Spec
	for _, f := range []string{"non_bool_condition.yaml", "settings_path.yaml"} {
		data, err := os.ReadFile(filepath.Join(invalidDir, f))
		if err != nil {
			t.Fatal(err)
		}
		s, err := Parse(f, data)
		if err != nil {
			t.Fatal(err)
		}
		specs = append(specs, s)
	}
	_, err := Compile(specs, awsres.Types())
	want := "non_bool_condition.yaml:6: condition: must be a bool expression, not string\n" +
		`settings_path.yaml:7: settings: "logging.enable": no field "enable" in logging`
	if err == nil || err.Error() != want {
		t.Errorf("error\n got: %v\nwant: %s", err, want)
	}
}

// TestCompileBadTypes: a type map that CEL cannot use is our bug, not the
// rule author's, so the error must not match ErrInvalidRule.
func TestCompileBadTypes(t *testing.T) {
	tests := []struct {
		name  string
		types map[string]reflect.Type
		want  string
	}{
		{"not a struct", map[string]reflect.Type{"X::Y": reflect.TypeFor[string]()}, "rules: resource type X::Y: Go type string is not a struct"},
		{"nil type", map[string]reflect.Type{"X::Y": nil}, "rules: resource type X::Y has no Go type"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Compile(nil, tt.types)
			if err == nil || err.Error() != tt.want {
				t.Fatalf("error %v, want %s", err, tt.want)
			}
			if errors.Is(err, ErrInvalidRule) {
				t.Errorf("a bad type map matched ErrInvalidRule")
			}
		})
	}
}

// TestParseSettings covers the YAML forms of a settings entry that the
// invalid-rule files do not: flow style, folded expressions, and the odd
// node kinds an author can write by accident.
func TestParseSettings(t *testing.T) {
	const head = "id: t\ntitle: T\ndescription: D.\nresource_type: AWS::S3::Bucket\nseverity: low\ncondition: 'true'\n" +
		"remediation: {guidance: G.}\n"
	tests := []struct {
		name     string
		settings string
		want     []SettingSpec
		wantErr  string
	}{
		{
			name:     "flow style, both forms",
			settings: "settings: [name, {versioning: resource.versioning_status}]\n",
			want:     []SettingSpec{{Path: "name"}, {Label: "versioning", Expr: "resource.versioning_status"}},
		},
		{
			name:     "folded expression and quoted label",
			settings: "settings:\n  - \"public grants: ACL\": >-\n      resource.acl_grants\n        .map(g, g.grantee)\n",
			want:     []SettingSpec{{Label: "public grants: ACL", Expr: "resource.acl_grants\n  .map(g, g.grantee)"}},
		},
		{
			name:     "null entry",
			settings: "settings:\n  - name\n  -\n",
			wantErr:  "t.yaml:10: settings: empty setting",
		},
		{
			name:     "an alias is its anchor's value",
			settings: "settings:\n  - &n name\n  - *n\n",
			wantErr:  `t.yaml:10: settings: "name" listed twice`,
		},
		{
			name:     "list entry",
			settings: "settings:\n  - [name, arn]\n",
			wantErr:  "t.yaml:9: settings: a list is not a dotted path or a mapping label: expression",
		},
		{
			name:     "boolean expression",
			settings: "settings:\n  - always: true\n",
			wantErr:  `t.yaml:9: settings: the expression for "always" must be a string, not the boolean true (quote it)`,
		},
		{
			name:     "empty expression",
			settings: "settings:\n  - nothing:\n",
			wantErr:  `t.yaml:9: settings: the expression for "nothing" must be a string, not null`,
		},
		{
			name:     "mapping label",
			settings: "settings:\n  - {a: b}: resource.name\n",
			wantErr:  "t.yaml:9: settings: the label must be a string, not a mapping",
		},
		{
			name:     "empty mapping",
			settings: "settings:\n  - {}\n",
			wantErr:  "t.yaml:9: settings: a setting is one label: expression, this mapping has 0 keys (make each its own list item)",
		},
		{
			name:     "two problems, both reported",
			settings: "settings:\n  - 1\n  - a: 2\n",
			wantErr: "t.yaml:9: settings: the number 1 is not a dotted path or a mapping label: expression\n" +
				`t.yaml:10: settings: the expression for "a" must be a string, not the number 2 (quote it)`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := Parse("t.yaml", []byte(head+tt.settings))
			if tt.wantErr != "" {
				if err == nil || err.Error() != tt.wantErr {
					t.Fatalf("error\n got: %v\nwant: %s", err, tt.wantErr)
				}
				if !errors.Is(err, ErrInvalidRule) {
					t.Errorf("error does not match ErrInvalidRule")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(s.Settings, tt.want) {
				t.Errorf("Settings = %q, want %q", s.Settings, tt.want)
			}
		})
	}
}
