package rules

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"cel.dev/cel-go/common/types"

	"github.com/driftwatch/driftwatch/shared/awsres"
	"github.com/driftwatch/driftwatch/shared/resource"
)

var update = flag.Bool("update", false, "rewrite testdata/rules/settings.golden")

const settingsGolden = "../../testdata/rules/settings.golden"

// TestSettingsGolden writes what an alert will show for each built-in rule
// of every cloud, AWS first: the settings of the rule's first compliant
// fixture as before and of its first non-compliant one as after (deleted
// resources have no settings, so only fixtures of existing resources
// count). Reviewers read the diff of the golden file to judge a change to a
// rule's settings.
func TestSettingsGolden(t *testing.T) {
	var b strings.Builder
	b.WriteString("# What alerts show for each built-in rule: label: before → after, the\n" +
		"# settings of its first pass fixture and of its first fail fixture.\n" +
		"# Regenerate: go test ./rules/ -run TestSettingsGolden -update\n")
	for _, c := range catalogues() {
		e := c.engine(t)
		for _, r := range e.Rules() {
			before, beforeFile := firstFixtureSettings(t, c, e, r, "pass-")
			after, afterFile := firstFixtureSettings(t, c, e, r, "fail-")
			if afterFile == "" {
				t.Errorf("%s: no fail fixture of an existing resource", r.ID)
				continue
			}
			fmt.Fprintf(&b, "\n%s (%s → %s)\n", r.ID, beforeFile, afterFile)
			for i, s := range after {
				was := "(not observed)"
				if before != nil {
					was = before[i].Value
				}
				fmt.Fprintf(&b, "  %s: %s → %s\n", s.Label, was, s.Value)
			}
		}
	}
	got := b.String()
	if *update {
		if err := os.WriteFile(settingsGolden, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(settingsGolden)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if got != string(want) {
		t.Errorf("settings differ from %s (run with -update and review the diff):\n%s", settingsGolden, got)
	}
}

// firstFixtureSettings evaluates the rule's settings on its first fixture
// whose name starts with prefix and whose resource exists.
func firstFixtureSettings(t *testing.T, c catalogue, e *Engine, r *Rule, prefix string) ([]Setting, string) {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(c.fixtureDir(), r.ID, prefix+"*.json"))
	if err != nil {
		t.Fatal(err)
	}
	for _, file := range files {
		f, res := loadFixture(t, c, file, r.ResourceType)
		if !f.Exists {
			continue
		}
		doc, err := json.Marshal(res.Doc)
		if err != nil {
			t.Fatal(err)
		}
		got, err := e.SettingValuesAt(r.ID, doc, EvalContext{Now: f.Now, Account: f.Account}, f.Tags)
		if err != nil {
			t.Fatalf("%s: %v", file, err)
		}
		return got, filepath.Base(file)
	}
	return nil, ""
}

// settingsEngine compiles custom rules whose settings exercise every form
// and every variable.
func settingsEngine(t testing.TB) *Engine {
	t.Helper()
	spec := func(id, typ string, settings ...SettingSpec) Spec {
		return Spec{
			Source: id + ".yaml", ID: id, Title: id, Description: "Test rule.", ResourceType: typ,
			Severity: "low", Condition: "true", Settings: settings, Remediation: Remediation{Guidance: "None."},
		}
	}
	e, err := Compile([]Spec{
		spec("t_sg", awsres.TypeSecurityGroup,
			SettingSpec{Path: "name"},
			SettingSpec{Label: "public", Expr: "resource.ingress.filter(r, r.public).map(r, r.cidr)"},
			SettingSpec{Label: "owner", Expr: "account.owner"},
			SettingSpec{Label: "team tag", Expr: "tags.team"},
			SettingSpec{Label: "checked at", Expr: "now"},
		),
		spec("t_no_settings", awsres.TypeSecurityGroup),
		spec("t_user", awsres.TypeIAMUser,
			SettingSpec{Label: "key ages", Expr: "resource.access_keys.map(k, now - k.created)"},
			SettingSpec{Path: "access_keys"},
		),
	}, awsres.Types())
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func TestSettingValues(t *testing.T) {
	e := settingsEngine(t)
	now := time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)
	ec := EvalContext{Now: now, Account: map[string]string{"id": "123456789012", "owner": "payments"}}
	tags := map[string]string{"team": "edge"}
	sg, err := json.Marshal(&awsres.SecurityGroup{ID: "sg-1", Name: "web", Ingress: []awsres.SGRule{
		{Protocol: "tcp", FromPort: 22, ToPort: 22, CIDR: "0.0.0.0/0", Public: true},
		{Protocol: "tcp", FromPort: 443, ToPort: 443, CIDR: "10.0.0.0/8"},
		{Protocol: "tcp", FromPort: 443, ToPort: 443, CIDR: "::/0", IPv6: true, Public: true},
	}})
	if err != nil {
		t.Fatal(err)
	}
	user, err := json.Marshal(&awsres.IAMUser{Name: "ci", AccessKeys: []awsres.AccessKey{
		{ID: "AKIA1", Status: "Active", Created: now.Add(-91*24*time.Hour - time.Hour)},
	}})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		rule    string
		doc     string
		ec      EvalContext
		tags    map[string]string
		want    []Setting
		wantErr string
	}{
		{
			name: "every variable",
			rule: "t_sg", doc: string(sg), ec: ec, tags: tags,
			want: []Setting{
				{"name", "web"}, {"public", "0.0.0.0/0, ::/0"}, {"owner", "payments"},
				{"team tag", "edge"}, {"checked at", "2025-06-01T12:00:00Z"},
			},
		},
		{
			name: "surrounding space is fine",
			rule: "t_sg", doc: "\n " + string(sg) + "\n", ec: ec, tags: tags,
			want: []Setting{
				{"name", "web"}, {"public", "0.0.0.0/0, ::/0"}, {"owner", "payments"},
				{"team tag", "edge"}, {"checked at", "2025-06-01T12:00:00Z"},
			},
		},
		{
			name: "a failing setting leaves the others",
			rule: "t_sg", doc: string(sg), ec: EvalContext{Now: now},
			want: []Setting{
				{"name", "web"}, {"public", "0.0.0.0/0, ::/0"}, {"owner", ""},
				{"team tag", ""}, {"checked at", "2025-06-01T12:00:00Z"},
			},
			wantErr: "rules: t_sg: setting \"owner\": no such key: owner\n" +
				"rules: t_sg: setting \"team tag\": no such key: team",
		},
		{
			name: "durations and a path to a list of objects",
			rule: "t_user", doc: string(user), ec: ec,
			want: []Setting{
				{"key ages", "91d"},
				{"access_keys", `[{"created":"2025-03-02T11:00:00Z","id":"AKIA1","last_used":"0001-01-01T00:00:00Z","status":"Active","used":false}]`},
			},
		},
		{name: "empty document: not observed", rule: "t_sg", doc: ""},
		{name: "null document: deleted", rule: "t_sg", doc: " null "},
		{name: "a rule without settings", rule: "t_no_settings", doc: string(sg)},
		{name: "unknown rule", rule: "nope", doc: string(sg), wantErr: `rules: settings of "nope": unknown rule`},
		{
			name: "truncated placeholder",
			rule: "t_sg", doc: `{"truncated":true,"bytes":400000}`,
			wantErr: `rules: settings of t_sg: AWS::EC2::SecurityGroup document: json: unknown field "truncated"`,
		},
		{
			name: "another type's document",
			rule: "t_user", doc: string(sg),
			wantErr: `rules: settings of t_user: AWS::IAM::User document: json: unknown field "description"`,
		},
		{
			name: "not an object",
			rule: "t_sg", doc: `[{"name":"web"}]`,
			wantErr: `rules: settings of t_sg: AWS::EC2::SecurityGroup document: not a JSON object`,
		},
		{
			name: "wrong field type",
			rule: "t_sg", doc: `{"name": 7}`,
			wantErr: `rules: settings of t_sg: AWS::EC2::SecurityGroup document: json: cannot unmarshal number into Go struct field SecurityGroup.name of type string`,
		},
		{
			name: "trailing data",
			rule: "t_sg", doc: `{"name":"web"} {"name":"db"}`,
			wantErr: `rules: settings of t_sg: AWS::EC2::SecurityGroup document: data after the JSON object`,
		},
		{
			name: "malformed",
			rule: "t_sg", doc: `{"name":"web"`,
			wantErr: `rules: settings of t_sg: AWS::EC2::SecurityGroup document: unexpected EOF`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := e.SettingValuesAt(tt.rule, []byte(tt.doc), tt.ec, tt.tags)
			if tt.wantErr == "" && err != nil {
				t.Fatalf("error: %v", err)
			}
			if tt.wantErr != "" && (err == nil || err.Error() != tt.wantErr) {
				t.Fatalf("error\n got: %v\nwant: %s", err, tt.wantErr)
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("settings\n got: %q\nwant: %q", got, tt.want)
			}
		})
	}

	// The unknown rule is a sentinel: the pipeline may hold findings of a
	// rule that has since been removed.
	if _, err := e.SettingValues("nope", sg); !errors.Is(err, ErrUnknownRule) {
		t.Errorf("unknown rule: error %v does not match ErrUnknownRule", err)
	}
	// Without a context, now is the current time: the age is counted to
	// the moment of the call (a day boundary may pass meanwhile).
	created := now.Add(-91*24*time.Hour - time.Hour)
	age := func() string { return fmt.Sprintf("%dd", int(time.Since(created).Hours())/24) }
	early := age()
	got, err := e.SettingValues("t_user", user)
	if err != nil {
		t.Fatal(err)
	}
	if late := age(); got[0].Value != early && got[0].Value != late {
		t.Errorf("key age without a context = %q, want %q", got[0].Value, late)
	}
}

// TestFormatValue covers every kind of CEL result, from expressions over a
// real document so that native objects and lists come in as they do in
// SettingValues.
func TestFormatValue(t *testing.T) {
	envs, err := newEnvs(awsres.Types())
	if err != nil {
		t.Fatal(err)
	}
	env := envs[awsres.TypeSecurityGroup]
	doc := &awsres.SecurityGroup{ID: "sg-1", Name: "web", Tags: map[string]string{"b": "2", "a": "1"}, Ingress: []awsres.SGRule{
		{RuleID: "sgr-1", Protocol: "tcp", FromPort: 22, ToPort: 22, CIDR: "0.0.0.0/0", Public: true},
	}}
	tr := &typeRules{ptr: reflect.TypeFor[*awsres.SecurityGroup](), adapter: env.CELTypeAdapter()}
	act, detail := tr.activation(resource.Resource{Exists: true, Doc: doc}, EvalContext{Now: time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)})
	if act == nil {
		t.Fatal(detail)
	}
	tests := []struct {
		expr, want string
	}{
		{"'acme-invoices'", "acme-invoices"},
		{"''", ""},
		{"true", "true"},
		{"-7", "-7"},
		{"7u", "7"},
		{"1.5", "1.5"},
		{"1e21", "1e+21"},
		{"null", "none"},
		{"b'hi'", "aGk="},
		{"type(1)", "int"},
		{"now", "2025-06-01T12:00:00Z"},
		{"timestamp('2025-06-01T14:30:00+02:00')", "2025-06-01T12:30:00Z"},
		{"timestamp('2025-06-01T00:00:00Z')", "2025-06-01"},
		{"timestamp('0001-01-01T00:00:00Z')", "none"},
		{"duration('2200h')", "91d"},
		{"duration('24h')", "1d"},
		{"duration('23h59m')", "23h59m"},
		{"duration('5h')", "5h"},
		{"duration('45m')", "45m"},
		{"duration('90s')", "1m30s"},
		{"duration('1.5s')", "1.5s"},
		{"duration('0s')", "0s"},
		{"duration('-48h')", "-2d"},
		{"duration('-30m')", "-30m"},
		{"['tcp/22', 'tcp/443']", "tcp/22, tcp/443"},
		{"[1, 2u, 2.5, true, null]", "1, 2, 2.5, true, none"},
		{"[duration('240h'), timestamp('2025-01-02T00:00:00Z')]", "10d, 2025-01-02"},
		{"[]", "none"},
		{"resource.ingress.filter(r, !r.public).map(r, r.cidr)", "none"},
		{"[[1], [2, 3]]", "[[1],[2,3]]"},
		{"{'b': 1, 'a': [true, 'x']}", `{"a":[true,"x"],"b":1}`},
		{"{1: 'one', 2: 'two'}", `{"1":"one","2":"two"}`},
		{"{}", "{}"},
		{"{'html': '<a&b>'}", `{"html":"<a&b>"}`},
		{"{'nan': double('NaN'), 'inf': double('-Infinity')}", `{"inf":"-Inf","nan":"NaN"}`},
		{"{'when': timestamp('2025-06-01T00:00:00Z'), 'for': duration('48h'), 'opt': optional.none()}", `{"for":"2d","opt":null,"when":"2025-06-01"}`},
		{"resource.tags", `{"a":"1","b":"2"}`},
		{"resource.ingress[0]", `{"cidr":"0.0.0.0/0","description":"","from_port":22,"ipv6":false,"prefix_list_id":"","protocol":"tcp","public":true,"referenced_group":"","rule_id":"sgr-1","to_port":22}`},
		{"resource.ingress.map(r, {'id': r.rule_id, 'port': r.from_port})", `[{"id":"sgr-1","port":22}]`},
		{"optional.of('x')", "x"},
		{"optional.none()", "none"},
		{"[optional.of(1)]", "[1]"},
	}
	for _, tt := range tests {
		t.Run(tt.expr, func(t *testing.T) {
			ast, iss := env.Compile(tt.expr)
			if iss.Err() != nil {
				t.Fatal(iss.Err())
			}
			prg, err := env.Program(ast)
			if err != nil {
				t.Fatal(err)
			}
			v, _, err := prg.Eval(act)
			if err != nil {
				t.Fatal(err)
			}
			if got := formatValue(v); got != tt.want {
				t.Errorf("formatValue(%s) = %q, want %q", tt.expr, got, tt.want)
			}
		})
	}
	// The one duration whose absolute value does not fit an int64.
	if got, want := formatValue(types.Duration{Duration: math.MinInt64}), "-106751d"; got != want {
		t.Errorf("formatValue(min duration) = %q, want %q", got, want)
	}
}

// FuzzSettingValues feeds documents to every built-in rule's settings, of
// every cloud: whatever the bytes, SettingValues must not panic, and a
// document it accepts must give one value per setting and the same values
// once re-encoded the way the pipeline stores documents.
func FuzzSettingValues(f *testing.F) {
	// One entry per built-in rule of every cloud, with what it needs to
	// decode its documents; the fuzzer picks one by index.
	type target struct {
		e     *Engine
		r     *Rule
		types map[string]reflect.Type
	}
	var all []target
	for _, c := range catalogues() {
		e := c.engine(f)
		for _, r := range e.Rules() {
			files, err := filepath.Glob(filepath.Join(c.fixtureDir(), r.ID, "*.json"))
			if err != nil {
				f.Fatal(err)
			}
			for _, file := range files {
				data, err := os.ReadFile(file)
				if err != nil {
					f.Fatal(err)
				}
				var fx fixture
				if err := decodeStrict(data, &fx); err != nil {
					f.Fatal(err)
				}
				f.Add(uint16(len(all)), []byte(fx.Resource))
			}
			all = append(all, target{e: e, r: r, types: c.types})
		}
	}
	f.Add(uint16(0), []byte(`{"truncated":true,"bytes":1}`))
	f.Add(uint16(0), []byte(`null`))
	ec := EvalContext{Now: time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC), Account: map[string]string{"id": "123456789012"}}
	f.Fuzz(func(t *testing.T, idx uint16, doc []byte) {
		tg := all[int(idx)%len(all)]
		r := tg.r
		got, err := tg.e.SettingValuesAt(r.ID, doc, ec, nil)
		if err != nil || got == nil {
			return
		}
		if len(got) != len(r.Settings) {
			t.Fatalf("%s: %d settings, want %d", r.ID, len(got), len(r.Settings))
		}
		for i, s := range got {
			if s.Label != r.Settings[i] {
				t.Fatalf("%s: setting %d labelled %q, want %q", r.ID, i, s.Label, r.Settings[i])
			}
		}
		v, err := decodeDoc([]byte(strings.TrimSpace(string(doc))), tg.types[r.ResourceType])
		if err != nil {
			t.Fatalf("%s: SettingValues accepted a document decodeDoc rejects: %v", r.ID, err)
		}
		again, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		got2, err := tg.e.SettingValuesAt(r.ID, again, ec, nil)
		if err != nil || !slices.Equal(got, got2) {
			t.Fatalf("%s: re-encoded document gives %q (%v), want %q", r.ID, got2, err, got)
		}
	})
}
