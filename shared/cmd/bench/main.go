// Command bench prints driftwatch's performance figures as one markdown
// table, to paste into an issue: the per-event CPU cost lifted from a Go
// benchmark run (go test -bench output; it does not re-run them), the
// latency and throughput of the AWS detector's Lambda handler driven end to
// end against moto and a recording Slack server, the approve-to-remediate
// loop from Slack (the interactivity function's ack latency for an
// approval and a refused click, and the time from the click to the fix
// applied by the remediator), the cold start of the built bootstrap binary,
// the Azure function's handler binary (cold start, memory, delivery to
// alert latency; azure.go), the GCP function's binary in push mode (the
// same figures; gcp.go), and the binary sizes.
//
// make bench runs it after the Go benchmarks:
//
//	go run ./shared/cmd/bench -bootstrap bin/aws-detector/amd64/bootstrap -gobench bin/bench-go.txt \
//	  -azure-handler bin/azure-function/amd64/handler -gcp-function bin/gcp-function/amd64/function
//
// It needs moto_server on PATH, the built bootstrap, handler and function;
// any missing is an error, never a skip. Progress goes to stderr, the table
// to stdout.
package main

import (
	"context"
	"debug/elf"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"time"

	"github.com/driftwatch/driftwatch/shared/internal/motoserver"
)

// options are the command-line flags.
type options struct {
	bootstrap string
	gobench   string
	eventsDir string
	events    int
	workers   int
	coldRuns  int
	clicks    int
	// azureHandler is the built Azure handler, azureEvents the Azure
	// demo events, azureDrifts the warm drifting deliveries to time.
	azureHandler string
	azureEvents  string
	azureDrifts  int
	// gcpFunction is the built GCP function, gcpEvents the GCP demo
	// events, gcpDrifts the warm drifting pushes to time.
	gcpFunction string
	gcpEvents   string
	gcpDrifts   int
}

func main() {
	var o options
	flag.StringVar(&o.bootstrap, "bootstrap", "", "the built Lambda bootstrap for this machine's architecture (bin/aws-detector/<arch>/bootstrap)")
	flag.StringVar(&o.gobench, "gobench", "", "output of go test -bench -benchmem to lift the per-event CPU figures from")
	flag.StringVar(&o.eventsDir, "eventdir", filepath.Join("events", "aws"), "the demo's CloudTrail events")
	flag.IntVar(&o.events, "events", 300, "events to deliver in each end-to-end phase (sequential, concurrent); rounded up to whole drift/fix cycles")
	flag.IntVar(&o.workers, "workers", 4, "concurrent invocations in the concurrent phase (at most one per independent resource lane)")
	flag.IntVar(&o.coldRuns, "cold", 5, "cold starts to time")
	flag.IntVar(&o.clicks, "clicks", 40, "signed Slack clicks in the chat remediation phase: half approvals (each one a click → fix iteration), half refused")
	flag.StringVar(&o.azureHandler, "azure-handler", "", "the built Azure Functions custom handler for this machine's architecture (bin/azure-function/<arch>/handler)")
	flag.StringVar(&o.azureEvents, "azure-events", filepath.Join("events", "azure"), "the Azure demo's Event Grid deliveries")
	flag.IntVar(&o.azureDrifts, "azure-drifts", 100, "warm drifting deliveries to the Azure handler (each followed by an irrelevant one)")
	flag.StringVar(&o.gcpFunction, "gcp-function", "", "the built GCP function for this machine's architecture (bin/gcp-function/<arch>/function)")
	flag.StringVar(&o.gcpEvents, "gcp-events", filepath.Join("events", "gcp"), "the GCP demo's Cloud Audit Logs entries")
	flag.IntVar(&o.gcpDrifts, "gcp-drifts", 100, "warm drifting pushes to the GCP function (each followed by an irrelevant one)")
	flag.Parse()

	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, o, os.Stdout, log)
	stop()
	if err != nil {
		fmt.Fprintf(os.Stderr, "bench: %v\n", err)
		os.Exit(1)
	}
}

// row is one line of the table.
type row struct {
	section string
	measure string
	n       string // sample size: iterations, events or runs
	result  string
	detail  string
}

// report is what the measurements produce: rows and numbered notes.
type report struct {
	rows  []row
	notes []string
}

func (r *report) add(rows ...row) { r.rows = append(r.rows, rows...) }
func (r *report) note(s string)   { r.notes = append(r.notes, s) }
func (r *report) merge(o report) {
	r.rows = append(r.rows, o.rows...)
	r.notes = append(r.notes, o.notes...)
}
func (r *report) notef(f string, a ...any) { r.note(fmt.Sprintf(f, a...)) }

// take removes the rows of section from r and returns them, in order.
func (r *report) take(section string) []row {
	var taken, kept []row
	for _, x := range r.rows {
		if x.section == section {
			taken = append(taken, x)
		} else {
			kept = append(kept, x)
		}
	}
	r.rows = kept
	return taken
}

func run(ctx context.Context, o options, out io.Writer, log *slog.Logger) error {
	switch {
	case o.bootstrap == "":
		return errors.New("-bootstrap is required (make build writes bin/aws-detector/<arch>/bootstrap)")
	case o.gobench == "":
		return errors.New("-gobench is required (the output of go test -run '^$' -bench . -benchmem)")
	case o.events <= 0 || o.workers <= 0 || o.coldRuns <= 0:
		return errors.New("-events, -workers and -cold must be positive")
	case o.clicks < 2:
		return errors.New("-clicks must be at least 2 (an approval and a refusal)")
	case o.azureHandler == "":
		return errors.New("-azure-handler is required (make build-host writes bin/azure-function/<arch>/handler)")
	case o.azureDrifts <= 0:
		return errors.New("-azure-drifts must be positive")
	case o.gcpFunction == "":
		return errors.New("-gcp-function is required (make build-host writes bin/gcp-function/<arch>/function)")
	case o.gcpDrifts <= 0:
		return errors.New("-gcp-drifts must be positive")
	}
	if err := checkExecutable(o.bootstrap); err != nil {
		return err
	}
	if err := checkExecutable(o.azureHandler); err != nil {
		return fmt.Errorf("Azure handler: %w", err)
	}
	if err := checkExecutable(o.gcpFunction); err != nil {
		return fmt.Errorf("GCP function: %w", err)
	}
	if _, err := exec.LookPath("moto_server"); err != nil {
		return motoserver.ErrMissing
	}
	machine := describeMachine()

	var rep report
	cpu, err := goBenchReport(o.gobench)
	if err != nil {
		return err
	}
	// The interactivity handler's Go benchmarks are shown with the chat
	// remediation rows below.
	chatCPU := cpu.take(chatSection)
	// So are the Azure function's, with its rows.
	azureCPU := cpu.take(azureSection)
	// And the GCP function's.
	gcpCPU := cpu.take(gcpSection)
	rep.merge(cpu)

	log.Info("starting moto_server and the Slack recorder")
	w, err := newWorld(ctx, o.eventsDir, log)
	if err != nil {
		return err
	}
	defer w.close()
	e2e, err := w.measure(ctx, o.events, o.workers, log)
	if err != nil {
		return err
	}
	rep.merge(e2e)

	// The chat remediation rows: the Go benchmarks of the interactivity
	// handler first, then the approve-to-remediate loop in its own world.
	chat := report{rows: chatCPU}
	cw, err := newChatWorld(ctx, o.eventsDir, log)
	if err != nil {
		return fmt.Errorf("chat remediation: %w", err)
	}
	defer cw.close()
	loop, err := cw.measure(ctx, o.clicks, log)
	if err != nil {
		return fmt.Errorf("chat remediation: %w", err)
	}
	chat.merge(loop)
	rep.merge(chat)

	cold, err := coldStartReport(ctx, w, o.bootstrap, o.coldRuns, log)
	if err != nil {
		return err
	}
	rep.merge(cold)

	az := report{rows: azureCPU}
	azRun, err := azureReport(ctx, w, o, log)
	if err != nil {
		return fmt.Errorf("Azure function: %w", err)
	}
	az.merge(azRun)
	rep.merge(az)

	gcp := report{rows: gcpCPU}
	gcpRun, err := gcpReport(ctx, w, o, log)
	if err != nil {
		return fmt.Errorf("GCP function: %w", err)
	}
	gcp.merge(gcpRun)
	rep.merge(gcp)
	rep.merge(sizeReport(o.bootstrap))
	rep.merge(azureSizeReport(o.azureHandler))
	rep.merge(gcpSizeReport(o.gcpFunction))

	machine = append(machine, "load average at the end: "+loadAverage())
	printReport(out, machine, rep)
	return nil
}

func checkExecutable(path string) error {
	st, err := os.Stat(path)
	if err != nil {
		return fmt.Errorf("bootstrap %s: %w (run make build first)", path, err)
	}
	if st.IsDir() || st.Mode().Perm()&0o111 == 0 {
		return fmt.Errorf("bootstrap %s is not an executable file (run make build first)", path)
	}
	// Fail now rather than after the end-to-end phases when the binary is
	// for another architecture.
	f, err := elf.Open(path)
	if err != nil {
		return fmt.Errorf("bootstrap %s: %w", path, err)
	}
	defer f.Close()
	want := map[string]elf.Machine{"amd64": elf.EM_X86_64, "arm64": elf.EM_AARCH64}[runtime.GOARCH]
	if want != 0 && f.Machine != want {
		return fmt.Errorf("bootstrap %s is built for %s, this machine is %s (use bin/aws-detector/%s/bootstrap)", path, f.Machine, runtime.GOARCH, runtime.GOARCH)
	}
	return nil
}

// describeMachine says what the figures were measured on: on a shared
// 2-core machine they are noisy, and the load average tells how much.
func describeMachine() []string {
	cpuModel := "unknown CPU"
	if data, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for line := range strings.Lines(string(data)) {
			if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
				cpuModel = strings.TrimSpace(v)
				break
			}
		}
	}
	nproc := "?"
	if b, err := exec.Command("nproc").Output(); err == nil {
		nproc = strings.TrimSpace(string(b))
	}
	return []string{
		fmt.Sprintf("machine: %s/%s, %s, %d CPUs (nproc %s, GOMAXPROCS %d), %s",
			runtime.GOOS, runtime.GOARCH, cpuModel, runtime.NumCPU(), nproc, runtime.GOMAXPROCS(0), runtime.Version()),
		"load average at the start: " + loadAverage(),
	}
}

func loadAverage() string {
	data, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	f := strings.Fields(string(data))
	if len(f) < 3 {
		return "unknown"
	}
	return strings.Join(f[:3], " ") + " (1, 5, 15 min)"
}

// printReport writes the machine lines, the table and its notes.
func printReport(w io.Writer, machine []string, rep report) {
	fmt.Fprintf(w, "### driftwatch benchmarks (%s)\n\n", time.Now().UTC().Format("2006-01-02 15:04 UTC"))
	for _, m := range machine {
		fmt.Fprintf(w, "- %s\n", m)
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, "| section | measure | n | result | detail |")
	fmt.Fprintln(w, "|---|---|---:|---|---|")
	for _, r := range rep.rows {
		fmt.Fprintf(w, "| %s | %s | %s | %s | %s |\n", cell(r.section), cell(r.measure), cell(r.n), cell(r.result), cell(r.detail))
	}
	if len(rep.notes) > 0 {
		fmt.Fprintln(w)
		for i, n := range rep.notes {
			fmt.Fprintf(w, "%d. %s\n", i+1, n)
		}
	}
}

// cell keeps a value from breaking the markdown table.
func cell(s string) string { return strings.ReplaceAll(s, "|", `\|`) }

// fmtDur prints a duration with three significant digits in a unit a reader
// compares at a glance.
func fmtDur(d time.Duration) string { return fmtNs(float64(d)) }

// fmtNs is fmtDur for a fractional number of nanoseconds (Go benchmarks
// report 628.6 ns/op).
func fmtNs(ns float64) string {
	switch {
	case ns < 1e3:
		return sig3(ns) + " ns"
	case ns < 1e6:
		return sig3(ns/1e3) + " µs"
	case ns < 1e9:
		return sig3(ns/1e6) + " ms"
	}
	return sig3(ns/1e9) + " s"
}

// sig3 formats v (>= 1) with three significant digits, or more when the
// integer part has more.
func sig3(v float64) string {
	switch {
	case v >= 100:
		return fmt.Sprintf("%.0f", v)
	case v >= 10:
		return fmt.Sprintf("%.1f", v)
	}
	return fmt.Sprintf("%.2f", v)
}

// fmtBytes prints a size in MB (10^6, as file sizes are usually quoted).
func fmtBytes(n int64) string {
	return fmt.Sprintf("%.1f MB", float64(n)/1e6)
}
