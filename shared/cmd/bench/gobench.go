package main

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
)

// benchResult is one line of Go benchmark output.
type benchResult struct {
	// pkg is the import path from the preceding "pkg:" line.
	pkg string
	// name is the benchmark name without the -GOMAXPROCS suffix
	// ("BenchmarkNormalize/read-only").
	name  string
	procs int
	iters int64
	// values are the measurements in output order; ns/op comes first.
	values []benchValue
}

type benchValue struct {
	v    float64
	unit string
}

// value returns the measurement in unit.
func (b benchResult) value(unit string) (float64, bool) {
	for _, v := range b.values {
		if v.unit == unit {
			return v.v, true
		}
	}
	return 0, false
}

// parseGoBench reads the standard Go benchmark format
// (https://go.googlesource.com/proposal/+/master/design/14313-benchmark-format.md):
// "pkg: <path>" configuration lines, and result lines
// "Benchmark<Name>[-<procs>] <iterations> <value> <unit> [<value> <unit>...]".
// Other lines (PASS, ok, test output) are skipped; failed benchmarks are
// returned by name so that the report can say so.
func parseGoBench(r io.Reader) (results []benchResult, failed []string, err error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(nil, 1<<20)
	pkg := ""
	for line := 1; sc.Scan(); line++ {
		text := sc.Text()
		if p, ok := strings.CutPrefix(text, "pkg: "); ok {
			pkg = strings.TrimSpace(p)
			continue
		}
		if f, ok := strings.CutPrefix(strings.TrimSpace(text), "--- FAIL: Benchmark"); ok {
			name, _, _ := strings.Cut(f, " ")
			failed = append(failed, pkgName(pkg)+" Benchmark"+name)
			continue
		}
		if !strings.HasPrefix(text, "Benchmark") {
			continue
		}
		res, ok, err := parseResultLine(text)
		if err != nil {
			return nil, nil, fmt.Errorf("line %d: %w", line, err)
		}
		if ok {
			res.pkg = pkg
			results = append(results, res)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, nil, err
	}
	return results, failed, nil
}

// parseResultLine parses one result line. ok is false for a line that only
// starts like one (a benchmark name followed by its own output), which the
// format allows; err is set for a result line with a malformed measurement.
func parseResultLine(text string) (res benchResult, ok bool, err error) {
	f := strings.Fields(text)
	if len(f) < 4 || len(f)%2 != 0 {
		return res, false, nil
	}
	iters, err := strconv.ParseInt(f[1], 10, 64)
	if err != nil || iters <= 0 {
		return res, false, nil
	}
	res.name, res.procs = splitProcs(f[0])
	res.iters = iters
	for i := 2; i+1 < len(f); i += 2 {
		v, err := strconv.ParseFloat(f[i], 64)
		if err != nil {
			return res, false, fmt.Errorf("%s: measurement %q %s is not a number", res.name, f[i], f[i+1])
		}
		res.values = append(res.values, benchValue{v: v, unit: f[i+1]})
	}
	return res, true, nil
}

// splitProcs removes the -GOMAXPROCS suffix the testing package appends
// when GOMAXPROCS > 1.
func splitProcs(name string) (string, int) {
	i := strings.LastIndexByte(name, '-')
	if i < 0 {
		return name, 1
	}
	n, err := strconv.Atoi(name[i+1:])
	if err != nil || n <= 0 {
		return name, 1
	}
	return name[:i], n
}

// pkgName shortens an import path to the part after the module's "shared/"
// (awsevent, store/dynamostore).
func pkgName(path string) string {
	if _, after, ok := strings.Cut(path, "/shared/"); ok {
		return after
	}
	if _, after, ok := strings.Cut(path, "/functions/"); ok {
		return "functions/" + after
	}
	return path
}

// benchLabel names a known benchmark plainly, in table order.
type benchLabel struct {
	pkg, name string
	section   string
	label     string
}

// knownBenchmarks are the benchmarks the issue asks about, named for a
// reader who has not seen the code. Unknown benchmarks are listed after
// them under their Go names, so that a new one shows up without a change
// here.
func knownBenchmarks() []benchLabel {
	const (
		cpu  = "CPU per event"
		moto = "round trip to moto"
	)
	return []benchLabel{
		{"awsevent", "BenchmarkNormalize/irrelevant", cpu, "normalize: unsupported operation (dropped)"},
		{"awsevent", "BenchmarkNormalize/read-only", cpu, "normalize: read-only call (dropped)"},
		{"awsevent", "BenchmarkNormalize/relevant", cpu, "normalize: relevant record → change"},
		{"awsevent", "BenchmarkNormalize/relevant-eventbridge", cpu, "normalize: relevant record in an EventBridge envelope"},
		{"rules", "BenchmarkEvaluate/s3_bucket", cpu, "evaluate: S3 bucket rules"},
		{"rules", "BenchmarkEvaluate/security_group", cpu, "evaluate: security group rules"},
		{"rules", "BenchmarkEvaluate/iam_user", cpu, "evaluate: IAM user rules"},
		{"rules", "BenchmarkEvaluate/account", cpu, "evaluate: account rules"},
		{"rules", "BenchmarkEvaluate/azure_storage_account", cpu, "evaluate (Azure): storage account rules"},
		{"rules", "BenchmarkEvaluate/azure_nsg", cpu, "evaluate (Azure): NSG rules"},
		{"rules", "BenchmarkEvaluate/azure_subscription", cpu, "evaluate (Azure): subscription rules"},
		{"rules", "BenchmarkEvaluate/gcp_bucket", cpu, "evaluate (GCP): bucket rules"},
		{"rules", "BenchmarkEvaluate/gcp_firewall", cpu, "evaluate (GCP): firewall rule rules"},
		{"rules", "BenchmarkEvaluate/gcp_sql_instance", cpu, "evaluate (GCP): Cloud SQL instance rules"},
		{"rules", "BenchmarkEvaluate/gcp_project", cpu, "evaluate (GCP): project rules"},
		{"pipeline", "BenchmarkNormalizeEvaluateDiff/irrelevant", cpu, "normalize + evaluate + diff: irrelevant (read-only) event"},
		{"pipeline", "BenchmarkNormalizeEvaluateDiff/unchanged", cpu, "normalize + evaluate + diff: relevant event, no drift"},
		{"pipeline", "BenchmarkNormalizeEvaluateDiff/drifting", cpu, "normalize + evaluate + diff: drifting event (SSH opened)"},
		{"slackalert", "BenchmarkRender", cpu, "Slack: render an alert (Block Kit)"},
		{"rules", "BenchmarkSettingValue", cpu, "rules: read an alert's before/after settings"},
		{"rules", "BenchmarkSettingValues", cpu, "rules: read an alert's before/after settings"},
		{"store/memstore", "BenchmarkGetResource", cpu, "store: read posture (in-memory store)"},
		{"store/memstore", "BenchmarkSaveObservation", cpu, "store: save observation (in-memory store)"},
		{"store/memstore", "BenchmarkSaveObservationFile", cpu, "store: save observation (file-backed store)"},
		{"store/dynamostore", "BenchmarkGetResource", moto, "store: read posture (DynamoDB)"},
		{"store/dynamostore", "BenchmarkSaveObservation", moto, "store: save observation (DynamoDB transaction)"},
		{"awsfetch", "BenchmarkFetchSecurityGroup", moto, "fetch: security group"},
		{"awsfetch", "BenchmarkFetchBucket", moto, "fetch: S3 bucket (all its settings)"},
		{"store/memstore", "BenchmarkLoadAll", cpu, "store: load a resource with its findings, fixes and exceptions (in-memory store)"},
		{"store/dynamostore", "BenchmarkLoadAll", moto, "store: load a resource with its findings, fixes and exceptions (DynamoDB query)"},
		{"rules", "BenchmarkCompileBuiltin", "CPU at cold start", "rules: load and compile the built-in catalogue"},
		{"rules", "BenchmarkCompileBuiltin/aws", "CPU at cold start", "rules: load and compile the built-in catalogue (AWS rules)"},
		{"rules", "BenchmarkCompileBuiltin/azure", "CPU at cold start", "rules: load and compile the built-in catalogue (Azure rules)"},
		{"rules", "BenchmarkCompileBuiltin/gcp", "CPU at cold start", "rules: load and compile the built-in catalogue (GCP rules)"},
		{"slackinteract", "BenchmarkHandlerAck", chatSection, "interactivity, CPU only: verify, claim against replays, parse and route a signed click (in-memory store, controller answers at once)"},
		{"slackinteract", "BenchmarkVerify", chatSection, "interactivity, CPU only: verify a request's signature"},
		{"governance", "BenchmarkDecide", chatSection, "governance, CPU only: decide a finding's mode and approvers"},
		{"azdetector", "BenchmarkDeliveryIrrelevant/read-only", azureSection, "in process, per delivery: irrelevant event (read-only action) authenticated, normalized, dropped"},
		{"azdetector", "BenchmarkDeliveryIrrelevant/unsupported", azureSection, "in process, per delivery: irrelevant event (unsupported resource type) authenticated, normalized, dropped"},
		{"azdetector", "BenchmarkDeliveryDrift", azureSection, "in process, per delivery: NSG securityRules/write drift → ARM read (in-process fake), evaluate, store (memory), alert (Slack recorder on loopback)"},
		{"azevent", "BenchmarkNormalize/read-only-action", cpu, "normalize (Azure): read-only action (dropped)"},
		{"azevent", "BenchmarkNormalize/relevant-write", cpu, "normalize (Azure): relevant write → change"},
		{"azevent", "BenchmarkNormalize/relevant-write-cloudevents", cpu, "normalize (Azure): relevant write, CloudEvents batch"},
		{"azfetch", "BenchmarkFetchNSG", azureSection, "fetch: NSG (ARM read through the SDK's in-process fake)"},
		{"azfunc", "BenchmarkResourceDelivery/secret/events=1", azureSection, "HTTP layer alone, per delivery: shared-secret auth, one event normalized (no-op processor)"},
		{"azfunc", "BenchmarkResourceDelivery/entra/events=1", azureSection, "HTTP layer alone, per delivery: Entra token checked (keys cached), one event normalized (no-op processor)"},
		{"azfunc", "BenchmarkResourceDelivery/secret/events=24", azureSection, "HTTP layer alone, per delivery: shared-secret auth, a batch of 24 events"},
		{"azfunc", "BenchmarkResourceDelivery/entra/events=24", azureSection, "HTTP layer alone, per delivery: Entra token checked, a batch of 24 events"},
		{"azfunc", "BenchmarkRemediationDelivery", azureSection, "remediation route: decode an approved fix's delivery (no-op executor)"},
		{"gcpevent", "BenchmarkNormalize/push-read-only", cpu, "normalize (GCP): read-only method in a push body (dropped)"},
		{"gcpevent", "BenchmarkNormalize/push-firewall-insert", cpu, "normalize (GCP): relevant entry (firewall insert) in a push body → change"},
		{"gcpfunc", "BenchmarkPushDelivery/push", gcpSection, "HTTP layer alone, per delivery: push token verified (keys cached), entry read and normalized, answered (no-op processor)"},
		{"gcpfunc", "BenchmarkPushDelivery/eventarc-binary", gcpSection, "HTTP layer alone, per delivery: the same as an Eventarc CloudEvent, binary mode"},
		{"gcpfunc", "BenchmarkPushDelivery/eventarc-structured", gcpSection, "HTTP layer alone, per delivery: the same as an Eventarc CloudEvent, structured mode"},
		{"gcpdetector", "BenchmarkDeliveryIrrelevant/read-only", gcpSection, "in process, per delivery: irrelevant entry (read-only method) authenticated, normalized, dropped"},
		{"gcpdetector", "BenchmarkDeliveryIrrelevant/unsupported", gcpSection, "in process, per delivery: irrelevant entry (method not in the table) authenticated, normalized, dropped"},
		{"gcpdetector", "BenchmarkDeliveryDrift", gcpSection, "in process, per delivery: bucket made public → Google API reads (fake, loopback HTTP), evaluate, store (memory), alert (Slack recorder on loopback)"},
		{"gcpfetch", "BenchmarkFetchBucket", gcpSection, "fetch: Cloud Storage bucket and its IAM policy (two concurrent reads, loopback HTTP to the Google API fake)"},
		{"gcpbus", "BenchmarkDecodePush", gcpSection, "remediation route: decode an approved fix's push delivery"},
	}
}

// goBenchReport lifts the Go benchmark figures from the file at path.
func goBenchReport(path string) (report, error) {
	var rep report
	f, err := os.Open(path)
	if err != nil {
		return rep, fmt.Errorf("Go benchmark output: %w (make bench writes it with go test -bench)", err)
	}
	defer f.Close()
	results, failed, err := parseGoBench(f)
	if err != nil {
		return rep, fmt.Errorf("Go benchmark output %s: %w", path, err)
	}
	if len(results) == 0 {
		return rep, fmt.Errorf("Go benchmark output %s holds no benchmark results", path)
	}
	used := make([]bool, len(results))
	for _, k := range knownBenchmarks() {
		for i, r := range results {
			if !used[i] && pkgName(r.pkg) == k.pkg && r.name == k.name {
				used[i] = true
				rep.add(benchRow(k.section, k.label, r))
			}
		}
	}
	for i, r := range results {
		if !used[i] {
			rep.add(benchRow("other Go benchmark", pkgName(r.pkg)+" "+r.name, r))
		}
	}
	for _, name := range failed {
		rep.notef("Go benchmark %s FAILED; its figures are missing.", name)
	}
	rep.notef("Go benchmark figures are lifted from %s (one run each, -benchmem); \"round trip to moto\" rows include loopback HTTP to the emulator, not to AWS.", path)
	return rep, nil
}

// benchRow shows ns/op, B/op and allocs/op, plus any custom metric the
// benchmark reports (rules/op, requests/op); throughput in MB/s is left out.
func benchRow(section, label string, r benchResult) row {
	result := "?"
	if ns, ok := r.value("ns/op"); ok {
		result = fmtNs(ns) + "/op"
	}
	var detail []string
	if v, ok := r.value("B/op"); ok {
		detail = append(detail, fmt.Sprintf("%.0f B/op", v))
	}
	if v, ok := r.value("allocs/op"); ok {
		detail = append(detail, fmt.Sprintf("%.0f allocs/op", v))
	}
	for _, v := range r.values {
		switch v.unit {
		case "ns/op", "B/op", "allocs/op", "MB/s":
			continue
		}
		detail = append(detail, strconv.FormatFloat(v.v, 'g', 4, 64)+" "+v.unit)
	}
	return row{section: section, measure: label, n: strconv.FormatInt(r.iters, 10), result: result, detail: strings.Join(detail, ", ")}
}
