package rules

import (
	"errors"
	"io/fs"
	"maps"
	"path"
	"reflect"
	"slices"
	"strings"
	"testing"
)

// TestBuiltinIsolation: Builtin(cloud) shows that cloud's folder and
// nothing else, so that a cloud's detector never loads, or is broken by,
// another cloud's rules. Every file of the embedded catalogue belongs to
// exactly one cloud.
func TestBuiltinIsolation(t *testing.T) {
	all := catalogFiles(t, catalog)
	seen := map[string]string{} // file -> cloud that showed it
	for _, c := range catalogues() {
		t.Run(c.name(), func(t *testing.T) {
			fsys := Builtin(c.name())
			root := "catalog/" + c.name()
			files := catalogFiles(t, fsys)
			if len(files) < c.minRules {
				t.Fatalf("%d files, want at least %d", len(files), c.minRules)
			}
			for _, f := range files {
				if path.Dir(f) != root || path.Ext(f) != ".yaml" {
					t.Errorf("%s: not a rule file of %s", f, root)
				}
				if prev, dup := seen[f]; dup {
					t.Errorf("%s: also shown by Builtin(%q)", f, prev)
				}
				seen[f] = c.name()
			}
			// Only its own folder is listed, and nothing of the others can
			// be opened, read, listed or matched, even by exact path.
			entries, err := fs.ReadDir(fsys, "catalog")
			if err != nil {
				t.Fatal(err)
			}
			if len(entries) != 1 || entries[0].Name() != c.name() {
				t.Errorf("ReadDir(catalog) = %v, want only %s", entries, c.name())
			}
			if matches, err := fs.Glob(fsys, "catalog/*/*.yaml"); err != nil || !slices.Equal(matches, files) {
				t.Errorf("Glob(catalog/*/*.yaml) = %d files (%v), want its own %d", len(matches), err, len(files))
			}
			for _, other := range catalogues() {
				if other.cloud == c.cloud {
					continue
				}
				if _, err := fs.ReadDir(fsys, "catalog/"+other.name()); !errors.Is(err, fs.ErrNotExist) {
					t.Errorf("ReadDir(catalog/%s): error %v, want fs.ErrNotExist", other.name(), err)
				}
				for _, f := range catalogFiles(t, Builtin(other.name())) {
					if _, err := fs.ReadFile(fsys, f); !errors.Is(err, fs.ErrNotExist) {
						t.Errorf("ReadFile(%s): error %v, want fs.ErrNotExist", f, err)
					}
					if _, err := fs.Stat(fsys, f); !errors.Is(err, fs.ErrNotExist) {
						t.Errorf("Stat(%s): error %v, want fs.ErrNotExist", f, err)
					}
				}
			}
		})
	}
	// Every embedded rule file belongs to a cloud with a catalogue here.
	for _, f := range all {
		if _, ok := seen[f]; !ok {
			t.Errorf("%s: embedded but shown by no tested cloud", f)
		}
	}
	// Names that are not a cloud's folder give an empty catalogue, and
	// names that try to reach another folder are not paths at all.
	for _, cloud := range []string{"oci", "", "AWS", "Azure", "aws/..", "../catalog/aws", "catalog", "aws/"} {
		fsys := Builtin(cloud)
		if files := catalogFiles(t, fsys); len(files) != 0 {
			t.Errorf("Builtin(%q) shows %v, want nothing", cloud, files)
		}
		if specs, err := Load(fsys); err != nil || len(specs) != 0 {
			t.Errorf("Load(Builtin(%q)) = %d rules, %v; want none", cloud, len(specs), err)
		}
	}
	for _, name := range []string{"catalog/../catalog/azure", "/catalog/aws", "catalog/aws/../azure"} {
		if _, err := Builtin("aws").Open(name); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("Open(%q): error %v, want fs.ErrNotExist", name, err)
		}
	}
}

// catalogFiles lists the regular files of fsys, sorted.
func catalogFiles(t *testing.T, fsys fs.FS) []string {
	t.Helper()
	var files []string
	err := fs.WalkDir(fsys, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() {
			files = append(files, p)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return files
}

// TestCatalogueTypes: each cloud's catalogue compiles against its own
// document types only (the compile is all-or-nothing, so another cloud's
// types reject every rule, naming the file), and the catalogues share no
// rule id, so that a deployment may compile several together.
func TestCatalogueTypes(t *testing.T) {
	merged := map[string]reflect.Type{}
	var all []Spec
	for _, c := range catalogues() {
		specs := c.specs(t)
		all = append(all, specs...)
		maps.Copy(merged, c.types)
		if _, err := Compile(specs, c.types); err != nil {
			t.Errorf("%s with its own types: %v", c.name(), err)
		}
		for _, other := range catalogues() {
			if other.cloud == c.cloud {
				continue
			}
			_, err := Compile(specs, other.types)
			if !errors.Is(err, ErrInvalidRule) {
				t.Fatalf("%s with %s types: error %v, want ErrInvalidRule", c.name(), other.name(), err)
			}
			// One error per rule, each about its resource type.
			msgs := strings.Split(err.Error(), "\n")
			if len(msgs) != len(specs) {
				t.Errorf("%s with %s types: %d errors for %d rules", c.name(), other.name(), len(msgs), len(specs))
			}
			for _, m := range msgs {
				if !strings.HasPrefix(m, "catalog/"+c.name()+"/") || !strings.Contains(m, ": resource_type: unknown resource type ") {
					t.Errorf("%s with %s types: unexpected error %q", c.name(), other.name(), m)
				}
			}
		}
	}
	e, err := Compile(all, merged)
	if err != nil {
		t.Fatalf("every catalogue together: %v", err)
	}
	for _, c := range catalogues() {
		for typ := range c.types {
			for _, r := range e.RulesFor(typ) {
				if !strings.HasPrefix(r.Source, "catalog/"+c.name()+"/") {
					t.Errorf("%s rule %s comes from %s", typ, r.ID, r.Source)
				}
			}
		}
	}
}
