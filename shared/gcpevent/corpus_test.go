package gcpevent

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"maps"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/driftwatch/driftwatch/shared/change"
	"github.com/driftwatch/driftwatch/shared/internal/corpus"
	"github.com/driftwatch/driftwatch/shared/internal/golden"
)

var update = flag.Bool("update", false, "rewrite testdata/gcpevent/corpus.golden and infra/gcp/log-sink-filter.txt")

// corpusDir is the GCP part of the external corpus.
func corpusDir(tb testing.TB) string { return corpus.Dir(tb, "gcp") }

// repoFile is a path relative to the repository root (two levels above
// this package).
func repoFile(parts ...string) string {
	return filepath.Join(append([]string{"..", ".."}, parts...)...)
}

// input is one delivery body from the corpus.
type input struct {
	name string // file, file#line or file[i], stable across runs
	raw  []byte
}

// corpusInputs returns every GCP sample in a stable order: each LogEntry
// of logentries-all.jsonl and targeted/ (bare LogEntries), each push body
// of pubsub-push-derived.jsonl, and each Google-authored Pub/Sub and
// Eventarc body as it is.
func corpusInputs(tb testing.TB) []input {
	tb.Helper()
	dir := corpusDir(tb)
	out := jsonlInputs(tb, filepath.Join(dir, "logentries-all.jsonl"), "entry")
	out = append(out, jsonlInputs(tb, filepath.Join(dir, "pubsub-push-derived.jsonl"), "push")...)
	files, err := filepath.Glob(filepath.Join(dir, "targeted", "*.json"))
	if err != nil || len(files) == 0 {
		tb.Fatalf("no targeted samples (%v)", err)
	}
	for _, f := range files {
		var recs []struct {
			Entry json.RawMessage `json:"entry"`
		}
		if err := json.Unmarshal(readFile(tb, f), &recs); err != nil {
			tb.Fatalf("%s: %v", f, err)
		}
		for i, r := range recs {
			out = append(out, input{name: fmt.Sprintf("targeted/%s[%d]", filepath.Base(f), i), raw: r.Entry})
		}
	}
	files, err = filepath.Glob(filepath.Join(dir, "pubsub-and-eventarc-real", "*.json"))
	if err != nil || len(files) == 0 {
		tb.Fatalf("no Pub/Sub or Eventarc samples (%v)", err)
	}
	for _, f := range files {
		out = append(out, input{name: "pubsub-and-eventarc-real/" + filepath.Base(f), raw: readFile(tb, f)})
	}
	return out
}

// jsonlInputs returns the member field of each line of a JSON-lines file.
func jsonlInputs(tb testing.TB, path, field string) []input {
	tb.Helper()
	var out []input
	for i, line := range corpus.Lines(tb, path) {
		if line[field] == nil {
			tb.Fatalf("%s line %d: no %s", path, i+1, field)
		}
		out = append(out, input{name: fmt.Sprintf("%s#%d", filepath.Base(path), i+1), raw: line[field]})
	}
	return out
}

func readFile(tb testing.TB, path string) []byte { return corpus.ReadFile(tb, path) }

func newNormalizer(tb testing.TB) *Normalizer {
	tb.Helper()
	n, err := New(nil)
	if err != nil {
		tb.Fatalf("New: %v", err)
	}
	return n
}

// producedReasons are the reasons this package may report.
var producedReasons = []change.DropReason{
	change.ReasonMalformed, change.ReasonNotAudit, change.ReasonReadOnly,
	change.ReasonFailed, change.ReasonUnsupported, change.ReasonNoResource,
}

// checkOutcome asserts the invariants of a Decode outcome: a sentinel
// error and an empty Result, or a Result that is a complete Change or a
// DroppedError with a reason this package produces and a detail.
func checkOutcome(r Result, err error) error {
	if err != nil {
		if !errors.Is(err, ErrNotDelivery) {
			return fmt.Errorf("error %v wraps no sentinel", err)
		}
		if r.Form != "" || r.EventID != "" || r.MessageID != "" || r.Err != nil || r.Change.EventID != "" {
			return fmt.Errorf("error %v with a result %+v", err, r)
		}
		return nil
	}
	if r.Form == "" {
		return errors.New("result without a form")
	}
	if r.Err != nil {
		var d *change.DroppedError
		if !errors.As(r.Err, &d) {
			return fmt.Errorf("error %v is not a *change.DroppedError", r.Err)
		}
		if !slices.Contains(producedReasons, d.Reason) {
			return fmt.Errorf("unknown drop reason %q", d.Reason)
		}
		if d.Detail == "" {
			return fmt.Errorf("drop %s without detail", d.Reason)
		}
		return nil
	}
	c := r.Change
	switch {
	case c.EventID == "" || c.Operation == "" || c.Service == "" || c.Account == "" || c.Time.IsZero():
		return fmt.Errorf("change lacks identity: %+v", c)
	case c.EventID != r.EventID || !strings.Contains(c.EventID, "@"):
		return fmt.Errorf("Result.EventID %q, Change.EventID %q", r.EventID, c.EventID)
	case c.Cloud != change.GCP:
		return fmt.Errorf("cloud %q", c.Cloud)
	case len(c.Resources) != 1:
		return fmt.Errorf("change %s %s has %d resources", c.EventID, c.Operation, len(c.Resources))
	}
	ref := c.Resources[0]
	if !slices.Contains(knownTypes, ref.Type) || ref.Cloud != change.GCP || ref.Account != c.Account || ref.Name == "" {
		return fmt.Errorf("incomplete resource reference %+v", ref)
	}
	if !strings.HasPrefix(ref.ID, "//") || strings.Contains(ref.ID, "//projects") || strings.HasSuffix(ref.ID, "/") {
		return fmt.Errorf("resource id %q is not a full resource name", ref.ID)
	}
	return nil
}

// outcome renders one Result for the golden file.
func outcome(r Result) string {
	if r.Err != nil {
		reason, _ := change.DropReasonOf(r.Err)
		return "drop:" + string(reason)
	}
	ref := r.Change.Resources[0]
	a := r.Change.Actor
	return fmt.Sprintf("change %s=%s via=%s type=%s by=%q", ref.Type, ref.ID, a.Via, a.Type, a.Name)
}

func describe(r Result) string {
	if r.Err != nil {
		return r.Err.Error()
	}
	return fmt.Sprintf("%+v", r.Change)
}

// TestCorpus decodes every GCP sample: no panic, every outcome valid, and
// the outcome of each named in testdata/gcpevent/corpus.golden.
func TestCorpus(t *testing.T) {
	n := newNormalizer(t)
	var golden bytes.Buffer
	counts := map[string]int{}
	for _, in := range corpusInputs(t) {
		r, err := n.Decode(in.raw)
		if cerr := checkOutcome(r, err); cerr != nil {
			t.Errorf("%s: %v", in.name, cerr)
		}
		if err != nil {
			counts["error:not_delivery"]++
			fmt.Fprintf(&golden, "%s error:not_delivery\n", in.name)
			continue
		}
		o := outcome(r)
		counts[strings.Fields(o)[0]]++
		fmt.Fprintf(&golden, "%s %s %s %s\n", in.name, r.Form, orDash(r.EventID), o)
	}
	for _, k := range slices.Sorted(maps.Keys(counts)) {
		t.Logf("%-20s %5d", k, counts[k])
	}
	for _, want := range []string{"change", "drop:malformed", "drop:read_only", "drop:unsupported", "drop:not_audit", "drop:failed"} {
		if counts[want] == 0 {
			t.Errorf("no corpus sample has the outcome %s", want)
		}
	}
	checkGolden(t, repoFile("testdata", "gcpevent", "corpus.golden"), golden.Bytes())
}

// TestPushMatchesEntry: each derived push body normalizes exactly as the
// LogEntry it wraps.
func TestPushMatchesEntry(t *testing.T) {
	n := newNormalizer(t)
	dir := corpusDir(t)
	entries := jsonlInputs(t, filepath.Join(dir, "logentries-all.jsonl"), "entry")
	pushes := jsonlInputs(t, filepath.Join(dir, "pubsub-push-derived.jsonl"), "push")
	if len(entries) != len(pushes) {
		t.Fatalf("%d entries, %d push bodies", len(entries), len(pushes))
	}
	for i := range entries {
		a, errA := n.Decode(entries[i].raw)
		b, errB := n.Decode(pushes[i].raw)
		if errB != nil {
			t.Fatalf("%s: %v", pushes[i].name, errB)
		}
		if errA != nil {
			// A non-object entry: its push body carries no LogEntry.
			if b.Err == nil {
				t.Errorf("%s: %v, but its push body normalizes", entries[i].name, errA)
			}
			continue
		}
		if b.Form != FormPush || b.MessageID == "" {
			t.Errorf("%s: form %s, message id %q", pushes[i].name, b.Form, b.MessageID)
		}
		if describe(a) != describe(b) || a.EventID != b.EventID {
			t.Errorf("%s:\nentry %s\npush  %s", entries[i].name, describe(a), describe(b))
		}
	}
}

func checkGolden(t *testing.T, path string, got []byte) {
	t.Helper()
	golden.Check(t, path, got, *update)
}
