package infratest

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/function"
	"github.com/zclconf/go-cty/cty/function/stdlib"
)

// infraDir is the Terraform root module, relative to this package.
var infraDir = filepath.Join("..", "..", "infra", "aws")

// tfModule is one Terraform root module, parsed but not planned: the tests
// read its blocks and evaluate the expressions that do not depend on cloud
// state (literals, variables' defaults, locals, file reads and the usual
// functions). A reference to a resource or data source attribute evaluates
// to the placeholder "<type.name.attr>", so that, for instance, a policy
// statement's resource "${aws_dynamodb_table.posture.arn}/index/gsi1"
// evaluates to "<aws_dynamodb_table.posture.arn>/index/gsi1".
type tfModule struct {
	dir string
	// resources and data are keyed "type.name".
	resources map[string]*hclsyntax.Block
	data      map[string]*hclsyntax.Block
	locals    map[string]*hclsyntax.Attribute
	variables map[string]*hclsyntax.Block
	outputs   map[string]*hclsyntax.Block
	// localVals caches evaluated locals.
	localVals map[string]evaluated
	// vars overrides variables' defaults (see withVars).
	vars map[string]cty.Value
}

// evaluated is a value and the module files its evaluation read.
type evaluated struct {
	val   cty.Value
	files []string
}

// loadModule parses every .tf file of dir.
func loadModule(t testing.TB, dir string) *tfModule {
	t.Helper()
	m, err := parseModule(dir)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func parseModule(dir string) (*tfModule, error) {
	paths, err := filepath.Glob(filepath.Join(dir, "*.tf"))
	if err != nil {
		return nil, err
	}
	if len(paths) == 0 {
		return nil, fmt.Errorf("no .tf files in %s", dir)
	}
	m := &tfModule{
		dir:       dir,
		resources: map[string]*hclsyntax.Block{},
		data:      map[string]*hclsyntax.Block{},
		locals:    map[string]*hclsyntax.Attribute{},
		variables: map[string]*hclsyntax.Block{},
		outputs:   map[string]*hclsyntax.Block{},
		localVals: map[string]evaluated{},
	}
	var errs []error
	for _, path := range paths {
		src, err := os.ReadFile(path)
		if err != nil {
			return nil, err
		}
		f, diags := hclsyntax.ParseConfig(src, filepath.Base(path), hcl.InitialPos)
		if diags.HasErrors() {
			return nil, fmt.Errorf("parse %s: %w", path, diags)
		}
		for _, b := range f.Body.(*hclsyntax.Body).Blocks {
			if err := m.add(b); err != nil {
				errs = append(errs, fmt.Errorf("%s: %w", b.DefRange(), err))
			}
		}
	}
	return m, errors.Join(errs...)
}

// add indexes one top-level block.
func (m *tfModule) add(b *hclsyntax.Block) error {
	put := func(into map[string]*hclsyntax.Block, key string) error {
		if _, dup := into[key]; dup {
			return fmt.Errorf("%s %s declared twice", b.Type, key)
		}
		into[key] = b
		return nil
	}
	switch b.Type {
	case "resource":
		return put(m.resources, b.Labels[0]+"."+b.Labels[1])
	case "data":
		return put(m.data, b.Labels[0]+"."+b.Labels[1])
	case "variable":
		return put(m.variables, b.Labels[0])
	case "output":
		return put(m.outputs, b.Labels[0])
	case "locals":
		for name, a := range b.Body.Attributes {
			if _, dup := m.locals[name]; dup {
				return fmt.Errorf("local %s declared twice", name)
			}
			m.locals[name] = a
		}
		return nil
	case "terraform", "provider", "check":
		return nil
	default:
		// A module call or import brings configuration this test does not
		// see; it would have to learn to follow it.
		return fmt.Errorf("block type %q is not understood by shared/infratest", b.Type)
	}
}

// ofType returns the names of the resources of one type, sorted.
func (m *tfModule) ofType(typ string) []string {
	var out []string
	for key := range m.resources {
		if t, name, _ := strings.Cut(key, "."); t == typ {
			out = append(out, name)
		}
	}
	sort.Strings(out)
	return out
}

// attr returns the attribute name of body, or nil.
func attr(body *hclsyntax.Body, name string) *hclsyntax.Attribute {
	return body.Attributes[name]
}

// blocks returns the nested blocks of body of one type.
func blocks(body *hclsyntax.Body, typ string) []*hclsyntax.Block {
	var out []*hclsyntax.Block
	for _, b := range body.Blocks {
		if b.Type == typ {
			out = append(out, b)
		}
	}
	return out
}

// refs returns the references an expression makes, each as its static
// traversal ("aws_dynamodb_table.posture.arn", "var.region",
// "local.packages.detector"), sorted and unique.
func refs(expr hcl.Expression) []string {
	var out []string
	for _, tr := range expr.Variables() {
		out = append(out, traversalString(tr))
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// traversalString renders the static part of a traversal.
func traversalString(tr hcl.Traversal) string {
	var sb strings.Builder
	for i, step := range tr {
		switch s := step.(type) {
		case hcl.TraverseRoot:
			sb.WriteString(s.Name)
		case hcl.TraverseAttr:
			sb.WriteString("." + s.Name)
		case hcl.TraverseIndex:
			sb.WriteString(fmt.Sprintf("[%s]", s.Key.GoString()))
		case hcl.TraverseSplat:
			sb.WriteString("[*]")
		default:
			sb.WriteString(fmt.Sprintf("<step %d>", i))
		}
	}
	return sb.String()
}

// refersTo reports whether expr references target or something under it
// ("aws_sqs_queue.detector_dlq" matches "aws_sqs_queue.detector_dlq.arn").
func refersTo(expr hcl.Expression, target string) bool {
	for _, r := range refs(expr) {
		if r == target || strings.HasPrefix(r, target+".") || strings.HasPrefix(r, target+"[") {
			return true
		}
	}
	return false
}

// eval evaluates expr as Terraform would with every variable at its
// default (or "<var.name>" when it has none) and every resource attribute a
// placeholder. extra binds further names (count, a dynamic block's
// iterator). It returns the module files that file() read, relative to the
// module directory.
func (m *tfModule) eval(expr hcl.Expression, extra map[string]cty.Value) (evaluated, error) {
	return m.evalStack(expr, extra, nil)
}

func (m *tfModule) evalStack(expr hcl.Expression, extra map[string]cty.Value, stack []string) (evaluated, error) {
	reads := map[string]bool{}
	vars := map[string]cty.Value{}
	placeholders := map[string]map[string]map[string]cty.Value{} // root -> name -> attr
	localVals := map[string]cty.Value{}
	for _, tr := range expr.Variables() {
		root := tr.RootName()
		if _, ok := extra[root]; ok {
			continue
		}
		switch root {
		case "var":
			v, err := m.variableValues()
			if err != nil {
				return evaluated{}, err
			}
			vars["var"] = v
		case "local":
			name, ok := attrName(tr, 1)
			if !ok {
				return evaluated{}, fmt.Errorf("%s: a bare reference to local", tr.SourceRange())
			}
			ev, err := m.local(name, stack)
			if err != nil {
				return evaluated{}, err
			}
			localVals[name] = ev.val
			for _, f := range ev.files {
				reads[f] = true
			}
		case "path":
			vars["path"] = cty.ObjectVal(map[string]cty.Value{
				"module": cty.StringVal(m.dir), "root": cty.StringVal(m.dir), "cwd": cty.StringVal(m.dir),
			})
		case "count":
			vars["count"] = cty.ObjectVal(map[string]cty.Value{"index": cty.UnknownVal(cty.Number)})
		case "each", "self":
			vars[root] = cty.DynamicVal
		case "data":
			typ, ok1 := attrName(tr, 1)
			name, ok2 := attrName(tr, 2)
			if !ok1 || !ok2 {
				return evaluated{}, fmt.Errorf("%s: incomplete data source reference", tr.SourceRange())
			}
			m.placeholder(placeholders, "data", typ+"."+name, tr, 3)
		default:
			name, ok := attrName(tr, 1)
			if !ok {
				return evaluated{}, fmt.Errorf("%s: unknown reference %q", tr.SourceRange(), traversalString(tr))
			}
			m.placeholder(placeholders, root, name, tr, 2)
		}
	}
	if len(localVals) > 0 {
		vars["local"] = cty.ObjectVal(localVals)
	}
	for root, names := range placeholders {
		if root == "data" {
			byType := map[string]map[string]cty.Value{}
			for key, attrs := range names {
				typ, name, _ := strings.Cut(key, ".")
				if byType[typ] == nil {
					byType[typ] = map[string]cty.Value{}
				}
				byType[typ][name] = objectOrDynamic(attrs)
			}
			obj := map[string]cty.Value{}
			for typ, ns := range byType {
				obj[typ] = cty.ObjectVal(ns)
			}
			vars["data"] = cty.ObjectVal(obj)
			continue
		}
		obj := map[string]cty.Value{}
		for name, attrs := range names {
			obj[name] = objectOrDynamic(attrs)
		}
		vars[root] = cty.ObjectVal(obj)
	}
	for k, v := range extra {
		vars[k] = v
	}
	ctx := &hcl.EvalContext{Variables: vars, Functions: m.functions(reads)}
	val, diags := expr.Value(ctx)
	if diags.HasErrors() {
		return evaluated{}, fmt.Errorf("evaluate %s: %w", expr.Range(), diags)
	}
	files := make([]string, 0, len(reads))
	for f := range reads {
		files = append(files, f)
	}
	sort.Strings(files)
	return evaluated{val: val, files: files}, nil
}

// placeholder records the attribute a traversal reads from a resource (or
// data source) as "<key.attr>". A resource with count or for_each is a
// collection whose elements this test does not model: it evaluates to an
// unknown value.
func (m *tfModule) placeholder(into map[string]map[string]map[string]cty.Value, root, key string, tr hcl.Traversal, attrAt int) {
	if into[root] == nil {
		into[root] = map[string]map[string]cty.Value{}
	}
	full, blk := root+"."+key, m.resources[root+"."+key]
	if root == "data" {
		blk = m.data[key]
	}
	if blk != nil && (attr(blk.Body, "count") != nil || attr(blk.Body, "for_each") != nil) {
		into[root][key] = nil // a collection: unknown
		return
	}
	if into[root][key] == nil {
		into[root][key] = map[string]cty.Value{}
	}
	if a, ok := attrName(tr, attrAt); ok {
		into[root][key][a] = cty.StringVal("<" + full + "." + a + ">")
	}
}

func objectOrDynamic(attrs map[string]cty.Value) cty.Value {
	if attrs == nil {
		return cty.DynamicVal
	}
	return cty.ObjectVal(attrs)
}

// attrName returns the name of the attribute step i of a traversal.
func attrName(tr hcl.Traversal, i int) (string, bool) {
	if len(tr) <= i {
		return "", false
	}
	if a, ok := tr[i].(hcl.TraverseAttr); ok {
		return a.Name, true
	}
	return "", false
}

// local evaluates one local value (and the locals it references).
func (m *tfModule) local(name string, stack []string) (evaluated, error) {
	if ev, ok := m.localVals[name]; ok {
		return ev, nil
	}
	a := m.locals[name]
	if a == nil {
		return evaluated{}, fmt.Errorf("local.%s is not declared", name)
	}
	if slices.Contains(stack, name) {
		return evaluated{}, fmt.Errorf("local.%s refers to itself", name)
	}
	ev, err := m.evalStack(a.Expr, nil, append(stack, name))
	if err != nil {
		return evaluated{}, fmt.Errorf("local.%s: %w", name, err)
	}
	m.localVals[name] = ev
	return ev, nil
}

// withVars evaluates the module as if the variables vals were set (as in a
// terraform.tfvars), the others at their defaults.
func (m *tfModule) withVars(vals map[string]cty.Value) {
	m.vars = vals
	m.localVals = map[string]evaluated{} // locals may read them
}

// variableValues is the object var: each variable's value set by
// withVars, else its default, else the placeholder "<var.name>".
func (m *tfModule) variableValues() (cty.Value, error) {
	vals := map[string]cty.Value{}
	for name, b := range m.variables {
		if v, ok := m.vars[name]; ok {
			vals[name] = v
			continue
		}
		d := attr(b.Body, "default")
		if d == nil {
			vals[name] = cty.StringVal("<var." + name + ">")
			continue
		}
		v, diags := d.Expr.Value(nil)
		if diags.HasErrors() {
			return cty.NilVal, fmt.Errorf("default of variable %s: %w", name, diags)
		}
		vals[name] = v
	}
	return cty.ObjectVal(vals), nil
}

// functions are the Terraform functions the module may use in the
// expressions the tests evaluate. file() reads only inside the module and
// records what it read.
func (m *tfModule) functions(reads map[string]bool) map[string]function.Function {
	abs, _ := filepath.Abs(m.dir)
	file := function.New(&function.Spec{
		Params: []function.Parameter{{Name: "path", Type: cty.String}},
		Type:   function.StaticReturnType(cty.String),
		Impl: func(args []cty.Value, _ cty.Type) (cty.Value, error) {
			p, err := filepath.Abs(args[0].AsString())
			if err != nil {
				return cty.NilVal, err
			}
			rel, err := filepath.Rel(abs, p)
			if err != nil || strings.HasPrefix(rel, "..") {
				return cty.NilVal, fmt.Errorf("file(%q) reads outside the module", args[0].AsString())
			}
			b, err := os.ReadFile(p)
			if err != nil {
				return cty.NilVal, err
			}
			reads[filepath.ToSlash(rel)] = true
			return cty.StringVal(string(b)), nil
		},
	})
	// The packages are built by `make package`, not here: their hash is
	// unknown, as it is to `terraform validate`.
	unknownHash := function.New(&function.Spec{
		Params: []function.Parameter{{Name: "path", Type: cty.String}},
		Type:   function.StaticReturnType(cty.String),
		Impl: func([]cty.Value, cty.Type) (cty.Value, error) {
			return cty.UnknownVal(cty.String), nil
		},
	})
	return map[string]function.Function{
		"file":             file,
		"filebase64sha256": unknownHash,
		"filesha256":       unknownHash,
		"filemd5":          unknownHash,
		"substr":           stdlib.SubstrFunc,
		"jsondecode":       stdlib.JSONDecodeFunc,
		"jsonencode":       stdlib.JSONEncodeFunc,
		"length":           stdlib.LengthFunc,
		"join":             stdlib.JoinFunc,
		"merge":            stdlib.MergeFunc,
		"concat":           stdlib.ConcatFunc,
		"format":           stdlib.FormatFunc,
		"sort":             stdlib.SortFunc,
		"distinct":         stdlib.DistinctFunc,
		"keys":             stdlib.KeysFunc,
		"values":           stdlib.ValuesFunc,
		"lookup":           stdlib.LookupFunc,
		"contains":         stdlib.ContainsFunc,
		"flatten":          stdlib.FlattenFunc,
		"lower":            stdlib.LowerFunc,
		"replace":          stdlib.ReplaceFunc,
	}
}

// stringValue converts a known string.
func stringValue(v cty.Value) (string, error) {
	switch {
	case !v.IsKnown():
		return "", errors.New("value is unknown before apply")
	case v.IsNull():
		return "", errors.New("value is null")
	case v.Type() != cty.String:
		return "", fmt.Errorf("value is a %s, not a string", v.Type().FriendlyName())
	}
	return v.AsString(), nil
}

// stringList converts a known list, set or tuple of strings.
func stringList(v cty.Value) ([]string, error) {
	if !v.IsKnown() {
		return nil, errors.New("value is unknown before apply")
	}
	if v.IsNull() || !(v.Type().IsListType() || v.Type().IsSetType() || v.Type().IsTupleType()) {
		return nil, fmt.Errorf("value is a %s, not a list", v.Type().FriendlyName())
	}
	var out []string
	for it := v.ElementIterator(); it.Next(); {
		_, e := it.Element()
		s, err := stringValue(e)
		if err != nil {
			return nil, fmt.Errorf("element %d: %w", len(out), err)
		}
		out = append(out, s)
	}
	return out, nil
}
