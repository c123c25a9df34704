package awsevent

import (
	"bufio"
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

	"github.com/driftwatch/driftwatch/shared/awsres"
	"github.com/driftwatch/driftwatch/shared/change"
	"github.com/driftwatch/driftwatch/shared/internal/corpus"
	"github.com/driftwatch/driftwatch/shared/internal/golden"
)

var update = flag.Bool("update", false, "rewrite testdata/awsevent/corpus.golden and infra/aws/eventbridge-pattern.json")

// corpusDir is the AWS part of the external corpus.
func corpusDir(tb testing.TB) string { return corpus.Dir(tb, "aws") }

// repoFile is a path relative to the repository root (two levels above
// this package).
func repoFile(parts ...string) string {
	return filepath.Join(append([]string{"..", ".."}, parts...)...)
}

// input is one Normalize input from the corpus.
type input struct {
	name string // file#index, stable across runs
	raw  []byte
	meta json.RawMessage
}

// corpusInputs returns every input of the corpus files named in the brief,
// in a stable order.
func corpusInputs(tb testing.TB) []input {
	tb.Helper()
	dir := corpusDir(tb)
	var out []input
	for _, f := range []string{"records-all.jsonl", "eventbridge-real.jsonl", "eventbridge-derived.jsonl"} {
		out = append(out, jsonlInputs(tb, dir, f)...)
	}
	out = append(out, input{name: "cloudtrail-logfile-all.json", raw: readFile(tb, filepath.Join(dir, "cloudtrail-logfile-all.json"))})
	targeted, err := filepath.Glob(filepath.Join(dir, "targeted", "*.json"))
	if err != nil || len(targeted) == 0 {
		tb.Fatalf("no targeted/*.json in %s (%v)", dir, err)
	}
	for _, f := range targeted {
		var items []struct {
			Meta   json.RawMessage `json:"meta"`
			Record json.RawMessage `json:"record"`
			Event  json.RawMessage `json:"event"`
		}
		if err := json.Unmarshal(readFile(tb, f), &items); err != nil {
			tb.Fatalf("%s: %v", f, err)
		}
		for i, it := range items {
			raw := it.Record
			if raw == nil {
				raw = it.Event
			}
			out = append(out, input{name: fmt.Sprintf("targeted/%s#%d", filepath.Base(f), i), raw: raw, meta: it.Meta})
		}
	}
	malformed, err := filepath.Glob(filepath.Join(dir, "malformed", "*"))
	if err != nil || len(malformed) == 0 {
		tb.Fatalf("no malformed/* in %s (%v)", dir, err)
	}
	for _, f := range malformed {
		out = append(out, input{name: "malformed/" + filepath.Base(f), raw: readFile(tb, f)})
	}
	return out
}

func jsonlInputs(tb testing.TB, dir, file string) []input {
	tb.Helper()
	var out []input
	for i, line := range corpus.Lines(tb, filepath.Join(dir, file)) {
		raw := line["record"]
		if raw == nil {
			raw = line["event"]
		}
		if raw == nil {
			tb.Fatalf("%s line %d: neither record nor event", file, i+1)
		}
		out = append(out, input{name: fmt.Sprintf("%s#%d", file, i), raw: raw, meta: line["meta"]})
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

// checkResult asserts the invariant every Result satisfies: a Change with
// at least one complete resource reference and its identity fields, or a
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
	case c.Cloud != change.AWS:
		return fmt.Errorf("cloud %q", c.Cloud)
	case len(c.Resources) == 0:
		return fmt.Errorf("change %s %s without resources", c.EventID, c.Operation)
	}
	types := awsres.Types()
	for _, ref := range c.Resources {
		if _, ok := types[ref.Type]; !ok || ref.ID == "" || ref.Account == "" || ref.Cloud != change.AWS {
			return fmt.Errorf("incomplete resource reference %+v", ref)
		}
	}
	return nil
}

// outcome renders one Result for the golden file.
func outcome(r Result) string {
	if r.Err != nil {
		reason, _ := change.DropReasonOf(r.Err)
		return "drop:" + string(reason)
	}
	var b strings.Builder
	b.WriteString("change")
	for _, ref := range r.Change.Resources {
		fmt.Fprintf(&b, " %s=%s", ref.Type, ref.ID)
	}
	fmt.Fprintf(&b, " via=%s by=%q", r.Change.Actor.Via, r.Change.Actor.Name)
	return b.String()
}

// recordNames returns the eventName of each record in raw (a record, an
// envelope or a log file), independently of the code under test, so that
// the golden file names every record even when it is dropped.
func recordNames(raw []byte) []string {
	var v struct {
		Records   []json.RawMessage `json:"Records"`
		Detail    json.RawMessage   `json:"detail"`
		EventName any               `json:"eventName"`
	}
	if json.Unmarshal(raw, &v) != nil {
		return nil
	}
	if v.Records != nil {
		var names []string
		for _, r := range v.Records {
			names = append(names, recordNames(r)...)
		}
		return names
	}
	if v.Detail != nil {
		return recordNames(v.Detail)
	}
	if s, ok := v.EventName.(string); ok && s != "" {
		return []string{s}
	}
	return []string{"-"}
}

func TestCorpus(t *testing.T) {
	n := newNormalizer(t)
	inputs := corpusInputs(t)
	var golden bytes.Buffer
	counts := map[string]int{}
	total := 0
	for _, in := range inputs {
		results := n.Normalize(in.raw)
		names := recordNames(in.raw)
		if len(results) == 0 {
			t.Errorf("%s: no result", in.name)
		}
		for i, r := range results {
			total++
			if err := checkResult(r); err != nil {
				t.Errorf("%s[%d]: %v", in.name, i, err)
			}
			name := "-"
			if i < len(names) {
				name = names[i]
			}
			id := r.EventID
			if id == "" {
				id = "-"
			}
			o := outcome(r)
			counts[strings.Fields(o)[0]]++
			label := in.name
			if len(results) > 1 {
				label = fmt.Sprintf("%s[%d]", in.name, i)
			}
			fmt.Fprintf(&golden, "%s %s %s %s\n", label, id, name, o)
		}
	}
	for _, k := range slices.Sorted(maps.Keys(counts)) {
		t.Logf("%-20s %5d", k, counts[k])
	}
	t.Logf("%-20s %5d", "total", total)
	if counts["change"] == 0 {
		t.Errorf("no record of the corpus normalized to a change")
	}
	checkGolden(t, repoFile("testdata", "awsevent", "corpus.golden"), golden.Bytes())
}

func checkGolden(t *testing.T, path string, got []byte) {
	t.Helper()
	golden.Check(t, path, got, *update)
}

// TestCorpusShapesAgree checks that the three shapes of the same records
// (bare records, one log file, EventBridge envelopes derived from them)
// normalize identically.
func TestCorpusShapesAgree(t *testing.T) {
	n := newNormalizer(t)
	dir := corpusDir(t)
	records := jsonlInputs(t, dir, "records-all.jsonl")
	derived := jsonlInputs(t, dir, "eventbridge-derived.jsonl")
	logFile := n.Normalize(readFile(t, filepath.Join(dir, "cloudtrail-logfile-all.json")))
	if len(records) != len(derived) || len(records) != len(logFile) {
		t.Fatalf("corpus sizes differ: %d records, %d envelopes, %d in the log file", len(records), len(derived), len(logFile))
	}
	for i, rec := range records {
		bare := n.Normalize(rec.raw)
		env := n.Normalize(derived[i].raw)
		if len(bare) != 1 || len(env) != 1 {
			t.Fatalf("%s: %d and %d results", rec.name, len(bare), len(env))
		}
		if !sameResult(bare[0], logFile[i]) {
			t.Errorf("%s: bare %s, in log file %s", rec.name, describe(bare[0]), describe(logFile[i]))
		}
		// The envelope adds a detail-type of its own (service events,
		// sign-ins) and an account; otherwise it must not change the outcome.
		want := bare[0]
		if r, _ := change.DropReasonOf(env[0].Err); r == change.ReasonNotAudit {
			continue
		}
		if !sameResult(want, env[0]) {
			t.Errorf("%s: bare %s, in envelope %s", rec.name, describe(want), describe(env[0]))
		}
	}
}

func sameResult(a, b Result) bool {
	ra, _ := change.DropReasonOf(a.Err)
	rb, _ := change.DropReasonOf(b.Err)
	if (a.Err == nil) != (b.Err == nil) || ra != rb || a.EventID != b.EventID {
		return false
	}
	return a.Err != nil || fmt.Sprint(a.Change) == fmt.Sprint(b.Change)
}

func describe(r Result) string {
	if r.Err != nil {
		return r.Err.Error()
	}
	return fmt.Sprintf("%+v", r.Change)
}

// TestStratusDetonations checks the Stratus Red Team detonations labelled
// as posture drift: every one whose operation the table maps must become a
// Change naming the kind of resource the expected rule is about.
func TestStratusDetonations(t *testing.T) {
	dir := corpusDir(t)
	n := newNormalizer(t)
	byID := map[string][]byte{}
	for _, in := range jsonlInputs(t, dir, "records-all.jsonl") {
		var meta struct {
			Source string `json:"source"`
		}
		var rec struct {
			EventID string `json:"eventID"`
		}
		if json.Unmarshal(in.meta, &meta) != nil || json.Unmarshal(in.raw, &rec) != nil {
			t.Fatalf("%s: undecodable", in.name)
		}
		if rec.EventID != "" {
			byID[meta.Source+"|"+rec.EventID] = in.raw
		}
	}
	mapped := map[string]bool{}
	for _, m := range Table() {
		mapped[m.Operation] = true
	}
	// What each detonated operation must reference, from the technique's
	// expected rule (stratus-techniques.tsv).
	wantTypes := map[string][]string{
		"AttachRolePolicy":              {awsres.TypeIAMRole},
		"AttachUserPolicy":              {awsres.TypeIAMUser},
		"AuthorizeSecurityGroupIngress": {awsres.TypeSecurityGroup},
		"CreateAccessKey":               {awsres.TypeIAMUser},
		"CreateLoginProfile":            {awsres.TypeIAMUser},
		"CreateRole":                    {awsres.TypeIAMRole},
		"DeleteTrail":                   {awsres.TypeTrail, awsres.TypeAccount},
		"PutEventSelectors":             {awsres.TypeTrail},
		"StopLogging":                   {awsres.TypeTrail, awsres.TypeAccount},
		"UpdateAssumeRolePolicy":        {awsres.TypeIAMRole},
	}
	labels := bufio.NewScanner(bytes.NewReader(readFile(t, filepath.Join(dir, "stratus-detonation-labels.jsonl"))))
	checked, unmapped := 0, map[string]bool{}
	for labels.Scan() {
		var l struct {
			Source    string `json:"source"`
			EventID   string `json:"eventID"`
			EventName string `json:"eventName"`
			Drift     bool   `json:"expect_posture_drift_alert"`
		}
		if err := json.Unmarshal(labels.Bytes(), &l); err != nil {
			t.Fatalf("labels: %v", err)
		}
		if !l.Drift {
			continue
		}
		if !mapped[l.EventName] {
			unmapped[l.EventName] = true
			continue
		}
		raw, ok := byID[l.Source+"|"+l.EventID]
		if !ok {
			t.Errorf("label %s %s: no %s record with that eventID", l.EventName, l.EventID, l.Source)
			continue
		}
		rs := n.Normalize(raw)
		if len(rs) != 1 || rs[0].Err != nil {
			t.Errorf("%s %s: expected drift, got %v", l.EventName, l.EventID, describeAll(rs))
			continue
		}
		want, ok := wantTypes[l.EventName]
		if !ok {
			t.Errorf("%s: the test does not say which resource types the detonation must reference", l.EventName)
			continue
		}
		var got []string
		for _, r := range rs[0].Change.Resources {
			got = append(got, r.Type)
		}
		for _, typ := range want {
			if !slices.Contains(got, typ) {
				t.Errorf("%s %s references %v, missing %s", l.EventName, l.EventID, got, typ)
			}
		}
		checked++
	}
	if checked == 0 {
		t.Fatal("no labelled detonation was checked")
	}
	t.Logf("%d labelled drift detonations normalized; operations outside the table: %v", checked, slices.Sorted(maps.Keys(unmapped)))
}
