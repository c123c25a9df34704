// Package corpus locates the external audit-event corpus (real CloudTrail,
// Event Grid and Cloud Audit Logs records from public sources) that tests
// read in place: ../shared/corpus beside the repository, or the directory in
// DRIFTWATCH_CORPUS. A missing corpus fails the test: it is the evidence.
package corpus

import (
	"bufio"
	"bytes"
	"encoding/json"
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

// ReadFile returns a corpus file's content; a missing file fails the test.
func ReadFile(tb testing.TB, path string) []byte {
	tb.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		tb.Fatalf("read corpus: %v", err)
	}
	return b
}

// Lines returns the members of each line of a JSON-lines corpus file, one
// object per line, in order; a line that is not a JSON object, or a file
// with no line, fails the test.
func Lines(tb testing.TB, path string) []map[string]json.RawMessage {
	tb.Helper()
	var out []map[string]json.RawMessage
	sc := bufio.NewScanner(bytes.NewReader(ReadFile(tb, path)))
	sc.Buffer(nil, 16<<20)
	for i := 1; sc.Scan(); i++ {
		var line map[string]json.RawMessage
		if err := json.Unmarshal(sc.Bytes(), &line); err != nil || line == nil {
			tb.Fatalf("%s line %d: not a JSON object (%v)", filepath.Base(path), i, err)
		}
		out = append(out, line)
	}
	if err := sc.Err(); err != nil {
		tb.Fatalf("%s: %v", filepath.Base(path), err)
	}
	if len(out) == 0 {
		tb.Fatalf("%s: no lines", filepath.Base(path))
	}
	return out
}
