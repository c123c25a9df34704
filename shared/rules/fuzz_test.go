package rules

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

// FuzzParse feeds rule files, seeded from every cloud's catalogue and the
// invalid cases, to the loader and the compiler. Whatever the input, Parse
// must not panic, and every error from either must be the author's
// (ErrInvalidRule), never a bug of ours. Each parsed rule is compiled with
// every cloud's document types, so that mutations of an Azure rule reach
// the CEL checker as often as those of an AWS rule.
func FuzzParse(f *testing.F) {
	var types []map[string]reflect.Type
	for _, c := range catalogues() {
		types = append(types, c.types)
		fsys := Builtin(c.name())
		err := fs.WalkDir(fsys, ".", func(p string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return err
			}
			data, err := fs.ReadFile(fsys, p)
			f.Add(data)
			return err
		})
		if err != nil {
			f.Fatal(err)
		}
	}
	invalid, err := filepath.Glob(filepath.Join(invalidDir, "*.yaml"))
	if err != nil {
		f.Fatal(err)
	}
	for _, file := range invalid {
		data, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		s, err := Parse("fuzz.yaml", data)
		if err != nil {
			if !errors.Is(err, ErrInvalidRule) {
				t.Fatalf("Parse error is not ErrInvalidRule: %v", err)
			}
			return
		}
		if s.Source != "fuzz.yaml" {
			t.Fatalf("Source = %q", s.Source)
		}
		for _, ts := range types {
			if _, err := Compile([]Spec{s}, ts); err != nil && !errors.Is(err, ErrInvalidRule) {
				t.Fatalf("Compile error is not ErrInvalidRule: %v", err)
			}
		}
	})
}
