package main

import (
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/driftwatch/driftwatch/shared/gcpfunc"
)

// TestGCPReport builds the GCP function and runs a short GCP phase
// against it and moto: every cold start and warm push must answer what
// its row says (checkGCP, one alert per drift), so that make bench
// measures the deliveries its notes describe.
func TestGCPReport(t *testing.T) {
	ctx := t.Context()
	bin := filepath.Join(t.TempDir(), "function")
	build := exec.CommandContext(ctx, "go", "build", "-o", bin, "github.com/driftwatch/driftwatch/functions/gcp")
	build.Dir = filepath.Join("..", "..", "..", "functions", "gcp")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	w, err := newWorld(ctx, filepath.Join("..", "..", "..", "events", "aws"), slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(w.close)
	o := options{
		gcpFunction: bin, gcpEvents: filepath.Join("..", "..", "..", "events", "gcp"), gcpDrifts: 3, coldRuns: 1,
		eventsDir: filepath.Join("..", "..", "..", "events", "aws"),
	}
	rep, err := gcpReport(ctx, w, o, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"1", "1", "1", "3", "3"}
	if len(rep.rows) != len(want) {
		t.Fatalf("%d rows, want %d: %+v", len(rep.rows), len(want), rep.rows)
	}
	for i, r := range rep.rows {
		t.Logf("%s: n %s, %s (%s)", r.measure, r.n, r.result, r.detail)
		if r.section != gcpSection || r.n != want[i] || r.result == "" || r.result == "no samples" {
			t.Errorf("row %q: section %q, n %s, result %q; want %s, n %s, a figure", r.measure, r.section, r.n, r.result, gcpSection, want[i])
		}
	}
	if !strings.HasPrefix(rep.rows[3].result, "p50 ") {
		t.Errorf("warm drift row result %q, want a latency summary", rep.rows[3].result)
	}
	if !strings.Contains(rep.rows[2].detail, "Slack call") || strings.Contains(rep.rows[2].detail, " 0 Slack") {
		t.Errorf("cold drift row detail %q, want its Slack calls counted", rep.rows[2].detail)
	}
	if len(rep.notes) != 1 || !strings.Contains(rep.notes[0], "push mode") {
		t.Errorf("notes = %q", rep.notes)
	}
}

func TestCheckGCP(t *testing.T) {
	tests := []struct {
		drift bool
		a     gcpfunc.Answer
		want  bool
	}{
		{true, gcpfunc.Answer{Outcome: gcpfunc.OutcomeProcessed, Drifted: 1, Notified: 1}, true},
		{true, gcpfunc.Answer{Outcome: gcpfunc.OutcomeProcessed, Drifted: 1}, false},
		{true, gcpfunc.Answer{Outcome: gcpfunc.OutcomeProcessed}, false},
		{true, gcpfunc.Answer{Outcome: gcpfunc.OutcomeFailed, Drifted: 1, Notified: 1}, false},
		{false, gcpfunc.Answer{Outcome: gcpfunc.OutcomeDropped, Reason: "read_only"}, true},
		{false, gcpfunc.Answer{Outcome: gcpfunc.OutcomeDropped, Reason: "duplicate"}, false},
		{false, gcpfunc.Answer{Outcome: gcpfunc.OutcomeProcessed}, false},
	}
	for _, tt := range tests {
		if err := checkGCP(tt.drift, tt.a); (err == nil) != tt.want {
			t.Errorf("checkGCP(%v, %+v) = %v, want ok %v", tt.drift, tt.a, err, tt.want)
		}
	}
}

// TestGCPSizeReport: the given binary and the other architecture's beside
// it, each once.
func TestGCPSizeReport(t *testing.T) {
	root := t.TempDir()
	for _, arch := range []string{"amd64", "arm64"} {
		if err := os.MkdirAll(filepath.Join(root, arch), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(root, arch, "function"), make([]byte, 2_500_000), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	rep := gcpSizeReport(filepath.Join(root, "arm64", "function"))
	var got []string
	for _, r := range rep.rows {
		got = append(got, r.measure+" = "+r.result)
	}
	want := "size of gcp-function/arm64/function = 2.5 MB, size of gcp-function/amd64/function = 2.5 MB"
	if strings.Join(got, ", ") != want {
		t.Errorf("rows = %q, want %q", strings.Join(got, ", "), want)
	}
}

// TestRunRequiresGCPFunction: make bench must not silently leave the GCP
// rows out.
func TestRunRequiresGCPFunction(t *testing.T) {
	base := options{bootstrap: "b", gobench: "g", events: 1, workers: 1, coldRuns: 1, clicks: 2, azureHandler: "h", azureDrifts: 1, gcpDrifts: 1}
	tests := []struct {
		name string
		edit func(*options)
		want string
	}{
		{"no function", func(*options) {}, "-gcp-function is required"},
		{"no drifts", func(o *options) { o.gcpFunction, o.gcpDrifts = "f", 0 }, "-gcp-drifts must be positive"},
	}
	for _, tt := range tests {
		o := base
		tt.edit(&o)
		err := run(t.Context(), o, nil, slog.New(slog.DiscardHandler))
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: run = %v, want %q", tt.name, err, tt.want)
		}
	}
}
