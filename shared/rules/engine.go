// Package rules loads posture rules written in YAML, compiles their CEL
// expressions once against the typed resource documents, and evaluates them.
//
// A rule is one YAML file: an id, plain-words title, severity, the resource
// type it applies to, a CEL condition that is true when the resource
// complies, an optional CEL scope (when), the settings worth showing, the
// framework controls it evidences, its remediation and the audit-log
// operations that can change its result. The built-in catalogue is embedded
// (Builtin); custom rules load from any fs.FS and compile together with it.
//
// Compile is all-or-nothing and happens at cold start, so a bad rule fails a
// deploy rather than an event. Errors a rule author can fix match
// ErrInvalidRule and name the file and line; anything else is our bug.
//
// CEL variables: resource (the typed document; field names are its json
// tags), account (map(string, string): id, name, environment, ...), tags
// (map(string, string), the resource's tags or labels) and now (timestamp).
//
// A rule's settings say what an alert shows, before -> after: each is a
// dotted json path (shown under the path) or a "label: expression" whose
// CEL expression, of any type, sees the same variables as the condition.
// Engine.SettingValues evaluates them on a stored document and formats the
// values for people.
package rules

import (
	"errors"
	"fmt"
	"maps"
	"path"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"

	"cel.dev/cel-go/cel"
	"cel.dev/cel-go/common/types"
	"cel.dev/cel-go/common/types/ref"
	"cel.dev/cel-go/ext"
	"cel.dev/cel-go/interpreter"

	"github.com/driftwatch/driftwatch/shared/posture"
	"github.com/driftwatch/driftwatch/shared/resource"
)

// costLimit bounds one expression's evaluation. Real rules over real
// documents cost hundreds to a few thousand units; the limit only stops a
// custom rule that nests comprehensions over large lists from eating the
// function's CPU budget.
const costLimit = 1_000_000

// Rule is a compiled rule: its metadata and its CEL programs.
type Rule struct {
	ID           string
	Title        string
	Description  string
	ResourceType string
	Severity     posture.Severity
	// Condition and When are the CEL source, for documentation.
	Condition string
	When      string
	// WhenMissing says what the rule reports for a deleted resource.
	WhenMissing WhenMissing
	// Settings are the labels of the rule's settings, in order: what an
	// alert shows before -> after (values from Engine.SettingValues). A
	// setting written as a json path is labelled with the path.
	Settings []string
	// Controls are ordered by framework (CIS, ISO 27001, NIS2, PCI DSS, ENS,
	// DORA), then as listed in the rule.
	Controls    []Control
	Remediation Remediation
	// Triggers are the audit-log operations that can change the result.
	Triggers []string
	// Source is the file the rule was loaded from.
	Source string

	cond     cel.Program
	when     cel.Program   // nil when the rule has no scope
	settings []cel.Program // parallel to Settings
}

// ControlLabels returns the rule's controls formatted for people, in order.
func (r *Rule) ControlLabels() []string {
	out := make([]string, len(r.Controls))
	for i, c := range r.Controls {
		out[i] = c.String()
	}
	return out
}

// Engine holds compiled rules. It is safe for concurrent use.
type Engine struct {
	rules  []*Rule // sorted by id
	byID   map[string]*Rule
	byType map[string]*typeRules
}

// typeRules is everything Evaluate needs for one resource type, computed
// once so that evaluation does no lookups beyond one map access.
type typeRules struct {
	rules   []*Rule // sorted by id
	ptr     reflect.Type
	elem    reflect.Type
	adapter types.Adapter
}

// EvalContext is the business context of one evaluation.
type EvalContext struct {
	// Now is the evaluation time (the observation time); the zero value
	// means time.Now().
	Now time.Time
	// Account is the account's metadata: id, name, environment, owner, ...
	Account map[string]string
}

// Compile type-checks and compiles specs against the document types
// (resource type name -> Go struct type, e.g. awsres.Types()). It is
// all-or-nothing: every invalid rule is reported, joined, and no Engine is
// returned. Rule ids must be unique across all specs.
func Compile(specs []Spec, docTypes map[string]reflect.Type) (*Engine, error) {
	envs, err := newEnvs(docTypes)
	if err != nil {
		return nil, err
	}
	e := &Engine{byID: make(map[string]*Rule, len(specs)), byType: map[string]*typeRules{}}
	var errs []error
	sources := make(map[string]string, len(specs)) // id -> first file
	for i := range specs {
		s := &specs[i]
		if prev, dup := sources[s.ID]; dup && s.ID != "" {
			errs = append(errs, s.errAt("id", "duplicate rule id %q (also in %s)", s.ID, prev))
			continue
		}
		sources[s.ID] = s.Source
		r, err := compileRule(s, envs, docTypes)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		e.byID[r.ID] = r
		e.rules = append(e.rules, r)
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	slices.SortFunc(e.rules, func(a, b *Rule) int { return strings.Compare(a.ID, b.ID) })
	for _, r := range e.rules {
		tr := e.byType[r.ResourceType]
		if tr == nil {
			t := docTypes[r.ResourceType]
			if t.Kind() == reflect.Pointer {
				t = t.Elem()
			}
			tr = &typeRules{ptr: reflect.PointerTo(t), elem: t, adapter: envs[r.ResourceType].CELTypeAdapter()}
			e.byType[r.ResourceType] = tr
		}
		tr.rules = append(tr.rules, r)
	}
	return e, nil
}

// newEnvs builds one CEL environment per resource type, all sharing one
// type registry. A failure here is a bug in the types, not in a rule.
func newEnvs(docTypes map[string]reflect.Type) (map[string]*cel.Env, error) {
	names := slices.Sorted(maps.Keys(docTypes))
	native := make([]any, 0, len(names)+1)
	celNames := make(map[string]string, len(names))
	for _, n := range names {
		t := docTypes[n]
		if t == nil {
			return nil, fmt.Errorf("rules: resource type %s has no Go type", n)
		}
		if t.Kind() == reflect.Pointer {
			t = t.Elem()
		}
		if t.Kind() != reflect.Struct {
			return nil, fmt.Errorf("rules: resource type %s: Go type %s is not a struct", n, t)
		}
		native = append(native, t)
		// ext.NativeTypes names a struct <last package path element>.<type>.
		celNames[n] = path.Base(t.PkgPath()) + "." + t.Name()
	}
	native = append(native, ext.ParseStructTag("json"))
	stringMap := cel.MapType(cel.StringType, cel.StringType)
	base, err := cel.NewEnv(
		ext.NativeTypes(native...),
		cel.Variable("account", stringMap),
		cel.Variable("tags", stringMap),
		cel.Variable("now", cel.TimestampType),
		ext.Strings(),
		ext.Lists(),
		ext.Sets(),
		cel.OptionalTypes(),
	)
	if err != nil {
		return nil, fmt.Errorf("rules: CEL environment: %w", err)
	}
	envs := make(map[string]*cel.Env, len(names))
	for _, n := range names {
		if _, ok := base.CELTypeProvider().FindStructType(celNames[n]); !ok {
			return nil, fmt.Errorf("rules: resource type %s: CEL type %s not registered", n, celNames[n])
		}
		env, err := base.Extend(cel.Variable("resource", cel.ObjectType(celNames[n])))
		if err != nil {
			return nil, fmt.Errorf("rules: CEL environment for %s: %w", n, err)
		}
		envs[n] = env
	}
	return envs, nil
}

func compileRule(s *Spec, envs map[string]*cel.Env, docTypes map[string]reflect.Type) (*Rule, error) {
	if err := s.validate(); err != nil {
		return nil, err
	}
	env, ok := envs[s.ResourceType]
	if !ok {
		return nil, s.errAt("resource_type", "unknown resource type %q (known: %s)",
			s.ResourceType, strings.Join(slices.Sorted(maps.Keys(envs)), ", "))
	}
	labels := make([]string, len(s.Settings))
	settings := make([]cel.Program, len(s.Settings))
	for i, ss := range s.Settings {
		f := "settings[" + strconv.Itoa(i) + "]"
		expr := ss.Expr
		if ss.Path != "" {
			// The walk over the Go type explains a wrong path better than
			// the CEL checker would about an expression nobody wrote.
			if err := checkPath(docTypes[s.ResourceType], ss.Path); err != nil {
				return nil, s.errAt(f, "%q: %v", ss.Path, err)
			}
			expr = "resource." + ss.Path
		}
		ast, err := compileExpr(env, s, f, expr, fmt.Sprintf("%q: ", ss.Name()))
		if err != nil {
			return nil, err
		}
		if settings[i], err = program(env, s, f, ast); err != nil {
			return nil, err
		}
		labels[i] = ss.Name()
	}
	cond, err := compileBool(env, s, "condition", s.Condition)
	if err != nil {
		return nil, err
	}
	var when cel.Program
	if strings.TrimSpace(s.When) != "" {
		if when, err = compileBool(env, s, "when", s.When); err != nil {
			return nil, err
		}
	}
	sev, _ := posture.ParseSeverity(s.Severity) // validated above
	wm := WhenMissing(s.WhenMissing)
	if wm == "" {
		wm = MissingNotApplicable
	}
	return &Rule{
		ID:           s.ID,
		Title:        strings.TrimSpace(s.Title),
		Description:  strings.TrimSpace(s.Description),
		ResourceType: s.ResourceType,
		Severity:     sev,
		Condition:    s.Condition,
		When:         s.When,
		WhenMissing:  wm,
		Settings:     labels,
		Controls:     orderedControls(s.Controls),
		Remediation: Remediation{
			Action:       s.Remediation.Action,
			Guidance:     strings.TrimSpace(s.Remediation.Guidance),
			Irreversible: s.Remediation.Irreversible,
		},
		Triggers: slices.Clone(s.Triggers),
		Source:   s.Source,
		cond:     cond,
		when:     when,
		settings: settings,
	}, nil
}

// compileBool compiles one expression that must type-check to bool.
func compileBool(env *cel.Env, s *Spec, field, expr string) (cel.Program, error) {
	ast, err := compileExpr(env, s, field, expr, "")
	if err != nil {
		return nil, err
	}
	if !ast.OutputType().IsExactType(cel.BoolType) {
		return nil, s.errAt(field, "must be a bool expression, not %s", ast.OutputType())
	}
	return program(env, s, field, ast)
}

// compileExpr parses and type-checks one expression. prefix starts the
// message (a setting's label), so that the author knows which one it is.
func compileExpr(env *cel.Env, s *Spec, field, expr, prefix string) (*cel.Ast, error) {
	ast, iss := env.Compile(expr)
	if iss.Err() != nil {
		msgs := make([]string, 0, len(iss.Errors()))
		for _, e := range iss.Errors() {
			// CEL columns are 0-based; editors count from 1.
			msgs = append(msgs, fmt.Sprintf("%d:%d: %s", e.Location.Line(), e.Location.Column()+1, e.Message))
		}
		return nil, s.errAt(field, "%s%s", prefix, strings.Join(msgs, "; "))
	}
	return ast, nil
}

// program plans a checked expression for evaluation, under the cost limit.
func program(env *cel.Env, s *Spec, field string, ast *cel.Ast) (cel.Program, error) {
	prg, err := env.Program(ast, cel.CostLimit(costLimit), cel.EvalOptions(cel.OptOptimize))
	if err != nil {
		// The expression type-checked, so this is ours, not the author's.
		return nil, fmt.Errorf("rules: %s: %s: build program: %w", s.Source, stripIndex(field), err)
	}
	return prg, nil
}

// checkPath verifies that a dotted path of json names exists in t. It may
// end at any field; it can only descend through structs.
func checkPath(t reflect.Type, p string) error {
	walked := ""
	for seg := range strings.SplitSeq(p, ".") {
		for t.Kind() == reflect.Pointer {
			t = t.Elem()
		}
		if t.Kind() != reflect.Struct || t == reflect.TypeFor[time.Time]() {
			return fmt.Errorf("%s is a %s, it has no field %q", walked, kindName(t), seg)
		}
		f, ok := fieldByJSONName(t, seg)
		if !ok {
			if walked == "" {
				return fmt.Errorf("no field %q in the document", seg)
			}
			return fmt.Errorf("no field %q in %s", seg, walked)
		}
		t = f.Type
		if walked != "" {
			walked += "."
		}
		walked += seg
	}
	return nil
}

func kindName(t reflect.Type) string {
	switch {
	case t == reflect.TypeFor[time.Time]():
		return "timestamp"
	case t.Kind() == reflect.Slice || t.Kind() == reflect.Array:
		return "list"
	}
	return t.Kind().String()
}

func fieldByJSONName(t reflect.Type, name string) (reflect.StructField, bool) {
	for _, f := range reflect.VisibleFields(t) {
		if !f.IsExported() || f.Anonymous {
			continue
		}
		tag, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if tag == "-" {
			continue
		}
		if tag == "" {
			tag = f.Name
		}
		if tag == name {
			return f, true
		}
	}
	return reflect.StructField{}, false
}

// Rule returns the rule with the given id.
func (e *Engine) Rule(id string) (*Rule, bool) {
	r, ok := e.byID[id]
	return r, ok
}

// Rules returns every rule, sorted by id.
func (e *Engine) Rules() []*Rule { return slices.Clone(e.rules) }

// RulesFor returns the rules that apply to a resource type, sorted by id.
func (e *Engine) RulesFor(typ string) []*Rule {
	if tr := e.byType[typ]; tr != nil {
		return slices.Clone(tr.rules)
	}
	return nil
}

// Types returns the resource types that have at least one rule, sorted.
func (e *Engine) Types() []string { return slices.Sorted(maps.Keys(e.byType)) }

// Evaluate runs every rule for res.Ref.Type and returns one evaluation per
// rule, in rule id order (nil when no rule covers the type). It never
// panics and never fails as a whole: a rule that cannot be evaluated reports
// posture.Error with a detail.
func (e *Engine) Evaluate(res resource.Resource, ec EvalContext) []posture.Evaluation {
	tr := e.byType[res.Ref.Type]
	if tr == nil {
		return nil
	}
	out := make([]posture.Evaluation, len(tr.rules))
	for i, r := range tr.rules {
		out[i] = posture.Evaluation{RuleID: r.ID, Severity: r.Severity}
	}
	if !res.Exists {
		for i, r := range tr.rules {
			if r.WhenMissing == MissingFail {
				out[i].Status, out[i].Detail = posture.Fail, "the resource no longer exists"
			} else {
				out[i].Status, out[i].Detail = posture.NotApplicable, "the resource does not exist"
			}
		}
		return out
	}
	act, detail := tr.activation(res, ec)
	if act == nil {
		for i := range out {
			out[i].Status, out[i].Detail = posture.Error, detail
		}
		return out
	}
	for i, r := range tr.rules {
		out[i].Status, out[i].Detail = r.eval(act)
	}
	return out
}

// activation converts the inputs to CEL values once per resource, so that
// the rules of the type share them. It returns a detail instead when the
// document is not of the type's Go type.
func (tr *typeRules) activation(res resource.Resource, ec EvalContext) (*activation, string) {
	rv := reflect.ValueOf(res.Doc)
	switch {
	case !rv.IsValid():
		return nil, "the resource exists but its document is missing"
	case rv.Type() == tr.ptr:
		if rv.IsNil() {
			return nil, "the resource exists but its document is missing"
		}
	case rv.Type() != tr.elem:
		return nil, fmt.Sprintf("document is %s, want %s", rv.Type(), tr.ptr)
	}
	now := ec.Now
	if now.IsZero() {
		now = time.Now()
	}
	return &activation{
		resource: tr.adapter.NativeToValue(res.Doc),
		account:  types.NewStringStringMap(tr.adapter, ec.Account),
		tags:     types.NewStringStringMap(tr.adapter, res.Tags),
		now:      types.Timestamp{Time: now},
	}, ""
}

// eval runs the rule's scope and condition.
func (r *Rule) eval(act *activation) (posture.Status, string) {
	if r.when != nil {
		in, err := evalBool(r.when, act)
		if err != nil {
			return posture.Error, "when: " + err.Error()
		}
		if !in {
			return posture.NotApplicable, "out of the rule's scope (when is false)"
		}
	}
	ok, err := evalBool(r.cond, act)
	switch {
	case err != nil:
		return posture.Error, "condition: " + err.Error()
	case ok:
		return posture.Pass, ""
	}
	return posture.Fail, ""
}

func evalBool(p cel.Program, act *activation) (bool, error) {
	v, _, err := p.Eval(act)
	if err != nil {
		return false, err
	}
	b, ok := v.(types.Bool)
	if !ok {
		// Compile rejects non-bool expressions; a dyn value slipping
		// through is reported, not trusted.
		return false, fmt.Errorf("result is %s, not bool", v.Type())
	}
	return bool(b), nil
}

// activation supplies the four variables without a map: the interpreter
// asks by name, and a switch is cheaper than hashing.
type activation struct {
	resource ref.Val
	account  ref.Val
	tags     ref.Val
	now      ref.Val
}

// ResolveName implements interpreter.Activation.
func (a *activation) ResolveName(name string) (any, bool) {
	switch name {
	case "resource":
		return a.resource, true
	case "account":
		return a.account, true
	case "tags":
		return a.tags, true
	case "now":
		return a.now, true
	}
	return nil, false
}

// Parent implements interpreter.Activation; there is no enclosing scope.
func (a *activation) Parent() interpreter.Activation { return nil }
