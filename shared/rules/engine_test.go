package rules

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/driftwatch/driftwatch/shared/awsres"
	"github.com/driftwatch/driftwatch/shared/change"
	"github.com/driftwatch/driftwatch/shared/posture"
	"github.com/driftwatch/driftwatch/shared/resource"
)

// fixture is one file under testdata/rules/<cloud>/<rule_id>/: a resource
// document as its awsres or azres struct marshals, the context, and the
// status the rule must report. The file name starts with the expected
// status.
type fixture struct {
	// Note says what the case is about, for the reader.
	Note     string            `json:"note"`
	Resource json.RawMessage   `json:"resource"`
	Exists   bool              `json:"exists"`
	Account  map[string]string `json:"account"`
	Tags     map[string]string `json:"tags"`
	Now      time.Time         `json:"now"`
	Expect   posture.Status    `json:"expect"`
}

var fixtureName = regexp.MustCompile(`^(pass|fail|not_applicable|error)-[a-z0-9-]+\.json$`)

func decodeStrict(data []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return err
	}
	if dec.More() {
		return fmt.Errorf("trailing data after the JSON value")
	}
	return nil
}

// loadFixture reads a fixture of catalogue c and builds the resource it
// describes, with the document decoded into the cloud's Go type.
func loadFixture(t testing.TB, c catalogue, file, typ string) (fixture, resource.Resource) {
	t.Helper()
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	var f fixture
	if err := decodeStrict(data, &f); err != nil {
		t.Fatalf("%s: %v", file, err)
	}
	if f.Now.IsZero() {
		t.Fatalf("%s: now is required", file)
	}
	goType, ok := c.types[typ]
	if !ok {
		t.Fatalf("%s: resource type %s is not a %s document type", file, typ, c.name())
	}
	res := resource.Resource{
		Ref:        change.ResourceRef{Cloud: c.cloud, Type: typ, ID: "fixture", Account: f.Account["id"]},
		Exists:     f.Exists,
		ObservedAt: f.Now,
		Tags:       f.Tags,
	}
	if f.Exists {
		doc := reflect.New(goType)
		if err := decodeStrict(f.Resource, doc.Interface()); err != nil {
			t.Fatalf("%s: resource is not a %s document: %v", file, typ, err)
		}
		res.Doc = doc.Interface()
	} else if string(f.Resource) != "null" && len(f.Resource) != 0 {
		t.Fatalf("%s: a resource that does not exist has no document", file)
	}
	return f, res
}

// TestCatalogue walks each cloud's compiled built-in catalogue: every rule
// has at least one compliant and one non-compliant fixture, and every
// fixture produces its expected status. The other rules of the same type
// must not report an error on the same realistic document.
func TestCatalogue(t *testing.T) {
	for _, c := range catalogues() {
		t.Run(c.name(), func(t *testing.T) {
			e := c.engine(t)
			if n := len(e.Rules()); n < c.minRules {
				t.Errorf("catalogue has %d rules, want at least %d", n, c.minRules)
			}
			for _, r := range e.Rules() {
				t.Run(r.ID, func(t *testing.T) { checkRuleFixtures(t, c, e, r) })
			}
		})
	}
}

// checkRuleFixtures evaluates every fixture of rule r.
func checkRuleFixtures(t *testing.T, c catalogue, e *Engine, r *Rule) {
	files, err := filepath.Glob(filepath.Join(c.fixtureDir(), r.ID, "*.json"))
	if err != nil {
		t.Fatal(err)
	}
	count := map[posture.Status]int{}
	for _, file := range files {
		f, res := loadFixture(t, c, file, r.ResourceType)
		name := filepath.Base(file)
		if prefix, _, _ := strings.Cut(name, "-"); prefix != string(f.Expect) {
			t.Errorf("%s: expect is %q but the file name says %q", name, f.Expect, prefix)
		}
		count[f.Expect]++
		evals := e.Evaluate(res, EvalContext{Now: f.Now, Account: f.Account})
		found := false
		for _, ev := range evals {
			if ev.RuleID == r.ID {
				found = true
				if ev.Status != f.Expect {
					t.Errorf("%s: status %s (%s), want %s", name, ev.Status, ev.Detail, f.Expect)
				}
				if ev.Severity != r.Severity {
					t.Errorf("%s: severity %s, want %s", name, ev.Severity, r.Severity)
				}
			} else if ev.Status == posture.Error {
				t.Errorf("%s: sibling rule %s errors on this document: %s", name, ev.RuleID, ev.Detail)
			}
		}
		if !found {
			t.Errorf("%s: no evaluation for %s", name, r.ID)
		}
		checkSettings(t, e, name, f, res)
	}
	if count[posture.Pass] == 0 || count[posture.Fail] == 0 {
		t.Errorf("want at least one pass and one fail fixture in %s, have %v", filepath.Join(c.fixtureDir(), r.ID), count)
	}
}

// checkSettings evaluates the settings of every rule of the fixture's type
// on its document, as the pipeline would for an alert: no errors, one value
// per label, and nothing at all for a resource that no longer exists.
func checkSettings(t *testing.T, e *Engine, name string, f fixture, res resource.Resource) {
	t.Helper()
	var doc []byte
	if f.Exists {
		var err error
		if doc, err = json.Marshal(res.Doc); err != nil {
			t.Fatal(err)
		}
	}
	for _, r := range e.RulesFor(res.Ref.Type) {
		got, err := e.SettingValuesAt(r.ID, doc, EvalContext{Now: f.Now, Account: f.Account}, f.Tags)
		switch {
		case err != nil:
			t.Errorf("%s: settings of %s: %v", name, r.ID, err)
		case !f.Exists && got != nil:
			t.Errorf("%s: settings of %s for a deleted resource: %q, want none", name, r.ID, got)
		case f.Exists && len(got) != len(r.Settings):
			t.Errorf("%s: %s: %d settings, want %d", name, r.ID, len(got), len(r.Settings))
		}
		for i, s := range got {
			if s.Label == "" || s.Label != r.Settings[i] {
				t.Errorf("%s: %s: setting %d labelled %q, want %q", name, r.ID, i, s.Label, r.Settings[i])
			}
		}
	}
}

// TestFixturesBelongToRules: every directory under testdata/rules/<cloud>
// is a rule of that cloud's catalogue and holds only well-named fixtures,
// so a renamed rule, or a fixture filed under the wrong cloud, cannot be
// left behind for nothing to run. The only other entries of testdata/rules
// are the invalid rules, the settings golden file and the README.
func TestFixturesBelongToRules(t *testing.T) {
	known := map[string]bool{"invalid": true, "settings.golden": true, "README.md": true}
	for _, c := range catalogues() {
		known[c.name()] = true
		t.Run(c.name(), func(t *testing.T) {
			e := c.engine(t)
			entries, err := os.ReadDir(c.fixtureDir())
			if err != nil {
				t.Fatal(err)
			}
			if len(entries) == 0 {
				t.Fatal("no fixtures")
			}
			for _, d := range entries {
				if !d.IsDir() {
					t.Errorf("%s: stray file; fixtures live in a directory named after their rule", d.Name())
					continue
				}
				if _, ok := e.Rule(d.Name()); !ok {
					t.Errorf("%s: no rule with this id in the %s catalogue", d.Name(), c.name())
				}
				files, err := os.ReadDir(filepath.Join(c.fixtureDir(), d.Name()))
				if err != nil {
					t.Fatal(err)
				}
				for _, f := range files {
					if !fixtureName.MatchString(f.Name()) {
						t.Errorf("%s/%s: want <pass|fail|not_applicable|error>-<case>.json", d.Name(), f.Name())
					}
				}
			}
		})
	}
	entries, err := os.ReadDir(testdataDir)
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range entries {
		if !known[d.Name()] {
			t.Errorf("%s/%s: neither a cloud with a built-in catalogue nor a known file", testdataDir, d.Name())
		}
	}
}

// TestCatalogueMetadata holds the built-in rules to the standard custom
// rules are not held to: every field a reader or the event table needs.
func TestCatalogueMetadata(t *testing.T) {
	for _, c := range catalogues() {
		t.Run(c.name(), func(t *testing.T) {
			e := c.engine(t)
			for _, r := range e.Rules() {
				checkRuleMetadata(t, c, r)
			}
			// Every document type is there for a rule to read.
			for typ := range c.types {
				if len(e.RulesFor(typ)) == 0 {
					t.Errorf("resource type %s has no rule", typ)
				}
			}
		})
	}
}

func checkRuleMetadata(t *testing.T, c catalogue, r *Rule) {
	t.Helper()
	if want := "catalog/" + c.name() + "/" + r.ID + ".yaml"; r.Source != want {
		t.Errorf("%s: defined in %s, want %s", r.ID, r.Source, want)
	}
	if !strings.HasPrefix(r.ID, c.name()+"_") {
		t.Errorf("%s: built-in %s rule ids start with %s_", r.ID, c.name(), c.name())
	}
	if _, ok := c.types[r.ResourceType]; !ok {
		t.Errorf("%s: resource type %s is not a %s document type", r.ID, r.ResourceType, c.name())
	}
	if len(r.Triggers) == 0 {
		t.Errorf("%s: no triggers", r.ID)
	}
	for _, tr := range r.Triggers {
		if !c.trigger.MatchString(tr) {
			t.Errorf("%s: trigger %q is not a %s operation name (%s)", r.ID, tr, c.name(), c.trigger)
		}
	}
	if a := r.Remediation.Action; a != "" && !strings.HasPrefix(a, c.actionPrefix) {
		t.Errorf("%s: remediation action %q does not start with %q", r.ID, a, c.actionPrefix)
	}
	if len(r.Settings) == 0 {
		t.Errorf("%s: no settings to show", r.ID)
	}
	for _, l := range r.Settings {
		// An alert shows the label and two values on one line.
		if n := utf8.RuneCountInString(l); n > 30 {
			t.Errorf("%s: setting label %q has %d characters, keep it to 30", r.ID, l, n)
		}
	}
	if slices.Contains(c.uncontrolled, r.ID) {
		if len(r.Controls) != 0 {
			t.Errorf("%s: listed as having no framework controls but has %d", r.ID, len(r.Controls))
		}
	} else if len(r.Controls) == 0 {
		t.Errorf("%s: no framework controls", r.ID)
	}
	for _, ctl := range r.Controls {
		if ctl.Framework == CIS && !strings.HasPrefix(ctl.ID, c.cis) {
			t.Errorf("%s: CIS control %q is not from the %sbenchmark", r.ID, ctl.ID, c.cis)
		}
	}
	if len(strings.Fields(r.Description)) < 12 {
		t.Errorf("%s: description too short to say why it matters", r.ID)
	}
}

func TestEvaluate(t *testing.T) {
	custom := func(id, typ, cond, when string) Spec {
		return Spec{
			Source: id + ".yaml", ID: id, Title: id, Description: "Test rule.", ResourceType: typ,
			Severity: "high", Condition: cond, When: when, Remediation: Remediation{Guidance: "None."},
		}
	}
	specs := []Spec{
		custom("t_bucket_logging", awsres.TypeS3Bucket, "resource.logging.enabled", ""),
		custom("t_prod_only", awsres.TypeS3Bucket, "resource.versioning_status == 'Enabled'",
			"'environment' in account && account.environment == 'prod'"),
		custom("t_tag_scope", awsres.TypeS3Bucket, "resource.mfa_delete == 'Enabled'",
			"!('driftwatch:ignore' in tags)"),
		custom("t_account_tier", awsres.TypeSecurityGroup, "account.tier == 'gold'", ""),
		custom("t_when_error", awsres.TypeSecurityGroup, "true", "account.missing == 'x'"),
		custom("t_costly", awsres.TypeSecurityGroup,
			"resource.ingress.all(a, resource.ingress.all(b, resource.ingress.all(c, a.from_port + b.from_port + c.from_port >= 0)))", ""),
		custom("t_young_key", awsres.TypeIAMUser, "resource.access_keys.all(k, now - k.created < duration('1h'))", ""),
	}
	e, err := Compile(specs, awsres.Types())
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)
	prod := map[string]string{"id": "123456789012", "environment": "prod"}
	dev := map[string]string{"id": "123456789012", "environment": "dev"}
	bucketRef := change.ResourceRef{Cloud: change.AWS, Type: awsres.TypeS3Bucket, ID: "arn:aws:s3:::b"}
	sgRef := change.ResourceRef{Cloud: change.AWS, Type: awsres.TypeSecurityGroup, ID: "sg-1"}
	userRef := change.ResourceRef{Cloud: change.AWS, Type: awsres.TypeIAMUser, ID: "u"}
	bucket := &awsres.S3Bucket{Name: "b", VersioningStatus: "Enabled", Logging: awsres.S3Logging{Enabled: true}}
	manyRules := &awsres.SecurityGroup{ID: "sg-1", Ingress: make([]awsres.SGRule, 300)}

	type want struct{ id, status, detail string }
	tests := []struct {
		name string
		res  resource.Resource
		ec   EvalContext
		want []want
	}{
		{
			name: "pointer document, in scope",
			res:  resource.Resource{Ref: bucketRef, Exists: true, Doc: bucket},
			ec:   EvalContext{Now: now, Account: prod},
			want: []want{{"t_bucket_logging", "pass", ""}, {"t_prod_only", "pass", ""}, {"t_tag_scope", "fail", ""}},
		},
		{
			name: "value document works as well",
			res:  resource.Resource{Ref: bucketRef, Exists: true, Doc: *bucket},
			ec:   EvalContext{Now: now, Account: prod},
			want: []want{{"t_bucket_logging", "pass", ""}, {"t_prod_only", "pass", ""}, {"t_tag_scope", "fail", ""}},
		},
		{
			name: "when on account and tags",
			res:  resource.Resource{Ref: bucketRef, Exists: true, Doc: bucket, Tags: map[string]string{"driftwatch:ignore": "true"}},
			ec:   EvalContext{Now: now, Account: dev},
			want: []want{
				{"t_bucket_logging", "pass", ""},
				{"t_prod_only", "not_applicable", "out of the rule's scope (when is false)"},
				{"t_tag_scope", "not_applicable", "out of the rule's scope (when is false)"},
			},
		},
		{
			name: "nil account map",
			res:  resource.Resource{Ref: bucketRef, Exists: true, Doc: bucket},
			ec:   EvalContext{Now: now},
			want: []want{{"t_bucket_logging", "pass", ""}, {"t_prod_only", "not_applicable", "out of the rule's scope (when is false)"}, {"t_tag_scope", "fail", ""}},
		},
		{
			name: "deleted resource",
			res:  resource.Resource{Ref: bucketRef, Exists: false},
			ec:   EvalContext{Now: now, Account: prod},
			want: []want{
				{"t_bucket_logging", "not_applicable", "the resource does not exist"},
				{"t_prod_only", "not_applicable", "the resource does not exist"},
				{"t_tag_scope", "not_applicable", "the resource does not exist"},
			},
		},
		{
			name: "document of the wrong type",
			res:  resource.Resource{Ref: bucketRef, Exists: true, Doc: &awsres.Trail{}},
			ec:   EvalContext{Now: now},
			want: []want{
				{"t_bucket_logging", "error", "document is *awsres.Trail, want *awsres.S3Bucket"},
				{"t_prod_only", "error", "document is *awsres.Trail, want *awsres.S3Bucket"},
				{"t_tag_scope", "error", "document is *awsres.Trail, want *awsres.S3Bucket"},
			},
		},
		{
			name: "existing resource without a document",
			res:  resource.Resource{Ref: bucketRef, Exists: true, Doc: (*awsres.S3Bucket)(nil)},
			ec:   EvalContext{Now: now},
			want: []want{
				{"t_bucket_logging", "error", "the resource exists but its document is missing"},
				{"t_prod_only", "error", "the resource exists but its document is missing"},
				{"t_tag_scope", "error", "the resource exists but its document is missing"},
			},
		},
		{
			name: "runtime errors and the cost limit",
			res:  resource.Resource{Ref: sgRef, Exists: true, Doc: manyRules},
			ec:   EvalContext{Now: now, Account: prod},
			want: []want{
				{"t_account_tier", "error", "condition: no such key: tier"},
				{"t_costly", "error", "condition: operation cancelled: actual cost limit exceeded"},
				{"t_when_error", "error", "when: no such key: missing"},
			},
		},
		{
			name: "zero Now means the current time",
			res:  resource.Resource{Ref: userRef, Exists: true, Doc: &awsres.IAMUser{AccessKeys: []awsres.AccessKey{{Created: time.Now().Add(-time.Minute)}}}},
			ec:   EvalContext{},
			want: []want{{"t_young_key", "pass", ""}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []want
			for _, ev := range e.Evaluate(tt.res, tt.ec) {
				if ev.Severity != posture.High {
					t.Errorf("%s: severity %s, want high", ev.RuleID, ev.Severity)
				}
				got = append(got, want{ev.RuleID, string(ev.Status), ev.Detail})
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("got  %v\nwant %v", got, tt.want)
			}
		})
	}
	if got := e.Evaluate(resource.Resource{Ref: change.ResourceRef{Type: "AWS::SQS::Queue"}, Exists: true}, EvalContext{}); got != nil {
		t.Errorf("type without rules: got %v, want nil", got)
	}
}

func TestEngineLookups(t *testing.T) {
	e := builtinEngine(t)
	r, ok := e.Rule("aws_cloudtrail_trail_logging")
	if !ok {
		t.Fatal("aws_cloudtrail_trail_logging missing")
	}
	if r.WhenMissing != MissingFail || r.Severity != posture.Critical || r.Remediation.Action != "cloudtrail_start_logging" {
		t.Errorf("trail logging rule: when_missing %s, severity %s, action %q", r.WhenMissing, r.Severity, r.Remediation.Action)
	}
	if _, ok := e.Rule("nope"); ok {
		t.Error("Rule(nope) found a rule")
	}
	var s3 []string
	for _, r := range e.RulesFor(awsres.TypeS3Bucket) {
		s3 = append(s3, r.ID)
	}
	wantS3 := []string{
		"aws_s3_bucket_acl_no_public_grants",
		"aws_s3_bucket_default_encryption_enabled",
		"aws_s3_bucket_mfa_delete_enabled",
		"aws_s3_bucket_policy_not_public",
		"aws_s3_bucket_public_access_block_enabled",
		"aws_s3_bucket_server_access_logging_enabled",
		"aws_s3_bucket_versioning_enabled",
	}
	if !slices.Equal(s3, wantS3) {
		t.Errorf("RulesFor(S3) = %v, want %v", s3, wantS3)
	}
	if got := e.RulesFor("AWS::SQS::Queue"); got != nil {
		t.Errorf("RulesFor(unknown) = %v, want nil", got)
	}
	all := e.Rules()
	if !slices.IsSortedFunc(all, func(a, b *Rule) int { return strings.Compare(a.ID, b.ID) }) {
		t.Error("Rules() not sorted by id")
	}
	all[0] = nil // the caller's copy; the engine must be unaffected
	if e.Rules()[0] == nil {
		t.Error("Rules() exposes the engine's slice")
	}
	if got, want := e.Types(), slices.Sorted(func(yield func(string) bool) {
		for typ := range awsres.Types() {
			if !yield(typ) {
				return
			}
		}
	}); !slices.Equal(got, want) {
		t.Errorf("Types() = %v, want every awsres type %v", got, want)
	}
	if got, want := path.Base(r.Source), r.ID+".yaml"; got != want {
		t.Errorf("Source %s, want %s", got, want)
	}
}

// TestEvaluateConcurrent: one Engine serves concurrent events (run with
// -race); results do not depend on interleaving.
func TestEvaluateConcurrent(t *testing.T) {
	e := builtinEngine(t)
	c := awsCatalogue()
	f, res := loadFixture(t, c, filepath.Join(c.fixtureDir(), "aws_s3_bucket_acl_no_public_grants", "fail-allusers-read.json"), awsres.TypeS3Bucket)
	ec := EvalContext{Now: f.Now, Account: f.Account}
	want := e.Evaluate(res, ec)
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 50 {
				if got := e.Evaluate(res, ec); !slices.Equal(got, want) {
					t.Errorf("concurrent Evaluate = %v, want %v", got, want)
					return
				}
			}
		})
	}
	wg.Wait()
}
