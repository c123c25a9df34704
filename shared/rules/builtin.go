package rules

import (
	"embed"
	"io/fs"
	"path"
	"strings"
)

// catalog is the built-in rule catalogue, one folder per cloud. go:embed
// needs a package-level variable; it is read-only data, not state.
//
//go:embed catalog/*/*.yaml
var catalog embed.FS

// Builtin returns one cloud's built-in catalogue ("aws", "azure", "gcp") as
// a file system for Load. Paths look like
// "catalog/aws/aws_s3_bucket_versioning_enabled.yaml", which is how errors
// and Rule.Source name built-in rules. A cloud without a catalogue yields
// an empty file system.
func Builtin(cloud string) fs.FS { return cloudFS{root: "catalog/" + cloud} }

// cloudFS shows the catalogue's root, its "catalog" folder with only one
// cloud's folder in it, and that folder.
type cloudFS struct{ root string }

func (c cloudFS) visible(name string) bool {
	return name == "." || name == "catalog" || name == c.root || strings.HasPrefix(name, c.root+"/")
}

// Open implements fs.FS.
func (c cloudFS) Open(name string) (fs.File, error) {
	if !fs.ValidPath(name) || !c.visible(name) {
		return nil, &fs.PathError{Op: "open", Path: name, Err: fs.ErrNotExist}
	}
	return catalog.Open(name)
}

// ReadDir implements fs.ReadDirFS, hiding the other clouds.
func (c cloudFS) ReadDir(name string) ([]fs.DirEntry, error) {
	if !fs.ValidPath(name) || !c.visible(name) {
		return nil, &fs.PathError{Op: "readdir", Path: name, Err: fs.ErrNotExist}
	}
	entries, err := catalog.ReadDir(name)
	if err != nil {
		return nil, err
	}
	out := entries[:0:0]
	for _, e := range entries {
		if c.visible(path.Join(name, e.Name())) {
			out = append(out, e)
		}
	}
	return out, nil
}
