package azevent

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

	"github.com/driftwatch/driftwatch/shared/azres"
	"github.com/driftwatch/driftwatch/shared/change"
	"github.com/driftwatch/driftwatch/shared/internal/corpus"
	"github.com/driftwatch/driftwatch/shared/internal/golden"
)

var update = flag.Bool("update", false, "rewrite testdata/azevent/corpus.golden and infra/azure/eventgrid-filter.json")

// corpusDir is the Azure part of the external corpus.
func corpusDir(tb testing.TB) string { return corpus.Dir(tb, "azure") }

// repoFile is a path relative to the repository root (two levels above
// this package).
func repoFile(parts ...string) string {
	return filepath.Join(append([]string{"..", ".."}, parts...)...)
}

// input is one delivery body from the corpus.
type input struct {
	name string // dir/file or dir/file#line, stable across runs
	raw  []byte
}

// corpusInputs returns every Azure sample of the corpus in a stable order:
// each .json file as one body, each line of a .jsonl file (its "record") as
// one body. It fails when a directory the brief names is empty.
func corpusInputs(tb testing.TB) []input {
	tb.Helper()
	dir := corpusDir(tb)
	var out []input
	for _, sub := range []string{"eventgrid-schema", "cloudevents-schema", "cloudevents-derived", "activity-log"} {
		files, err := filepath.Glob(filepath.Join(dir, sub, "*.json*"))
		if err != nil || len(files) == 0 {
			tb.Fatalf("no samples in %s (%v)", filepath.Join(dir, sub), err)
		}
		for _, f := range files {
			name := sub + "/" + filepath.Base(f)
			if strings.HasSuffix(f, ".jsonl") {
				out = append(out, jsonlInputs(tb, f, name)...)
				continue
			}
			out = append(out, input{name: name, raw: readFile(tb, f)})
		}
	}
	return out
}

// jsonlInputs returns the "record" of each line of a JSON-lines file.
func jsonlInputs(tb testing.TB, path, name string) []input {
	tb.Helper()
	var out []input
	for i, line := range corpus.Lines(tb, path) {
		if line["record"] == nil {
			tb.Fatalf("%s line %d: no record", name, i+1)
		}
		out = append(out, input{name: fmt.Sprintf("%s#%d", name, i+1), raw: line["record"]})
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

// checkDelivery asserts the invariants of a Decode outcome: a sentinel
// error and nothing else, or one valid Result per event.
func checkDelivery(d Delivery, err error) error {
	if err != nil {
		if !errors.Is(err, ErrNotDelivery) && !errors.Is(err, ErrActivityLog) {
			return fmt.Errorf("error %v wraps no sentinel", err)
		}
		if d.Results != nil || d.Validation != nil || d.Deleted != nil {
			return fmt.Errorf("error %v with a delivery %+v", err, d)
		}
		return nil
	}
	for i, r := range d.Results {
		if err := checkResult(r); err != nil {
			return fmt.Errorf("result %d: %w", i, err)
		}
	}
	if d.Validation != nil && d.Validation.Code == "" {
		return errors.New("validation without a code")
	}
	return nil
}

// checkResult asserts the invariant every Result satisfies: a Change with
// one complete resource reference and its identity fields, or a
// DroppedError with a reason this package produces and a detail.
func checkResult(r Result) error {
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
	case c.EventID == "" || c.Operation == "" || c.Service == "" || c.Account == "":
		return fmt.Errorf("change lacks identity: %+v", c)
	case c.EventID != r.EventID:
		return fmt.Errorf("Result.EventID %q != Change.EventID %q", r.EventID, c.EventID)
	case c.Cloud != change.Azure:
		return fmt.Errorf("cloud %q", c.Cloud)
	case c.Account != strings.ToLower(c.Account):
		return fmt.Errorf("account %q is not lower-case", c.Account)
	case len(c.Resources) != 1:
		return fmt.Errorf("change %s %s has %d resources", c.EventID, c.Operation, len(c.Resources))
	}
	ref := c.Resources[0]
	if _, ok := azres.Types()[ref.Type]; !ok || ref.Cloud != change.Azure || ref.Account != c.Account || ref.Name == "" {
		return fmt.Errorf("incomplete resource reference %+v", ref)
	}
	if ref.ID != azres.CanonicalID(ref.ID) || !strings.HasPrefix(ref.ID, "/subscriptions/"+c.Account) {
		return fmt.Errorf("resource id %q is not canonical in subscription %s", ref.ID, c.Account)
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
	return fmt.Sprintf("change %s=%s via=%s type=%s by=%q", ref.Type, ref.ID, r.Change.Actor.Via, r.Change.Actor.Type, r.Change.Actor.Name)
}

func describe(r Result) string {
	if r.Err != nil {
		return r.Err.Error()
	}
	return fmt.Sprintf("%+v", r.Change)
}

// errorName names Decode's sentinel for the golden file.
func errorName(err error) string {
	switch {
	case errors.Is(err, ErrActivityLog):
		return "error:activity_log"
	case errors.Is(err, ErrNotDelivery):
		return "error:not_delivery"
	}
	return "error:" + err.Error()
}

// TestCorpus decodes every Azure sample: no panic, every outcome valid, and
// the outcome of each event named in testdata/azevent/corpus.golden.
func TestCorpus(t *testing.T) {
	n := newNormalizer(t)
	var golden bytes.Buffer
	counts := map[string]int{}
	for _, in := range corpusInputs(t) {
		d, err := n.Decode(in.raw)
		if cerr := checkDelivery(d, err); cerr != nil {
			t.Errorf("%s: %v", in.name, cerr)
		}
		if err != nil {
			counts[errorName(err)]++
			fmt.Fprintf(&golden, "%s %s\n", in.name, errorName(err))
			continue
		}
		if len(d.Results) == 0 {
			t.Errorf("%s: no result", in.name)
		}
		for i, r := range d.Results {
			label := in.name
			if len(d.Results) > 1 {
				label = fmt.Sprintf("%s[%d]", in.name, i)
			}
			o := outcome(r)
			counts[strings.Fields(o)[0]]++
			fmt.Fprintf(&golden, "%s %s %s %s %s\n", label, d.Schema, orDash(r.EventID), orDash(r.EventType), o)
		}
		if v := d.Validation; v != nil {
			fmt.Fprintf(&golden, "%s validation code=%s\n", in.name, v.Code)
		}
		for _, del := range d.Deleted {
			fmt.Fprintf(&golden, "%s deleted %s\n", in.name, del.EventSubscriptionID)
		}
	}
	for _, k := range slices.Sorted(maps.Keys(counts)) {
		t.Logf("%-20s %5d", k, counts[k])
	}
	for _, want := range []string{"change", "drop:malformed", "drop:read_only", "drop:unsupported", "drop:not_audit", "error:activity_log"} {
		if counts[want] == 0 {
			t.Errorf("no corpus sample has the outcome %s", want)
		}
	}
	checkGolden(t, repoFile("testdata", "azevent", "corpus.golden"), golden.Bytes())
}

func checkGolden(t *testing.T, path string, got []byte) {
	t.Helper()
	golden.Check(t, path, got, *update)
}

// TestBrokenCloudEvent: the 2021 documentation sample, with "topic" for
// "source" and specversion "`1.0", is rejected with a message naming both
// mistakes.
func TestBrokenCloudEvent(t *testing.T) {
	raw := readFile(t, filepath.Join(corpusDir(t), "cloudevents-schema", "docs2021_ResourceWriteSuccess_AS-PUBLISHED-INVALID.json"))
	d, err := newNormalizer(t).Decode(raw)
	if err != nil {
		t.Fatalf("the delivery itself is valid JSON: %v", err)
	}
	if d.Schema != SchemaCloudEvents || len(d.Results) != 1 {
		t.Fatalf("schema %q, %d results", d.Schema, len(d.Results))
	}
	r := d.Results[0]
	const want = "event dropped: malformed: CloudEvents event: specversion is \"`1.0\", want \"1.0\"; " +
		`required attribute source is missing or not a string (the event has "topic", an Event Grid schema attribute: CloudEvents name the topic in "source")`
	if r.Err == nil || r.Err.Error() != want {
		t.Fatalf("got  %v\nwant %s", r.Err, want)
	}
	if r.EventID != "4db48cba-50a2-455a-93b4-de41a3b5b7f6" {
		t.Errorf("event id %q: a rejected event still names its id for the log", r.EventID)
	}
}

// TestSchemasAgree: the CloudEvents samples derived from the Event Grid
// samples normalize to the same outcome, Change for Change.
func TestSchemasAgree(t *testing.T) {
	n := newNormalizer(t)
	dir := corpusDir(t)
	for _, op := range []string{"ResourceWriteSuccess", "ResourceDeleteSuccess", "ResourceActionSuccess"} {
		eg, err := n.Decode(readFile(t, filepath.Join(dir, "eventgrid-schema", "docs_subscription-topic_"+op+".json")))
		if err != nil {
			t.Fatal(err)
		}
		ce, err := n.Decode(readFile(t, filepath.Join(dir, "cloudevents-derived", "derived_"+op+".json")))
		if err != nil {
			t.Fatal(err)
		}
		if eg.Schema != SchemaEventGrid || ce.Schema != SchemaCloudEvents {
			t.Errorf("%s: schemas %q and %q", op, eg.Schema, ce.Schema)
		}
		if len(eg.Results) != 1 || len(ce.Results) != 1 {
			t.Fatalf("%s: %d and %d results", op, len(eg.Results), len(ce.Results))
		}
		if a, b := describe(eg.Results[0]), describe(ce.Results[0]); a != b {
			t.Errorf("%s:\nEvent Grid  %s\nCloudEvents %s", op, a, b)
		}
	}
}

// TestActivityLogRejected: every Activity Log shape of the corpus (the REST
// record, the Event Hubs {"records": [...]} batch, the flat resource-log
// records) is refused as a whole with ErrActivityLog, and the same record
// inside an Event Grid batch is one malformed event among others.
func TestActivityLogRejected(t *testing.T) {
	n := newNormalizer(t)
	ins := slices.DeleteFunc(corpusInputs(t), func(in input) bool { return !strings.HasPrefix(in.name, "activity-log/") })
	if len(ins) < 3 {
		t.Fatalf("%d activity-log samples", len(ins))
	}
	for _, in := range ins {
		var obj map[string]any
		if json.Unmarshal(in.raw, &obj) != nil {
			continue // not an object: a plain ErrNotDelivery, checked by TestCorpus
		}
		if _, err := n.Decode(in.raw); !errors.Is(err, ErrActivityLog) {
			t.Errorf("%s: got %v, want ErrActivityLog", in.name, err)
		}
	}
	rest := readFile(t, filepath.Join(corpusDir(t), "activity-log", "docs_rest-schema_Administrative_nsg-write.json"))
	good := readFile(t, filepath.Join(corpusDir(t), "eventgrid-schema", "docs_subscription-topic_ResourceWriteSuccess.json"))
	batch := append([]byte(`[`+string(rest)+`,`), bytes.TrimPrefix(bytes.TrimSpace(good), []byte("["))...)
	d, err := n.Decode(batch)
	if err != nil {
		t.Fatal(err)
	}
	if len(d.Results) != 2 || d.Results[1].Err != nil {
		t.Fatalf("results %v", d.Results)
	}
	if got := d.Results[0].Err; got == nil || !strings.Contains(got.Error(), "malformed: an Azure Monitor Activity Log record") {
		t.Errorf("activity-log element: %v", got)
	}
}
