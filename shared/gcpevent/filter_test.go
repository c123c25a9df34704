package gcpevent

import (
	"regexp"
	"slices"
	"strings"
	"testing"
)

// TestFilterFile keeps infra/gcp/log-sink-filter.txt equal to what the
// table generates (go test -run TestFilterFile -update rewrites it).
func TestFilterFile(t *testing.T) {
	got, err := SinkFilter(Table())
	if err != nil {
		t.Fatal(err)
	}
	if again, _ := SinkFilter(Table()); again != got {
		t.Fatal("SinkFilter is not deterministic")
	}
	checkGolden(t, repoFile("infra", "gcp", "log-sink-filter.txt"), []byte(got))
}

var clause = regexp.MustCompile(`^  (?:OR )?\(protoPayload\.serviceName="([^"]+)" AND protoPayload\.methodName=\(("[^"]+"(?: OR "[^"]+")*)\)\)$`)

// parseFilter reads back the (service, method) pairs SinkFilter wrote,
// checking the layout on the way: the activity restriction, one clause per
// service in order, methods sorted.
func parseFilter(t *testing.T, f string) map[key]bool {
	t.Helper()
	lines := strings.Split(strings.TrimSuffix(f, "\n"), "\n")
	if len(lines) < 4 || lines[0] != ActivityLogFilter || lines[1] != "AND (" || lines[len(lines)-1] != ")" {
		t.Fatalf("filter layout:\n%s", f)
	}
	pairs := map[key]bool{}
	var services []string
	for i, l := range lines[2 : len(lines)-1] {
		m := clause.FindStringSubmatch(l)
		if m == nil || (i == 0) == strings.HasPrefix(l, "  OR ") {
			t.Fatalf("clause %q", l)
		}
		services = append(services, m[1])
		var methods []string
		for q := range strings.SplitSeq(m[2], " OR ") {
			methods = append(methods, strings.Trim(q, `"`))
			pairs[key{m[1], strings.Trim(q, `"`)}] = true
		}
		if !slices.IsSorted(methods) || len(slices.Compact(slices.Clone(methods))) != len(methods) {
			t.Errorf("methods of %s not sorted and unique: %v", m[1], methods)
		}
	}
	if !slices.IsSorted(services) || len(slices.Compact(slices.Clone(services))) != len(services) {
		t.Errorf("services not sorted and unique: %v", services)
	}
	return pairs
}

func TestFilterCoversTheTable(t *testing.T) {
	f, err := SinkFilter(Table())
	if err != nil {
		t.Fatal(err)
	}
	pairs := parseFilter(t, f)
	for _, m := range Table() {
		if !pairs[key{m.Service, m.Method}] {
			t.Errorf("the filter does not deliver %s %s", m.Service, m.Method)
		}
	}
	if len(pairs) != len(Table()) {
		t.Errorf("the filter names %d pairs, the table has %d rows", len(pairs), len(Table()))
	}
}

// TestFilterDeliversTheCorpus: every corpus entry that normalizes to a
// Change passes the filter.
func TestFilterDeliversTheCorpus(t *testing.T) {
	f, err := SinkFilter(Table())
	if err != nil {
		t.Fatal(err)
	}
	pairs := parseFilter(t, f)
	n := newNormalizer(t)
	delivered := 0
	for _, in := range corpusInputs(t) {
		r, err := n.Decode(in.raw)
		if err != nil || r.Err != nil {
			continue
		}
		if !pairs[key{r.Change.Service, r.Change.Operation}] {
			t.Errorf("%s: %s %s normalizes to a change but the filter drops it", in.name, r.Change.Service, r.Change.Operation)
		}
		delivered++
	}
	if delivered == 0 {
		t.Fatal("no corpus entry normalized to a change")
	}
}

func TestFilterErrors(t *testing.T) {
	for _, tc := range []struct {
		table []Mapping
		want  string
	}{
		{nil, "sink filter: the table is empty"},
		{[]Mapping{{Method: `a"b`, Service: "s", Type: typeBucket, Kind: KindPosture}}, "the method must be a non-empty name without quotes or spaces"},
		{[]Mapping{{Method: "x.list", Service: "s", Type: typeBucket, Kind: KindPosture}}, "a read-only method changes nothing"},
	} {
		if _, err := SinkFilter(tc.table); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("got %v, want an error containing %q", err, tc.want)
		}
	}
	// Duplicates collapse into one value.
	m := Mapping{Method: "storage.buckets.update", Service: "storage.googleapis.com", Type: typeBucket, Kind: KindPosture}
	f, err := SinkFilter([]Mapping{m, m})
	if err != nil || strings.Count(f, m.Method) != 1 {
		t.Errorf("%v:\n%s", err, f)
	}
}
