package rules

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"testing"

	"github.com/driftwatch/driftwatch/shared/awsres"
)

// FuzzParse feeds rule files, seeded from the catalogue and the invalid
// cases, to the loader and the compiler. Whatever the input, Parse must not
// panic, and every error from either must be the author's (ErrInvalidRule),
// never a bug of ours.
func FuzzParse(f *testing.F) {
	err := fs.WalkDir(Builtin("aws"), ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := fs.ReadFile(Builtin("aws"), p)
		f.Add(data)
		return err
	})
	if err != nil {
		f.Fatal(err)
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
	types := awsres.Types()
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
		if _, err := Compile([]Spec{s}, types); err != nil && !errors.Is(err, ErrInvalidRule) {
			t.Fatalf("Compile error is not ErrInvalidRule: %v", err)
		}
	})
}
