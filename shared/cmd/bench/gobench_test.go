package main

import (
	"os"
	"slices"
	"strings"
	"testing"
)

func TestParseGoBench(t *testing.T) {
	tests := []struct {
		name       string
		in         string
		want       []benchResult
		wantFailed []string
		wantErr    bool
	}{
		{
			name: "results with custom metrics, in package order",
			in: "goos: linux\npkg: github.com/driftwatch/driftwatch/shared/rules\n" +
				"BenchmarkEvaluate/s3_bucket-2         \t  233228\t      5404 ns/op\t         7.000 rules/op\t    1665 B/op\t      33 allocs/op\n" +
				"PASS\nok  \tgithub.com/driftwatch/driftwatch/shared/rules\t5.2s\n" +
				"pkg: github.com/driftwatch/driftwatch/shared/store/memstore\n" +
				"BenchmarkGetResource-2 3564224 628.6 ns/op 680 B/op 4 allocs/op\n",
			want: []benchResult{
				{pkg: "github.com/driftwatch/driftwatch/shared/rules", name: "BenchmarkEvaluate/s3_bucket", procs: 2, iters: 233228,
					values: []benchValue{{5404, "ns/op"}, {7, "rules/op"}, {1665, "B/op"}, {33, "allocs/op"}}},
				{pkg: "github.com/driftwatch/driftwatch/shared/store/memstore", name: "BenchmarkGetResource", procs: 2, iters: 3564224,
					values: []benchValue{{628.6, "ns/op"}, {680, "B/op"}, {4, "allocs/op"}}},
			},
		},
		{
			name: "GOMAXPROCS 1 has no suffix; a dash in a sub-benchmark name stays",
			in:   "pkg: x/shared/awsevent\nBenchmarkNormalize/relevant-eventbridge 40940 26105 ns/op\n",
			want: []benchResult{{pkg: "x/shared/awsevent", name: "BenchmarkNormalize/relevant-eventbridge", procs: 1, iters: 40940, values: []benchValue{{26105, "ns/op"}}}},
		},
		{
			name: "a benchmark's own output on its name line is not a result",
			in:   "pkg: p\nBenchmarkNoisy-2   \tsome log line\nBenchmarkNoisy-2\t10\t5 ns/op\n",
			want: []benchResult{{pkg: "p", name: "BenchmarkNoisy", procs: 2, iters: 10, values: []benchValue{{5, "ns/op"}}}},
		},
		{
			name:       "failed benchmarks are named",
			in:         "pkg: github.com/driftwatch/driftwatch/shared/awsfetch\n--- FAIL: BenchmarkFetchBucket-2\n    s3_test.go:200: boom\nFAIL\n",
			wantFailed: []string{"awsfetch BenchmarkFetchBucket-2"},
		},
		{
			name:    "a malformed measurement is an error",
			in:      "BenchmarkX-2 10 fast ns/op\n",
			wantErr: true,
		},
		{
			name: "no benchmark lines",
			in:   "PASS\nok  \tx\t0.1s\n",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, failed, err := parseGoBench(strings.NewReader(tt.in))
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, want error %v", err, tt.wantErr)
			}
			if !slices.EqualFunc(got, tt.want, equalResult) {
				t.Errorf("results = %+v\nwant %+v", got, tt.want)
			}
			if !slices.Equal(failed, tt.wantFailed) {
				t.Errorf("failed = %q, want %q", failed, tt.wantFailed)
			}
		})
	}
}

func equalResult(a, b benchResult) bool {
	return a.pkg == b.pkg && a.name == b.name && a.procs == b.procs && a.iters == b.iters && slices.Equal(a.values, b.values)
}

// TestGoBenchReport reads a real go test -bench run: every benchmark gets a
// row, the known ones under their plain names.
func TestGoBenchReport(t *testing.T) {
	rep, err := goBenchReport("testdata/gobench.txt")
	if err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile("testdata/gobench.txt")
	if err != nil {
		t.Fatal(err)
	}
	results, _, err := parseGoBench(strings.NewReader(string(data)))
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.rows) != len(results) {
		t.Fatalf("%d rows for %d results", len(rep.rows), len(results))
	}
	byMeasure := map[string]row{}
	for _, r := range rep.rows {
		byMeasure[r.measure] = r
	}
	want := map[string]row{
		"normalize: read-only call (dropped)":            {section: "CPU per event", n: "512608", result: "3.10 µs/op", detail: "480 B/op, 8 allocs/op"},
		"evaluate: S3 bucket rules":                      {section: "CPU per event", n: "233228", result: "5.40 µs/op", detail: "1665 B/op, 33 allocs/op, 7 rules/op"},
		"store: read posture (in-memory store)":          {section: "CPU per event", n: "3564224", result: "629 ns/op", detail: "680 B/op, 4 allocs/op"},
		"store: save observation (DynamoDB transaction)": {section: "round trip to moto", n: "86", result: "12.5 ms/op", detail: "75772 B/op, 586 allocs/op, 1 requests/op"},
		"interactivity, CPU only: verify, claim against replays, parse and route a signed click (in-memory store, controller answers at once)": {
			section: chatSection, n: "5832", result: "867 µs/op", detail: "59014 B/op, 206 allocs/op"},
		"in process, per delivery: bucket made public → Google API reads (fake, loopback HTTP), evaluate, store (memory), alert (Slack recorder on loopback)": {
			section: gcpSection, n: "872", result: "1.20 ms/op", detail: "191377 B/op, 1366 allocs/op"},
		"normalize (GCP): read-only method in a push body (dropped)": {section: "CPU per event", n: "45220", result: "28.6 µs/op", detail: "5153 B/op, 57 allocs/op"},
	}
	for measure, w := range want {
		w.measure = measure
		if got := byMeasure[measure]; got != w {
			t.Errorf("row %q = %+v, want %+v", measure, got, w)
		}
	}
	for _, r := range rep.rows {
		if r.section == "other Go benchmark" {
			t.Errorf("benchmark %q has no plain name", r.measure)
		}
	}
}

func TestGoBenchReportErrors(t *testing.T) {
	empty := t.TempDir() + "/empty.txt"
	if err := os.WriteFile(empty, []byte("PASS\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{t.TempDir() + "/missing.txt", empty} {
		if _, err := goBenchReport(path); err == nil {
			t.Errorf("goBenchReport(%s) succeeded", path)
		}
	}
}

// FuzzParseGoBench: any input parses or fails cleanly, and every result
// has a name and a positive iteration count.
func FuzzParseGoBench(f *testing.F) {
	seed, err := os.ReadFile("testdata/gobench.txt")
	if err != nil {
		f.Fatal(err)
	}
	f.Add(string(seed))
	f.Add("BenchmarkX-2 10 5 ns/op 3 B/op\n--- FAIL: BenchmarkY\n")
	f.Fuzz(func(t *testing.T, in string) {
		results, _, err := parseGoBench(strings.NewReader(in))
		if err != nil {
			return
		}
		for _, r := range results {
			if !strings.HasPrefix(r.name, "Benchmark") || r.iters <= 0 || r.procs <= 0 {
				t.Fatalf("bad result %+v", r)
			}
			benchRow("s", "m", r) // must not panic
		}
	})
}

func TestFormatting(t *testing.T) {
	tests := []struct{ got, want string }{
		{fmtNs(628.6), "629 ns"},
		{fmtNs(5404), "5.40 µs"},
		{fmtNs(46781), "46.8 µs"},
		{fmtNs(12452641), "12.5 ms"},
		{fmtNs(2.5e9), "2.50 s"},
		{cell("a|b"), `a\|b`},
		{trimFloat(2), "2"},
		{trimFloat(3.14), "3.1"},
	}
	for _, tt := range tests {
		if tt.got != tt.want {
			t.Errorf("got %q, want %q", tt.got, tt.want)
		}
	}
}
