package rules

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"path"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"go.yaml.in/yaml/v3"

	"github.com/driftwatch/driftwatch/shared/posture"
)

// Spec is one rule as written in its YAML file, before compilation. Load and
// Parse produce Specs; Compile turns them into Rules.
type Spec struct {
	// Source names the file the rule came from; every error about the rule
	// starts with it.
	Source string `yaml:"-"`

	ID          string `yaml:"id"`
	Title       string `yaml:"title"`
	Description string `yaml:"description"`
	// ResourceType selects the documents the rule applies to
	// (AWS::S3::Bucket).
	ResourceType string `yaml:"resource_type"`
	Severity     string `yaml:"severity"`
	// Condition is a CEL expression that is true when the resource complies.
	Condition string `yaml:"condition"`
	// When is an optional CEL expression; when it is false the rule does not
	// apply to the resource.
	When string `yaml:"when"`
	// WhenMissing is "not_applicable" (the default) or "fail".
	WhenMissing string `yaml:"when_missing"`
	// Settings are what an alert shows of the resource, before and after
	// the change: each a dotted json path or a labelled CEL expression.
	Settings []SettingSpec `yaml:"settings"`
	// Controls maps a framework key (cis, iso27001_2022, nis2, pci_dss_4_0,
	// ens_rd2022, dora) to its control ids.
	Controls    map[string][]string `yaml:"controls"`
	Remediation Remediation         `yaml:"remediation"`
	// Triggers are the audit-log operation names that can change the result.
	Triggers []string `yaml:"triggers"`

	// lines maps a field ("condition", "settings[2]", "controls.cis[0]") to
	// its line in Source, so that errors found later (by Compile) still point
	// into the file.
	lines map[string]int
}

// Remediation is what a rule offers to fix a failure.
type Remediation struct {
	// Action names the automatic fix ("s3_acl_private"); empty when the fix
	// must be done by hand.
	Action string `yaml:"action"`
	// Guidance says what to do by hand, in one paragraph.
	Guidance string `yaml:"guidance"`
	// Irreversible says the action's change cannot be undone (the cloud
	// refuses to revert it). Governance then treats the action as high
	// risk whatever the policy file says: never automatic, two approvers.
	Irreversible bool `yaml:"irreversible"`
}

// SettingSpec is one entry of a rule's settings. In YAML it is either a
// dotted json path into the document, shown under its own name, such as
// "public_access_block.block_public_acls", or a one-key mapping from a
// label for people to a CEL expression of any result type over the same
// variables as the condition, such as
// "open to the Internet: resource.ingress.filter(r, r.public).map(r, r.cidr)".
type SettingSpec struct {
	// Path is the dotted json path; empty for an expression.
	Path string
	// Label names the expression's value in an alert.
	Label string
	// Expr is the CEL expression.
	Expr string
}

// Name is what an alert calls the setting: the label, or the path itself.
func (ss SettingSpec) Name() string {
	if ss.Path != "" {
		return ss.Path
	}
	return ss.Label
}

// UnmarshalYAML reads a plain string as a path and a one-key mapping as
// label: expression. Anything else is an error that names its line, so the
// author sees exactly which entry is wrong.
func (ss *SettingSpec) UnmarshalYAML(n *yaml.Node) error {
	bad := func(line int, format string, args ...any) error {
		return &yaml.TypeError{Errors: []string{fmt.Sprintf("line %d: ", line) + fmt.Sprintf(format, args...)}}
	}
	switch n.Kind {
	case yaml.ScalarNode:
		if n.ShortTag() != "!!str" {
			return bad(n.Line, "%s is not a dotted path or a mapping label: expression", describeNode(n))
		}
		*ss = SettingSpec{Path: n.Value}
		return nil
	case yaml.MappingNode:
		if len(n.Content) != 2 {
			return bad(n.Line, "a setting is one label: expression, this mapping has %d keys (make each its own list item)", len(n.Content)/2)
		}
		k, v := n.Content[0], n.Content[1]
		if k.Kind != yaml.ScalarNode || k.ShortTag() != "!!str" {
			return bad(k.Line, "the label must be a string, not %s", describeNode(k))
		}
		if v.Kind != yaml.ScalarNode || v.ShortTag() != "!!str" {
			hint := ""
			if v.Kind == yaml.ScalarNode && v.ShortTag() != "!!null" {
				hint = " (quote it)"
			}
			return bad(v.Line, "the expression for %q must be a string, not %s%s", k.Value, describeNode(v), hint)
		}
		*ss = SettingSpec{Label: k.Value, Expr: v.Value}
		return nil
	}
	return bad(n.Line, "%s is not a dotted path or a mapping label: expression", describeNode(n))
}

// describeNode names a YAML node's kind for an error message.
func describeNode(n *yaml.Node) string {
	switch n.Kind {
	case yaml.SequenceNode:
		return "a list"
	case yaml.MappingNode:
		return "a mapping"
	case yaml.AliasNode:
		return "an alias"
	case yaml.ScalarNode:
		switch n.ShortTag() {
		case "!!null":
			return "null"
		case "!!str":
			return "a string"
		case "!!int", "!!float":
			return "the number " + n.Value
		case "!!bool":
			return "the boolean " + n.Value
		}
		return "a " + strings.TrimPrefix(n.ShortTag(), "!!")
	}
	return "an empty node"
}

// WhenMissing says what a rule reports for a resource that no longer exists.
type WhenMissing string

// The WhenMissing values.
const (
	// MissingNotApplicable: a deleted resource has no posture (the default).
	MissingNotApplicable WhenMissing = "not_applicable"
	// MissingFail: deleting the resource is itself the drift (a CloudTrail
	// trail). The rule's when is not consulted: there is no document left
	// to scope on.
	MissingFail WhenMissing = "fail"
)

var (
	idPattern      = regexp.MustCompile(`^[a-z0-9_]+$`)
	actionPattern  = regexp.MustCompile(`^[a-z0-9_]+$`)
	triggerPattern = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9._/:-]*$`)
	settingPattern = regexp.MustCompile(`^[a-z0-9_]+(\.[a-z0-9_]+)*$`)
)

const (
	maxIDLen    = 128
	maxTitleLen = 160
	// maxExprLen bounds what the CEL parser is asked to read; real rules are
	// a few hundred bytes.
	maxExprLen = 4096
	// maxLabelLen keeps a setting's label to what fits before its value on
	// one line of an alert; the catalogue keeps to 30.
	maxLabelLen = 60
)

// Parse reads one rule file. name is used in error messages. Unknown fields,
// a second YAML document and every invalid value are errors (matching
// ErrInvalidRule) of the form "name:LINE: field: message".
func Parse(name string, data []byte) (Spec, error) {
	// A plain parse first, for syntax errors and the line of every field:
	// the strict decoder below is the only one that rejects unknown fields,
	// but it forgets where values came from.
	var root yaml.Node
	if err := yaml.Unmarshal(data, &root); err != nil {
		return Spec{}, yamlError(name, err, nil)
	}
	if len(root.Content) == 0 {
		return Spec{}, &RuleError{File: name, Msg: "empty rule file"}
	}
	lines := fieldLines(&root)
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	var s Spec
	if err := dec.Decode(&s); err != nil {
		return Spec{}, yamlError(name, err, lines)
	}
	var next yaml.Node
	switch err := dec.Decode(&next); {
	case err == nil:
		return Spec{}, &RuleError{File: name, Line: next.Line, Msg: "more than one YAML document (one rule per file)"}
	case !errors.Is(err, io.EOF):
		// lines describe the first document, not this one.
		return Spec{}, yamlError(name, err, nil)
	}
	if err := nullSettings(name, &root); err != nil {
		return Spec{}, err
	}
	s.Source = name
	s.lines = lines
	if err := s.validate(); err != nil {
		return Spec{}, err
	}
	return s, nil
}

// nullSettings reports an empty settings entry ("- " alone on its line).
// The YAML decoder drops null items of a list of structs without calling
// SettingSpec.UnmarshalYAML, so they have to be found in the node tree.
func nullSettings(name string, root *yaml.Node) error {
	doc := root.Content[0]
	if doc.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(doc.Content); i += 2 {
		if doc.Content[i].Value != "settings" || doc.Content[i+1].Kind != yaml.SequenceNode {
			continue
		}
		for _, item := range doc.Content[i+1].Content {
			if item.Kind == yaml.ScalarNode && item.ShortTag() == "!!null" {
				return &RuleError{File: name, Line: item.Line, Field: "settings", Msg: "empty setting"}
			}
		}
	}
	return nil
}

// Load parses every *.yaml (and *.yml) file under fsys, in lexical order.
// It reports the errors of all files at once, joined.
func Load(fsys fs.FS) ([]Spec, error) {
	var specs []Spec
	var errs []error
	err := fs.WalkDir(fsys, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			return nil
		}
		if ext := path.Ext(p); ext != ".yaml" && ext != ".yml" {
			return nil
		}
		data, err := fs.ReadFile(fsys, p)
		if err != nil {
			return err
		}
		s, err := Parse(p, data)
		if err != nil {
			errs = append(errs, err)
			return nil
		}
		specs = append(specs, s)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("read rules: %w", err)
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return specs, nil
}

var (
	yamlLineErr   = regexp.MustCompile(`^(?:yaml: )?line (\d+): (.*)$`)
	yamlUnknownRe = regexp.MustCompile(`^field (\S+) not found in type \S+$`)
)

// yamlError turns the YAML library's errors into RuleErrors: one per
// message, with the line moved to the front, the field named where lines
// tells which it is, and Go type names left out.
func yamlError(name string, err error, lines map[string]int) error {
	var msgs []string
	var te *yaml.TypeError
	if errors.As(err, &te) {
		msgs = te.Errors
	} else {
		msgs = []string{err.Error()}
	}
	errs := make([]error, 0, len(msgs))
	for _, m := range msgs {
		re := &RuleError{File: name, Msg: strings.TrimPrefix(m, "yaml: ")}
		if sm := yamlLineErr.FindStringSubmatch(m); sm != nil {
			re.Line, _ = strconv.Atoi(sm[1])
			re.Msg = sm[2]
		}
		if sm := yamlUnknownRe.FindStringSubmatch(re.Msg); sm != nil {
			re.Msg = fmt.Sprintf("unknown field %q", sm[1])
			if key := keyAtLine(lines, re.Line, sm[1]); key != "" {
				re.Field = stripIndex(parentKey(key))
			}
		} else if key := keyAtLine(lines, re.Line, ""); key != "" {
			re.Field = stripIndex(key)
		}
		re.Msg = strings.ReplaceAll(re.Msg, "[]rules.SettingSpec", "a list of settings")
		re.Msg = strings.ReplaceAll(re.Msg, "rules.Spec", "a rule")
		errs = append(errs, re)
	}
	return errors.Join(errs...)
}

// keyAtLine finds the field that starts at line: the one named name when
// given, else the most deeply nested one.
func keyAtLine(lines map[string]int, line int, name string) string {
	best := ""
	for _, k := range slices.Sorted(maps.Keys(lines)) {
		if lines[k] != line {
			continue
		}
		if name != "" {
			if !strings.HasSuffix(k, "]") && (k == name || strings.HasSuffix(k, "."+name)) {
				return k
			}
			continue
		}
		if len(k) > len(best) {
			best = k
		}
	}
	return best
}

func parentKey(key string) string {
	if i := strings.LastIndexByte(key, '.'); i >= 0 {
		return key[:i]
	}
	return ""
}

// fieldLines records the line of every field of a rule document.
func fieldLines(root *yaml.Node) map[string]int {
	lines := map[string]int{}
	if root.Kind != yaml.DocumentNode || len(root.Content) == 0 {
		return lines
	}
	var walk func(prefix string, n *yaml.Node)
	walk = func(prefix string, n *yaml.Node) {
		switch n.Kind {
		case yaml.MappingNode:
			for i := 0; i+1 < len(n.Content); i += 2 {
				k, v := n.Content[i], n.Content[i+1]
				key := k.Value
				if prefix != "" {
					key = prefix + "." + key
				}
				lines[key] = k.Line
				walk(key, v)
			}
		case yaml.SequenceNode:
			for i, item := range n.Content {
				key := prefix + "[" + strconv.Itoa(i) + "]"
				lines[key] = item.Line
				walk(key, item)
			}
		}
	}
	walk("", root.Content[0])
	return lines
}

// errAt builds a RuleError for field, at the field's line when known.
func (s *Spec) errAt(field, format string, args ...any) *RuleError {
	return &RuleError{File: s.Source, Line: s.lineOf(field), Field: stripIndex(field), Msg: fmt.Sprintf(format, args...)}
}

// lineOf returns the line of field or, for a missing field, of the nearest
// enclosing field that is present (line 1 for a missing top-level field).
// It is 0 for a Spec that was not parsed from a file.
func (s *Spec) lineOf(field string) int {
	if s.lines == nil {
		return 0
	}
	for f := field; f != ""; f = parentKey(stripIndex(f)) {
		if l, ok := s.lines[f]; ok {
			return l
		}
	}
	return 1
}

// stripIndex turns "settings[2]" into "settings" for the message; the line
// already points at the item.
func stripIndex(field string) string {
	if i := strings.IndexByte(field, '['); i >= 0 {
		return field[:i]
	}
	return field
}

// validate checks everything that does not depend on the resource types:
// required fields, formats, known values, control ids. It returns the first
// problem; one fix at a time keeps messages exact.
func (s *Spec) validate() error {
	switch {
	case s.ID == "":
		return s.errAt("id", "required")
	case len(s.ID) > maxIDLen:
		return s.errAt("id", "longer than %d characters", maxIDLen)
	case !idPattern.MatchString(s.ID):
		return s.errAt("id", "%q must match ^[a-z0-9_]+$", s.ID)
	case strings.TrimSpace(s.Title) == "":
		return s.errAt("title", "required")
	case strings.ContainsAny(s.Title, "\r\n"):
		return s.errAt("title", "must be one line")
	case len(s.Title) > maxTitleLen:
		return s.errAt("title", "longer than %d characters", maxTitleLen)
	case strings.TrimSpace(s.Description) == "":
		return s.errAt("description", "required")
	case s.ResourceType == "":
		return s.errAt("resource_type", "required")
	case s.Severity == "":
		return s.errAt("severity", "required")
	}
	if _, err := posture.ParseSeverity(s.Severity); err != nil {
		return s.errAt("severity", "%v", err)
	}
	if strings.TrimSpace(s.Condition) == "" {
		return s.errAt("condition", "required")
	}
	if len(s.Condition) > maxExprLen {
		return s.errAt("condition", "longer than %d characters", maxExprLen)
	}
	if len(s.When) > maxExprLen {
		return s.errAt("when", "longer than %d characters", maxExprLen)
	}
	switch WhenMissing(s.WhenMissing) {
	case "", MissingNotApplicable, MissingFail:
	default:
		return s.errAt("when_missing", "unknown value %q (want not_applicable or fail)", s.WhenMissing)
	}
	seen := map[string]bool{}
	for i, ss := range s.Settings {
		f := "settings[" + strconv.Itoa(i) + "]"
		if err := s.validateSetting(f, ss); err != nil {
			return err
		}
		if seen[ss.Name()] {
			return s.errAt(f, "%q listed twice", ss.Name())
		}
		seen[ss.Name()] = true
	}
	if err := s.validateControls(); err != nil {
		return err
	}
	if a := s.Remediation.Action; a != "" && !actionPattern.MatchString(a) {
		return s.errAt("remediation.action", "%q must match ^[a-z0-9_]+$", a)
	}
	if strings.TrimSpace(s.Remediation.Guidance) == "" {
		return s.errAt("remediation.guidance", "required")
	}
	if s.Remediation.Irreversible && s.Remediation.Action == "" {
		return s.errAt("remediation.irreversible", "only an action can be irreversible: the rule has none")
	}
	clear(seen)
	for i, t := range s.Triggers {
		f := "triggers[" + strconv.Itoa(i) + "]"
		if !triggerPattern.MatchString(t) {
			return s.errAt(f, "%q is not an operation name", t)
		}
		if seen[t] {
			return s.errAt(f, "%q listed twice", t)
		}
		seen[t] = true
	}
	return nil
}

// validateSetting checks one settings entry's form; Compile checks that the
// path or the expression fits the resource type.
func (s *Spec) validateSetting(f string, ss SettingSpec) error {
	switch {
	case ss.Path != "" && (ss.Label != "" || ss.Expr != ""):
		return s.errAt(f, "give either a path or a label and an expression, not both")
	case ss.Path != "":
		if !settingPattern.MatchString(ss.Path) {
			return s.errAt(f, "%q is not a dotted path of json field names (write label: expression for anything else)", ss.Path)
		}
		return nil
	case ss.Label == "" && ss.Expr == "":
		return s.errAt(f, "empty setting")
	case strings.TrimSpace(ss.Label) == "":
		return s.errAt(f, "empty label")
	case ss.Label != strings.TrimSpace(ss.Label) || strings.ContainsAny(ss.Label, "\r\n\t"):
		return s.errAt(f, "label %q must be one line without surrounding spaces", ss.Label)
	case utf8.RuneCountInString(ss.Label) > maxLabelLen:
		return s.errAt(f, "label %q is longer than %d characters", ss.Label, maxLabelLen)
	case strings.TrimSpace(ss.Expr) == "":
		return s.errAt(f, "%q: empty expression", ss.Label)
	case len(ss.Expr) > maxExprLen:
		return s.errAt(f, "%q: expression longer than %d characters", ss.Label, maxExprLen)
	}
	return nil
}

func (s *Spec) validateControls() error {
	keys := slices.Sorted(maps.Keys(s.Controls))
	for _, key := range keys {
		if _, ok := frameworkByKey(key); !ok {
			return s.errAt("controls."+key, "unknown framework (want %s)", frameworkKeys())
		}
	}
	for _, fw := range frameworks {
		seen := map[string]bool{}
		for i, id := range s.Controls[string(fw.key)] {
			f := "controls." + string(fw.key) + "[" + strconv.Itoa(i) + "]"
			if !fw.pattern.MatchString(id) {
				return s.errAt(f, "malformed control id %q (want the form %q)", id, fw.example)
			}
			if seen[id] {
				return s.errAt(f, "%q listed twice", id)
			}
			seen[id] = true
		}
	}
	return nil
}
