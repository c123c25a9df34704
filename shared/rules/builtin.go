package rules

import (
	"embed"
	"io/fs"
)

// catalog is the built-in rule catalogue. go:embed needs a package-level
// variable; it is read-only data, not state.
//
//go:embed catalog/aws/*.yaml
var catalog embed.FS

// Builtin returns the built-in catalogue as a file system for Load. Paths
// look like "catalog/aws/aws_s3_bucket_versioning_enabled.yaml", which is how
// errors and Rule.Source name built-in rules.
func Builtin() fs.FS { return catalog }
