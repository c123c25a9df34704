// Package corpus locates the external audit-event corpus (real CloudTrail,
// Event Grid and Cloud Audit Logs records from public sources) that tests
// read in place: ../shared/corpus beside the repository, or the directory in
// DRIFTWATCH_CORPUS. A missing corpus fails the test: it is the evidence.
package corpus

import (
	"os"
	"path/filepath"
	"testing"
)

// Dir returns the corpus directory of one cloud ("aws", "azure", "gcp").
func Dir(tb testing.TB, cloud string) string {
	tb.Helper()
	if dir := os.Getenv("DRIFTWATCH_CORPUS"); dir != "" {
		return filepath.Join(dir, cloud)
	}
	wd, err := os.Getwd()
	if err != nil {
		tb.Fatalf("working directory: %v", err)
	}
	for dir := wd; ; dir = filepath.Dir(dir) {
		cand := filepath.Join(dir, "shared", "corpus", cloud)
		if st, err := os.Stat(cand); err == nil && st.IsDir() {
			return cand
		}
		if filepath.Dir(dir) == dir {
			break
		}
	}
	tb.Fatalf("%s corpus not found: no shared/corpus/%s above %s (the kit beside the repository); set DRIFTWATCH_CORPUS to the corpus directory", cloud, cloud, wd)
	return ""
}
